"""Symbolic derivations: sympy checks every equation of Chapter 8, the slides and the notes.

Each check runs the library's own functions (``textbook_core``) on ``sympy.symarray`` inputs and
compares the result with the defining sum as printed and with ``sympy.diff`` of the forward
expression, at several small sizes, non-square ones included. Where sympy handles symbolic
bounds, the index manipulations themselves are checked with ``Sum`` (8.5-8.6, 8.9/8.13, 8.42-8.44).
Where a printed equation does not hold, its check shows both that the printed form fails and
that the corrected form holds; ``docs/errata.md`` lists these.

``checks()`` maps each label ("8.1" .. "8.53", "P8.1" .. "P8.4", "E8.8", "E8.9" and the lecture
labels) to a callable that returns None or raises ``AssertionError``; ``registry()`` gives the
full records (label, statement, latex, function, erratum) for rendering. Run them all with::

    python -m textbook_core.derivations          # one line per label; exit status 1 on a failure

>>> from textbook_core.derivations import checks, registry
>>> checks()["8.37"]() is None
True
>>> registry()["8.37"].erratum
'db^m = [+]^ave_{S_r,S_c} dN^m averages; the sum needs the weight w = 1'
"""
import itertools
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import sympy as sp

import textbook_core as tc
from textbook_core import data
from textbook_core.details import im2col

# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One check: its label, a one-line plain statement, a one-line LaTeX statement, the function
    that returns None or raises AssertionError, and, for an erratum, "printed -> corrected"."""
    label: str
    statement: str
    latex: str
    func: Callable[[], None]
    erratum: Optional[str] = None

    def __call__(self):
        return self.func()


_REGISTRY = {}


def check(label, statement, latex, erratum=None):
    """Register the decorated function as the check `label`."""
    def register(func):
        if label in _REGISTRY:
            raise ValueError(f"check {label!r} registered twice")
        _REGISTRY[label] = Check(label, statement, latex, func, erratum)
        return func
    return register


def checks():
    """Label -> callable; the callable returns None or raises AssertionError with a message."""
    return {label: c.func for label, c in _REGISTRY.items()}


def registry():
    """Label -> `Check` (statement, latex, func, erratum), in the chapter's order."""
    return dict(_REGISTRY)


# ---------------------------------------------------------------------------------------------
# Helpers: symbols, comparison, gradients, the book's 1-based indexing
# ---------------------------------------------------------------------------------------------

# Small sizes, non-square ones included: kernel (r, c) and image (R_r, R_c) ...
KERNELS = [((2, 2), (3, 3)), ((2, 3), (4, 3)), ((1, 2), (2, 4)), ((3, 1), (3, 2))]
# ... and layers H^m, H^n, (r, c), (R_r, R_c); the last has H^m > H^n, which the errata need.
LAYERS = [(1, 1, (2, 2), (3, 3)), (2, 3, (2, 1), (3, 4)), (3, 2, (1, 2), (2, 3))]
WIDE = LAYERS[2]   # H^m = 3 > H^n = 2


def sym(name, shape):
    """An object array of sympy symbols ``name_i_j...``."""
    return sp.symarray(name, shape)


def _short(e, n=90):
    s = str(e)
    return s if len(s) <= n else s[: n - 3] + "..."


def same(got, want, what):
    """Raise AssertionError unless `got` and `want` have one shape and equal expanded elements."""
    got, want = np.asarray(got, dtype=object), np.asarray(want, dtype=object)
    if got.shape != want.shape:
        raise AssertionError(f"{what}: shape {got.shape}, expected {want.shape}")
    for idx in np.ndindex(got.shape):
        if sp.expand(sp.sympify(got[idx]) - sp.sympify(want[idx])) != 0:
            raise AssertionError(f"{what}: differ at index {idx}: {_short(got[idx])} != {_short(want[idx])}")


def fails(printed, correct, what):
    """An erratum's evidence: raise AssertionError if the printed form equals the correct value."""
    try:
        same(printed, correct, what)
    except AssertionError:
        return
    raise AssertionError(f"{what}: the printed form holds here, so this is no erratum")


def grad(F, X):
    """dF/dX element by element (sympy.diff), shaped like X."""
    X = np.asarray(X, dtype=object)
    out = np.empty(X.shape, dtype=object)
    for idx in np.ndindex(X.shape):
        out[idx] = sp.diff(F, X[idx])
    return out


def emap(f, X):
    """f applied to every element of an object array."""
    X = np.asarray(X, dtype=object)
    out = np.empty(X.shape, dtype=object)
    for idx in np.ndindex(X.shape):
        out[idx] = f(X[idx])
    return out


def total(X):
    return sum(np.asarray(X, dtype=object).flat, sp.S.Zero)


def loss(Y, name="g"):
    """A nonlinear loss F = sum(g o Y) + sum(q o Y o Y)/2 with symbolic g, q, and dF/dY by sympy."""
    G, Q = sym(name, Y.shape), sym("q" + name, Y.shape)
    Ys = sym("y" + name, Y.shape)
    F_of = lambda X: total(G * X + Q * X * X / 2)          # noqa: E731
    sub = dict(zip(Ys.flat, np.asarray(Y, dtype=object).flat))
    return F_of(Y), emap(lambda e: e.xreplace(sub), grad(F_of(Ys), Ys))


def at(X, *idx):
    """The book's x_{i,j,...}: 1-based, and 0 outside the array."""
    if all(1 <= i <= n for i, n in zip(idx, np.shape(X))):
        return X[tuple(i - 1 for i in idx)]
    return 0


def at0(X, *idx):
    """x_{i,j,...} 0-based, and 0 outside the array (8.1-8.9 index from 0)."""
    if all(0 <= i < n for i, n in zip(idx, np.shape(X))):
        return X[tuple(idx)]
    return 0


def table(shape, f):
    """An object array with element [idx] = f(*idx)."""
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sp.sympify(f(*idx))
    return out


def rng1(n):
    return range(1, n + 1)


def layer(Hm, Hn, k, R, batch=()):
    """A symbolic convolution layer: LW, A, b, LZ = LW (x) A (8.38), N = LZ + b (8.32)."""
    LW, A, b = sym("lw", (Hm, Hn) + k), sym("a", batch + (Hn,) + R), sym("b", (Hm,))
    LZ = tc.correlate_fms(LW, A)
    return LW, A, b, LZ, LZ + b[:, None, None]


def pad0(X, P):
    """X surrounded by P = (P_r, P_c) zeros on its last two axes (object arrays too)."""
    X = np.asarray(X, dtype=object)
    return np.pad(X, [(0, 0)] * (X.ndim - 2) + [(P[0], P[0]), (P[1], P[1])], constant_values=0)


i_, j_, k_, l_, m_, n_ = sp.symbols("i j k l m n", integer=True)
r_, c_ = sp.symbols("r c", integer=True, positive=True)
up_, vp_, ip_, jp_ = sp.symbols("u' v' i' j'", integer=True)
p_f, w_f, dlz_f, lw_f = sp.Function("p"), sp.Function("w"), sp.Function("dlz"), sp.Function("lw")

# ---------------------------------------------------------------------------------------------
# Why use convolution (8.1-8.13)
# ---------------------------------------------------------------------------------------------


@check("8.1", "delta_{i,j} = 1 if i = j = 0, else 0: tc.impulse is the one-point image",
       r"\delta_{i,j} = 1 \text{ if } i=j=0,\ 0 \text{ else}")
def _8_1():
    for shape, at_ in [((2, 3), (1, 2)), ((3, 3), (0, 0)), ((4, 2), (2, 1))]:
        want = table(shape, lambda m, n: int(m - at_[0] == 0 and n - at_[1] == 0))
        same(tc.impulse(shape, at_), want, f"impulse{shape} at {at_} vs delta_(m-{at_[0]}, n-{at_[1]})")


@check("8.2", "w = W(delta): the impulse response of a convolution is its kernel, shifted with the impulse",
       r"w_{i,j} = \mathcal{W}(\delta_{i,j})")
def _8_2():
    for (r, c), (R_r, R_c) in KERNELS:
        W = sym("w", (r, c))
        transform = lambda X: tc.convolve(W, X, mode="full")   # noqa: E731
        for a in [(0, 0), (R_r - 1, R_c - 1)]:
            want = table((R_r + r - 1, R_c + c - 1), lambda m, n: at0(W, m - a[0], n - a[1]))
            same(tc.impulse_response(transform, (R_r, R_c), a), want, f"response to delta at {a}, W {r}x{c}")


@check("8.3", "p_{m,n} = sum_i sum_j p_{i,j} delta_{m-i,n-j}: an image is a sum of impulses",
       r"p_{m,n} = \sum_i \sum_j p_{i,j}\, \delta_{m-i,n-j}")
def _8_3():
    for _, (R_r, R_c) in KERNELS:
        P = sym("p", (R_r, R_c))
        rebuilt = sum(P[i, j] * tc.impulse((R_r, R_c), (i, j)) for i in range(R_r) for j in range(R_c))
        same(rebuilt, P, f"sum of impulses, {R_r}x{R_c}")


@check("8.4", "z = W(P) = sum_i sum_j p_{i,j} W(delta_{m-i,n-j}): tc.convolve is linear and position invariant",
       r"z_{m,n} = \mathcal{W}(\mathbf{P})_{m,n} = \sum_i \sum_j p_{i,j}\, \mathcal{W}(\delta_{m-i,n-j})")
def _8_4():
    for (r, c), (R_r, R_c) in KERNELS:
        W, P = sym("w", (r, c)), sym("p", (R_r, R_c))
        transform = lambda X: tc.convolve(W, X, mode="full")   # noqa: E731
        parts = sum(P[i, j] * transform(tc.impulse((R_r, R_c), (i, j))) for i in range(R_r) for j in range(R_c))
        same(transform(P), parts, f"W(P) vs sum of p_ij W(delta), W {r}x{c}, P {R_r}x{R_c}")


def _sum_8_5(W, P, m, n):
    """8.5: sum over all i, j of p_{i,j} w_{m-i,n-j} (0-based, zero outside)."""
    return sum(P[i, j] * at0(W, m - i, n - j) for i in range(P.shape[0]) for j in range(P.shape[1]))


def _sum_8_6(W, P, m, n):
    """8.6 and 8.8: sum over i < r, j < c of w_{i,j} p_{m-i,n-j} (0-based, zero outside)."""
    return sum(W[i, j] * at0(P, m - i, n - j) for i in range(W.shape[0]) for j in range(W.shape[1]))


def _full_shape(W, P):
    return (P.shape[0] + W.shape[0] - 1, P.shape[1] + W.shape[1] - 1)


@check("8.5", "z_{m,n} = sum_i sum_j p_{i,j} w_{m-i,n-j}: tc.convolve(mode='full') is this sum",
       r"z_{m,n} = \sum_{i=-\infty}^{\infty} \sum_{j=-\infty}^{\infty} p_{i,j}\, w_{m-i,n-j}")
def _8_5():
    for (r, c), (R_r, R_c) in KERNELS:
        W, P = sym("w", (r, c)), sym("p", (R_r, R_c))
        want = table(_full_shape(W, P), lambda m, n: _sum_8_5(W, P, m, n))
        same(tc.convolve(W, P, mode="full"), want, f"convolve full vs 8.5, W {r}x{c}, P {R_r}x{R_c}")


@check("8.6", "z_{m,n} = sum_i sum_j w_{i,j} p_{m-i,n-j}: i -> m - i turns 8.5 into 8.6 (Sum), and the library agrees",
       r"\sum_{i,j} p_{i,j} w_{m-i,n-j} = \sum_{i,j} w_{i,j} p_{m-i,n-j}")
def _8_6():
    oo = sp.oo
    s85 = sp.Sum(p_f(i_, j_) * w_f(m_ - i_, n_ - j_), (i_, -oo, oo), (j_, -oo, oo))
    s86 = sp.Sum(w_f(i_, j_) * p_f(m_ - i_, n_ - j_), (i_, -oo, oo), (j_, -oo, oo))
    moved = s85.change_index(i_, m_ - i_, k_).change_index(j_, n_ - j_, l_).xreplace({k_: i_, l_: j_})
    if moved != s86:
        raise AssertionError(f"8.5 with i -> m - i, j -> n - j gives {moved}, not 8.6 {s86}")
    for (r, c), (R_r, R_c) in KERNELS:
        W, P = sym("w", (r, c)), sym("p", (R_r, R_c))
        want = table(_full_shape(W, P), lambda m, n: _sum_8_6(W, P, m, n))
        same(tc.convolve(W, P, mode="full"), want, f"convolve full vs 8.6, W {r}x{c}, P {R_r}x{R_c}")


@check("8.7", "Z = P * W = W * P: tc.convolve(mode='full') commutes, 2-D and 1-D",
       r"\mathbf{Z} = \mathbf{P} * \mathbf{W} = \mathbf{W} * \mathbf{P}")
def _8_7():
    for (r, c), (R_r, R_c) in KERNELS:
        W, P = sym("w", (r, c)), sym("p", (R_r, R_c))
        same(tc.convolve(W, P, mode="full"), tc.convolve(P, W, mode="full"), f"W*P vs P*W, {r}x{c}, {R_r}x{R_c}")
    w, p = sym("w", (3,)), sym("p", (5,))
    same(tc.convolve(w, p, mode="full"), tc.convolve(p, w, mode="full"), "1-D w*p vs p*w")


@check("8.8", "z_{m,n} = sum_{i=0}^{r-1} sum_{j=0}^{c-1} w_{i,j} p_{m-i,n-j}: full convolution; 'valid' is its slice",
       r"z_{m,n} = \sum_{i=0}^{r-1} \sum_{j=0}^{c-1} w_{i,j}\, p_{m-i,n-j}")
def _8_8():
    for (r, c), (R_r, R_c) in KERNELS:
        W, P = sym("w", (r, c)), sym("p", (R_r, R_c))
        full = table(_full_shape(W, P), lambda m, n: _sum_8_6(W, P, m, n))
        same(tc.convolve(W, P, mode="full"), full, f"convolve full vs 8.8, W {r}x{c}, P {R_r}x{R_c}")
        same(tc.convolve(W, P), full[r - 1: R_r, c - 1: R_c], f"convolve valid vs 8.8 for m >= r-1, W {r}x{c}")


@check("summary-convolution",
       "Summary: z_{m,n} = sum_{i=1}^r sum_{j=1}^c w_{i,j} p_{m-i+1,n-j+1} is 8.8 with the kernel indexed from 1 (full size)",
       r"z_{m,n} = \sum_{i=1}^{r} \sum_{j=1}^{c} w_{i,j}\, p_{m-i+1,n-j+1}")
def _summary_convolution():
    # Sum: 8.8 with i -> i + 1 is the summary's sum, with the kernel re-indexed w'_{i,j} = w_{i-1,j-1}.
    s88 = sp.Sum(w_f(i_, j_) * p_f(m_ - i_, n_ - j_), (i_, 0, r_ - 1), (j_, 0, c_ - 1))
    summary = sp.Sum(w_f(i_ - 1, j_ - 1) * p_f(m_ - i_ + 1, n_ - j_ + 1), (i_, 1, r_), (j_, 1, c_))
    moved = s88.change_index(i_, i_ + 1).change_index(j_, j_ + 1)
    if moved != summary:
        raise AssertionError(f"8.8 with i -> i + 1 gives {moved}, not the summary's {summary}")
    for (r, c), (R_r, R_c) in KERNELS:
        W, P = sym("w", (r, c)), sym("p", (R_r, R_c))
        # 1-based m = 1 .. R_r + r - 1 with p = 0 outside: the full convolution.
        want = table(_full_shape(W, P), lambda m, n: sum(
            at(W, i, j) * at(P, m + 1 - i + 1, n + 1 - j + 1) for i in rng1(r) for j in rng1(c)))
        same(tc.convolve(W, P, mode="full"), want, f"summary convolution vs convolve full, W {r}x{c}")


def _sum_8_9(W, P, m, n):
    return sum(W[i, j] * at0(P, m + i, n + j) for i in range(W.shape[0]) for j in range(W.shape[1]))


@check("8.9", "z_{m,n} = sum_{i=0}^{r-1} sum_{j=0}^{c-1} w_{i,j} p_{m+i,n+j}: tc.correlate is this sum",
       r"z_{m,n} = \sum_{i=0}^{r-1} \sum_{j=0}^{c-1} w_{i,j}\, p_{m+i,n+j}")
def _8_9():
    for (r, c), (R_r, R_c) in KERNELS:
        W, P = sym("w", (r, c)), sym("p", (R_r, R_c))
        want = table((R_r - r + 1, R_c - c + 1), lambda m, n: _sum_8_9(W, P, m, n))
        same(tc.correlate(W, P), want, f"correlate vs 8.9, W {r}x{c}, P {R_r}x{R_c}")


@check("8.10", "Z = W (x) P: tc.correlate is the one-FM case of tc.correlate_fms and convolution with rot180(W)",
       r"\mathbf{Z} = \mathbf{W} \otimes \mathbf{P}")
def _8_10():
    for (r, c), (R_r, R_c) in KERNELS:
        W, P = sym("w", (r, c)), sym("p", (R_r, R_c))
        Z = tc.correlate(W, P)
        same(Z, tc.correlate_fms(W[None, None], P[None])[0], f"correlate vs correlate_fms, W {r}x{c}")
        same(Z, tc.convolve(tc.rot180(W), P), f"W (x) P vs rot180(W) * P, W {r}x{c}")


def _book(name, shape):
    """Symbols named as printed, 1-based: w_{1,1} is ``w11``."""
    return table(shape, lambda *idx: sp.Symbol(name + "".join(str(i + 1) for i in idx)))


@check("8.11", "[z11 z12; z21 z22] = [w11 w12; w21 w22] (x) [p11 .. p33]: each z is an inner product with a window",
       r"\mathbf{Z}_{2\times2} = \mathbf{W}_{2\times2} \otimes \mathbf{P}_{3\times3}")
def _8_11():
    W, P = _book("w", (2, 2)), _book("p", (3, 3))
    want = table((2, 2), lambda m, n: sum(W[i, j] * P[m + i, n + j] for i in range(2) for j in range(2)))
    same(tc.correlate(W, P), want, "8.11 element by element")
    # Written out: z_{1,2} = w11 p12 + w12 p13 + w21 p22 + w22 p23, as Figure 8.2 shows.
    w11, w12, w21, w22 = W.flat
    same(tc.correlate(W, P)[0, 1], w11 * P[0, 1] + w12 * P[0, 2] + w21 * P[1, 1] + w22 * P[1, 2], "z12")


@check("8.12", "vec(Z) = M vec(P): the printed 4x9 weight-sharing matrix is tc.conv_matrix, and M vec(P) = vec(W (x) P)",
       r"\operatorname{vec}(\mathbf{Z}) = \mathbf{M}(\mathbf{W})\, \operatorname{vec}(\mathbf{P})")
def _8_12():
    W, P = _book("w", (2, 2)), _book("p", (3, 3))
    w11, w12, w21, w22 = W.flat
    printed = np.array([[w11, w21, 0, w12, w22, 0, 0, 0, 0],
                        [0, w11, w21, 0, w12, w22, 0, 0, 0],
                        [0, 0, 0, w11, w21, 0, w12, w22, 0],
                        [0, 0, 0, 0, w11, w21, 0, w12, w22]], dtype=object)
    p_printed = np.array([P[0, 0], P[1, 0], P[2, 0], P[0, 1], P[1, 1], P[2, 1], P[0, 2], P[1, 2], P[2, 2]])
    same(tc.conv_matrix(W, (3, 3)), printed, "conv_matrix vs the printed 8.12 matrix")
    same(tc.vec(P), p_printed, "vec(P) vs the printed column [p11 p21 p31 p12 ...]")
    Z = tc.correlate(W, P)
    same(tc.vec(Z), [Z[0, 0], Z[1, 0], Z[0, 1], Z[1, 1]], "vec(Z) vs the printed column [z11 z21 z12 z22]")
    same(printed.dot(p_printed), tc.vec(Z), "printed matrix times printed p vs vec(W (x) P)")
    for (r, c), (R_r, R_c) in KERNELS:
        W, P = sym("w", (r, c)), sym("p", (R_r, R_c))
        same(tc.conv_matrix(W, (R_r, R_c)).dot(tc.vec(P)), tc.vec(tc.correlate(W, P)), f"M vec(P), W {r}x{c}")


@check("8.13", "z_{m,n} = sum_{i=1}^r sum_{j=1}^c w_{i,j} p_{m+i-1,n+j-1}: 8.9 re-indexed from 1 (Sum), and tc.correlate",
       r"z_{m,n} = \sum_{i=1}^{r} \sum_{j=1}^{c} w_{i,j}\, p_{m+i-1,n+j-1}")
def _8_13():
    # The index offset: i -> i + 1 in 8.9, with 8.13's w_{i,j} = 8.9's w_{i-1,j-1}.
    s89 = sp.Sum(w_f(i_, j_) * p_f(m_ + i_, n_ + j_), (i_, 0, r_ - 1), (j_, 0, c_ - 1))
    s813 = sp.Sum(w_f(i_ - 1, j_ - 1) * p_f(m_ + i_ - 1, n_ + j_ - 1), (i_, 1, r_), (j_, 1, c_))
    moved = s89.change_index(i_, i_ + 1).change_index(j_, j_ + 1)
    if moved != s813:
        raise AssertionError(f"8.9 with i -> i + 1 gives {moved}, not 8.13 {s813}")
    for (r, c), (R_r, R_c) in KERNELS:
        W, P = sym("w", (r, c)), sym("p", (R_r, R_c))
        want = table((R_r - r + 1, R_c - c + 1), lambda m, n: sum(
            at(W, i, j) * at(P, m + 1 + i - 1, n + 1 + j - 1) for i in rng1(r) for j in rng1(c)))
        same(tc.correlate(W, P), want, f"correlate vs 8.13, W {r}x{c}, P {R_r}x{R_c}")


# ---------------------------------------------------------------------------------------------
# Details: sizes, padding, stride (8.14-8.19)
# ---------------------------------------------------------------------------------------------

R_s, k_s, P_s = sp.symbols("R k P^d", integer=True, positive=True)


def _positions(R, r, P=0, S=1):
    """The definition: how many kernel positions m = 0, S, 2S, ... fit inside R + 2P."""
    return sum(1 for m in range(0, R + 2 * P) if m % S == 0 and m + r <= R + 2 * P)


def _size_check(axis, name):
    def run():
        for R in range(1, 7):
            for r in range(1, R + 1):
                want = R - r + 1
                got = tc.output_size(R, r)
                if got != want or _positions(R, r) != want:
                    raise AssertionError(f"{name}: R={R}, r={r}: output_size {got}, positions "
                                         f"{_positions(R, r)}, 8.14 gives {want}")
        shape = (4, 3) if axis == 0 else (3, 4)
        kernel = (2, 1) if axis == 0 else (1, 2)
        got = tc.correlate(sym("w", kernel), sym("p", shape)).shape[axis]
        if got != 3:
            raise AssertionError(f"{name}: correlate of {kernel} over {shape} has {got} along axis {axis}, expected 3")
        # The text: the last m satisfies m + r - 1 = R_r.
        if sp.solve(sp.Eq(m_ + r_ - 1, R_s), m_) != [R_s - r_ + 1]:
            raise AssertionError(f"{name}: m + r - 1 = R does not give m = R - r + 1")
        if sp.expand(tc.output_size(R_s, k_s) - (R_s - k_s + 1)) != 0:
            raise AssertionError(f"{name}: symbolic output_size(R, r) = {tc.output_size(R_s, k_s)}")
    return run


check("8.14", "S_r = R_r - r + 1: tc.output_size and the shape of tc.correlate",
      r"S_r = R_r - r + 1")(_size_check(0, "8.14"))
check("8.15", "S_c = R_c - c + 1: tc.output_size and the shape of tc.correlate",
      r"S_c = R_c - c + 1")(_size_check(1, "8.15"))


def _pad_check(axis, name):
    def run():
        for R in range(1, 5):
            for P in range(0, 3):
                for r in range(1, R + 2 * P + 1):
                    want = R + 2 * P - r + 1
                    if tc.output_size(R, r, padding=P) != want or _positions(R, r, P) != want:
                        raise AssertionError(f"{name}: R={R}, r={r}, P^d={P}: output_size "
                                             f"{tc.output_size(R, r, padding=P)}, 8.16 gives {want}")
        for (r, c), (R_r, R_c) in KERNELS:
            W, X = sym("w", (r, c)), sym("p", (R_r, R_c))
            padding = (1, 0) if axis == 0 else (0, 1)
            same(tc.correlate(W, X, padding=padding), tc.correlate(W, pad0(X, padding)),
                 f"{name}: padding {padding} vs explicit zeros, W {r}x{c}")
        if sp.expand(tc.output_size(R_s, k_s, padding=P_s) - (R_s + 2 * P_s - k_s + 1)) != 0:
            raise AssertionError(f"{name}: symbolic output_size with padding")
    return run


check("8.16", "S_r = R_r + 2P^d - r + 1: padding adds P^d zeros on each side",
      r"S_r = R_r + 2P^d - r + 1")(_pad_check(0, "8.16"))
check("8.17", "S_c = R_c + 2P^d - c + 1: padding adds P^d zeros on each side",
      r"S_c = R_c + 2P^d - c + 1")(_pad_check(1, "8.17"))


def _stride_check(axis, name):
    def run():
        printed_fails = False
        for R in range(1, 8):
            for P in range(0, 2):
                for r in range(1, R + 2 * P + 1):
                    for S in range(1, 4):
                        count = _positions(R, r, P, S)
                        floored = sp.floor(sp.Rational(R + 2 * P - r, S)) + 1
                        printed = sp.Rational(R + 2 * P - r, S) + 1
                        if tc.output_size(R, r, padding=P, stride=S) != count or floored != count:
                            raise AssertionError(f"{name}: R={R}, r={r}, P^d={P}, S^t={S}: {count} positions, "
                                                 f"output_size {tc.output_size(R, r, padding=P, stride=S)}")
                        printed_fails |= printed != count
        if not printed_fails:
            raise AssertionError(f"{name}: the printed (R + 2P^d - r)/S^t + 1 always held")
        # Printed, R=5, r=2, P^d=0, S^t=2: 3/2 + 1 = 5/2 rows; kernel positions 0 and 2 only.
        fails(sp.Rational(5 - 2, 2) + 1, 2, f"{name} printed at R=5, r=2, S^t=2")
        # E8.7 i: 15x15, 3x3 kernel, S^t = 2, P^d = 1 gives 8.
        if tc.output_size(15, 3, padding=1, stride=2) != 8:
            raise AssertionError(f"{name}: E8.7 i should give 8")
        for (r, c), (R_r, R_c) in KERNELS:
            W, X = sym("w", (r, c)), sym("p", (R_r, R_c))
            stride = (2, 1) if axis == 0 else (1, 2)
            same(tc.correlate(W, X, stride=stride), tc.correlate(W, X)[:: stride[0], :: stride[1]],
                 f"{name}: stride {stride} vs every S^t-th output, W {r}x{c}, P {R_r}x{R_c}")
    return run


_floor = "(R + 2P^d - r)/S^t + 1 -> floor((R + 2P^d - r)/S^t) + 1"
check("8.18", "S_r = floor((R_r + 2P^d - r)/S^t) + 1: the printed ratio needs a floor when S^t does not divide",
      r"S_r = \left\lfloor (R_r + 2P^d - r)/S^t \right\rfloor + 1", erratum=_floor)(_stride_check(0, "8.18"))
check("8.19", "S_c = floor((R_c + 2P^d - c)/S^t) + 1: the printed ratio needs a floor when S^t does not divide",
      r"S_c = \left\lfloor (R_c + 2P^d - c)/S^t \right\rfloor + 1", erratum=_floor)(_stride_check(1, "8.19"))


# ---------------------------------------------------------------------------------------------
# Hierarchical template matching: feature maps, pooling, vec (8.20-8.26)
# ---------------------------------------------------------------------------------------------


def _sum_8_20(LW, A):
    """8.20 (and 8.38) as printed, 1-based: z^h_{i,j} = sum_l sum_u sum_v w^{h,l}_{u,v} a^l_{i+u-1,j+v-1}."""
    H_m, H_n, r, c = LW.shape
    S_r, S_c = A.shape[1] - r + 1, A.shape[2] - c + 1
    return table((H_m, S_r, S_c), lambda h, i, j: sum(
        at(LW, h + 1, l, u, v) * at(A, l, i + 1 + u - 1, j + 1 + v - 1)
        for l in rng1(H_n) for u in rng1(r) for v in rng1(c)))


@check("8.20", "z^{m,n,h}_{i,j} = sum_{l=1}^{H^n} sum_u sum_v w^{m,n,h,l}_{u,v} a^{n,l}_{i+u-1,j+v-1}: tc.correlate_fms",
       r"z^{m,n,h}_{i,j} = \sum_{l=1}^{H^n} \sum_{u=1}^{r^m} \sum_{v=1}^{c^m} w^{m,n,h,l}_{u,v}\, a^{n,l}_{i+u-1,j+v-1}")
def _8_20():
    for H_m, H_n, k, R in LAYERS:
        LW, A = sym("w", (H_m, H_n) + k), sym("a", (H_n,) + R)
        same(tc.correlate_fms(LW, A), _sum_8_20(LW, A), f"correlate_fms vs 8.20, H^m={H_m}, H^n={H_n}, {k}, {R}")


@check("8.21", "Z^{m,n,h} = sum_{l=1}^{H^n} W^{m,n,h,l} (x) A^{n,l}: tc.correlate_fms is a sum of tc.correlate",
       r"\mathbf{Z}^{m,n,h} = \sum_{l=1}^{H^n} \mathbf{W}^{m,n,h,l} \otimes \mathbf{A}^{n,l}")
def _8_21():
    for H_m, H_n, k, R in LAYERS:
        LW, A = sym("w", (H_m, H_n) + k), sym("a", (H_n,) + R)
        want = np.array([sum(tc.correlate(LW[h, l], A[l]) for l in range(H_n)) for h in range(H_m)])
        same(tc.correlate_fms(LW, A), want, f"correlate_fms vs sum of correlate, H^m={H_m}, H^n={H_n}")


POOLS = [((2, 2), (4, 4)), ((1, 2), (3, 4)), ((2, 3), (5, 7))]   # window (r, c), input (R_r, R_c)


@check("8.22", "z_{i,j} = {sum_{k=1}^r sum_{l=1}^c v_{r(i-1)+k,c(j-1)+l}} w: tc.avg_pool with weight w",
       r"z_{i,j} = \Big\{ \sum_{k=1}^{r} \sum_{l=1}^{c} v_{r(i-1)+k,\,c(j-1)+l} \Big\}\, w")
def _8_22():
    w = sp.Symbol("w")
    for (r, c), (R_r, R_c) in POOLS:
        V = sym("v", (R_r, R_c))
        want = table((R_r // r, R_c // c), lambda i, j: w * sum(
            at(V, r * i + k, c * j + l) for k in rng1(r) for l in rng1(c)))
        same(tc.avg_pool(V, (r, c), w=w), want, f"avg_pool vs 8.22, window {r}x{c}, V {R_r}x{R_c}")


@check("8.23", "Z = w [+]^ave_{r,c} V: weight w (1/(rc) by default), i.e. correlation with a kernel of w's and stride (r, c)",
       r"\mathbf{Z} = w \boxplus^{ave}_{r,c} \mathbf{V}")
def _8_23():
    w = sp.Symbol("w")
    for (r, c), (R_r, R_c) in POOLS:
        V = sym("v", (R_r, R_c))
        same(tc.avg_pool(V, (r, c), w=w), tc.correlate(np.full((r, c), w, dtype=object), V, stride=(r, c)),
             f"avg_pool vs correlation with w's, window {r}x{c}")
        same(tc.avg_pool(V, (r, c)), tc.avg_pool(V, (r, c), w=sp.Rational(1, r * c)),
             f"default weight is 1/(rc), window {r}x{c}")


def _distinct(shape, seed):
    """Distinct values t + k (t real, k a permutation): comparable, so max is defined, and symbolic."""
    t = sp.Symbol("t", real=True)
    ks = np.random.default_rng(seed).permutation(int(np.prod(shape)))
    return np.array([t + int(k) for k in ks], dtype=object).reshape(shape)


@check("8.24", "z_{i,j} = max{v_{r(i-1)+k,c(j-1)+l} | k = 1..r; l = 1..c}: tc.max_pool",
       r"z_{i,j} = \max\{ v_{r(i-1)+k,\,c(j-1)+l} \mid k=1..r;\ l=1..c \}")
def _8_24():
    for seed, ((r, c), (R_r, R_c)) in enumerate(POOLS):
        V = _distinct((R_r, R_c), seed)
        want = table((R_r // r, R_c // c), lambda i, j: sp.Max(*[
            at(V, r * i + k, c * j + l) for k in rng1(r) for l in rng1(c)]))
        same(tc.max_pool(V, (r, c)), want, f"max_pool vs 8.24, window {r}x{c}, V {R_r}x{R_c}")


@check("8.25", "Z = [+]^max_{r,c} V: stride defaults to the window; with stride S^t the windows start S^t apart",
       r"\mathbf{Z} = \boxplus^{max}_{r,c} \mathbf{V}")
def _8_25():
    for seed, ((r, c), (R_r, R_c)) in enumerate(POOLS):
        V = _distinct((R_r, R_c), seed + 10)
        same(tc.max_pool(V, (r, c)), tc.max_pool(V, (r, c), stride=(r, c)), f"default stride, window {r}x{c}")
        want = table((R_r - r + 1, R_c - c + 1), lambda i, j: sp.Max(*[
            V[i + k, j + l] for k in range(r) for l in range(c)]))
        same(tc.max_pool(V, (r, c), stride=1), want, f"max_pool stride 1, window {r}x{c}")


@check("8.26", "vec(A^m) = [a_1^{m,1}; ..; a_{S_c}^{m,1}; a_1^{m,2}; ..]: columns stacked, FM after FM (tc.vec)",
       r"\operatorname{vec}(\mathbf{A}^m) = \big[(\mathbf{a}^{m,1}_1)^T \cdots (\mathbf{a}^{m,1}_{S^m_c})^T\,(\mathbf{a}^{m,2}_1)^T \cdots (\mathbf{a}^{m,H^m}_{S^m_c})^T\big]^T")
def _8_26():
    for H, R_r, R_c in [(1, 2, 3), (2, 3, 2), (3, 1, 2)]:
        A = sym("a", (H, R_r, R_c))
        columns = [A[l, :, i] for l in range(H) for i in range(R_c)]
        same(tc.vec(A), np.concatenate(columns), f"vec of {H} FMs {R_r}x{R_c}")
        same(tc.unvec(tc.vec(A), A.shape), A, f"unvec(vec(A)), {H} FMs {R_r}x{R_c}")
