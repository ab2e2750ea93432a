"""Finishing a round: every feedback page again, then the grade CSV (`finish`).

After the instructor has graded the explanations (and the flagged parts) in formgrader, the
gradebook holds the new points, but the feedback pages and ``grades.csv`` still show the old
ones. ``python -m autograder finish`` runs `finish`: the pipeline's feedback step for every
graded student (`autograder.pipeline.feedback`, one `write_feedback` per notebook; a page that
fails is that student's note, the others are written), then nbgrader's CSV export.
"""
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Finished:
    """What `finish` wrote: the feedback folder, the number of pages, ``{student: [problem]}``, the CSV."""

    folder: Path
    pages: int = 0
    failed: dict = field(default_factory=dict)
    csv: Path = None


def graded_notebooks(course):
    """``{student: [notebook, ...]}`` of the graded notebooks in the course's ``autograded/``."""
    from ..course import ASSIGNMENT, NOTEBOOKS

    base = course.path("work") / "autograded"
    found = {}
    for folder in sorted(base.glob(f"*/{ASSIGNMENT}")) if base.is_dir() else []:
        notebooks = [p.stem for p in sorted(folder.glob("e8_*.ipynb")) if p.stem in NOTEBOOKS]
        if notebooks:
            found[folder.parent.name] = notebooks
    return found


def finish(course=None, csv=None):
    """Write every feedback page again from the gradebook, then export the CSV; a `Finished`.

    Raises ValueError when nothing has been graded yet.
    """
    from ..course import Course
    from ..pipeline import export, feedback

    course = course or Course()
    graded = graded_notebooks(course)
    if not graded:
        raise ValueError(f"nothing is graded in {course.path('work')} yet: run "
                         f"`python -m autograder grade INBOX` first")
    done = Finished(course.path("work") / "feedback")
    done.folder = feedback(sorted(graded), course, failed=done.failed)
    done.pages = sum(map(len, graded.values())) - sum(map(len, done.failed.values()))
    done.csv = export(Path(csv) if csv else course.path("work") / "grades.csv", course)
    return done
