"""Hierarchical template matching: multiple feature maps, pooling and vec (8.20-8.26).

Section "Hierarchical Template Matching" of Chapter 8 as code. A stack of FMs is
``(H, rows, cols)``; any axes in front are a batch. Kernels from layer n into layer m are
``LW (H^m, H^n, r, c)``, with ``LW[h, l]`` the kernel W^{m,n,h,l}.

The 1-D multi-channel form of the lecture notes, y_{i,t} = sum_j sum_tau w_{i,j,tau} x_{j,t+tau},
is the same operation on FMs with one row: ``LW (H^m, H^n, k)`` and ``A (..., H^n, T)``.
"""
import numpy as np

from .blas import phase_rows, phase_windows
from .chunks import batch_items, for_chunks
from .details import as_array, common_dtype, integer, like, one, output_size, pair, real_array, windows


def conv_args(LW, X, padding, stride, x_name="A"):
    """Validate a kernel stack and its partner array; bring the 1-D form to 2-D.

    Returns ``(LW4, X, padding, stride, one_d)`` where ``LW4`` is ``(H^m, H^n, r, c)`` and `X` has
    a row axis of length 1 inserted when the kernels are 1-D. A 1-D signal has one padding and one
    stride: a pair is refused rather than half used.
    """
    LW, X = as_array(LW, "LW"), as_array(X, x_name)
    if LW.ndim not in (3, 4):
        raise ValueError(f"LW must have shape (H^m, H^n, r, c), or (H^m, H^n, k) for 1-D, got shape {LW.shape}")
    if LW.shape[0] == 0 or LW.shape[1] == 0:
        raise ValueError(f"LW must hold at least one kernel: H^m={LW.shape[0]}, H^n={LW.shape[1]} (shape {LW.shape})")
    one_d = LW.ndim == 3
    if one_d:
        padding, stride = (0, one(padding, "P^d", 0)), (1, one(stride, "S^t", 1))
        if X.ndim < 2:
            raise ValueError(f"{x_name} must be a stack of signals (..., H, T) for 1-D kernels, got shape {X.shape}")
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
    Z = np.empty((len(items), H_m) + S, dtype=A.dtype)
    take, G_c = phase_windows(H_n, A.shape[-2:], (r, c), padding, stride, A.dtype)

    def work(k):    # one matrix product for the chunk's items, its window columns kept
        Z[k] = phase_rows(W @ take(items[k]), len(Z[k]), G_c, S[1])

    for_chunks(work, len(items), W.shape[1] * S[0] * G_c * A.itemsize, A.dtype)
    Z = Z.reshape(A.shape[:-3] + (H_m,) + S)
    return Z[..., 0, :] if one_d else Z


def pool_args(V, size, stride, name="V"):
    """Validate a pooling window (8.22-8.25); stride defaults to the window size."""
    V = as_array(V, name)
    if V.ndim < 2:
        raise ValueError(f"{name} must have rows and cols (..., R_r, R_c), got shape {V.shape}")
    size = pair(size, "r", 1, "window")
    stride = size if stride is None else pair(stride, "S^t", 1)
    S = output_size(V.shape[-2:], size, stride=stride)
    return V, size, stride, S


def pool_weight(w, X, name="X"):
    """The pooling weight w of 8.22: a scalar, or one weight per FM (shape ``(H,)``, as
    `avg_pool_dlw` returns), broadcast over the axes in front of X's rows and cols."""
    w = like(w, X, "w")
    lead = X.shape[:-2]
    if w.ndim == 0:
        return w
    if w.ndim > len(lead) or not _broadcasts(w.shape, lead) or np.broadcast_shapes(w.shape, lead) != lead:
        raise ValueError(f"w with shape {w.shape} must be a scalar or one weight per FM: {name} with shape "
                         f"{X.shape} has {X.shape[-3] if X.ndim > 2 else 1} FM(s) of {X.shape[-2:]}")
    return w[..., None, None]


def _broadcasts(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def avg_pool(V, size, *, w=None, stride=None):
    """8.22-8.23: Z = w [+]^{ave}_{r,c} V, each window's sum times the weight w.

    Shapes: ``V (..., R_r, R_c)`` -> ``(..., S_r, S_c)``, every leading axis pooled separately.

    Parameters
    ----------
    V : array
        Input FMs.
    size : int or pair
        Window r x c.
    w : scalar or array, optional
        The pooling weight; None means 1/(r c), a true average. An array gives one weight per
        FM: shape ``(H,)`` for ``V (..., H, R_r, R_c)`` (the weights lw^{m,n,h} of P8.3-P8.4).
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
    >>> avg_pool(np.ones((2, 2, 2)), 2, w=[1, 10]).ravel()          # one weight per FM
    array([ 4., 40.])
    >>> avg_pool(np.ones((3, 3)), 4)
    Traceback (most recent call last):
    ...
    ValueError: kernel r=4 does not fit input R_r=3 with padding P^d=0
    """
    V, size, stride, _ = pool_args(V, size, stride)
    total = windows(V, size, stride).sum(axis=(-4, -3))
    if w is None:
        return total / (size[0] * size[1])
    return total * pool_weight(w, V, "V")


def max_pool(V, size, *, stride=None, return_indices=False):
    """8.24-8.25: Z = [+]^{max}_{r,c} V, the largest value of each window.

    Shapes: ``V (..., R_r, R_c)`` -> ``(..., S_r, S_c)``; with ``return_indices=True``,
    ``(Z, indices)`` with `indices` of the same shape (integers).

    Parameters
    ----------
    V : array
        Input FMs.
    size : int or pair
        Window r x c.
    stride : int or pair, optional
        S^t; defaults to the window.
    return_indices : bool
        Also return where each maximum is: ``indices[..., i, j] = u' * R_c + v'`` for the pixel
        ``V[..., u', v']`` (0-based, row-major within its FM, as PyTorch numbers them), ready for
        ``max_pool_da(..., indices=indices)``.

    Notes
    -----
    8.24, 0-based, with stride S^t (default: the window size)::

        z[i, j] = max { v[i*S^t + k, j*S^t + l] | k < r, l < c }

    A tie goes to the first maximum in row-major window order (as ``np.argmax``); a window holding
    NaN has the maximum NaN, at its first NaN (as ``np.argmax``; PyTorch picks the last NaN of a
    window that holds several, and agrees everywhere else). On sympy expressions the maximum is ``sympy.Max``,
    which stays symbolic when sympy cannot compare the values; their indices exist only where it
    can, and otherwise raise ValueError.

    Examples
    --------
    >>> max_pool(np.arange(16).reshape(4, 4), 2)
    array([[ 5.,  7.],
           [13., 15.]])
    >>> max_pool(np.arange(16).reshape(4, 4), 3, stride=1)
    array([[10., 11.],
           [14., 15.]])
    >>> Z, indices = max_pool(np.array([[1, 5, 2, 2], [3, 4, 0, 1]]), 2, return_indices=True)
    >>> Z, indices                     # the right window ties: the first 2, at row 0, col 2
    (array([[5., 2.]]), array([[1, 2]]))
    """
    if not isinstance(return_indices, (bool, np.bool_)):
        raise ValueError(f"return_indices must be True or False, got {return_indices!r}")
    V, size, stride, S = pool_args(V, size, stride)
    if return_indices:
        return max_positions(V, size, stride, S)
    view = windows(V, size, stride)
    Z = view[..., 0, 0, :, :].copy()
    for u, v in np.ndindex(size):
        if V.dtype == object:
            Z = _symbolic_max(Z, view[..., u, v, :, :])
        else:
            np.maximum(Z, view[..., u, v, :, :], out=Z)     # NaN propagates
    return Z


def _symbolic_max(a, b):
    """Elementwise max of object arrays: the larger value where Python can compare the two,
    sympy.Max where it cannot (symbols)."""
    import sympy

    def larger(x, y):
        if _is_nan(x) or _is_nan(y):      # NaN propagates, the first one, as np.maximum does
            return x if _is_nan(x) else y
        try:
            return y if y > x else x
        except TypeError:
            return sympy.Max(x, y)
    return np.frompyfunc(larger, 2, 1)(a, b)


def _is_nan(value):
    """A float NaN (Python's or numpy's) among the values of an object array."""
    return isinstance(value, (float, np.floating)) and value != value


def max_positions(V, size, stride, S):
    """Each window's maximum and where it is: ``(Z, indices)`` for `max_pool`'s return_indices.

    Shapes: ``V (..., R_r, R_c)`` -> two arrays ``(..., S_r, S_c)``; `size`, `stride` are pairs and
    `S` = (S_r, S_c) their output size (`pool_args` checks them all).

    The windows are visited in row-major order and a value replaces the running maximum only if
    it is strictly larger, so a tie keeps the first; a window holding NaN is then given its first
    NaN. This is the choice that `max_pool_da` sends each gradient to (E8.8).
    """
    (r, c), (sr, sc) = size, stride
    R_c = V.shape[-1]
    corner = np.arange(S[0])[:, None] * (sr * R_c) + np.arange(S[1]) * sc      # each window's (0, 0)
    offset = np.array([u * R_c + v for u, v in np.ndindex(size)])              # pixel k of a window
    fms = V.reshape((-1,) + V.shape[-2:])
    Z = np.empty((len(fms),) + S, dtype=V.dtype)
    indices = np.empty((len(fms),) + S, dtype=np.intp)
    code_type = np.int8 if r * c < 128 else np.intp

    def work(k):
        view, best = windows(fms[k], size, stride), Z[k]
        best[...] = view[..., 0, 0, :, :]
        code = np.zeros(best.shape, dtype=code_type)    # which pixel of the window holds the maximum
        larger = np.empty(best.shape, dtype=bool)
        tap = np.empty_like(best)                        # one pixel of every window, laid out contiguously
        moved = np.empty(best.shape, dtype=code_type)
        for n, (u, v) in enumerate(np.ndindex(size)):
            if n == 0:
                continue
            if V.dtype == object:
                candidate = view[..., u, v, :, :]
                larger = _compare(np.greater, candidate, best)
                best[...] = np.where(larger, candidate, best)
                code[larger] = n
                continue
            tap[...] = view[..., u, v, :, :]             # the one strided read of this pixel
            np.greater(tap, best, out=larger)
            np.maximum(best, tap, out=best)
            # n grows, so the last n where the candidate was larger is the largest such n
            np.maximum(code, np.multiply(larger.view(np.int8), code_type(n), out=moved), out=code)
        if V.dtype != object:
            has_nan = np.isnan(best).any()                  # np.maximum carried any NaN into best
        else:
            has_nan = any(_is_nan(e) for e in fms[k].flat)  # comparisons pass over a NaN among objects
        if has_nan:                                         # a window holding NaN: its first NaN
            isnan = np.isnan if V.dtype != object else np.frompyfunc(_is_nan, 1, 1)
            for n, (u, v) in reversed(list(enumerate(np.ndindex(size)))):
                here = isnan(view[..., u, v, :, :]).astype(bool)
                code = np.where(here, code_type(n), code)
                if V.dtype == object:
                    best[...] = np.where(here, view[..., u, v, :, :], best)
        np.add(corner, np.take(offset, code), out=indices[k])

    for_chunks(work, len(fms), V.shape[-2] * V.shape[-1] * V.itemsize, V.dtype)
    return Z.reshape(V.shape[:-2] + S), indices.reshape(V.shape[:-2] + S)


def _compare(op, a, b):
    """op(a, b) as a bool array; on sympy values that cannot be ordered, a ValueError."""
    try:
        with np.errstate(invalid="ignore"):       # a NaN among the objects: handled by the caller
            return op(a, b).astype(bool)
    except TypeError as exc:
        raise ValueError(f"cannot locate the maxima: the values cannot be ordered ({exc}); "
                         f"max_pool without return_indices gives sympy.Max, and max_pool_da a Piecewise") from None


def vec(A):
    """8.26: stack the columns of each FM, FM after FM (column-major).

    Shapes: ``(R_r, R_c)`` -> ``(R_r*R_c,)``; ``(..., H, R_r, R_c)`` -> ``(..., H*R_c*R_r)``
    (leading axes beyond H are a batch). A 1-D array is returned as it is.

    >>> vec(np.array([[1, 2], [3, 4]]))
    array([1, 3, 2, 4])
    >>> vec(np.arange(8).reshape(2, 2, 2))
    array([0, 2, 1, 3, 4, 6, 5, 7])
    """
    A = real_array(A, "A")
    if A.ndim <= 1:
        return A
    if A.ndim == 2:
        return A.T.reshape(-1)
    return A.swapaxes(-1, -2).reshape(A.shape[:-3] + (A.shape[-3] * A.shape[-2] * A.shape[-1],))


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
    x = np.asarray(x)
    dims = tuple(integer(v) for v in shape) if isinstance(shape, (tuple, list, np.ndarray)) else ()
    if len(dims) not in (2, 3) or any(v is None or v < 1 for v in dims):
        raise ValueError(f"shape must be (R_r, R_c) or (H, R_r, R_c) of positive integers, got {shape!r}")
    shape = dims
    n = int(np.prod(shape))
    if x.shape[-1:] != (n,):
        raise ValueError(f"vec(A) has {x.shape[-1] if x.ndim else 0} elements but shape {shape} holds {n}")
    flipped = shape[:-2] + (shape[-1], shape[-2])
    return x.reshape(x.shape[:-1] + flipped).swapaxes(-1, -2)
