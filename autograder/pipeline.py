"""The instructor's pipeline over nbgrader's Python API: release, validate, grade, feedback, export.

Each step is a function of a `autograder.course.Course`; ``python -m autograder`` calls them.

- `build_release`: ``solutions/ch08`` -> ``notebooks/ch08`` (solutions and hidden tests removed,
  outputs cleared) and the assignment's cells into the gradebook;
- `validate`: every solution notebook passes all of its tests, every released notebook fails them;
- `collect`: copy a folder of submissions ``<dir>/<student>/e8_XX.ipynb`` into ``submitted/``
  (copies: the originals are never touched);
- `grade`: autograde every collected submission, student code in the sandbox (`autograder.grading`),
  optionally with parallel workers; a notebook that cannot be read is graded as the blank release
  with the reason, a submission with nothing readable is reported, and the run goes on; nothing
  already graded is removed; all gradebook writes happen in this one process;
- `feedback`: one HTML page per notebook and student, hidden tests cut out;
- `export`: the gradebook as nbgrader's grade CSV; `grade_table`: scores per notebook.
"""
import json
import os
import re
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

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
    """The student ids `collect` copied, with ``problems``: ``{student: [message, ...]}``."""

    def __init__(self, students=(), problems=None):
        super().__init__(students)
        self.problems = problems or {}


def guess_notebook(name):
    """The notebook a misnamed file probably is, or None.

    >>> [guess_notebook(n) for n in ("E8-1.ipynb", "e8_01 (2).ipynb", "e8_10.ipynb.txt", "notes.ipynb")]
    ['e8_01.ipynb', 'e8_01.ipynb', 'e8_10.ipynb', None]
    """
    stem = re.sub(r"\.ipynb$", "", name.strip().lower())
    match = re.fullmatch(r"e8[\W_]*0*(\d{1,2})(?:[\W_].*)?", stem)
    if match and 1 <= int(match.group(1)) <= len(NOTEBOOKS):
        return f"e8_{int(match.group(1)):02d}.ipynb"
    return None


def _name_problems(folder):
    """What is wrong with the file names in one student's folder (the notebooks are not opened)."""
    wanted = {f"{nb}.ipynb" for nb in NOTEBOOKS}
    present = {p.name for p in folder.iterdir()}
    problems, renamed = [], set()
    for name in sorted(present - wanted - {"timestamp.txt"}):
        guess = guess_notebook(name)
        if (folder / name).is_dir():
            problems.append(f"folder {name}/ is not part of the assignment: ignored")
        elif guess and guess not in present:
            renamed.add(guess)
            problems.append(f"{name} is not graded: the notebook must be named {guess} (rename it and grade again)")
        elif guess:
            problems.append(f"{name} looks like a second copy of {guess}: ignored, {guess} is graded")
        else:
            problems.append(f"{name} is not part of the assignment: ignored")
    missing = sorted(wanted - present - renamed)
    if missing:
        problems.append(f"missing, so their parts score 0: {', '.join(missing)}")
    return problems


def collect(submissions, course=Course()):
    """Copy ``<submissions>/<student>/*.ipynb`` into the course; returns the student ids.

    A folder without notebooks is reported (ValueError), not skipped silently. Files other than
    the assignment's notebooks are not copied; what is missing, misnamed or extra is listed in
    the result's ``problems`` (a `Collected`).
    """
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise ValueError(f"submissions folder {submissions} does not exist")
    students, problems = [], {}
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
        notebooks = [folder / f"{nb}.ipynb" for nb in NOTEBOOKS if (folder / f"{nb}.ipynb").is_file()]
        if not notebooks:
            raise ValueError(f"submission {folder} holds none of the notebooks "
                             f"{', '.join(n + '.ipynb' for n in NOTEBOOKS)}: "
                             + "; ".join(_name_problems(folder)[:5]))
        found = _name_problems(folder)
        if found:
            problems[folder.name] = found
        dest = course.submitted(folder.name)
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for path in notebooks:
            shutil.copy2(path, dest / path.name)
        stamp = folder / "timestamp.txt"
        if stamp.is_file():
            shutil.copy2(stamp, dest / "timestamp.txt")
        students.append(folder.name)
    if not students:
        raise ValueError(f"submissions folder {submissions} has no student folders")
    return Collected(students, problems)


@dataclass
class GradeRun:
    """What `grade` did: seconds per student, the students whose grading failed, and the notes.

    ``notes[student]`` lists what the grader changed or noticed (unreadable files, restored
    cells, stopped cells, parts flagged for a manual grade); ``precomputed`` counts the notebooks
    graded by parallel workers and ``live`` those graded inside nbgrader's own run.
    """

    seconds: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    precomputed: int = 0
    live: int = 0


def submitted_notebooks(student, course=Course()):
    """The assignment's notebooks in a student's collected submission (paths)."""
    folder = course.submitted(student)
    return [folder / f"{nb}.ipynb" for nb in NOTEBOOKS if (folder / f"{nb}.ipynb").is_file()]


def _unreadable(student, course):
    """``{notebook file: reason}`` for the collected notebooks that cannot be read."""
    from .intake import Unreadable, read_submission

    problems = {}
    for path in submitted_notebooks(student, course):
        try:
            read_submission(path, course.limits.notebook_mb * 2 ** 20)
        except Unreadable as error:
            problems[path.name] = str(error)
    return problems


def prepare(student, course=Course()):
    """Sanitize and grade one student's notebooks outside nbgrader (a parallel worker's job).

    Returns ``{notebook key: results}`` for `autograder.grading.PRECOMPUTED`: nbgrader's own run
    then finds each notebook's results instead of running it again. Only reads the gradebook.
    """
    import nbformat

    from . import grading
    from .intake import SafeNotebookExporter

    _tools_on_path()
    cfg = config(course)
    results = {}
    for path in submitted_notebooks(student, course):
        exporter = SafeNotebookExporter(config=cfg)
        for pp in cfg.Autograde.sanitize_preprocessors:
            exporter.register_preprocessor(pp, enabled=True)
        resources = {"unique_key": path.stem, "output_files_dir": f"{path.stem}_files",
                     "nbgrader": {"student": student, "assignment": ASSIGNMENT, "notebook": path.stem,
                                  "db_url": f"sqlite:///{course.db}"}}
        output, resources = exporter.from_filename(str(path), resources=resources)
        nb = nbformat.reads(output, as_version=4)
        results[grading.notebook_key(nb, resources)] = grading.grade_notebook(
            nb, resources, course.limits, str(course.path("release")))
    return results


def _timed_prepare(student, course):
    start = time.perf_counter()
    return prepare(student, course), time.perf_counter() - start


def grade(students=None, course=Course(), workers=1):
    """Autograde the submissions of `students` (default: every collected one).

    With ``workers > 1`` that many processes run the students' code and the tests (`prepare`)
    while this process writes each finished student to the gradebook through nbgrader, one at
    a time. A student none of whose notebooks can be read is reported in ``failed``.
    """
    from . import grading, intake
    from .sandbox import SandboxUnavailable, check

    problem = check(course.limits)
    if problem:
        raise SandboxUnavailable(problem)
    with gradebook(course) as gb:
        if ASSIGNMENT not in {a.name for a in gb.assignments}:
            raise PipelineError(f"the gradebook {course.db} has no assignment {ASSIGNMENT}: build the release "
                                f"into it first (python -m autograder --work {course.path('work')} release)")
    api = nbgrader_api(course)
    if students is None:
        students = sorted(p.name for p in course.submitted().iterdir() if (p / ASSIGNMENT).is_dir())
    run = GradeRun()
    gradable = []
    for student in students:
        unreadable = _unreadable(student, course)
        if unreadable and len(unreadable) == len(submitted_notebooks(student, course)):
            run.failed[student] = "nothing to grade: " + "; ".join(f"{n}: {why}" for n, why in unreadable.items())
        else:
            gradable.append(student)
    intake.NOTES.clear()

    def autograde(student, seconds=0.0):
        start = time.perf_counter()
        before = len(grading.PRECOMPUTED)
        result = api.autograde(ASSIGNMENT, student, force=True, create=True)
        run.seconds[student] = seconds + time.perf_counter() - start
        run.precomputed += before - len(grading.PRECOMPUTED)
        if not result.get("success"):
            run.failed[student] = result.get("error", "") + result.get("log", "")

    if workers <= 1 or len(gradable) <= 1:
        for student in gradable:
            autograde(student)
    else:
        import concurrent.futures
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {pool.submit(_timed_prepare, student, course): student for student in gradable}
            for future in concurrent.futures.as_completed(futures):
                student, seconds = futures[future], 0.0
                try:
                    results, seconds = future.result()
                    grading.PRECOMPUTED.update(results)
                except Exception as error:   # graded live by nbgrader's run instead
                    intake.NOTES.setdefault((student, "*"), []).append(f"parallel worker failed: {error!r}")
                autograde(student, seconds)
    grading.PRECOMPUTED.clear()
    for (student, notebook), messages in sorted(intake.NOTES.items()):
        run.notes.setdefault(student, []).extend(f"{notebook}: {m}" for m in messages)
    run.live = sum(len(submitted_notebooks(s, course)) for s in gradable) - run.precomputed
    return run


def feedback(students=None, course=Course(), failed=None):
    """Write the feedback HTML of `students` (default: every graded one), one page per notebook
    (`autograder.report.write_feedback`); returns the folder.

    A page that cannot be made is added to `failed` (``{student: [message]}``) and the others are
    written; without `failed`, a PipelineError lists them once all others are written.
    """
    from .report import feedback_pages

    run = feedback_pages(students, course)
    if failed is not None:
        for student, messages in run.failed.items():
            failed.setdefault(student, []).extend(messages)
    elif run.failed:
        raise PipelineError("feedback failed:\n" + "\n".join(m for ms in run.failed.values() for m in ms))
    return run.folder


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
