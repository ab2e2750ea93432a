"""Gradient calculation across average pooling: P8.3 and P8.4, and one-FM results."""
import numpy as np

import textbook_core as tc
from textbook_core.derivations.registry import check
from textbook_core.derivations.symbolic import (
    POOLS, at, fails, grad, loss, padded_size, rng1, same, sym, table, total,
)


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
    "core-one-fm-symbols",
    "One FM (S_r, S_c) of sympy symbols: tc.summation_db and tc.avg_pool_dlw return the scalar sum (tc.product_db: "
    "E8.9)",
    r"db = \sum_{i,j} dn_{i,j},\ \ dlw = \sum_{i,j} dlz_{i,j} \textstyle\sum_{\text{window}} a",
)
def _core_one_fm():
    dN, A = sym("dn", (2, 3)), sym("a", (4, 6))
    sums = tc.avg_pool(A, 2, w=1)
    cases = [("summation_db(dN)", lambda: tc.summation_db(dN), total(dN)),
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
# Beyond the chapter: strides that are not the window, one weight per FM, batch axes
# ---------------------------------------------------------------------------------------------

# Windows (r, c), strides, inputs: overlapping windows, a gap, a remainder the stride does not reach.
STRIDED = [((2, 2), (1, 1), (3, 4)), ((2, 3), (1, 2), (4, 6)), ((2, 1), (3, 2), (7, 4))]


def _avg_layer(size, stride, R):
    """A (2, 2, R): a batch of 2 stacks of 2 FMs; LZ^h = lw^h times the window sums, written out."""
    (r, c), (sr, sc) = size, stride
    A, lw = sym("a", (2, 2) + R), sym("lw", (2,))
    S = (padded_size(R[0], r, 0, sr), padded_size(R[1], c, 0, sc))
    LZ = table((2, 2) + S, lambda q, h, i, j: lw[h] * sum(
        A[q, h, sr * i + k, sc * j + l] for k in range(r) for l in range(c)))
    F, dLZ = loss(LZ)
    return A, lw, LZ, F, dLZ


@check(
    "P8.3+stride",
    "Beyond the chapter: with a stride that is not the window (overlapping windows, gaps, remainders), one weight per "
    "FM and batch axes, tc.avg_pool_da is dF/dA: each pixel sums lw dlz over the windows holding it",
    r"da^{h}_{u',v'} = \sum_{(i,j):\ (u',v') \in \text{window}(i,j)} lw^{h}\, dlz^{h}_{i,j}",
)
def _p8_3_stride():
    for size, stride, R in STRIDED:
        A, lw, LZ, F, dLZ = _avg_layer(size, stride, R)
        same(tc.avg_pool_da(dLZ, size, w=lw, stride=stride, input_shape=A.shape), grad(F, A),
             f"avg_pool_da vs dF/dA, window {size}, S^t={stride}, A {R}")


@check(
    "P8.4+stride",
    "Beyond the chapter: with a stride that is not the window and batch axes (summed), tc.avg_pool_dlw is dF/dlw, one "
    "value per FM",
    r"dlw^{h} = \sum_{\text{batch}} \sum_{i,j} dlz^{h}_{i,j} \sum_{k,l} a^{h}_{S^t_r (i-1)+k,\, S^t_c (j-1)+l}",
)
def _p8_4_stride():
    for size, stride, R in STRIDED:
        A, lw, LZ, F, dLZ = _avg_layer(size, stride, R)
        same(tc.avg_pool_dlw(dLZ, A, size, stride=stride), grad(F, lw), f"avg_pool_dlw vs dF/dlw, window {size}, S^t={stride}")
