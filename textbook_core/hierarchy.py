"""Hierarchical template matching: multiple feature maps, pooling and vec (8.20-8.26).

Section "Hierarchical Template Matching" of Chapter 8 as code. A stack of FMs is
``(H, rows, cols)``; any axes in front are a batch. Kernels from layer n into layer m are
``LW (H^m, H^n, r, c)``, with ``LW[h, l]`` the kernel W^{m,n,h,l}.

The 1-D multi-channel form of the lecture notes, y_{i,t} = sum_j sum_tau w_{i,j,tau} x_{j,t+tau},
is the same operation on FMs with one row: ``LW (H^m, H^n, k)`` and ``A (..., H^n, T)``.
"""
import numpy as np

from .details import as_array, batch_items, common_dtype, for_chunks, im2col, output_size, pair, windows


def conv_args(LW, X, padding, stride, x_name="A"):
    """Validate a kernel stack and its partner array; bring the 1-D form to 2-D.

    Returns ``(LW4, X, padding, stride, one_d)`` where ``LW4`` is ``(H^m, H^n, r, c)`` and `X` has
    a row axis of length 1 inserted when the kernels are 1-D.
    """
    LW, X = as_array(LW, "LW"), as_array(X, x_name)
    if LW.ndim not in (3, 4):
        raise ValueError(f"LW must have shape (H^m, H^n, r, c), or (H^m, H^n, k) for 1-D, got shape {LW.shape}")
    one_d = LW.ndim == 3
    if one_d:
        padding, stride = (0, pair(padding, "P^d", 0)[1]), (1, pair(stride, "S^t", 1)[1])
        LW, X = LW[:, :, None, :], X[..., None, :]
    else:
        padding, stride = pair(padding, "P^d", 0), pair(stride, "S^t", 1)
    if X.ndim < 3:
        raise ValueError(f"{x_name} must be a stack of FMs (..., H, rows, cols), got shape {X.shape}")
    dtype = common_dtype(LW, X)
    return LW.astype(dtype, copy=False), X.astype(dtype, copy=False), padding, stride, one_d


def correlate_fms(LW, A, *, padding=0, stride=1):
    """8.21: Z^{m,n,h} = sum_l W^{m,n,h,l} (x) A^{n,l}, every output FM at once.

    Shapes: ``LW (H^m, H^n, r, c)``, ``A (..., H^n, R_r, R_c)`` -> ``(..., H^m, S_r, S_c)``;
    1-D: ``LW (H^m, H^n, k)``, ``A (..., H^n, T)`` -> ``(..., H^m, T')``.

    Parameters
    ----------
    LW : array
        Kernels; ``LW[h, l]`` connects input FM l to output FM h.
    A : array
        Input FMs, with optional leading batch axes.
    padding, stride : int or pair
        P^d and S^t, as in `output_size`.

    Notes
    -----
    8.20, 0-based, with padding and stride::

        z[h, i, j] = sum_l sum_u sum_v LW[h, l, u, v] * Apad[l, i*S^t + u, j*S^t + v]

    S_r, S_c follow 8.18-8.19 (floored). The 1-D form is the lecture notes'
    y_{i,t} = sum_j sum_tau w_{i,j,tau} x_{j,t+tau} with tau counted from 0.

    Examples
    --------
    >>> A = np.arange(18).reshape(2, 3, 3)          # H^n = 2 FMs
    >>> LW = np.ones((1, 2, 2, 2))                  # H^m = 1, all-ones 2x2 kernels
    >>> correlate_fms(LW, A)
    array([[[52., 60.],
            [76., 84.]]])
    >>> correlate_fms(np.ones((1, 3, 2, 2)), A)
    Traceback (most recent call last):
    ...
    ValueError: A has H^n=2 FMs but LW expects H^n=3
    """
    LW, A, padding, stride, one_d = conv_args(LW, A, padding, stride)
    H_m, H_n, r, c = LW.shape
    if A.shape[-3] != H_n:
        raise ValueError(f"A has H^n={A.shape[-3]} FMs but LW expects H^n={H_n}")
    S = output_size(A.shape[-2:], (r, c), padding=padding, stride=stride)
    W, items = LW.reshape(H_m, -1), batch_items(A, A.shape[:-3])
    Z = np.empty((len(items), H_m, S[0] * S[1]), dtype=A.dtype)

    def work(k):
        Z[k] = W @ im2col(items[k], (r, c), padding, stride)

    for_chunks(work, len(items), W.shape[1] * S[0] * S[1] * A.itemsize, A.dtype)
    Z = Z.reshape(A.shape[:-3] + (H_m,) + S)
    return Z[..., 0, :] if one_d else Z


def pool_args(V, size, stride):
    """Validate a pooling window (8.22-8.25); stride defaults to the window size."""
    V = as_array(V, "V")
    if V.ndim < 2:
        raise ValueError(f"V must have rows and cols (..., R_r, R_c), got shape {V.shape}")
    size = pair(size, "r", 1)
    stride = size if stride is None else pair(stride, "S^t", 1)
    S = output_size(V.shape[-2:], size, stride=stride)
    return V, size, stride, S


def avg_pool(V, size, *, w=None, stride=None):
    """8.22-8.23: Z = w [+]^{ave}_{r,c} V, each window's sum times the weight w.

    Shapes: ``V (..., R_r, R_c)`` -> ``(..., S_r, S_c)``, every leading axis pooled separately.

    Parameters
    ----------
    V : array
        Input FMs.
    size : int or pair
        Window r x c.
    w : scalar, optional
        The pooling weight; None means 1/(r c), a true average.
    stride : int or pair, optional
        S^t; defaults to the window, so the windows do not overlap.

    Notes
    -----
    8.22, 0-based, with stride S^t::

        z[i, j] = w * sum_k sum_l v[i*S^t + k, j*S^t + l]

    With the default stride this is the book's v_{r(i-1)+k, c(j-1)+l}. Sizes follow 8.18 with no
    padding; rows the stride cannot reach are ignored.

    Examples
    --------
    >>> avg_pool(np.arange(16).reshape(4, 4), 2)
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    >>> avg_pool(np.arange(16).reshape(4, 4), 2, w=1)
    array([[10., 18.],
           [42., 50.]])
    >>> avg_pool(np.ones((3, 3)), 4)
    Traceback (most recent call last):
    ...
    ValueError: kernel r=4 does not fit input R_r=3 with padding P^d=0
    """
    V, size, stride, _ = pool_args(V, size, stride)
    total = windows(V, size, stride).sum(axis=(-4, -3))
    return total / (size[0] * size[1]) if w is None else total * w


def max_pool(V, size, *, stride=None):
    """8.24-8.25: Z = [+]^{max}_{r,c} V, the largest value of each window.

    Shapes: ``V (..., R_r, R_c)`` -> ``(..., S_r, S_c)``.

    Notes
    -----
    8.24, 0-based, with stride S^t (default: the window size)::

        z[i, j] = max { v[i*S^t + k, j*S^t + l] | k < r, l < c }

    Examples
    --------
    >>> max_pool(np.arange(16).reshape(4, 4), 2)
    array([[ 5.,  7.],
           [13., 15.]])
    >>> max_pool(np.arange(16).reshape(4, 4), 3, stride=1)
    array([[10., 11.],
           [14., 15.]])
    """
    V, size, stride, _ = pool_args(V, size, stride)
    view = windows(V, size, stride)
    Z = view[..., 0, 0, :, :].copy()
    for u in range(size[0]):
        for v in range(size[1]):
            np.maximum(Z, view[..., u, v, :, :], out=Z)
    return Z


def vec(A):
    """8.26: stack the columns of each FM, FM after FM (column-major).

    Shapes: ``(R_r, R_c)`` -> ``(R_r*R_c,)``; ``(..., H, R_r, R_c)`` -> ``(..., H*R_c*R_r)``
    (leading axes beyond H are a batch). A 1-D array is returned as it is.

    >>> vec(np.array([[1, 2], [3, 4]]))
    array([1, 3, 2, 4])
    >>> vec(np.arange(8).reshape(2, 2, 2))
    array([0, 2, 1, 3, 4, 6, 5, 7])
    """
    A = np.asarray(A)
    if A.ndim <= 1:
        return A
    if A.ndim == 2:
        return A.T.reshape(-1)
    return A.swapaxes(-1, -2).reshape(A.shape[:-3] + (-1,))


def unvec(x, shape):
    """Inverse of `vec`: a column-major vector back to FMs of `shape` ``(R_r, R_c)`` or ``(H, R_r, R_c)``.

    Shapes: ``(..., prod(shape))`` -> ``(..., *shape)``.

    >>> unvec(np.array([1, 3, 2, 4]), (2, 2))
    array([[1, 2],
           [3, 4]])
    >>> unvec(np.arange(5), (2, 2))
    Traceback (most recent call last):
    ...
    ValueError: vec(A) has 5 elements but shape (2, 2) holds 4
    """
    x, shape = np.asarray(x), tuple(shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"shape must be (R_r, R_c) or (H, R_r, R_c), got {shape}")
    n = int(np.prod(shape))
    if x.shape[-1:] != (n,):
        raise ValueError(f"vec(A) has {x.shape[-1] if x.ndim else 0} elements but shape {shape} holds {n}")
    flipped = shape[:-2] + (shape[-1], shape[-2])
    return x.reshape(x.shape[:-1] + flipped).swapaxes(-1, -2)
