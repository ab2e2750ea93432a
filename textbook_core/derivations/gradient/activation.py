"""Gradient calculation across the activation function, 8.49-8.53."""
import numpy as np
import sympy as sp

import textbook_core as tc
from textbook_core.derivations.registry import check
from textbook_core.derivations.symbolic import (
    LAYERS, emap, f_, fails, fdot, grad, layer, loss, same, sym, table,
)


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
    for name, f, derivative in acts:
        if sp.simplify(sp.diff(f(x), x) - derivative(x)) != 0:
            raise AssertionError(f"8.51: d{name}(n)/dn is {sp.diff(f(x), x)}, not {derivative(x)}")
        N = sym("n", (2, 3))
        A = emap(f, N)
        for idx in np.ndindex(N.shape):
            want = table(N.shape, lambda *kl: derivative(N[idx]) if kl == idx else 0)
            jac = grad(A[idx], N)
            for kl in np.ndindex(N.shape):
                if sp.simplify(jac[kl] - want[kl]) != 0:
                    raise AssertionError(f"8.51: d a{idx} / d n{kl} for {name} is {jac[kl]}, not {want[kl]}")


@check("8.52", "dn^{n,h}_{i,j} = f'(n^{n,h}_{i,j}) da^{n,h}_{i,j}: tc.activation_dn is sympy's dF/dN",
       r"dn^{n,h}_{i,j} = \dot f^{n,h}(n^{n,h}_{i,j}) \times da^{n,h}_{i,j}")
def _8_52():
    for H, S in ACTS:
        N, F, dA = _activation(H, S)
        same(tc.activation_dn(dA, fdot(N)), grad(F, N), f"activation_dn vs dF/dN, {H} FMs {S}")
        printed = table(N.shape, lambda *x: fdot(N)[x] * dA[x])
        same(tc.activation_dn(dA, fdot(N)), printed, f"activation_dn vs 8.52 elementwise, {H} FMs {S}")


@check("8.53", "dN^{n,h} = F_dot^{n,h} o dA^{n,h}: the Hadamard (elementwise) product, not the matrix product",
       r"\mathbf{dN}^{n,h} = \dot{\mathbf{F}}^{n,h} \circ \mathbf{dA}^{n,h}")
def _8_53():
    for H, S in ACTS:
        dA, Fd = sym("da", (H,) + S), sym("fd", (H,) + S)
        same(tc.activation_dn(dA, Fd), table(dA.shape, lambda *x: Fd[x] * dA[x]), f"activation_dn vs o, {H} FMs {S}")
    dA, Fd = sym("da", (2, 2)), sym("fd", (2, 2))
    fails(Fd.dot(dA), tc.activation_dn(dA, Fd), "the matrix product F_dot dA vs the Hadamard product")
