"""Multiple feature maps, pooling and vec (8.20-8.26), and the notes' 1-D multi-channel form."""
import numpy as np
import pytest
from hypothesis import given
from scipy import signal

import textbook_core as tc
from textbook_core import oracle
from cases import conv_cases, pool_cases


def test_two_fms_in_one_fm_out_worked_by_hand():
    A = np.array([[[1, 0, 2], [0, 1, 0], [3, 0, 1]],
                  [[0, 1, 0], [1, 0, 1], [0, 1, 0]]])
    LW = np.array([[[[1, 0], [0, 1]], [[0, 1], [1, 0]]]])      # H^m = 1, H^n = 2
    # z_11 = (1*1 + 1*1) + (1*1 + 1*1) = 4; z_12 = (0 + 0) + (0 + 0) = 0; z_21 = 0 + 0 = 0; z_22 = (1+1) + (1+1) = 4
    np.testing.assert_array_equal(tc.correlate_fms(LW, A), [[[4, 0], [0, 4]]])
    np.testing.assert_array_equal(oracle.correlate_fms(LW, A).astype(float), [[[4, 0], [0, 4]]])


def test_pooling_worked_by_hand():
    V = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 0, 5, 6], [1, 2, 7, 8]])
    np.testing.assert_array_equal(tc.max_pool(V, 2), [[4, 2], [2, 8]])
    np.testing.assert_array_equal(tc.avg_pool(V, 2), [[2.5, 1], [0.75, 6.5]])
    np.testing.assert_array_equal(tc.avg_pool(V, 2, w=2), [[20, 8], [6, 52]])
    np.testing.assert_array_equal(tc.max_pool(V, 3, stride=1), [[5, 6], [7, 8]])


@given(conv_cases())
def test_correlate_fms_matches_the_loop_oracle(case):
    LW, A = case.arrays()
    got = tc.correlate_fms(LW, A, **case.spatial_kw())
    padding, stride = case.pairs
    if case.one_d:
        LW, A = LW[:, :, None, :], A[..., None, :]
    want = oracle.batched(oracle.correlate_fms, LW, A, core_ndims=(4, 3), padding=padding, stride=stride)
    np.testing.assert_allclose(got, want.astype(float).reshape(got.shape), atol=1e-12)


@given(conv_cases(batch=False, one_d=False))
def test_correlate_fms_is_a_sum_of_scipy_correlations(case):
    """8.21 with stride 1 and no padding: Z^h = sum_l correlate2d(A^l, W^{h,l}, 'valid')."""
    LW, A = case.arrays()
    if any(k > n for k, n in zip(LW.shape[-2:], A.shape[-2:])):
        return
    want = [sum(signal.correlate2d(A[l], LW[h, l], "valid") for l in range(case.H_n)) for h in range(case.H_m)]
    np.testing.assert_allclose(tc.correlate_fms(LW, A), want)


def test_notes_1d_multichannel_forward_with_centred_taps():
    """y_{i,t} = sum_j sum_{tau=-R}^{R} w_{i,j,tau} x_{j,t+tau}: the same as correlate_fms, shifted by R."""
    rng = np.random.default_rng(3)
    R, J, I, T = 1, 3, 2, 9
    w = rng.standard_normal((I, J, 2 * R + 1))      # w[i, j, tau + R]
    x = rng.standard_normal((J, T))
    y = np.zeros((I, T - 2 * R))
    for i in range(I):
        for t in range(R, T - R):
            y[i, t - R] = sum(w[i, j, tau + R] * x[j, t + tau] for j in range(J) for tau in range(-R, R + 1))
    np.testing.assert_allclose(tc.correlate_fms(w, x), y)


@given(pool_cases())
def test_pooling_matches_the_loop_oracle(case):
    shape, size, stride, seed = case
    V = np.random.default_rng(seed).standard_normal(shape)
    w = float(np.random.default_rng(seed + 1).standard_normal())
    for got, want in [
        (tc.max_pool(V, size, stride=stride), oracle.batched(oracle.max_pool, V, core_ndims=(2,), size=size, stride=stride)),
        (tc.avg_pool(V, size, stride=stride), oracle.batched(oracle.avg_pool, V, core_ndims=(2,), size=size, stride=stride)),
        (tc.avg_pool(V, size, w=w, stride=stride),
         oracle.batched(oracle.avg_pool, V, core_ndims=(2,), size=size, w=w, stride=stride)),
    ]:
        np.testing.assert_allclose(got, want.astype(float), atol=1e-12)
        assert got.shape[-2:] == tc.output_size(shape[-2:], size, stride=stride or size)


def test_pooling_is_per_fm():
    """The pooling layer keeps H^2 = H^1: each FM is pooled on its own."""
    V = np.random.default_rng(0).standard_normal((3, 4, 6))
    Z = tc.max_pool(V, 2)
    for h in range(3):
        np.testing.assert_array_equal(Z[h], tc.max_pool(V[h], 2))


def test_vec_stacks_columns_fm_after_fm_as_in_8_26():
    A = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])     # two FMs
    np.testing.assert_array_equal(tc.vec(A), [1, 3, 2, 4, 5, 7, 6, 8])
    np.testing.assert_array_equal(tc.vec(A[0]), [1, 3, 2, 4])
    np.testing.assert_array_equal(tc.vec(np.stack([A, 10 * A])), [[1, 3, 2, 4, 5, 7, 6, 8], [10, 30, 20, 40, 50, 70, 60, 80]])
    np.testing.assert_array_equal(tc.unvec(tc.vec(A), A.shape[-3:]), A)


def test_wu_kronecker_identity():
    """vec(A X B) = (B^T kron A) vec(X), with the package's column-major vec."""
    rng = np.random.default_rng(5)
    A, X, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    np.testing.assert_allclose(tc.vec(A @ X @ B), np.kron(B.T, A) @ tc.vec(X))


@pytest.mark.parametrize("call, message", [
    (lambda: tc.correlate_fms(np.ones((1, 3, 2, 2)), np.ones((2, 3, 3))), r"A has H\^n=2 FMs but LW expects H\^n=3"),
    (lambda: tc.correlate_fms(np.ones((2, 2)), np.ones((2, 3, 3))), r"LW must have shape \(H\^m, H\^n, r, c\)"),
    (lambda: tc.correlate_fms(np.ones((1, 1, 2, 2)), np.ones((3, 3))), r"A must be a stack of FMs"),
    (lambda: tc.correlate_fms(np.ones((1, 1, 4, 2)), np.ones((1, 3, 3)), padding=0), r"kernel r=4 does not fit input R_r=3"),
    (lambda: tc.max_pool(np.ones((3, 3)), (2, 4)), r"kernel c=4 does not fit input R_c=3"),
    (lambda: tc.avg_pool(np.ones(3), 2), r"V must have rows and cols"),
    (lambda: tc.max_pool(np.ones((4, 4)), 2, stride=0), r"stride S\^t=0"),
    (lambda: tc.unvec(np.ones(4), (2, 3)), r"vec\(A\) has 4 elements but shape \(2, 3\) holds 6"),
])
def test_bad_input_raises_value_error_naming_the_symbol(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_float32_stays_float32_and_sympy_flows_through():
    import sympy
    LW, A = np.ones((2, 1, 2, 2), np.float32), np.ones((1, 3, 3), np.float32)
    assert tc.correlate_fms(LW, A).dtype == np.float32
    assert tc.max_pool(A, 2, stride=1).dtype == np.float32 and tc.avg_pool(A, 3).dtype == np.float32
    Z = tc.correlate_fms(sympy.symarray("w", (1, 1, 1, 2)), sympy.symarray("a", (1, 1, 2)))
    assert Z.dtype == object and sympy.expand(Z[0, 0, 0] - sympy.Symbol("w_0_0_0_0") * sympy.Symbol("a_0_0_0")
                                              - sympy.Symbol("w_0_0_0_1") * sympy.Symbol("a_0_0_1")) == 0
