"""Impulses, convolution, correlation and the weight-sharing matrix (8.1-8.13, P8.1, P8.2)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import signal

import textbook_core as tc
from textbook_core import oracle
from cases import conv_cases

P = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
W = np.array([[1, 2], [3, 4]])


def test_correlation_and_convolution_worked_by_hand():
    # 8.13: z_11 = 1*1 + 2*2 + 3*4 + 4*5 = 37, and so on, one step right or down.
    np.testing.assert_array_equal(tc.correlate(W, P), [[37, 47], [67, 77]])
    # Summary's convolution: the kernel flipped, z_11 = 4*1 + 3*2 + 2*4 + 1*5 = 23.
    np.testing.assert_array_equal(tc.convolve(W, P), [[23, 33], [53, 63]])
    # Full convolution, size 3 + 2 - 1 = 4: the corner is w_11 p_11 = 1.
    full = tc.convolve(W, P, mode="full")
    assert full.shape == (4, 4) and full[0, 0] == 1 and full[3, 3] == 36
    # The same hand values from the loop oracle, so the oracle is checked too.
    np.testing.assert_array_equal(oracle.correlate(W, P).astype(float), [[37, 47], [67, 77]])
    assert oracle.convolve_full(W, P)[1, 1] == 1 * 5 + 2 * 4 + 3 * 2 + 4 * 1


def test_slides_feature_map():
    """The slides' 7x7 image and 3x3 detector give their 5x5 feature map, but for one slip.

    The window at row 3, col 3 (1-based) holds a single 1 at its centre, where the detector has 0,
    so the entry is 0; the slides print 1 (docs/errata.md).
    """
    from textbook_core import data
    computed = tc.correlate(data.SLIDE_DETECTOR, data.SLIDE_IMAGE)
    assert np.argwhere(computed != data.SLIDE_FEATURE_MAP).tolist() == [[2, 2]]
    window = data.SLIDE_IMAGE[2:5, 2:5]
    assert window.sum() == 1 and window[1, 1] == 1 and data.SLIDE_DETECTOR[1, 1] == 0
    assert computed[2, 2] == 0 and data.SLIDE_FEATURE_MAP[2, 2] == 1


def test_lecture_notes_full_convolution_of_a_filter_and_a_vector():
    # 2*(1,1,2,1,0,0,0) - (0,1,1,2,1,0,0) + (0,0,1,1,2,1,0) + (0,0,0,1,1,2,1)
    np.testing.assert_array_equal(tc.convolve([2, -1, 1, 1], [1, 1, 2, 1], mode="full"), [2, 1, 4, 2, 2, 3, 1])


@given(conv_cases(batch=True))
def test_correlate_matches_the_loop_oracle(case):
    LW, A = case.arrays()
    Wk, Pimg = LW[0, 0], A[..., 0, :, :] if not case.one_d else A[..., 0, :]
    got = tc.correlate(Wk, Pimg, **case.spatial_kw())
    padding, stride = case.pairs
    if case.one_d:
        Wk, Pimg = Wk[None], Pimg[..., None, :]
    want = oracle.batched(oracle.correlate, Wk, Pimg, core_ndims=(2, 2), padding=padding, stride=stride)
    np.testing.assert_allclose(got, want.astype(float).reshape(got.shape), atol=1e-12)
    S = tc.output_size(Pimg.shape[-2:], Wk.shape, padding=padding, stride=stride)
    assert got.shape[-1] == S[1] and (case.one_d or got.shape[-2:] == S)


@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 5), st.integers(0, 5), st.integers(0, 2**32 - 1))
def test_scipy_agrees_on_valid_correlation_and_full_and_same_convolution(r, c, dr, dc, seed):
    rng = np.random.default_rng(seed)
    Wk, Pimg = rng.standard_normal((r, c)), rng.standard_normal((r + dr, c + dc))
    np.testing.assert_allclose(tc.correlate(Wk, Pimg), signal.correlate2d(Pimg, Wk, "valid"))
    np.testing.assert_allclose(tc.convolve(Wk, Pimg), signal.convolve2d(Pimg, Wk, "valid"))
    np.testing.assert_allclose(tc.convolve(Wk, Pimg, mode="full"), signal.convolve2d(Pimg, Wk, "full"))
    if r % 2 and c % 2:
        np.testing.assert_allclose(tc.convolve(Wk, Pimg, mode="same"), signal.convolve2d(Pimg, Wk, "same"))
    np.testing.assert_allclose(tc.convolve(Wk[0], Pimg[0], mode="full"), np.convolve(Pimg[0], Wk[0]))
    np.testing.assert_allclose(tc.correlate(Wk[0], Pimg[0]), np.correlate(Pimg[0], Wk[0], "valid"))


@given(conv_cases(batch=False, one_d=False))
def test_convolution_is_correlation_with_the_rotated_kernel_and_valid_is_a_slice_of_full(case):
    LW, A = case.arrays()
    Wk, Pimg = LW[0, 0], A[0]
    kw = case.spatial_kw()
    np.testing.assert_allclose(tc.convolve(Wk, Pimg, **kw), tc.correlate(tc.rot180(Wk), Pimg, **kw))
    r, c = Wk.shape
    if r <= Pimg.shape[0] and c <= Pimg.shape[1]:
        full = tc.convolve(Wk, Pimg, mode="full")
        np.testing.assert_allclose(tc.convolve(Wk, Pimg), full[r - 1 : full.shape[0] - r + 1, c - 1 : full.shape[1] - c + 1])
        np.testing.assert_allclose(full, oracle.convolve_full(Wk, Pimg).astype(float))


def test_convolution_commutes_in_full_mode():
    """8.5-8.6: W * P == P * W when every overlap is computed."""
    rng = np.random.default_rng(1)
    Wk, Pimg = rng.standard_normal((2, 3)), rng.standard_normal((4, 5))
    np.testing.assert_allclose(tc.convolve(Wk, Pimg, mode="full"), tc.convolve(Pimg, Wk, mode="full"))


def test_rot180_flips_both_axes_as_in_p8_1():
    w = np.array([[7, 8, 9], [4, 5, 6], [1, 2, 3]])
    np.testing.assert_array_equal(tc.rot180(w), [[3, 2, 1], [6, 5, 4], [9, 8, 7]])
    np.testing.assert_array_equal(tc.rot180(np.arange(8).reshape(2, 2, 2))[1], [[7, 6], [5, 4]])
    np.testing.assert_array_equal(tc.rot180([1, 2, 3]), [3, 2, 1])


def test_impulse_response_of_a_convolution_is_its_kernel():
    """8.2-8.5: a linear position-invariant transform is the convolution with its impulse response."""
    rng = np.random.default_rng(7)
    Wk = rng.standard_normal((3, 3))
    response = tc.impulse_response(lambda image: tc.convolve(Wk, image, mode="same"), (5, 5), (2, 2))
    np.testing.assert_allclose(response[1:4, 1:4], Wk)
    assert np.count_nonzero(response) == np.count_nonzero(Wk)
    # ...and convolving with the response reproduces the transform on any image.
    image = rng.standard_normal((5, 5))
    np.testing.assert_allclose(tc.convolve(response[1:4, 1:4], image, mode="same"), tc.convolve(Wk, image, mode="same"))


def test_p8_2_shift_right_and_up():
    def shift(image):
        out = np.zeros_like(image)
        out[:-1, 1:] = image[1:, :-1]        # right one column, up one row
        return out
    response = tc.impulse_response(shift, (4, 4), (2, 1))
    np.testing.assert_array_equal(response[1:3, 1:3], [[0, 1], [0, 0]])      # P8.2's kernel around (2, 1)
    assert response.sum() == 1


@given(conv_cases(batch=False, one_d=False, max_size=6))
def test_conv_matrix_is_the_operation_and_its_transpose_is_the_backward_path(case):
    """8.11-8.12: M vec(P) = vec(W (x) P); and M^T vec(dZ) = vec(dA) (8.45, the transpose)."""
    LW, A = case.arrays()
    Wk, Pimg, kw = LW[0, 0], A[0], case.spatial_kw()
    M = tc.conv_matrix(Wk, Pimg.shape, **kw)
    Z = tc.correlate(Wk, Pimg, **kw)
    np.testing.assert_allclose(M @ tc.vec(Pimg), tc.vec(Z), atol=1e-12)
    dZ = np.random.default_rng(case.seed).standard_normal(Z.shape)
    dA = tc.conv_da(dZ[None], Wk[None, None], Pimg.shape, **kw)[0]
    np.testing.assert_allclose(M.T @ tc.vec(dZ), tc.vec(dA), atol=1e-12)


def test_conv_matrix_shares_weights_as_printed_in_8_12():
    M = tc.conv_matrix(np.array([[1, 2], [3, 4]]), (3, 3))
    printed = [[1, 3, 0, 2, 4, 0, 0, 0, 0],
               [0, 1, 3, 0, 2, 4, 0, 0, 0],
               [0, 0, 0, 1, 3, 0, 2, 4, 0],
               [0, 0, 0, 0, 1, 3, 0, 2, 4]]
    np.testing.assert_array_equal(M, printed)


@pytest.mark.parametrize("call, message", [
    (lambda: tc.correlate(np.ones((4, 4)), np.ones((3, 3))), r"kernel r=4 does not fit input R_r=3 with padding P\^d=0"),
    (lambda: tc.correlate(np.ones((2, 6)), np.ones((3, 3)), padding=1), r"kernel c=6 does not fit input R_c=3 with padding P\^d=1"),
    (lambda: tc.correlate(np.ones((2, 2, 2)), np.ones((3, 3))), r"W must be a filter \(k,\) or a kernel \(r, c\)"),
    (lambda: tc.correlate(np.ones((2, 2)), np.ones(3)), r"P with shape \(3,\) has fewer axes"),
    (lambda: tc.correlate(np.ones((2, 2)), np.ones((3, 3)), stride=0), r"stride S\^t=0"),
    (lambda: tc.convolve(np.ones((2, 2)), np.ones((3, 3)), mode="same"), r"mode='same' needs an odd kernel, got r=2, c=2"),
    (lambda: tc.convolve(np.ones(2), np.ones(3), mode="same"), r"mode='same' needs an odd kernel, got k=2"),
    (lambda: tc.convolve(np.ones((1, 1)), np.ones((3, 3)), mode="wide"), r"mode must be 'valid', 'full' or 'same'"),
    (lambda: tc.impulse((3, 3), (0, 3)), r"impulse position at=\(0, 3\) lies outside an image of shape \(3, 3\)"),
    (lambda: tc.conv_matrix(np.ones((2, 2, 2)), (3, 3)), r"W must be a filter \(k,\) or a kernel \(r, c\)"),
    (lambda: tc.conv_matrix(np.ones(3), (3, 3)), r"input_shape of a 1-D filter must be \(M,\)"),
    (lambda: tc.conv_matrix(np.ones((2, 2)), 3), r"input_shape of a kernel must be \(R_r, R_c\)"),
    (lambda: tc.conv_matrix(np.ones((2, 2)), (3.0, 3)), r"input size R=\(3.0, 3\)"),
    (lambda: tc.impulse((2, 2), (1.5, 0)), r"impulse position at=\(1.5, 0\) lies outside"),
    (lambda: tc.impulse((2, 0), (0, 0)), r"impulse shape=\(2, 0\) must be positive integers"),
    (lambda: tc.rot180(3), r"W must be a filter \(k,\) or kernels"),
    (lambda: tc.correlate(np.ones((2, 2)), np.ones((3, 3), complex)), r"P must hold real numbers, got dtype complex128"),
    (lambda: tc.correlate(np.ones((0, 2)), np.ones((3, 3))), r"the kernel W has r=0, c=2: it needs at least one row"),
    (lambda: tc.correlate(np.ones((2, 2)), np.ones((3, 0))), r"input size R=\(3, 0\) must be an integer >= 1"),
    (lambda: tc.correlate(np.ones((2, 2)), np.ones((3, 3)), stride=True), r"stride S\^t=True must be an integer >= 1"),
    (lambda: tc.correlate(np.ones((2, 2)), np.ones((3, 3)), padding=1.0), r"padding P\^d=1.0 must be an integer >= 0"),
    (lambda: tc.correlate(np.ones((2, 2)), np.ones((3, 3)), padding=(1, 2, 3)), r"padding P\^d=\(1, 2, 3\)"),
])
def test_bad_input_raises_value_error_naming_the_symbol(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("dtype, expected", [(np.float32, np.float32), (np.float64, np.float64),
                                             (np.int64, np.float64), (bool, np.float64)])
def test_dtype_rule(dtype, expected):
    image, kernel = np.ones((4, 4), dtype=dtype), np.ones((2, 2), dtype=dtype)
    assert tc.correlate(kernel, image).dtype == expected
    assert tc.convolve(kernel, image, mode="full").dtype == expected


# Issue 12, misuse 8: a 1-D signal has one padding and one stride; a pair used to lose its first entry.
@pytest.mark.parametrize("call", [
    lambda: tc.correlate(np.ones(3), np.ones(6), padding=(1, 2)),
    lambda: tc.correlate(np.ones(3), np.ones(6), stride=(1, 2)),
    lambda: tc.correlate(np.ones(3), np.ones((2, 6)), padding=(0, 0)),
    lambda: tc.convolve(np.ones(3), np.ones(6), padding=(0, 1), mode="full"),
    lambda: tc.convolve(np.ones(3), np.ones(6), stride=(2, 2), mode="same"),
    lambda: tc.conv_matrix(np.ones(3), (6,), padding=(1, 1)),
])
def test_a_pair_on_a_1d_signal_is_refused(call):
    with pytest.raises(ValueError, match=r"of a 1-D signal must be one integer"):
        call()


def test_1d_conv_matrix_is_the_filter_on_shifted_rows():
    # The notes' filter (2, -1, 1) on a vector of 4, and with padding 1, stride 2.
    M = tc.conv_matrix([2, -1, 1], 4)
    np.testing.assert_array_equal(M, [[2, -1, 1, 0], [0, 2, -1, 1]])
    x = np.array([1.0, 1.0, 2.0, 1.0])
    np.testing.assert_array_equal(M @ x, tc.correlate([2, -1, 1], x))
    np.testing.assert_array_equal(tc.conv_matrix([2, -1, 1], (4,), padding=1, stride=2),
                                  [[-1, 1, 0, 0], [0, 2, -1, 1]])


def test_conv_matrix_keeps_the_kernels_dtype():
    """Issue 12, misuse 3: a float32 kernel gave a float64 matrix."""
    assert tc.conv_matrix(np.ones((2, 2), np.float32), (3, 3)).dtype == np.float32
    assert tc.conv_matrix(np.ones(2, np.float32), 3).dtype == np.float32
    assert tc.conv_matrix(np.ones((2, 2), int), (3, 3)).dtype == np.float64
    import sympy
    M = tc.conv_matrix(sympy.symarray("w", (1, 2)), (1, 3))
    assert M.dtype == object and M[0, 0] == sympy.Symbol("w_0_0")
