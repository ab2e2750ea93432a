"""Every backpropagation path (8.27-8.53, P8.3, P8.4, E8.8, E8.9): hand examples, the loop
oracle, scipy, and central differences with a random upstream gradient on every element."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import signal

import textbook_core as tc
from textbook_core import oracle
from cases import conv_cases, numerical_vjp, pool_cases


def test_conv_paths_worked_by_hand():
    A = np.array([[[1, 2, 0], [0, 1, 3], [2, 0, 1]]])     # H^n = 1, 3x3
    LW = np.array([[[[1, -1], [2, 0]]]])                  # H^m = 1, 2x2
    dLZ = np.array([[[1, 0], [0, 2]]])
    # 8.47: dlw_uv = dlz_11 a_{u,v} + dlz_22 a_{u+1,v+1}
    np.testing.assert_array_equal(tc.conv_dlw(dLZ, A), [[[[1 + 2, 2 + 6], [0 + 0, 1 + 2]]]])
    # 8.41: dlz_11 spreads W over rows 1-2, cols 1-2; dlz_22 spreads 2W over rows 2-3, cols 2-3.
    np.testing.assert_array_equal(tc.conv_da(dLZ, LW, A.shape), [[[1, -1, 0], [2, 2, -2], [0, 4, 0]]])
    # 8.36 and 8.53
    assert tc.summation_db(dLZ[0]) == 3
    np.testing.assert_array_equal(tc.activation_dn(dLZ, np.array([[[0, 1], [1, 1]]])), [[[0, 0], [0, 2]]])


def test_pool_paths_worked_by_hand():
    A = np.array([[1, 5, 2, 0], [3, 4, 2, 1]])
    dLZ = np.array([[10, 20]])
    np.testing.assert_array_equal(tc.max_pool_da(dLZ, A, 2), [[0, 10, 20, 0], [0, 0, 0, 0]])   # tie -> first
    np.testing.assert_array_equal(tc.avg_pool_da(dLZ, 2), [[2.5, 2.5, 5, 5], [2.5, 2.5, 5, 5]])
    assert tc.avg_pool_dlw(dLZ, A, 2) == 10 * (1 + 5 + 3 + 4) + 20 * (2 + 0 + 2 + 1)
    # Overlapping windows (stride 1): the 5 is the maximum of both windows that contain it.
    np.testing.assert_array_equal(tc.max_pool_da(np.array([[1, 2, 3]]), A, 2, stride=1),
                                  [[0, 3, 3, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(tc.product_dlz(np.ones((1, 2, 2)), [3]), 3 * np.ones((1, 2, 2)))
    assert tc.product_db(dLZ, [[2, -1]]) == 0


# ---- the loop oracle ------------------------------------------------------------------


def _as_2d(case, *arrays):
    """The oracle takes 2-D FMs: give 1-D signals a row axis."""
    return [a[..., None, :] for a in arrays] if case.one_d else list(arrays)


@given(conv_cases())
def test_conv_da_matches_the_loop_oracle(case):
    LW, A = case.arrays()
    kw = case.spatial_kw()
    dLZ = np.random.default_rng(case.seed + 1).standard_normal(tc.correlate_fms(LW, A, **kw).shape)
    got = tc.conv_da(dLZ, LW, A.shape, **kw)
    assert got.shape == A.shape
    padding, stride = case.pairs
    dLZ2, A2 = _as_2d(case, dLZ, A)
    LW2 = LW[:, :, None, :] if case.one_d else LW
    want = oracle.batched(oracle.conv_da, dLZ2, core_ndims=(3,), LW=LW2, input_size=A2.shape[-2:],
                          padding=padding, stride=stride)
    np.testing.assert_allclose(got, want.astype(float).reshape(got.shape), atol=1e-12)


@given(conv_cases())
def test_conv_dlw_matches_the_loop_oracle_summed_over_the_batch(case):
    LW, A = case.arrays()
    kw = case.spatial_kw()
    dLZ = np.random.default_rng(case.seed + 1).standard_normal(tc.correlate_fms(LW, A, **kw).shape)
    got = tc.conv_dlw(dLZ, A, **kw, kernel_shape=LW.shape[-1] if case.one_d else LW.shape[-2:])
    assert got.shape == LW.shape
    padding, stride = case.pairs
    dLZ2, A2 = _as_2d(case, dLZ, A)
    per_item = oracle.batched(oracle.conv_dlw, dLZ2, A2, core_ndims=(3, 3), kernel_size=(LW.shape[2] if not case.one_d else 1, LW.shape[-1]),
                              padding=padding, stride=stride)
    want = per_item.reshape((-1,) + per_item.shape[-4:]).sum(axis=0) if case.batch else per_item
    np.testing.assert_allclose(got, want.astype(float).reshape(got.shape), atol=1e-12)


@given(conv_cases(batch=False, one_d=False))
def test_conv_da_equals_8_44_as_printed_for_stride_1_without_padding(case):
    LW, A = case.arrays()
    if any(k > n for k, n in zip(LW.shape[-2:], A.shape[-2:])):
        return
    dLZ = np.random.default_rng(case.seed).standard_normal(tc.correlate_fms(LW, A).shape)
    np.testing.assert_allclose(tc.conv_da(dLZ, LW, A.shape), oracle.conv_da_printed(dLZ, LW).astype(float), atol=1e-12)


@given(pool_cases())
def test_pool_paths_match_the_loop_oracle(case):
    shape, size, stride, seed = case
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 3, shape).astype(float)          # small integers: many ties, the tie rule counts
    S = tc.max_pool(A, size, stride=stride).shape
    dLZ, w = rng.standard_normal(S), float(rng.standard_normal())
    np.testing.assert_allclose(tc.max_pool_da(dLZ, A, size, stride=stride),
                               oracle.batched(oracle.max_pool_da, dLZ, A, core_ndims=(2, 2), size=size, stride=stride).astype(float))
    np.testing.assert_allclose(tc.avg_pool_da(dLZ, size, w=w, stride=stride, input_shape=shape),
                               oracle.batched(oracle.avg_pool_da, dLZ, core_ndims=(2,), size=size, w=w, stride=stride,
                                              input_size=shape[-2:]).astype(float))
    if len(shape) == 3:   # (H, rows, cols): one dlw per FM
        want = [oracle.avg_pool_dlw(dLZ[h], A[h], size, stride) for h in range(shape[0])]
        np.testing.assert_allclose(tc.avg_pool_dlw(dLZ, A, size, stride=stride), np.array(want, dtype=float))


def test_bias_paths_match_the_loop_oracle():
    rng = np.random.default_rng(2)
    dN, LZ = rng.standard_normal((4, 3, 5, 2)), rng.standard_normal((4, 3, 5, 2))   # batch 4, H = 3
    want = [sum(oracle.summation_db(dN[k, h]) for k in range(4)) for h in range(3)]
    np.testing.assert_allclose(tc.summation_db(dN), want)
    want = [sum(oracle.product_db(dN[k, h], LZ[k, h]) for k in range(4)) for h in range(3)]
    np.testing.assert_allclose(tc.product_db(dN, LZ), want)
    b = rng.standard_normal(3)
    np.testing.assert_allclose(tc.product_dlz(dN, b)[2, 1], oracle.product_dlz(dN[2, 1], b[1]).astype(float))
    np.testing.assert_allclose(tc.activation_dn(dN, LZ)[0, 0], oracle.activation_dn(dN[0, 0], LZ[0, 0]).astype(float))
    np.testing.assert_array_equal(tc.summation_dlz(dN), dN)


# ---- central differences ----------------------------------------------------------------


@given(conv_cases(max_size=6))
def test_conv_paths_are_the_gradient_of_correlate_fms(case):
    LW, A = case.arrays()
    kw = case.spatial_kw()
    G = np.random.default_rng(case.seed + 7).standard_normal(tc.correlate_fms(LW, A, **kw).shape)
    np.testing.assert_allclose(tc.conv_da(G, LW, A.shape, **kw),
                               numerical_vjp(lambda a: tc.correlate_fms(LW, a, **kw), A, G), atol=1e-6)
    k = LW.shape[-1] if case.one_d else LW.shape[-2:]
    np.testing.assert_allclose(tc.conv_dlw(G, A, kernel_shape=k, **kw),
                               numerical_vjp(lambda lw: tc.correlate_fms(lw, A, **kw), LW, G), atol=1e-6)


@given(pool_cases())
def test_pool_paths_are_the_gradient_of_pooling(case):
    shape, size, stride, seed = case
    rng = np.random.default_rng(seed)
    A = rng.permutation(np.prod(shape)).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape)   # distinct: no ties
    w = float(rng.standard_normal())
    G = rng.standard_normal(tc.max_pool(A, size, stride=stride).shape)
    np.testing.assert_allclose(tc.max_pool_da(G, A, size, stride=stride),
                               numerical_vjp(lambda a: tc.max_pool(a, size, stride=stride), A, G, h=1e-7), atol=1e-6)
    np.testing.assert_allclose(tc.avg_pool_da(G, size, w=w, stride=stride, input_shape=shape),
                               numerical_vjp(lambda a: tc.avg_pool(a, size, w=w, stride=stride), A, G), atol=1e-6)
    if len(shape) == 3:
        for h in range(shape[0]):
            def pooled_fm(lw):
                Z = tc.avg_pool(A, size, w=lw[0], stride=stride)
                return Z[h]
            numeric = numerical_vjp(pooled_fm, np.array([w]), G[h])[0]
            np.testing.assert_allclose(tc.avg_pool_dlw(G, A, size, stride=stride)[h], numeric, rtol=1e-6, atol=1e-6)


@given(st.sampled_from([(), (3,)]), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_net_input_and_activation_paths_are_gradients(batch, H, seed):
    """N = LZ + b (8.32), N = LZ . b (E8.9), A = f(N) (8.49-8.53), with one bias per FM."""
    rng = np.random.default_rng(seed)
    LZ, b = rng.standard_normal(batch + (H, 3, 2)), rng.standard_normal(H)
    G = rng.standard_normal(LZ.shape)
    per_fm = b[:, None, None]
    np.testing.assert_allclose(tc.summation_dlz(G), numerical_vjp(lambda lz: lz + per_fm, LZ, G), atol=1e-6)
    np.testing.assert_allclose(tc.summation_db(G), numerical_vjp(lambda bb: LZ + bb[:, None, None], b, G), atol=1e-6)
    np.testing.assert_allclose(tc.product_dlz(G, b), numerical_vjp(lambda lz: lz * per_fm, LZ, G), atol=1e-6)
    np.testing.assert_allclose(tc.product_db(G, LZ), numerical_vjp(lambda bb: LZ * bb[:, None, None], b, G), atol=1e-6)
    N = LZ
    np.testing.assert_allclose(tc.activation_dn(G, 1 - np.tanh(N) ** 2), numerical_vjp(np.tanh, N, G), atol=1e-6)


# ---- scipy and the lecture notes ------------------------------------------------------


@given(conv_cases(batch=False, one_d=False))
def test_backward_paths_as_scipy_full_convolution_and_valid_correlation(case):
    """Notes: dL/dX is the full convolution of dL/dZ with K (rot180 + full correlation);
    dL/dK is the valid correlation of X with dL/dZ (stride 1, no padding)."""
    LW, A = case.arrays()
    if any(k > n for k, n in zip(LW.shape[-2:], A.shape[-2:])):
        return
    dLZ = np.random.default_rng(case.seed).standard_normal(tc.correlate_fms(LW, A).shape)
    dA = [sum(signal.convolve2d(dLZ[h], LW[h, l], "full") for h in range(case.H_m)) for l in range(case.H_n)]
    np.testing.assert_allclose(tc.conv_da(dLZ, LW, A.shape), dA, atol=1e-12)
    dLW = [[signal.correlate2d(A[l], dLZ[h], "valid") for l in range(case.H_n)] for h in range(case.H_m)]
    np.testing.assert_allclose(tc.conv_dlw(dLZ, A), dLW, atol=1e-12)


def test_notes_1d_multichannel_backward():
    """x_bar_j = sum_i y_bar_i * W_{i,j}: a full 1-D convolution per (i, j), summed over i."""
    rng = np.random.default_rng(11)
    w, x = rng.standard_normal((2, 3, 3)), rng.standard_normal((3, 8))
    y_bar = rng.standard_normal(tc.correlate_fms(w, x).shape)
    x_bar = [sum(np.convolve(y_bar[i], w[i, j]) for i in range(2)) for j in range(3)]
    np.testing.assert_allclose(tc.conv_da(y_bar, w, x.shape), x_bar)


# ---- conventions ------------------------------------------------------------------------


def test_float32_stays_float32_on_every_path():
    f = np.float32
    LW, A = np.ones((2, 3, 2, 2), f), np.ones((4, 3, 5, 5), f)
    dLZ, pooled = np.ones((4, 2, 4, 4), f), np.ones((4, 2, 2, 2), f)
    for out in [tc.conv_da(dLZ, LW, A.shape), tc.conv_dlw(dLZ, A), tc.summation_db(dLZ), tc.summation_dlz(dLZ),
                tc.activation_dn(dLZ, dLZ), tc.max_pool_da(pooled, dLZ, 2), tc.avg_pool_da(pooled, 2),
                tc.avg_pool_dlw(pooled, dLZ, 2), tc.product_dlz(dLZ, np.ones(2, f)), tc.product_db(dLZ, dLZ)]:
        assert out.dtype == np.float32


def test_conv_dlw_needs_kernel_shape_only_when_the_stride_leaves_a_remainder():
    A = np.random.default_rng(0).standard_normal((1, 6, 6))
    for r in (2, 3):          # (6 - 2)//3 + 1 == (6 - 3)//3 + 1 == 2: the size alone cannot tell
        LW = np.ones((1, 1, r, r))
        dLZ = np.ones(tc.correlate_fms(LW, A, stride=3).shape)
        assert tc.conv_dlw(dLZ, A, stride=3, kernel_shape=(r, r)).shape == (1, 1, r, r)
    assert tc.conv_dlw(dLZ, A, stride=3).shape == (1, 1, 3, 3)    # default: no remainder


@pytest.mark.parametrize("call, message", [
    (lambda: tc.conv_da(np.ones((1, 2, 2)), np.ones((1, 1, 2, 2)), (4, 4)),
     r"dLZ has S_r, S_c = \(2, 2\) but input \(4, 4\) with r, c = \(2, 2\), P\^d=\(0, 0\), S\^t=\(1, 1\) gives \(3, 3\)"),
    (lambda: tc.conv_da(np.ones((2, 2, 2)), np.ones((1, 1, 2, 2)), (3, 3)), r"dLZ has H\^m=2 FMs but LW expects H\^m=1"),
    (lambda: tc.conv_dlw(np.ones((1, 2, 2)), np.ones((1, 3, 3)), kernel_shape=(3, 3)),
     r"kernel_shape \(3, 3\) gives S_r, S_c = \(1, 1\) but dLZ has \(2, 2\)"),
    (lambda: tc.conv_dlw(np.ones((1, 5, 5)), np.ones((1, 3, 3))), r"dLZ with S_r, S_c = \(5, 5\) is too large for A"),
    (lambda: tc.max_pool_da(np.ones((1, 1)), np.ones((4, 4)), 2), r"dLZ has S_r, S_c = \(1, 1\) but pooling A"),
    (lambda: tc.avg_pool_da(np.ones((2, 2)), 2, input_shape=(6, 6)), r"dLZ has S_r, S_c = \(2, 2\) but input \(6, 6\)"),
    (lambda: tc.avg_pool_dlw(np.ones((3, 3)), np.ones((4, 4)), 2), r"dLZ has S_r, S_c = \(3, 3\) but pooling A"),
    (lambda: tc.activation_dn(np.ones((2, 2)), np.ones((2, 3))), r"dA has shape \(2, 2\) but F_dot\(N\) has shape \(2, 3\)"),
    (lambda: tc.product_dlz(np.ones((2, 2, 2)), np.ones(3)), r"b must hold one value per FM"),
    (lambda: tc.product_db(np.ones((2, 2)), np.ones((2, 3))), r"dN has shape \(2, 2\) but LZ has shape \(2, 3\)"),
    (lambda: tc.summation_db(np.ones(3)), r"dN must have rows and cols"),
    (lambda: tc.conv_da(np.ones((1, 2, 2)), np.ones((1, 1, 2, 2)), 3), r"input_shape must be the forward input's shape"),
    (lambda: tc.conv_da(np.ones((1, 2, 2)), np.ones((1, 1, 2, 2)), (3.0, 3)), r"got \(3.0, 3\)"),
    (lambda: tc.conv_da(np.ones((1, 2, 2)), np.ones((1, 1, 2, 2)), (True, 3)), r"got \(True, 3\)"),
    (lambda: tc.conv_da(np.ones((1, 2, 2)), np.ones((1, 1, 2, 2)), (3, 0)), r"got \(3, 0\)"),
    (lambda: tc.conv_da(np.ones((1, 2, 2)), np.ones((1, 1, 2, 2)), (3, 3), stride=0), r"stride S\^t=0"),
    (lambda: tc.conv_da(np.ones((1, 2, 2)), np.ones((1, 1, 2, 2)), (3, 3), padding=0.5), r"padding P\^d=0.5"),
    (lambda: tc.conv_da(np.ones((1, 1, 1)), np.ones((1, 1, 5, 5)), (3, 3)), r"kernel r=5 does not fit input R_r=3"),
    (lambda: tc.conv_dlw(np.ones((1, 2, 2)), np.ones((1, 3, 3)), kernel_shape=(2.0, 2)), r"kernel_shape \(r, c\)=\(2.0, 2\)"),
    (lambda: tc.conv_dlw(np.ones((1, 2, 2)), np.ones((1, 3, 3)), kernel_shape=(4, 4)), r"kernel r=4 does not fit input R_r=3"),
    (lambda: tc.conv_dlw(np.ones((1, 3)), np.ones((1, 5)), kernel_shape=3.0), r"kernel_shape k=3.0 of the 1-D form"),
    (lambda: tc.conv_dlw(np.ones((1, 0, 2)), np.ones((1, 3, 3))), r"must have at least one row and column"),
    (lambda: tc.avg_pool_da(np.ones((2, 2)), 2, input_shape=4), r"input_shape must be the forward input's shape"),
    (lambda: tc.avg_pool_da(np.ones((2, 2)), 2, input_shape=(4.0, 4)), r"input_shape must be"),
    (lambda: tc.avg_pool_da(np.ones((2, 2, 2)), 2, input_shape=(3, 4, 4)), r"dLZ has \(2,\) in front of its FMs, input_shape has \(3,\)"),
    (lambda: tc.avg_pool_da(np.ones((0, 2)), 2), r"dLZ must have at least one row and column"),
    (lambda: tc.avg_pool_dlw(np.ones((2, 1, 2, 2)), np.ones((3, 1, 4, 4)), 2), r"dLZ has \(2, 1\) in front of its FMs, A has \(3, 1\)"),
    (lambda: tc.max_pool_da(np.ones((2, 2)), np.ones((4, 4)), 2, stride=True), r"stride S\^t=True"),
    (lambda: tc.max_pool_da(np.ones(2), np.ones((4, 4)), 2), r"dLZ has S_r, S_c = \(2,\)"),
    (lambda: tc.max_pool_da(np.ones((1, 1)), np.ones((2, 2)), 2, indices=np.array([[0.0]])), r"indices \(dtype float64"),
    (lambda: tc.max_pool_da(np.ones((1, 1)), np.ones((2, 2)), 2, indices=np.array([[0, 1]])), r"must be integers of dLZ's shape \(1, 1\)"),
    (lambda: tc.max_pool_da(np.ones((1, 1)), np.ones((2, 2)), 2, indices=np.array([[4]])), r"indices hold 4, outside an FM of R_r x R_c = 2 x 2"),
    (lambda: tc.max_pool_da(np.ones((1, 1)), np.ones((2, 2)), 2, indices=np.array([[-1]])), r"indices hold -1"),
    (lambda: tc.product_dlz(np.ones((2, 2, 2)), np.ones((2, 2))), r"b must hold one value per FM"),
    (lambda: tc.product_dlz(np.ones(3), 2.0), r"dN must have rows and cols"),
    (lambda: tc.product_dlz(np.ones((2, 2)), 2j), r"b must hold real numbers, got dtype complex128"),
    (lambda: tc.product_db(np.ones((2, 1, 2, 2)), np.ones((3, 1, 2, 2))), r"dN has shape \(2, 1, 2, 2\) but LZ has shape \(3, 1, 2, 2\)"),
    (lambda: tc.activation_dn(np.ones((2, 2)), np.ones((2, 2), complex)), r"F_dot\(N\) must hold real numbers"),
])
def test_bad_input_raises_value_error_naming_the_symbol(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- issue 12: misuse ------------------------------------------------------------------


def test_conv_da_checks_the_input_shape_against_lw():
    """Misuse 6: an input_shape whose H^n disagrees with LW's used to be accepted."""
    with pytest.raises(ValueError, match=r"input_shape \(3, 4, 4\) has H\^n=3 FMs but LW has H\^n=4"):
        tc.conv_da(np.ones((2, 3, 3)), np.ones((2, 4, 2, 2)), (3, 4, 4))
    with pytest.raises(ValueError, match=r"input_shape \(2, 5\) has H\^n=2 FMs but LW has H\^n=1"):
        tc.conv_da(np.ones((1, 3)), np.ones((1, 1, 3)), (2, 5))           # 1-D
    with pytest.raises(ValueError, match=r"dLZ has \(2,\) in front of its FMs, input_shape has \(3,\)"):
        tc.conv_da(np.ones((2, 1, 3, 3)), np.ones((1, 1, 2, 2)), (3, 1, 4, 4))
    # The batch of input_shape may broadcast against dLZ's (the batch comes from dLZ), and the
    # input may be given by its FM size alone.
    dLZ = np.random.default_rng(0).standard_normal((2, 1, 3, 3))
    want = tc.conv_da(dLZ, np.ones((1, 1, 2, 2)), (2, 1, 4, 4))
    np.testing.assert_array_equal(tc.conv_da(dLZ, np.ones((1, 1, 2, 2)), (4, 4)), want)
    np.testing.assert_array_equal(tc.conv_da(dLZ, np.ones((1, 1, 2, 2)), (1, 1, 4, 4)), want)


@pytest.mark.parametrize("call, names", [
    (lambda: tc.conv_dlw(np.ones((2, 1, 3, 3)), np.ones((3, 1, 4, 4))), r"dLZ has \(2,\) in front of its FMs, A has \(3,\)"),
    (lambda: tc.max_pool_da(np.ones((2, 1, 2, 2)), np.ones((3, 1, 4, 4)), 2), r"dLZ has \(2, 1\) in front of its FMs, A has \(3, 1\)"),
    (lambda: tc.max_pool_da(np.ones((2, 2, 2)), np.ones((3, 4, 4)), 2), r"dLZ has \(2,\) in front of its FMs, A has \(3,\)"),
    (lambda: tc.avg_pool_dlw(np.ones((2, 2, 2)), np.ones((3, 4, 4)), 2), r"dLZ has \(2,\) in front of its FMs, A has \(3,\)"),
])
def test_batch_axes_that_do_not_broadcast_name_the_symbols(call, names):
    """Misuse 7: these gave numpy's broadcast message, which names no book symbol."""
    with pytest.raises(ValueError, match=r"batch axes do not broadcast: " + names):
        call()


@pytest.mark.parametrize("call", [
    lambda: tc.conv_da(np.ones((1, 3)), np.ones((1, 1, 3)), (1, 5), padding=(0, 0)),
    lambda: tc.conv_da(np.ones((1, 2)), np.ones((1, 1, 3)), (1, 5), stride=(2, 2)),
    lambda: tc.conv_dlw(np.ones((1, 3)), np.ones((1, 5)), padding=(0, 0)),
    lambda: tc.conv_dlw(np.ones((2, 1, 3)), np.ones((2, 1, 5)), kernel_shape=3, stride=(1, 1)),
])
def test_a_pair_on_1d_backward_paths_is_refused(call):
    """Misuse 8 on the backward paths."""
    with pytest.raises(ValueError, match=r"of a 1-D signal must be one integer"):
        call()


def test_avg_pool_da_takes_one_weight_per_fm():
    """Misuse 2: avg_pool_da with a per-FM weight (what avg_pool_dlw returns) multiplied columns."""
    rng = np.random.default_rng(3)
    dLZ, w = rng.standard_normal((2, 3, 2, 2)), np.array([1.0, -2.0, 0.5])
    dA = tc.avg_pool_da(dLZ, 2, w=w)
    for q, h in np.ndindex(2, 3):
        np.testing.assert_array_equal(dA[q, h], tc.avg_pool_da(dLZ[q, h], 2, w=w[h]))
    square = rng.standard_normal((3, 3, 3))     # S_c == H: the old result was silently wrong here
    np.testing.assert_allclose(tc.avg_pool_da(square, 2, w=w)[2], tc.avg_pool_da(square[2], 2, w=0.5))
    A = rng.standard_normal((3, 6, 6))
    G = rng.standard_normal((3, 3, 3))
    np.testing.assert_allclose(tc.avg_pool_da(G, 2, w=w, input_shape=A.shape),
                               numerical_vjp(lambda a: tc.avg_pool(a, 2, w=w), A, G), atol=1e-6)
    with pytest.raises(ValueError, match=r"w with shape \(2,\) must be a scalar or one weight per FM: dLZ"):
        tc.avg_pool_da(dLZ, 2, w=w[:2])


def test_parameters_keep_float32():
    """Misuse 3: product_dlz(float32 dN, 1.7) returned float64; so would a float64 weight."""
    f32 = np.ones((2, 2, 2), np.float32)
    assert tc.product_dlz(f32, 1.7).dtype == np.float32
    assert tc.product_dlz(f32, np.float64(1.7)).dtype == np.float32
    assert tc.product_dlz(f32, [1, 2]).dtype == np.float32
    assert tc.avg_pool_da(f32, 2, w=0.25).dtype == np.float32
    assert tc.avg_pool_da(f32, 2, w=np.array([1.0, 2.0])).dtype == np.float32
    assert tc.product_dlz(np.ones((2, 2), int), 2).dtype == np.float64
    np.testing.assert_array_equal(tc.product_dlz(f32, 1.7), np.float32(1.7) * f32)


def test_every_path_on_empty_batches():
    LW = np.ones((2, 3, 2, 2))
    assert tc.conv_da(np.ones((0, 2, 3, 3)), LW, (3, 4, 4), padding=1, stride=2).shape == (0, 3, 4, 4)
    assert tc.conv_da(np.ones((0, 2, 3, 3)), LW, (3, 4, 4)).shape == (0, 3, 4, 4)
    assert tc.max_pool_da(np.ones((0, 2, 2)), np.ones((0, 4, 4)), 2).shape == (0, 4, 4)
    assert tc.max_pool_da(np.ones((0, 2, 2)), np.ones((0, 4, 4)), 2, indices=np.zeros((0, 2, 2), int)).shape == (0, 4, 4)
    np.testing.assert_array_equal(tc.avg_pool_dlw(np.ones((0, 3, 2, 2)), np.ones((0, 3, 4, 4)), 2), np.zeros(3))
    np.testing.assert_array_equal(tc.summation_db(np.ones((0, 3, 2, 2))), np.zeros(3))


# ---- max pooling: indices, ties, NaN, symbols -------------------------------------------


@given(pool_cases())
def test_max_pool_da_with_the_forwards_indices_is_max_pool_da_without(case):
    """The two forms send every gradient to the same pixel: the tie rule is the same both ways
    (small integers make ties common), overlapping windows included."""
    shape, size, stride, seed = case
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 3, shape).astype(float)
    Z, indices = tc.max_pool(A, size, stride=stride, return_indices=True)
    dLZ = rng.standard_normal(Z.shape)
    without = tc.max_pool_da(dLZ, A, size, stride=stride)
    np.testing.assert_array_equal(tc.max_pool_da(dLZ, A, size, stride=stride, indices=indices), without)
    np.testing.assert_allclose(without, oracle.batched(oracle.max_pool_da, dLZ, A, core_ndims=(2, 2), size=size,
                                                       stride=stride).astype(float))


def test_max_pool_da_sends_the_gradient_to_the_nan():
    """Misuse 5: a window holding NaN dropped its gradient and returned finite zeros. Now the
    gradient goes to the window's first NaN (the forward's maximum), both ways."""
    A = np.array([[1.0, np.nan, 2.0, 0.0],
                  [np.nan, 4.0, 3.0, 5.0]])
    dLZ = np.array([[10.0, 20.0]])
    want = [[0, 10, 0, 0], [0, 0, 0, 20]]
    np.testing.assert_array_equal(tc.max_pool_da(dLZ, A, 2), want)
    _, indices = tc.max_pool(A, 2, return_indices=True)
    np.testing.assert_array_equal(tc.max_pool_da(dLZ, A, 2, indices=indices), want)
    np.testing.assert_array_equal(oracle.max_pool_da(dLZ, A, (2, 2)).astype(float), want)
    # Overlapping windows: the NaN at (0, 1) is the maximum of the two windows that hold it.
    np.testing.assert_array_equal(tc.max_pool_da(np.array([[1.0, 2.0, 4.0]]), A, 2, stride=1),
                                  [[0, 3, 0, 0], [0, 0, 0, 4]])


def test_max_pool_da_of_symbols_is_a_piecewise_with_the_tie_rule():
    """Misuse 4: symbols raised "cannot determine truth value of Relational". Each pixel gets
    Piecewise((dlz, it is the first maximum of the window), (0, True)); substituting numbers,
    ties included, gives the numeric result."""
    import sympy
    a, g = sympy.symarray("a", (2, 3)), sympy.symarray("g", (1, 2))
    dA = tc.max_pool_da(g, a, 2, stride=1)
    assert dA.dtype == object and dA.shape == (2, 3)
    for values in ([[1, 5, 2], [3, 4, 2]], [[2, 2, 2], [2, 2, 2]], [[0, 1, 1], [1, 1, 0]]):
        numbers = dict(zip(a.flat, np.ravel(values)))
        numbers.update({g[0, 0]: 10, g[0, 1]: 20})
        got = np.array([[float(e.subs(numbers)) for e in row] for row in dA])
        np.testing.assert_array_equal(got, tc.max_pool_da(np.array([[10, 20]]), np.array(values), 2, stride=1))
    t = sympy.Symbol("t", real=True)
    ordered = np.array([[t, t + 2], [t + 2, t - 1]], dtype=object)     # comparable: a plain scatter
    assert tc.max_pool_da(np.array([[g[0, 0]]]), ordered, 2).tolist() == [[0, g[0, 0]], [0, 0]]


@given(pool_cases(), st.integers(0, 3))
def test_given_indices_anywhere_in_their_fm_add_up(case, moved):
    """Indices inside their own windows take the assignment path (per class of disjoint windows
    when windows overlap); some moved anywhere else in the FM, repeats included, take np.add.at.
    Either way each gradient lands where its index says, added to the others there."""
    shape, size, stride, seed = case
    rng = np.random.default_rng(seed)
    A = rng.standard_normal(shape)
    Z, indices = tc.max_pool(A, size, stride=stride, return_indices=True)
    indices = indices.copy()
    flat = indices.reshape(-1)
    flat[rng.integers(0, flat.size, moved)] = rng.integers(0, shape[-2] * shape[-1], moved)
    dLZ = rng.integers(1, 4, Z.shape).astype(float)      # equal gradients: a lost repeat would show
    want = np.zeros((flat.size // (Z.shape[-2] * Z.shape[-1]), shape[-2] * shape[-1]))
    for f, where in enumerate(indices.reshape(len(want), -1)):
        np.add.at(want[f], where, dLZ.reshape(len(want), -1)[f])
    got = tc.max_pool_da(dLZ, A, size, stride=stride, indices=indices.astype(np.int32))
    np.testing.assert_array_equal(got, want.reshape(shape))


def test_given_indices_are_used_as_given():
    """An index is where the gradient goes: one outside its window still gets it, and a pixel
    named by several windows gets their sum (the check that makes assignment safe)."""
    A = np.ones((2, 4))
    dLZ = np.array([[1.0, 2.0]])
    np.testing.assert_array_equal(tc.max_pool_da(dLZ, A, 2, indices=np.array([[5, 6]])),
                                  [[0, 0, 0, 0], [0, 1, 2, 0]])
    np.testing.assert_array_equal(tc.max_pool_da(dLZ, A, 2, indices=np.array([[1, 1]])),
                                  [[0, 3, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(tc.max_pool_da(np.array([[0.0, 2.0]]), A, 2, indices=np.array([[1, 1]])),
                                  [[0, 2, 0, 0], [0, 0, 0, 0]])
    # Indices of A broadcast over dLZ's batch, as max_pool(A) returns them for a shared A.
    _, indices = tc.max_pool(np.arange(8.0).reshape(2, 4), 2, return_indices=True)
    got = tc.max_pool_da(np.array([[[1.0, 2.0]], [[3.0, 4.0]]]), np.arange(8.0).reshape(2, 4), 2, indices=indices)
    np.testing.assert_array_equal(got[1], [[0, 0, 0, 0], [0, 3, 0, 4]])
