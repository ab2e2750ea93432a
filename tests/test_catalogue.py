"""The catalogue of typical mistakes (autograder/catalogue.py) and the visible checks' keys, in this
process: every mistake changes an answer on the exercise's own data or probes, fails the hidden
tests it lists and no other, makes the visible check fail with its hint (what nbgrader's Validate
shows a student), and the keys in the notebooks are a fresh build that reveals no answer. The same
mistakes graded through the real sandboxed grader are in tests/test_autograder.py."""
import ast
import json
import re

import numpy as np
import pytest

import textbook_core as tc
from autograder import answer_key, catalogue, checks, pipeline, samples
from autograder.course import ASSIGNMENT, Course

EXERCISES = [f"e8_{k:02d}" for k in range(1, 10)]   # E8.10 is graded by its property (branch fair)
CHOICE_ONLY = {"e8_01_ii_answer"}   # a multiple choice: its visible check says only whether it is a letter


@pytest.fixture(scope="module")
def runs():
    """Each notebook solved, and with each mistake, its test cells run in this process."""
    solved = {nb: catalogue.run(nb, tests=True) for nb in EXERCISES}
    wrong = {m.name: catalogue.run(m.notebook, (m,), tests=True) for m in catalogue.MISTAKES}
    return solved, wrong


def test_the_catalogue_is_large_and_covers_every_answer_cell():
    assert len(catalogue.MISTAKES) >= 100
    assert len({m.name for m in catalogue.MISTAKES}) == len(catalogue.MISTAKES)
    counts = catalogue.counts()
    assert set(counts) == set(EXERCISES) and min(counts.values()) >= 7
    for nb in EXERCISES:
        answers = {gid for gid, role, _ in catalogue.source_cells(nb) if role == "answer"} - CHOICE_ONLY
        assert answers <= {m.cell for m in catalogue.MISTAKES}, nb
    assert len({m.hint for m in catalogue.MISTAKES if not m.handoff}) >= 80, "hints say what is wrong, one by one"


@pytest.mark.parametrize("mistake", catalogue.MISTAKES, ids=lambda m: m.name)
def test_each_mistake_is_a_small_edit_of_one_answer_cell(mistake):
    nb = samples.solution_notebook(mistake.notebook)
    edited = samples.apply_mistake(nb, mistake)
    changed = [(a, b) for a, b in zip(nb["cells"], edited["cells"]) if a != b]
    assert len(changed) == 1 and changed[0][0]["metadata"]["nbgrader"]["grade_id"] == mistake.cell
    assert mistake.hint and mistake.loses and all(g.startswith(mistake.notebook + "_") for g in mistake.loses)
    assert sum(len(new) for _, new in mistake.edits) < 700


def test_solutions_pass_every_test_in_process(runs):
    solved, _ = runs
    for nb, run in solved.items():
        assert not run.errors, (nb, run.errors)
        assert run.outcomes and all(ok for ok, _ in run.outcomes.values()), (nb, run.outcomes)


@pytest.mark.parametrize("mistake", [m for m in catalogue.MISTAKES if not m.handoff], ids=lambda m: m.name)
def test_each_mistake_changes_the_answer_on_the_exercise_data(runs, mistake):
    """The property the data was designed for: the mistake's answer differs from the right one
    on the exercise's own images and kernels, or on the visible probes of its function. (A
    library hand-off computes right values: the hand-off rule catches it instead.)"""
    solved = answer_key.record(mistake.notebook)
    wrong = answer_key.record(mistake.notebook, (mistake,))
    differs = []
    for gid, calls in solved.items():
        for index, (kind, name, value) in enumerate(calls):
            other = wrong[gid][index][2] if index < len(wrong[gid]) else None
            salt = f"{mistake.notebook}/{name}"
            if kind == "value":
                same = other is not None and np.shape(other) == np.shape(value) and np.allclose(other, value)
            else:
                same = other is not None and answer_key._function_digests(salt, other) == \
                    answer_key._function_digests(salt, value)
            if not same:
                differs.append(name)
    if mistake.notebook == "e8_03":
        assert not differs   # no visible values: graded by the property, see the next test
    else:
        assert differs, f"{mistake.name} gives the right answers on the exercise's data"


@pytest.mark.parametrize("mistake", catalogue.MISTAKES, ids=lambda m: m.name)
def test_each_mistake_fails_exactly_the_tests_it_lists(runs, mistake):
    _, wrong = runs
    run = wrong[mistake.name]
    failed = {gid for gid, (ok, _) in run.outcomes.items() if not ok}
    assert failed == set(mistake.loses)


@pytest.mark.parametrize("mistake", catalogue.MISTAKES, ids=lambda m: m.name)
def test_the_visible_check_fails_and_names_each_mistake(runs, mistake):
    """What nbgrader's Validate runs: the visible checks fail before submission, with the hint."""
    _, wrong = runs
    messages = [msg for gid, (ok, msg) in wrong[mistake.name].outcomes.items() if gid.endswith("_visible") and not ok]
    assert messages, f"the visible checks pass {mistake.name}"
    assert any(mistake.hint in m for m in messages), messages


def test_the_sample_submissions_hold_every_mistake_and_do_not_interact():
    names = [n for group in samples.PACKED for n in group]
    assert sorted(names) == sorted(m.name for m in catalogue.MISTAKES)
    assert len(samples.PACKED) < len(catalogue.MISTAKES) / 5, "packed, so one graded run is cheap"
    for group in samples.PACKED:
        mistakes = [catalogue.MISTAKES_BY_NAME[n] for n in group]
        for nb in {m.notebook for m in mistakes}:
            together = [m for m in mistakes if m.notebook == nb]
            run = catalogue.run(nb, together, tests=True)
            failed = {gid for gid, (ok, _) in run.outcomes.items() if not ok}
            assert failed == set().union(*(set(m.loses) for m in together)), [m.name for m in together]


def test_the_answer_key_is_a_fresh_build():
    assert answer_key.stale() == [], "run `python -m autograder release` to rewrite autograder/answer_key.json"


def test_every_visible_check_names_an_entry_of_the_key():
    table = checks.answer_key()
    named = []
    for notebook in EXERCISES:
        for gid, source in answer_key.visible_cells(notebook).items():
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in answer_key.VERIFY:
                    key = ast.literal_eval(next(k.value for k in node.keywords if k.arg == "key"))
                    assert key.startswith(notebook + "/") and key in table, (gid, key)
                    named.append(key)
    assert sorted(named) == sorted(table)


def test_the_key_holds_digests_and_hints_never_answers():
    """Whatever the key holds is a shape, a 16-digit digest or a catalogue hint, so shipping it with
    checks.py reveals no answer."""
    digest = re.compile(r"[0-9a-f]{16}")
    hints = {m.hint for m in catalogue.MISTAKES}
    for name, key in checks.answer_key().items():
        assert key["salt"] == name
        assert set(key) in ({"salt", "shape", "answer", "close", "mistakes"}, {"salt", "answers", "close", "mistakes"})
        if "shape" in key:
            assert all(isinstance(n, int) and n >= 0 for n in key["shape"])
            assert digest.fullmatch(key["answer"]) and all(map(digest.fullmatch, key["close"]))
            assert all(digest.fullmatch(d) and h in hints for d, h in key["mistakes"])
        else:
            assert all(digest.fullmatch(d) and isinstance(s, list) for s, d in key["answers"])
            assert all(h in hints and all(map(digest.fullmatch, ds)) for h, ds in key["mistakes"])
            assert all(all(isinstance(n, int) and n >= 0 for n in s) for s, _ in key["answers"])


def test_a_digest_is_of_the_rounded_value_and_tells_precision():
    salt = "e8_05/W_avg"
    W = tc.impulse_response(lambda p: np.pad(p, ((0, 1), (0, 1)))[:-1, :-1] / 3, (3, 3), (1, 1))
    key = {"salt": salt, **checks.key_of(salt, W), "mistakes": []}
    checks.verify("W_avg", W + 1e-9, key)
    for typed in (np.round(W, 3), np.round(W, 4), np.trunc(W * 1000) / 1000):
        with pytest.raises(checks.Wrong, match="right to about 3 to 4 significant digits"):
            checks.verify("W_avg", typed, key)
    with pytest.raises(checks.Wrong, match=r"is not right yet \(its shape is right\)"):
        checks.verify("W_avg", np.round(W, 2), key)
    text = repr(key)
    assert "0.33" not in text and "1/3" not in text


def test_a_by_hand_function_that_calls_the_library_is_refused_at_once():
    def convolve_by_hand(W, P, padding):
        return tc.convolve(W, P, padding=padding)

    cases = checks.by_hand_cases("convolve", "visible")
    outputs = [checks.by_hand_reference("convolve")(*args) for _, args, _ in cases]
    key = {"salt": "x", **checks.function_key("x", outputs), "mistakes": []}
    with pytest.raises(checks.Wrong, match="hands the work to textbook_core.convolve"):
        checks.verify_function("convolve_by_hand", convolve_by_hand, cases, key, forbidden=checks.BY_HAND_CONVOLUTION)
    with pytest.raises(checks.Wrong, match="hands the work to (numpy.flip|textbook_core.correlate)"):
        checks.check_function("f", lambda W, P, padding: tc.correlate(np.flip(W), P, padding=padding),
                              checks.by_hand_reference("convolve"), cases, forbidden=checks.BY_HAND_CONVOLUTION)


def test_max_pool_gradient_read_off_the_library_is_a_handoff():
    """Issue 10: nudging each pixel and watching tc.max_pool scores 0 on E8.8, not 8/8."""
    namespace = catalogue.run("e8_08", (catalogue.MISTAKES_BY_NAME["e8.8-probes-the-library"],)).namespace
    for kind in ("basic", "overlap", "batch"):
        with pytest.raises(checks.Wrong, match="hands the work to textbook_core.max_pool"):
            checks.check_function("max_pool_da", namespace["max_pool_da"], tc.max_pool_da,
                                  checks.max_pool_cases(kind, seed=1), forbidden=checks.MAX_POOL_LIBRARY)


def test_e8_2_needs_arrays_of_the_asked_shape():
    """Issue 10: `Z81 = pooled = 0` scores nothing, no part of E8.2 takes a scalar."""
    namespace = catalogue.run("e8_02").namespace
    namespace.update(Z81=0, pooled=0)
    namespace.pop("max_pool_by_hand")
    for gid, role, source in catalogue.source_cells("e8_02"):
        if role == "test":
            with pytest.raises((checks.Wrong, NameError)):
                exec(source, dict(namespace))


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """nbgrader's Validate (an ordinary kernel, as a student presses it) on the first sample
    submission's notebooks: each holds one or more of the catalogue's mistakes."""
    from nbgrader.validator import Validator

    tmp = tmp_path_factory.mktemp("validate")
    course = Course(release=tmp / "release", work=tmp / "work")
    pipeline.build_release(course)
    student = next(s for s in samples.sample_students() if s.mistakes)
    folder = samples.write([student], tmp / "inbox", course) / student.id
    validator = Validator(config=pipeline.config(course))
    mistakes = [catalogue.MISTAKES_BY_NAME[n] for n in student.mistakes]
    notebooks = sorted({m.notebook for m in mistakes})
    return {nb: validator.validate(str(folder / f"{nb}.ipynb")) for nb in notebooks}, mistakes


def test_nbgrader_validate_fails_on_the_mistakes_with_their_hints_and_no_traceback(validated):
    results, mistakes = validated
    assert len(results) >= 8
    for mistake in mistakes:
        failed = results[mistake.notebook].get("failed", [])
        assert failed, f"Validate passes {mistake.name}"
        errors = "\n".join(cell["raw_error"] for cell in failed)
        assert mistake.hint in errors
        assert "Traceback (most recent call last)" not in errors and "checks.py" not in errors
        visible = [cell for cell in failed if "Visible check" in cell["source"]]
        assert visible and all(len(cell["raw_error"].split("\n")) < 40 for cell in visible)
