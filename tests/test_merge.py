"""The merger (autograder/merge.py): job results into nbgrader's gradebook, safe to run again.

Results here are made from the bundle by hand (no grading), with points chosen per cell, so each
test says exactly what the gradebook must hold afterwards."""
import copy
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from autograder import bundle as bundles
from autograder import merge, pipeline
from autograder.course import ASSIGNMENT, Course


@pytest.fixture(scope="session")
def released(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("merge-release")
    course = Course(release=tmp / "release", work=tmp / "release-work")
    pipeline.build_release(course)
    return course, bundles.build(course)


@pytest.fixture
def course(released, tmp_path):
    """A fresh gradebook with the assignment (a copy of the released one)."""
    base, _ = released
    course = Course(release=base.release, work=tmp_path / "work")
    course.path("work").mkdir(parents=True)
    course.db.write_bytes(base.db.read_bytes())
    return course


def fake_result(bundle, student, points=lambda grade_id, max_points: max_points, timestamp="2030-01-02 03:04:05"):
    """A job result in which each grade cell scores ``points(grade_id, max_points)``."""
    notebooks = {}
    for name, entry in bundle["notebooks"].items():
        cells = {g: {"points": points(g, c["max_score"]), "max_points": c["max_score"], "manual": False,
                     "comment": None, "reason": None, "feedback": "", "seeds": [1, 2]}
                 for g, c in entry["grade_cells"].items()}
        notebooks[name] = {"status": "graded", "notes": [], "flagged": False, "cells": cells, "comments": {},
                           "graded": copy.deepcopy(entry["release"])}
    return {"format": "autograder-result/1", "assignment": ASSIGNMENT, "student": student, "timestamp": timestamp,
            "versions": dict(bundle["versions"]), "inputs": {}, "notes": [], "notebooks": notebooks,
            "failed": None, "score": 0.0, "max_score": 0.0}


def scores(course, student):
    return pipeline.cell_scores(student, course)


def max_points(bundle, grade_id):
    """A grade cell's points, as the bundle (from the release) states them."""
    return next(entry["grade_cells"][grade_id]["max_score"] for entry in bundle["notebooks"].values()
                if grade_id in entry["grade_cells"])


def test_merge_writes_every_grade_and_the_graded_notebooks(course, released):
    _, bundle = released
    result = fake_result(bundle, "ada", points=lambda g, m: 0.0 if g == "e8_06_i_hidden" else m)
    assert merge.merge(result, course, bundle["versions"]["release"]) == "merged"
    got = scores(course, "ada")
    lost = max_points(bundle, "e8_06_i_hidden")
    assert lost > 0 and got["e8_06_i_hidden"] == (0.0, lost, False)
    assert sum(s for s, _, _ in got.values()) == 74 - lost
    assert sorted(p.name for p in course.autograded("ada").glob("*.ipynb")) == [f"{n}.ipynb" for n in bundle["notebooks"]]
    with pipeline.gradebook(course) as gb:
        assert str(gb.find_submission(ASSIGNMENT, "ada").timestamp) == "2030-01-02 03:04:05"


def test_merging_the_same_result_again_changes_nothing(course, released):
    _, bundle = released
    result = fake_result(bundle, "ada", points=lambda g, m: m / 2)
    assert merge.merge(result, course) == "merged"
    before, mtime = course.db.read_bytes(), os.stat(course.autograded("ada") / "e8_01.ipynb").st_mtime_ns
    assert merge.merge(json.loads(json.dumps(result)), course) == "unchanged"
    assert course.db.read_bytes() == before
    assert os.stat(course.autograded("ada") / "e8_01.ipynb").st_mtime_ns == mtime
    assert merge.merged(course)["ada"][0] == bundles.digest(result)


def test_a_newer_result_replaces_an_older_one_and_not_the_reverse(course, released):
    _, bundle = released
    early = fake_result(bundle, "ada", points=lambda g, m: 0.0, timestamp="2030-01-01 00:00:00")
    late = fake_result(bundle, "ada", points=lambda g, m: m, timestamp="2030-01-05 00:00:00")
    assert merge.merge(early, course) == "merged"
    assert merge.merge(late, course) == "merged"
    assert sum(s for s, _, _ in scores(course, "ada").values()) == 74
    assert merge.merge(early, course) == "older"
    assert sum(s for s, _, _ in scores(course, "ada").values()) == 74
    regrade = fake_result(bundle, "ada", points=lambda g, m: 0.0 if g.startswith("e8_01") else m,
                          timestamp="2030-01-05 00:00:00")
    assert merge.merge(regrade, course) == "merged", "a different result for the same submission is a regrade"
    assert scores(course, "ada")["e8_01_i_hidden"][0] == 0.0


def test_a_manual_score_stays_and_the_part_is_marked_for_review(course, released):
    _, bundle = released
    merge.merge(fake_result(bundle, "ada", timestamp="2030-01-01 00:00:00"), course)
    with pipeline.gradebook(course) as gb:
        grade = gb.find_grade("e8_02_own_hidden", "e8_02", ASSIGNMENT, "ada")
        grade.manual_score = 0.5   # the instructor takes half the point off
        gb.db.commit()
    merge.merge(fake_result(bundle, "ada", timestamp="2030-01-02 00:00:00"), course)
    with pipeline.gradebook(course) as gb:
        grade = gb.find_grade("e8_02_own_hidden", "e8_02", ASSIGNMENT, "ada")
        full = max_points(bundle, "e8_02_own_hidden")
        assert (grade.manual_score, grade.auto_score, grade.needs_manual_grade) == (0.5, full, True)


def test_a_crash_before_the_commit_keeps_the_grades_already_merged(course, released, monkeypatch):
    _, bundle = released
    merge.merge(fake_result(bundle, "ada", timestamp="2030-01-01 00:00:00"), course)
    before = scores(course, "ada")

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(merge, "_late_penalties", crash)   # after every grade is set, before the commit
    zero = fake_result(bundle, "ada", points=lambda g, m: 0.0, timestamp="2030-01-02 00:00:00")
    with pytest.raises(RuntimeError, match="power cut"):
        merge.merge(zero, course)
    assert scores(course, "ada") == before
    monkeypatch.undo()
    assert merge.merge(zero, course) == "merged"
    assert sum(s for s, _, _ in scores(course, "ada").values()) == 0


KILLED_MERGER = """
import json, sys
from pathlib import Path
from autograder import merge
from autograder.course import Course
course = Course(release=Path(sys.argv[1]), work=Path(sys.argv[2]))
for path in sys.argv[3:]:
    merge.merge(json.loads(Path(path).read_text()), course)
    print("merged", flush=True)
"""


def test_a_merger_killed_mid_run_loses_nothing_and_a_rerun_completes(course, released, tmp_path):
    _, bundle = released
    paths = []
    for k in range(8):
        path = tmp_path / f"s{k}.json"
        path.write_text(json.dumps(fake_result(bundle, f"s{k}", points=lambda g, m, k=k: m if k % 2 else 0.0)))
        paths.append(str(path))
    proc = subprocess.Popen([sys.executable, "-c", KILLED_MERGER, str(course.path("release")),
                             str(course.path("work"))] + paths, stdout=subprocess.PIPE, text=True)
    for _ in range(3):
        assert proc.stdout.readline().strip() == "merged"
    time.sleep(0.05)   # somewhere inside the next merges
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ledger = merge.merged(course)
    assert len(ledger) >= 3
    for student in ledger:   # whatever the ledger says was merged is in the gradebook, whole
        k = int(student[1:])
        assert sum(s for s, _, _ in scores(course, student).values()) == (74 if k % 2 else 0)
    for path in paths:
        merge.merge(json.loads(open(path).read()), course)
    assert sorted(merge.merged(course)) == [f"s{k}" for k in range(8)]
    with pipeline.gradebook(course) as gb:
        assert sorted(s.student.id for s in gb.assignment_submissions(ASSIGNMENT)) == [f"s{k}" for k in range(8)]
    for k in range(8):
        assert sum(s for s, _, _ in scores(course, f"s{k}").values()) == (74 if k % 2 else 0)


def test_junk_another_assignment_or_release_is_refused_before_anything_is_written(course, released):
    _, bundle = released
    with pytest.raises(merge.MergeError, match="not a grading result"):
        merge.merge({"student": "x"}, course)
    bad = fake_result(bundle, "../../etc")
    with pytest.raises(merge.MergeError, match="student"):
        merge.merge(bad, course)
    with pytest.raises(merge.MergeError, match="graded against release"):
        merge.merge(fake_result(bundle, "ada"), course, release="0" * 64)
    other = fake_result(bundle, "ada")
    other["assignment"] = "ch09"
    with pytest.raises(merge.MergeError, match="ch09"):
        merge.merge(other, course)
    assert not course.autograded("ada").exists() and merge.merged(course) == {}


def test_feedback_and_the_csv_follow_from_the_gradebook(course, released, tmp_path):
    _, bundle = released
    merge.merge(fake_result(bundle, "ada", points=lambda g, m: m if g.startswith("e8_01") else 0.0), course)
    merge.merge(fake_result(bundle, "bo"), course)
    broken = fake_result(bundle, "cy")
    code = next(c for c in broken["notebooks"]["e8_02"]["graded"]["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "display_data", "data": {"text/markdown": 5}, "metadata": {}}]
    merge.merge(broken, course)   # Markdown that is a number: dropped by the sanitizer, no longer a crash
    (course.autograded("cy") / "e8_02.ipynb").write_text("{ not a notebook", encoding="utf-8")   # this page fails
    failed = {}
    folder = pipeline.feedback(["ada", "bo", "cy"], course, failed=failed)
    assert set(failed) == {"cy"} and len(failed["cy"]) == 1 and failed["cy"][0].startswith("e8_02: ")
    assert len(list((folder / "cy" / ASSIGNMENT).glob("*.html"))) == 9, "cy's other pages are written"
    assert len(list((folder / "bo" / ASSIGNMENT).glob("*.html"))) == 10
    with open(pipeline.export(tmp_path / "grades.csv", course), newline="") as fh:
        rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    assert rows == {"ada": 8.0, "bo": 74.0, "cy": 74.0}   # e8_01: 8 points, its explanation too
