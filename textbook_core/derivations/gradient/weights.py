"""Gradient calculation across the convolution weight function, 8.38-8.48."""
import numpy as np
import sympy as sp

import textbook_core as tc
from textbook_core.derivations.registry import check
from textbook_core.derivations.symbolic import (
    H_ms, LAYERS, PADDED, at, at0, batched, conv_sum, c_, dlz_f, fails, grad, i_, ip_, j_, jp_, l_, loss, lw_f, r_, rng1, same, sum_8_20, sym, table, up_, vp_,
)


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
        same(tc.correlate_fms(LW, A), sum_8_20(LW, A), f"correlate_fms vs 8.38, H^m={H_m}, H^n={H_n}, {k}, {R}")


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
        same(sum_8_20(LW, A), LZ, "8.20 (w, z) and 8.38 (lw, lz) name the same quantities")


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
# Beyond the chapter: padding, stride and batch axes on both paths
# ---------------------------------------------------------------------------------------------


def _padded_layers():
    """For each layer of PADDED: its sizes, LW, A, F and dLZ, with LZ = 8.20 with padding and stride
    written out (not tc.correlate_fms), and a description for the messages."""
    for H_m, H_n, k, R, padding, stride, batch in PADDED:
        LW, A = sym("lw", (H_m, H_n) + k), sym("a", batch + (H_n,) + R)
        F, dLZ = loss(batched(lambda a: conv_sum(LW, a, padding, stride), A, 3))
        what = f"H^m={H_m}, H^n={H_n}, {k}, {R}, P^d={padding}, S^t={stride}, batch {batch}"
        yield (H_m, H_n, k, R, padding, stride), LW, A, F, dLZ, what


def _dilate(X, stride):
    """X with S^t - 1 zeros between its elements along rows and columns (stride as spacing)."""
    out = np.zeros(X.shape[:-2] + ((X.shape[-2] - 1) * stride[0] + 1, (X.shape[-1] - 1) * stride[1] + 1),
                   dtype=object)
    out[..., :: stride[0], :: stride[1]] = X
    return out


@check(
    "8.44+pad-stride",
    "Beyond the chapter: with padding P^d (rows and cols apart), stride S^t and batch axes, tc.conv_da is dF/dA; it is "
    "8.45 on the S^t-spaced dLZ, cut by P^d",
    r"\mathbf{dA}^{n,l} = \operatorname{crop}_{P^d} \sum_{h=1}^{H^m} (\operatorname{rot180} \mathbf{LW}^{m,n,h,l}) "
    r"\otimes_{\text{full}} \operatorname{spaced}_{S^t}(\mathbf{dLZ}^{m,n,h})",
)
def _8_44_pad_stride():
    for (H_m, H_n, (r, c), R, padding, stride), LW, A, F, dLZ, what in _padded_layers():
        true = grad(F, A)
        same(tc.conv_da(dLZ, LW, A.shape, padding=padding, stride=stride), true, f"conv_da vs dF/dA, {what}")
        (pr, pc), padded = padding, (R[0] + 2 * padding[0], R[1] + 2 * padding[1])

        def formula(d):      # 8.45 on the padded input: the spaced dLZ fully correlated, then cut
            spaced = _dilate(d, stride)
            full = np.zeros((H_n,) + padded, dtype=object)
            for l in range(H_n):
                z = sum(tc.correlate(tc.rot180(LW[h, l]), spaced[h], padding=(r - 1, c - 1)) for h in range(H_m))
                full[l, : z.shape[0], : z.shape[1]] = z       # rows past the last window get nothing
            return full[:, pr: pr + R[0], pc: pc + R[1]]
        same(batched(formula, dLZ, 3), true, f"8.45 spaced and cut vs dF/dA, {what}")


@check(
    "8.47+pad-stride",
    "Beyond the chapter: with padding P^d, stride S^t and batch axes (summed: the kernels are shared), tc.conv_dlw is "
    "dF/dLW, 8.47 read on the zero-padded input every S^t pixels",
    r"dlw^{h,l}_{u,v} = \sum_{\text{batch}} \sum_{i} \sum_{j} dlz^{h}_{i,j}\, a^{l}_{S^t_r (i-1)+u-P^d_r,\, "
    r"S^t_c (j-1)+v-P^d_c}",
)
def _8_47_pad_stride():
    for (H_m, H_n, k, R, padding, stride), LW, A, F, dLZ, what in _padded_layers():
        true = grad(F, LW)
        same(tc.conv_dlw(dLZ, A, padding=padding, stride=stride, kernel_shape=k), true, f"conv_dlw vs dF/dLW, {what}")
        d, a = dLZ.reshape((-1,) + dLZ.shape[-3:]), A.reshape((-1,) + A.shape[-3:])
        printed = table(LW.shape, lambda h, l, u, v: sum(
            d[q, h, i, j] * at0(a[q], l, i * stride[0] + u - padding[0], j * stride[1] + v - padding[1])
            for q in range(len(d)) for i in range(d.shape[-2]) for j in range(d.shape[-1])))
        same(printed, true, f"8.47 with padding and stride vs dF/dLW, {what}")
