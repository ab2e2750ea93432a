"""The demo's picture as SVG: the input with the window on it, kernel x window, the output so far.

An SVG string of a few hundred rectangles and texts is written in about a millisecond, and the
browser draws it, so the demo redraws at once (re-rendering a matplotlib figure to PNG took most
of a second per click). The layout is `plotting.draw_sliding_step`'s: three panels, the output
filled in row-major order up to the current step and grey after it, labels counted from 1 as in
the chapter's Figures 8.2 and 8.3. Cells shrink to keep the picture within `WIDTH` pixels, and the
values are left out (the colours stay) when cells get too small to hold readable text.
"""
from html import escape
from xml.etree import ElementTree

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize

from textbook_core.plotting import BINARY, SIGNED, fmt

WIDTH = 880          # pixels the picture may take (a notebook's output area)
MIN_FONT = 9         # smallest readable text, pixels
GAP = 34             # between panels
BAND = 18            # row and column numbers beside a grid
TOP = 66             # titles above the grids
ORANGE, BLUE, GREY = "#ff7f0e", "#1f77b4", "#d4d4d4"


def _colours(A, cmap, vmin, vmax):
    """Fill colours (hex) and ink colours (black or white, whichever reads) of each cell."""
    rgba = colormaps[cmap](Normalize(vmin, vmax, clip=True)(A))
    rgb = np.rint(rgba[..., :3] * 255).astype(int)
    hexes = np.vectorize("#{:06x}".format, otypes=[object])(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])
    luminance = rgba[..., :3] @ np.array([0.299, 0.587, 0.114])
    return hexes, np.where(luminance < 0.5, "white", "black")


def _scale(A):
    """Colour map and range: black on white for 0/1 images, else blue < 0 < red, symmetric."""
    if np.isin(A, (0, 1)).all():
        return BINARY, 0.0, 1.0
    vmax = float(np.abs(A).max()) or 1.0
    return SIGNED, -vmax, vmax


def _font(text, cell, size):
    """The font size (pixels) at which `text` fits in a cell `cell` pixels wide."""
    return min(size, 0.9 * cell / max(0.62 * len(text), 1.0))


def _title(x, y, parts, size=13, anchor="start"):
    """A text line from (text, subscript) parts: [("z", "3,3"), (" = 4", "")]."""
    spans = "".join(escape(t) + (f'<tspan baseline-shift="sub" font-size="72%">{escape(s)}</tspan>'
                                 if s else "") for t, s in parts)
    return (f'<text class="title" x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}">'
            f'{spans}</text>')


def _grid(out, name, x, y, cell, fills, inks, texts, size, *, first=(0, 0), span=None):
    """Panel `name`: cells at (x, y), and their row and column numbers from 1 beside them; numbered
    are the `span` (rows, cols) cells from grid index `first` (the image inside its padding).

    Each cell's text carries its grid index (``data-i``, ``data-j``), so a reader can find it.
    """
    R, C = fills.shape
    span = (R, C) if span is None else span
    out.append(f'<g class="panel" data-panel="{name}">')
    for i in range(R):
        for j in range(C):
            cx, cy = x + j * cell, y + i * cell
            out.append(f'<rect x="{cx:.1f}" y="{cy:.1f}" width="{cell:.1f}" height="{cell:.1f}" '
                       f'fill="{fills[i, j]}" stroke="#999" stroke-width="0.5"/>')
            if texts is not None and texts[i, j]:
                f = _font(texts[i, j], cell, size)
                out.append(f'<text class="cell" data-i="{i}" data-j="{j}" x="{cx + cell / 2:.1f}" '
                           f'y="{cy + cell / 2:.1f}" font-size="{f:.1f}" fill="{inks[i, j]}" '
                           f'text-anchor="middle" dominant-baseline="central">{escape(texts[i, j])}</text>')
    out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{C * cell:.1f}" height="{R * cell:.1f}" '
               f'fill="none" stroke="#333" stroke-width="1"/>')
    every = 1 if cell >= 16 else 5
    for i in range(first[0], first[0] + span[0]):
        k = i - first[0] + 1
        if (k - 1) % every == 0:
            out.append(f'<text class="row" x="{x - 4:.1f}" y="{y + (i + 0.5) * cell:.1f}" font-size="10" fill="#666" '
                       f'text-anchor="end" dominant-baseline="central">{k}</text>')
    for j in range(first[1], first[1] + span[1]):
        k = j - first[1] + 1
        if (k - 1) % every == 0:
            out.append(f'<text class="col" x="{x + (j + 0.5) * cell:.1f}" y="{y - 4:.1f}" font-size="10" fill="#666" '
                       f'text-anchor="middle">{k}</text>')
    out.append("</g>")


def _outline(out, x, y, cell, row, col, rows, cols, colour, width=3, dash=None):
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    out.append(f'<rect x="{x + col * cell:.1f}" y="{y + row * cell:.1f}" width="{cols * cell:.1f}" '
               f'height="{rows * cell:.1f}" fill="none" stroke="{colour}" stroke-width="{width}"{extra}/>')


def layout(state):
    """Cell sizes (pixels) of the image and output grids, and of the kernel grid."""
    Hp, Wp = (np.array(state.image.shape) + 2 * state.padding)
    r, c = state.kernel.shape
    kernel_cell = 38 if c <= 5 else 30
    S_c = state.result["Z"].shape[1] if state.result is not None else 0
    room = WIDTH - c * kernel_cell - 2 * GAP - 2 * BAND - 8
    cell = float(np.clip(room / max(Wp + S_c, 1), 9, 28))
    return cell, kernel_cell


def svg(state, *, values=True):
    """The demo's `DemoState` as one SVG picture (str); `values` writes the numbers in the cells.

    Without an output (the kernel does not fit) only the input and the kernel are drawn: the
    reason is the demo's message, said once.
    """
    s, P, K = state.result, state.image, state.kernel
    cell, kcell = layout(state)
    size = min(13.0, 0.48 * cell)
    show = values and size >= MIN_FONT
    out = []
    pad = state.padding
    Ppad = np.pad(P, pad)
    x, y = 8 + BAND, TOP
    # -- the input, padded ---------------------------------------------------------------------
    cmap, lo, hi = _scale(P)
    fills, inks = _colours(Ppad, cmap, lo, hi)
    if pad:
        ring = np.ones(Ppad.shape, bool)
        ring[pad:pad + P.shape[0], pad:pad + P.shape[1]] = False
        fills[ring] = "#e8eef7"
        inks[ring] = "#789"
    texts = np.vectorize(fmt, otypes=[object])(Ppad) if show else None
    out.append(_title(x, 20, [("input P", ""), (f"  {P.shape[0]}×{P.shape[1]}", "")]))
    out.append(_title(x, 40, [(f"padding Pᵈ = {pad},  stride Sᵗ = {state.stride}", "")], size=11))
    _grid(out, "input", x, y, cell, fills, inks, texts, size, first=(pad, pad), span=P.shape)
    if pad:
        _outline(out, x, y, cell, pad, pad, P.shape[0], P.shape[1], BLUE, width=1.5, dash="5,3")
    if s is not None:
        _outline(out, x, y, cell, *s["corner"], *K.shape, ORANGE)
    x += Ppad.shape[1] * cell + GAP
    # -- the kernel, times the window ----------------------------------------------------------
    Kshown = K if s is None else s["K"]
    name = "W" if state.operation == "correlate" else "rot180(W)"
    fills, inks = _colours(Kshown, SIGNED, -(float(np.abs(Kshown).max()) or 1.0),
                           float(np.abs(Kshown).max()) or 1.0)
    if s is None:
        texts = np.vectorize(fmt, otypes=[object])(Kshown)
        out.append(_title(x, 20, [(f"kernel {name}", "")]))
        out.append(_title(x, 40, [(f"{K.shape[0]}×{K.shape[1]}", "")], size=11))
    else:
        r0, c0 = s["corner"]
        window = s["Ppad"][r0:r0 + K.shape[0], c0:c0 + K.shape[1]]
        texts = np.array([[f"{fmt(k)}×{fmt(v)}" for k, v in zip(kr, wr)] for kr, wr in zip(Kshown, window)],
                         dtype=object)
        out.append(_title(x, 20, [(f"{name} × window", "")]))
        out.append(_title(x, 40, [(f"sum = {fmt(s['products'].sum())}", "")], size=11))
    _grid(out, "kernel", x, y, kcell, fills, inks, texts if values else None, 12)
    x += K.shape[1] * kcell + GAP
    # -- the output so far ---------------------------------------------------------------------
    if s is not None:
        Z = s["Z"]
        m, n = s["index"]
        done = np.zeros(Z.size, bool)
        done[:state.step + 1] = True
        done = done.reshape(Z.shape)
        vmax = float(np.abs(Z).max()) or 1.0
        fills, inks = _colours(Z, SIGNED, -vmax, vmax)
        fills[~done] = GREY
        texts = np.where(done, np.vectorize(fmt, otypes=[object])(Z), "") if show else None
        out.append(_title(x, 20, [("output Z", ""), (f"  {Z.shape[0]}×{Z.shape[1]}", "")]))
        out.append(_title(x, 40, [("z", f"{m + 1},{n + 1}"), (f" = {fmt(Z[m, n])}", "")], size=11))
        _grid(out, "output", x, y, cell, fills, inks, texts, size)
        _outline(out, x, y, cell, m, n, 1, 1, ORANGE)
        x += Z.shape[1] * cell
    height = TOP + max(Ppad.shape[0] * cell, K.shape[0] * kcell) + 8
    note = "" if show or not values else (
        f'<text x="8" y="{height + 6:.0f}" font-size="11" fill="#666">cells too small for their '
        f'values at this padding; the colours still show them</text>')
    height += 14 if note else 0
    width = x + 8          # shown at this size, or scaled down to a narrower output area
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="tc-demo-picture" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'style="width: 100%; max-width: {width:.0f}px; height: auto" '
            f'font-family="DejaVu Sans, Verdana, sans-serif">' + "".join(out) + note + "</svg>")


def _panel(picture, panel):
    ns = {"s": "http://www.w3.org/2000/svg"}
    return next((g for g in ElementTree.fromstring(picture).findall("s:g", ns)
                 if g.get("data-panel") == panel), None), ns


def read_cells(picture, panel):
    """The texts of one panel ("input", "kernel" or "output") of an `svg` picture, read back:
    a dict (i, j) -> text, by grid index (empty when the panel is not drawn)."""
    g, ns = _panel(picture, panel)
    return {} if g is None else {(int(t.get("data-i")), int(t.get("data-j"))): t.text
                                 for t in g.findall("s:text[@class='cell']", ns)}


def read_numbers(picture, panel):
    """The row and the column numbers written beside a panel of an `svg` picture."""
    g, ns = _panel(picture, panel)
    return tuple([] if g is None else [t.text for t in g.findall(f"s:text[@class='{axis}']", ns)]
                 for axis in ("row", "col"))


def titles(picture):
    """The title lines of an `svg` picture as plain text ("z" and subscript "3,3" read "z_{3,3}")."""
    root = ElementTree.fromstring(picture)
    lines = []
    for t in root.iter("{http://www.w3.org/2000/svg}text"):
        if t.get("class") == "title":
            parts = [t.text or ""]
            for span in t:
                parts.append("_{" + (span.text or "") + "}" + (span.tail or ""))
            lines.append("".join(parts))
    return lines
