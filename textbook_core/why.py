"""Why use convolution: impulses, convolution, correlation and the weight-sharing matrix.

Section "Why Use Convolution?" of Chapter 8 as code (8.1-8.13, P8.1, P8.2). The chapter's
convolution (8.5-8.8) flips the kernel; its correlation (8.9, 8.13) does not, and is what the
rest of the chapter, and this package, calls convolution in a network layer.
"""
import numpy as np

from .details import as_array, integer, one, pair, real_array
from .hierarchy import correlate_fms, vec


def impulse(shape, at=(0, 0)):
    """8.1: the one-point image, 1 at index `at` and 0 elsewhere.

    Shapes: ``shape`` -> ``shape`` (float64).

    >>> impulse((2, 3), (1, 2))
    array([[0., 0., 0.],
           [0., 0., 1.]])
    >>> impulse((2, 2), (2, 0))
    Traceback (most recent call last):
    ...
    ValueError: impulse position at=(2, 0) lies outside an image of shape (2, 2)
    """
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    at = (at,) if np.ndim(at) == 0 else tuple(at)
    dims, position = tuple(integer(n) for n in shape), tuple(integer(a) for a in at)
    if not dims or any(n is None or n < 1 for n in dims):
        raise ValueError(f"impulse shape={shape} must be positive integers")
    if len(position) != len(dims) or any(a is None or not 0 <= a < n for a, n in zip(position, dims)):
        raise ValueError(f"impulse position at={at} lies outside an image of shape {shape}")
    delta = np.zeros(dims)
    delta[position] = 1.0
    return delta


def impulse_response(transform, shape, at):
    """8.2, P8.2: w = W(delta), the response of a transform to the impulse at `at`.

    Shapes: ``shape`` -> whatever `transform` returns, as an array.

    For a linear, position-invariant transform the response is its kernel: read it with its
    origin (the book's w_{0,0}) at index `at`. By 8.5, convolving any image with that kernel
    applies the transform.

    Examples
    --------
    P8.2's transform shifts an image one pixel right and one pixel up:

    >>> shift = lambda image: np.roll(image, (-1, 1), axis=(0, 1))
    >>> impulse_response(shift, (3, 3), (1, 1))
    array([[0., 0., 1.],
           [0., 0., 0.],
           [0., 0., 0.]])

    Around the origin at (1, 1), rows -1..0 and columns 0..1, this is P8.2's ``[[0, 1], [0, 0]]``.
    """
    if not callable(transform):
        raise ValueError(f"transform must be a function of an image, got {transform!r}")
    return real_array(transform(impulse(shape, at)), "the transform's response")


def rot180(W):
    """P8.1, 8.45: the kernel flipped vertically and horizontally (the last two axes).

    Shapes: ``(..., r, c)`` -> ``(..., r, c)``; a 1-D filter ``(k,)`` is reversed.

    >>> rot180(np.array([[1, 2], [3, 4]]))
    array([[4, 3],
           [2, 1]])
    """
    W = real_array(W, "W")
    if W.ndim == 0:
        raise ValueError(f"W must be a filter (k,) or kernels (..., r, c), got the scalar {W!r}")
    return W[..., ::-1] if W.ndim == 1 else W[..., ::-1, ::-1]


def _kernel(W):
    """W as one filter (k,) or one kernel (r, c), with at least one tap."""
    W = as_array(W, "W")
    if W.ndim not in (1, 2):
        raise ValueError(f"W must be a filter (k,) or a kernel (r, c), got shape {W.shape}")
    if W.size == 0:
        raise ValueError("the filter W has k=0 taps: it needs at least one" if W.ndim == 1 else
                         f"the kernel W has r={W.shape[0]}, c={W.shape[1]}: it needs at least one row and one column")
    return W


def _single_kernel(W, P):
    W = _kernel(W)
    P = as_array(P, "P")
    if P.ndim < W.ndim:
        raise ValueError(f"P with shape {P.shape} has fewer axes than the kernel W with shape {W.shape}")
    return W, P


def correlate(W, P, *, padding=0, stride=1):
    """8.10: Z = W (x) P, cross-correlation of image P with kernel W (no flip).

    Shapes: ``W (r, c)``, ``P (..., R_r, R_c)`` -> ``(..., S_r, S_c)``; 1-D: ``W (k,)``,
    ``P (..., M)`` -> ``(..., M')``. Leading axes of `P` are a batch.

    Parameters
    ----------
    W : array
        The kernel (filter).
    P : array
        The image (vector), with optional batch axes.
    padding : int or pair
        P^d zeros around P (8.16-8.17).
    stride : int or pair
        S^t (8.18-8.19).

    Notes
    -----
    8.13 in 0-based indices, with padding and stride::

        z[m, n] = sum_{i<r} sum_{j<c} w[i, j] * Ppad[m*S^t + i, n*S^t + j]

    Output size (8.18): S = floor((R + 2 P^d - r) / S^t) + 1 per axis. With P^d = 0 this is the
    "VALID" correlation of the lecture notes; P^d = (r - 1)/2 with S^t = 1 is "SAME".

    Examples
    --------
    Figure 8.2's layout, a 3x3 image and a 2x2 kernel:

    >>> P = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    >>> correlate(np.array([[1, 0], [0, -1]]), P)
    array([[-4., -4.],
           [-4., -4.]])
    >>> correlate(np.ones((2, 2)), P, padding=1, stride=2)
    array([[ 1.,  5.],
           [11., 28.]])
    >>> correlate(np.ones((4, 4)), P)
    Traceback (most recent call last):
    ...
    ValueError: kernel r=4 does not fit input R_r=3 with padding P^d=0
    """
    W, P = _single_kernel(W, P)
    fm_axis = -1 - W.ndim  # P as a stack of one FM, W as a 1x1 stack of kernels
    Z = correlate_fms(W[None, None], np.expand_dims(P, fm_axis), padding=padding, stride=stride)
    return np.squeeze(Z, fm_axis)


def convolve(W, P, *, padding=0, stride=1, mode="valid"):
    """8.7: Z = W * P, convolution (the kernel flipped, P8.1).

    Shapes: ``W (r, c)``, ``P (..., R_r, R_c)`` -> ``(..., S_r, S_c)``; 1-D as in `correlate`.

    Parameters
    ----------
    W, P : array
        Kernel and image; convolution is commutative (8.5-8.6), but the kernel is the one that
        must fit.
    padding, stride : int or pair
        P^d and S^t, as in `correlate`.
    mode : {"valid", "full", "same"}
        "valid": only where the flipped kernel fits, size R - r + 1.
        "full": every overlap (extra padding r - 1), size R + r - 1, as in the lecture notes'
        1-D example. "same" (odd kernels): padding (r - 1)/2, size R.

    Notes
    -----
    The Summary of Results' convolution, 0-based::

        z[m, n] = sum_{i<r} sum_{j<c} w[i, j] * p[m - i + r - 1, n - j + c - 1]

    which is ``correlate(rot180(W), P)`` (P8.1).

    Examples
    --------
    The lecture notes' filter (2, -1, 1, 1) and vector (1, 1, 2, 1), full size 4 + 4 - 1 = 7:

    >>> convolve([2, -1, 1, 1], [1, 1, 2, 1], mode="full")
    array([2., 1., 4., 2., 2., 3., 1.])
    >>> convolve(np.array([[1, 2], [3, 4]]), np.eye(3))
    array([[5., 2.],
           [3., 5.]])
    >>> convolve(np.ones((2, 2)), np.eye(3), mode="same")
    Traceback (most recent call last):
    ...
    ValueError: mode='same' needs an odd kernel, got r=2, c=2
    """
    if not isinstance(mode, str) or mode not in ("valid", "full", "same"):
        raise ValueError(f"mode must be 'valid', 'full' or 'same', got {mode!r}")
    W, P = _single_kernel(W, P)
    if mode != "valid":
        k = W.shape if W.ndim == 2 else (1, W.shape[0])
        if mode == "same" and (k[0] % 2 == 0 or k[1] % 2 == 0):
            names = f"r={k[0]}, c={k[1]}" if W.ndim == 2 else f"k={k[1]}"
            raise ValueError(f"mode='same' needs an odd kernel, got {names}")
        extra = (k[0] - 1, k[1] - 1) if mode == "full" else ((k[0] - 1) // 2, (k[1] - 1) // 2)
        if W.ndim == 1:
            padding = one(padding, "P^d", 0) + extra[1]
        else:
            pr, pc = pair(padding, "P^d", 0)
            padding = (pr + extra[0], pc + extra[1])
    return correlate(rot180(W), P, padding=padding, stride=stride)


def conv_matrix(W, input_shape, *, padding=0, stride=1):
    """8.11-8.12: the weight-sharing matrix M with M @ vec(P) == vec(correlate(W, P)).

    Shapes: ``W (r, c)``, ``input_shape = (R_r, R_c)`` -> ``(S_r*S_c, R_r*R_c)``; 1-D: ``W (k,)``,
    ``input_shape = (M,)`` (or ``M``) -> ``(M', M)``. M has W's dtype (float32 stays float32).

    Column k of M is the response to the impulse at the k-th pixel in column-major order
    (8.1-8.5: a linear transform is known by its impulse responses), so M is built by the very
    correlation it stands for, and works for sympy kernels too.

    Examples
    --------
    8.12, a 2x2 kernel on a 3x3 image (entries are positions in W, 1-based as in the book):

    >>> W = np.array([[11, 12], [21, 22]])
    >>> conv_matrix(W, (3, 3)).astype(int)
    array([[11, 21,  0, 12, 22,  0,  0,  0,  0],
           [ 0, 11, 21,  0, 12, 22,  0,  0,  0],
           [ 0,  0,  0, 11, 21,  0, 12, 22,  0],
           [ 0,  0,  0,  0, 11, 21,  0, 12, 22]])
    >>> conv_matrix(np.array([1, 2]), 3).astype(int)      # the notes' filter on a vector of 3
    array([[1, 2, 0],
           [0, 1, 2]])
    """
    W = _kernel(W)
    shape = (input_shape,) if np.ndim(input_shape) == 0 else tuple(input_shape)
    if W.ndim == 1:
        M = integer(shape[0]) if len(shape) == 1 else None
        if M is None or M < 1:
            raise ValueError(f"input_shape of a 1-D filter must be (M,) with an integer M >= 1, got {input_shape!r}")
        basis = np.eye(M, dtype=W.dtype)                                  # impulses
        return correlate(W, basis, padding=padding, stride=stride).T      # (M', M)
    if len(shape) != 2:
        raise ValueError(f"input_shape of a kernel must be (R_r, R_c), got {input_shape!r}")
    R_r, R_c = pair(shape, "R", 1)
    n = R_r * R_c
    basis = np.zeros((n, R_r, R_c), dtype=W.dtype)
    basis[np.arange(n), np.arange(n) % R_r, np.arange(n) // R_r] = 1  # impulses, column-major
    responses = correlate(W, basis, padding=padding, stride=stride)  # (n, S_r, S_c)
    return vec(responses[:, None]).T
