"""Checks that restate an exercise's answer: E8.7 (output size and same padding), E8.8 (max pooling
backward, with its tie rule, overlapping windows, batch axes and the forward's indices) and E8.9
(the product net input).

The student edition leaves this module out; the package runs without it."""
import numpy as np
import sympy as sp

import textbook_core as tc
from textbook_core.derivations.registry import check
from textbook_core.derivations.symbolic import (
    emap, grad, loss, same, sym, table, total,
)


@check(
    "E8.7",
    "Output sizes: (i) a 15x15 image, 3x3 kernel, S^t = 2, P^d = 1 gives 8x8; (ii) with S^t = 1 an odd r keeps the "
    "size for P^d = (r - 1)/2",
    r"\lfloor (15 + 2 - 3)/2 \rfloor + 1 = 8,\quad R + 2\tfrac{r-1}{2} - r + 1 = R",
)
def _e8_7():
    if tc.output_size(15, 3, padding=1, stride=2) != 8 or tc.output_size((15, 15), (3, 3), padding=1, stride=2) != (8, 8):
        raise AssertionError("E8.7 (i): 15x15, 3x3, S^t = 2, P^d = 1 should give 8x8")
    if tc.correlate(sym("w", (3, 3)), sym("p", (15, 15)), padding=1, stride=2).shape != (8, 8):
        raise AssertionError("E8.7 (i): tc.correlate does not give 8x8")
    R, q = sp.symbols("R q", integer=True, positive=True)       # r = 2q - 1 is any odd size
    if sp.simplify(tc.output_size(R, 2 * q - 1, padding=q - 1) - R) != 0:
        raise AssertionError("E8.7 (ii): P^d = (r - 1)/2 does not keep R")


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
    for H, S, batch in [(1, (2, 2), ()), (2, (2, 3), ()), (3, (3, 1), ()), (2, (1, 2), (2,))]:
        LZ, b = sym("lz", batch + (H,) + S), sym("b", (H,))
        F, dN = loss(LZ * b[:, None, None])
        same(tc.product_dlz(dN, b), grad(F, LZ), f"product_dlz vs dF/dLZ, {H} FMs {S}, batch {batch}")
        same(tc.product_db(dN, LZ), grad(F, b), f"product_db vs dF/db (batch summed), {H} FMs {S}, batch {batch}")
    LZ, b = sym("lz", (2, 3)), sp.Symbol("b")                  # one FM and a scalar b
    F, dN = loss(LZ * b)
    same(tc.product_dlz(dN, b), grad(F, LZ), "product_dlz on one FM")
    same(tc.product_db(dN, LZ), sp.diff(F, b), "product_db on one FM: the scalar sum")


# ---------------------------------------------------------------------------------------------
# E8.8 beyond the chapter: the tie rule, overlapping windows, batch axes, the forward's indices
# ---------------------------------------------------------------------------------------------

# Windows, strides and inputs that the windows cover exactly, overlapping or not.
TILED = [((2, 2), None, (4, 4)), ((2, 2), (1, 1), (3, 3)), ((1, 3), (1, 2), (2, 5)), ((3, 2), (1, 1), (4, 3))]


def _tie_broken_gradient(values, size, stride, G):
    """d(sum G o Max)/dA at `values` with each pixel lowered by delta times its row-major rank.

    Inside any window the windows' row-major order is the pixels' own, so lowering later pixels by
    a little (delta < 1/2 the smallest gap between distinct values) breaks every tie for the first
    maximum and leaves all other comparisons as they were: the first-maximum rule is the gradient
    of this Max."""
    A = sp.symarray("a", values.shape, real=True)
    (r, c), (sr, sc) = size, stride or size
    S = tc.output_size(values.shape, size, stride=(sr, sc))
    delta = sp.Rational(1, 4 * values.size)
    Z = table(S, lambda i, j: sp.Max(*[A[sr * i + k, sc * j + l] for k in range(r) for l in range(c)]))
    at_values = {a: sp.Integer(int(v)) - delta * rank for rank, (a, v) in enumerate(zip(A.flat, values.flat))}
    return emap(lambda e: e.xreplace(at_values), grad(total(G * Z), A))


@check(
    "E8.8+tie",
    "Beyond the chapter: a tie sends the gradient to the first maximum in row-major window order, the gradient of Max "
    "with later pixels lowered by an infinitesimal; overlapping windows too, numbers and symbols alike",
    r"da_{u',v'} = \sum_{(i,j):\ (u',v') = \text{first} \arg\max \text{window}(i,j)} dlz_{i,j}",
)
def _e8_8_tie():
    for seed, (size, stride, shape) in enumerate(TILED):
        values = np.random.default_rng(seed).integers(0, 2, shape)          # 0 and 1: ties everywhere
        S = tc.output_size(shape, size, stride=stride or size)
        G = sym("g", S)
        true = _tie_broken_gradient(values, size, stride, G)
        what = f"window {size}, S^t={stride}, A {shape}"
        same(tc.max_pool_da(G, values, size, stride=stride), true, f"max_pool_da with ties, {what}")
        # The same rule where sympy cannot order the values: the Piecewise, evaluated at the ties.
        A = sp.symarray("a", shape, real=True)
        piecewise = tc.max_pool_da(G, A, size, stride=stride)
        subs = {a: sp.Integer(int(v)) for a, v in zip(A.flat, values.flat)}
        same(emap(lambda e: e.xreplace(subs), piecewise), true, f"the symbolic max_pool_da at the ties, {what}")


@check(
    "E8.8+indices",
    "Beyond the chapter: tc.max_pool_da given the indices of tc.max_pool(..., return_indices=True) is tc.max_pool_da "
    "without them, with batch axes broadcast between dLZ and A",
    r"\mathbf{dA} = \operatorname{scatter}_{\text{indices}}(\mathbf{dLZ})",
)
def _e8_8_indices():
    for seed, (size, stride, shape) in enumerate(TILED):
        values = np.random.default_rng(seed + 7).integers(0, 3, (2,) + shape)     # two FMs, with ties
        S = tc.output_size(shape, size, stride=stride or size)
        G = sym("g", (3, 2) + S)                                                    # a batch of 3 over both FMs
        Z, indices = tc.max_pool(values, size, stride=stride, return_indices=True)
        same(Z, tc.max_pool(values, size, stride=stride), f"max_pool with and without indices, {shape}")
        want = np.array([[_tie_broken_gradient(values[h], size, stride, G[q, h]) for h in range(2)] for q in range(3)])
        same(tc.max_pool_da(G, values, size, stride=stride, indices=indices), want, f"with indices, {shape}, {size}")
        same(tc.max_pool_da(G, values, size, stride=stride), want, f"without indices, {shape}, {size}")
