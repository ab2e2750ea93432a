"""Gradient calculation: every backpropagation path of Figure 8.12 (8.27-8.53, P8.3, P8.4, E8.8, E8.9).

Section "Gradient Calculation" of Chapter 8 as code. Names follow the book: dN = dF/dN,
dLZ = dF/dLZ, dA = dF/dA, dLW = dF/dLW, db = dF/db (8.28). Across a layer the sensitivities go
dN^m -> dLZ^{m,n} -> dA^n -> dN^n (8.29); the gradient takes dN^m -> db^m (8.30) and
dLZ^{m,n} -> dLW^{m,n} (8.31).

The chapter derives stride 1 and no padding; every path here also takes the padding and stride
of its forward operation. Parameter gradients (dLW, db, dlw) sum over batch axes, since the
parameters are shared by the whole batch.
"""
import threading

import numpy as np

from .blas import full_correlation, phase_windows
from .chunks import batch_items, for_chunks, kept_scratch
from .details import (as_array, batch_shape, common_dtype, integer, like, one, output_size, pair, real_array,
                      windows, windows_adjoint)
from .hierarchy import conv_args, max_pool, pool_args, pool_weight


def _per_fm(X):
    """Sum over rows, cols and batch axes: one value per FM ``(H,)``, or a scalar for one FM."""
    X = np.asarray(X.sum(axis=(-2, -1)))    # a sympy sum comes back bare: wrap it again
    if X.ndim == 0:
        return X[()]
    return X if X.ndim == 1 else X.reshape(-1, X.shape[-1]).sum(axis=0)


def summation_dlz(dN):
    """8.35: dLZ^{m,n} = dN^m, across the summation net input N = LZ + b.

    Shapes: ``(..., H, S_r, S_c)`` -> the same.

    >>> summation_dlz([[1, -2], [3, 0]])
    array([[ 1., -2.],
           [ 3.,  0.]])
    """
    return as_array(dN, "dN").copy()


def summation_db(dN):
    """8.36-8.37: db^m = sum_i sum_j dn^m_{i,j}, the tied bias's gradient (one value per FM).

    Shapes: ``(S_r, S_c)`` -> scalar; ``(..., H, S_r, S_c)`` -> ``(H,)`` (batch axes summed).

    >>> summation_db([[1, -2], [3, 0]])
    np.float64(2.0)
    >>> summation_db(np.ones((5, 3, 2, 2)))   # 5 samples, 3 FMs
    array([20., 20., 20.])
    """
    dN = as_array(dN, "dN")
    if dN.ndim < 2:
        raise ValueError(f"dN must have rows and cols (..., S_r, S_c), got shape {dN.shape}")
    return _per_fm(dN)


def conv_da(dLZ, LW, input_shape, *, padding=0, stride=1):
    """8.45: dA^{n,l} = sum_h (rot180 LW^{m,n,h,l}) (x) dLZ^{m,n,h} (full), across the convolution.

    Shapes: ``dLZ (..., H^m, S_r, S_c)``, ``LW (H^m, H^n, r, c)`` -> ``(..., H^n, R_r, R_c)``;
    1-D: ``dLZ (..., H^m, T')``, ``LW (H^m, H^n, k)`` -> ``(..., H^n, T)`` (the notes'
    x_bar_j = sum_i y_bar_i * W_{i,j}).

    Parameters
    ----------
    dLZ : array
        dF/dLZ, the gradient at the output of the weight function.
    LW : array
        The kernels of the forward pass.
    input_shape : tuple
        Shape of the forward input A: ``(..., H^n, R_r, R_c)``, or ``(R_r, R_c)`` alone (1-D:
        ``(..., H^n, T)``). Its H^n must be LW's and its batch axes must broadcast with dLZ's; the
        result has dLZ's batch axes.
    padding, stride : int or pair
        P^d and S^t of the forward pass.

    Notes
    -----
    8.39-8.41 with padding and stride, 0-based: each output pixel (i, j) of FM h sends
    ``dlz[h, i, j] * lw[h, l, u, v]`` back to input pixel ``(i*S^t + u - P^d, j*S^t + v - P^d)``;
    a pixel sums what it receives. With S^t = 1 and P^d = 0 that is 8.44, a full correlation of
    dLZ with the rotated kernels; with a stride it is one on each phase of the stride (the input
    pixels whose row and column are the same modulo S^t), computed by `blas.full_correlation`.

    Examples
    --------
    >>> dLZ = np.array([[[1, 2], [3, 4]]])            # H^m = 1, S = 2x2
    >>> LW = np.array([[[[1, 0], [0, -1]]]])          # H^m = H^n = 1, r = c = 2
    >>> conv_da(dLZ, LW, (3, 3))
    array([[[ 1.,  2.,  0.],
            [ 3.,  3., -2.],
            [ 0., -3., -4.]]])
    >>> conv_da(dLZ, LW, (4, 4))
    Traceback (most recent call last):
    ...
    ValueError: dLZ has S_r, S_c = (2, 2) but input (4, 4) with r, c = (2, 2), P^d=(0, 0), S^t=(1, 1) gives (3, 3)
    """
    LW, dLZ, padding, stride, one_d = conv_args(LW, dLZ, padding, stride, "dLZ")
    H_m, H_n, r, c = LW.shape
    if dLZ.shape[-3] != H_m:
        raise ValueError(f"dLZ has H^m={dLZ.shape[-3]} FMs but LW expects H^m={H_m}")
    R = _input_size(input_shape, H_n, dLZ.shape[:-3], one_d)
    S = output_size(R, (r, c), padding=padding, stride=stride)
    if dLZ.shape[-2:] != S:
        shown = (lambda t: t[1:]) if one_d else (lambda t: t)
        raise ValueError(f"dLZ has S_r, S_c = {shown(dLZ.shape[-2:])} but input {shown(R)} with r, c = "
                         f"{shown((r, c))}, P^d={shown(padding)}, S^t={shown(stride)} gives {shown(S)}")
    items = batch_items(dLZ, dLZ.shape[:-3])
    dA = np.empty((len(items), H_n) + R, dtype=dLZ.dtype)
    work, item_bytes, calls = full_correlation(LW, items, dA, padding, stride)
    for_chunks(work, len(items), item_bytes, dLZ.dtype, calls)
    dA = dA.reshape(dLZ.shape[:-3] + (H_n,) + R)
    return dA[..., 0, :] if one_d else dA


def _dims(input_shape):
    """The entries of a shape given as a tuple, list or 1-D array, as ints (None where one is not an
    integer); anything else (a number, a 0-d array, a string) gives ()."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) or np.ndim(input_shape) == 1 else ()
    return tuple(integer(v) for v in shape)


def _input_size(input_shape, H_n, batch, one_d):
    """(R_r, R_c) from conv_da's `input_shape`, checked against LW's H^n and dLZ's batch axes."""
    need = 1 if one_d else 2
    dims = _dims(input_shape)
    form = "(..., H^n, T)" if one_d else "(..., H^n, R_r, R_c)"
    if len(dims) < need or any(d is None or d < 0 for d in dims) or min(dims[-need:]) < 1:
        raise ValueError(f"input_shape must be the forward input's shape {form}, got {input_shape!r}")
    if len(dims) > need and dims[-need - 1] != H_n:
        raise ValueError(f"input_shape {dims} has H^n={dims[-need - 1]} FMs but LW has H^n={H_n}")
    batch_shape(("dLZ", tuple(batch)), ("input_shape", dims[:-need - 1]))   # they must broadcast
    return (1, dims[-1]) if one_d else dims[-2:]


def conv_dlw(dLZ, A, *, padding=0, stride=1, kernel_shape=None):
    """8.48: dLW^{m,n,h,l} = dLZ^{m,n,h} (x) A^{n,l}, the kernels' gradient.

    Shapes: ``dLZ (..., H^m, S_r, S_c)``, ``A (..., H^n, R_r, R_c)`` -> ``(H^m, H^n, r, c)``,
    batch axes summed; 1-D: ``(..., H^m, T')``, ``(..., H^n, T)`` -> ``(H^m, H^n, k)``.

    Parameters
    ----------
    dLZ : array
        dF/dLZ.
    A : array
        The forward input.
    padding, stride : int or pair
        P^d and S^t of the forward pass.
    kernel_shape : pair or int, optional
        (r, c), or k for 1-D. Needed when the stride left a remainder, since then several
        kernel sizes give the same S_r; by default r = R_r + 2 P^d - (S_r - 1) S^t. An integer k
        also marks the 1-D form, which is otherwise recognised only by two-axis inputs: pass it
        whenever 1-D signals carry a batch axis.

    Notes
    -----
    8.47 with padding and stride, 0-based::

        dlw[h, l, u, v] = sum_batch sum_i sum_j dlz[h, i, j] * Apad[l, i*S^t + u, j*S^t + v]

    For S^t = 1 this is the correlation of A with dLZ as the kernel (8.48).

    Examples
    --------
    >>> A = np.arange(9).reshape(1, 3, 3)
    >>> conv_dlw(np.array([[[1, 0], [0, 1]]]), A)       # dLZ picks windows (0, 0) and (1, 1)
    array([[[[ 4.,  6.],
             [10., 12.]]]])
    >>> conv_dlw(np.ones((1, 2, 2)), A, kernel_shape=(3, 3))
    Traceback (most recent call last):
    ...
    ValueError: kernel_shape (3, 3) gives S_r, S_c = (1, 1) but dLZ has (2, 2)
    """
    dLZ, A = as_array(dLZ, "dLZ"), as_array(A, "A")
    one_d = _conv_dlw_is_1d(dLZ, A, kernel_shape)
    if one_d:
        if dLZ.ndim < 2 or A.ndim < 2:
            raise ValueError(f"dLZ and A must be stacks of signals (..., H, T) for the 1-D form, got shapes "
                             f"{dLZ.shape} and {A.shape}")
        dLZ, A = dLZ[..., None, :], A[..., None, :]
        padding, stride = (0, one(padding, "P^d", 0)), (1, one(stride, "S^t", 1))
        if kernel_shape is not None:
            k = integer(kernel_shape)
            if k is None or k < 1:
                raise ValueError(f"kernel_shape k={kernel_shape!r} of the 1-D form must be an integer >= 1")
            kernel_shape = (1, k)
    else:
        padding, stride = pair(padding, "P^d", 0), pair(stride, "S^t", 1)
    if dLZ.ndim < 3 or A.ndim < 3:
        raise ValueError(f"dLZ and A must be stacks of FMs (..., H, rows, cols), got shapes {dLZ.shape} and {A.shape}")
    S, R = dLZ.shape[-2:], A.shape[-2:]
    if min(S + R) < 1:
        raise ValueError(f"dLZ with S_r, S_c = {S} and A with R_r, R_c = {R} must have at least one row and column")
    if kernel_shape is None:
        kernel_shape = tuple(R[k] + 2 * padding[k] - (S[k] - 1) * stride[k] for k in range(2))
        if min(kernel_shape) < 1:
            raise ValueError(f"dLZ with S_r, S_c = {S} is too large for A with R_r, R_c = {R}, "
                             f"P^d={padding}, S^t={stride}")
    kernel_shape = pair(kernel_shape, "(r, c)", 1, "kernel_shape")
    if output_size(R, kernel_shape, padding=padding, stride=stride) != S:
        raise ValueError(f"kernel_shape {kernel_shape} gives S_r, S_c = "
                         f"{output_size(R, kernel_shape, padding=padding, stride=stride)} but dLZ has {S}")
    dtype = common_dtype(dLZ, A)
    batch = batch_shape(("dLZ", dLZ.shape[:-3]), ("A", A.shape[:-3]))
    d = batch_items(dLZ.astype(dtype, copy=False), batch)
    a = batch_items(A.astype(dtype, copy=False), batch)
    H_m, H_n = d.shape[1], a.shape[1]
    K = H_n * kernel_shape[0] * kernel_shape[1]
    take, G_c = phase_windows(H_n, R, kernel_shape, padding, stride, dtype)
    rows = kept_scratch(("dLZ rows", H_m, S, G_c), dtype)

    def work(k):   # this chunk's share of the sum over the batch, as one matrix product
        n = len(d[k])
        if (threading.get_ident(), n) not in rows:   # dLZ laid out as the windows' columns, zeros past S_c
            rows[threading.get_ident(), n] = np.zeros((H_m, n, S[0], G_c), dtype)
        dlz = rows[threading.get_ident(), n]
        dlz[..., : S[1]] = d[k].transpose(1, 0, 2, 3)
        return dlz.reshape(H_m, -1) @ take(a[k]).T                 # (H^m, H^n*r*c)

    parts = for_chunks(work, len(d), K * S[0] * G_c * np.dtype(dtype).itemsize, dtype)
    dLW = sum(parts, np.zeros((H_m, K), dtype)).reshape((H_m, H_n) + kernel_shape)
    return dLW[:, :, 0, :] if one_d else dLW


def _conv_dlw_is_1d(dLZ, A, kernel_shape):
    """The 1-D form has no row axis: dLZ (..., H^m, T') with A (..., H^n, T) and 2-D FMs absent.

    A 2-D call always has at least three axes on both; a 1-D call is recognised by an integer
    kernel_shape or, without one, by two-axis inputs.
    """
    if kernel_shape is not None:
        return np.ndim(kernel_shape) == 0
    return dLZ.ndim <= 2 or A.ndim <= 2


def activation_dn(dA, fdot_N):
    """8.53: dN^{n,h} = F_dot^{n,h} o dA^{n,h}, the Hadamard product with f'(N).

    Shapes: ``dA`` and ``fdot_N`` the same shape -> that shape.

    >>> activation_dn([[1, 2], [3, 4]], [[0, 1], [1, 0]])     # ReLU's f' as 0/1
    array([[0., 2.],
           [3., 0.]])
    >>> N = np.array([-1.0, 2.0], np.float32)
    >>> activation_dn(np.ones(2, np.float32), N > 0)       # a 0/1 f'(N) keeps dA's float32
    array([0., 1.], dtype=float32)
    >>> activation_dn(np.ones((2, 2)), np.ones(3))
    Traceback (most recent call last):
    ...
    ValueError: dA has shape (2, 2) but F_dot(N) has shape (3,)
    """
    dA, fdot_N = as_array(dA, "dA"), real_array(fdot_N, "F_dot(N)")
    # a 0/1 or integer f'(N) (ReLU's, from a comparison) takes dA's dtype: float32 stays float32
    fdot_N = fdot_N.astype(dA.dtype) if fdot_N.dtype.kind in "biu" and dA.dtype.kind == "f" else as_array(fdot_N)
    if dA.shape != fdot_N.shape:
        raise ValueError(f"dA has shape {dA.shape} but F_dot(N) has shape {fdot_N.shape}")
    return fdot_N * dA


def avg_pool_da(dLZ, size, *, w=None, stride=None, input_shape=None):
    """P8.3: dA^{n,h} = lw^{m,n,h} [x]^{ave}_{r,c} dLZ^{m,n,h}, each gradient spread over its window.

    Shapes: ``dLZ (..., S_r, S_c)`` -> ``(..., R_r, R_c)``.

    Parameters
    ----------
    dLZ : array
        dF/dLZ at the pooled output.
    size : int or pair
        The window r x c.
    w : scalar or array, optional
        The pooling weight lw; None means 1/(r c). An array gives one weight per FM, shape
        ``(H,)`` for ``dLZ (..., H, S_r, S_c)``, as `avg_pool_dlw` returns them.
    stride : int or pair, optional
        S^t of the forward pass; defaults to the window.
    input_shape : tuple, optional
        Shape of the forward input (last two entries used); defaults to the smallest input that
        gives dLZ's size, (S_r - 1) S^t + r. Rows the stride did not reach get gradient 0.

    Notes
    -----
    Each input pixel receives ``w * dlz[i, j]`` from every window (i, j) that contains it; with
    the default stride there is exactly one (the book's expansion of each element to r x c).

    Examples
    --------
    >>> avg_pool_da(np.array([[4, 8]]), 2)
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.]])
    >>> avg_pool_da(np.array([[4, 8]]), 2, w=1, input_shape=(3, 5))
    array([[4., 4., 8., 8., 0.],
           [4., 4., 8., 8., 0.],
           [0., 0., 0., 0., 0.]])
    """
    dLZ = as_array(dLZ, "dLZ")
    size = pair(size, "r", 1, "window")
    stride = size if stride is None else pair(stride, "S^t", 1)
    R = _pool_input_size(dLZ, size, stride, input_shape)
    scaled = dLZ / (size[0] * size[1]) if w is None else dLZ * pool_weight(w, dLZ, "dLZ")
    cols = np.broadcast_to(scaled[..., None, None, :, :], scaled.shape[:-2] + size + scaled.shape[-2:])
    return windows_adjoint(cols, R, stride)


def _pool_input_size(dLZ, size, stride, input_shape):
    """(R_r, R_c) of the pooling's input: from `input_shape` (checked against dLZ), or the smallest."""
    if dLZ.ndim < 2:
        raise ValueError(f"dLZ must have rows and cols (..., S_r, S_c), got shape {dLZ.shape}")
    S = dLZ.shape[-2:]
    if min(S) < 1:
        raise ValueError(f"dLZ must have at least one row and column, got S_r, S_c = {S}")
    if input_shape is None:
        return tuple((S[k] - 1) * stride[k] + size[k] for k in range(2))
    dims = _dims(input_shape)
    if len(dims) < 2 or any(d is None or d < 0 for d in dims):
        raise ValueError(f"input_shape must be the forward input's shape (..., R_r, R_c), got {input_shape!r}")
    batch_shape(("dLZ", dLZ.shape[:-2]), ("input_shape", dims[:-2]))      # they must broadcast
    R = pair(dims[-2:], "R", 1)
    if output_size(R, size, stride=stride) != S:
        raise ValueError(f"dLZ has S_r, S_c = {S} but input {R} with window {size} and S^t={stride} "
                         f"gives {output_size(R, size, stride=stride)}")
    return R


def avg_pool_dlw(dLZ, A, size, *, stride=None):
    """P8.4: dlw^{m,n,h} = [+]^{ave}_{S_r,S_c}(dLZ^{m,n,h} o ([+]^{ave}_{r,c} A^{n,h})), the pooling weight's gradient.

    Shapes: ``dLZ (..., H, S_r, S_c)``, ``A (..., H, R_r, R_c)`` -> ``(H,)`` (batch summed);
    one FM ``(S_r, S_c)``, ``(R_r, R_c)`` -> scalar.

    Notes
    -----
    ``dlw = sum_i sum_j dlz[i, j] * (sum of A over window (i, j))``: the inner pooling uses the
    weight 1 (the sum), the outer one adds everything up.

    Examples
    --------
    >>> A = np.arange(16).reshape(4, 4)
    >>> avg_pool_dlw(np.array([[1, 0], [0, 2]]), A, 2)   # 1*10 + 2*50
    np.float64(110.0)
    """
    dLZ = as_array(dLZ, "dLZ")
    A, size, stride, S = pool_args(A, size, stride, "A")
    if dLZ.ndim < 2 or dLZ.shape[-2:] != S:
        raise ValueError(f"dLZ has S_r, S_c = {dLZ.shape[-2:]} but pooling A with window {size} and "
                         f"S^t={stride} gives {S}")
    batch_shape(("dLZ", dLZ.shape[:-2]), ("A", A.shape[:-2]))
    sums = windows(A, size, stride).sum(axis=(-4, -3))
    return _per_fm(dLZ * sums)


def max_pool_da(dLZ, A, size, *, stride=None, indices=None):
    """E8.8: dA across max pooling: each window's gradient goes to the pixel that was its maximum.

    Shapes: ``dLZ (..., S_r, S_c)``, ``A (..., R_r, R_c)`` (the forward input) -> ``A``'s shape
    (batch axes of dLZ and A broadcast).

    Parameters
    ----------
    dLZ : array
        dF/dLZ at the pooled output.
    A : array
        The forward input, to find where each maximum was.
    size : int or pair
        The window r x c.
    stride : int or pair, optional
        S^t of the forward pass; defaults to the window. With overlapping windows a pixel that
        is the maximum of several windows receives the sum of their gradients.
    indices : array of int, optional
        Where the maxima are, as ``max_pool(A, size, stride=stride, return_indices=True)`` gives
        them (``u' * R_c + v'`` within each FM, the numbering PyTorch uses): the maxima are then
        not searched again. Each gradient goes to the pixel its index names.

    Notes
    -----
    From 8.24, dz[i, j]/da[u', v'] is 1 for the one pixel of window (i, j) that holds its maximum
    and 0 for the others. A tie sends the gradient to the first maximum in row-major window order
    (as ``np.argmax`` does); a window holding NaN sends it to its first NaN. Pixels that are no
    window's maximum get 0. On sympy symbols that cannot be ordered, each pixel receives
    ``Piecewise((dlz, it is the first maximum), (0, True))`` from each window holding it.

    Examples
    --------
    >>> A = np.array([[1, 5, 2, 0],
    ...               [3, 4, 2, 1]])
    >>> max_pool_da(np.array([[10, 20]]), A, 2)       # the right window ties: 2 and 2
    array([[ 0., 10., 20.,  0.],
           [ 0.,  0.,  0.,  0.]])
    >>> Z, indices = max_pool(A, 2, return_indices=True)
    >>> max_pool_da(np.array([[10, 20]]), A, 2, indices=indices)
    array([[ 0., 10., 20.,  0.],
           [ 0.,  0.,  0.,  0.]])
    >>> max_pool_da(np.ones((1, 3)), A, 2)
    Traceback (most recent call last):
    ...
    ValueError: dLZ has S_r, S_c = (1, 3) but pooling A with window (2, 2) and S^t=(2, 2) gives (1, 2)
    """
    dLZ = as_array(dLZ, "dLZ")
    A, size, stride, S = pool_args(A, size, stride, "A")
    if dLZ.ndim < 2 or dLZ.shape[-2:] != S:
        raise ValueError(f"dLZ has S_r, S_c = {dLZ.shape[-2:]} but pooling A with window {size} and "
                         f"S^t={stride} gives {S}")
    batch = batch_shape(("dLZ", dLZ.shape[:-2]), ("A", A.shape[:-2]))
    dtype, (R_r, R_c) = common_dtype(dLZ, A), A.shape[-2:]
    if indices is None and A.dtype == object:
        try:
            _, indices = max_pool(A, size, stride=stride, return_indices=True)
        except ValueError:         # symbols sympy cannot order: the first maximum, as a condition
            import sympy
            a = np.broadcast_to(A, batch + (R_r, R_c)).reshape((-1, R_r, R_c))
            d = np.broadcast_to(dLZ, batch + S).reshape((-1,) + S)
            dA = np.zeros(a.shape, dtype=object)
            for f, i, j in np.ndindex(d.shape):
                pixels = [(i * stride[0] + u, j * stride[1] + v) for u, v in np.ndindex(size)]
                values = [a[f][p] for p in pixels]
                for k, p in enumerate(pixels):
                    first = sympy.And(*(values[k] > x for x in values[:k]), *(values[k] >= x for x in values[k + 1:]))
                    dA[f][p] += sympy.Piecewise((d[f, i, j], first), (0, True))
            return dA.reshape(batch + (R_r, R_c))
    given = indices is not None
    if given:
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu" or indices.shape[-2:] != S or not _fits(indices.shape, batch + S):
            raise ValueError(f"indices (dtype {indices.dtype}, shape {indices.shape}) must be integers of dLZ's "
                             f"shape {batch + S}, as max_pool(A, size, stride=stride, return_indices=True) gives")
    else:
        _, indices = max_pool(A, size, stride=stride, return_indices=True)
    n = int(np.prod(batch))
    d = (dLZ if dLZ.shape == batch + S else np.broadcast_to(dLZ, batch + S)).reshape(n, S[0] * S[1])
    idx = (indices if indices.shape == batch + S else np.broadcast_to(indices, batch + S)).reshape(n, S[0] * S[1])
    dA = np.empty((n, R_r * R_c), dtype=dtype)     # zeroed chunk by chunk: np.zeros defers to page faults
    flat_dA = dA.reshape(-1)
    fm_start = (np.arange(n) * (R_r * R_c))[:, None]                  # where each FM begins in flat_dA
    # Without given indices and with windows that do not overlap, each pixel is named at most once,
    # so assigning is adding to 0; otherwise (overlapping windows, or indices given) the gradients add.
    assign = not given and stride[0] >= size[0] and stride[1] >= size[1]

    def work(k):
        where = idx[k]
        if given and where.size and _out_of_range(where, R_r * R_c):
            bad = where[(where < 0) | (where >= R_r * R_c)][0]
            raise ValueError(f"indices hold {bad}, outside an FM of R_r x R_c = {R_r} x {R_c} pixels")
        flat = np.add(where, fm_start[k], dtype=np.intp).reshape(-1)     # uint64 + int64 would be float
        if dtype == object:
            dA[k] = 0
        else:
            dA[k].view(np.uint8).fill(0)         # 0.0 is all zero bytes: a plain memset
        if assign:
            flat_dA[flat] = d[k].reshape(-1)
        else:
            np.add.at(flat_dA, flat, d[k].reshape(-1))

    if assign:        # numpy releases the GIL in fancy assignment: chunks on threads, each in cache
        for_chunks(work, n, R_r * R_c * dA.itemsize, dtype)
    else:             # np.add.at holds it, and threads would only take turns: one call
        work(slice(0, n))
    return dA.reshape(batch + (R_r, R_c))


def _out_of_range(where, size):
    """Whether some index lies outside 0..size-1. One pass for 64-bit indices, where a negative
    index is huge as unsigned (a narrower one may not be: -120 as uint8 is 136)."""
    if where.flags.c_contiguous and where.dtype.kind == "i" and where.itemsize == 8:
        return where.view(where.dtype.str.replace("i", "u")).max() >= size
    return where.min() < 0 or where.max() >= size


def _fits(shape, target):
    """`shape` broadcasts to `target` without changing it."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def product_dlz(dN, b):
    """E8.9: dLZ^{m,n} = b^m dN^m, across the product net input N = LZ . b.

    Shapes: ``dN (..., H, S_r, S_c)``, ``b (H,)`` -> ``dN``'s shape; one FM ``(S_r, S_c)`` with
    a scalar b.

    >>> product_dlz(np.ones((2, 1, 2)), [3, -1])
    array([[[ 3.,  3.]],
    <BLANKLINE>
           [[-1., -1.]]])
    """
    dN = as_array(dN, "dN")
    b = like(b, dN, "b")
    if dN.ndim < 2:
        raise ValueError(f"dN must have rows and cols (..., S_r, S_c), got shape {dN.shape}")
    if b.ndim == 0:
        return dN * b
    if b.ndim != 1 or dN.ndim < 3 or dN.shape[-3] != b.shape[0]:
        raise ValueError(f"b must hold one value per FM: dN has shape {dN.shape} (H^m on axis -3) "
                         f"but b has shape {b.shape}")
    return dN * b[:, None, None]


def product_db(dN, LZ):
    """E8.9: db^m = sum_i sum_j dn^m_{i,j} lz^{m,n}_{i,j}, across N = LZ . b.

    Shapes: ``dN``, ``LZ`` ``(..., H, S_r, S_c)`` -> ``(H,)`` (batch summed); one FM -> scalar.

    >>> product_db([[1, 2], [3, 4]], [[1, 0], [0, -1]])
    np.float64(-3.0)
    """
    dN, LZ = as_array(dN, "dN"), as_array(LZ, "LZ")
    if dN.shape != LZ.shape:
        raise ValueError(f"dN has shape {dN.shape} but LZ has shape {LZ.shape}")
    if dN.ndim < 2:
        raise ValueError(f"dN must have rows and cols (..., S_r, S_c), got shape {dN.shape}")
    return _per_fm(dN * LZ)
