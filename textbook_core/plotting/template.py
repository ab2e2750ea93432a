"""Figures of section "Template matching" (Figures 8.4-8.7) and the slides' image kernels on a photograph."""
import numpy as np
from matplotlib import cbook
from matplotlib.image import imread

import textbook_core as tc
from textbook_core import data

from .grids import SIGNED, colorbar, draw_grid, fmt, new_figure, panel_axes


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
    scale, so the strongest matches stand out. The panels are laid out three to a row, so a
    13x13 map's numbers stay readable at notebook width; without the numbers (``values=False``)
    a colorbar gives the scale.
    """
    kernels = data.FIGURE_8_5_KERNELS if kernels is None else kernels
    maps = {name: tc.correlate(K, image, padding=padding) for name, K in kernels.items()}
    vmax = max(float(np.abs(Z).max()) for Z in maps.values()) or 1.0
    cols = min(3, len(maps) + 1)
    rows = -(-(len(maps) + 1) // cols)
    fig = new_figure(10 if cols == 3 else 3.4 * cols, 3.5 * rows)
    axes = panel_axes(fig, len(maps) + 1, cols)
    draw_grid(axes[0], image, text=None, title="image", label="image")
    for ax, (name, Z) in zip(axes[1:], maps.items()):
        shown = draw_grid(ax, Z, text="values" if values else None, cmap=SIGNED, vmin=-vmax, vmax=vmax,
                          fontsize=7.5, label=name, title=f"{name}: max {fmt(Z.max())}")
    if not values:
        colorbar(fig, shown, axes[1:], label="correlation", shrink=0.8)
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
    GIMP divides by s; a zero-sum kernel (edges, Sobel) on a range symmetric about 0. Each panel's
    colorbar gives its range.
    """
    photo = sample_photograph() if photo is None else np.asarray(photo, dtype=float)
    kernels = data.IMAGE_KERNELS if kernels is None else kernels
    n = len(kernels) + 1
    cols = 4
    rows = -(-n // cols)
    fig = new_figure(12, 4.1 * rows)
    axes = panel_axes(fig, n, cols)
    shown = axes[0].imshow(photo, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("photograph")
    axes[0].set_label("photograph")
    colorbar(fig, shown, axes[0], location="bottom", shrink=0.8, aspect=25, pad=0.02)
    for ax, (name, K) in zip(axes[1:], kernels.items()):
        Z = tc.correlate(K, photo, padding=(K.shape[0] - 1) // 2)
        total = float(np.sum(K))
        if total > 0:      # a weighted average (up to scale): the photo's own range, times the sum
            lo, hi = 0.0, total
        else:              # a difference: 0 is mid-grey, strong responses saturate
            hi = float(np.percentile(np.abs(Z), 99)) or 1.0
            lo = -hi
        shown = ax.imshow(Z, cmap="gray", vmin=lo, vmax=hi)
        ax.set_title(f"{name.replace('_', ' ')} (sum {fmt(total)})")
        ax.set_label(name)
        colorbar(fig, shown, ax, location="bottom", shrink=0.8, aspect=25, pad=0.02)
        inset = ax.inset_axes([0.0, 0.0, 0.085 * K.shape[1], 0.085 * K.shape[0] * Z.shape[1] / Z.shape[0]])
        draw_grid(inset, K, fontsize=8, cmap=SIGNED, label=f"{name} kernel")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
