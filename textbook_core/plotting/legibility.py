"""Can a student read a figure? Checks on what matplotlib actually draws, at notebook width.

A figure is drawn once with the Agg renderer, and every text that is really drawn (titles, tick
labels, the numbers in grid cells, colorbar labels, bar labels...) is collected with its extent in
pixels (`Text.get_window_extent`). The checks then report

- two texts that overlap (`overlapping_texts`),
- a text that runs out of the figure (`texts_outside`),
- a grid cell's text wider or taller than its cell (`overflowing_cells`),
- a text smaller than `MIN_TEXT_PX` once the figure is scaled down to `NOTEBOOK_WIDTH`, as
  JupyterLab shows a wide PNG (`small_texts`),
- a panel whose colours stand for values that neither its cells' texts nor a colorbar give
  (`unexplained_colours`).

`problems(fig)` runs them all and returns one line per problem, for a test's message.
"""
import contextlib

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

NOTEBOOK_WIDTH = 900
"""CSS pixels a notebook's output area gives a figure (JupyterLab on a laptop, file browser open);
a wider PNG is scaled down to it."""
INLINE_DPI = 100
"""Pixels per inch of ``%matplotlib inline`` (matplotlib's default figure.dpi)."""
MIN_TEXT_PX = 8
"""The smallest font size, in CSS pixels after scaling, that still reads."""
TOLERANCE = 1.0
"""Pixels two extents may share before they count as overlapping (anti-aliasing, rounding)."""


@contextlib.contextmanager
def _recording_texts(drawn):
    """While active, every `Text` that matplotlib draws with a non-empty string is appended to `drawn`."""
    original = Text.draw

    def draw(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)

    Text.draw = draw
    try:
        yield
    finally:
        Text.draw = original


def drawn_texts(fig):
    """Draw `fig` once and return ``(texts, extents, renderer)``: each drawn text and its extent.

    `extents` is an array (n, 4) of x0, y0, x1, y1 in the figure's pixels at its own dpi.
    """
    canvas = FigureCanvasAgg(fig) if not isinstance(fig.canvas, FigureCanvasAgg) else fig.canvas
    texts = []
    with _recording_texts(texts):
        canvas.draw()
    renderer = canvas.get_renderer()
    unique = list({id(t): t for t in texts}.values())
    extents = np.array([t.get_window_extent(renderer).extents for t in unique]).reshape(-1, 4)
    return unique, extents, renderer


def _describe(text):
    where = text.axes.get_label() if text.axes is not None and text.axes.get_label() else "figure"
    return f"{text.get_text()!r} ({where})"


def overlapping_texts(fig, *, drawn=None, tolerance=TOLERANCE):
    """Pairs of drawn texts whose extents overlap by more than `tolerance` pixels both ways."""
    texts, ext, _ = drawn or drawn_texts(fig)
    order = np.argsort(ext[:, 0])
    pairs = []
    for k, a in enumerate(order):          # sweep along x: only texts that start before a ends
        for b in order[k + 1:]:
            if ext[b, 0] > ext[a, 2] - tolerance:
                break
            dx = min(ext[a, 2], ext[b, 2]) - max(ext[a, 0], ext[b, 0])
            dy = min(ext[a, 3], ext[b, 3]) - max(ext[a, 1], ext[b, 1])
            if dx > tolerance and dy > tolerance:
                pairs.append((texts[a], texts[b]))
    return pairs


def texts_outside(fig, *, drawn=None, tolerance=TOLERANCE):
    """Drawn texts that reach beyond the figure's edges."""
    texts, ext, _ = drawn or drawn_texts(fig)
    x1, y1 = fig.bbox.width, fig.bbox.height
    out = ((ext[:, 0] < -tolerance) | (ext[:, 1] < -tolerance)
           | (ext[:, 2] > x1 + tolerance) | (ext[:, 3] > y1 + tolerance))
    return [t for t, o in zip(texts, out) if o]


def overflowing_cells(fig, *, drawn=None, tolerance=TOLERANCE):
    """Texts written in a grid cell (`grids.draw_grid`) that are wider or taller than the cell."""
    texts, ext, _ = drawn or drawn_texts(fig)
    found = []
    for t, (x0, y0, x1, y1) in zip(texts, ext):
        ax = t.axes
        if ax is None or not ax.images or t.get_transform() != ax.transData:
            continue
        x, y = t.get_position()
        if not (float(x).is_integer() and float(y).is_integer()):
            continue
        (cx0, cy0), (cx1, cy1) = ax.transData.transform([(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)])
        if x1 - x0 > abs(cx1 - cx0) + tolerance or y1 - y0 > abs(cy1 - cy0) + tolerance:
            found.append(t)
    return found


def shown_scale(fig, width=NOTEBOOK_WIDTH):
    """How much a notebook shrinks `fig`: CSS pixels per point of its texts at `width`."""
    natural = fig.get_figwidth() * INLINE_DPI
    return INLINE_DPI / 72 * min(1.0, width / natural)


def small_texts(fig, *, drawn=None, width=NOTEBOOK_WIDTH, min_px=MIN_TEXT_PX):
    """Drawn texts whose font, shown `width` pixels wide, is under `min_px` CSS pixels."""
    texts, _, _ = drawn or drawn_texts(fig)
    scale = shown_scale(fig, width)
    return [t for t in texts if t.get_fontsize() * scale < min_px - 1e-9]


def _colorbars(fig):
    return [ax._colorbar for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]


def _explained_by_bar(image, bars):
    norm, name = image.norm, image.get_cmap().name
    return any(bar.mappable.get_cmap().name == name and np.isclose(bar.mappable.norm.vmin, norm.vmin)
               and np.isclose(bar.mappable.norm.vmax, norm.vmax) for bar in bars)


def unexplained_colours(fig):
    """Labels of axes whose image's colours carry values that no text or colorbar explains.

    Exempt: black-and-white 0/1 images (ink or not), categorical colour maps (weight sharing),
    and grids whose every coloured cell has its value written in it. Any other image needs a
    colorbar with the same colour map and range somewhere in the figure.
    """
    from .grids import BINARY, TEXT_GRID, grid_texts

    bars = _colorbars(fig)
    colourbar_axes = {id(bar.ax) for bar in bars}
    found = []
    todo = list(fig.axes)
    while todo:
        ax = todo.pop(0)
        todo += ax.child_axes
        if id(ax) in colourbar_axes or not ax.get_visible():
            continue
        for image in ax.images:
            A = np.ma.filled(np.ma.asarray(image.get_array(), dtype=float), np.nan)
            cmap = image.get_cmap()
            if cmap.name == TEXT_GRID or isinstance(cmap, ListedColormap) and cmap.N < 32:
                continue
            if cmap.name == BINARY and np.isin(A[~np.isnan(A)], (0, 1)).all():
                continue
            if A.ndim == 2 and A.shape == grid_texts(ax).shape and ax.images[0] is image:
                written = grid_texts(ax) != ""
                if written[~np.isnan(A)].all():
                    continue
            if not _explained_by_bar(image, bars):
                found.append(ax.get_label() or "unlabelled axes")
    return found


def problems(fig):
    """Every legibility problem of `fig`, one line each (empty when the figure reads well)."""
    drawn = drawn_texts(fig)
    scale = shown_scale(fig)
    lines = [f"overlap: {_describe(a)} and {_describe(b)}" for a, b in overlapping_texts(fig, drawn=drawn)]
    lines += [f"outside the figure: {_describe(t)}" for t in texts_outside(fig, drawn=drawn)]
    lines += [f"wider than its cell: {_describe(t)}" for t in overflowing_cells(fig, drawn=drawn)]
    lines += [f"too small at notebook width: {_describe(t)}, {t.get_fontsize() * scale:.1f} px"
              for t in small_texts(fig, drawn=drawn)]
    lines += [f"colours without a colorbar or values: {label}" for label in unexplained_colours(fig)]
    return lines
