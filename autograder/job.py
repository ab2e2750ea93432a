"""The stateless grading job: one student's files and a bundle in, one JSON result out.

``python -m autograder job FOLDER --bundle BUNDLE.json [--out RESULT.json]`` grades one student's
folder against a grading bundle (`autograder.bundle`) in the same sandbox as ``grade``. It reads
no gradebook and writes only the result (its temporary files vanish with it); the same inputs
give the same JSON. Dask workers (`autograder.fanout`) and Gradescope (`autograder.gradescope`)
run the same function, `grade_submission`.

Each notebook goes through nbgrader's own autograde steps, in nbgrader's order, with the course's
settings (`autograder.course.configure`): the safe reader and `Canonicalize`, nbgrader's
sanitizing, the second read of the sanitized file, the sandboxed run and nbgrader's scoring rule
(``nbgrader.utils.determine_grade``). The three steps that talk to a gradebook are replaced:
``OverwriteKernelspec`` and ``OverwriteCells`` ask a `bundle.Book` instead, ``SaveAutoGrades``
becomes `ScoreCells`, which keeps the scores in the result. The late penalty and the manual
score are the gradebook's business (`autograder.merge`).

Failure stays with its notebook: any error while one notebook is read, sanitized or graded
becomes that notebook's note, its parts score 0 and are flagged for the instructor, and the
other notebooks are graded as usual. Only a grader that cannot grade at all (no sandbox) raises.
"""
import argparse
import copy
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import (
    AssignLatePenalties, NbGraderPreprocessor, OverwriteCells, OverwriteKernelspec, SaveAutoGrades)

from . import bundle as bundles
from . import inbox, intake
from .course import Course, config
from .sandbox import SandboxUnavailable

FORMAT = "autograder-result/1"
MAX_FEEDBACK = 8000


class BookKernelspec(OverwriteKernelspec):
    """``OverwriteKernelspec`` with the kernelspec from the bundle."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        kernelspec = json.loads(resources["autograder"]["book"].find_notebook(
            info["notebook"], info["assignment"]).kernelspec or "null")
        if kernelspec:
            nb.metadata["kernelspec"] = kernelspec
        return nb, resources


class BookOverwriteCells(OverwriteCells):
    """nbgrader's ``OverwriteCells`` (unchanged logic) asking the bundle instead of the gradebook."""

    def preprocess(self, nb, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.gradebook = resources["autograder"]["book"]
        nb, resources = super(OverwriteCells, self).preprocess(nb, resources)
        if self.add_missing_cells:
            nb, resources = self.add_missing_grade_cells(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


class ScoreCells(NbGraderPreprocessor):
    """``SaveAutoGrades`` into the result: each grade cell's score by nbgrader's rule, and the
    "No response." comment of an answer left as handed out."""

    def preprocess(self, nb, resources):
        resources["autograder"]["scores"], resources["autograder"]["comments"] = {}, {}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if utils.is_grade(cell):
            points, max_points = utils.determine_grade(cell, self.log)
            resources["autograder"]["scores"][grade_id] = (None if points is None else float(points), float(max_points))
        if utils.is_solution(cell) or utils.is_task(cell):
            unchanged = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
            resources["autograder"]["comments"][grade_id] = "No response." if unchanged and not utils.is_task(cell) else None
        return cell, resources


REPLACED = {OverwriteKernelspec: BookKernelspec, OverwriteCells: BookOverwriteCells, SaveAutoGrades: ScoreCells,
            intake.FlagForManualGrading: None, AssignLatePenalties: None}
"""nbgrader's gradebook steps and what a job runs instead (None: left to the merger)."""


def _steps(classes):
    return [REPLACED.get(c, c) for c in classes if REPLACED.get(c, c) is not None]


def _feedback(cell):
    """What a graded test cell says: its printed text and its error line (never a traceback)."""
    def text(value):   # a notebook file keeps multi-line text as a list of lines
        return "".join(value) if isinstance(value, list) else str(value)

    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(text(output.get("text", "")))
        elif output.get("output_type") == "error":
            parts.append(f"{text(output.get('ename', 'Error'))}: {text(output.get('evalue', ''))}\n")
    text = "".join(parts).strip()
    return text[:MAX_FEEDBACK] + ("\n[... cut ...]" if len(text) > MAX_FEEDBACK else "")


class Job:
    """The settings of one bundle in this process: nbgrader's config with the bundle's release."""

    def __init__(self, bundle):
        self.bundle, self.book = bundle, bundles.Book(bundle)
        release = Path(bundles.release_folder(bundle))
        self.scratch = tempfile.TemporaryDirectory(prefix="autograder-job-")
        course = Course(source=release, release=release, work=Path(self.scratch.name) / "work",
                        limits=bundles.limits(bundle))
        self.config = config(course)
        self.sanitize = _steps(self.config.Autograde.sanitize_preprocessors)
        self.autograde = _steps(self.config.Autograde.autograde_preprocessors)
        self.release = release

    def _pass(self, path, steps, resources):
        exporter = intake.SafeNotebookExporter(config=self.config)
        for step in steps:
            exporter.register_preprocessor(step)
        return exporter.from_filename(str(path), resources=resources)

    def _resources(self, student, notebook):
        sources, tests = bundles.grading_cells(self.bundle, notebook)
        return {"unique_key": notebook, "output_files_dir": f"{notebook}_files",
                "nbgrader": {"student": student, "assignment": self.bundle["assignment"], "notebook": notebook,
                             "db_url": ""},
                "autograder": {"book": self.book, "cells": (sources, tests)}}

    def notebook(self, student, notebook, data, folder):
        """The graded notebook `notebook` from `data` (bytes or `inbox.TooLarge`): a result entry."""
        path = Path(folder) / f"{notebook}.ipynb"
        if isinstance(data, inbox.TooLarge):
            with open(path, "wb") as fh:   # sparse: the reader sees the size and refuses it as usual
                fh.truncate(data.size)
        else:
            path.write_bytes(data)
        first = self._resources(student, notebook)
        status = "graded"
        try:
            intake.read_submission(path, int(self.bundle["limits"]["notebook_mb"] * 2 ** 20))
        except intake.Unreadable:
            status = "unreadable"
        output, first = self._pass(path, self.sanitize, first)
        path.write_text(output, encoding="utf-8")
        second = self._resources(student, notebook)
        output, second = self._pass(path, self.autograde, second)
        graded = json.loads(output)
        mine = second["autograder"]
        notes = list(dict.fromkeys(first["autograder"].get("notes", []) + mine.get("notes", [])))
        cells, seeds, manual = {}, mine.get("seeds", {}), mine.get("manual", {})
        by_id = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c for c in graded["cells"]}
        for grade_id, (points, max_points) in mine["scores"].items():
            cells[grade_id] = {"points": points, "max_points": max_points,
                               "manual": points is None or grade_id in manual,
                               "comment": mine["comments"].get(grade_id), "reason": manual.get(grade_id),
                               "feedback": _feedback(by_id.get(grade_id, {})),
                               "seeds": [int(s) for s in seeds.get(grade_id, [])]}
        return {"status": status, "notes": notes, "flagged": bool(manual), "cells": cells,
                "comments": dict(mine["comments"]), "graded": graded}

    def failed(self, notebook, reason):
        """The entry of a notebook the grader could not grade: every part 0, flagged, the reason."""
        entry = self.bundle["notebooks"][notebook]
        graded = json.loads(nbformat.writes(intake.placeholder(nbformat.from_dict(copy.deepcopy(entry["release"])),
                                                               reason)))
        message = f"the grader could not grade this notebook: {reason}; every part scores 0 for now and is " \
                  f"flagged for your instructor"
        cells = {g: {"points": 0.0, "max_points": c["max_score"], "manual": True, "comment": None,
                     "reason": message, "feedback": message, "seeds": []} for g, c in entry["grade_cells"].items()}
        return {"status": "failed", "notes": [message], "flagged": True, "cells": cells, "comments": {},
                "graded": graded}

    def missing(self, notebook):
        """A notebook that was not submitted: every part 0 (as nbgrader's autograde gives it)."""
        cells = {g: {"points": 0.0, "max_points": c["max_score"], "manual": False, "comment": None, "reason": None,
                     "feedback": "not submitted", "seeds": []}
                 for g, c in self.bundle["notebooks"][notebook]["grade_cells"].items()}
        return {"status": "missing", "notes": [], "flagged": False, "cells": cells, "comments": {}, "graded": None}


_JOBS = {}


def _job(bundle):
    key = bundle["versions"]["release"]
    if key not in _JOBS:
        _JOBS.clear()
        _JOBS[key] = Job(bundle)
    return _JOBS[key]


def grade_submission(files, student, bundle, timestamp=None, notes=()):
    """Grade one student's notebooks; returns the result (a JSON value).

    Parameters
    ----------
    files : dict
        ``{"e8_01.ipynb": bytes or inbox.TooLarge, ...}``: the student's notebooks as read by
        `autograder.inbox.read_folder` (other names are ignored).
    student : str
        The student id.
    bundle : dict
        The grading bundle (`autograder.bundle.build`).
    timestamp : str or None
        The submission time (the grader's clock or the LMS export), recorded as given.
    notes : sequence of str
        What reading the inbox refused or noticed (kept in the result).
    """
    if not inbox.STUDENT_ID.fullmatch(student):
        raise ValueError(f"{student!r} is not a student id")
    job = _job(bundle)
    result = {"format": FORMAT, "assignment": bundle["assignment"], "student": student, "timestamp": timestamp,
              "versions": {"package": bundles.package_version(), "release": bundle["versions"]["release"]},
              "inputs": {}, "notes": list(notes), "notebooks": {}, "failed": None}
    with tempfile.TemporaryDirectory(prefix="autograder-submission-") as folder:
        for notebook in bundle["notebooks"]:
            name = f"{notebook}.ipynb"
            if name not in files:
                result["notebooks"][notebook] = job.missing(notebook)
                continue
            data = files[name]
            result["inputs"][name] = (bundles.digest(data.hex()) if isinstance(data, bytes)
                                      else f"not read: {data.size} bytes")
            try:
                result["notebooks"][notebook] = job.notebook(student, notebook, data, folder)
            except SandboxUnavailable:
                raise
            except Exception as error:   # the unit of failure is this notebook: its note, the others go on
                reason = f"{type(error).__name__}: {str(error)[:500]}"
                result["notebooks"][notebook] = job.failed(notebook, reason)
            finally:
                intake.NOTES.pop((student, notebook), None)
    entries = result["notebooks"].values()
    bad = [n for n, e in result["notebooks"].items() if e["status"] in ("unreadable", "failed")]
    sent = [n for n, e in result["notebooks"].items() if e["status"] != "missing"]
    if not sent:
        result["failed"] = "nothing to grade: none of the notebooks was submitted or could be read"
    elif set(bad) == set(sent):
        result["failed"] = "nothing to grade: " + "; ".join(
            f"{n}.ipynb: {result['notebooks'][n]['notes'][0] if result['notebooks'][n]['notes'] else 'unreadable'}"
            for n in bad)
    elif any(e["status"] == "failed" for e in entries):
        result["failed"] = "the grader failed on " + ", ".join(
            f"{n}.ipynb" for n, e in result["notebooks"].items() if e["status"] == "failed")
    cells = [c for e in entries for c in e["cells"].values()]
    result["score"] = sum(c["points"] or 0.0 for c in cells)
    result["max_score"] = sum(c["max_points"] for c in cells)
    return result


def grade_folder(folder, bundle, student=None, timestamp=None):
    """Read `folder` safely (`autograder.inbox.read_folder`) and grade it; returns the result."""
    max_bytes = int(bundle["limits"]["notebook_mb"] * 2 ** 20)
    read = inbox.read_folder(folder, max_bytes, student)
    return grade_submission(read.files, read.student, bundle, timestamp, read.problems)


def dumps(result):
    """The result as canonical JSON text (sorted keys), the same bytes for the same result."""
    return json.dumps(result, sort_keys=True, ensure_ascii=False, allow_nan=False)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder job", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="one student's folder of e8_XX.ipynb")
    parser.add_argument("--bundle", required=True, help="the grading bundle (python -m autograder bundle OUT.json)")
    parser.add_argument("--student", help="the student id (default: the folder's name)")
    parser.add_argument("--timestamp", help="the submission time, recorded in the result (default: none; the "
                                            "merger then takes its own clock)")
    parser.add_argument("--out", help="write the result here (default: standard output)")
    args = parser.parse_args(argv)
    try:
        bundle = bundles.read(args.bundle)
        timestamp = inbox.parse_time(args.timestamp) if args.timestamp else None
        result = grade_folder(args.folder, bundle, args.student, timestamp)
    except (ValueError, OSError, SandboxUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = dumps(result)
    if args.out:
        tmp = f"{args.out}.tmp{os.getpid()}"
        Path(tmp).write_text(text, encoding="utf-8")
        os.replace(tmp, args.out)
    else:
        sys.stdout.write(text + "\n")
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
