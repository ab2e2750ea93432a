"""Figures of section "Hierarchical template matching" (Figures 8.8-8.11): pooling, a layer, a network."""
import numpy as np

import textbook_core as tc
from textbook_core import data

from .grids import BINARY, SIGNED, _arrow, _blank, colorbar, draw_grid, fmt, new_figure


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
    """Draw a stack of FMs (H, rows, cols) as a column of small grids inside `spec`.

    -> (axes, images); one colour scale for the whole stack (`vmax`).
    """
    axes = spec.subgridspec(len(maps), 1).subplots() if len(maps) > 1 else [fig.add_subplot(spec)]
    axes = np.atleast_1d(axes)
    images = [draw_grid(ax, A, text="values" if values else None, cmap=cmap,
                        vmin=None if vmax is None else (-vmax if cmap == SIGNED else 0),
                        vmax=vmax, fontsize=8, label=f"{label}[{h}]")
              for h, (ax, A) in enumerate(zip(axes, maps))]
    axes[0].set_title(title, fontsize=10)
    return axes, images


def figure_8_9(image=None, LW=None, b=-3.0, size=3):
    """Figure 8.9: a convolution layer (tied bias, ReLU) followed by max pooling, with real FMs.

    Defaults: Figure 8.4's square through Figure 8.5's kernels (H^0 = 1, H^1 = 4) with bias
    b^1 = -3 for every kernel, f^1 = poslin (ReLU) and 3x3 max pooling, so A^2 keeps only the
    strong line matches. P on the left, then one row per kernel h: LW^{1,0}[h], N^1 = LW (x) P +
    b^1, A^1 = f^1(N^1) and A^2; sizes in the titles follow 8.18. N^1, A^1 and A^2 share one
    colour scale, given by the colorbar (A^2's values are also written in).
    """
    image = data.FIGURE_8_4_SQUARE if image is None else np.asarray(image, dtype=float)
    LW = data.LINE_KERNELS[:, None] if LW is None else np.asarray(LW, dtype=float)
    P = image[None]
    N1 = tc.correlate_fms(LW, P) + b
    A1 = np.maximum(N1, 0)
    A2 = tc.max_pool(A1, size)
    H1, H0, r, c = LW.shape
    fig = new_figure(10, 1.9 * H1 + 1.6)
    grid = fig.add_gridspec(H1, 5, width_ratios=[2.2, 1.2, 1.9, 1.9, 1.4])
    vmax = float(np.abs(N1).max()) or 1.0
    ax_p = fig.add_subplot(grid[:, 0])
    draw_grid(ax_p, image, text=None, label="P[0]", title=rf"$P$: {H0}×{image.shape[0]}×{image.shape[1]}")
    columns = {"LW": (LW[:, 0], rf"$LW^{{1,0}}$: {H1}×{H0}×{r}×{c}", dict(values=True)),
               "N1": (N1, rf"$N^1 = LW \otimes P + b^1$" + f"\n$b^1={fmt(b)}$, {H1}×{N1.shape[1]}×{N1.shape[2]}",
                      dict(cmap=SIGNED, vmax=vmax)),
               "A1": (A1, rf"$A^1 = f^1(N^1)$, poslin" + f"\n{H1}×{A1.shape[1]}×{A1.shape[2]}",
                      dict(cmap=SIGNED, vmax=vmax)),
               "A2": (A2, rf"$A^2 = \boxplus^{{max}}_{{{size},{size}}} A^1$" + f"\n{H1}×{A2.shape[1]}×{A2.shape[2]}",
                      dict(cmap=SIGNED, vmax=vmax, values=True))}
    axes = {}
    for k, (name, (maps, title, style)) in enumerate(columns.items(), start=1):
        axes[name] = [fig.add_subplot(grid[h, k]) for h in range(H1)]
        vmax_k = style.get("vmax")
        for h, ax in enumerate(axes[name]):
            shown = draw_grid(ax, maps[h], text="values" if style.get("values") else None,
                              cmap=style.get("cmap"), vmin=None if vmax_k is None else -vmax_k, vmax=vmax_k,
                              fontsize=9, label=f"{name}[{h}]")
        axes[name][0].set_title(title, fontsize=10)
    colorbar(fig, shown, [*axes["N1"], *axes["A1"], *axes["A2"]], location="bottom", shrink=0.5,
             aspect=40, label=r"$N^1$, $A^1$, $A^2$")
    for h in range(H1):
        _arrow(fig, ax_p, axes["LW"][h], color="0.6")
        for left, right in [("LW", "N1"), ("N1", "A1"), ("A1", "A2")]:
            _arrow(fig, axes[left][h], axes[right][h])
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
    from .. import network as nw

    image = data.FIGURE_8_4_DIAMOND if image is None else np.asarray(image, dtype=float)
    X = image.reshape((1,) + tuple(net.input_shape))
    A = nw.forward(net, X)["A"]
    M = len(A) - 1
    fig = new_figure(min(12, 2.0 * (M + 2)), 8)
    specs = fig.add_gridspec(1, M + 2, width_ratios=[1.2] * M + [0.35, 0.9])
    columns = []
    for m in range(M):
        maps = A[m][0]
        kind = "input" if m == 0 else ("conv" if m % 2 else "pool")
        title = rf"$A^{{{m}}}$ ({kind})" + f"\n{maps.shape[0]}×{maps.shape[1]}×{maps.shape[2]}"
        axes, images = _stack(fig, specs[m], maps, title, f"A{m}", cmap=BINARY if m == 0 else "viridis",
                              vmax=None if m == 0 else float(maps.max()) or 1.0)
        if m:                        # one colour scale per layer, under its column
            colorbar(fig, images[0], list(axes), location="bottom", shrink=0.9, aspect=12, pad=0.02)
        columns.append(axes)
    p = tc.vec(A[M - 1][0])
    ax_p = fig.add_subplot(specs[M])
    shown = draw_grid(ax_p, p[:, None], text=None, cmap="viridis", label="p", vmin=0,
                      vmax=float(p.max()) or 1.0, title=rf"$p = vec(A^{{{M - 1}}})$" + f"\n{p.size}")
    ax_p.set_aspect("auto")
    colorbar(fig, shown, ax_p, location="bottom", shrink=0.9, aspect=5, pad=0.02)
    ax_a = fig.add_subplot(specs[M + 1])
    bars = ax_a.bar(range(len(A[M][0])), A[M][0], color="tab:orange")
    ax_a.bar_label(bars, [f"{a:.3f}" for a in A[M][0]])
    ax_a.set_xticks(range(len(A[M][0])), class_names[:len(A[M][0])])
    ax_a.set_ylim(0, 1.12)
    ax_a.set_title(rf"$a^{{{M}}}$ = softmax", fontsize=10)
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
    from ..network import train_squares_vs_diamonds

    return train_squares_vs_diamonds(seed, groups=[dict(g) for g in FIGURE_8_11_GROUPS])


def kernels_figure(net):
    """The kernels LW^{m,m-1} of every convolution layer of a `network.Network`, as learned.

    One row per input FM l, one column per kernel h; each layer's kernels share one colour scale,
    symmetric about 0, given by the layer's colorbar.
    """
    n_rows = [layer.LW.shape[1] for layer in net.layers]
    n_cols = max(layer.LW.shape[0] for layer in net.layers)
    fig = new_figure(1.45 * n_cols + 1.6, 1.5 * sum(n_rows) + 0.4 * len(n_rows))
    parts = np.atleast_1d(fig.subfigures(len(n_rows), 1, height_ratios=n_rows))
    for k, (layer, part) in enumerate(zip(net.layers, parts)):
        m = 2 * k + 1
        vmax = float(np.abs(layer.LW).max()) or 1.0
        axes = part.subplots(layer.LW.shape[1], n_cols, squeeze=False)
        for (l, h), ax in np.ndenumerate(axes):
            if h < layer.LW.shape[0]:
                shown = draw_grid(ax, layer.LW[h, l], text=None, label=f"LW{m}[{h},{l}]", cmap=SIGNED,
                                  vmin=-vmax, vmax=vmax, title_size=10,
                                  title=rf"$W^{{{m},{m - 1},{h + 1},{l + 1}}}$")
            else:
                _blank(ax)
        part.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.9, aspect=12 * layer.LW.shape[1]
                      ).set_label(rf"$LW^{{{m},{m - 1}}}$", fontsize=10)
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
