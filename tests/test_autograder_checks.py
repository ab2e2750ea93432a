"""The grading helpers of autograder.checks, without nbgrader or kernels: feedback that names the
mistake but never the expected values, probes that catch wrong functions, the E8.3 and E8.10
properties, and bad input."""
import doctest
import itertools
import json
import re

import numpy as np
import pytest

import textbook_core as tc
from autograder import checks
from autograder.checks import Wrong
from autograder.course import ASSIGNMENT, REPO
from textbook_core import data


def test_doctests():
    result = doctest.testmod(checks, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10 and result.failed == 0


def solution_namespace(notebook, part):
    """Run the setup cell and the answer cell `part` of a solution notebook, in this process."""
    nb = json.loads((REPO / "solutions" / ASSIGNMENT / f"{notebook}.ipynb").read_text())
    cells = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]}
    namespace = {}
    exec(cells[f"{notebook}_setup"], namespace)
    exec(cells[f"{notebook}_{part}_answer"], namespace)
    return namespace


# --- compare: what the message says ---------------------------------------------------------------

W = np.array([[1., 2., 0.], [0., -1., 0.], [3., 0., 0.]])      # not symmetric under rot180
P = np.arange(36.).reshape(6, 6) % 7


def message(value, expected, **kw):
    with pytest.raises(Wrong) as info:
        checks.compare("Z", value, expected, **kw)
    return str(info.value)


def test_correlation_for_convolution_is_named():
    text = message(tc.correlate(W, P), tc.convolve(W, P),
                   alternatives=checks.conv_alternatives(W, P, asked="convolution"))
    assert "is the correlation W ⊗ P, but the task asks for the convolution" in text


def test_convolution_for_correlation_is_named():
    text = message(tc.convolve(W, P), tc.correlate(W, P),
                   alternatives=checks.conv_alternatives(W, P, asked="correlation"))
    assert "is the convolution W * P, but the task asks for the correlation" in text


@pytest.mark.parametrize("wrong_padding", [0, 2])
def test_padding_off_by_one_is_named_by_shape(wrong_padding):
    text = message(tc.convolve(W, P, padding=wrong_padding), tc.convolve(W, P, padding=1),
                   alternatives=checks.conv_alternatives(W, P, padding=1))
    assert f"zero padding P^d={wrong_padding}" in text and "has shape" in text


def test_stride_ignored_is_named():
    text = message(tc.correlate(W, P, stride=1)[:2, :2], tc.correlate(W, P, stride=2),
                   alternatives=checks.conv_alternatives(W, P, stride=2, asked="correlation"))
    assert "wrong" in text    # same shape as stride 2 by accident: only the entries are listed
    text = message(tc.correlate(W, P, stride=1), tc.correlate(W, P, stride=2),
                   alternatives=checks.conv_alternatives(W, P, stride=2, asked="correlation"))
    assert "stride 1" in text


def test_wrong_entries_are_listed_without_the_expected_values():
    expected = np.full((3, 4), 123.456)
    got = expected.copy()
    got[0, 1], got[2, 3] = 0, 7
    text = message(got, expected)
    assert "2 of its 12 entries are wrong, at (0, 1), (2, 3)" in text
    assert "123.456" not in text and "123" not in text


def test_long_lists_are_cut():
    text = message(np.zeros((4, 4)), np.ones((4, 4)))
    assert text.count("(") <= checks.MAX_LISTED + 2 and "..." in text


@pytest.mark.parametrize("bad", ["8x8", None, {"a": 1}, [[1, 2], [3]]])
def test_non_arrays_are_refused(bad):
    with pytest.raises(Wrong, match="must be an array of numbers"):
        checks.compare("Z", bad, np.zeros((2, 2)))


def test_nan_is_refused():
    with pytest.raises(Wrong, match="NaN"):
        checks.compare("Z", [[np.nan]], [[1.0]])


def test_equal_answer_passes():
    checks.compare("Z", tc.convolve(W, P).tolist(), tc.convolve(W, P))


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="asked must be"):
        checks.conv_alternatives(W, P, asked="cross")
    with pytest.raises(ValueError, match="kind must be"):
        checks.max_pool_cases("sideways")
    with pytest.raises(ValueError, match="path must be"):
        checks.product_cases("dA", "fms")


# --- functions on probes -------------------------------------------------------------------------

KINDS = ("basic", "remainder", "overlap", "batch", "ties")


@pytest.mark.parametrize("kind", KINDS)
def test_reference_passes_its_own_probes(kind):
    checks.check_function("f", tc.max_pool_da, tc.max_pool_da, checks.max_pool_cases(kind, seed=1))


@pytest.mark.parametrize("kind", ["basic", "remainder", "overlap", "batch"])
def test_probes_have_no_ties_unless_ties_are_tested(kind):
    for _, (dLZ, A, size), kwargs in checks.max_pool_cases(kind, seed=2):
        flat = A.reshape(-1, A.shape[-2] * A.shape[-1])
        assert all(len(np.unique(row)) == row.size for row in flat)


def test_tie_probes_have_ties():
    (_, (dLZ, A, size), _), *_ = checks.max_pool_cases("ties", seed=3)
    assert np.sum(A[:2, :2] == A[:2, :2].max()) == 2


def average_instead_of_max(dLZ, A, size, stride=None):
    return tc.avg_pool_da(dLZ, size, stride=stride, input_shape=np.shape(A))


def last_max_wins(dLZ, A, size, stride=None):
    """Right except for the tie rule: the last maximum gets the gradient."""
    A, dLZ = np.asarray(A, dtype=float), np.asarray(dLZ, dtype=float)
    r, c = (size, size) if np.ndim(size) == 0 else size
    assert stride is None and A.shape[-2] % r == 0 and A.shape[-1] % c == 0
    return tc.max_pool_da(dLZ[..., ::-1, ::-1], A[..., ::-1, ::-1], size)[..., ::-1, ::-1]


def test_average_gradient_fails_every_kind_with_the_probe_named():
    for kind in KINDS:
        with pytest.raises(Wrong, match=r"(?s)Probe \d+ of \d+ .*entries are wrong"):
            checks.check_function("max_pool_da", average_instead_of_max, tc.max_pool_da,
                                  checks.max_pool_cases(kind, seed=4))


def test_known_wrong_paths_are_named():
    with pytest.raises(Wrong, match="is the average-pooling gradient of P8.3"):
        checks.check_function("max_pool_da", average_instead_of_max, tc.max_pool_da,
                              checks.max_pool_cases("overlap", seed=4), alternatives=checks.MAX_POOL_MISTAKES)
    with pytest.raises(Wrong, match="Your shape is the shape of the bias gradient summed over every axis"):
        checks.check_function("product_db", checks.PRODUCT_DB_MISTAKES[0][1], tc.product_db,
                              checks.product_cases("db", "fms", seed=4), alternatives=checks.PRODUCT_DB_MISTAKES)


def test_tie_rule_is_caught_only_by_the_tie_probes():
    for kind in ("basic", "batch"):
        with pytest.raises(Wrong):
            checks.check_function("f", last_max_wins, tc.max_pool_da, checks.max_pool_cases("ties", seed=5))
        checks.check_function("f", last_max_wins, tc.max_pool_da, checks.max_pool_cases(kind, seed=5))


def test_a_crash_is_reported_with_the_probe():
    def crashes(dLZ, A, size, stride=None):
        raise IndexError("index 9 is out of bounds")
    with pytest.raises(Wrong, match=r"raised IndexError: index 9"):
        checks.check_function("max_pool_da", crashes, tc.max_pool_da, checks.max_pool_cases("basic", seed=6))


def test_calling_the_library_answer_is_caught_even_through_an_alias():
    from textbook_core import max_pool_da as alias

    def lazy(dLZ, A, size, stride=None):
        return alias(dLZ, A, size, stride=stride)
    with pytest.raises(Wrong, match="hands the work to textbook_core.max_pool_da"):
        checks.check_function("max_pool_da", lazy, tc.max_pool_da, checks.max_pool_cases("basic", seed=7),
                              forbidden=(tc.max_pool_da,))


def test_the_solutions_of_e8_8_and_e8_9_pass_every_probe():
    ns = solution_namespace("e8_08", "fn")
    for kind in KINDS:
        checks.check_function("max_pool_da", ns["max_pool_da"], tc.max_pool_da,
                              checks.max_pool_cases(kind, seed=8), forbidden=(tc.max_pool_da,))
    ns = solution_namespace("e8_09", "fns")
    for path, name in (("dlz", "product_dlz"), ("db", "product_db")):
        for kind in ("one_fm", "fms", "batch"):
            checks.check_function(name, ns[name], getattr(tc, name), checks.product_cases(path, kind, seed=9))


def test_bias_summed_over_every_axis_fails_for_stacks_only():
    def wrong_db(dN, LZ):
        return np.sum(np.asarray(dN) * np.asarray(LZ))
    checks.check_function("product_db", wrong_db, tc.product_db, checks.product_cases("db", "one_fm", seed=10))
    for kind in ("fms", "batch"):
        with pytest.raises(Wrong, match="has shape"):
            checks.check_function("product_db", wrong_db, tc.product_db, checks.product_cases("db", kind, seed=10))


def test_size_probes_and_same_padding():
    checks.check_function("s", lambda R, r, p, s: (R + 2 * p - r) // s + 1,
                          lambda R, r, p, s: tc.output_size(R, r, padding=p, stride=s), checks.size_cases(seed=11))
    assert [checks.same_padding_reference(r) for r in (1, 3, 5, 7)] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="even kernel"):
        checks.same_padding_reference(4)


# --- E8.3: letter signatures -----------------------------------------------------------------------

def signatures_by_loops(W):
    """Oracle: slide the template over each blank-bordered glyph and count exact matches."""
    W = np.asarray(W, dtype=float)
    b = checks.FONT_PAGE_BORDER
    counts = []
    for glyph in data.font_stack():
        page = np.pad(glyph, b)
        n = 0
        for i, j in itertools.product(range(page.shape[0] - W.shape[0] + 1), range(page.shape[1] - W.shape[1] + 1)):
            window = page[i:i + W.shape[0], j:j + W.shape[1]]
            n += bool(np.all(window[W > 0] == 1) and np.all(window[W < 0] == 0))
        counts.append(n)
    return np.array(counts)


@pytest.mark.parametrize("W", [[[1]], [[1, 1]], [[0, -1], [-1, 0]], [[1, 0, -1], [2, 0, -0.5], [0, 1, 0]]])
def test_signatures_count_template_matches(W):
    assert np.array_equal(checks.font_signatures([np.array(W)])[:, 0], signatures_by_loops(W))


def test_no_single_kernel_separates_the_font_so_two_is_minimal():
    assert checks.smallest_separating_set_size() < 26
    kernels = solution_namespace("e8_03", "kernels")["kernels"]
    assert len(kernels) == 2
    checks.check_font_kernels(kernels, max_kernels=2)


def test_a_non_separating_set_names_the_confused_letters():
    with pytest.raises(Wrong, match="do not tell these letters apart: AEGMR"):
        checks.check_font_kernels([np.ones((1, 1))])


@pytest.mark.parametrize("bad, match", [(np.ones((2, 2)), "must be a list"), ([np.ones((4, 1))], "at most 3x3"),
                                        ([np.zeros((2, 2))], "not all zero"), ([], "is empty")])
def test_bad_kernel_sets_are_refused(bad, match):
    with pytest.raises(Wrong, match=match):
        checks.font_signatures(bad)


# --- E8.10: the designed network ------------------------------------------------------------------

def test_the_designed_network_is_right_and_confident_on_unseen_images():
    ns = solution_namespace("e8_10", "design")
    net = checks.shapes_network(*(ns[k] for k in ("LW1", "b1", "f1", "pool", "LW3", "b3")))
    images, labels = data.shapes_dataset(300, rng=12)
    checks.check_shapes_network(net, images, labels, confidence=0.9)


def test_an_untrained_guess_fails_with_a_count():
    net = checks.shapes_network(np.array(data.LINE_KERNELS)[:, None], np.zeros(4), "relu", 3,
                                np.zeros((2, 64)) + np.array([[0.01], [0]]), np.zeros(2))
    images, labels = data.shapes_dataset(50, rng=13)
    with pytest.raises(Wrong, match=r"gets \d+ of the 50 images wrong"):
        checks.check_shapes_network(net, images, labels)


def test_a_network_that_cannot_be_built_is_a_clear_message():
    with pytest.raises(Wrong, match=r"`b1` has shape \(3,\), but it must be \(4,\)"):
        checks.shapes_network(np.ones((4, 1, 3, 3)), np.zeros(3), "relu", 3, np.zeros((2, 64)), np.zeros(2))
    with pytest.raises(Wrong, match=r"`LW3` has shape \(2, 60\), but it must be \(2, 64\)"):
        checks.shapes_network(np.ones((4, 1, 3, 3)), np.zeros(4), "relu", 3, np.zeros((2, 60)), np.zeros(2))


def test_random_seeds_differ():
    assert len({checks.random_seed() for _ in range(5)}) == 5
    assert re.fullmatch(r"\d+", str(checks.random_seed()))


# --- messages a student can act on -----------------------------------------------------------------

def test_a_failed_probe_shows_a_small_input_in_full_and_never_the_expected_values():
    def off_by_one(dLZ, A, size, stride=None):
        return tc.max_pool_da(dLZ, A, size, stride=stride) + 1
    cases = checks.max_pool_cases("visible")
    with pytest.raises(Wrong) as info:
        checks.check_function("max_pool_da", off_by_one, tc.max_pool_da, cases)
    text = str(info.value)
    assert "Probe 0 of 7 (2x2 windows on a 2x4 input" in text
    assert "dLZ = [[10., 20.]]" in text and "A = [[1., 5., 2., 0.]," in text       # the input, in full
    assert "returned [[ 1., 11., 21.,  1.]," in text                               # the student's output
    assert "8 of its 8 entries are wrong" in text
    assert "[ 0., 10., 20.,  0.]" not in text and "0., 10., 20." not in text      # never the answer
    assert "checks.max_pool_cases('visible')[0]" in text


def test_a_large_probe_is_shown_by_shape_with_the_line_that_rebuilds_it():
    cases = checks.max_pool_cases("batch", seed=1234)
    with pytest.raises(Wrong) as info:
        checks.check_function("max_pool_da", average_instead_of_max, tc.max_pool_da, cases)
    text = str(info.value)
    assert "A = <array of shape (2, 1, 3, 4, 6), int64>" in text
    assert "checks.max_pool_cases('batch', seed=1234)[0]" in text
    label, args, kwargs = eval(text.split("label, args, kwargs = ")[1].split("`")[0], {"checks": checks})
    assert args[1].shape == (2, 1, 3, 4, 6) and np.array_equal(args[1], cases[0][1][1])


@pytest.mark.parametrize("value, expected, says", [
    (7, 8, "`x` = 7.0 is not right."),
    ([1, 0], [1, 2], "1 of its 2 entries is wrong, at index 1 (0-based)."),
    ([[1, 0]], [[1, 2]], "at (0, 1) (0-based row, col)."),
    (np.zeros((2, 2, 2)), np.ones((2, 2, 2)), "(0-based; the last two indices are row and col)"),
])
def test_positions_are_worded_for_the_number_of_axes(value, expected, says):
    with pytest.raises(Wrong) as info:
        checks.compare("x", value, expected)
    assert str(info.value).endswith(says) or says in str(info.value)
    assert "row, col" not in str(info.value) or np.ndim(value) == 2


def test_e8_6_messages_call_the_kernel_k():
    K, P = data.E8_6_KERNEL, data.E8_1_IMAGE
    for wrong, says in [(tc.correlate(K, P), "the correlation K ⊗ P, but the task asks for the convolution K * P"),
                        (tc.correlate(K.T, P), "with K transposed (K.T), not rotated"),
                        (tc.correlate(K[::-1], P), "with K's rows flipped only")]:
        with pytest.raises(Wrong, match=re.escape(says)):
            checks.compare("Z_conv", wrong, tc.convolve(K, P),
                           alternatives=checks.conv_alternatives(K, P, asked="convolution", kernel="K"))


def test_an_answer_right_to_four_digits_gets_a_precision_hint():
    with pytest.raises(Wrong, match="right to about 3 to 4 significant digits.*1/3, not 0.333"):
        checks.compare("W_avg", np.full((3, 3), 0.3333), np.full((3, 3), 1 / 3))
    with pytest.raises(Wrong, match="entries are wrong"):
        checks.compare("W_avg", np.full((3, 3), 0.33), np.full((3, 3), 1 / 3))


def test_a_failed_check_renders_as_its_message_in_ipython():
    from IPython.core.interactiveshell import InteractiveShell

    error = Wrong("`Z` is not right: this is the correlation.\nsecond line")
    assert error._render_traceback_() == ["Wrong: `Z` is not right: this is the correlation.", "second line"]
    shell = InteractiveShell.instance()
    shown = []
    shell._showtraceback = lambda etype, evalue, stb: shown.append(stb)
    shell.run_cell("from autograder import checks\nraise checks.Wrong('`Z` is not right')")
    assert shown == [["Wrong: `Z` is not right"]]


def test_forbid_takes_dotted_names_and_ignores_missing_modules():
    with pytest.raises(Wrong, match="hands the work to numpy.rot90"):
        with checks.forbid("f", "numpy.rot90", "no_such_module.convolve"):
            np.rot90(np.eye(2))
    with checks.forbid("f", *checks.BY_HAND_CONVOLUTION):
        np.pad(np.eye(2), 1).sum()                         # allowed helpers pass


def test_by_hand_values_must_come_from_the_students_own_function():
    W, P = data.E8_1_KERNEL, data.E8_1_IMAGE
    Z = tc.convolve(W, P, padding=1)
    with pytest.raises(Wrong, match="does not give it, and this part asks for Z from your own loops"):
        checks.by_hand("Z", Z, "convolve_by_hand", lambda W, P, padding: np.zeros((8, 8)), (W, P, 1), Z,
                       forbidden=checks.BY_HAND_CONVOLUTION)
    with pytest.raises(Wrong, match="hands the work to textbook_core.convolve"):
        checks.by_hand("Z", Z, "convolve_by_hand", lambda W, P, padding: tc.convolve(W, P, padding=padding),
                       (W, P, 1), Z, forbidden=checks.BY_HAND_CONVOLUTION)
    checks.by_hand("Z", Z, "convolve_by_hand", lambda W, P, padding: tc.correlate(W[::-1, ::-1], np.pad(P, padding)),
                   (W, P, 1), Z, forbidden=("textbook_core.convolve",))


@pytest.mark.parametrize("operation", list(checks.BY_HAND_OPERATIONS))
def test_by_hand_probes_have_ink_on_every_border_and_asymmetric_kernels(operation):
    for kind in ("visible", "hidden"):
        cases = checks.by_hand_cases(operation, kind, seed=5)
        assert len(cases) >= 3 and cases.names == checks.BY_HAND_OPERATIONS[operation]
        for label, args, _ in cases:
            image = args[1] if operation != "max_pool" else args[0]
            assert image[0].any() and image[-1].any() and image[:, 0].any() and image[:, -1].any(), label
            if operation != "max_pool":
                W = args[0]
                assert not np.array_equal(W, W[::-1, ::-1]), label
        assert any(np.shape(a[1] if operation != "max_pool" else a[0])[0] != np.shape(a[1] if operation != "max_pool"
                   else a[0])[1] for _, a, _ in cases), "non-square images"
        checks.check_function("f", checks.by_hand_reference(operation), checks.by_hand_reference(operation), cases)


def test_fixed_probes_have_integer_inputs_non_square_windows_and_several_batch_axes():
    fixed = [checks.max_pool_cases(kind, seed=3)[0] for kind in KINDS] + list(checks.max_pool_cases("visible"))
    assert any(np.issubdtype(np.asarray(a[1]).dtype, np.integer) for _, a, _ in fixed)
    assert any(np.ndim(a[2]) == 1 and a[2][0] != a[2][1] for _, a, _ in fixed)
    assert any(np.ndim(a[1]) >= 5 for _, a, _ in fixed)
    batch = [np.ndim(c[1][0]) for c in checks.product_cases("db", "batch", seed=3)]
    assert max(batch) >= 5 and min(batch) == 4
