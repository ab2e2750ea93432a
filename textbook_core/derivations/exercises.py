"""Checks that restate an exercise's answer: E8.7, E8.8, E8.9.

The student edition leaves this module out; the package runs without it."""
import numpy as np
import sympy as sp

import textbook_core as tc
from textbook_core.derivations.registry import check
from textbook_core.derivations.symbolic import (
    emap, grad, loss, same, sym, table, total,
)


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
    for H, S in [(1, (2, 2)), (2, (2, 3)), (3, (3, 1))]:
        LZ, b = sym("lz", (H,) + S), sym("b", (H,))
        F, dN = loss(LZ * b[:, None, None])
        same(tc.product_dlz(dN, b), grad(F, LZ), f"product_dlz vs dF/dLZ, {H} FMs {S}")
        same(tc.product_db(dN, LZ), grad(F, b), f"product_db vs dF/db, {H} FMs {S}")
