"""The stateless grading job (autograder/job.py) and `grade` built on it.

One session fixture grades a small class twice: with `grade` (jobs and the merger) and with
nbgrader's own ``autograde`` (which reads the gradebook), so the job is shown to give the same
points and the same sanitized cells. The class also holds hostile and broken submissions, so
failure isolation and the inbox rules are checked at the pipeline level, as an instructor runs it."""
import csv
import json
import os
import subprocess
import sys

import pytest

from autograder import bundle as bundles
from autograder import intake, job, pipeline, samples
from autograder.__main__ import _grade_all
from autograder.course import ASSIGNMENT, NOTEBOOKS, Course

HONEST = ("ada", "ben", "cy", "mistake-stride-ignored", "mistake-avg-pool-gradient-for-max-pool")


def _students():
    by_id = {s.id: s for s in samples.STUDENTS}
    return [by_id["ada"], by_id["ben"], by_id["cy"]] + [samples.Student(f"mistake-{m}", mistakes=(m,)) for m in
                                                        ("stride-ignored", "avg-pool-gradient-for-max-pool")]


def _hostile(inbox, course):
    """eve links to the solutions and to ada, and dates her work 2001; dan's notebooks try to break
    the reader (a 5000-digit number in the metadata, not JSON); fin sends nothing readable."""
    eve = inbox / "eve"
    eve.mkdir()
    os.symlink(course.path("source") / ASSIGNMENT / "e8_01.ipynb", eve / "e8_01.ipynb")
    os.symlink(inbox / "ada" / "e8_02.ipynb", eve / "e8_02.ipynb")
    (eve / "timestamp.txt").write_text("2001-01-01 00:00:00.000000 UTC")
    dan = inbox / "dan"
    dan.mkdir()
    for name in NOTEBOOKS:
        (dan / f"{name}.ipynb").write_bytes((inbox / "ada" / f"{name}.ipynb").read_bytes())
    text = (dan / "e8_05.ipynb").read_text()
    (dan / "e8_05.ipynb").write_text(text.replace('"metadata": {', '"metadata": {"n": ' + "7" * 5000 + ", ", 1))
    (dan / "e8_07.ipynb").write_text("{ not a notebook")
    fin = inbox / "fin"
    fin.mkdir()
    (fin / "e8_04.ipynb").write_text("")


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("job")
    ours = Course(release=tmp / "release", work=tmp / "ours")
    pipeline.build_release(ours)
    fresh = ours.db.read_bytes()   # the assignment, before anyone is graded
    inbox = samples.write(_students(), tmp / "inbox", ours)
    _hostile(inbox, ours)
    collected = pipeline.collect(inbox, ours)
    run, folder, grades = _grade_all(ours, list(collected), tmp / "grades.csv", problems=collected.problems)

    theirs = Course(release=tmp / "release", work=tmp / "theirs")     # nbgrader's own autograde
    theirs.path("work").mkdir()
    theirs.db.write_bytes(fresh)
    pipeline.collect(samples.write(_students(), tmp / "inbox-theirs", ours), theirs)
    api = pipeline.nbgrader_api(theirs)
    for student in HONEST:
        assert api.autograde(ASSIGNMENT, student, force=True, create=True)["success"]
    return dict(tmp=tmp, ours=ours, theirs=theirs, run=run, collected=collected, grades=grades, inbox=inbox)


@pytest.mark.parametrize("student", HONEST)
def test_the_job_gives_the_points_of_nbgraders_own_autograde(graded, student):
    ours, theirs = pipeline.cell_scores(student, graded["ours"]), pipeline.cell_scores(student, graded["theirs"])
    cells = sum(len(e["grade_cells"]) for e in bundles.build(graded["ours"])["notebooks"].values())
    assert ours == theirs and len(ours) == cells


def test_the_job_sanitizes_like_nbgrader_deleted_cells_and_skip_tags_included(graded):
    def cells(course, name):
        nb = json.loads((course.autograded("cy") / f"{name}.ipynb").read_text())
        return [(c["cell_type"], "".join(c["source"]), c["metadata"].get("nbgrader", {}).get("grade_id"),
                 c["metadata"].get("nbgrader", {}).get("checksum")) for c in nb["cells"]]

    for name in ("e8_06", "e8_09"):   # a test cell deleted; two hidden tests tagged skip-execution
        assert cells(graded["ours"], name) == cells(graded["theirs"], name)
    assert graded["run"].merged["cy"] == "merged"


def test_links_into_the_solutions_or_another_student_score_nothing(graded):
    eve = pipeline.cell_scores("eve", graded["ours"])
    assert all(score == 0 for score, _, _ in eve.values())
    problems = graded["collected"].problems["eve"]
    assert "e8_01.ipynb is a symbolic link: not read, so it scores 0" in problems
    assert "e8_02.ipynb is a symbolic link: not read, so it scores 0" in problems
    with pipeline.gradebook(graded["ours"]) as gb:
        assert gb.find_submission(ASSIGNMENT, "eve").timestamp.year > 2001
    page = (graded["ours"].path("work") / "feedback").rglob("eve/**/*.html")
    assert not any("BEGIN SOLUTION" in p.read_text() or "first_max_mask" in p.read_text() for p in page)


def test_a_notebook_that_breaks_the_grader_costs_only_itself(graded):
    run, ours = graded["run"], graded["ours"]
    dan, ada = pipeline.cell_scores("dan", ours), pipeline.cell_scores("ada", ours)
    # e8_05's 5000-digit number is dropped from its metadata (bounded reading), so it is graded as ada's
    assert all(dan[g] == ada[g] for g in dan if not g.startswith("e8_07"))
    assert sum(dan[g][0] for g in dan if g.startswith("e8_05")) > 0
    assert any("5000 digits" in n and "dropped" in n for n in run.notes["dan"]), run.notes["dan"]
    assert all(dan[g][0] == 0 for g in dan if g.startswith("e8_07"))
    assert any(n.startswith("e8_07") and "was it saved by Jupyter?" in n and "scores 0" in n for n in run.notes["dan"])
    assert set(run.failed) == {"eve", "fin"}, "dan's other notebooks are graded"
    assert run.failed["fin"].startswith("nothing to grade")


def test_every_student_is_in_the_csv_and_has_feedback(graded):
    with open(graded["grades"], newline="") as fh:
        rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    assert set(rows) == set(HONEST) | {"eve", "dan", "fin"}
    assert rows["ada"] == 70 and rows["ben"] == 0 and rows["cy"] == 56
    for student in rows:
        graded_nbs = {p.stem for p in graded["ours"].autograded(student).glob("*.ipynb")}
        pages = {p.stem for p in graded["ours"].feedback(student).glob("*.html")}
        assert pages == graded_nbs and (graded_nbs or student == "eve"), student   # eve sent only links


def test_the_job_command_is_stateless_and_gives_the_same_json_twice(graded, tmp_path):
    ours = graded["ours"]
    bundle_path = bundles.write(bundles.build(ours), tmp_path / "bundle.json")
    scratch = tmp_path / "scratch"
    outputs = []
    for k in range(2):
        scratch.mkdir()
        out = tmp_path / f"ben-{k}.json"
        env = dict(os.environ, TMPDIR=str(scratch), HOME=str(scratch))
        done = subprocess.run([sys.executable, "-m", "autograder", "job", str(graded["inbox"] / "ben"),
                               "--bundle", str(bundle_path), "--timestamp", "2030-05-06 07:08:09", "--out", str(out)],
                              cwd=scratch, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert list(scratch.iterdir()) == [], "the job leaves nothing behind"
        scratch.rmdir()
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    result = json.loads(outputs[0])
    assert result["versions"] == {"package": bundles.package_version(), "release": json.loads(
        bundle_path.read_text())["versions"]["release"]}
    assert result["timestamp"] == "2030-05-06 07:08:09.000000 UTC"
    cells = {g: c for e in result["notebooks"].values() for g, c in e["cells"].items()}
    expected = pipeline.cell_scores("ben", ours)
    assert {g: (c["points"] or 0.0, c["max_points"], c["manual"]) for g, c in cells.items()} == expected
    assert all(set(c) >= {"points", "max_points", "feedback", "manual", "seeds"} for c in cells.values())
    assert "NameError: name 'Z' is not defined" in cells["e8_01_i_hidden"]["feedback"]


def test_any_error_while_reading_is_that_notebooks_note(graded, monkeypatch):
    bundle = bundles.build(graded["ours"])
    files = {f"{n}.ipynb": (graded["inbox"] / "ada" / f"{n}.ipynb").read_bytes() for n in ("e8_02", "e8_07")}
    real = intake.read_submission

    def broken(path, max_bytes):
        if str(path).endswith("e8_02.ipynb"):
            raise OSError(5, "Input/output error")
        return real(path, max_bytes)

    monkeypatch.setattr(intake, "read_submission", broken)
    result = job.grade_submission(files, "ada", bundle)
    e8_02, e8_07 = result["notebooks"]["e8_02"], result["notebooks"]["e8_07"]
    assert e8_02["status"] == "failed" and e8_02["flagged"] and "OSError" in e8_02["notes"][0]
    assert all(c["points"] == 0 and c["manual"] for c in e8_02["cells"].values())
    assert e8_07["status"] == "graded" and all(c["points"] == c["max_points"] for c in e8_07["cells"].values())
    assert result["notebooks"]["e8_01"]["status"] == "missing"
    assert result["failed"] == "the grader failed on e8_02.ipynb"
