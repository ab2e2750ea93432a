"""Shared tools of the checks: symbols, comparison, gradients, the book's 1-based indexing.

Inputs are built with ``sympy.symarray``; `same` compares two arrays element by element after
expansion, `fails` is an erratum's evidence (the printed form must differ from the true value),
`grad` is ``sympy.diff`` element by element and `loss` builds a loss with symbolic coefficients,
so a path that matches sympy's gradient for it matches for every upstream gradient.
"""
import numpy as np
import sympy as sp

import textbook_core as tc

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

# Window (r, c) and input (R_r, R_c) of the pooling checks.
POOLS = [((2, 2), (4, 4)), ((1, 2), (3, 4)), ((2, 3), (5, 7))]   # window (r, c), input (R_r, R_c)


def book(name, shape):
    """Symbols named as printed, 1-based: w_{1,1} is ``w11``."""
    return table(shape, lambda *idx: sp.Symbol(name + "".join(str(i + 1) for i in idx)))


def distinct(shape, seed):
    """Distinct values t + k (t real, k a permutation): comparable, so max is defined, and symbolic."""
    t = sp.Symbol("t", real=True)
    ks = np.random.default_rng(seed).permutation(int(np.prod(shape)))
    return np.array([t + int(k) for k in ks], dtype=object).reshape(shape)


def sum_8_20(LW, A):
    """8.20 (and 8.38) as printed, 1-based: z^h_{i,j} = sum_l sum_u sum_v w^{h,l}_{u,v} a^l_{i+u-1,j+v-1}."""
    H_m, H_n, r, c = LW.shape
    S_r, S_c = A.shape[1] - r + 1, A.shape[2] - c + 1
    return table((H_m, S_r, S_c), lambda h, i, j: sum(
        at(LW, h + 1, l, u, v) * at(A, l, i + 1 + u - 1, j + 1 + v - 1)
        for l in rng1(H_n) for u in rng1(r) for v in rng1(c)))


f_ = sp.Function("f")
"""A generic transfer function f."""


def fdot(N):
    """F_dot(N): f'(n) of the generic activation f at every element, as sympy's Derivative."""
    return emap(lambda n: sp.diff(f_(n), n), N)


# ---------------------------------------------------------------------------------------------
# Beyond the chapter: the sums with padding P^d and stride S^t, written out (0-based)
# ---------------------------------------------------------------------------------------------

# Layers with padding and stride: H^m, H^n, (r, c), (R_r, R_c), (P_r, P_c), (S_r^t, S_c^t), batch.
# The row and column padding differ, so that swapping them shows; strides leave a remainder (the
# last row or column no window reaches) and windows overlap or leave gaps.
PADDED = [(2, 2, (2, 3), (4, 5), (1, 0), (2, 1), ()),
          (1, 2, (3, 2), (5, 4), (0, 2), (1, 3), (2,)),
          (2, 1, (2, 2), (3, 3), (2, 1), (2, 2), ())]


def padded_size(R, r, P, S):
    """8.18 written out: how many kernel positions 0, S^t, 2 S^t, ... fit in R + 2 P^d."""
    return (R + 2 * P - r) // S + 1


def conv_sum(LW, A, padding, stride):
    """8.20 with padding and stride as a sum over one stack A (H^n, R_r, R_c), 0-based, a read as 0
    outside the image: z^h_{i,j} = sum_l sum_u sum_v w^{h,l}_{u,v} a^l_{i S^t + u - P^d, j S^t + v - P^d}."""
    H_m, H_n, r, c = LW.shape
    (pr, pc), (sr, sc) = padding, stride
    S = (padded_size(A.shape[-2], r, pr, sr), padded_size(A.shape[-1], c, pc, sc))
    return table((H_m,) + S, lambda h, i, j: sum(
        LW[h, l, u, v] * at0(A, l, i * sr + u - pr, j * sc + v - pc)
        for l in range(H_n) for u in range(r) for v in range(c)))


def batched(f, X, core):
    """f applied to each item of X's batch axes (the axes in front of its last `core` ones)."""
    X = np.asarray(X, dtype=object)
    if X.ndim == core:
        return f(X)
    items = [f(X[idx]) for idx in np.ndindex(X.shape[:-core])]
    return np.array(items, dtype=object).reshape(X.shape[:-core] + np.shape(items[0]))
