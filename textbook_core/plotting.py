"""Chapter 8's figures (8.1-8.12) and the walkthroughs' pictures, drawn from the package itself.

Nothing here knows a number of the book by heart: images and kernels come from
`textbook_core.data`, every value from the library's operations, and the symbolic layouts
(Figures 8.2, 8.3, Eq. 8.12) run sympy symbols through `correlate` and `conv_matrix`, so the
picture shows what the code computes. The notebooks call these functions; none of them draws.

Each function returns a `matplotlib.figure.Figure` made without pyplot (a notebook shows it as
the cell's value after ``%matplotlib inline``; nothing piles up in pyplot's state). Every axes
carries a label (``ax.get_label()``) naming what it shows, and grids write their values as
texts, so a test can read a figure back.

========================  ===========================================================
function                  shows
========================  ===========================================================
`figure_8_1`              the basic convolution layer, drawn to size
`figure_8_2`, `_8_3`      where each output reads the input (`correlation_layout`)
`figure_8_4` - `_8_7`     squares, diamonds, line kernels and the filtered images
`figure_8_8`              3x3 max pooling, 15x15 -> 5x5
`figure_8_9`, `_8_10`     a convolution + pooling layer, in full and in shorthand
`figure_8_11`             a trained network of `textbook_core.network`, layer by layer
`figure_8_12`             every backpropagation path across a layer, with numbers
others                    impulse response, weight sharing, sliding window, the slides'
                          animation, padding modes, a photograph, learned kernels
========================  ===========================================================
"""
import numpy as np
import sympy
from matplotlib import cbook
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.patches import ConnectionPatch, Rectangle

import textbook_core as tc
from textbook_core import data

SIGNED = "RdBu_r"      # kernels, feature maps and gradients: blue < 0 < red
BINARY = "gray_r"      # 0/1 images: black = 1 (ink), as in data
TEXT_GRID = "Greys"    # symbol grids: white cells


# ---------------------------------------------------------------------------------------------
# Drawing primitives
# ---------------------------------------------------------------------------------------------

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
              title=None, label=None, box=None):
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
        ax.set_title(title, fontsize=fontsize + 2)
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


# ---------------------------------------------------------------------------------------------
# Why convolution (8.1-8.12)
# ---------------------------------------------------------------------------------------------

def impulse_response_figure(transform=None, image=None, *, size=3):
    """8.1-8.5, P8.2: a transform's impulse response is the kernel that performs it.

    Panels: the impulse delta (8.1), its response w = W(delta) (8.2) read as a size x size
    kernel with the origin at the centre, an image P, the transform W(P), and the convolution
    w * P (8.5, same size). For a linear position-invariant transform the last two agree.

    The default transform is P8.2's shift one pixel right and one up, applied to E8.4's image.
    """
    if transform is None:
        def transform(A):
            return np.roll(A, (-1, 1), axis=(0, 1))
    image = data.E8_4_IMAGE if image is None else np.asarray(image, dtype=float)
    centre = (size // 2, size // 2)
    delta = tc.impulse((size, size), centre)
    w = tc.impulse_response(transform, (size, size), centre)
    moved = np.asarray(transform(image), dtype=float)
    convolved = tc.convolve(w, image, mode="same")
    fig = new_figure(12, 3)
    axes = fig.subplots(1, 5)
    draw_grid(axes[0], delta, title=r"impulse $\delta$ (8.1)", label="impulse")
    draw_grid(axes[1], w, title=r"$w = \mathcal{W}(\delta)$ (8.2)", label="response")
    draw_grid(axes[2], image, title=r"image $P$", label="image")
    draw_grid(axes[3], moved, title=r"$\mathcal{W}(P)$", label="transformed")
    draw_grid(axes[4], convolved, title=r"$w * P$ (8.5)", label="convolved")
    return fig


def weight_sharing_figure(input_shape=(3, 3), kernel_shape=(2, 2)):
    """8.11-8.12: the correlation as a matrix acting on vec(P), every weight in its own colour.

    The matrix is `conv_matrix` of a kernel of sympy symbols w_{i,j}, so each nonzero entry is
    labelled with the weight the code put there; rows are z's in vec order, columns p's.
    """
    W = _symbols("w", kernel_shape)
    M = tc.conv_matrix(W, input_shape)
    names = {w: k + 1 for k, w in enumerate(W.ravel())}
    colour = np.vectorize(lambda e: names.get(e, 0), otypes=[float])(M)
    text = np.vectorize(lambda e: "" if e == 0 else _tex(e), otypes=[object])(M)
    S = tc.output_size(tuple(input_shape), tuple(kernel_shape))
    p = tc.vec(_symbols("p", input_shape))
    z = tc.vec(_symbols("z", S))
    rows, cols = M.shape
    fig = new_figure(1.0 + 0.75 * cols, 1.2 + 0.55 * rows)
    ax = fig.add_subplot()
    cmap = _categorical(len(names))
    draw_grid(ax, colour, text=text, cmap=cmap, vmin=-0.5, vmax=len(names) + 0.5, fontsize=9,
              label="matrix")
    ax.set_xticks(range(cols), [_tex(s) for s in p], fontsize=9)
    ax.set_yticks(range(rows), [_tex(s) for s in z], fontsize=9)
    ax.tick_params(labeltop=True, labelbottom=False, labelleft=True)
    ax.set_title(r"$\mathrm{vec}(Z) = M\,\mathrm{vec}(P)$ (8.12): one kernel, shared by every row",
                 fontsize=10)
    return fig


def _categorical(n):
    """White for 0, then n distinct light colours."""
    from matplotlib.colors import ListedColormap
    from matplotlib import colormaps
    base = colormaps["Pastel1"].colors + colormaps["Pastel2"].colors
    return ListedColormap(["white"] + [base[k % len(base)] for k in range(n)])


# ---------------------------------------------------------------------------------------------
# Details (8.13-8.19)
# ---------------------------------------------------------------------------------------------

def figure_8_1(input_shape=(5, 5), kernel_shape=(3, 3)):
    """Figure 8.1: the basic convolution layer n = W (x) p + b, a = f(n), drawn to size.

    Each matrix is a grid of its true size; S_r x S_c comes from `output_size` (8.14-8.15).
    The bias is untied (one element per output neuron), as in the figure.
    """
    R, r = tuple(input_shape), tuple(kernel_shape)
    S = tc.output_size(R, r)
    blocks = [("P", R, r"$R_r \times R_c$", None), ("W", r, r"$r \times c$", r"$\otimes$"),
              ("Z", S, r"$S_r \times S_c$", "="), ("b", S, r"$S_r \times S_c$", "+"),
              ("N", S, r"$S_r \times S_c$", r"$\to$"), ("A", S, r"$S_r \times S_c$", r"$f$")]
    fig = new_figure(12, 3.2)
    ax = fig.add_subplot()
    ax.set_label("layer")
    x, height = 0.0, max(R[0], S[0], r[0])
    for name, (rows, cols), dims, op in blocks:
        if op is not None:
            ax.text(x + 0.9, height / 2, op, ha="center", va="center", fontsize=16)
            x += 1.8
        for i in range(rows):
            for j in range(cols):
                ax.add_patch(Rectangle((x + j, height / 2 + rows / 2 - i - 1), 1, 1,
                                       facecolor="0.93" if name != "W" else "#f4c28a",
                                       edgecolor="0.4", linewidth=0.8))
        ax.text(x + cols / 2, height / 2 + rows / 2 + 0.5, f"${name}$", ha="center", fontsize=13)
        ax.text(x + cols / 2, height / 2 - rows / 2 - 0.9, f"{dims} = {rows}×{cols}", ha="center",
                va="top", fontsize=9, gid=f"dims:{name}")
        x += cols
    ax.set_xlim(-0.5, x + 0.5)
    ax.set_ylim(-1.8, height + 1.5)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(rf"$S_r = R_r - r + 1 = {R[0]} - {r[0]} + 1 = {S[0]}$,  "
                 rf"$S_c = R_c - c + 1 = {R[1]} - {r[1]} + 1 = {S[1]}$ (8.14-8.15)", fontsize=10)
    return fig


def correlation_layout(input_shape=(3, 3), kernel_shape=(2, 2), *, padding=0, stride=1):
    """Figures 8.2-8.3: Z = W (x) P with symbols, one panel per output z_{m,n}.

    The top row shows W, the (padded) P and Z. Below, each panel shows where z_{m,n} reads P:
    the window outlined and every product w_{u,v} p_{i,j} written in the cell it uses. The
    products are the terms of `correlate` run on sympy symbols, so the drawing is what the code
    computes (8.13 with P^d and S^t); cells of the padding read 0.
    """
    W, P = _symbols("w", kernel_shape), _symbols("p", input_shape)
    pr, pc = (padding, padding) if np.ndim(padding) == 0 else padding
    Z = tc.correlate(W, P, padding=padding, stride=stride)
    S_r, S_c = Z.shape
    R_r, R_c = P.shape
    padded = np.full((R_r + 2 * pr, R_c + 2 * pc), "0", dtype=object)
    padded[pr:pr + R_r, pc:pc + R_c] = np.vectorize(_tex, otypes=[object])(P)
    shade = np.zeros(padded.shape)
    shade[pr:pr + R_r, pc:pc + R_c] = 0.25
    w_at = {w: (u, v) for (u, v), w in np.ndenumerate(W)}
    p_at = {p: (i + pr, j + pc) for (i, j), p in np.ndenumerate(P)}
    fig = new_figure(max(8, 2.3 * S_c), 2.6 + 2.3 * S_r)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.1, S_r])
    head = top.subplots(1, 3, width_ratios=[W.shape[1], padded.shape[1], S_c])
    draw_grid(head[0], np.zeros(W.shape), text=np.vectorize(_tex, otypes=[object])(W), cmap=TEXT_GRID,
              vmin=0, vmax=1, fontsize=10, title=r"kernel $W$", label="W")
    draw_grid(head[1], shade, text=padded, cmap=TEXT_GRID, vmin=0, vmax=1, fontsize=9,
              title=rf"image $P$ ($P^d={padding}$)", label="P")
    z_names = _symbols("z", Z.shape)
    draw_grid(head[2], np.zeros(Z.shape), text=np.vectorize(_tex, otypes=[object])(z_names),
              cmap=TEXT_GRID, vmin=0, vmax=1, fontsize=10,
              title=rf"$Z = W \otimes P$, $S^t={stride}$", label="Z")
    panels = np.atleast_2d(bottom.subplots(S_r, S_c, squeeze=False))
    for (m, n), z in np.ndenumerate(Z):
        text = np.full(padded.shape, "", dtype=object)
        corner = None
        for term in sympy.Add.make_args(sympy.expand(z)):
            if term == 0:
                continue
            w = next(s for s in term.free_symbols if s in w_at)
            p = next(s for s in term.free_symbols if s in p_at)
            (u, v), (i, j) = w_at[w], p_at[p]
            text[i, j] = f"${sympy.latex(w)}{sympy.latex(p)}$"
            corner = (i - u, j - v)
        box = corner + W.shape
        for (u, v), w in np.ndenumerate(W):   # window cells over the padding read a zero
            i, j = corner[0] + u, corner[1] + v
            if not text[i, j]:
                text[i, j] = f"${sympy.latex(w)}\\cdot 0$"
        draw_grid(panels[m, n], shade, text=text, cmap=TEXT_GRID, vmin=0, vmax=1, fontsize=8,
                  box=box, title=f"${sympy.latex(z_names[m, n])}$", label=f"z{m + 1},{n + 1}")
    return fig


def figure_8_2():
    """Figure 8.2: a 3x3 image, a 2x2 kernel and Z = W (x) P, each z_{m,n} with its window."""
    return correlation_layout((3, 3), (2, 2))


def figure_8_3():
    """Figure 8.3: a 2x2 kernel on a 4x4 image with stride S^t = 2: the output is 2x2 (8.18)."""
    return correlation_layout((4, 4), (2, 2), stride=2)


def padding_modes_figure(image=None, kernel=None):
    """8.14-8.17 and the notes' VALID vs SAME: one image, one kernel, three paddings.

    VALID is P^d = 0 (size R - r + 1), SAME is P^d = (r - 1)/2 (size R), FULL is P^d = r - 1
    (size R + r - 1). The sizes in the titles come from `output_size`.
    """
    image = data.E8_1_IMAGE if image is None else np.asarray(image, dtype=float)
    kernel = data.E8_1_KERNEL if kernel is None else np.asarray(kernel, dtype=float)
    r = kernel.shape[0]
    modes = [("VALID", 0), ("SAME", (r - 1) // 2), ("FULL", r - 1)]
    fig = new_figure(14, 4)
    axes = fig.subplots(1, 4, width_ratios=[image.shape[1]] + [image.shape[1] + 2 * p for _, p in modes])
    draw_grid(axes[0], image, text=None, title=rf"$P$: {image.shape[0]}×{image.shape[1]}", label="P")
    vmax = max(float(np.abs(tc.correlate(kernel, image, padding=r - 1)).max()), 1.0)
    for ax, (name, p) in zip(axes[1:], modes):
        Z = tc.correlate(kernel, image, padding=p)
        S = tc.output_size(image.shape, kernel.shape, padding=p)
        draw_grid(ax, Z, vmin=-vmax, vmax=vmax, cmap=SIGNED, fontsize=7, label=name,
                  title=rf"{name}: $P^d={p}$, $S_r = {image.shape[0]} + 2\cdot{p} - {r} + 1 = {S[0]}$")
    return fig


def sliding_step(P, W, *, padding=0, stride=1, step=0, operation="correlate"):
    """The numbers behind one step of the sliding window: what `draw_sliding_step` shows.

    Returns a dict with the padded input ``Ppad``, the kernel actually slid over it ``K``
    (``rot180(W)`` for convolution, P8.1), the full output ``Z`` from `correlate` or `convolve`,
    the output index ``(m, n)`` of `step` (row-major), the window's top-left ``corner`` in
    ``Ppad`` and the ``products`` K * window whose sum is ``Z[m, n]``.
    """
    P, W = np.asarray(P, dtype=float), np.asarray(W, dtype=float)
    if operation == "correlate":
        Z, K = tc.correlate(W, P, padding=padding, stride=stride), W
    elif operation == "convolve":
        Z, K = tc.convolve(W, P, padding=padding, stride=stride), tc.rot180(W)
    else:
        raise ValueError(f"operation must be 'correlate' or 'convolve', got {operation!r}")
    pr, pc = (padding, padding) if np.ndim(padding) == 0 else padding
    sr, sc = (stride, stride) if np.ndim(stride) == 0 else stride
    Ppad = np.pad(P, ((pr, pr), (pc, pc)))
    if not 0 <= step < Z.size:
        raise ValueError(f"step={step} must lie in 0..{Z.size - 1} for an output of shape {Z.shape}")
    m, n = divmod(int(step), Z.shape[1])
    corner = (m * sr, n * sc)
    window = Ppad[corner[0]:corner[0] + K.shape[0], corner[1]:corner[1] + K.shape[1]]
    return {"Ppad": Ppad, "K": K, "Z": Z, "index": (m, n), "corner": corner,
            "products": K * window, "padding": (pr, pc)}


def draw_sliding_step(axes, P, W, *, padding=0, stride=1, step=0, operation="correlate",
                      values=True, update=False):
    """Draw one step of the sliding window on three axes: input, kernel x window, output so far.

    The output map shows the values computed up to `step` (row-major) and leaves the rest grey,
    as the slides fill in their feature map. With ``update=True`` the axes must hold an earlier
    step of the same P and W, drawn by this function, and only what moves is changed (for
    animations). Returns the `sliding_step` dict.
    """
    s = sliding_step(P, W, padding=padding, stride=stride, step=step, operation=operation)
    (m, n), K, Z, corner = s["index"], s["K"], s["Z"], s["corner"]
    pr, pc = s["padding"]
    window = s["Ppad"][corner[0]:corner[0] + K.shape[0], corner[1]:corner[1] + K.shape[1]]
    kernel_text = np.array([[f"{fmt(k)}×{fmt(x)}" for k, x in zip(krow, xrow)]
                            for krow, xrow in zip(K, window)], dtype=object)
    name = "kernel" if operation == "correlate" else "rot180(kernel)"
    kernel_title = f"{name} × window\nsum = {fmt(s['products'].sum())}"
    filled = np.full(Z.shape, np.nan)           # not yet computed: drawn grey, no text
    filled.reshape(-1)[:step + 1] = Z.reshape(-1)[:step + 1]
    out_text = np.where(np.isnan(filled), "", np.vectorize(fmt, otypes=[object])(np.nan_to_num(filled)))
    out_title = f"output {Z.shape[0]}×{Z.shape[1]}: z[{m},{n}] = {fmt(Z[m, n])}"
    if update:
        update_grid(axes[0], s["Ppad"], corner=corner)
        update_grid(axes[1], K, text=kernel_text if values else None, title=kernel_title)
        update_grid(axes[2], filled, text=out_text if values else None, corner=(m, n), title=out_title)
        return s
    for ax in axes:
        ax.clear()
    shown = s["Ppad"]
    draw_grid(axes[0], shown, text="values" if values else None,
              cmap=BINARY if np.isin(shown, (0, 1)).all() else SIGNED,
              box=corner + K.shape, fontsize=8, label="input", title=f"input, $P^d$={pr}, $S^t$={stride}")
    if pr or pc:
        R_r, R_c = np.asarray(P).shape
        axes[0].add_patch(Rectangle((pc - 0.5, pr - 0.5), R_c, R_r, fill=False, edgecolor="tab:blue",
                                    linestyle="--", linewidth=1.2))
    draw_grid(axes[1], K, text=kernel_text if values else None, cmap=SIGNED, fontsize=8,
              label="kernel", title=kernel_title)
    vmax = float(np.abs(Z).max()) or 1.0
    draw_grid(axes[2], filled, text=out_text if values else None, cmap=SIGNED, vmin=-vmax,
              vmax=vmax, box=(m, n, 1, 1), fontsize=9, label="output", title=out_title)
    axes[2].set_facecolor("0.85")
    return s


def sliding_window_figure(P, W, *, padding=0, stride=1, step=0, operation="correlate", values=True):
    """One step of the sliding window as a figure (the interactive demo's static picture)."""
    P, W = np.asarray(P, dtype=float), np.asarray(W, dtype=float)
    pc = padding if np.ndim(padding) == 0 else padding[1]
    S = tc.output_size(P.shape, W.shape, padding=padding, stride=stride)
    fig = new_figure(12, 4.2)
    axes = fig.subplots(1, 3, width_ratios=[P.shape[1] + 2 * pc, W.shape[1] + 1, max(S[1], 2)])
    draw_sliding_step(axes, P, W, padding=padding, stride=stride, step=step, operation=operation,
                      values=values)
    return fig


def draw_slides_step(axes, k):
    """Frame `k` of the slides' 7x7 example on three axes (see `slides_animation`).

    Draws the first time, then updates in place. Where the slides misprint the entry being
    filled in (`data.SLIDE_FEATURE_MAP_ERRATA`), the figure's title says so.
    """
    S = tc.output_size(data.SLIDE_IMAGE.shape, data.SLIDE_DETECTOR.shape)
    s = draw_sliding_step(axes, data.SLIDE_IMAGE, data.SLIDE_DETECTOR, step=k,
                          update=bool(axes[2].images))
    title = f"step {k + 1} of {S[0] * S[1]}"
    if s["index"] in data.SLIDE_FEATURE_MAP_ERRATA:
        title += (f": the slide prints {fmt(data.SLIDE_FEATURE_MAP[s['index']])} here, a misprint;"
                  f" the window gives {fmt(s['Z'][s['index']])}")
    axes[0].figure.suptitle(title)
    return s


def slides_animation(interval=500):
    """The slides' 7x7 example: the 3x3 feature detector slides over the image, step by step.

    Every frame is `draw_slides_step`: `correlate` of `data.SLIDE_DETECTOR` with
    `data.SLIDE_IMAGE` (the slides compute a correlation), the output filled in one value per
    frame. Returns a `FuncAnimation` with one frame per output pixel; in a notebook show it with
    ``HTML(anim.to_jshtml())``.
    """
    fig = new_figure(11, 4.4)
    axes = fig.subplots(1, 3, width_ratios=[7, 4, 5])
    S = tc.output_size(data.SLIDE_IMAGE.shape, data.SLIDE_DETECTOR.shape)
    draw_slides_step(axes, 0)
    fig.draw_without_rendering()        # lay out once; the frames only change values
    fig.set_layout_engine("none")
    return FuncAnimation(fig, lambda k: draw_slides_step(axes, k) and [], frames=S[0] * S[1],
                         interval=interval, blit=False)


# ---------------------------------------------------------------------------------------------
# Template matching (Figures 8.4-8.7) and the slides' image kernels
# ---------------------------------------------------------------------------------------------

def figure_8_4():
    """Figure 8.4: the two 15x15 sample images, a square and a diamond."""
    fig = new_figure(7, 3.6)
    axes = fig.subplots(1, 2)
    draw_grid(axes[0], data.FIGURE_8_4_SQUARE, text=None, title="square", label="square")
    draw_grid(axes[1], data.FIGURE_8_4_DIAMOND, text=None, title="diamond", label="diamond")
    return fig


def figure_8_5():
    """Figure 8.5: the four 3x3 line kernels, values written in."""
    fig = new_figure(10, 2.9)
    axes = fig.subplots(1, len(data.LINE_KERNEL_NAMES))
    for ax, name in zip(axes, data.LINE_KERNEL_NAMES):
        draw_grid(ax, data.FIGURE_8_5_KERNELS[name], fontsize=12, title=name, label=name)
    return fig


def filtered_figure(image, kernels=None, *, padding=0, values=True):
    """Figures 8.6-8.7: `image` correlated with each kernel (8.13), one panel per kernel.

    `kernels` maps names to 2-D kernels (default: Figure 8.5's). All maps share one colour
    scale, so the strongest matches stand out.
    """
    kernels = data.FIGURE_8_5_KERNELS if kernels is None else kernels
    maps = {name: tc.correlate(K, image, padding=padding) for name, K in kernels.items()}
    vmax = max(float(np.abs(Z).max()) for Z in maps.values()) or 1.0
    fig = new_figure(3.2 * (len(maps) + 1), 3.6)
    axes = fig.subplots(1, len(maps) + 1)
    draw_grid(axes[0], image, text=None, title="image", label="image")
    for ax, (name, Z) in zip(axes[1:], maps.items()):
        draw_grid(ax, Z, text="values" if values else None, cmap=SIGNED, vmin=-vmax, vmax=vmax,
                  fontsize=5.5, label=name, title=f"{name}: max {fmt(Z.max())}")
    return fig


def figure_8_6():
    """Figure 8.6: the square filtered with each kernel of Figure 8.5."""
    return filtered_figure(data.FIGURE_8_4_SQUARE)


def figure_8_7():
    """Figure 8.7: the diamond filtered with each kernel of Figure 8.5."""
    return filtered_figure(data.FIGURE_8_4_DIAMOND)


def sample_photograph(step=2):
    """A grey-level photograph from matplotlib's sample data (Grace Hopper), values in [0, 1].

    -> array (rows, cols) float64, every `step`-th pixel of the 600x512 original.
    """
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        rgb = imread(f, format="jpg").astype(float) / 255.0
    grey = rgb[..., :3] @ np.array([0.299, 0.587, 0.114])
    return grey[::step, ::step]


def photo_kernels_figure(photo=None, kernels=None):
    """The slides' image kernels applied to a photograph (SAME padding, so sizes match).

    Each result is `correlate` (8.13) with P^d = (r - 1)/2, with the kernel drawn in its corner.
    A kernel whose entries sum to s > 0 (sharpen, blur, emboss) is shown on the range [0, s], as
    GIMP divides by s; a zero-sum kernel (edges, Sobel) on a range symmetric about 0.
    """
    photo = sample_photograph() if photo is None else np.asarray(photo, dtype=float)
    kernels = data.IMAGE_KERNELS if kernels is None else kernels
    n = len(kernels) + 1
    cols = 4
    rows = -(-n // cols)
    fig = new_figure(3.2 * cols, 3.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    axes[0].imshow(photo, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("photograph")
    axes[0].set_label("photograph")
    for ax, (name, K) in zip(axes[1:], kernels.items()):
        Z = tc.correlate(K, photo, padding=(K.shape[0] - 1) // 2)
        total = float(np.sum(K))
        if total > 0:      # a weighted average (up to scale): the photo's own range, times the sum
            lo, hi = 0.0, total
        else:              # a difference: 0 is mid-grey, strong responses saturate
            hi = float(np.percentile(np.abs(Z), 99)) or 1.0
            lo = -hi
        ax.imshow(Z, cmap="gray", vmin=lo, vmax=hi)
        ax.set_title(f"{name.replace('_', ' ')} (sum {fmt(total)})")
        ax.set_label(name)
        inset = ax.inset_axes([0.0, 0.0, 0.06 * K.shape[1], 0.06 * K.shape[0]])
        draw_grid(inset, K, fontsize=6, cmap=SIGNED, label=f"{name} kernel")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_axis_off()
    return fig


# ---------------------------------------------------------------------------------------------
# Hierarchy (Figures 8.8-8.11)
# ---------------------------------------------------------------------------------------------

def figure_8_8(images=None, size=3):
    """Figure 8.8: max pooling with a size x size window and stride (8.24): 15x15 -> 5x5.

    Top: each image with the pooling windows outlined; bottom: `max_pool` of it.
    """
    images = {"square": data.FIGURE_8_4_SQUARE, "diamond": data.FIGURE_8_4_DIAMOND} \
        if images is None else images
    fig = new_figure(3.4 * len(images), 6.8)
    axes = fig.subplots(2, len(images), squeeze=False)
    for k, (name, image) in enumerate(images.items()):
        draw_grid(axes[0, k], image, text=None, title=f"{name} {image.shape[0]}×{image.shape[1]}",
                  label=name)
        for edge in range(0, image.shape[0] + 1, size):
            axes[0, k].axhline(edge - 0.5, color="tab:orange", linewidth=1.5)
        for edge in range(0, image.shape[1] + 1, size):
            axes[0, k].axvline(edge - 0.5, color="tab:orange", linewidth=1.5)
        Z = tc.max_pool(image, size)
        draw_grid(axes[1, k], Z, fontsize=11, label=f"pooled {name}",
                  title=rf"$\boxplus^{{max}}_{{{size},{size}}}$: {Z.shape[0]}×{Z.shape[1]}")
    return fig


def _stack(fig, spec, maps, title, label, *, cmap=None, vmax=None, values=False):
    """Draw a stack of FMs (H, rows, cols) as a column of small grids inside `spec`."""
    axes = spec.subgridspec(len(maps), 1).subplots() if len(maps) > 1 else [fig.add_subplot(spec)]
    axes = np.atleast_1d(axes)
    for h, (ax, A) in enumerate(zip(axes, maps)):
        draw_grid(ax, A, text="values" if values else None, cmap=cmap,
                  vmin=None if vmax is None else (-vmax if cmap == SIGNED else 0),
                  vmax=vmax, fontsize=6, label=f"{label}[{h}]")
    axes[0].set_title(title, fontsize=9)
    return axes


def figure_8_9(image=None, LW=None, b=-3.0, size=3):
    """Figure 8.9: a convolution layer (tied bias, ReLU) followed by max pooling, with real FMs.

    Defaults: Figure 8.4's square through Figure 8.5's kernels (H^0 = 1, H^1 = 4) with bias
    b^1 = -3 for every kernel, f^1 = poslin (ReLU) and 3x3 max pooling, so A^2 keeps only the
    strong line matches. Columns: P, the kernels LW^{1,0}, N^1 = LW (x) P + b^1, A^1 = f^1(N^1)
    and A^2; sizes in the titles follow 8.18.
    """
    image = data.FIGURE_8_4_SQUARE if image is None else np.asarray(image, dtype=float)
    LW = data.LINE_KERNELS[:, None] if LW is None else np.asarray(LW, dtype=float)
    P = image[None]
    N1 = tc.correlate_fms(LW, P) + b
    A1 = np.maximum(N1, 0)
    A2 = tc.max_pool(A1, size)
    H1, H0, r, c = LW.shape
    fig = new_figure(13, 7.5)
    specs = fig.add_gridspec(1, 5, width_ratios=[1.3, 0.6, 1, 1, 0.6], wspace=0.15)
    vmax = float(np.abs(N1).max()) or 1.0
    cols = [
        _stack(fig, specs[0], P, rf"$P$: $H^0 \times R_r \times R_c$ = {H0}×{image.shape[0]}×{image.shape[1]}", "P"),
        _stack(fig, specs[1], LW[:, 0], rf"$LW^{{1,0}}$: {H1}×{H0}×{r}×{c}", "LW", values=True),
        _stack(fig, specs[2], N1, rf"$N^1 = LW \otimes P + b^1$, $b^1={fmt(b)}$" + f"\n{N1.shape[0]}×{N1.shape[1]}×{N1.shape[2]}",
               "N1", cmap=SIGNED, vmax=vmax),
        _stack(fig, specs[3], A1, rf"$A^1 = f^1(N^1)$ (poslin)" + f"\n{A1.shape[0]}×{A1.shape[1]}×{A1.shape[2]}",
               "A1", cmap=SIGNED, vmax=vmax),
        _stack(fig, specs[4], A2, rf"$A^2 = \boxplus^{{max}}_{{{size},{size}}} A^1$" + f"\n{A2.shape[0]}×{A2.shape[1]}×{A2.shape[2]}",
               "A2", cmap=SIGNED, vmax=vmax, values=True),
    ]
    for left, right in zip(cols[:-1], cols[1:]):
        _arrow(fig, left[len(left) // 2], right[len(right) // 2])
    return fig


def figure_8_10(input_shape=(1, 15, 15), kernel_shape=(4, 3, 3), size=3):
    """Figure 8.10: Figure 8.9 in shorthand, a chain of labelled boxes with every size."""
    H0, R_r, R_c = input_shape
    H1, r, c = kernel_shape
    S = tc.output_size((R_r, R_c), (r, c))
    T = tc.output_size(S, (size, size), stride=size)
    boxes = [
        ("input", rf"$P$" + f"\n{H0}×{R_r}×{R_c}"),
        ("conv", rf"convolution $\otimes$" + f"\n$LW^{{1,0}}$: {H1}×{H0}×{r}×{c}\n$b^1$: {H1}\n$f^1$"),
        ("A1", rf"$A^1$" + f"\n{H1}×{S[0]}×{S[1]}"),
        ("pool", rf"max pooling" + f"\n{size}×{size}, $S^t$={size}"),
        ("A2", rf"$A^2$" + f"\n{H1}×{T[0]}×{T[1]}"),
    ]
    fig = new_figure(12, 2.6)
    ax = fig.add_subplot()
    ax.set_label("shorthand")
    for k, (kind, text) in enumerate(boxes):
        layer = kind in ("conv", "pool")
        ax.text(3 * k, 0, text, ha="center", va="center", fontsize=10, gid=kind,
                bbox=dict(boxstyle="round,pad=0.6" if layer else "square,pad=0.4",
                          facecolor="#f4c28a" if layer else "0.95", edgecolor="0.3"))
        if k:
            ax.annotate("", xy=(3 * k - 1.05, 0), xytext=(3 * k - 1.95, 0),
                        arrowprops=dict(arrowstyle="-|>", color="0.3"))
    ax.set_xlim(-1.5, 3 * len(boxes) - 1.5)
    ax.set_ylim(-1, 1)
    ax.set_axis_off()
    return fig


def figure_8_11(net, image=None, class_names=data.SHAPE_LABELS):
    """Figure 8.11: a `textbook_core.network.Network`'s layers, with the FMs of one image.

    Columns: A^0 = P, then for each group the convolution layer's A^m and the pooling layer's
    A^{m+1}, then p = vec(A^{M-1}) (8.26) and the softmax output a^M. The numbers are
    `network.forward`'s.
    """
    from . import network as nw

    image = data.FIGURE_8_4_DIAMOND if image is None else np.asarray(image, dtype=float)
    X = image.reshape((1,) + tuple(net.input_shape))
    A = nw.forward(net, X)["A"]
    M = len(A) - 1
    fig = new_figure(2.0 * (M + 2), 7.5)
    specs = fig.add_gridspec(1, M + 2, width_ratios=[1.2] * M + [0.3, 0.9])
    columns = []
    for m in range(M):
        maps = A[m][0]
        kind = "input" if m == 0 else ("conv" if m % 2 else "pool")
        title = rf"$A^{{{m}}}$ ({kind})" + f"\n{maps.shape[0]}×{maps.shape[1]}×{maps.shape[2]}"
        columns.append(_stack(fig, specs[m], maps, title, f"A{m}", cmap=BINARY if m == 0 else
                              "viridis", vmax=None if m == 0 else float(maps.max()) or 1.0))
    p = tc.vec(A[M - 1][0])
    ax_p = fig.add_subplot(specs[M])
    draw_grid(ax_p, p[:, None], text=None, cmap="viridis", label="p",
              title=rf"$p = vec(A^{{{M - 1}}})$" + f"\n{p.size}")
    ax_p.set_aspect("auto")
    ax_a = fig.add_subplot(specs[M + 1])
    bars = ax_a.bar(range(len(A[M][0])), A[M][0], color="tab:orange")
    ax_a.bar_label(bars, [f"{a:.3f}" for a in A[M][0]])
    ax_a.set_xticks(range(len(A[M][0])), class_names[:len(A[M][0])])
    ax_a.set_ylim(0, 1.12)
    ax_a.set_title(rf"$a^{{{M}}}$ = softmax", fontsize=9)
    ax_a.set_label("output")
    for left, right in zip(columns, columns[1:]):
        _arrow(fig, left[len(left) // 2], right[len(right) // 2])
    _arrow(fig, columns[-1][len(columns[-1]) // 2], ax_p)
    _arrow(fig, ax_p, ax_a)
    return fig


FIGURE_8_11_GROUPS = (dict(H=4, r=3, size=2), dict(H=6, r=3, size=2))
"""Figure 8.11's two convolution-pooling groups for squares vs diamonds: 15x15 -> 4x13x13 ->
4x6x6 -> 6x4x4 -> 6x2x2 -> vec (24) -> softmax over 2 classes."""


def train_figure_8_11(seed=0):
    """Train Figure 8.11's network (`FIGURE_8_11_GROUPS`) on squares vs diamonds.

    Returns ``(net, history, seconds)`` from `network.train_squares_vs_diamonds`.
    """
    from .network import train_squares_vs_diamonds

    return train_squares_vs_diamonds(seed, groups=[dict(g) for g in FIGURE_8_11_GROUPS])


def kernels_figure(net):
    """The kernels LW^{m,m-1} of every convolution layer of a `network.Network`, as learned."""
    n_rows = sum(layer.LW.shape[1] for layer in net.layers)
    n_cols = max(layer.LW.shape[0] for layer in net.layers)
    fig = new_figure(1.6 * n_cols + 1, 1.6 * n_rows + 0.6)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    row = 0
    for k, layer in enumerate(net.layers):
        m = 2 * k + 1
        for l in range(layer.LW.shape[1]):
            for h in range(n_cols):
                ax = axes[row, h]
                if h < layer.LW.shape[0]:
                    draw_grid(ax, layer.LW[h, l], text=None, label=f"LW{m}[{h},{l}]",
                              title=rf"$W^{{{m},{m - 1},{h + 1},{l + 1}}}$", fontsize=7)
                else:
                    _blank(ax)
            row += 1
    return fig


def training_figure(history, accuracy=None):
    """The performance index F after each epoch (and the accuracy, if given)."""
    fig = new_figure(6, 3.2)
    ax = fig.add_subplot()
    ax.set_label("loss")
    ax.plot(np.arange(1, len(history) + 1), history, "o-", label="F (cross-entropy)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("F")
    ax.set_yscale("log")
    if accuracy is not None:
        ax.set_title(f"training accuracy {accuracy:.0%}")
    ax.legend()
    return fig


# ---------------------------------------------------------------------------------------------
# Gradient (Figure 8.12)
# ---------------------------------------------------------------------------------------------

def backprop_example(seed=0):
    """A one-FM layer with small integers for Figure 8.12: every array on its paths.

    Layer n has net input N^n (4x4, no zeros) and A^n = poslin(N^n); layer m has the 2x2 kernel
    LW^{m,n} and bias b^m; dN^m (3x3) is a random upstream sensitivity. The backward arrays are
    the library's paths 8.35, 8.37, 8.45, 8.48 and 8.53.
    """
    rng = np.random.default_rng(seed)
    Nn = rng.choice([-3, -2, -1, 1, 2, 3], size=(4, 4)).astype(float)
    An = np.maximum(Nn, 0)
    LW = rng.integers(-2, 3, size=(2, 2)).astype(float)
    b = 1.0
    LZ = tc.correlate(LW, An)
    Nm = LZ + b
    dNm = rng.integers(-3, 4, size=Nm.shape).astype(float)
    dLZ = tc.summation_dlz(dNm)
    db = tc.summation_db(dNm)
    dAn = tc.conv_da(dLZ[None], LW[None, None], An.shape)[0]
    dLW = tc.conv_dlw(dLZ[None], An[None])[0, 0]
    dNn = tc.activation_dn(dAn, (Nn > 0).astype(float))
    return {"Nn": Nn, "An": An, "LW": LW, "b": b, "LZ": LZ, "Nm": Nm, "dNm": dNm, "dLZ": dLZ,
            "db": db, "dAn": dAn, "dLW": dLW, "dNn": dNn}


def figure_8_12(seed=0):
    """Figure 8.12: backpropagating across a layer, every path with its numbers.

    Forward (top row): N^n -> A^n -> LZ^{m,n} = LW (x) A^n -> N^m = LZ + b^m. Backward (middle
    row, right to left): dN^m -> dLZ^{m,n} (8.35) -> dA^n (8.45) -> dN^n (8.53). The gradient
    (bottom row): dN^m -> db^m (8.37) and dLZ^{m,n} -> dLW^{m,n} (8.48). Values from
    `backprop_example`.
    """
    ex = backprop_example(seed)
    mosaic = [[".", ".", "LW", "."],
              ["Nn", "An", "LZ", "Nm"],
              ["dNn", "dAn", "dLZ", "dNm"],
              [".", ".", "dLW", "db"]]
    fig = new_figure(12, 11)
    ax = fig.subplot_mosaic(mosaic, height_ratios=[2, 4, 4, 3])
    fig.get_layout_engine().set(wspace=0.12, hspace=0.06)
    grids = [
        ("Nn", r"$N^n$"), ("An", r"$A^n = f^n(N^n)$, poslin"), ("LW", r"$LW^{m,n}$, used by 8.21 and 8.45"),
        ("LZ", r"$LZ^{m,n} = LW \otimes A^n$ (8.21)"), ("Nm", rf"$N^m = LZ + b^m$, $b^m = {fmt(ex['b'])}$"),
        ("dNm", r"$dN^m$ (given)"), ("dLZ", r"$dLZ^{m,n} = dN^m$ (8.35)"),
        ("dAn", r"$dA^n = $rot180$(LW) \otimes dLZ$ (8.45)"),
        ("dNn", r"$dN^n = {\dot{F}}^{n} \circ dA^n$ (8.53)"),
        ("dLW", r"$dLW^{m,n} = dLZ \otimes A^n$ (8.48)"),
    ]
    for key, title in grids:
        draw_grid(ax[key], ex[key], fontsize=10, label=key, title=title, cmap=SIGNED)
    draw_grid(ax["db"], np.array([[ex["db"]]]), fontsize=12, label="db", cmap=SIGNED,
              title=r"$db^m = \sum_{i,j} dn^m_{i,j}$ (8.37)")
    for key in ("dLW", "db"):       # titles below, so the arrows from above stay clear
        ax[key].set_xlabel(ax[key].get_title(), fontsize=10)
        ax[key].set_title("")
    for a, b_ in [("Nn", "An"), ("An", "LZ"), ("LZ", "Nm")]:
        _arrow(fig, ax[a], ax[b_], color="0.35")
    for a, b_ in [("dNm", "dLZ"), ("dLZ", "dAn"), ("dAn", "dNn")]:
        _arrow(fig, ax[a], ax[b_], side="left", color="tab:red")
    _arrow(fig, ax["dNm"], ax["db"], side="down", color="tab:red")
    _arrow(fig, ax["dLZ"], ax["dLW"], side="down", color="tab:red")
    fig.suptitle("forward (black) and backward (red) across layer m, from layer n", fontsize=11)
    return fig


def derivations_markdown(labels, *, run=True):
    """The derivation steps `labels` of `textbook_core.derivations` as Markdown with LaTeX.

    Each step shows its equation, what sympy checks and, with ``run=True``, the outcome of
    running the check now (the library's code on symbols against the printed sum and
    ``sympy.diff``); where the printed equation is wrong, the erratum.
    """
    from .derivations import registry

    records = registry()
    lines = []
    for label in labels:
        c = records[label]
        outcome = ""
        if run:
            try:
                c.func()
                outcome = "✓ holds"
            except AssertionError as err:
                outcome = f"✗ fails: {err}"
        lines.append(f"**({label})** $${c.latex}$$")
        statement = c.statement.replace("`", "'")       # plain text: a code span, not Markdown
        lines.append(f"> sympy checks `{statement}` {outcome}".rstrip())
        if c.erratum:
            lines.append(f">\n> *Erratum:* `{c.erratum.replace('`', chr(39))}`")
        lines.append("")
    return "\n".join(lines)


def gradient_check_figure(checks):
    """Analytic against numerical derivatives, one panel per path.

    `checks` maps a path's name to a pair (analytic, numerical) of equal-shaped arrays; every
    element is one point, and the points lie on the diagonal when the derivation is right.
    """
    cols = min(4, len(checks))
    rows = -(-len(checks) // cols)
    fig = new_figure(3.2 * cols, 3.4 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(checks):]:
        ax.set_axis_off()
    for ax, (name, (analytic, numeric)) in zip(axes, checks.items()):
        analytic, numeric = np.ravel(analytic), np.ravel(numeric)
        lim = float(max(np.abs(analytic).max(), np.abs(numeric).max(), 1e-12)) * 1.1
        ax.plot([-lim, lim], [-lim, lim], color="0.7", linewidth=1)
        ax.plot(numeric, analytic, "o", color="tab:blue", markersize=4)
        err = float(np.abs(analytic - numeric).max())
        ax.set_title(f"{name}\nmax |error| = {err:.1e}", fontsize=9)
        ax.set_xlabel("central difference", fontsize=8)
        ax.set_ylabel("library path", fontsize=8)
        ax.set_aspect("equal")
        ax.set_label(name)
    return fig


FIGURES = {
    "8.1": figure_8_1, "8.2": figure_8_2, "8.3": figure_8_3, "8.4": figure_8_4,
    "8.5": figure_8_5, "8.6": figure_8_6, "8.7": figure_8_7, "8.8": figure_8_8,
    "8.9": figure_8_9, "8.10": figure_8_10, "8.11": figure_8_11, "8.12": figure_8_12,
}
"""The chapter's figures by number; 8.11 needs a trained network as its argument."""
