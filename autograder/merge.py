"""Merging job results into the nbgrader gradebook: idempotent, newest wins, crash-safe.

`merge` takes one result of `autograder.job` (a JSON value) and writes what nbgrader's own
autograde would have written: the student, the submission and its time, each grade cell's
``auto_score`` and ``needs_manual_grade`` (nbgrader's ``SaveAutoGrades`` rule, plus the parts the
grader flagged), the "No response." comments, the late penalty (``AssignLatePenalties``), the
notebook's flag, and the graded notebooks in ``autograded/<student>/ch08/``, which formgrader and
the feedback pages read. nbgrader's formgrader, feedback and CSV export then work as usual.

- **Idempotent.** The gradebook gets one more table, ``autograder_merged``: per student the
  digest and time of the result merged last. Merging the same result again changes nothing.
- **Newest wins.** A result for a later submission time replaces the merged one; a result for an
  earlier submission is refused ("older"); a different result for the same time (a regrade)
  replaces it.
- **Crash-safe.** The graded notebooks are written first (each atomically), then every gradebook
  change of the student and the ledger row are committed in one SQLite transaction. A crash
  before the commit leaves the student's previous grades as they were; merging again finishes it.
- A manual score a grader already gave stays, and the part stays marked for review.
"""
import json
import os
from pathlib import Path

from .course import ASSIGNMENT, Course

LEDGER = "autograder_merged"

SCHEMA = {
    "type": "object",
    "required": ["format", "assignment", "student", "timestamp", "versions", "notebooks", "failed", "notes"],
    "properties": {
        "format": {"const": "autograder-result/1"},
        "assignment": {"type": "string"},
        "student": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$"},
        "timestamp": {"type": ["string", "null"]},
        "versions": {"type": "object", "required": ["package", "release"],
                     "properties": {"package": {"type": "string"}, "release": {"type": "string"}}},
        "notes": {"type": "array", "items": {"type": "string"}},
        "failed": {"type": ["string", "null"]},
        "notebooks": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["status", "notes", "flagged", "cells", "comments", "graded"],
            "properties": {
                "status": {"enum": ["graded", "unreadable", "failed", "missing"]},
                "notes": {"type": "array", "items": {"type": "string"}},
                "flagged": {"type": "boolean"},
                "graded": {"type": ["object", "null"]},
                "comments": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
                "cells": {"type": "object", "additionalProperties": {
                    "type": "object", "required": ["points", "max_points", "manual", "feedback", "seeds"],
                    "properties": {"points": {"type": ["number", "null"]}, "max_points": {"type": "number"},
                                   "manual": {"type": "boolean"}, "feedback": {"type": "string"},
                                   "reason": {"type": ["string", "null"]},
                                   "seeds": {"type": "array", "items": {"type": "integer"}}}}}}}},
    },
}
"""The JSON schema of a job's result, checked before anything is merged."""


class MergeError(ValueError):
    """A result that cannot be merged (not a result, another assignment or release)."""


def check(result, release=None):
    """Raise `MergeError` unless `result` is a job result (for `release`, when given)."""
    import jsonschema

    try:
        jsonschema.validate(result, SCHEMA)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "the top"
        raise MergeError(f"not a grading result ({where}: {error.message[:200]})") from None
    if result["assignment"] != ASSIGNMENT:
        raise MergeError(f"the result is for assignment {result['assignment']!r}, not {ASSIGNMENT!r}")
    if release is not None and result["versions"]["release"] != release:
        raise MergeError(f"{result['student']}'s result was graded against release "
                         f"{result['versions']['release'][:12]}, not this course's {release[:12]}: grade it again")


def _write_atomic(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def sanitized(graded, course, notebook):
    """The graded notebook as formgrader and the feedback will show it, made inert by
    `autograder.report.sanitize_notebook`; the release's Markdown is kept as it is (the same step
    as ``SanitizeGraded`` in nbgrader's own autograde chain)."""
    import nbformat

    from .intake import release_notebook
    from .report import sanitize_notebook

    release = release_notebook(course.path("release"), ASSIGNMENT, notebook)
    return sanitize_notebook(nbformat.from_dict(graded), release=release)


def _ledger(db):
    from sqlalchemy import text

    db.execute(text(f"CREATE TABLE IF NOT EXISTS {LEDGER} (assignment TEXT NOT NULL, student TEXT NOT NULL, "
                    f"digest TEXT NOT NULL, timestamp TEXT NOT NULL, PRIMARY KEY (assignment, student))"))


def merged(course=Course()):
    """``{student: (digest, timestamp)}`` of the results merged so far."""
    from sqlalchemy import text

    from .pipeline import gradebook

    with gradebook(course) as gb:
        _ledger(gb.db)
        gb.db.commit()
        rows = gb.db.execute(text(f"SELECT student, digest, timestamp FROM {LEDGER} WHERE assignment = :a"),
                             {"a": ASSIGNMENT}).fetchall()
    return {student: (digest, stamp) for student, digest, stamp in rows}


def merge(result, course=Course(), release=None):
    """Write `result` into the gradebook of `course`; returns "merged", "unchanged" or "older".

    `release` (the bundle's digest), when given, must be the one the result was graded with.
    """
    from nbgrader.api import MissingEntry
    from nbgrader.utils import parse_utc
    from sqlalchemy import text

    from . import bundle, inbox
    from .pipeline import gradebook

    check(result, release)
    student, digest = result["student"], bundle.digest(result)
    with gradebook(course) as gb:
        db = gb.db
        _ledger(db)
        row = db.execute(text(f"SELECT digest, timestamp FROM {LEDGER} WHERE assignment = :a AND student = :s"),
                         {"a": ASSIGNMENT, "s": student}).fetchone()
        db.commit()
        if row is not None and row[0] == digest:
            return "unchanged"
        stamp = inbox.parse_time(result["timestamp"]) if result["timestamp"] else inbox.now()
        if row is not None and parse_utc(stamp) < parse_utc(row[1]):
            return "older"

        folder = course.autograded(student)
        for notebook, entry in result["notebooks"].items():
            path = folder / f"{notebook}.ipynb"
            if entry["graded"] is not None:
                _write_atomic(path, json.dumps(sanitized(entry["graded"], course, notebook), indent=1, ensure_ascii=False) + "\n")
            elif path.exists():
                path.unlink()
        _write_atomic(folder / "timestamp.txt", stamp)

        gb.update_or_create_student(student)
        try:
            submission = gb.find_submission(ASSIGNMENT, student)
        except MissingEntry:
            submission = gb.add_submission(ASSIGNMENT, student)
        submission.timestamp = parse_utc(stamp)
        for notebook in submission.notebooks:
            entry = result["notebooks"].get(notebook.name)
            if entry is None:
                continue
            notebook.flagged = bool(entry["flagged"])
            source = notebook.notebook   # the assignment's notebook: cell ids to names, one query each
            names = {c.id: c.name for c in list(source.grade_cells) + list(source.solution_cells)
                     + list(source.task_cells)}
            for grade in notebook.grades:
                cell = entry["cells"].get(names.get(grade.cell_id))
                if cell is None:
                    continue
                grade.auto_score = cell["points"]
                grade.needs_manual_grade = bool(cell["manual"] or grade.manual_score is not None
                                                or cell["points"] is None)
            for comment in notebook.comments:
                if names.get(comment.cell_id) in entry["comments"]:
                    comment.auto_comment = entry["comments"][names[comment.cell_id]]
        _late_penalties(gb, submission, course)
        db.execute(text(f"INSERT OR REPLACE INTO {LEDGER} (assignment, student, digest, timestamp) "
                        f"VALUES (:a, :s, :d, :t)"), {"a": ASSIGNMENT, "s": student, "d": digest, "t": stamp})
        db.commit()
    return "merged"


def _late_penalties(gb, submission, course):
    """nbgrader's ``AssignLatePenalties``, with the course's late-submission plugin."""
    from nbgrader.plugins import LateSubmissionPlugin

    from .course import config

    gb.db.flush()
    late = submission.total_seconds_late
    for notebook in submission.notebooks:
        notebook.late_submission_penalty = None
        if late > 0:
            gb.db.refresh(notebook)
            plugin = LateSubmissionPlugin(config=config(course))
            penalty = plugin.late_submission_penalty(submission.student.id, notebook.score, late)
            if penalty is not None:
                notebook.late_submission_penalty = min(max(penalty, 0), notebook.score)


def read_result(path):
    """A result from its JSON file (`MergeError` when it is not valid JSON)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise MergeError(f"{path} cannot be read as a result: {error}") from None
