"""Hierarchical template matching: feature maps, pooling and vec, 8.20-8.26."""
import numpy as np
import sympy as sp

import textbook_core as tc
from textbook_core.derivations.registry import check
from textbook_core.derivations.symbolic import (
    LAYERS, PADDED, POOLS, at, at0, batched, conv_sum, distinct, padded_size, rng1, same, sum_8_20, sym, table,
)


@check(
    "8.20",
    "z^{m,n,h}_{i,j} = sum_{l=1}^{H^n} sum_u sum_v w^{m,n,h,l}_{u,v} a^{n,l}_{i+u-1,j+v-1}: tc.correlate_fms",
    r"z^{m,n,h}_{i,j} = \sum_{l=1}^{H^n} \sum_{u=1}^{r^m} \sum_{v=1}^{c^m} w^{m,n,h,l}_{u,v}\, "
    r"a^{n,l}_{i+u-1,j+v-1}",
)
def _8_20():
    for H_m, H_n, k, R in LAYERS:
        LW, A = sym("w", (H_m, H_n) + k), sym("a", (H_n,) + R)
        same(tc.correlate_fms(LW, A), sum_8_20(LW, A), f"correlate_fms vs 8.20, H^m={H_m}, H^n={H_n}, {k}, {R}")


@check("8.21", "Z^{m,n,h} = sum_{l=1}^{H^n} W^{m,n,h,l} (x) A^{n,l}: tc.correlate_fms is a sum of tc.correlate",
       r"\mathbf{Z}^{m,n,h} = \sum_{l=1}^{H^n} \mathbf{W}^{m,n,h,l} \otimes \mathbf{A}^{n,l}")
def _8_21():
    for H_m, H_n, k, R in LAYERS:
        LW, A = sym("w", (H_m, H_n) + k), sym("a", (H_n,) + R)
        want = np.array([sum(tc.correlate(LW[h, l], A[l]) for l in range(H_n)) for h in range(H_m)])
        same(tc.correlate_fms(LW, A), want, f"correlate_fms vs sum of correlate, H^m={H_m}, H^n={H_n}")




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




@check("8.24", "z_{i,j} = max{v_{r(i-1)+k,c(j-1)+l} | k = 1..r; l = 1..c}: tc.max_pool",
       r"z_{i,j} = \max\{ v_{r(i-1)+k,\,c(j-1)+l} \mid k=1..r;\ l=1..c \}")
def _8_24():
    for seed, ((r, c), (R_r, R_c)) in enumerate(POOLS):
        V = distinct((R_r, R_c), seed)
        want = table((R_r // r, R_c // c), lambda i, j: sp.Max(*[
            at(V, r * i + k, c * j + l) for k in rng1(r) for l in rng1(c)]))
        same(tc.max_pool(V, (r, c)), want, f"max_pool vs 8.24, window {r}x{c}, V {R_r}x{R_c}")


@check("8.25", "Z = [+]^max_{r,c} V: stride defaults to the window; with stride S^t the windows start S^t apart",
       r"\mathbf{Z} = \boxplus^{max}_{r,c} \mathbf{V}")
def _8_25():
    for seed, ((r, c), (R_r, R_c)) in enumerate(POOLS):
        V = distinct((R_r, R_c), seed + 10)
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
# Beyond the chapter: padding, stride, overlapping windows, batch axes, the 1-D form
# ---------------------------------------------------------------------------------------------

# Pooling windows (r, c), strides (S_r^t, S_c^t), inputs (R_r, R_c): overlapping windows (stride
# below the window), gaps (stride above it) and remainders (rows no window reaches).
STRIDED_POOLS = [((2, 2), (1, 1), (3, 4)), ((2, 3), (1, 2), (4, 6)), ((2, 1), (3, 2), (7, 4))]


@check(
    "8.21+pad-stride",
    "Beyond the chapter: tc.correlate_fms with padding P^d (rows and cols apart), stride S^t and batch axes is 8.20 "
    "read on the zero-padded input every S^t pixels; the 1-D form too",
    r"z^{h}_{i,j} = \sum_{l} \sum_{u} \sum_{v} w^{h,l}_{u,v}\, a^{l}_{S^t_r i + u - P^d_r,\, S^t_c j + v - P^d_c}",
)
def _8_21_pad_stride():
    for H_m, H_n, k, R, padding, stride, batch in PADDED:
        LW, A = sym("w", (H_m, H_n) + k), sym("a", batch + (H_n,) + R)
        want = batched(lambda a: conv_sum(LW, a, padding, stride), A, 3)
        same(tc.correlate_fms(LW, A, padding=padding, stride=stride), want,
             f"correlate_fms, H^m={H_m}, H^n={H_n}, {k}, {R}, P^d={padding}, S^t={stride}, batch {batch}")
    # The 1-D form: signals (H^n, T), filters (H^m, H^n, k), one padding and one stride.
    for H_m, H_n, k, T, padding, stride in [(2, 2, 3, 7, 1, 2), (1, 3, 2, 5, 2, 3)]:
        LW, A = sym("w", (H_m, H_n, k)), sym("a", (H_n, T))
        want = table((H_m, padded_size(T, k, padding, stride)), lambda h, t: sum(
            LW[h, l, u] * at0(A, l, t * stride + u - padding) for l in range(H_n) for u in range(k)))
        same(tc.correlate_fms(LW, A, padding=padding, stride=stride), want, f"1-D, k={k}, T={T}, P^d={padding}, S^t={stride}")


@check(
    "8.22+stride",
    "Beyond the chapter: tc.avg_pool with a stride that is not the window (overlapping windows, gaps, remainders), "
    "one weight per FM and batch axes",
    r"z^h_{i,j} = w^h \sum_{k=1}^{r} \sum_{l=1}^{c} v^h_{S^t_r (i-1)+k,\, S^t_c (j-1)+l}",
)
def _8_22_stride():
    w = sym("w", (2,))
    for (r, c), stride, R in STRIDED_POOLS:
        V = sym("v", (2, 2) + R)                      # batch of 2, H = 2 FMs
        S = (padded_size(R[0], r, 0, stride[0]), padded_size(R[1], c, 0, stride[1]))
        want = table((2, 2) + S, lambda q, h, i, j: w[h] * sum(
            at(V[q, h], stride[0] * i + k, stride[1] * j + l) for k in rng1(r) for l in rng1(c)))
        same(tc.avg_pool(V, (r, c), w=w, stride=stride), want, f"avg_pool, window {r}x{c}, S^t={stride}, V {R}")


@check(
    "8.24+stride",
    "Beyond the chapter: tc.max_pool with overlapping windows, gaps and remainders is sympy.Max of each window, on "
    "symbols that cannot be ordered",
    r"z_{i,j} = \max\{ v_{S^t_r (i-1)+k,\, S^t_c (j-1)+l} \mid k=1..r;\ l=1..c \}",
)
def _8_24_stride():
    for (r, c), stride, R in STRIDED_POOLS:
        V = sym("v", (2,) + R)
        S = (padded_size(R[0], r, 0, stride[0]), padded_size(R[1], c, 0, stride[1]))
        want = table((2,) + S, lambda h, i, j: sp.Max(*[
            V[h, stride[0] * i + k, stride[1] * j + l] for k in range(r) for l in range(c)]))
        same(tc.max_pool(V, (r, c), stride=stride), want, f"max_pool of symbols, window {r}x{c}, S^t={stride}, V {R}")
