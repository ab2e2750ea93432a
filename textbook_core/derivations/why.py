"""Why use convolution: 8.1-8.13, the Summary's convolution, P8.1 and P8.2."""
import numpy as np
import sympy as sp

import textbook_core as tc
from textbook_core.derivations.registry import check
from textbook_core.derivations.symbolic import (
    KERNELS, at, at0, book, c_, fails, i_, j_, k_, l_, m_, n_, p_f, r_, rng1, same, sym, table, w_f,
)


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




@check("8.11", "[z11 z12; z21 z22] = [w11 w12; w21 w22] (x) [p11 .. p33]: each z is an inner product with a window",
       r"\mathbf{Z}_{2\times2} = \mathbf{W}_{2\times2} \otimes \mathbf{P}_{3\times3}")
def _8_11():
    W, P = book("w", (2, 2)), book("p", (3, 3))
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
    W, P = book("w", (2, 2)), book("p", (3, 3))
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
    "8.12+pad-stride",
    "Beyond the chapter: with padding P^d and stride S^t, tc.conv_matrix M still gives M vec(P) = vec(W (x) P), the "
    "padded and strided sum; for a filter too",
    r"\operatorname{vec}(\mathbf{Z}) = \mathbf{M}(\mathbf{W}, P^d, S^t)\, \operatorname{vec}(\mathbf{P})",
)
def _8_12_pad_stride():
    for (r, c), (R_r, R_c), padding, stride in [((2, 2), (3, 4), (1, 0), (2, 1)), ((2, 3), (4, 3), (0, 2), (1, 3))]:
        W, P = sym("w", (r, c)), sym("p", (R_r, R_c))
        (pr, pc), (sr, sc) = padding, stride
        S = ((R_r + 2 * pr - r) // sr + 1, (R_c + 2 * pc - c) // sc + 1)
        Z = table(S, lambda i, j: sum(W[u, v] * at0(P, i * sr + u - pr, j * sc + v - pc)
                                      for u in range(r) for v in range(c)))
        same(tc.conv_matrix(W, (R_r, R_c), padding=padding, stride=stride).dot(tc.vec(P)), tc.vec(Z),
             f"M vec(P) vs the padded strided sum, W {r}x{c}, P {R_r}x{R_c}, P^d={padding}, S^t={stride}")
    w, x = sym("w", (3,)), sym("x", (6,))
    z = table(((6 + 2 - 3) // 2 + 1,), lambda t: sum(w[u] * at0(x, 2 * t + u - 1) for u in range(3)))
    same(tc.conv_matrix(w, 6, padding=1, stride=2).dot(x), z, "1-D M x vs the padded strided sum")


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
