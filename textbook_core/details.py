"""Details of the convolution operation: sizes, padding, stride and the sliding window.

Section "Details of the Convolution Operation" of Chapter 8 as code. Every operation in the
package finds its output size with `output_size` (8.14-8.19), reads its input through
`windows` and, going backward, scatters into its input through `windows_adjoint`, the
transpose of `windows`. Nothing else retypes the size formula or builds a window.

Conventions: indices are 0-based; a feature map (FM) is 2-D ``(rows, cols)`` and the last two
axes of every array are the FM's rows and columns. A 1-D signal is handled as an FM with one row.
"""
import numbers
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Book symbols for the row and column axis: input size, kernel size, output size.
ROW_NAMES = ("R_r", "r", "S_r")
COL_NAMES = ("R_c", "c", "S_c")


def as_array(x, name="input"):
    """Array under the package's dtype rule.

    Integer and bool inputs compute in float64; floating arrays keep their dtype; object arrays
    (sympy symbols) stay object arrays if every element is a real number or a sympy expression.
    Complex numbers, strings and other objects are refused: the chapter's operations are real.

    >>> as_array([1, 2]).dtype
    dtype('float64')
    >>> as_array(np.ones(2, np.float32)).dtype
    dtype('float32')
    >>> as_array(["a"], "W")
    Traceback (most recent call last):
    ...
    ValueError: W must hold real numbers, got dtype <U1
    """
    a = real_array(x, name)
    return a.astype(np.float64) if a.dtype.kind in "biu" else a


def real_array(x, name="input"):
    """`x` as an array of real numbers (or sympy expressions) in its own dtype, integers included.

    >>> real_array([[1, 2], [3]], "P")
    Traceback (most recent call last):
    ...
    ValueError: P must be a rectangular array of real numbers: its rows have different lengths
    """
    try:
        a = np.asarray(x)
    except ValueError:                  # numpy: "setting an array element with a sequence ..."
        raise ValueError(f"{name} must be a rectangular array of real numbers: its rows have different "
                         f"lengths") from None
    if a.dtype.kind == "O":
        _check_objects(a, name)
    elif a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
    return a


def _check_objects(a, name):
    """Every element of the object array `a` is a real number or a sympy expression."""
    sympy = sys.modules.get("sympy")    # a sympy object can exist only if sympy was imported
    for e in a.flat:
        if isinstance(e, numbers.Real) or (sympy is not None and isinstance(e, sympy.Basic)):
            continue
        raise ValueError(f"{name} must hold real numbers or sympy expressions, got {e!r} "
                         f"of type {type(e).__name__}")


def common_dtype(*arrays):
    """The dtype an operation on `arrays` computes in (object wins, then numpy's promotion)."""
    if any(a.dtype == object for a in arrays):
        return np.dtype(object)
    return np.result_type(*arrays)


def like(value, array, name):
    """A parameter (a weight w, a bias b) as an array in the dtype of the `array` it scales.

    When `array` is floating, the parameter takes its dtype whatever it was written as (a Python
    float, a float64 array, integers), so a float32 input gives a float32 result; with an object
    array (sympy) it stays as it is.

    >>> like(0.5, np.ones(2, np.float32), "w").dtype
    dtype('float32')
    """
    v = as_array(value, name)
    if array.dtype.kind == "f" and v.dtype.kind == "f":
        return v.astype(array.dtype, copy=False)
    return v


def integer(value):
    """`value` as a Python int if it is an integer (int, numpy or sympy integer, 0-d integer
    array), else None. Bools are not integers here: ``stride=True`` is a mistake, not 1."""
    if type(value) is int:            # the common case, without the slower checks below
        return value
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (np.integer, numbers.Integral)):
        return int(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu":
        return int(value)
    return None


def symbolic(value):
    """True for a sympy expression with free symbols (a size the symbolic checks leave open)."""
    sympy = sys.modules.get("sympy")
    return sympy is not None and isinstance(value, sympy.Basic) and bool(value.free_symbols)


WHAT = {"S^t": "stride", "P^d": "padding", "R": "input size"}


def pair(value, symbol, minimum, what=None):
    """A size, padding or stride as a (rows, cols) pair of ints, each at least `minimum`.

    Integers of any kind (numpy's too) are accepted; bools, floats, symbols and sequences of any
    length but 2 are not.

    >>> pair(2, "S^t", 1)
    (2, 2)
    >>> pair((1, np.int64(0)), "P^d", 0)
    (1, 0)
    >>> pair(0, "S^t", 1)
    Traceback (most recent call last):
    ...
    ValueError: stride S^t=0 must be an integer >= 1 (or a pair of them)
    """
    if type(value) is int and value >= minimum:               # the common cases, quickly
        return value, value
    if type(value) is tuple and len(value) == 2 and type(value[0]) is type(value[1]) is int \
            and min(value) >= minimum:
        return value
    single = integer(value)
    if single is not None:
        values = (single, single)
    elif isinstance(value, (tuple, list)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        values = tuple(integer(v) for v in value)
    else:
        values = ()
    if len(values) != 2 or any(v is None or v < minimum for v in values):
        shown = _shown(value)
        raise ValueError(f"{what or WHAT.get(symbol, 'size')} {symbol}={shown!r} must be an integer >= {minimum} "
                         f"(or a pair of them)")
    return values


def one(value, symbol, minimum, signal="a 1-D signal"):
    """A padding or stride of the 1-D form: a single integer, since a signal has one axis.

    >>> one(2, "S^t", 1)
    2
    >>> one((1, 2), "P^d", 0)
    Traceback (most recent call last):
    ...
    ValueError: padding P^d=(1, 2) of a 1-D signal must be one integer >= 0, not a pair
    """
    v = integer(value)
    if v is None or v < minimum:
        shown = _shown(value)
        kind = "not a pair" if _many(value) else f"got {shown!r}"
        raise ValueError(f"{WHAT[symbol]} {symbol}={shown!r} of {signal} must be one integer >= {minimum}, {kind}")
    return v


def _many(value):
    """A sequence or an array with axes: more than one number, where one is asked for."""
    return isinstance(value, (tuple, list)) or (isinstance(value, np.ndarray) and value.ndim > 0)


def _shown(value):
    """A parameter as a message shows it: an array as its values (a tuple, or the one value)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return tuple(value) if isinstance(value, list) else value


def _single(value, symbol, minimum):
    """A padding or stride of one axis: one integer (a symbol is left to sympy)."""
    if symbolic(value):
        return value
    if _many(value):
        raise ValueError(f"{WHAT[symbol]} {symbol}={_shown(value)!r} is a pair, but R and r are sizes of one axis: "
                         f"give R and r as (rows, cols) pairs too")
    return pair(value, symbol, minimum)[0]


def output_size(R, r, *, padding=0, stride=1):
    """8.18: S = floor((R + 2 P^d - r) / S^t) + 1, the output size along one axis.

    Shapes: `R` and `r` are ints (one axis) or ``(rows, cols)`` pairs (both axes, then padding
    and stride may be pairs too).

    Parameters
    ----------
    R : int or pair
        Input size R_r (or R_c).
    r : int or pair
        Kernel size r (or c).
    padding : int or pair
        Zero padding P^d added on both sides.
    stride : int or pair
        Stride S^t.

    Returns
    -------
    int or tuple of int
        S_r (or S_c). With sympy symbols for any argument (one axis), the symbolic expression.

    Notes
    -----
    With ``padding=0, stride=1`` this is 8.14-8.15, S = R - r + 1; with stride 1 it is 8.16-8.17.
    The division is floored, as in the lecture notes: rows that the stride cannot reach with a
    whole kernel are ignored. ``mode="full"`` in `convolve` is padding r - 1, giving R + r - 1;
    ``mode="same"`` is padding (r - 1)/2 for odd r, giving R.

    Every size is an integer: ``stride=2.0``, ``padding=0.5`` or ``stride=True`` raise
    `ValueError`, as does a stride or kernel below 1 or a negative padding.

    Examples
    --------
    >>> output_size(15, 3, padding=1, stride=2)
    8
    >>> output_size((28, 28), (3, 3))
    (26, 26)
    >>> output_size(3, 4)
    Traceback (most recent call last):
    ...
    ValueError: kernel r=4 does not fit input R_r=3 with padding P^d=0
    >>> output_size(5, 2, stride=1.5)
    Traceback (most recent call last):
    ...
    ValueError: stride S^t=1.5 must be an integer >= 1 (or a pair of them)
    """
    if any(isinstance(v, (tuple, list)) or (isinstance(v, np.ndarray) and v.ndim > 0) for v in (R, r)):
        R, r = pair(R, "R", 1), pair(r, "r", 1)
        (pr, pc), (sr, sc) = pair(padding, "P^d", 0), pair(stride, "S^t", 1)
        return (_size(R[0], r[0], pr, sr, ROW_NAMES), _size(R[1], r[1], pc, sc, COL_NAMES))
    P, S = _single(padding, "P^d", 0), _single(stride, "S^t", 1)
    if any(symbolic(v) for v in (R, r, P, S)):
        for v, symbol in ((R, "R"), (r, "r")):
            if not symbolic(v):
                pair(v, symbol, 1)
        return (R + 2 * P - r) // S + 1  # symbolic: sympy turns // into floor
    for v, symbol in ((R, "R_r"), (r, "r")):
        if integer(v) is None:
            raise ValueError(f"{'input size' if symbol == 'R_r' else 'kernel'} {symbol}={v!r} must be an integer >= 1")
    return _size(integer(R), integer(r), P, S, ROW_NAMES)


def _size(R, r, P, S, names):
    big, small, _ = names
    if R < 1 or r < 1:
        raise ValueError(f"sizes must be positive, got input {big}={R} and kernel {small}={r}")
    if r > R + 2 * P:
        raise ValueError(f"kernel {small}={r} does not fit input {big}={R} with padding P^d={P}")
    return (R + 2 * P - r) // S + 1


def batch_shape(*named):
    """The broadcast of the batch axes of several arrays, or a ValueError naming them.

    `named` holds ``(name, batch_axes)`` pairs; batch axes are the axes in front of an array's FMs.

    >>> batch_shape(("dLZ", (4, 1)), ("A", (3,)))
    (4, 3)
    >>> batch_shape(("dLZ", (4,)), ("A", (3,)))
    Traceback (most recent call last):
    ...
    ValueError: batch axes do not broadcast: dLZ has (4,) in front of its FMs, A has (3,)
    """
    try:
        return np.broadcast_shapes(*(shape for _, shape in named))
    except ValueError:
        sides = ", ".join(f"{name} has {tuple(shape)}" + (" in front of its FMs" if k == 0 else "")
                          for k, (name, shape) in enumerate(named))
        raise ValueError(f"batch axes do not broadcast: {sides}") from None


def pad(A, padding):
    """8.16: surround the last two axes of `A` with P^d zeros on each side.

    >>> pad(np.ones((1, 2)), (1, 0))
    array([[0., 0.],
           [1., 1.],
           [0., 0.]])
    """
    pr, pc = padding
    if pr == pc == 0:
        return A
    return np.pad(A, [(0, 0)] * (A.ndim - 2) + [(pr, pr), (pc, pc)])


def windows(A, size, stride=(1, 1)):
    """The r x c windows of `A` that a kernel with stride S^t visits, as a view.

    Shapes: ``A (..., R_r, R_c)`` -> ``(..., r, c, S_r, S_c)``: element ``[..., u, v, i, j]`` is
    ``A[..., i*S^t + u, j*S^t + v]`` (0-based 8.13). `A` is already padded; rows and columns
    that the stride cannot reach with a whole window are left out (floored size).

    This is the one sliding-window mechanism of the package: correlation multiplies the
    windows by a kernel, pooling reduces them.

    >>> A = np.arange(12).reshape(3, 4)
    >>> W = windows(A, (2, 2), (1, 2))
    >>> W.shape
    (2, 2, 2, 2)
    >>> W[:, :, 1, 1]  # the window whose top-left corner is A[1, 2]
    array([[ 6,  7],
           [10, 11]])
    """
    view = sliding_window_view(A, size, axis=(-2, -1))[..., :: stride[0], :: stride[1], :, :]
    return np.moveaxis(view, (-2, -1), (-4, -3))


def windows_adjoint(cols, input_size, stride=(1, 1)):
    """Transpose of `windows`: add every window element back onto the input pixel it came from.

    Shapes: ``cols (..., r, c, S_r, S_c)`` -> ``(..., R_r, R_c)`` with ``input_size = (R_r, R_c)``
    (the padded size). Where windows overlap, their contributions add up; pixels that no window
    reaches get 0. This is how every backward path into an input (8.39, P8.3, E8.8) distributes
    its gradient.

    >>> cols = np.ones((2, 2, 1, 2))          # two 2x2 windows with stride 1, all ones
    >>> windows_adjoint(cols, (2, 3))
    array([[1., 2., 1.],
           [1., 2., 1.]])
    """
    r, c, S_r, S_c = cols.shape[-4:]
    out = np.zeros(cols.shape[:-4] + tuple(input_size), dtype=cols.dtype)
    sr, sc = stride
    overlap = sr < r or sc < c
    for u in range(r):
        for v in range(c):
            pixels = out[..., u : u + sr * (S_r - 1) + 1 : sr, v : v + sc * (S_c - 1) + 1 : sc]
            if overlap:
                pixels += cols[..., u, v, :, :]
            else:  # S^t >= r, c: each pixel belongs to one window at most
                pixels[...] = cols[..., u, v, :, :]
    return out


def im2col(A, size, padding=(0, 0), stride=(1, 1)):
    """The windows of a stack of FMs laid out as one matrix per batch item, ready for BLAS.

    Shapes: ``A (..., H, R_r, R_c)`` -> ``(..., H*r*c, S_r*S_c)``; row ``(l, u, v)`` holds pixel
    ``(u, v)`` of every window of FM ``l``, column ``(i, j)`` is one window. Multiplying by a
    kernel matrix ``(H^m, H*r*c)`` gives 8.20 for every output pixel at once. The reshape copies
    the (overlapping) windows once; everything after is matrix multiplication.

    >>> im2col(np.arange(9.).reshape(1, 3, 3), (2, 2))
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    view = windows(pad(A, padding), size, stride)
    H, r, c, S_r, S_c = view.shape[-5:]
    return view.reshape(view.shape[:-5] + (H * r * c, S_r * S_c))
