"""Bad and odd inputs found by a second, wider search over the public API (after issue 12's list):
each gets the right answer or a ValueError that names the book's symbol and the value."""
import numpy as np
import pytest
import sympy

import textbook_core as tc
from textbook_core import oracle

RNG = np.random.default_rng(12)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64])
def test_max_pool_da_takes_indices_of_every_integer_dtype(dtype):
    A = RNG.standard_normal((2, 3, 6, 6))
    Z, indices = tc.max_pool(A, 2, return_indices=True)
    dLZ = RNG.standard_normal(Z.shape)
    np.testing.assert_array_equal(tc.max_pool_da(dLZ, A, 2, indices=indices.astype(dtype)), tc.max_pool_da(dLZ, A, 2))


@pytest.mark.parametrize("bad, dtype, side", [(-120, np.int8, 12), (-30000, np.int16, 200), (-1, np.int8, 16),
                                              (2 ** 63 + 5, np.uint64, 2)])
def test_max_pool_da_refuses_indices_outside_the_fm_whatever_their_dtype(bad, dtype, side):
    """-120 as int8 is 136 as uint8, inside a 12 x 12 FM: a one-pass unsigned check let it through,
    and numpy then counted it from the end of the FM (or of the batch)."""
    with pytest.raises(ValueError, match=rf"indices hold {bad}, outside an FM of R_r x R_c = {side} x {side}"):
        tc.max_pool_da(np.ones((1, 1)), np.zeros((side, side)), side, indices=np.array([[bad]], dtype))


@pytest.mark.parametrize("kwargs, message", [
    (dict(padding=(1, 2)), r"padding P\^d=\(1, 2\) is a pair, but R and r are sizes of one axis"),
    (dict(padding=[0, 3]), r"padding P\^d=\(0, 3\) is a pair"),
    (dict(stride=np.array([1, 4])), r"stride S\^t=\(1, 4\) is a pair"),
])
@pytest.mark.parametrize("R", [5, sympy.Symbol("R", positive=True, integer=True)])
def test_output_size_of_one_axis_refuses_a_pair_padding_or_stride(R, kwargs, message):
    """It used to take the pair's first entry and drop the second."""
    with pytest.raises(ValueError, match=message):
        tc.output_size(R, 2, **kwargs)


@pytest.mark.parametrize("stride", [3000, 10 ** 9, 2 ** 62, (1, 10 ** 6), (10 ** 6, 2)])
def test_a_stride_past_the_input_gives_the_first_window_and_returns(stride):
    """The layouts loop over the stride's phases: stride=2**62 never returned, and 3000 took
    seconds for one output pixel. Every path agrees with the loop oracle."""
    pair = tc.details.pair(stride, "S^t", 1)
    W, P = RNG.standard_normal((2, 3)), RNG.standard_normal((5, 6))
    np.testing.assert_allclose(tc.correlate(W, P, padding=1, stride=stride),
                               np.array(oracle.correlate(W, P, (1, 1), pair), dtype=float), rtol=1e-12)
    LW, A = RNG.standard_normal((3, 2, 2, 3)), RNG.standard_normal((2, 5, 6))
    dLZ = RNG.standard_normal(tc.correlate_fms(LW, A, padding=1, stride=stride).shape)
    np.testing.assert_allclose(tc.conv_da(dLZ, LW, A.shape, padding=1, stride=stride),
                               np.array(oracle.conv_da(dLZ, LW, A.shape[-2:], (1, 1), pair), dtype=float), rtol=1e-12)
    np.testing.assert_allclose(tc.conv_dlw(dLZ, A, padding=1, stride=stride, kernel_shape=(2, 3)),
                               np.array(oracle.conv_dlw(dLZ, A, (2, 3), (1, 1), pair), dtype=float), rtol=1e-12)


@pytest.mark.parametrize("value, message", [
    (np.array(0), r"stride S\^t=0 .*must be .*integer >= 1"), (np.array(2.0), r"stride S\^t=2.0"),
    (np.array(True), r"stride S\^t=True"), (np.array(sympy.Integer(0), dtype=object), r"stride S\^t=0")])
@pytest.mark.parametrize("one_d", [False, True])
def test_a_0d_array_as_stride_is_read_as_its_value(value, message, one_d):
    """A bad 0-d array raised a TypeError while its message was being written; np.array(2) works."""
    W, P = (np.ones(2), np.ones(5)) if one_d else (np.ones((2, 2)), np.ones((5, 5)))
    with pytest.raises(ValueError, match=message):
        tc.correlate(W, P, stride=value)
    np.testing.assert_array_equal(tc.correlate(W, P, stride=np.array(2)), tc.correlate(W, P, stride=2))


def test_a_0d_array_as_padding_or_window_is_read_as_its_value():
    with pytest.raises(ValueError, match=r"padding P\^d=-1"):
        tc.correlate(np.ones((2, 2)), np.ones((5, 5)), padding=np.array(-1))
    with pytest.raises(ValueError, match=r"window r=0"):
        tc.max_pool(np.ones((4, 4)), np.array(0))


@pytest.mark.parametrize("call", [
    lambda: tc.conv_da(np.ones((1, 2, 2)), np.ones((1, 1, 2, 2)), np.array(3)),
    lambda: tc.avg_pool_da(np.ones((2, 2)), 2, input_shape=np.array(4)),
])
def test_a_0d_input_shape_is_a_value_error(call):
    with pytest.raises(ValueError, match=r"input_shape must be the forward input's shape"):
        call()


def test_a_nan_among_objects_is_the_maximum_as_among_floats():
    """Comparisons pass over a NaN (both are false): object arrays lost it, and with it the tie
    rule's 'a window holding NaN sends its gradient to the NaN'."""
    V = np.array([[np.nan, 3.0, np.nan], [1.0, np.nan, 2.0], [0.0, 5.0, 0.0]])
    dLZ = np.array([[1.0, 2.0], [3.0, 4.0]])
    for size, stride in ((2, 1), (3, 1), ((1, 2), (2, 1))):
        Z, indices = tc.max_pool(V, size, stride=stride, return_indices=True)
        Zo, indices_o = tc.max_pool(V.astype(object), size, stride=stride, return_indices=True)
        np.testing.assert_array_equal(Zo.astype(float), Z)
        np.testing.assert_array_equal(indices_o, indices)
        np.testing.assert_array_equal(tc.max_pool(V.astype(object), size, stride=stride).astype(float),
                                      tc.max_pool(V, size, stride=stride))
        d = dLZ[:Z.shape[0], :Z.shape[1]]
        np.testing.assert_array_equal(tc.max_pool_da(d, V.astype(object), size, stride=stride).astype(float),
                                      tc.max_pool_da(d, V, size, stride=stride))


@pytest.mark.parametrize("call, message", [
    (lambda: tc.correlate([[1, 2], [3]], np.ones((3, 3))), r"W must be a rectangular array of real numbers"),
    (lambda: tc.max_pool_da([[1.0], [2.0, 3.0]], np.ones((2, 2)), 2), r"dLZ must be a rectangular array"),
    (lambda: tc.convolve(np.ones((2, 2)), np.ones((3, 3)), mode=np.array(["valid", "full"])),
     r"mode must be 'valid', 'full' or 'same'"),
    (lambda: tc.convolve(np.ones((0, 2)), np.ones((3, 3)), mode="full"), r"the kernel W has r=0, c=2"),
    (lambda: tc.correlate(np.zeros(0), np.ones(3)), r"the filter W has k=0 taps"),
    (lambda: tc.vec(None), r"A must hold real numbers or sympy expressions, got None"),
    (lambda: tc.rot180(np.array(["a", "b"])), r"W must hold real numbers, got dtype <U1"),
    (lambda: tc.max_pool(np.ones((2, 2)), 2, return_indices="no"), r"return_indices must be True or False"),
    (lambda: tc.impulse_response(None, (2, 2), (0, 0)), r"transform must be a function of an image"),
    (lambda: tc.impulse_response(lambda image: "abc", (2, 2), (0, 0)), r"the transform's response must hold real"),
])
def test_odd_inputs_are_value_errors_that_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_vec_of_no_fms_is_empty():
    assert tc.vec(np.zeros((0, 2, 3, 3))).shape == (0, 18)
    assert tc.vec(np.zeros((2, 0, 3, 3))).shape == (2, 0)


def test_activation_dn_keeps_float32_with_a_0_1_derivative():
    N = RNG.standard_normal((3, 4)).astype(np.float32)
    dA = RNG.standard_normal((3, 4)).astype(np.float32)
    for fdot in (N > 0, (N > 0).astype(np.int8)):
        dN = tc.activation_dn(dA, fdot)
        assert dN.dtype == np.float32
        np.testing.assert_array_equal(dN, np.where(N > 0, dA, np.float32(0)))
    assert tc.activation_dn(dA.astype(np.float64), N > 0).dtype == np.float64
