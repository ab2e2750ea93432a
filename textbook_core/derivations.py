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
import functools
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

        @functools.wraps(func)
        def run():
            try:
                func()
            except AssertionError:
                raise
            except Exception as exc:   # the library raised: that is a failed check too, said plainly
                raise AssertionError(f"{label}: the library raised {type(exc).__name__}: {exc}") from exc

        _REGISTRY[label] = Check(label, statement, latex, run, erratum)
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


def loss(Y, name="g", nonlinear=False):
    """A loss F of Y with symbolic coefficients, and dF/dY by sympy.

    F = sum(g o Y): the upstream gradient dF/dY = G is a symbol per element, so a linear path that
    matches on it matches for every upstream gradient. ``nonlinear=True`` adds sum(q o Y o Y)/2,
    so dF/dY depends on Y itself (used where a path composes with what comes after it)."""
    G, Q = sym(name, Y.shape), sym("q" + name, Y.shape)
    Ys = sym("y" + name, Y.shape)
    F_of = lambda X: total(G * X + Q * X * X / 2) if nonlinear else total(G * X)   # noqa: E731
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
H_ms = sp.Symbol("H^m", integer=True, positive=True)
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


@check(
    "summary-convolution",
    "Summary: z_{m,n} = sum_{i=1}^r sum_{j=1}^c w_{i,j} p_{m-i+1,n-j+1} is 8.8 with the kernel indexed from 1 "
    "(full size)",
    r"z_{m,n} = \sum_{i=1}^{r} \sum_{j=1}^{c} w_{i,j}\, p_{m-i+1,n-j+1}",
)
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


@check(
    "8.12",
    "vec(Z) = M vec(P): the printed 4x9 weight-sharing matrix is tc.conv_matrix, and M vec(P) = vec(W (x) P)",
    r"\operatorname{vec}(\mathbf{Z}) = \mathbf{M}(\mathbf{W})\, \operatorname{vec}(\mathbf{P})",
)
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


@check(
    "8.13",
    "z_{m,n} = sum_{i=1}^r sum_{j=1}^c w_{i,j} p_{m+i-1,n+j-1}: 8.9 re-indexed from 1 (Sum), and tc.correlate",
    r"z_{m,n} = \sum_{i=1}^{r} \sum_{j=1}^{c} w_{i,j}\, p_{m+i-1,n+j-1}",
)
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


@check(
    "8.20",
    "z^{m,n,h}_{i,j} = sum_{l=1}^{H^n} sum_u sum_v w^{m,n,h,l}_{u,v} a^{n,l}_{i+u-1,j+v-1}: tc.correlate_fms",
    r"z^{m,n,h}_{i,j} = \sum_{l=1}^{H^n} \sum_{u=1}^{r^m} \sum_{v=1}^{c^m} w^{m,n,h,l}_{u,v}\, "
    r"a^{n,l}_{i+u-1,j+v-1}",
)
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


@check(
    "8.23",
    "Z = w [+]^ave_{r,c} V: weight w (1/(rc) by default), i.e. correlation with a kernel of w's and stride (r, "
    "c)",
    r"\mathbf{Z} = w \boxplus^{ave}_{r,c} \mathbf{V}",
)
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


@check(
    "8.26",
    "vec(A^m) = [a_1^{m,1}; ..; a_{S_c}^{m,1}; a_1^{m,2}; ..]: columns stacked, FM after FM (tc.vec)",
    r"\operatorname{vec}(\mathbf{A}^m) = \big[(\mathbf{a}^{m,1}_1)^T \cdots "
    r"(\mathbf{a}^{m,1}_{S^m_c})^T\,(\mathbf{a}^{m,2}_1)^T \cdots (\mathbf{a}^{m,H^m}_{S^m_c})^T\big]^T",
)
def _8_26():
    for H, R_r, R_c in [(1, 2, 3), (2, 3, 2), (3, 1, 2)]:
        A = sym("a", (H, R_r, R_c))
        columns = [A[l, :, i] for l in range(H) for i in range(R_c)]
        same(tc.vec(A), np.concatenate(columns), f"vec of {H} FMs {R_r}x{R_c}")
        same(tc.unvec(tc.vec(A), A.shape), A, f"unvec(vec(A)), {H} FMs {R_r}x{R_c}")


# ---------------------------------------------------------------------------------------------
# Gradient calculation: the sensitivities and the paths of Figure 8.12 (8.27-8.37)
# ---------------------------------------------------------------------------------------------

f_ = sp.Function("f")


def _fdot(N):
    """F_dot(N): f'(n) of the generic activation f at every element, as sympy's Derivative."""
    return emap(lambda n: sp.diff(f_(n), n), N)


def _two_layers(H_m, H_n, k, R):
    """N^n (symbols) -> A^n = f(N^n) -> LZ^{m,n} = LW (x) A^n -> N^m = LZ + b -> F(N^m), f and F generic.

    Returns the arrays, F in terms of A^n, F in terms of N^n, and dN^m = dF/dN^m."""
    Nn, A = sym("n", (H_n,) + R), sym("a", (H_n,) + R)
    LW, b = sym("lw", (H_m, H_n) + k), sym("b", (H_m,))
    F_A, dNm = loss(tc.correlate_fms(LW, A) + b[:, None, None], nonlinear=True)
    to_n = dict(zip(A.flat, emap(f_, Nn).flat))
    return Nn, A, LW, b, F_A, F_A.xreplace(to_n), dNm, to_n


@check("8.27", "s^m = dF/dn^m: the sensitivity the library propagates, vec'd, is sympy's dF/dvec(N^n)",
       r"\mathbf{s}^m \triangleq \partial F(\mathbf{x}) / \partial \mathbf{n}^m")
def _8_27():
    for H_m, H_n, k, R in LAYERS:
        Nn, A, LW, b, F_A, F_N, dNm, to_n = _two_layers(H_m, H_n, k, R)
        dA = emap(lambda e: e.xreplace(to_n), tc.conv_da(tc.summation_dlz(dNm), LW, A.shape))
        s = grad(F_N, tc.vec(Nn))
        same(tc.vec(tc.activation_dn(dA, _fdot(Nn))), s, f"vec(dN^n) vs dF/dvec(n^n), H^m={H_m}, H^n={H_n}")


@check(
    "8.28",
    "dN = dF/dN, dA = dF/dA, dLZ = dF/dLZ, dLW = dF/dLW, db = dF/db: each library path is its partial "
    "derivative",
    r"\mathbf{dN} \equiv \tfrac{\partial F}{\partial \mathbf{N}},\ \mathbf{dA} \equiv \tfrac{\partial "
    r"F}{\partial \mathbf{A}},\ \mathbf{dZ} \equiv \tfrac{\partial F}{\partial \mathbf{Z}},\ \mathbf{dW} \equiv "
    r"\tfrac{\partial F}{\partial \mathbf{W}},\ \mathbf{db} \equiv \tfrac{\partial F}{\partial b}",
    erratum="db = dF/dB -> db = dF/db (B is not defined; the tied bias is the scalar b^m)",
)
def _8_28():
    for H_m, H_n, k, R in LAYERS:
        LW, A, b, LZ, N = layer(H_m, H_n, k, R)
        F, dN = loss(N, nonlinear=True)
        LZs = sym("lz", LZ.shape)
        F_LZ, _ = loss(LZs + b[:, None, None], nonlinear=True)
        dLZ = tc.summation_dlz(dN)
        to_fwd = dict(zip(LZs.flat, LZ.flat))
        same(dLZ, emap(lambda e: e.xreplace(to_fwd), grad(F_LZ, LZs)), f"dLZ vs dF/dLZ, H^m={H_m}")
        same(tc.conv_da(dLZ, LW, A.shape), grad(F, A), f"dA vs dF/dA, H^m={H_m}, H^n={H_n}")
        same(tc.conv_dlw(dLZ, A), grad(F, LW), f"dLW vs dF/dLW, H^m={H_m}, H^n={H_n}")
        same(tc.summation_db(dN), grad(F, b), f"db vs dF/db, H^m={H_m}")
        # Printed dF/dB: read B as Figure 8.1's untied bias (one per neuron), dF/dB is dN, not db.
        B = sym("B", LZ.shape)
        F_B, _ = loss(LZ + B, nonlinear=True)
        fails(grad(F_B, B), tc.summation_db(dN), f"printed dF/dB (untied B) vs db, H^m={H_m}")


@check("8.29", "dN^m -> dLZ^{m,n} -> dA^n -> dN^n: composing the library paths gives sympy's gradient at every stage",
       r"\mathbf{dN}^m \rightarrow \mathbf{dLZ}^{m,n} \rightarrow \mathbf{dA}^n \rightarrow \mathbf{dN}^n")
def _8_29():
    for H_m, H_n, k, R in LAYERS:
        Nn, A, LW, b, F_A, F_N, dNm, to_n = _two_layers(H_m, H_n, k, R)
        dLZ = tc.summation_dlz(dNm)
        dA = tc.conv_da(dLZ, LW, A.shape)
        same(dA, grad(F_A, A), f"dN^m -> dLZ -> dA^n vs dF/dA^n, H^m={H_m}, H^n={H_n}")
        dNn = tc.activation_dn(emap(lambda e: e.xreplace(to_n), dA), _fdot(Nn))
        same(dNn, grad(F_N, Nn), f"... -> dN^n vs dF/dN^n, H^m={H_m}, H^n={H_n}")


@check("8.30", "dN^m -> db^m: tc.summation_db gives dF/db^m, batch axes summed",
       r"\mathbf{dN}^m \rightarrow db^m")
def _8_30():
    for H_m, H_n, k, R in LAYERS:
        for batch in [(), (2,)]:
            LW, A, b, LZ, N = layer(H_m, H_n, k, R, batch)
            F, dN = loss(N)
            same(tc.summation_db(dN), grad(F, b), f"db vs dF/db, H^m={H_m}, batch {batch}")


@check("8.31", "dLZ^{m,n} -> dLW^{m,n}: tc.conv_dlw gives dF/dLW, batch axes summed",
       r"\mathbf{dLZ}^{m,n} \rightarrow \mathbf{dLW}^{m,n}")
def _8_31():
    for H_m, H_n, k, R in LAYERS:
        for batch in [(), (2,)]:
            LW, A, b, LZ, N = layer(H_m, H_n, k, R, batch)
            F, dN = loss(N)
            same(tc.conv_dlw(tc.summation_dlz(dN), A), grad(F, LW), f"dLW vs dF/dLW, H^m={H_m}, batch {batch}")


@check("8.32", "N^m = LZ^{m,n} + b^m: the tied bias broadcast over each FM",
       r"\mathbf{N}^m = \mathbf{LZ}^{m,n} + b^m")
def _8_32():
    for H_m, H_n, k, R in LAYERS:
        LW, A, b, LZ, N = layer(H_m, H_n, k, R)
        same(N, table(LZ.shape, lambda h, i, j: LZ[h, i, j] + b[h]), f"broadcast vs 8.33 elementwise, H^m={H_m}")
        same(N - LZ, np.broadcast_to(b[:, None, None], N.shape), f"N - LZ is b on every pixel, H^m={H_m}")


@check("8.33", "n_{i,j} = lz_{i,j} + b: dn_{i,j}/dlz_{k,l} = [i=k][j=l] and dn_{i,j}/db = 1",
       r"n^m_{i,j} = lz^{m,n}_{i,j} + b^m")
def _8_33():
    for S in [(2, 2), (2, 3)]:
        LZ, b = sym("lz", S), sp.Symbol("b")
        N = LZ + b
        for idx in np.ndindex(S):
            same(grad(N[idx], LZ), table(S, lambda *kl: int(kl == idx)), f"dn{idx}/dLZ")
            same(sp.diff(N[idx], b), 1, f"dn{idx}/db")


@check(
    "8.34",
    "dlz_{i,j} = (dn_{i,j}/dlz_{i,j}) dF/dn_{i,j} = dn_{i,j}: tc.summation_dlz is sympy's dF/dLZ",
    r"dlz^{m,n}_{i,j} \equiv \tfrac{\partial F}{\partial lz^{m,n}_{i,j}} = \tfrac{\partial n^m_{i,j}}{\partial "
    r"lz^{m,n}_{i,j}} \tfrac{\partial F}{\partial n^m_{i,j}} = dn^m_{i,j}",
)
def _8_34():
    for H_m, S in [(1, (2, 2)), (2, (2, 3))]:
        LZ, b = sym("lz", (H_m,) + S), sym("b", (H_m,))
        N = LZ + b[:, None, None]
        F, dN = loss(N, nonlinear=True)
        chain = table(LZ.shape, lambda *x: sp.diff(N[x], LZ[x]) * dN[x])
        same(chain, grad(F, LZ), f"chain rule vs dF/dLZ, {H_m} FMs {S}")
        same(tc.summation_dlz(dN), chain, f"summation_dlz vs chain rule, {H_m} FMs {S}")


@check("8.35", "dLZ^{m,n} = dN^m, for every layer n that connects into layer m",
       r"\mathbf{dLZ}^{m,n} = \mathbf{dN}^m")
def _8_35():
    for S in [(2, 2), (3, 2)]:
        LZ1, LZ2, b = sym("lz1", (2,) + S), sym("lz2", (2,) + S), sym("b", (2,))
        F, dN = loss(LZ1 + LZ2 + b[:, None, None])
        same(tc.summation_dlz(dN), grad(F, LZ1), f"dLZ^(m,1) vs dF/dLZ^(m,1), {S}")
        same(tc.summation_dlz(dN), grad(F, LZ2), f"dLZ^(m,2) vs dF/dLZ^(m,2), {S}")


@check("8.36", "db^m = sum_{i=1}^{S_r} sum_{j=1}^{S_c} dn^m_{i,j}: tc.summation_db, the printed sum and dF/db agree",
       r"db^m \equiv \tfrac{\partial F}{\partial b^m} = \sum_{i=1}^{S^m_r} \sum_{j=1}^{S^m_c} dn^m_{i,j}")
def _8_36():
    # One FM at a time in a stack (1, S_r, S_c): the one-FM call (S_r, S_c) is "core-one-fm-symbols".
    for S in [(2, 2), (2, 3), (3, 1)]:
        LZ, b = sym("lz", (2,) + S), sym("b", (2,))
        F, dN = loss(LZ + b[:, None, None])
        printed = [sum(at(dN[h], i, j) for i in rng1(S[0]) for j in rng1(S[1])) for h in range(2)]
        same(printed, grad(F, b), f"printed sum vs dF/db, {S}")
        same(tc.summation_db(dN), printed, f"summation_db vs printed sum, {S}")


@check("8.37", "db^m = 1 [+]^ave_{S_r,S_c} dN^m: the pooling weight must be 1 (a sum), not the average's 1/(S_r S_c)",
       r"db^m = 1 \boxplus^{ave}_{S^m_r,S^m_c} \mathbf{dN}^m",
       erratum="db^m = [+]^ave_{S_r,S_c} dN^m averages; the sum needs the weight w = 1")
def _8_37():
    for S in [(2, 2), (2, 3), (3, 1)]:
        dN = sym("dn", (2,) + S)
        db = tc.summation_db(dN)
        fails(tc.avg_pool(dN, S)[:, 0, 0], db, f"printed 8.37 (average pooling, w = 1/(S_r S_c)) vs db, {S}")
        same(tc.avg_pool(dN, S, w=1)[:, 0, 0], db, f"8.37 with w = 1 vs db, {S}")


# ---------------------------------------------------------------------------------------------
# Across the convolution weight function (8.38-8.48)
# ---------------------------------------------------------------------------------------------


def _conv_layer(H_m, H_n, k, R):
    """LW, A, LZ = LW (x) A (8.38), and a nonlinear F(LZ) with dLZ = dF/dLZ."""
    LW, A = sym("lw", (H_m, H_n) + k), sym("a", (H_n,) + R)
    LZ = tc.correlate_fms(LW, A)
    F, dLZ = loss(LZ)
    return LW, A, LZ, F, dLZ


@check(
    "8.38",
    "lz^{m,n,h}_{i,j} = sum_l sum_u sum_v lw^{m,n,h,l}_{u,v} a^{n,l}_{i+u-1,j+v-1}: 8.20 with LW, "
    "tc.correlate_fms",
    r"lz^{m,n,h}_{i,j} = \sum_{l=1}^{H^n} \sum_{u=1}^{r^m} \sum_{v=1}^{c^m} lw^{m,n,h,l}_{u,v}\, "
    r"a^{n,l}_{i+u-1,j+v-1}",
)
def _8_38():
    for H_m, H_n, k, R in LAYERS:
        LW, A = sym("lw", (H_m, H_n) + k), sym("a", (H_n,) + R)
        same(tc.correlate_fms(LW, A), _sum_8_20(LW, A), f"correlate_fms vs 8.38, H^m={H_m}, H^n={H_n}, {k}, {R}")


def _sum_8_39(dLZ, LZ, A, H):
    """8.39 with h = 1..H: da^l_{u',v'} = sum_h sum_i sum_j dlz^h_{i,j} (d lz^h_{i,j} / d a^l_{u',v'})."""
    S_r, S_c = LZ.shape[1:]
    return table(A.shape, lambda l, u, v: sum(
        at(dLZ, h, i, j) * sp.diff(at(LZ, h, i, j), A[l, u, v])
        for h in rng1(H) for i in rng1(S_r) for j in rng1(S_c)))


_Hm = "sum_{h=1}^{H^n} -> sum_{h=1}^{H^m} (h counts layer m's FMs)"


@check(
    "8.39",
    "da^{n,l}_{u',v'} = sum_{h=1}^{H^m} sum_i sum_j dlz^{m,n,h}_{i,j} d lz^{m,n,h}_{i,j}/d a^{n,l}_{u',v'} "
    "(printed: h up to H^n)",
    r"da^{n,l}_{u',v'} = \sum_{h=1}^{H^m} \sum_{i=1}^{S^m_r} \sum_{j=1}^{S^m_c} \tfrac{\partial F}{\partial "
    r"lz^{m,n,h}_{i,j}} \tfrac{\partial lz^{m,n,h}_{i,j}}{\partial a^{n,l}_{u',v'}}",
    erratum=_Hm,
)
def _8_39():
    for H_m, H_n, k, R in LAYERS:
        LW, A, LZ, F, dLZ = _conv_layer(H_m, H_n, k, R)
        corrected = _sum_8_39(dLZ, LZ, A, H_m)
        same(corrected, grad(F, A), f"8.39 with h <= H^m vs dF/dA, H^m={H_m}, H^n={H_n}")
        same(tc.conv_da(dLZ, LW, A.shape), corrected, f"conv_da vs 8.39, H^m={H_m}, H^n={H_n}")
        if H_m > H_n:
            fails(_sum_8_39(dLZ, LZ, A, H_n), grad(F, A), f"printed 8.39 (h <= H^n) vs dF/dA, H^m={H_m}, H^n={H_n}")


@check(
    "8.40",
    "d lz^{m,n,h}_{i,j} / d a^{n,l}_{u',v'} = lw^{m,n,h,l}_{u'-i+1,v'-j+1} if i <= u' <= i+r-1 and j <= v' <= "
    "j+c-1, else 0",
    r"\tfrac{\partial lz^{m,n,h}_{i,j}}{\partial a^{n,l}_{u',v'}} = lw^{m,n,h,l}_{u'-i+1,v'-j+1}\ [i \le u' \le "
    r"i+r^m-1,\ j \le v' \le j+c^m-1]",
)
def _8_40():
    for H_m, H_n, (r, c), R in LAYERS:
        LW, A = sym("lw", (H_m, H_n, r, c)), sym("a", (H_n,) + R)
        LZ = tc.correlate_fms(LW, A)
        for h, i, j in np.ndindex(LZ.shape):
            I, J = i + 1, j + 1
            want = table(A.shape, lambda l, u, v: at(LW, h + 1, l + 1, u + 1 - I + 1, v + 1 - J + 1)
                         if I <= u + 1 <= I + r - 1 and J <= v + 1 <= J + c - 1 else 0)
            same(grad(LZ[h, i, j], A), want, f"d lz[{h},{i},{j}] / dA, H^m={H_m}, H^n={H_n}, r,c={r},{c}")


def _sum_8_41(dLZ, LW, R, H):
    """8.41 as printed, with h = 1..H and dlz = 0 outside 1..S_r, 1..S_c."""
    H_n, r, c = LW.shape[1:]
    return table((H_n,) + R, lambda l, u, v: sum(
        at(dLZ, h, i, j) * at(LW, h, l + 1, u + 1 - i + 1, v + 1 - j + 1)
        for h in rng1(H) for i in range(u + 1 - r + 1, u + 2) for j in range(v + 1 - c + 1, v + 2)))


@check(
    "8.41",
    "da^{n,l}_{u',v'} = sum_{h=1}^{H^m} sum_{i=u'-r+1}^{u'} sum_{j=v'-c+1}^{v'} dlz^h_{i,j} "
    "lw^{h,l}_{u'-i+1,v'-j+1} (printed: H^n)",
    r"da^{n,l}_{u',v'} = \sum_{h=1}^{H^m} \sum_{i=u'-r^m+1}^{u'} \sum_{j=v'-c^m+1}^{v'} dlz^{m,n,h}_{i,j}\, "
    r"lw^{m,n,h,l}_{u'-i+1,v'-j+1}",
    erratum=_Hm,
)
def _8_41():
    for H_m, H_n, k, R in LAYERS:
        LW, A, LZ, F, dLZ = _conv_layer(H_m, H_n, k, R)
        same(_sum_8_41(dLZ, LW, R, H_m), grad(F, A), f"8.41 with h <= H^m vs dF/dA, H^m={H_m}, H^n={H_n}")
        same(tc.conv_da(dLZ, LW, A.shape), _sum_8_41(dLZ, LW, R, H_m), f"conv_da vs 8.41, H^m={H_m}")
        if H_m > H_n:
            fails(_sum_8_41(dLZ, LW, R, H_n), grad(F, A), f"printed 8.41 (h <= H^n) vs dF/dA, H^m={H_m}, H^n={H_n}")


def _s841(H):
    """8.41 with symbolic bounds (u', v', r, c, H) and symbolic l: Sum over h = 1..H, i, j."""
    h = sp.Symbol("h", integer=True)
    body = dlz_f(h, i_, j_) * lw_f(h, l_, up_ - i_ + 1, vp_ - j_ + 1)
    return sp.Sum(body, (h, 1, H), (i_, up_ - r_ + 1, up_), (j_, vp_ - c_ + 1, vp_)), h


def _doit(s, r, c, u, v):
    """A Sum with symbolic bounds evaluated at concrete r, c, u', v' (H^m = 2)."""
    return s.subs({r_: r, c_: c, up_: u, vp_: v, H_ms: 2}).doit()


@check(
    "8.42",
    "i' = i + r - u' maps i = u'-r+1..u' onto i' = 1..r, lw_{u'-i+1} -> lw_{r-i'+1} and dlz_i -> dlz_{i'+u'-r} "
    "(Sum)",
    r"i' = i + r^m - u'",
)
def _8_42():
    s41, h = _s841(H_ms)
    moved = s41.change_index(i_, i_ + r_ - up_, ip_)
    want = sp.Sum(dlz_f(h, ip_ + up_ - r_, j_) * lw_f(h, l_, r_ - ip_ + 1, vp_ - j_ + 1),
                  (h, 1, H_ms), (ip_, 1, r_), (j_, vp_ - c_ + 1, vp_))
    if moved != want:
        raise AssertionError(f"8.41 with i' = i + r - u' gives {moved}, expected {want}")
    for r, c, u, v in [(2, 2, 1, 3), (3, 2, 2, 2)]:
        same(_doit(moved, r, c, u, v), _doit(s41, r, c, u, v), f"8.42 at r={r}, c={c}, u'={u}, v'={v}")


@check(
    "8.43",
    "j' = j + c - v' maps j = v'-c+1..v' onto j' = 1..c, lw_{v'-j+1} -> lw_{c-j'+1} and dlz_j -> dlz_{j'+v'-c} "
    "(Sum)",
    r"j' = j + c^m - v'",
)
def _8_43():
    s41, h = _s841(H_ms)
    moved = s41.change_index(j_, j_ + c_ - vp_, jp_)
    want = sp.Sum(dlz_f(h, i_, jp_ + vp_ - c_) * lw_f(h, l_, up_ - i_ + 1, c_ - jp_ + 1),
                  (h, 1, H_ms), (i_, up_ - r_ + 1, up_), (jp_, 1, c_))
    if moved != want:
        raise AssertionError(f"8.41 with j' = j + c - v' gives {moved}, expected {want}")
    for r, c, u, v in [(2, 3, 2, 1), (1, 2, 3, 3)]:
        same(_doit(moved, r, c, u, v), _doit(s41, r, c, u, v), f"8.43 at r={r}, c={c}, u'={u}, v'={v}")


def _sum_8_44(dLZ, LW, R, H):
    """8.44 with h = 1..H: sum_h sum_{i'} sum_{j'} lw^{h,l}_{r-i'+1,c-j'+1} dlz^h_{i'+u'-r,j'+v'-c}, dlz = 0 outside."""
    H_n, r, c = LW.shape[1:]
    return table((H_n,) + R, lambda l, u, v: sum(
        at(LW, h, l + 1, r - i + 1, c - j + 1) * at(dLZ, h, i + u + 1 - r, j + v + 1 - c)
        for h in rng1(H) for i in rng1(r) for j in rng1(c)))


@check(
    "8.44",
    "da^{n,l}_{u',v'} = sum_{h=1}^{H^m} sum_{i'=1}^r sum_{j'=1}^c lw^{h,l}_{r-i'+1,c-j'+1} "
    "dlz^h_{i'+u'-r,j'+v'-c} (printed: H^n, dz)",
    r"da^{n,l}_{u',v'} = \sum_{h=1}^{H^m} \sum_{i'=1}^{r^m} \sum_{j'=1}^{c^m} lw^{m,n,h,l}_{r^m-i'+1,c^m-j'+1}\, "
    r"dlz^{m,n,h}_{i'+u'-r^m,j'+v'-c^m}",
    erratum=_Hm + "; dz -> dlz (8.20's name for lz; the Summary prints dlz)",
)
def _8_44():
    s41, h = _s841(H_ms)
    moved = s41.change_index(i_, i_ + r_ - up_, ip_).change_index(j_, j_ + c_ - vp_, jp_)
    s844 = sp.Sum(lw_f(h, l_, r_ - ip_ + 1, c_ - jp_ + 1) * dlz_f(h, ip_ + up_ - r_, jp_ + vp_ - c_),
                  (h, 1, H_ms), (ip_, 1, r_), (jp_, 1, c_))
    if moved != s844:
        raise AssertionError(f"8.41 with 8.42-8.43 gives {moved}, not 8.44 {s844}")
    for H_m, H_n, k, R in LAYERS:
        LW, A, LZ, F, dLZ = _conv_layer(H_m, H_n, k, R)
        same(_sum_8_44(dLZ, LW, R, H_m), grad(F, A), f"8.44 with h <= H^m vs dF/dA, H^m={H_m}, H^n={H_n}")
        same(tc.conv_da(dLZ, LW, A.shape), _sum_8_44(dLZ, LW, R, H_m), f"conv_da vs 8.44, H^m={H_m}")
        if H_m > H_n:
            fails(_sum_8_44(dLZ, LW, R, H_n), grad(F, A), f"printed 8.44 (h <= H^n) vs dF/dA, H^m={H_m}, H^n={H_n}")


def _full(K, X):
    """K (x) X with X zero-padded by r - 1, c - 1: the full correlation that 8.44 computes."""
    return tc.correlate(K, X, padding=(K.shape[0] - 1, K.shape[1] - 1))


@check(
    "8.45",
    "dA^{n,l} = sum_{h=1}^{H^m} (rot180 LW^{m,n,h,l}) (x) dLZ^{m,n,h}, dLZ zero-padded by r-1, c-1 (printed: "
    "sum over l)",
    r"\mathbf{dA}^{n,l} = \sum_{h=1}^{H^m} (\operatorname{rot180} \mathbf{LW}^{m,n,h,l}) \otimes_{\text{full}} "
    r"\mathbf{dLZ}^{m,n,h}",
    erratum="sum_{l=1}^{H^n} -> sum_{h=1}^{H^m}; (x) must be full: dLZ zero-padded by r^m - 1, c^m - 1",
)
def _8_45():
    for H_m, H_n, k, R in LAYERS + [(2, 2, (2, 2), (4, 5))]:
        LW, A, LZ, F, dLZ = _conv_layer(H_m, H_n, k, R)
        true = grad(F, A)
        corrected = np.array([sum(_full(tc.rot180(LW[h, l]), dLZ[h]) for h in range(H_m)) for l in range(H_n)])
        same(corrected, true, f"corrected 8.45 vs dF/dA, H^m={H_m}, H^n={H_n}")
        same(tc.conv_da(dLZ, LW, A.shape), corrected, f"conv_da vs corrected 8.45, H^m={H_m}, H^n={H_n}")
        if H_n > 1:   # printed: sum over l for a fixed h; wrong whichever h is meant
            for h in range(H_m):
                printed = sum(_full(tc.rot180(LW[h, l]), dLZ[h]) for l in range(H_n))
                fails(np.array([printed] * H_n), true, f"printed 8.45 (sum over l, h={h + 1}) vs dF/dA, H^m={H_m}")
        if min(LZ.shape[1] - k[0], LZ.shape[2] - k[1]) >= 0:   # the valid (x) of 8.10 has the wrong size
            valid = np.array([sum(tc.correlate(tc.rot180(LW[h, l]), dLZ[h]) for h in range(H_m)) for l in range(H_n)])
            fails(valid, true, f"8.45 with the valid (x) of 8.13 (no padding) vs dF/dA, {k}, {R}")


@check(
    "8.46",
    "dlw^{m,n,h,l}_{u,v} = sum_{i=1}^{S_r} sum_{j=1}^{S_c} dF/dlz^h_{i,j} dlz^h_{i,j}/dlw^{h,l}_{u,v} (w, z: "
    "8.20's names for lw, lz)",
    r"dlw^{m,n,h,l}_{u,v} \equiv \tfrac{\partial F}{\partial lw^{m,n,h,l}_{u,v}} = \sum_{i=1}^{S^m_r} "
    r"\sum_{j=1}^{S^m_c} \tfrac{\partial F}{\partial lz^{m,n,h}_{i,j}} \tfrac{\partial "
    r"lz^{m,n,h}_{i,j}}{\partial lw^{m,n,h,l}_{u,v}}",
)
def _8_46():
    for H_m, H_n, k, R in LAYERS:
        LW, A, LZ, F, dLZ = _conv_layer(H_m, H_n, k, R)
        S_r, S_c = LZ.shape[1:]
        chain = table(LW.shape, lambda h, l, u, v: sum(
            at(dLZ, h + 1, i, j) * sp.diff(at(LZ, h + 1, i, j), LW[h, l, u, v]) for i in rng1(S_r) for j in rng1(S_c)))
        same(chain, grad(F, LW), f"8.46 chain rule vs dF/dLW, H^m={H_m}, H^n={H_n}")
        same(tc.conv_dlw(dLZ, A), chain, f"conv_dlw vs 8.46, H^m={H_m}, H^n={H_n}")
        # 8.20's w^{m,n,h,l} and z^{m,n,h} are 8.38's lw and lz: the same forward sum.
        same(_sum_8_20(LW, A), LZ, "8.20 (w, z) and 8.38 (lw, lz) name the same quantities")


@check(
    "8.47",
    "dlw^{m,n,h,l}_{u,v} = sum_{i=1}^{S_r} sum_{j=1}^{S_c} dlz^{m,n,h}_{i,j} a^{n,l}_{i+u-1,j+v-1}: tc.conv_dlw",
    r"dlw^{m,n,h,l}_{u,v} = \sum_{i=1}^{S^m_r} \sum_{j=1}^{S^m_c} dlz^{m,n,h}_{i,j}\, a^{n,l}_{i+u-1,j+v-1}",
)
def _8_47():
    for H_m, H_n, k, R in LAYERS:
        LW, A, LZ, F, dLZ = _conv_layer(H_m, H_n, k, R)
        S_r, S_c = LZ.shape[1:]
        printed = table(LW.shape, lambda h, l, u, v: sum(
            at(dLZ, h + 1, i, j) * at(A, l + 1, i + u + 1 - 1, j + v + 1 - 1) for i in rng1(S_r) for j in rng1(S_c)))
        same(printed, grad(F, LW), f"8.47 vs dF/dLW, H^m={H_m}, H^n={H_n}")
        same(tc.conv_dlw(dLZ, A), printed, f"conv_dlw vs 8.47, H^m={H_m}, H^n={H_n}")


@check(
    "8.48",
    "dLW^{m,n,h,l} = dLZ^{m,n,h} (x) A^{n,l}: tc.correlate with dLZ as the kernel is tc.conv_dlw and dF/dLW",
    r"\mathbf{dLW}^{m,n,h,l} = \mathbf{dLZ}^{m,n,h} \otimes \mathbf{A}^{n,l}",
)
def _8_48():
    for H_m, H_n, k, R in LAYERS:
        LW, A, LZ, F, dLZ = _conv_layer(H_m, H_n, k, R)
        notation = np.array([[tc.correlate(dLZ[h], A[l]) for l in range(H_n)] for h in range(H_m)])
        same(notation, grad(F, LW), f"dLZ (x) A vs dF/dLW, H^m={H_m}, H^n={H_n}")
        same(tc.conv_dlw(dLZ, A), notation, f"conv_dlw vs dLZ (x) A, H^m={H_m}, H^n={H_n}")


# ---------------------------------------------------------------------------------------------
# Across the activation function (8.49-8.53)
# ---------------------------------------------------------------------------------------------

ACTS = [(1, (2, 2)), (2, (2, 3)), (3, (1, 2))]   # H, (S_r, S_c)


def _activation(H, S):
    """N (symbols) -> A = f(N), f generic; F(A) nonlinear; dA = dF/dA at A = f(N); F in terms of N."""
    N = sym("n", (H,) + S)
    F, dA = loss(emap(f_, N), nonlinear=True)
    return N, F, dA


@check(
    "8.49",
    "dn^{n,h}_{i,j} = (d a_{i,j} / d n_{i,j}) dF/da_{i,j}: the chain rule through an elementwise f",
    r"dn^{n,h}_{i,j} \equiv \tfrac{\partial F}{\partial n^{n,h}_{i,j}} = \tfrac{\partial a^{n,h}_{i,j}}{\partial "
    r"n^{n,h}_{i,j}} \tfrac{\partial F}{\partial a^{n,h}_{i,j}}",
)
def _8_49():
    for H, S in ACTS:
        N, F, dA = _activation(H, S)
        chain = table(N.shape, lambda *x: sp.diff(f_(N[x]), N[x]) * dA[x])
        same(grad(F, N), chain, f"dF/dN vs (da/dn)(dF/da), {H} FMs {S}")


@check(
    "8.50",
    "da^{n,h}_{i,j} = dF/da^{n,h}_{i,j}: the dA that tc.conv_da hands to the activation path is sympy's dF/dA",
    r"\tfrac{\partial F}{\partial a^{n,h}_{i,j}} \equiv da^{n,h}_{i,j}",
)
def _8_50():
    for H_m, H_n, k, R in LAYERS:
        LW, A, b, LZ, N = layer(H_m, H_n, k, R)
        F, dN = loss(N)
        same(tc.conv_da(tc.summation_dlz(dN), LW, A.shape), grad(F, A), f"dA vs dF/dA, H^m={H_m}, H^n={H_n}")


@check(
    "8.51",
    "d a_{i,j} / d n_{i,j} = f'(n_{i,j}), and d a_{i,j} / d n_{k,l} = 0 otherwise (tanh, logistic, generic f)",
    r"\tfrac{\partial a^{n,h}_{i,j}}{\partial n^{n,h}_{i,j}} = \dot f^{n,h}(n^{n,h}_{i,j})",
)
def _8_51():
    x = sp.Symbol("x")
    logistic = lambda n: 1 / (1 + sp.exp(-n))   # noqa: E731
    acts = [("generic f", f_, lambda n: sp.Derivative(f_(n), n)),
            ("tanh", sp.tanh, lambda n: 1 - sp.tanh(n) ** 2),
            ("logistic", logistic, lambda n: logistic(n) * (1 - logistic(n)))]
    for name, f, fdot in acts:
        if sp.simplify(sp.diff(f(x), x) - fdot(x)) != 0:
            raise AssertionError(f"8.51: d{name}(n)/dn is {sp.diff(f(x), x)}, not {fdot(x)}")
        N = sym("n", (2, 3))
        A = emap(f, N)
        for idx in np.ndindex(N.shape):
            want = table(N.shape, lambda *kl: fdot(N[idx]) if kl == idx else 0)
            jac = grad(A[idx], N)
            for kl in np.ndindex(N.shape):
                if sp.simplify(jac[kl] - want[kl]) != 0:
                    raise AssertionError(f"8.51: d a{idx} / d n{kl} for {name} is {jac[kl]}, not {want[kl]}")


@check("8.52", "dn^{n,h}_{i,j} = f'(n^{n,h}_{i,j}) da^{n,h}_{i,j}: tc.activation_dn is sympy's dF/dN",
       r"dn^{n,h}_{i,j} = \dot f^{n,h}(n^{n,h}_{i,j}) \times da^{n,h}_{i,j}")
def _8_52():
    for H, S in ACTS:
        N, F, dA = _activation(H, S)
        same(tc.activation_dn(dA, _fdot(N)), grad(F, N), f"activation_dn vs dF/dN, {H} FMs {S}")
        printed = table(N.shape, lambda *x: _fdot(N)[x] * dA[x])
        same(tc.activation_dn(dA, _fdot(N)), printed, f"activation_dn vs 8.52 elementwise, {H} FMs {S}")


@check("8.53", "dN^{n,h} = F_dot^{n,h} o dA^{n,h}: the Hadamard (elementwise) product, not the matrix product",
       r"\mathbf{dN}^{n,h} = \dot{\mathbf{F}}^{n,h} \circ \mathbf{dA}^{n,h}")
def _8_53():
    for H, S in ACTS:
        dA, Fd = sym("da", (H,) + S), sym("fd", (H,) + S)
        same(tc.activation_dn(dA, Fd), table(dA.shape, lambda *x: Fd[x] * dA[x]), f"activation_dn vs o, {H} FMs {S}")
    dA, Fd = sym("da", (2, 2)), sym("fd", (2, 2))
    fails(Fd.dot(dA), tc.activation_dn(dA, Fd), "the matrix product F_dot dA vs the Hadamard product")


# ---------------------------------------------------------------------------------------------
# Solved problems and exercises (P8.1-P8.4, E8.8, E8.9)
# ---------------------------------------------------------------------------------------------


@check(
    "P8.1",
    "The convolution kernel is the correlation kernel flipped both ways: W * P = rot180(W) (x) P; P8.1's "
    "figures",
    r"\mathbf{W} * \mathbf{P} = (\operatorname{rot180} \mathbf{W}) \otimes \mathbf{P}",
)
def _p8_1():
    for (r, c), (R_r, R_c) in KERNELS:
        W, P = sym("w", (r, c)), sym("p", (R_r, R_c))
        same(tc.convolve(W, P), tc.correlate(tc.rot180(W), P), f"W * P vs rot180(W) (x) P, W {r}x{c}")
    # The figures as printed: rows j = 2..-2 (top to bottom), columns i = -2..2; w_{i,j} = 1 + i + 3j.
    z5 = [0] * 5
    fig1 = [[0, 0, 7, 8, 9], [0, 0, 4, 5, 6], [0, 0, 1, 2, 3], z5, z5]            # w_{i,j}
    fig2 = [[9, 8, 7, 0, 0], [6, 5, 4, 0, 0], [3, 2, 1, 0, 0], z5, z5]            # w_{-i,j}
    fig3 = [z5, z5, [3, 2, 1, 0, 0], [6, 5, 4, 0, 0], [9, 8, 7, 0, 0]]            # w_{-i,-j}
    fig4 = [z5, [0, 3, 2, 1, 0], [0, 6, 5, 4, 0], [0, 9, 8, 7, 0], z5]            # w_{m-i,n-j}: i = m-3.., j = n+1..
    w = lambda i, j: 1 + i + 3 * j if 0 <= i <= 2 and 0 <= j <= 2 else 0          # noqa: E731
    same(fig1, table((5, 5), lambda q, k: w(k - 2, 2 - q)), "first figure vs w_{i,j}")
    same(fig2, table((5, 5), lambda q, k: w(-(k - 2), 2 - q)), "second figure vs w_{-i,j}")
    same(fig3, table((5, 5), lambda q, k: w(-(k - 2), -(2 - q))), "third figure vs w_{-i,-j}")
    same(fig4, table((5, 5), lambda q, k: w(3 - k, q - 1)), "fourth figure vs w_{m-i,n-j}")
    same(fig2, np.array(fig1)[:, ::-1], "w_{i,j} -> w_{-i,j} is the left-right flip")
    same(fig3, np.array(fig2)[::-1, :], "w_{-i,j} -> w_{-i,-j} is the top-bottom flip")
    same(fig3, tc.rot180(np.array(fig1)), "both flips are tc.rot180")
    same(fig4, np.roll(fig3, (-1, 1), axis=(0, 1)), "w_{m-i,n-j} is w_{-i,-j} moved to (m, n)")


@check(
    "P8.2",
    "Shifting right and up has the impulse response W = [0 1; 0 0] (the solution's 'left and up' gives [1 0; 0 "
    "0])",
    r"\mathcal{W} = \text{shift right 1, up 1}:\ \mathbf{W} = \begin{bmatrix} 0 & 1 \\ 0 & 0 \end{bmatrix}",
    erratum="solution: 'shift the impulse one pixel to the left and one pixel up' -> 'to the right and one "
            "pixel up'",
)
def _p8_2():
    printed = np.array([[0, 1], [0, 0]])

    def kernel(rows, cols):
        """The impulse response around the origin, as the smallest window holding origin and image."""
        response = tc.impulse_response(lambda X: np.roll(X, (rows, cols), axis=(0, 1)), (3, 3), (1, 1))
        (u,), (v,) = np.nonzero(response)
        return response[min(u, 1): max(u, 1) + 1, min(v, 1): max(v, 1) + 1]

    same(kernel(-1, 1), printed, "impulse response of the question's shift (right 1, up 1) vs printed W")
    fails(kernel(-1, -1), printed, "impulse response of the solution's shift (left 1, up 1) vs printed W")
    # Convolving with the printed W (origin bottom-left) moves any image right 1 and up 1 (E8.4).
    origin = np.array([[0, 0], [1, 0]])
    for _, shape in KERNELS:
        P = sym("p", shape)
        moved = np.roll(tc.convolve(origin, P, mode="full"), (-1, 1), axis=(0, 1))
        same(tc.convolve(printed, P, mode="full"), moved, f"printed W * P vs P moved right and up, {shape}")
        fails(tc.convolve(printed, P, mode="full"), np.roll(tc.convolve(origin, P, mode="full"), (-1, -1), axis=(0, 1)),
              f"printed W * P vs P moved left and up, {shape}")


@check(
    "P8.3",
    "dA^{n,h} = lw^{m,n,h} [x]^ave_{r,c} dLZ^{m,n,h}: each dlz spread over its r x c block times lw "
    "(tc.avg_pool_da)",
    r"\mathbf{dA}^{n,h} = (lw^{m,n,h}) \boxtimes^{ave}_{r^m,c^m} (\mathbf{dLZ}^{m,n,h})",
    erratum="d lz^{m,n,h}_{i,j} / d a^{n,l}_{u',v'} = lw^{m,n,h} in the block -> only for l = h (0 for l != h)",
)
def _p8_3():
    for (r, c), R in POOLS:
        A, lw = sym("a", (2,) + R), sym("lw", (2,))
        LZ = np.array([tc.avg_pool(A[h], (r, c), w=lw[h]) for h in range(2)])
        F, dLZ = loss(LZ)
        true = grad(F, A)
        lib = np.array([tc.avg_pool_da(dLZ[h], (r, c), w=lw[h], input_shape=R) for h in range(2)])
        same(lib, true, f"avg_pool_da vs dF/dA, window {r}x{c}, A {R}")
        block = np.array([lw[h] * np.kron(dLZ[h], np.ones((r, c), dtype=int)) for h in range(2)])
        expanded = np.zeros(A.shape, dtype=object)
        expanded[:, : block.shape[1], : block.shape[2]] = block
        same(expanded, true, f"[x]^ave expansion vs dF/dA, window {r}x{c}")
        for h, i, j in np.ndindex(LZ.shape):
            inside = lambda u, v: r * i < u + 1 <= r * i + r and c * j < v + 1 <= c * j + c   # noqa: E731
            d = grad(LZ[h, i, j], A)
            printed = table(A.shape, lambda l, u, v: lw[h] if inside(u, v) else 0)
            same(table(A.shape, lambda l, u, v: lw[h] if inside(u, v) and l == h else 0), d,
                 f"d lz^h_({i},{j}) / d a^l with l = h, window {r}x{c}")
            fails(printed, d, f"printed d lz^h_({i},{j}) / d a^l (no l = h), window {r}x{c}")


@check(
    "P8.4",
    "dlw^{m,n,h} = sum_i sum_j dlz^h_{i,j} {sum_u sum_v a^h_{r(i-1)+u,c(j-1)+v}} = 1 [+]^ave_{S_r,S_c}(dLZ o (1 "
    "[+]^ave_{r,c} A))",
    r"dlw^{m,n,h} = \sum_{i=1}^{S^m_r} \sum_{j=1}^{S^m_c} dlz^{m,n,h}_{i,j} \Big\{ \sum_{u=1}^{r^m} "
    r"\sum_{v=1}^{c^m} a^{n,h}_{r^m(i-1)+u,\,c^m(j-1)+v} \Big\}",
    erratum="[+]^ave (weight 1/(rc)) in dlw = [+]^ave_{S_r,S_c}(dLZ o ([+]^ave_{r,c} A)) -> both pools with "
            "weight 1",
)
def _p8_4():
    for (r, c), R in POOLS:
        A, lw = sym("a", (2,) + R), sym("lw", (2,))
        LZ = np.array([tc.avg_pool(A[h], (r, c), w=lw[h]) for h in range(2)])
        F, dLZ = loss(LZ)
        S_r, S_c = LZ.shape[1:]
        printed_sum = [sum(at(dLZ[h], i, j) * sum(at(A[h], r * (i - 1) + u, c * (j - 1) + v)
                                                  for u in rng1(r) for v in rng1(c))
                           for i in rng1(S_r) for j in rng1(S_c)) for h in range(2)]
        same(printed_sum, grad(F, lw), f"P8.4 sum vs dF/dlw, window {r}x{c}, A {R}")
        same(tc.avg_pool_dlw(dLZ, A, (r, c)), printed_sum, f"avg_pool_dlw vs P8.4 sum, window {r}x{c}")
        ones = tc.avg_pool(dLZ * tc.avg_pool(A, (r, c), w=1), (S_r, S_c), w=1)[:, 0, 0]
        same(ones, printed_sum, f"P8.4 abbreviated, both weights 1, window {r}x{c}")
        averaged = tc.avg_pool(dLZ * tc.avg_pool(A, (r, c)), (S_r, S_c))[:, 0, 0]
        fails(averaged, printed_sum, f"P8.4 abbreviated with average weights, window {r}x{c}")


@check(
    "E8.8",
    "max pooling backward: dlz_{i,j} goes to the pixel that is the maximum of window (i, j) (tc.max_pool_da = "
    "sympy.diff of Max)",
    r"da_{u',v'} = \sum_{(i,j):\ (u',v') = \arg\max \text{window}(i,j)} dlz_{i,j}",
)
def _e8_8():
    cases = [((2, 2), None, (4, 4)), ((1, 2), None, (3, 5)), ((2, 2), 1, (3, 3)), ((2, 3), (1, 2), (3, 5))]
    for seed, (size, stride, shape) in enumerate(cases):
        A = sp.symarray("a", shape, real=True)
        s_r, s_c = stride if isinstance(stride, tuple) else (stride or size[0], stride or size[1])
        S = tc.output_size(shape, size, stride=(s_r, s_c))
        Z = table(S, lambda i, j: sp.Max(*[A[s_r * i + k, s_c * j + l]
                                           for k in range(size[0]) for l in range(size[1])]))
        G = sym("g", S)
        values = {a: sp.Integer(int(v)) for a, v in
                  zip(A.flat, np.random.default_rng(seed).permutation(A.size))}   # distinct: no ties
        true = emap(lambda e: e.xreplace(values), grad(total(G * Z), A))   # Heaviside(+-k) evaluates to 1 or 0
        A_num = emap(lambda a: values[a], A)
        same(tc.max_pool(A_num, size, stride=stride), emap(lambda e: e.xreplace(values), Z),
             f"max_pool vs Max, {shape}")
        same(tc.max_pool_da(G, A_num, size, stride=stride), true,
             f"max_pool_da vs d(sum g Max)/dA, {shape}, {size}, {stride}")


@check(
    "E8.9",
    "N = LZ . b: dLZ^{m,n} = b^m dN^m and db^m = sum_i sum_j dn^m_{i,j} lz^{m,n}_{i,j} (tc.product_dlz, "
    "tc.product_db)",
    r"\mathbf{N}^m = \mathbf{LZ}^{m,n} b^m:\ \mathbf{dLZ}^{m,n} = b^m\,\mathbf{dN}^m,\ db^m = \sum_{i,j} "
    r"dn^m_{i,j}\, lz^{m,n}_{i,j}",
)
def _e8_9():
    for H, S in [(1, (2, 2)), (2, (2, 3)), (3, (3, 1))]:
        LZ, b = sym("lz", (H,) + S), sym("b", (H,))
        F, dN = loss(LZ * b[:, None, None])
        same(tc.product_dlz(dN, b), grad(F, LZ), f"product_dlz vs dF/dLZ, {H} FMs {S}")
        same(tc.product_db(dN, LZ), grad(F, b), f"product_db vs dF/db, {H} FMs {S}")


@check(
    "core-one-fm-symbols",
    "One FM (S_r, S_c) of sympy symbols: tc.summation_db, tc.product_db, tc.avg_pool_dlw return the scalar sum",
    r"db = \sum_{i,j} dn_{i,j},\ \ db = \sum_{i,j} dn_{i,j}\, lz_{i,j},\ \ dlw = \sum_{i,j} dlz_{i,j} "
    r"\textstyle\sum_{\text{window}} a",
)
def _core_one_fm():
    dN, LZ, A = sym("dn", (2, 3)), sym("lz", (2, 3)), sym("a", (4, 6))
    sums = tc.avg_pool(A, 2, w=1)
    cases = [("summation_db(dN)", lambda: tc.summation_db(dN), total(dN)),
             ("product_db(dN, LZ)", lambda: tc.product_db(dN, LZ), total(dN * LZ)),
             ("avg_pool_dlw(dLZ, A, 2)", lambda: tc.avg_pool_dlw(dN, A, 2), total(dN * sums))]
    problems = []
    for name, call, want in cases:
        try:
            same(call(), want, name)
        except Exception as exc:   # noqa: BLE001 - collect every broken function before reporting
            problems.append(f"tc.{name} on one symbolic FM: {type(exc).__name__}: {exc}")
    if problems:
        raise AssertionError("; ".join(problems) + " (gradient._per_fm: an object array's .sum() over all "
                             "axes is a sympy scalar, which has no .ndim)")


# ---------------------------------------------------------------------------------------------
# Lecture slides and notes
# ---------------------------------------------------------------------------------------------


@check(
    "wu-kron",
    "vec(AXB) = (B^T kron A) vec(X); Wu's chain dz/dvec(y)^T (F^T kron I) = ((F kron I) dz/dvec(y))^T = "
    "vec(dz/dY F^T)^T",
    r"\operatorname{vec}(AXB) = (B^T \otimes A) \operatorname{vec}(X),\quad \tfrac{\partial z}{\partial "
    r"\operatorname{vec}(\mathbf{y})^T} (F^T \otimes I) = \operatorname{vec}\big(\tfrac{\partial z}{\partial Y} "
    r"F^T\big)^T",
)
def _wu_kron():
    for (p, q), (q2, s), t in [((2, 3), (3, 2), 4), ((3, 1), (1, 2), 2)]:
        A, X, B = sym("A", (p, q)), sym("X", (q, s)), sym("B", (s, t))
        same(tc.vec(A.dot(X).dot(B)), np.kron(B.T, A).dot(tc.vec(X)), f"vec(AXB), A {p}x{q}, X {q}x{s}, B {s}x{t}")
    # The slides' chain: Y = Phi F with Phi (p x q) the windows and F (q x s) the kernels, z a loss of Y.
    for H_m, H_n, k, R in LAYERS:
        A, LW = sym("a", (H_n,) + R), sym("lw", (H_m, H_n) + k)
        Phi, Fk = im2col(A, k).T, LW.reshape(H_m, -1).T              # (S_r S_c, H^n r c), (H^n r c, H^m)
        Z = tc.correlate_fms(LW, A)
        Y = Phi.dot(Fk)
        same(Y, Z.reshape(H_m, -1).T, "Y = Phi F is tc.correlate_fms, one column per output FM")
        z, dY = loss(Y)
        Ys, Phis = sym("yg", Y.shape), sym("phi", Phi.shape)   # Y and Phi as free variables
        g = emap(lambda e: e.xreplace(dict(zip(Ys.flat, Y.flat))), grad(loss(Ys)[0], tc.vec(Ys)))
        same(g, tc.vec(dY), "dz/dvec(y) = vec(dz/dY)")
        I = np.eye(Y.shape[0], dtype=int).astype(object)
        truth = emap(lambda e: e.xreplace(dict(zip(Phis.flat, Phi.flat))), grad(loss(Phis.dot(Fk))[0], tc.vec(Phis)))
        same(g.dot(np.kron(Fk.T, I)), truth, "line 1: dz/dvec(y)^T (F^T kron I) vs dz/dvec(Phi)^T")
        same(np.kron(Fk, I).dot(g), truth, "line 2: ((F kron I) dz/dvec(y))^T")
        same(tc.vec(I.dot(dY).dot(Fk.T)), truth, "line 3: vec(I dz/dY F^T)^T")
        same(tc.vec(dY.dot(Fk.T)), truth, "line 4: vec(dz/dY F^T)^T")
        if Fk.shape[0] != Fk.shape[1]:   # F kron I on the left does not even conform: the transpose is needed
            try:
                g.dot(np.kron(Fk, I))
            except ValueError:
                pass
            else:
                raise AssertionError("dz/dvec(y)^T (F kron I) conformed although F is not square")
        # Back from Phi to A through the windows: the library's conv_da.
        dPhi = dY.dot(Fk.T)
        dA = table(A.shape, lambda *x: total(emap(lambda e: sp.diff(e, A[x]), Phi) * dPhi))
        same(tc.conv_da(dY.T.reshape(Z.shape), LW, A.shape), dA, f"conv_da vs dz/dPhi pushed back to A, H^m={H_m}")
        same(dA, grad(z, A), f"dz/dA, H^m={H_m}, H^n={H_n}")


@check(
    "linearity",
    "a * (l1 b + l2 c) = a * l1 b + a * l2 c = l1 a * b + l2 a * c: tc.convolve is linear, 1-D and 2-D",
    r"a * (\lambda_1 b + \lambda_2 c) = a * \lambda_1 b + a * \lambda_2 c = \lambda_1 a * b + \lambda_2 a * c",
)
def _linearity():
    l1, l2 = sp.symbols("lambda1 lambda2")
    for ka, kb in [((3,), (4,)), ((2, 2), (3, 4)), ((2, 3), (2, 2))]:
        a, b, c = sym("a", ka), sym("b", kb), sym("c", kb)
        conv = lambda u, v: tc.convolve(u, v, mode="full")   # noqa: E731
        lhs = conv(a, l1 * b + l2 * c)
        same(lhs, conv(a, l1 * b) + conv(a, l2 * c), f"a * (l1 b + l2 c) vs a * l1 b + a * l2 c, {ka}, {kb}")
        same(lhs, l1 * conv(a, b) + l2 * conv(a, c), f"... vs l1 a * b + l2 a * c, {ka}, {kb}")


@check(
    "full-size",
    "Full convolution of a size-M input with a size-k filter has M + k - 1 outputs ((M+k-1)^2 in 2-D; M + 2 for "
    "k = 3)",
    r"M * k \rightarrow M + k - 1,\quad M^2 * k^2 \rightarrow (M+k-1)^2",
)
def _full_size():
    for M in range(1, 6):
        for k in range(1, 5):
            overlaps = sum(1 for t in range(-k, M + k) if any(0 <= t - tau < M for tau in range(k)))
            got = tc.convolve(sym("w", (k,)), sym("x", (M,)), mode="full").shape
            got2 = tc.convolve(sym("w", (k, k)), sym("x", (M, M)), mode="full").shape
            if got != (M + k - 1,) or overlaps != M + k - 1 or got2 != (M + k - 1, M + k - 1):
                raise AssertionError(f"full-size: M={M}, k={k}: 1-D {got}, 2-D {got2}, {overlaps} overlaps")
    M, k = sp.symbols("M k", integer=True, positive=True)
    if sp.expand(tc.output_size(M, k, padding=k - 1) - (M + k - 1)) != 0:
        raise AssertionError("full-size: output_size(M, k, padding=k-1) is not M + k - 1")
    if sp.expand(tc.output_size(M, 3, padding=2) - (M + 2)) != 0:
        raise AssertionError("full-size: k = 3 does not give M + 2")


@check(
    "notes-filter",
    "Notes: filter (2, -1, 1, 1) * vector (1, 1, 2, 1) = 2(1,1,2,1,0,0,0) - (0,1,1,2,1,0,0) + (0,0,1,1,2,1,0) + "
    "(0,0,0,1,1,2,1)",
    r"(2,-1,1,1) * (1,1,2,1) = (2,1,4,2,2,3,1)",
    erratum="filter (2, -1, 1, 3, 1) -> (2, -1, 1, 1): the expansion has four terms of length 7 = 4 + 4 - 1",
)
def _notes_filter():
    vector = [1, 1, 2, 1]
    rows = np.array([[1, 1, 2, 1, 0, 0, 0], [0, 1, 1, 2, 1, 0, 0], [0, 0, 1, 1, 2, 1, 0], [0, 0, 0, 1, 1, 2, 1]])
    coefficients = [2, -1, 1, 1]   # as printed in front of the rows
    expansion = np.array(coefficients).dot(rows)
    same(tc.convolve(coefficients, vector, mode="full"), expansion, "(2, -1, 1, 1) * (1, 1, 2, 1) vs the expansion")
    fails(tc.convolve([2, -1, 1, 3, 1], vector, mode="full"), expansion, "printed filter (2, -1, 1, 3, 1)")
    x = sym("x", (4,))
    shifted = np.array([np.concatenate([[0] * s, x, [0] * (3 - s)]) for s in range(4)])
    same(rows, emap(lambda e: sp.sympify(e).subs(dict(zip(x, vector))), shifted), "rows are shifted copies")
    w = sym("w", (4,))
    same(tc.convolve(w, x, mode="full"), w.dot(shifted), "filter * vector = sum_k w_k (vector shifted by k)")


def _rows_1d(Hm, J, k, T):
    return sym("w", (Hm, J, k)), sym("x", (J, T))


@check(
    "1d-multichannel-backward",
    "y_{i,t} = sum_j sum_tau w_{i,j,tau} x_{j,t+tau}; x_bar_j = sum_i y_bar_i * W_{i,j} (full convolution)",
    r"\bar{x}_{j,s} = \sum_i \sum_\tau \bar{y}_{i,s-\tau}\, w_{i,j,\tau},\quad \bar{\mathbf{x}}_j = \sum_i "
    r"\bar{\mathbf{y}}_i * \mathbf{W}_{i,j}",
    erratum="x_bar_{j,t+tau} = sum_tau y_bar_{i,t} W_{i,j,tau} -> "
            "x_bar_{j,s} = sum_i sum_tau y_bar_{i,s-tau} W_{i,j,tau}; x_bar_{j,t} = sum_tau ... lacks sum_i",
)
def _multichannel():
    for Hm, J, k, T in [(1, 1, 3, 5), (2, 3, 3, 6), (2, 2, 1, 3)]:
        W, X = _rows_1d(Hm, J, k, T)
        Rk = (k - 1) // 2                                    # k = 2R + 1, tau = -R..R
        Y = tc.correlate_fms(W, X)
        notes = table((Hm, T - 2 * Rk), lambda i, t: sum(
            W[i, j, tau + Rk] * X[j, t + Rk + tau] for j in range(J) for tau in range(-Rk, Rk + 1)))
        same(Y, notes, f"correlate_fms 1-D vs the notes' y_(i,t), H^m={Hm}, J={J}, k={k}")
        F, dY = loss(Y)
        true = grad(F, X)
        same(tc.conv_da(dY, W, X.shape), true, f"conv_da 1-D vs dF/dx, H^m={Hm}, J={J}")
        same(np.array([sum(tc.convolve(W[i, j], dY[i], mode="full") for i in range(Hm)) for j in range(J)]), true,
             f"x_bar_j = sum_i y_bar_i * W_ij vs dF/dx, H^m={Hm}, J={J}")
        scatter = np.zeros(X.shape, dtype=object)
        for i, j, t, tau in itertools.product(range(Hm), range(J), range(Y.shape[1]), range(k)):
            scatter[j, t + tau] += dY[i, t] * W[i, j, tau]
        same(scatter, true, f"scatter-add of y_bar_(i,t) W_(i,j,tau) into x_bar_(j,t+tau), H^m={Hm}")
        for j, t, tau in itertools.product(range(J), range(Y.shape[1]), range(k)):
            if k > 1:   # printed: sum over tau on the right while x_bar_(j, t+tau) keeps tau on the left
                fails(sum(dY[i, t] * W[i, j, u] for i in range(Hm) for u in range(k)), true[j, t + tau],
                      f"printed x_bar_(j,t+tau) = sum_tau y_bar_(i,t) W_(i,j,tau) at t={t}, tau={tau}")
        if Hm > 1:     # "x_bar_(j,t) = sum_tau y_bar_(i,t-tau) dy_(i,t-tau)/dx_(j,t)" for one i only
            one_i = table(X.shape, lambda j, s: sum(at0(dY[0], s - tau) * sp.diff(at0(Y[0], s - tau), X[j, s])
                                                    for tau in range(k)))
            fails(one_i, true, f"x_bar_(j,t) with one output FM i, H^m={Hm}")


@check(
    "dL/dX-full-rot180",
    "Notes: dL/dX = (zero-padded dL/dZ) (x) rot180(K), the full convolution K * dL/dZ; rot180 [K11 K12; K21 "
    "K22] = [K22 K21; K12 K11]",
    r"\tfrac{\partial L}{\partial X} = \operatorname{rot180}(K) \otimes "
    r"\operatorname{pad}_{k-1}\big(\tfrac{\partial L}{\partial Z}\big) = K *_{\text{full}} \tfrac{\partial "
    r"L}{\partial Z}",
)
def _dl_dx():
    K = _book("K", (2, 2))
    same(tc.rot180(K), [[K[1, 1], K[1, 0]], [K[0, 1], K[0, 0]]], "rot180 of the notes' 2x2 K")
    for (r, c), R in KERNELS:
        K, X = sym("K", (r, c)), sym("X", R)
        Z = tc.correlate(K, X)
        F, dZ = loss(Z)
        true = grad(F, X)
        same(tc.correlate(tc.rot180(K), pad0(dZ, (r - 1, c - 1))), true,
             f"rot180(K) (x) padded dL/dZ vs dL/dX, K {r}x{c}")
        same(tc.convolve(K, dZ, mode="full"), true, f"K * dL/dZ (full) vs dL/dX, K {r}x{c}")
        same(tc.conv_da(dZ[None], K[None, None], (1,) + R)[0], true, f"conv_da vs dL/dX, K {r}x{c}")


@check(
    "dL/dK-sum",
    "Notes: dL/dK_{u,v} = sum over all outputs (i, j) of dL/dz_{i,j} dz_{i,j}/dK_{u,v} (tc.conv_dlw)",
    r"\tfrac{\partial L}{\partial K_{u,v}} = \sum_{i}\sum_{j} \tfrac{\partial L}{\partial z_{i,j}} "
    r"\tfrac{\partial z_{i,j}}{\partial K_{u,v}}",
)
def _dl_dk():
    for (r, c), R in KERNELS:
        K, X = sym("K", (r, c)), sym("X", R)
        Z = tc.correlate(K, X)
        F, dZ = loss(Z)
        terms = np.array([[dZ[i, j] * grad(Z[i, j], K) for j in range(Z.shape[1])] for i in range(Z.shape[0])])
        chain = terms.sum(axis=(0, 1))
        same(chain, grad(F, K), f"sum over all outputs vs dL/dK, K {r}x{c}, X {R}")
        same(tc.conv_dlw(dZ[None], X[None])[0, 0], chain, f"conv_dlw vs the sum, K {r}x{c}")
        for i, j in np.ndindex(Z.shape):
            if Z.size > 1:
                fails(chain - terms[i, j], grad(F, K), f"the sum without output ({i}, {j})")


@check("dL/dB", "Notes: dL/dB = sum_{i,j} dL/dz_{i,j} for the tied (scalar) bias B (printed without the sum)",
       r"\tfrac{\partial L}{\partial B} = \sum_{i}\sum_{j} \tfrac{\partial L}{\partial z_{i,j}}",
       erratum="dL/dB = dL/dz_{ij} -> dL/dB = sum_{i,j} dL/dz_{ij}")
def _dl_db():
    for (r, c), R in KERNELS:
        K, X, B = sym("K", (r, c)), sym("X", R), sp.Symbol("B")
        Z = tc.correlate(K, X) + B
        F, dZ = loss(Z)
        true = sp.diff(F, B)
        same(total(dZ), true, f"sum_ij dL/dz_ij vs dL/dB, K {r}x{c}, X {R}")
        same(tc.summation_db(dZ[None])[0], true, f"summation_db vs dL/dB, K {r}x{c}")
        if Z.size > 1:
            for i, j in np.ndindex(Z.shape):
                fails(dZ[i, j], true, f"printed dL/dB = dL/dz_({i + 1},{j + 1})")


@check(
    "slides-feature-map",
    "Slides: the 5x5 feature map is detector (x) image (correlation); the printed entry (3, 3) is 1 but should "
    "be 0",
    r"\text{Feature Map} = \text{Detector} \otimes \text{Image}",
    erratum="feature map row 3 (1, 0, 1, 2, 1) -> (1, 0, 0, 2, 1)",
)
def _slides_feature_map():
    printed = np.array([[0, 1, 0, 0, 0], [0, 1, 1, 1, 0], [1, 0, 1, 2, 1], [1, 4, 2, 1, 0], [0, 0, 1, 2, 1]])
    corrected = printed.copy()
    corrected[2, 2] = 0
    image, detector = np.asarray(data.SLIDE_IMAGE), np.asarray(data.SLIDE_DETECTOR)
    Z = tc.correlate(detector, image)
    same(Z, corrected, "detector (x) image vs the corrected map")
    fails(Z, printed, "detector (x) image vs the printed map")
    same(image[2:5, 2:5] * detector, np.zeros((3, 3), dtype=int), "window (3, 3): the only 1 meets a 0 of the detector")
    fails(tc.convolve(detector, image), corrected, "a true convolution (flipped detector) vs the map")
    D = sym("d", (3, 3))   # the same window, any detector: z_33 = d_22 * 1
    same(tc.correlate(D, image)[2, 2], D[1, 1], "z_(3,3) = centre of the detector")


@check("slides-integral", "Slides: (f * g)(t) = integral f(tau) g(t - tau) dtau = (g * f)(t), the continuous 8.5-8.6",
       r"(f*g)(t) = \int_{-\infty}^{\infty} f(\tau)\, g(t-\tau)\, d\tau = (g*f)(t)")
def _slides_integral():
    t, tau, u = sp.symbols("t tau u", real=True)
    f, g = sp.Function("f"), sp.Function("g")
    fg = sp.Integral(f(tau) * g(t - tau), (tau, -sp.oo, sp.oo))
    gf = sp.Integral(g(u) * f(t - u), (u, -sp.oo, sp.oo))
    if fg.transform(tau, (t - u, u)) != gf:
        raise AssertionError(f"tau = t - u turns f * g into {fg.transform(tau, (t - u, u))}, not g * f")
    causal_f, causal_g = sp.exp(-tau), sp.exp(-2 * tau)   # both 0 for tau < 0, so tau runs 0..t
    left = sp.integrate(causal_f * causal_g.subs(tau, t - tau), (tau, 0, t))
    right = sp.integrate(causal_g * causal_f.subs(tau, t - tau), (tau, 0, t))
    same(left, right, "e^-t * e^-2t both ways")
    same(left, sp.exp(-t) - sp.exp(-2 * t), "e^-t * e^-2t = e^-t - e^-2t")


@check(
    "same-padding",
    "Notes: VALID (no padding) gives M - k + 1; SAME pads (k - 1)/2 for odd k and keeps M; stride floors",
    r"\text{VALID}: M-k+1,\quad \text{SAME}: P^d = \tfrac{k-1}{2} \Rightarrow M",
)
def _same_padding():
    for M in range(1, 7):
        for k in (1, 3, 5):
            if k > M:
                continue
            X, W = sym("x", (M, M + 1)), sym("w", (k, k))
            if tc.output_size(M, k, padding=(k - 1) // 2) != M or tc.convolve(W, X, mode="same").shape != X.shape:
                raise AssertionError(f"same-padding: M={M}, k={k} does not keep the size")
            if tc.correlate(W, X).shape != (M - k + 1, M + 1 - k + 1):
                raise AssertionError(f"same-padding: VALID M={M}, k={k}")


# ---------------------------------------------------------------------------------------------
# Command line: python -m textbook_core.derivations [LABEL ...]
# ---------------------------------------------------------------------------------------------


def main(argv=None, checks_=None):
    """Run the checks (all, or the labels in `argv`) and print one line each: label, PASS or FAIL,
    statement. Failure messages and the total time go to stderr. Returns 0, 1 on a failure, 2 on an
    unknown label."""
    argv = sys.argv[1:] if argv is None else list(argv)
    known = registry() if checks_ is None else dict(checks_)
    labels = argv or list(known)
    unknown = [label for label in labels if label not in known]
    if unknown:
        print(f"unknown label(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    width = max(len(label) for label in labels)
    failed, start = [], time.perf_counter()
    for label in labels:
        entry = known[label]
        try:
            entry.func()
            status = "PASS"
        except AssertionError as exc:
            status = "FAIL"
            failed.append(f"{label}: {exc}")
        print(f"{label:<{width}}  {status}  {entry.statement}", flush=True)
    for message in failed:
        print(f"FAIL {message}", file=sys.stderr)
    print(f"{len(labels)} checks, {len(failed)} failed, {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
