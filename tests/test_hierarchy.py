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
    (lambda: tc.unvec(np.ones(4), (2, 2.0)), r"shape must be \(R_r, R_c\) or \(H, R_r, R_c\) of positive integers"),
    (lambda: tc.vec(np.array(["a", "b"])), r"A must hold real numbers"),
    (lambda: tc.correlate_fms(np.ones((2, 0, 2, 2)), np.ones((0, 3, 3))), r"LW must hold at least one kernel: H\^m=2, H\^n=0"),
    (lambda: tc.correlate_fms(np.ones((1, 1, 2)), np.ones((1, 5)), padding=(0, 1)), r"padding P\^d=\(0, 1\) of a 1-D signal"),
    (lambda: tc.correlate_fms(np.ones((1, 1, 2)), np.ones(5)), r"A must be a stack of signals \(\.\.\., H, T\)"),
    (lambda: tc.correlate_fms(np.ones((1, 1, 2, 2)), np.ones((1, 3, 3)), stride=np.float64(1)), r"stride S\^t=np.float64\(1.0\)"),
    (lambda: tc.max_pool(np.ones((4, 4)), True), r"window r=True must be an integer >= 1"),
    (lambda: tc.max_pool(np.ones((4, 4)), 2.0), r"window r=2.0 must be an integer >= 1"),
    (lambda: tc.avg_pool(np.ones((4, 4)), (1, 2, 3)), r"window r=\(1, 2, 3\)"),
    (lambda: tc.avg_pool(np.ones((4, 4)), 2, stride=-1), r"stride S\^t=-1 must be an integer >= 1"),
    (lambda: tc.max_pool(np.ones((0, 4)), 2), r"input size R=\(0, 4\)"),
    (lambda: tc.max_pool(np.ones((4, 4), complex), 2), r"V must hold real numbers, got dtype complex128"),
    (lambda: tc.max_pool(np.array([[1, None], [2, 3]], dtype=object), 2), r"V must hold real numbers or sympy"),
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


def test_integers_of_any_kind_are_sizes():
    A = np.arange(16.0).reshape(1, 4, 4)
    np.testing.assert_array_equal(tc.max_pool(A, np.int64(2), stride=np.int32(2)), tc.max_pool(A, 2))
    np.testing.assert_array_equal(tc.correlate_fms(np.ones((1, 1, 2, 2)), A, padding=np.uint8(1), stride=np.int8(2)),
                                  tc.correlate_fms(np.ones((1, 1, 2, 2)), A, padding=1, stride=2))


def test_empty_batches_pool_to_empty_results():
    assert tc.max_pool(np.ones((0, 3, 4, 4)), 2).shape == (0, 3, 2, 2)
    Z, indices = tc.max_pool(np.ones((0, 4, 4)), 2, return_indices=True)
    assert Z.shape == indices.shape == (0, 2, 2)
    assert tc.avg_pool(np.ones((2, 0, 4, 4)), 2).shape == (2, 0, 2, 2)


# Issue 12, misuse 2: one weight per FM used to multiply the columns instead.
def test_avg_pool_takes_one_weight_per_fm():
    V = np.arange(3 * 4 * 4, dtype=float).reshape(3, 4, 4)
    w = np.array([1.0, 2.0, 3.0])
    Z = tc.avg_pool(V, 2, w=w)
    for h in range(3):
        np.testing.assert_array_equal(Z[h], w[h] * tc.avg_pool(V[h], 2, w=1))
    square = np.arange(3 * 6 * 6, dtype=float).reshape(3, 6, 6)     # S_c == H: the old bug was silent here
    np.testing.assert_array_equal(tc.avg_pool(square, 2, w=w)[1], 2 * tc.avg_pool(square[1], 2, w=1))
    batch = np.stack([V, -V])                                           # the weights broadcast over the batch
    np.testing.assert_array_equal(tc.avg_pool(batch, 2, w=w), np.stack([Z, -Z]))
    with pytest.raises(ValueError, match=r"w with shape \(2,\) must be a scalar or one weight per FM: V with shape \(3, 4, 4\)"):
        tc.avg_pool(V, 2, w=w[:2])
    with pytest.raises(ValueError, match=r"w with shape \(3,\) must be a scalar or one weight per FM"):
        tc.avg_pool(V[0], 2, w=w)


def test_max_pool_indices_worked_by_hand():
    # Window (0, 0) holds 5 at row 0, col 1 -> 1; window (0, 1) ties 2 and 2 -> the first, row 0, col 2.
    # Window (1, 0): 9 at row 3, col 0 -> 3 * 4 + 0 = 12; window (1, 1): 8 at row 2, col 3 -> 11.
    V = np.array([[1, 5, 2, 0],
                  [3, 4, 2, 1],
                  [0, 7, 6, 8],
                  [9, 1, 8, 3]])
    Z, indices = tc.max_pool(V, 2, return_indices=True)
    np.testing.assert_array_equal(Z, [[5, 2], [9, 8]])
    np.testing.assert_array_equal(indices, [[1, 2], [12, 11]])
    assert indices.dtype.kind == "i"
    # Overlapping windows (stride 1): the 7 at (2, 1) is the maximum of windows (1, 0) and (1, 1).
    _, overlap = tc.max_pool(V[:3, :3], 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(overlap, [[1, 1], [7, 7]])          # 2 * 3 + 1 in the 3x3 FM


@given(pool_cases())
def test_indices_name_the_first_maximum_of_each_window(case):
    """max_pool's values are V at its indices, and each index is the first maximum (np.argmax)
    of its window in row-major order; small integers make ties common."""
    shape, (r, c), stride, seed = case
    V = np.random.default_rng(seed).integers(0, 3, shape).astype(float)
    Z, indices = tc.max_pool(V, (r, c), stride=stride, return_indices=True)
    np.testing.assert_array_equal(Z, tc.max_pool(V, (r, c), stride=stride))
    sr, sc = stride or (r, c)
    fms, idx = V.reshape((-1,) + shape[-2:]), indices.reshape((-1,) + Z.shape[-2:])
    for f, i, j in np.ndindex(idx.shape):
        window = fms[f, i * sr:i * sr + r, j * sc:j * sc + c]
        u, v = np.unravel_index(np.argmax(window), window.shape)
        assert idx[f, i, j] == (i * sr + u) * shape[-1] + j * sc + v


def test_nan_is_the_maximum_of_its_window_both_ways():
    """A window holding NaN has the maximum NaN, at its first NaN; elsewhere nothing changes."""
    V = np.array([[1.0, 2.0, np.nan, 0.0],
                  [np.nan, 4.0, 3.0, np.nan],
                  [5.0, 6.0, 7.0, 8.0]])
    for stride in (None, 1):
        Z, indices = tc.max_pool(V, 2, stride=stride, return_indices=True)
        np.testing.assert_array_equal(Z, tc.max_pool(V, 2, stride=stride))     # NaN compares equal here
        np.testing.assert_array_equal(Z, oracle.max_pool(V, (2, 2), stride and (1, 1)).astype(float))
    Z, indices = tc.max_pool(V, 2, return_indices=True)
    assert np.isnan(Z).all() and indices.tolist() == [[4, 2]]
    Z, indices = tc.max_pool(V, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(indices, [[4, 2, 2], [4, 10, 7]])
    np.testing.assert_array_equal(Z[1], [np.nan, 7, np.nan])


def test_max_pool_of_symbols_is_sympy_max():
    """Issue 12, misuse 4: symbols raised "cannot determine truth value of Relational"."""
    import sympy
    a = sympy.symarray("a", (2, 4))
    Z = tc.max_pool(a, 2)
    assert Z[0, 0] == sympy.Max(a[0, 0], a[0, 1], a[1, 0], a[1, 1]) and Z[0, 1] == sympy.Max(*a[:, 2:].flat)
    t = sympy.Symbol("t", real=True)
    comparable = np.array([[t, t + 3], [t + 1, t + 3]], dtype=object)     # ordered: indices exist
    Z, indices = tc.max_pool(comparable, 2, return_indices=True)
    assert Z[0, 0] == t + 3 and indices.tolist() == [[1]]
    with pytest.raises(ValueError, match=r"cannot locate the maxima: the values cannot be ordered"):
        tc.max_pool(a, 2, return_indices=True)
