"""Drawing primitives shared by every figure: grids of numbers or symbols, their colours, texts and labels.

Every axes carries a label (``ax.get_label()``) naming what it shows, and grids write their values as
texts, so a test can read a figure back (`grid_texts`, `axes_by_label`).
"""
import numpy as np
import sympy
from matplotlib.figure import Figure
from matplotlib.patches import ConnectionPatch, Rectangle


SIGNED = "RdBu_r"      # kernels, feature maps and gradients: blue < 0 < red
BINARY = "gray_r"      # 0/1 images: black = 1 (ink), as in data
TEXT_GRID = "Greys"    # symbol grids: white cells


def new_figure(width, height):
    """A constrained-layout Figure of `width` x `height` inches, not registered with pyplot."""
    return Figure(figsize=(width, height), layout="constrained")


def fmt(value):
    """A grid value as short text: integers without a decimal point, others to 3 digits.

    >>> fmt(2.0), fmt(-0.0), fmt(0.125), fmt(12.345)
    ('2', '0', '0.125', '12.3')
    """
    v = float(value)
    if v == round(v) and abs(v) < 1e6:
        return str(int(round(v)))
    return f"{v:.3g}"


def draw_grid(ax, A, *, text="values", cmap=None, vmin=None, vmax=None, fontsize=8,
              title=None, label=None, box=None, title_size=10):
    """Draw matrix `A` as cells on `ax`, optionally writing each cell's value or a given text.

    A (rows, cols) -> the `AxesImage` (its ``get_array()`` is `A`).

    Parameters
    ----------
    text : "values", None or array of str
        What to write in each cell; "" leaves a cell blank.
    cmap, vmin, vmax
        Colours. By default a 0/1 array is drawn black on white and anything else on a
        diverging scale symmetric about 0.
    label : str
        Set as the axes' label, so a reader (or test) can find the panel.
    box : (row, col, rows, cols), optional
        Outline a window, e.g. the kernel's current position.
    fontsize, title_size : float
        Points of the cells' texts and of the title.
    """
    A = np.asarray(A, dtype=float)
    if cmap is None:
        cmap = BINARY if np.isin(A, (0, 1)).all() else SIGNED
    if vmin is None and vmax is None:
        if cmap == BINARY:
            vmin, vmax = 0, 1
        elif cmap == SIGNED:
            vmax = float(np.nanmax(np.abs(A), initial=0)) or 1.0
            vmin = -vmax
    image = ax.imshow(A, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    rows, cols = A.shape
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color="0.6", linewidth=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_xticks([])
    ax.set_yticks([])
    if text is not None:
        strings = np.vectorize(fmt)(A) if isinstance(text, str) and text == "values" else np.asarray(text)
        for (i, j), s in np.ndenumerate(strings):     # every cell, "" too: `update_grid`
            ax.text(j, i, s, ha="center", va="center", fontsize=fontsize, color=_ink(image, A[i, j]))
    if box is not None:
        r0, c0, h, w = box
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), w, h, fill=False, edgecolor="tab:orange",
                               linewidth=2.5, zorder=3))
    if title is not None:
        ax.set_title(title, fontsize=title_size)
    if label is not None:
        ax.set_label(label)
    return image


def update_grid(ax, A, *, text=None, corner=None, title=None):
    """Change a grid drawn by `draw_grid` in place (much faster than drawing it again).

    `A` must keep its shape; `text` replaces the cells' texts, `corner` moves the outlined
    window's top-left cell to (row, col), `title` replaces the title.
    """
    image = ax.images[0]
    A = np.asarray(A, dtype=float)
    image.set_data(A)
    if text is not None:
        for t, s, v in zip(ax.texts, np.ravel(text), A.ravel()):
            t.set_text(s)
            t.set_color(_ink(image, v))
    if corner is not None:
        ax.patches[0].set_xy((corner[1] - 0.5, corner[0] - 0.5))
    if title is not None:
        ax.set_title(title, fontsize=ax.title.get_fontsize())


def panel_axes(fig, n, cols, **kwargs):
    """`n` axes in rows of `cols` (a grid, so each panel keeps a legible size at notebook width);
    the unused places of the last row are left blank. -> list of n axes."""
    rows = -(-n // cols)
    axes = fig.subplots(rows, cols, squeeze=False, **kwargs).ravel()
    for ax in axes[n:]:
        _blank(ax)
    return list(axes[:n])


def colorbar(fig, image, ax, *, label=None, location="right", **kwargs):
    """A colorbar for `image` beside the axes `ax` (one axes or a list sharing the bar).

    Every panel whose colour stands for a value and whose cells do not say it gets one
    (`legibility.unexplained_colours` checks this).
    """
    bar = fig.colorbar(image, ax=ax, location=location, **kwargs)
    bar.ax.tick_params(labelsize=9)
    if label is not None:
        bar.set_label(label, fontsize=9)
    return bar


def fit_cell_texts(fig, axes=None, *, fill=0.9, same_size=False):
    """Shrink every grid cell's text that would not fit its cell once `fig` is laid out.

    Cells are as wide as the layout makes them, so long entries (products of symbols, three-digit
    values) are measured after the layout and set to `fill` of the cell's width at most. Only the
    grids in `axes` (default: all); with ``same_size=True`` all their texts get the smallest size
    that any of them needs, so a row of panels reads evenly.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    renderer = canvas.get_renderer()
    sizes = {}
    for ax in fig.axes if axes is None else np.ravel(axes):
        if not ax.images:
            continue
        (x0, y0), (x1, y1) = ax.transData.transform([(-0.5, -0.5), (0.5, 0.5)])
        width, height = abs(x1 - x0), abs(y1 - y0)
        for t in ax.texts:
            x, y = t.get_position()
            if not t.get_text() or not (float(x).is_integer() and float(y).is_integer()):
                continue
            box = t.get_window_extent(renderer)
            ratio = min(fill * width / max(box.width, 1e-9), fill * height / max(box.height, 1e-9), 1.0)
            sizes[t] = t.get_fontsize() * ratio
    smallest = min(sizes.values(), default=None)
    for t, size in sizes.items():
        t.set_fontsize(min(t.get_fontsize(), smallest) if same_size else size)
    return fig


def _ink(image, value):
    """Black or white text, whichever reads better on the cell's colour."""
    r, g, b, _ = image.cmap(image.norm(value))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"


def grid_texts(ax):
    """The texts written in `ax`'s cells, as a (rows, cols) array of str ("" where blank)."""
    rows, cols = ax.images[0].get_array().shape
    out = np.full((rows, cols), "", dtype=object)
    for t in ax.texts:
        x, y = t.get_position()
        if float(x).is_integer() and float(y).is_integer() and 0 <= y < rows and 0 <= x < cols:
            out[int(y), int(x)] = t.get_text()
    return out


def axes_by_label(fig):
    """The labelled axes of `fig`, insets included, as a dict label -> axes."""
    found, todo = {}, list(fig.axes)
    while todo:
        ax = todo.pop(0)
        todo += ax.child_axes
        if ax.get_label():
            found[ax.get_label()] = ax
    return found


def _symbols(letter, shape):
    """An object array of sympy symbols named like the book, 1-based: w_{1,1}, w_{1,2}, ..."""
    return np.array([[sympy.Symbol(f"{letter}_{{{i + 1},{j + 1}}}") for j in range(shape[1])]
                     for i in range(shape[0])], dtype=object)


def _tex(expr):
    return f"${sympy.latex(expr)}$"


def _arrow(fig, ax_from, ax_to, *, side="right", color="0.3"):
    """An arrow between two axes, from `side` of `ax_from` to the facing side of `ax_to`."""
    start, end = {"right": ((1, 0.5), (0, 0.5)), "left": ((0, 0.5), (1, 0.5)),
                  "down": ((0.5, 0), (0.5, 1))}[side]
    arrow = ConnectionPatch(start, end, "axes fraction", "axes fraction", axesA=ax_from,
                            axesB=ax_to, arrowstyle="-|>", color=color, linewidth=1.5,
                            shrinkA=4, shrinkB=4, mutation_scale=14)
    fig.add_artist(arrow)
    return arrow


def _blank(ax, label=None):
    ax.set_axis_off()
    if label:
        ax.set_label(label)


def _categorical(n):
    """White for 0, then n distinct light colours."""
    from matplotlib.colors import ListedColormap
    from matplotlib import colormaps
    base = colormaps["Pastel1"].colors + colormaps["Pastel2"].colors
    return ListedColormap(["white"] + [base[k % len(base)] for k in range(n)])
