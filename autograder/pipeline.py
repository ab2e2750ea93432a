"""The instructor's pipeline over nbgrader's Python API: release, validate, grade, feedback, export.

Each step is a function of a `autograder.course.Course`; ``python -m autograder`` calls them.

- `build_release`: ``solutions/ch08`` -> ``notebooks/ch08`` (solutions and hidden tests removed,
  outputs cleared) and the assignment's cells into the gradebook;
- `validate`: every solution notebook passes all of its tests, every released notebook fails them;
- `collect`: copy a folder of submissions ``<dir>/<student>/e8_XX.ipynb`` into ``submitted/``
  (copies: the originals are never touched; the inbox is read, never followed: `autograder.inbox`),
  with the submission time from the grader's clock or an LMS export;
- `grade`: one stateless job per student (`autograder.job`, student code in the sandbox) against
  the grading bundle (`autograder.bundle`), here, in parallel local processes or on a Dask cluster
  (`autograder.fanout`); each result is merged into the gradebook as it arrives
  (`autograder.merge`, idempotent); a notebook that fails in any step is that student's note, and
  the run goes on; all gradebook writes happen in this one process;
- `feedback`: one HTML page per notebook and student, hidden tests cut out; a page that fails
  is that notebook's note;
- `export`: the gradebook as nbgrader's grade CSV; `grade_table`: scores per notebook.
"""
import json
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import inbox
from .course import ASSIGNMENT, COURSE_ID, HIDDEN_NOTE, NOTEBOOKS, Course, config


class PipelineError(RuntimeError):
    """An nbgrader step failed; the message has nbgrader's log."""


def _tools_on_path():
    """nbgrader runs the ``alembic`` command of its own environment: put that on PATH.

    Also silences two warnings that nbgrader 0.9.6 triggers itself on every run (SQLAlchemy's
    autoflush notice; a re-added deleted cell without an id), which say nothing to an instructor.
    """
    warnings.filterwarnings("ignore", message=".*not in session, add operation along.*")
    warnings.filterwarnings("ignore", message="Cell is missing an id field.*")
    warnings.filterwarnings("ignore", category=Warning, module="nbformat.*")
    tools = os.path.dirname(sys.executable)
    if tools not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = tools + os.pathsep + os.environ.get("PATH", "")


def gradebook(course=Course()):
    """nbgrader's `Gradebook` of `course` (use it in a ``with`` block)."""
    from nbgrader.api import Gradebook

    _tools_on_path()
    return Gradebook(f"sqlite:///{course.db}", course_id=COURSE_ID)


def nbgrader_api(course=Course()):
    """nbgrader's `NbGraderAPI` configured for `course`."""
    from nbgrader.apps import NbGraderAPI

    _tools_on_path()
    return NbGraderAPI(config=config(course))


def _check(result, what):
    if not result.get("success"):
        raise PipelineError(f"{what} failed:\n{result.get('error', '')}\n{result.get('log', '')}")
    return result


def build_release(course=Course()):
    """Generate the student release from the instructor notebooks; returns the released paths."""
    source = course.path("source") / ASSIGNMENT
    missing = [nb for nb in NOTEBOOKS if not (source / f"{nb}.ipynb").is_file()]
    if missing:
        raise ValueError(f"instructor notebooks missing from {source}: {', '.join(missing)}")
    course.path("work").mkdir(parents=True, exist_ok=True)
    _check(nbgrader_api(course).generate_assignment(ASSIGNMENT, force=True, create=True),
           "generate_assignment")
    release = course.path("release") / ASSIGNMENT
    return [release / f"{nb}.ipynb" for nb in NOTEBOOKS]


def validate(course=Course()):
    """Run nbgrader's validator: solutions must pass every test, the release must fail every one.

    In the release a hidden-test cell holds only `HIDDEN_NOTE` (its tests are cut out), so it
    passes there by design and is not a problem. Returns a list of problems (empty when all is
    well).
    """
    from nbgrader.validator import Validator

    problems = []
    for folder, invert in (("source", False), ("release", True)):
        validator = Validator(config=config(course), invert=invert)
        for nb in NOTEBOOKS:
            path = course.path(folder) / ASSIGNMENT / f"{nb}.ipynb"
            result = validator.validate(str(path))
            for kind, cells in result.items():
                for cell in cells:
                    if invert and kind == "passed" and HIDDEN_NOTE in cell.get("source", ""):
                        continue
                    problems.append(f"{folder} {nb}: {kind}: {cell.get('source', '')[:80]!r}")
    return problems


class Collected(list):
    """The student ids `collect` copied, with ``problems``: ``{student: [message, ...]}``, and
    ``refused``: ``{folder name: reason}`` for student folders that could not be collected."""

    def __init__(self, students=(), problems=None, refused=None):
        super().__init__(students)
        self.problems = problems or {}
        self.refused = refused or {}


guess_notebook = inbox.guess_notebook


def _copy_in(folder, dest):
    """Write the notebooks `inbox.read_folder` read into ``submitted/`` (an unread, oversized one as a
    sparse file of its size, so grading refuses it with the same reason)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name, data in folder.files.items():
        with open(dest / name, "wb") as fh:
            if isinstance(data, inbox.TooLarge):
                fh.truncate(data.size)
            else:
                fh.write(data)


def collect(submissions, course=Course(), times=None):
    """Copy ``<submissions>/<student>/e8_XX.ipynb`` into the course; returns a `Collected`.

    The inbox is read, never followed (`autograder.inbox`): symbolic links, devices, FIFOs and
    anything else that is not a regular file are refused with a note, without being opened. The
    submission time is `times[student]` (an LMS export, `inbox.read_lms_times`) or the grader's
    clock now; it goes into nbgrader's ``timestamp.txt`` of the collected copy. A folder that
    cannot be used (a symbolic link, a bad name) is listed in ``refused``; one without a readable
    notebook is collected empty (it scores 0 and is reported); the others are collected as usual.
    Only an inbox without a single notebook is a ValueError.
    """
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise ValueError(f"submissions folder {submissions} does not exist")
    folders, refused = inbox.student_folders(submissions)
    students, problems, empty = [], {}, []
    max_bytes = int(course.limits.notebook_mb * 2 ** 20)
    for path in folders:
        try:
            folder = inbox.read_folder(path, max_bytes)
        except ValueError as error:
            refused[path.name] = str(error)
            continue
        if not folder.files:   # graded all the same: 0 points, reported, and a row in the CSV
            empty.append(f"submission {path} holds none of the notebooks "
                         f"{', '.join(n + '.ipynb' for n in NOTEBOOKS)}: " + "; ".join(folder.problems[:5]))
            folder.problems.insert(0, "none of the assignment's notebooks could be collected: every part scores 0")
        stamp, note = inbox.submission_time(folder.student, times)
        _copy_in(folder, course.submitted(folder.student))
        (course.submitted(folder.student) / "timestamp.txt").write_text(stamp, encoding="utf-8")
        found = folder.problems + ([note] if note else [])
        if found:
            problems[folder.student] = found
        students.append(folder.student)
    if len(empty) == len(students) and empty:
        raise ValueError("; ".join(empty[:5]))
    if not students:
        detail = "; ".join(f"{name}: {why}" for name, why in sorted(refused.items())[:5])
        raise ValueError(f"submissions folder {submissions} has no student folders to grade"
                         + (f" ({detail})" if detail else ""))
    return Collected(students, problems, refused)


@dataclass
class GradeRun:
    """What `grade` did: seconds per student, the students whose grading failed, and the notes.

    ``notes[student]`` lists what the grader changed or noticed (unreadable files, restored
    cells, stopped cells, parts flagged for a manual grade); ``failed[student]`` says why a
    student needs the instructor (a notebook the grader could not grade, nothing readable, a job
    that failed every try); ``merged[student]`` is what the merger did ("merged", "unchanged",
    "older").
    """

    seconds: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    merged: dict = field(default_factory=dict)


def submitted_notebooks(student, course=Course()):
    """The assignment's notebooks in a student's collected submission (paths)."""
    folder = course.submitted(student)
    return [folder / f"{nb}.ipynb" for nb in NOTEBOOKS if (folder / f"{nb}.ipynb").is_file()]


def _submission(student, course):
    """The job input of a collected student: the copies in ``submitted/`` and our timestamp."""
    from .fanout import Submission

    folder = inbox.read_folder(course.submitted(student), int(course.limits.notebook_mb * 2 ** 20), student)
    stamp = None
    stamp_file = course.submitted(student) / "timestamp.txt"
    if stamp_file.is_file() and not stamp_file.is_symlink():
        stamp = inbox.parse_time(stamp_file.read_text(encoding="utf-8")[:100])
    return Submission(student, folder.files, [p for p in folder.problems if not p.startswith("timestamp.txt")],
                      stamp)


def result_path(student, course=Course()):
    """Where `grade` keeps the JSON result of a student's last grading."""
    return course.path("work") / "results" / ASSIGNMENT / f"{student}.json"


def record(result, course=Course(), release=None):
    """Merge one job result into the gradebook and keep it in ``results/``; returns the merger's word."""
    from . import merge

    outcome = merge.merge(result, course, release)
    path = result_path(result["student"], course)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(result, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
    return outcome


def grade(students=None, course=Course(), workers=1, scheduler=None, tries=3, progress=False):
    """Autograde the collected submissions of `students` (default: every collected one).

    Each student is one stateless job (`autograder.job`) against the course's grading bundle
    (`autograder.bundle`), run here, in `workers` local processes or on the Dask cluster at
    `scheduler` (`autograder.fanout`); each result is merged into the gradebook as it arrives
    (`autograder.merge`), so an interrupted run keeps every grade merged so far and a second run
    changes only what differs. A student whose grading failed is in ``failed``; the others are
    graded as usual.
    """
    from . import bundle as bundles
    from . import fanout
    from .sandbox import SandboxUnavailable, check

    if scheduler is None:
        problem = check(course.limits)
        if problem:
            raise SandboxUnavailable(problem)
    with gradebook(course) as gb:
        if ASSIGNMENT not in {a.name for a in gb.assignments}:
            raise PipelineError(f"the gradebook {course.db} has no assignment {ASSIGNMENT}: build the release "
                                f"into it first (python -m autograder --work {course.path('work')} release)")
    if students is None:
        students = sorted(p.name for p in course.submitted().iterdir() if (p / ASSIGNMENT).is_dir())
    bundle = bundles.build(course)
    release = bundle["versions"]["release"]
    run, jobs, last = GradeRun(), [], [time.perf_counter()]
    for student in students:
        try:
            jobs.append(_submission(student, course))
        except (ValueError, OSError) as error:
            run.failed[student] = f"its collected submission cannot be read: {error}"

    def on_result(student, result):
        run.seconds[student] = time.perf_counter() - last[0]   # the wall time one submission took at this rate
        last[0] = time.perf_counter()
        run.merged[student] = record(result, course, release)
        for notebook, entry in result["notebooks"].items():
            if entry["notes"]:
                run.notes.setdefault(student, []).extend(f"{notebook}: {m}" for m in entry["notes"])
        if result["failed"]:
            run.failed[student] = result["failed"]

    _tools_on_path()
    failures = fanout.run(jobs, bundle, on_result, workers=workers, scheduler=scheduler, tries=tries,
                          progress=progress)
    run.failed.update(failures)
    return run


def feedback(students=None, course=Course(), failed=None):
    """Write the feedback HTML of `students` (default: every graded one), one page per notebook.

    Each page is `autograder.report.write_feedback`'s: sanitized again, rendered within CPU and
    memory limits, written as plain text when it cannot be rendered. A page that cannot be made is
    that notebook's failure only: its reason goes into `failed` (``{student: [message, ...]}``,
    when given) and every other page is written. Returns the folder.
    """
    from .course import write_config
    from .report import write_feedback

    write_config(course)   # formgrader started in the work folder then shows this course
    if students is None:
        students = sorted(p.parent.name for p in (course.path("work") / "autograded").glob(f"*/{ASSIGNMENT}"))
    for student in students:
        for path in sorted(course.autograded(student).glob("e8_*.ipynb")):
            if path.stem not in NOTEBOOKS:
                continue
            try:
                write_feedback(student, path.stem, course)
            except Exception as error:   # one page's failure stays with it
                message = f"{path.stem}: no feedback page: {str(error).strip().splitlines()[0][:300]}"
                if failed is not None:
                    failed.setdefault(student, []).append(message)
    return course.path("work") / "feedback"


def export(path, course=Course()):
    """Write nbgrader's grade CSV (one row per student: score, max_score, ...) to `path`."""
    from nbgrader.plugins import CsvExportPlugin

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gradebook(course) as gb:
        CsvExportPlugin(to=str(path), assignment=[ASSIGNMENT]).export(gb)
    return path


def cell_scores(student, course=Course()):
    """``{grade_id: (score, max_score, needs_manual_grade)}`` of every grade cell of a submission."""
    scores = {}
    with gradebook(course) as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        for notebook in submission.notebooks:
            for g in notebook.grades:
                scores[g.name] = (float(g.score), float(g.max_score), bool(g.needs_manual_grade))
    return scores


def grade_table(course=Course()):
    """Rows ``(student, {notebook: score}, auto, manual_pending, total, max_score)``."""
    rows = []
    with gradebook(course) as gb:
        for submission in sorted(gb.assignment_submissions(ASSIGNMENT), key=lambda s: s.student.id):
            per_nb = {nb.name: float(nb.score) for nb in submission.notebooks}
            pending = sum(float(g.max_score) for nb in submission.notebooks for g in nb.grades
                          if g.needs_manual_grade)
            rows.append((submission.student.id, per_nb, float(submission.score), pending,
                         float(submission.max_score)))
    return rows


def format_table(rows):
    """The grade table as text, one line per student."""
    width = max([len("student")] + [len(r[0]) for r in rows]) + 2
    head = f"{'student':<{width}}" + "".join(f"{nb[3:]:>6}" for nb in NOTEBOOKS) + f"{'total':>8}{'max':>6}{'manual':>8}"
    lines = [head, "-" * len(head)]
    for student, per_nb, total, pending, max_score in rows:
        cells = "".join(f"{per_nb.get(nb, 0):>6g}" for nb in NOTEBOOKS)
        manual = f"{pending:g} pts" if pending else "-"
        lines.append(f"{student:<{width}}{cells}{total:>8g}{max_score:>6g}{manual:>8}")
    return "\n".join(lines)


def read_notebook(path):
    """A notebook as a dict (no validation), for tests and comparisons."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
