"""Gradient calculation: the sensitivities and the paths of Figure 8.12, 8.27-8.37."""
import numpy as np
import sympy as sp

import textbook_core as tc
from textbook_core.derivations.registry import check
from textbook_core.derivations.symbolic import (
    LAYERS, at, emap, f_, fails, fdot, grad, layer, loss, rng1, same, sym, table,
)


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
        same(tc.vec(tc.activation_dn(dA, fdot(Nn))), s, f"vec(dN^n) vs dF/dvec(n^n), H^m={H_m}, H^n={H_n}")


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
        dNn = tc.activation_dn(emap(lambda e: e.xreplace(to_n), dA), fdot(Nn))
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
