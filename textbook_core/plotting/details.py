"""Figures of section "Details" (8.13-8.19): Figure 8.1, the correlation layouts of Figures 8.2-8.3,
padding modes and the sliding window (one step, and the slides' animation)."""
import numpy as np
import sympy
from matplotlib.animation import FuncAnimation
from matplotlib.patches import Rectangle

import textbook_core as tc
from textbook_core import data

from .grids import (BINARY, SIGNED, TEXT_GRID, _symbols, _tex, draw_grid, fit_cell_texts, fmt, new_figure,
                    panel_axes, update_grid)


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
    computes (8.13 with P^d and S^t); cells of the padding read 0. Each product is set as large
    as its cell allows (`fit_cell_texts`), so neighbouring products never run into each other.
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
    side = min(3.4, 9.5 / S_c)             # inches per panel: as large as notebook width allows
    fig = new_figure(max(8, side * S_c + 0.4), 2.6 + (side + 0.3) * S_r)
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
        draw_grid(panels[m, n], shade, text=text, cmap=TEXT_GRID, vmin=0, vmax=1, fontsize=9,
                  box=box, title=f"${sympy.latex(z_names[m, n])}$", label=f"z{m + 1},{n + 1}")
    return fit_cell_texts(fig, panels, same_size=True)


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
    fig = new_figure(10, 10)
    axes = panel_axes(fig, 4, 2)
    draw_grid(axes[0], image, text=None, title=rf"$P$: {image.shape[0]}×{image.shape[1]}", label="P")
    vmax = max(float(np.abs(tc.correlate(kernel, image, padding=r - 1)).max()), 1.0)
    for ax, (name, p) in zip(axes[1:], modes):
        Z = tc.correlate(kernel, image, padding=p)
        S = tc.output_size(image.shape, kernel.shape, padding=p)
        draw_grid(ax, Z, vmin=-vmax, vmax=vmax, cmap=SIGNED, fontsize=9, label=name,
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
    out_title = f"output {Z.shape[0]}×{Z.shape[1]}: $z_{{{m + 1},{n + 1}}}$ = {fmt(Z[m, n])}"   # from 1
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


def slides_figure(k=0):
    """Frame `k` of the slides' 7x7 example as a figure (`draw_slides_step`)."""
    fig = new_figure(11, 4.4)
    axes = fig.subplots(1, 3, width_ratios=[7, 4, 5])
    draw_slides_step(axes, k)
    return fig


def slides_animation(interval=500):
    """The slides' 7x7 example: the 3x3 feature detector slides over the image, step by step.

    Every frame is `draw_slides_step`: `correlate` of `data.SLIDE_DETECTOR` with
    `data.SLIDE_IMAGE` (the slides compute a correlation), the output filled in one value per
    frame. Returns a `FuncAnimation` with one frame per output pixel; in a notebook show it with
    ``HTML(anim.to_jshtml())``.
    """
    fig = slides_figure(0)
    axes = fig.axes[:3]
    S = tc.output_size(data.SLIDE_IMAGE.shape, data.SLIDE_DETECTOR.shape)
    fig.draw_without_rendering()        # lay out once; the frames only change values
    fig.set_layout_engine("none")
    return FuncAnimation(fig, lambda k: draw_slides_step(axes, k) and [], frames=S[0] * S[1],
                         interval=interval, blit=False)
