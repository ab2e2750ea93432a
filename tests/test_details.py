"""Sizes, padding, stride and the window mechanism (8.14-8.19)."""
import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from textbook_core import output_size
from textbook_core.details import as_array, batch_shape, im2col, like, pad, pair, windows, windows_adjoint


def test_sizes_worked_by_hand():
    # Figure 8.2: 3x3 image, 2x2 kernel -> 2x2 (8.14).
    assert output_size(3, 2) == 2
    # Figure 8.3: 4x4 image, 2x2 kernel, stride 2 -> 2x2.
    assert output_size(4, 2, stride=2) == 2
    # E8.7 i: 15x15, 3x3, S^t = 2, P^d = 1: (15 + 2 - 3) / 2 + 1 = 8.
    assert output_size(15, 3, padding=1, stride=2) == 8
    # Stride that does not divide: (7 - 3) / 3 + 1 = 2.33 -> 2 (the last row is ignored).
    assert output_size(7, 3, stride=3) == 2
    # Figure 8.8: 15x15 max pooling with window and stride 3 -> 5x5.
    assert output_size((15, 15), (3, 3), stride=3) == (5, 5)
    assert output_size((5, 7), (2, 3), padding=(1, 0), stride=(2, 1)) == (3, 5)


@given(st.integers(1, 30), st.integers(1, 7), st.integers(0, 3))
def test_same_padding_keeps_the_size(R, half, extra):
    """E8.7 ii: with S^t = 1, P^d = (r - 1)/2 keeps R (odd r), for any R the kernel fits."""
    r = 2 * half - 1
    if r <= R + r - 1:
        assert output_size(R, r, padding=half - 1) == R
    assert output_size(R, 1, padding=extra) == R + 2 * extra


def test_symbolic_size_is_the_printed_formula_with_a_floor():
    R, r, P, S = sympy.symbols("R r P S", positive=True, integer=True)
    assert sympy.simplify(output_size(R, r, padding=P, stride=S) - (sympy.floor((R + 2 * P - r) / S) + 1)) == 0


@pytest.mark.parametrize("call, message", [
    (lambda: output_size(3, 4), r"kernel r=4 does not fit input R_r=3 with padding P\^d=0"),
    (lambda: output_size((5, 3), (2, 6), padding=1), r"kernel c=6 does not fit input R_c=3 with padding P\^d=1"),
    (lambda: output_size(5, 3, stride=0), r"stride S\^t=0 must be an integer >= 1"),
    (lambda: output_size(5, 3, padding=-1), r"padding P\^d=-1 must be an integer >= 0"),
    (lambda: output_size(0, 1), r"sizes must be positive, got input R_r=0"),
    (lambda: pair((1, 2, 3), "S^t", 1), r"stride S\^t=\(1, 2, 3\)"),
    (lambda: pair(1.5, "P^d", 0), r"padding P\^d=1.5"),
    (lambda: as_array(["x"], "P"), r"P must hold real numbers, got dtype <U1"),
])
def test_bad_sizes_raise_value_error_naming_the_symbol(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# Issue 12, misuse 1: sizes that are not integers used to fall into the symbolic branch and come
# back as numbers (or a bare TypeError for stride=(2, 0)).
@pytest.mark.parametrize("kwargs, message", [
    (dict(R=5, r=2, stride=1.5), r"stride S\^t=1.5 must be an integer >= 1"),
    (dict(R=5, r=2, stride=2.0), r"stride S\^t=2.0 must be an integer >= 1"),
    (dict(R=5, r=2, padding=0.5), r"padding P\^d=0.5 must be an integer >= 0"),
    (dict(R=5, r=2, stride=True), r"stride S\^t=True must be an integer >= 1"),
    (dict(R=5, r=2, padding=False), r"padding P\^d=False must be an integer >= 0"),
    (dict(R=5.0, r=2), r"input size R_r=5.0 must be an integer >= 1"),
    (dict(R=5, r=2.0), r"kernel r=2.0 must be an integer >= 1"),
    (dict(R=5, r=2, stride=(2, 0)), r"stride S\^t=\(2, 0\) is a pair, but R and r are sizes of one axis"),
    (dict(R=5, r=2, stride=None), r"stride S\^t=None"),
    (dict(R="5", r=2), r"input size R_r='5'"),
    (dict(R=(5, 5), r=(2, 2), padding=(1,)), r"padding P\^d=\(1,\)"),
    (dict(R=(5, 5, 5), r=2), r"input size R=\(5, 5, 5\)"),
    (dict(R=(5, 5), r=(2, 0)), r"size r=\(2, 0\)"),
    (dict(R=-3, r=2), r"sizes must be positive, got input R_r=-3"),
    (dict(R=sympy.Symbol("R"), r=3, stride=1.5), r"stride S\^t=1.5"),
])
def test_output_size_refuses_sizes_that_are_not_integers(kwargs, message):
    with pytest.raises(ValueError, match=message):
        output_size(kwargs.pop("R"), kwargs.pop("r"), **kwargs)


def test_output_size_takes_integers_of_every_kind_and_symbols():
    assert output_size(np.int64(15), np.int32(3), padding=np.uint8(1), stride=np.int16(2)) == 8
    assert output_size(sympy.Integer(15), 3, padding=sympy.Integer(1), stride=2) == 8
    assert output_size(np.array(15), 3) == 13
    assert output_size((5, 7), np.array([2, 3]), padding=[1, 0], stride=(np.int64(2), 1)) == (3, 5)
    R = sympy.Symbol("R", integer=True, positive=True)
    assert sympy.simplify(output_size(R, 3, stride=2) - (sympy.floor((R - 3) / 2) + 1)) == 0


def test_pair_refuses_bools_floats_and_wrong_lengths():
    assert pair(np.int64(2), "S^t", 1) == (2, 2) and pair([1, np.int8(0)], "P^d", 0) == (1, 0)
    for bad in (True, 2.0, (2, 2.0), (1,), (1, 2, 3), "2", None, np.array([[1, 1]]), (True, 1)):
        with pytest.raises(ValueError, match=r"stride S\^t="):
            pair(bad, "S^t", 1)


def test_dtype_rule():
    assert as_array([1, 2]).dtype == np.float64            # integers compute in float64
    assert as_array([True, False]).dtype == np.float64
    assert as_array(np.ones(2, np.float32)).dtype == np.float32
    assert as_array(np.array([sympy.Symbol("x")])).dtype == object   # sympy flows through
    assert as_array(np.array([1, 2.5, sympy.Rational(1, 3)], dtype=object)).dtype == object


@pytest.mark.parametrize("values, message", [
    (np.ones(2, complex), r"A must hold real numbers, got dtype complex128"),
    (np.array(["1", "2"]), r"A must hold real numbers, got dtype <U1"),
    (np.array([1, None], dtype=object), r"A must hold real numbers or sympy expressions, got None"),
    (np.array([1, "x"], dtype=object), r"got 'x' of type str"),
    (np.array([1, 2j], dtype=object), r"got 2j of type complex"),
])
def test_complex_strings_and_other_objects_are_refused(values, message):
    with pytest.raises(ValueError, match=message):
        as_array(values, "A")


def test_parameters_take_the_dtype_of_the_array_they_scale():
    f32 = np.ones(2, np.float32)
    for w in (0.5, np.float64(0.5), np.array(0.5), np.array([1, 2]), np.array([1.0, 2.0])):
        assert like(w, f32, "w").dtype == np.float32
    assert like(0.5, np.ones(2), "w").dtype == np.float64
    assert like(sympy.Symbol("w"), np.array([sympy.Symbol("x")]), "w").dtype == object


def test_batch_axes_that_do_not_broadcast_are_named():
    assert batch_shape(("dLZ", (4, 1)), ("A", (3,))) == (4, 3)
    with pytest.raises(ValueError, match=r"dLZ has \(2,\) in front of its FMs, A has \(3,\)"):
        batch_shape(("dLZ", (2,)), ("A", (3,)))


def test_pad_adds_zeros_on_every_side():
    A = np.array([[1.0, 2.0]])
    np.testing.assert_array_equal(pad(A, (1, 2)), [[0, 0, 0, 0, 0, 0], [0, 0, 1, 2, 0, 0], [0, 0, 0, 0, 0, 0]])


def test_windows_worked_by_hand():
    A = np.arange(20).reshape(4, 5)
    view = windows(A, (2, 3), (2, 2))          # windows at (0, 0), (0, 2), (2, 0), (2, 2)
    assert view.shape == (2, 3, 2, 2)
    np.testing.assert_array_equal(view[:, :, 1, 0], [[10, 11, 12], [15, 16, 17]])
    np.testing.assert_array_equal(view[:, :, 0, 1], [[2, 3, 4], [7, 8, 9]])
    assert np.shares_memory(view, A)           # a view, not a copy


def test_im2col_rows_are_kernel_positions_and_columns_are_windows():
    A = np.arange(2 * 3 * 3).reshape(2, 3, 3)
    cols = im2col(A, (2, 2))
    assert cols.shape == (8, 4)
    np.testing.assert_array_equal(cols[:, 3], [4, 5, 7, 8, 13, 14, 16, 17])   # window (1, 1) of both FMs


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 4), st.integers(0, 4), st.integers(0, 2**32 - 1))
def test_windows_adjoint_is_the_transpose_of_windows(r, c, sr, sc, extra_r, extra_c, seed):
    """<windows(A), C> == <A, windows_adjoint(C)> for every A and C: the two are transposes."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((2, r + extra_r, c + extra_c))
    view = windows(A, (r, c), (sr, sc))
    C = rng.standard_normal(view.shape)
    back = windows_adjoint(C, A.shape[-2:], (sr, sc))
    assert back.shape == A.shape
    np.testing.assert_allclose(np.sum(view * C), np.sum(A * back))


def test_empty_batch_gives_empty_results():
    import textbook_core as tc
    LW, A = np.ones((2, 3, 2, 2)), np.ones((0, 3, 4, 4))
    assert tc.correlate_fms(LW, A).shape == (0, 2, 3, 3)
    assert tc.conv_da(np.ones((0, 2, 3, 3)), LW, A.shape).shape == (0, 3, 4, 4)
    np.testing.assert_array_equal(tc.conv_dlw(np.ones((0, 2, 3, 3)), A), np.zeros((2, 3, 2, 2)))
