"""Finishing a round: every feedback page again, then the grade CSV (`finish`).

After the instructor has graded the explanations (and the flagged parts) in formgrader, the
gradebook holds the new points, but the feedback pages and ``grades.csv`` still show the old
ones. ``python -m autograder finish`` runs `finish`: `feedback_pages` for every graded student,
one notebook at a time (a page that fails is that student's note, the others are written), then
nbgrader's CSV export.
"""
from dataclasses import dataclass, field
from pathlib import Path

from .page import FeedbackError, write_feedback


@dataclass
class FeedbackRun:
    """What `feedback_pages` wrote: the folder, the number of pages, and ``{student: [problem]}``."""

    folder: Path
    pages: int = 0
    failed: dict = field(default_factory=dict)
    csv: Path = None


def graded_students(course):
    """Students with graded notebooks in the course's ``autograded/`` folder."""
    from ..course import ASSIGNMENT

    base = course.path("work") / "autograded"
    return sorted(p.parent.name for p in base.glob(f"*/{ASSIGNMENT}") if p.is_dir()) if base.is_dir() else []


def feedback_pages(students=None, course=None):
    """Write the feedback page of every graded notebook of `students` (default: all graded).

    Also writes the work folder's ``nbgrader_config.py`` (`autograder.course.write_config`), so
    that formgrader started there shows this course.
    """
    from ..course import Course, write_config

    course = course or Course()
    write_config(course)
    run = FeedbackRun(course.path("work") / "feedback")
    for student in graded_students(course) if students is None else students:
        for path in sorted(course.autograded(student).glob("*.ipynb")):
            try:
                write_feedback(student, path.stem, course)
                run.pages += 1
            except FeedbackError as error:
                run.failed.setdefault(student, []).append(str(error))
            except Exception as error:   # any other failure stays with this notebook
                run.failed.setdefault(student, []).append(
                    f"{student}/{path.stem}: the feedback page failed ({type(error).__name__}: {str(error)[:300]})")
    return run


def finish(course=None, csv=None):
    """Regenerate every feedback page from the gradebook, then export the CSV; a `FeedbackRun`.

    Raises ValueError when nothing has been graded yet.
    """
    from ..course import Course
    from ..pipeline import export

    course = course or Course()
    if not graded_students(course):
        raise ValueError(f"nothing is graded in {course.path('work')} yet: run "
                         f"`python -m autograder grade INBOX` first")
    run = feedback_pages(None, course)
    run.csv = export(Path(csv) if csv else course.path("work") / "grades.csv", course)
    return run
