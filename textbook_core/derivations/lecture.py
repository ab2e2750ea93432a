"""The lecture slides and notes: Wu's Kronecker chain, linearity, full size, the notes' filter, the 1-D
multi-channel form, dL/dX, dL/dK, dL/dB, the slides' feature map and integral."""
import itertools

import numpy as np
import sympy as sp

import textbook_core as tc
from textbook_core import data
from textbook_core.details import im2col
from textbook_core.derivations.registry import check
from textbook_core.derivations.symbolic import (
    KERNELS, LAYERS, at0, book, emap, fails, grad, loss, pad0, padded_size, same, sym, table, total,
)


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
    "1d-multichannel-backward+pad-stride",
    "Beyond the notes: the 1-D multi-channel form with padding P^d, stride S^t and a batch axis; tc.conv_da and "
    "tc.conv_dlw are dF/dx and dF/dw",
    r"y_{i,t} = \sum_j \sum_\tau w_{i,j,\tau}\, x_{j,\, S^t t + \tau - P^d}",
)
def _multichannel_pad_stride():
    for Hm, J, k, T, padding, stride, batch in [(2, 2, 3, 7, 1, 2, ()), (1, 2, 2, 6, 2, 3, (2,))]:
        W, X = sym("w", (Hm, J, k)), sym("x", batch + (J, T))
        items = X.reshape((-1, J, T))
        Y = np.array([table((Hm, padded_size(T, k, padding, stride)), lambda i, t: sum(
            W[i, j, tau] * at0(x, j, stride * t + tau - padding) for j in range(J) for tau in range(k)))
            for x in items]).reshape(batch + (Hm, -1))
        kw = dict(padding=padding, stride=stride)
        same(tc.correlate_fms(W, X, **kw), Y, f"1-D forward, H^m={Hm}, J={J}, k={k}, P^d={padding}, S^t={stride}")
        F, dY = loss(Y)
        same(tc.conv_da(dY, W, X.shape, **kw), grad(F, X), f"1-D conv_da vs dF/dx, P^d={padding}, S^t={stride}")
        same(tc.conv_dlw(dY, X, kernel_shape=k, **kw), grad(F, W), f"1-D conv_dlw vs dF/dw, P^d={padding}, S^t={stride}")


@check(
    "dL/dX-full-rot180",
    "Notes: dL/dX = (zero-padded dL/dZ) (x) rot180(K), the full convolution K * dL/dZ; rot180 [K11 K12; K21 "
    "K22] = [K22 K21; K12 K11]",
    r"\tfrac{\partial L}{\partial X} = \operatorname{rot180}(K) \otimes "
    r"\operatorname{pad}_{k-1}\big(\tfrac{\partial L}{\partial Z}\big) = K *_{\text{full}} \tfrac{\partial "
    r"L}{\partial Z}",
)
def _dl_dx():
    K = book("K", (2, 2))
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
