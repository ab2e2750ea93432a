"""Figures of section "Why use convolution?" (8.1-8.12): impulse responses and weight sharing."""
import numpy as np

import textbook_core as tc
from textbook_core import data

from .grids import _categorical, _symbols, _tex, draw_grid, fit_cell_texts, new_figure


def impulse_response_figure(transform=None, image=None, *, size=3):
    """8.1-8.5, P8.2: a transform's impulse response is the kernel that performs it.

    Panels: the impulse delta (8.1), its response w = W(delta) (8.2) read as a size x size
    kernel with the origin at the centre (top row); an image P, the transform W(P), and the
    convolution w * P (8.5, same size) below. For a linear position-invariant transform the last
    two agree.

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
    fig = new_figure(10, 7.4)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.6])
    kernels, images = top.subplots(1, 2), bottom.subplots(1, 3)
    draw_grid(kernels[0], delta, fontsize=10, title=r"impulse $\delta$ (8.1)", label="impulse")
    draw_grid(kernels[1], w, fontsize=10, title=r"$w = \mathcal{W}(\delta)$ (8.2)", label="response")
    draw_grid(images[0], image, fontsize=9, title=r"image $P$", label="image")
    draw_grid(images[1], moved, fontsize=9, title=r"$\mathcal{W}(P)$", label="transformed")
    draw_grid(images[2], convolved, fontsize=9, title=r"$w * P$ (8.5)", label="convolved")
    return fit_cell_texts(fig)


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
