"""The attack corpus (autograder/attacks.py) graded end to end, with nbgrader, the sandbox and two
parallel workers: every attack scores 0 on the parts it targets (or is flagged for a manual
grade), the honest parts of the same submission keep the solution's points, the honest student's
grades survive the attacks, nothing is written outside the sandbox, the grader's memory stays
within its stated bound, the feedback says why, and no page runs a student's script.
The report (each attack and the points it got) is printed at the end of the run."""
import csv
import json

import pytest

from autograder import attacks, grader_memory, pipeline
from autograder.course import REPO, Course

MAIN_MEMORY_MB = 512
"""The stated bound of the process that collects, writes the gradebook and the graded notebooks:
it grows by at most this much while the whole corpus is graded."""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    course = Course(release=tmp / "release", work=tmp / "work", limits=attacks.LIMITS)
    pipeline.build_release(course)
    grader_memory.reset_peak()
    start = grader_memory.memory()["rss_mb"]
    result = attacks.run(tmp / "inbox", course, attacks.ATTACKS, workers=2)
    main_growth = grader_memory.memory()["peak_mb"] - start
    csv_path = pipeline.export(tmp / "grades.csv", course)
    return dict(course=course, result=result, outcomes={o.attack.name: o for o in result.outcomes}, tmp=tmp,
                memory=dict(grader_memory.MEMORY), main_growth=main_growth, csv=csv_path)


@pytest.fixture(scope="module")
def feedback(corpus):
    """Feedback pages of the honest student and of every attack aimed at the pages, one student at a
    time (``{student: error}`` for those whose feedback failed)."""
    failed = {}
    for student in ["honest"] + [attacks.student_id(a) for a in attacks.ATTACKS if a.feedback]:
        try:
            pipeline.feedback([student], corpus["course"], failed=failed)
        except Exception as error:   # noqa: BLE001 - reported by the tests below
            failed[student] = f"{type(error).__name__}: {str(error)[-500:]}"
    return failed


@pytest.mark.parametrize("attack", attacks.ATTACKS, ids=lambda a: a.name)
def test_attack_scores_zero_on_its_targets_and_the_honest_parts_keep_their_points(corpus, attack):
    outcome = corpus["outcomes"][attack.name]
    assert outcome.passed, outcome.problems
    if attack.targets:
        assert outcome.target_max > 0 and outcome.target_points == 0


def test_every_kind_of_attack_is_in_the_corpus():
    kinds = {a.kind for a in attacks.ATTACKS}
    assert kinds == {"cheat", "rule", "harm", "robust", "grader", "inbox", "browser", "resource", "rubric"}
    names = {a.name for a in attacks.ATTACKS}
    # the first issue's four cheats, its runaway code, and its file and cell cases
    assert {"allclose-replaced", "always-equal-object", "input-transformer", "skip-execution-tag",
            "read-solutions", "endless-loop", "memory-bomb", "output-flood", "os-exit", "system-exit",
            "segfault", "invalid-json", "not-utf8", "huge-file", "wrong-file-name", "extra-notebooks",
            "missing-notebook", "deleted-test-cell", "edited-hidden-test", "duplicated-test-cell",
            "renamed-test-cell", "points-inflated", "changed-kernelspec"} <= names
    # issue 10: every class of "a hostile submission harms no one"
    assert {"reply-carries-4mb-output", "replies-carry-15mb-outputs", "reply-markdown-is-a-number",
            "metadata-5000-digit-integer", "inbox-link-to-proc-self-mem", "inbox-link-to-the-solution",
            "inbox-link-to-another-student", "inbox-own-timestamp", "value-complex-overflow",
            "pathological-markdown", "script-javascript-output", "script-html-output", "script-markdown-cell",
            "script-in-a-grade-id", "memfd-hoard", "rich-output-flood", "busy-threads", "conv-output-size-lambda",
            "conv-output-size-renamed", "max-pool-da-by-nudging", "empty-kernel-stack", "z81-pooled-zero"} <= names


def graded_students(corpus):
    return {"honest"} | set(corpus["result"].students)


def test_the_gradebook_keeps_every_other_grade(corpus):
    result, course = corpus["result"], corpus["course"]
    assert result.gradebook_intact
    assert sum(score for score, _, manual in result.honest_after.values() if not manual) == 70
    rows = {row[0]: row for row in pipeline.grade_table(course)}
    assert set(rows) == graded_students(corpus)
    assert all(row[4] == 74 for row in rows.values())
    with pipeline.gradebook(course) as gb:
        for submission in gb.assignment_submissions("ch08"):
            assert len(submission.notebooks) == 10


def test_every_graded_student_has_a_row_in_grades_csv(corpus):
    with open(corpus["csv"], newline="") as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    assert set(rows) == graded_students(corpus)
    assert float(rows["honest"]["score"]) == 70


def test_the_graders_memory_stays_within_its_bound(corpus, capsys):
    memory = corpus["memory"]
    with capsys.disabled():
        print("\n" + attacks.memory_report(), f"; the main process grew by {corpus['main_growth']:.0f} MB")
    measured = {student for student, _ in memory}
    unmeasured = [s for s in corpus["result"].students if s not in measured]
    assert not unmeasured, f"the grading processes did not report their memory for {unmeasured}"
    growth = {key: m["peak_mb"] - m["start_mb"] for key, m in memory.items()}
    worst = max(growth, key=growth.get)
    assert growth[worst] <= grader_memory.GRADER_MEMORY_MB, (worst, growth[worst])
    sent = max(m["sent_bytes"] for m in memory.values())
    assert sent > 20 * 2 ** 20          # the attacks did send the grader more than it keeps ...
    assert corpus["main_growth"] <= MAIN_MEMORY_MB, corpus["main_growth"]   # ... and no process paid for it


def test_every_page_is_written_and_none_runs_a_students_script(corpus, feedback):
    from nbconvert import HTMLExporter

    course = corpus["course"]
    assert not feedback, feedback
    assert len(list(course.feedback("honest").glob("*.html"))) == 10
    live = {}
    for attack in (a for a in attacks.ATTACKS if a.feedback):
        student = attacks.student_id(attack)
        page = (course.feedback(student) / f"{attack.notebook}.html").read_text(encoding="utf-8")
        graded = course.autograded(student) / f"{attack.notebook}.ipynb"   # what formgrader shows
        view, _ = HTMLExporter().from_filename(str(graded))
        for where, html in (("feedback", page), ("formgrader", view)):
            if attacks.live_script(html):
                live[f"{attack.name} ({where})"] = attacks.live_script(html)
    assert not live, live


def test_parallel_workers_graded_every_submission(corpus):
    run = corpus["result"]
    assert set(run.grading.merged) == set(run.students) and run.students


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
    for name in ("conv-output-size-lambda", "conv-output-size-via-correlate", "conv-output-size-library-copy"):
        assert "hands the work to textbook_core.output_size" in cell_outputs(corpus, name, "e8_07",
                                                                            "e8_07_i_function_hidden"), name
    assert "tampered with the grader's record" in cell_outputs(
        corpus, "conv-output-size-recorder-off", "e8_07", "e8_07_i_function_hidden")
    assert "`Z` could not be read by the grader: a number of 401 digits" in cell_outputs(
        corpus, "value-complex-overflow", "e8_01", "e8_01_i_hidden")
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
