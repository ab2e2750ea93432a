"""The attack corpus (autograder/attacks.py) graded end to end, with nbgrader, the sandbox and two
parallel workers: every attack scores 0 on the parts it targets (or is flagged for a manual
grade), the honest parts of the same submission keep the solution's points, the honest student's
grades survive the attacks, nothing is written outside the sandbox, and the feedback says why.
The report (each attack and the points it got) is printed at the end of the run."""
import json

import pytest

from autograder import attacks, pipeline
from autograder.course import REPO, Course



@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    course = Course(release=tmp / "release", work=tmp / "work", limits=attacks.LIMITS)
    pipeline.build_release(course)
    result = attacks.run(tmp / "inbox", course, attacks.ATTACKS, workers=2)
    return dict(course=course, result=result, outcomes={o.attack.name: o for o in result.outcomes}, tmp=tmp)


@pytest.mark.parametrize("attack", attacks.ATTACKS, ids=lambda a: a.name)
def test_attack_scores_zero_on_its_targets_and_the_honest_parts_keep_their_points(corpus, attack):
    outcome = corpus["outcomes"][attack.name]
    assert outcome.passed, outcome.problems
    if attack.targets:
        assert outcome.target_max > 0 and outcome.target_points == 0


def test_every_kind_of_attack_is_in_the_corpus():
    kinds = {a.kind for a in attacks.ATTACKS}
    assert kinds == {"cheat", "rule", "harm", "robust"}
    names = {a.name for a in attacks.ATTACKS}
    # the four cheats, its runaway code, and its file and cell cases
    assert {"allclose-replaced", "always-equal-object", "input-transformer", "skip-execution-tag",
            "read-solutions", "endless-loop", "memory-bomb", "output-flood", "os-exit", "system-exit",
            "segfault", "invalid-json", "not-utf8", "huge-file", "wrong-file-name", "extra-notebooks",
            "missing-notebook", "deleted-test-cell", "edited-hidden-test", "duplicated-test-cell",
            "renamed-test-cell", "points-inflated", "changed-kernelspec"} <= names


def test_the_gradebook_keeps_every_other_grade(corpus):
    result, course = corpus["result"], corpus["course"]
    assert result.gradebook_intact
    assert sum(score for score, _, manual in result.honest_after.values() if not manual) == 70
    rows = {row[0]: row for row in pipeline.grade_table(course)}
    assert set(rows) == {"honest"} | {attacks.student_id(a) for a in attacks.ATTACKS}
    assert all(row[4] == 74 for row in rows.values())
    with pipeline.gradebook(course) as gb:
        for submission in gb.assignment_submissions("ch08"):
            assert len(submission.notebooks) == 10


def test_parallel_workers_graded_every_notebook(corpus):
    grading = corpus["result"].grading
    assert grading.precomputed > 0 and grading.live == 0 and not grading.failed


def test_nothing_is_written_outside_the_sandbox(corpus):
    for folder in (REPO / "course", REPO / "solutions", REPO / "textbook_core", REPO / "notebooks",
                   corpus["course"].path("work"), corpus["tmp"]):
        assert not list(folder.rglob(attacks.MARKER)), folder
    from pathlib import Path

    assert not (Path("/tmp") / attacks.MARKER).exists()


def cell_outputs(corpus, attack, notebook, grade_id):
    path = corpus["course"].autograded(attacks.student_id(attacks.ATTACKS_BY_NAME[attack])) / f"{notebook}.ipynb"
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
    text = lambda value: "".join(value) if isinstance(value, list) else value
    return "".join(text(o.get("text", "")) + o.get("evalue", "") for o in cell["outputs"])


def test_the_sandbox_showed_the_attacks_nothing(corpus):
    assert "instructor notebooks found: []" in cell_outputs(corpus, "read-solutions", "e8_06", "e8_06_i_answer")
    assert "gradebooks found: []" in cell_outputs(corpus, "read-hidden-tests", "e8_02", "e8_02_pool_answer")
    network = cell_outputs(corpus, "network", "e8_04", "e8_04_full_answer")
    assert "connected" not in network.replace("no connection", "") and network.count("no connection") == 3
    assert "fork failed after 0 children: PermissionError" in cell_outputs(corpus, "fork-bomb", "e8_01",
                                                                          "e8_01_i_answer")


def test_feedback_says_why(corpus):
    assert "hands the work to textbook_core.max_pool" in cell_outputs(   # max_pool_da, or max_pool (also forbidden)
        corpus, "max-pool-da-obfuscated", "e8_08", "e8_08_basic_hidden")
    assert "hands the work to textbook_core.output_size" in cell_outputs(
        corpus, "conv-output-size-wraps-the-library", "e8_07", "e8_07_i_function_hidden")
    assert "ran longer than 5 s and was stopped" in cell_outputs(corpus, "endless-loop", "e8_06", "e8_06_iv_answer")
    assert "segmentation fault" in cell_outputs(corpus, "segfault", "e8_05", "e8_05_iii_answer")
    assert "did not return within 2 s" in cell_outputs(corpus, "function-loops", "e8_09", "e8_09_db_one_fm_hidden")
    assert "flagged for your instructor" in cell_outputs(corpus, "grader-memory-bomb", "e8_10", "e8_10_unseen_hidden")
    assert "`Z` is too large for the grader to read" in cell_outputs(corpus, "huge-value", "e8_01", "e8_01_i_hidden")
    assert "raised ResultTooLarge" in cell_outputs(corpus, "function-returns-huge", "e8_09", "e8_09_dlz_fms_hidden")
    course = corpus["course"]
    student = attacks.student_id(attacks.ATTACKS_BY_NAME["invalid-json"])
    pipeline.feedback([student], course)
    page = (course.feedback(student) / "e8_02.html").read_text()
    assert "This notebook could not be graded" in page and "not valid JSON" in page
    assert "BEGIN HIDDEN TESTS" not in page


def test_output_floods_are_cut(corpus):
    flood = cell_outputs(corpus, "finite-output-flood", "e8_07", "e8_07_i_answer")
    assert 1000 < len(flood) < 70_000 and "output cut by the grader" in flood


def test_flagged_parts_wait_for_the_instructor(corpus):
    rows = {row[0]: row for row in pipeline.grade_table(corpus["course"])}
    student = attacks.student_id(attacks.ATTACKS_BY_NAME["grader-memory-bomb"])
    assert rows[student][3] == 4 + 1   # e8_10 unseen (4) and confident (1) wait for a manual grade


def test_report(corpus, capsys):
    text = attacks.report(corpus["result"].outcomes)
    lines = text.split("\n")
    assert len(lines) == len(attacks.ATTACKS) + 4
    assert f"{len(attacks.ATTACKS)} of {len(attacks.ATTACKS)} attacks handled" in text
    with capsys.disabled():
        print("\n\nAttack corpus: points each attack got (targeted parts, honest parts of the same submission)")
        print(text)
