"""E8.10, the designed network: graded on every square and diamond there is, with clear messages.

The whole space of `data.shapes_dataset` is small (450 images of 15x15), so the hidden tests use
all of it except the two images the notebook shows, and a mistake that misclassifies even one
image loses its points on every grading. The notebook's own cells (setup, answer, every visible
and hidden test, from the instructor's source) are run here in one namespace, with typical
mistakes and degenerate networks edited into the answer.
"""
import contextlib
import io
import json

import numpy as np
import pytest

from autograder import checks
from autograder.course import REPO
from textbook_core import data, network

NOTEBOOK = REPO / "solutions" / "ch08" / "e8_10.ipynb"
TESTS = ("e8_10_design_visible", "e8_10_kernels_hidden", "e8_10_unseen_hidden", "e8_10_confident_hidden")


def test_every_shape_once_worked_out_by_hand():
    images, labels, calls = data.all_shapes()
    # sides 5..13 with (14 - side)^2 places; radii 2..6 with (13 - 2 radius)^2 places
    assert np.sum(labels == 0) == 9 ** 2 + 8 ** 2 + 7 ** 2 + 6 ** 2 + 5 ** 2 + 4 ** 2 + 3 ** 2 + 2 ** 2 + 1 == 285
    assert np.sum(labels == 1) == 9 ** 2 + 7 ** 2 + 5 ** 2 + 3 ** 2 + 1 == 165
    assert len({image.tobytes() for image in images}) == len(images) == len(calls) == 450
    for image, call in zip(images, calls):                 # each call rebuilds its image
        assert np.array_equal(eval(call, vars(data)), image), call
    assert np.array_equal(images[calls.index("square(size=15, side=9, top=3, left=3)")], data.FIGURE_8_4_SQUARE)


def test_the_enumeration_holds_everything_shapes_dataset_draws():
    known = {image.tobytes() for image in data.all_shapes()[0]}
    for size in (7, 9):
        assert len(data.all_shapes(size)[0]) == sum((size - 1 - s) ** 2 for s in range(5, size - 1)) + \
            sum((size - 2 - 2 * r) ** 2 for r in range(2, (size - 3) // 2 + 1))
    drawn, labels = data.shapes_dataset(3000, rng=5)
    assert all(image.tobytes() in known for image in drawn)
    assert len({image.tobytes() for image in drawn}) > 300    # it draws from most of the space


def test_unseen_shapes_are_all_but_the_two_shown():
    images, labels, calls = checks.unseen_shapes()
    assert len(images) == 448 and len(calls) == 448 and np.sum(labels == 1) == 164
    shown = {data.FIGURE_8_4_SQUARE.tobytes(), data.FIGURE_8_4_DIAMOND.tobytes()}
    assert not shown & {image.tobytes() for image in images}
    edge, edge_labels, edge_calls = checks.edge_shapes()
    assert len(edge) == 12 and edge_calls[:2] == ("square()", "diamond()") and list(edge_labels[:2]) == [0, 1]
    assert "square(size=15, side=13, top=1, left=1)" in edge_calls


# ---------------------------------------------------------------------------------------------
# The notebook's cells, run with a mistake edited into the answer
# ---------------------------------------------------------------------------------------------

def notebook_cells():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]}


def grade(edits=()):
    """``{grade id: None (passed) or the failure message}`` for the notebook's test cells."""
    cells = notebook_cells()
    answer = cells["e8_10_design_answer"]
    for old, new in edits:
        assert answer.count(old) == 1, old
        answer = answer.replace(old, new)
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(cells["e8_10_setup"], namespace)
        exec(answer, namespace)
        result = {}
        for grade_id in TESTS:
            try:
                exec(cells[grade_id], dict(namespace))
                result[grade_id] = None
            except AssertionError as error:
                result[grade_id] = str(error)
    return result


LINES = "LW1 = np.array(data.LINE_KERNELS)[:, None]"
WEIGHTS = "weights[0, :2], weights[0, 2:] = 2.0, -2.0"
ALL, NETWORK = TESTS, ("e8_10_design_visible", "e8_10_unseen_hidden", "e8_10_confident_hidden")

MISTAKES = [
    # name, edits of the answer cell, the test cells that fail, a piece of the hidden tests' message
    ("pooled-corner-weights-zero", [("LW3 = tc.vec(weights)", "weights[:, :, [0, 0, -1, -1], [0, -1, 0, -1]] = 0\n"
                                                              "LW3 = tc.vec(weights)")],
     NETWORK, "gets 1 of the 448 squares and diamonds not shown here wrong.\n1 diamond misclassified.\n"
              "For example data.diamond(size=15, radius=2, center=(11, 11))."),
    ("bias-too-negative", [("b1 = np.full(4, -4.0)", "b1 = np.full(4, -6.0)")], NETWORK, "164 diamonds misclassified"),
    ("fully-connected-weights-too-small", [(WEIGHTS, "weights[0, :2], weights[0, 2:] = 0.2, -0.2")],
     ("e8_10_design_visible", "e8_10_confident_hidden"), "probability for the right class is below 0.9"),
    ("classes-swapped", [("weights[1] = -weights[0]", "weights[1] = -weights[0]\nweights = weights[::-1]")], NETWORK,
     "wrong.\n284 squares and 164 diamonds misclassified."),
    ("only-the-first-pooled-row", [("LW3 = tc.vec(weights)", "weights[:, :, 1:] = 0\nLW3 = tc.vec(weights)")],
     NETWORK, "misclassified"),
    ("empty-kernel-stack", [(LINES, "LW1 = np.array(data.LINE_KERNELS)[:0, None]")], ALL,
     "`LW1` holds no kernels (shape (0, 1, 3, 3))"),
    ("kernels-without-the-input-axis", [(LINES, "LW1 = np.array(data.LINE_KERNELS)")], ALL,
     "(for a stack of 3x3 kernels K write K[:, None])"),
    ("kernels-negated", [(LINES, "LW1 = -np.array(data.LINE_KERNELS)[:, None]")], ALL,
     "`LW1[0, 0]` is not one of the kernels of Figure 8.5"),
    ("kernels-5x5", [(LINES, "LW1 = np.pad(np.array(data.LINE_KERNELS), ((0, 0), (1, 1), (1, 1)))[:, None]")], ALL,
     "`LW3` has shape (2, 64), but it must be (2, 36)"),
    ("kernels-not-of-figure-8-5", [(LINES, "LW1 = np.ones((4, 1, 3, 3))")], ALL, "not one of the kernels of Figure 8.5"),
    ("pool-not-whole", [("pool = 3", "pool = 3.5")], NETWORK, "`pool` = 3.5 must be a whole number"),
    ("pool-without-its-weights", [("pool = 3", "pool = 2")], NETWORK, "`LW3` has shape (2, 64), but it must be (2, 144)"),
    ("pool-too-large", [("pool = 3", "pool = 14")], NETWORK, "`pool` = 14 must be between 1 and 13"),
    ("one-bias-for-all-kernels", [("b1 = np.full(4, -4.0)", "b1 = -4.0")], NETWORK,
     "`b1` has shape (), but it must be (4,)"),
    ("unknown-transfer-function", [('f1 = "relu"', 'f1 = "sigmoid"')], NETWORK, "`f1` = 'sigmoid' must be one of"),
    ("nan-bias", [("b3 = np.zeros(2)", "b3 = np.array([0.0, np.nan])")], NETWORK, "`b3` contains NaN"),
    ("weights-that-overflow", [(WEIGHTS, "weights[0, :2], weights[0, 2:] = 1e308, -1e308")], NETWORK,
     "outputs are not numbers"),
]
RIGHT = [
    ("two-kernels-only", [(LINES, "LW1 = np.array(data.LINE_KERNELS)[[0, 2], None]"),
                          ("b1 = np.full(4, -4.0)", "b1 = np.full(2, -4.0)"),
                          ("weights = np.zeros((2, 4, 4, 4))", "weights = np.zeros((2, 2, 4, 4))"),
                          ("weights[0, :2], weights[0, 2:] = 2.0, -2.0", "weights[0, :1], weights[0, 1:] = 4.0, -4.0")]),
    ("kernels-halved", [(LINES, "LW1 = 0.5 * np.array(data.LINE_KERNELS)[:, None]"),
                        ("b1 = np.full(4, -4.0)", "b1 = np.full(4, -2.0)"), (WEIGHTS, "weights[0, :2], weights[0, 2:] = 4.0, -4.0")]),
    ("tanh", [('f1 = "relu"', 'f1 = "tanh"')]),
]


def test_the_solution_passes_every_cell():
    assert grade() == dict.fromkeys(TESTS)


@pytest.mark.parametrize("name, edits, fails, message", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_mistake_fails_its_cells_every_time_and_says_why(name, edits, fails, message):
    first = grade(edits)
    assert {g for g, failure in first.items() if failure} == set(fails)
    hidden = [first[g] for g in fails if g != "e8_10_design_visible"]
    assert any(message in failure for failure in hidden), hidden
    assert grade(edits) == first, "the same messages on every grading"


@pytest.mark.parametrize("name, edits", RIGHT, ids=[r[0] for r in RIGHT])
def test_other_right_designs_keep_full_marks(name, edits):
    assert grade(edits) == dict.fromkeys(TESTS)


def test_the_hidden_check_is_one_vectorised_forward_pass(monkeypatch):
    calls = []
    forward = network.forward
    monkeypatch.setattr(network, "forward", lambda net, X: calls.append(np.shape(X)) or forward(net, X))
    assert grade()["e8_10_unseen_hidden"] is None
    # each check cell runs all its images at once: 12 visible (and 2 printed), 448 unseen, 448 confident;
    # the other calls (one image) only check that each network can be built
    assert [shape[0] for shape in calls if shape[0] > 1] == [12, 2, 448, 448], calls


def test_kernel_check_messages():
    lines = np.array(data.LINE_KERNELS)
    checks.check_line_kernels(3 * lines[[1, 1, 3], None])
    for bad, message in [(np.zeros((0, 1, 3, 3)), "holds no kernels"), (lines, r"must be \(H1, 1, 3, 3\)"),
                         (lines[:, None, :2], r"has shape \(4, 1, 2, 3\)"), ("lines", "must be an array of numbers"),
                         (np.full((1, 1, 3, 3), np.nan), "contains NaN"), (-lines[:, None], r"`LW1\[0, 0\]` is not"),
                         (lines[:, None] + np.eye(3), r"`LW1\[0, 0\]` is not"),
                         (np.concatenate([lines[:, None], lines[:1, None] * 0]), r"`LW1\[4, 0\]` is not")]:
        with pytest.raises(checks.Wrong, match=message):
            checks.check_line_kernels(bad)
