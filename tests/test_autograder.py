"""The grading pipeline end to end, with nbgrader and real kernels: release -> submissions (the
three students, the catalogue's typical mistakes packed into a few sample submissions, a file
that is not a notebook) -> autograde -> feedback -> CSV. Every submission is graded once per test
session (the `graded` fixture): each typical mistake must lose exactly the points it lists and be
named in its feedback page."""
import csv
import dataclasses
import html
import json
import re

import pytest

from autograder import catalogue, pipeline, samples
from autograder.course import ASSIGNMENT, NOTEBOOKS, Course

BROKEN = "zz-broken"   # a submission whose notebook is not JSON: grading it fails, nothing is lost
PACKED = tuple(dataclasses.replace(s, deleted_notebooks=tuple(
    nb for nb in NOTEBOOKS if all(catalogue.MISTAKES_BY_NAME[n].notebook != nb for n in s.mistakes)))
    for s in samples.sample_students() if s.mistakes)
"""The sample submissions of the catalogue, graded with only the notebooks that hold mistakes."""
STUDENT_OF = {name: s.id for s in PACKED for name in s.mistakes}


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("course")
    course = Course(release=tmp / "release", work=tmp / "work")
    pipeline.build_release(course)
    students = samples.STUDENTS + PACKED
    inbox = samples.write(students, tmp / "inbox", course)
    (inbox / BROKEN).mkdir()
    (inbox / BROKEN / "e8_07.ipynb").write_text("{ not a notebook")
    ids = pipeline.collect(inbox, course)
    run = pipeline.grade(ids, course, workers=2)
    pipeline.feedback([s.id for s in students], course)
    grades_csv = pipeline.export(tmp / "grades.csv", course)
    scores = {s: pipeline.cell_scores(s, course) for s in ids if s != BROKEN}
    return dict(course=course, run=run, scores=scores, csv=grades_csv, inbox=inbox)


def by_notebook(scores, name):
    return {k: v for k, v in scores.items() if k.startswith(name + "_")}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solution_scores_full_points(graded, name):
    cells = by_notebook(graded["scores"]["ada"], name)
    assert cells
    for grade_id, (score, max_score, manual) in cells.items():
        if manual:   # an explanation: waits for the instructor
            assert grade_id.endswith("_explain")
        else:
            assert score == max_score > 0, grade_id


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_blank_release_scores_zero_on_every_cell(graded, name):
    cells = by_notebook(graded["scores"]["ben"], name)
    assert cells and all(score == 0 and not manual for score, _, manual in cells.values())


def packed_with(mistake):
    """The catalogue's mistakes graded in the same notebook of the same sample submission."""
    student = next(s for s in PACKED if mistake.name in s.mistakes)
    return student.id, [catalogue.MISTAKES_BY_NAME[n] for n in student.mistakes
                        if catalogue.MISTAKES_BY_NAME[n].notebook == mistake.notebook]


@pytest.mark.parametrize("mistake", catalogue.MISTAKES, ids=lambda m: m.name)
def test_each_typical_mistake_loses_points_on_exactly_its_parts(graded, mistake):
    student, together = packed_with(mistake)
    solution, wrong = graded["scores"]["ada"], graded["scores"][student]
    cells = by_notebook(wrong, mistake.notebook)
    lost = {g for g in cells if wrong[g][0] < solution[g][0]}
    assert set(mistake.loses) <= lost, f"{mistake.name} keeps points on {sorted(set(mistake.loses) - lost)}"
    assert lost == set().union(*(set(m.loses) for m in together)), "no other part loses points"
    assert all(wrong[g][0] == 0 for g in lost), "a failed test cell scores 0"


def test_sample_submissions_lose_nothing_outside_their_mistakes(graded):
    solution = graded["scores"]["ada"]
    for student in PACKED:
        wrong = graded["scores"][student.id]
        submitted = {catalogue.MISTAKES_BY_NAME[name].notebook for name in student.mistakes}
        touched = {g for name in student.mistakes for g in catalogue.MISTAKES_BY_NAME[name].loses}
        assert {g for g in wrong if g[:5] in submitted and g not in touched and wrong[g] != solution[g]} == set()
        assert set(wrong) == set(solution)


def output_text(graded, student, notebook):
    """Everything the graded notebook's cells printed or raised (not their source)."""
    nb = json.loads((graded["course"].autograded(student) / f"{notebook}.ipynb").read_text(encoding="utf-8"))
    text = lambda value: "".join(value) if isinstance(value, list) else value
    return "\n".join(text(o.get("text", "")) + o.get("evalue", "") + "\n".join(o.get("traceback", []))
                     for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"])


@pytest.mark.parametrize("mistake", catalogue.MISTAKES, ids=lambda m: m.name)
def test_each_typical_mistake_is_named_in_its_feedback(graded, mistake):
    student, _ = packed_with(mistake)
    assert mistake.hint in output_text(graded, student, mistake.notebook)
    page = html.unescape(re.sub(r"<[^>]+>", "", feedback_page(graded, student, mistake.notebook)))
    assert page.count(mistake.hint) > input_count(graded, mistake), "the hint is shown in an output"


def input_count(graded, mistake):
    """How often the hint appears in the cells' sources (a visible check's key lists the hints)."""
    nb = json.loads((graded["course"].autograded("ada") / f"{mistake.notebook}.ipynb").read_text(encoding="utf-8"))
    return sum("".join(c["source"]).count(mistake.hint) for c in nb["cells"])


def test_end_to_end_csv_totals(graded):
    with open(graded["csv"], newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == ASSIGNMENT}
    totals = {s.id: float(rows[s.id]["score"]) for s in samples.STUDENTS}
    # 74 points in all, 4 of them for two explanations graded by hand later: 70 autograded.
    # cy: e8_03 missing (-8), E8.6 (i) correlation for convolution (-1 visible, -2), E8.9 db over every
    # axis (-1 visible, -1 stack of maps, -1 batch): 70 - 14 = 56.
    assert totals == {"ada": 70.0, "ben": 0.0, "cy": 56.0}
    assert {float(rows[s]["max_score"]) for s in totals} == {74.0}


def test_deleted_test_cells_come_back_and_skip_tags_do_not_skip(graded):
    cy = graded["scores"]["cy"]
    assert cy["e8_06_i_hidden"] == (0.0, 2.0, False)            # deleted by cy, added back, run
    assert cy["e8_09_db_fms_hidden"][0] == cy["e8_09_db_batch_hidden"][0] == 0.0   # tagged skip-execution
    graded_nb = json.loads((graded["course"].autograded("cy") / "e8_06.ipynb").read_text())
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in graded_nb["cells"]]
    assert "e8_06_i_hidden" in ids


def test_a_missing_notebook_scores_zero(graded):
    assert all(score == 0 for score, _, _ in by_notebook(graded["scores"]["cy"], "e8_03").values())


def test_a_grading_run_loses_no_submission_and_no_grade(graded):
    course, run = graded["course"], graded["run"]
    assert set(run.failed) == {BROKEN}
    assert (course.submitted(BROKEN) / "e8_07.ipynb").read_text() == "{ not a notebook"
    for student in graded["scores"]:
        for name in samples.submission(samples.Student("x")):
            original = graded["inbox"] / student / f"{name}.ipynb"
            if original.exists():
                assert (course.submitted(student) / f"{name}.ipynb").read_bytes() == original.read_bytes()
    table = {row[0] for row in pipeline.grade_table(course)}
    assert set(graded["scores"]) <= table


def feedback_page(graded, student, name):
    return (graded["course"].feedback(student) / f"{name}.html").read_text(encoding="utf-8")


def test_feedback_says_what_is_wrong_without_the_hidden_tests(graded):
    page = html.unescape(feedback_page(graded, STUDENT_OF["correlation-for-convolution"], "e8_06"))
    assert "`Z_conv` is the correlation K ⊗ P, but the task asks for the convolution K * P" in page
    assert "hidden tests: not shown" in page
    assert "BEGIN HIDDEN TESTS" not in page and "checks.compare" not in page
    assert "Traceback (most recent call last)" not in page, "tracebacks are minimal"


def test_feedback_names_a_wrong_shape_and_the_padding(graded):
    page = feedback_page(graded, "cy", "e8_09")
    assert "has shape ()" in page and "but the answer has shape" in page


def test_feedback_exists_for_every_submitted_notebook(graded):
    for student in samples.STUDENTS:
        present = {p.stem for p in (graded["inbox"] / student.id).glob("*.ipynb")}
        written = {p.stem for p in graded["course"].feedback(student.id).glob("*.html")}
        assert written == present


def test_the_run_records_each_students_grading_time(graded):
    """Seconds are reported, never asserted (the machine may be busy): `python -m autograder time`."""
    seconds = graded["run"].seconds
    assert set(graded["scores"]) <= set(seconds) and all(s > 0 for s in seconds.values())
    print(f"\nautograding one full submission ({len(NOTEBOOKS)} notebooks): {seconds['ada']:.1f} s")


def test_validate_solutions_pass_and_release_fails():
    assert pipeline.validate() == []


def test_command_line_reports_bad_input_clearly(tmp_path, capsys):
    from autograder.__main__ import main

    assert main(["--work", str(tmp_path), "grade", str(tmp_path / "missing")]) == 2
    assert "error: submissions folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "autograde" in capsys.readouterr().out
