"""The nbgrader course of Chapter 8: where everything lives, and nbgrader's settings made safe.

One function, `configure`, holds every nbgrader setting of the course; ``course/nbgrader_config.py``
calls it, so the ``nbgrader`` command run in ``course/`` and ``python -m autograder`` behave the
same. `Course` says where the directories are: by default the repository layout

=====================  =========================================================
``solutions/ch08/``    instructor notebooks, with solutions and hidden tests (nbgrader's source)
``notebooks/ch08/``    the student release, generated, committed
``course/submitted/``  collected submissions, ``<student>/ch08/e8_XX.ipynb``
``course/autograded/`` the executed, graded copies
``course/feedback/``   one HTML page per notebook and student
``course/gradebook.db`` the SQLite gradebook
=====================  =========================================================

and any of the generated ones can be moved elsewhere (tests use a temporary directory).

nbgrader's defaults that are weak for a class, and what `configure` sets instead:

- cell timeout: every cell may run `CELL_TIMEOUT` seconds, then the kernel is interrupted and
  grading goes on with the next cell (one endless loop costs one part, not the notebook);
- ``skip_cells_with_tag``: nbclient skips cells tagged ``skip-execution``, so a student who tags a
  hidden-test cell would pass it untested; the tag is replaced by a secret drawn per run;
- tracebacks: the kernel runs with ``xmode=Minimal``, so a failed hidden test shows its message
  (written by `autograder.checks`, never the expected values) and not the test's source lines;
- output limits: at most `MAX_OUTPUT_LINES` lines per output and `MAX_TRACEBACK_LINES` per traceback;
- deleted cells: grade cells a student deleted are added back and run (``add_missing_cells``);
- feedback: hidden tests are cut from the feedback HTML (`autograder.execute.HideHiddenTests`);
- execution: the kernel run is `autograder.execute.Executor`, one class that a sandbox replaces.
"""
import secrets
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

REPO = Path(__file__).resolve().parents[1]
"""The repository root, nbgrader's ``CourseDirectory.root``."""

ASSIGNMENT = "ch08"
COURSE_ID = "textbook-ch08"
NOTEBOOKS = tuple(f"e8_{k:02d}" for k in range(1, 11))
"""The notebooks of the assignment, one per exercise E8.1-E8.10."""

HIDDEN_NOTE = 'print("The hidden tests of this cell run when your notebook is graded.")'
"""The line a hidden-test cell shows in the release, where its tests are cut out."""

CELL_TIMEOUT = 60
"""Seconds one cell may run while grading (the slowest hidden test needs about 1 s)."""

MAX_OUTPUT_LINES = 200
MAX_TRACEBACK_LINES = 30


@dataclass(frozen=True)
class Course:
    """Where the course's directories are; relative paths are taken from `REPO`.

    Parameters
    ----------
    source, release : str or Path
        Parent directories of ``ch08/`` with the instructor and the student notebooks.
    work : str or Path
        Holds ``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db``.
    """

    source: Path = Path("solutions")
    release: Path = Path("notebooks")
    work: Path = Path("course")

    def path(self, which):
        """Absolute path of "source", "release" or "work"."""
        return (REPO / getattr(self, which)).resolve()

    @property
    def db(self):
        return self.path("work") / "gradebook.db"

    def submitted(self, student=None):
        base = self.path("work") / "submitted"
        return base if student is None else base / student / ASSIGNMENT

    def autograded(self, student):
        return self.path("work") / "autograded" / student / ASSIGNMENT

    def feedback(self, student):
        return self.path("work") / "feedback" / student / ASSIGNMENT


def configure(c, course=Course()):
    """Write the course's nbgrader settings into the traitlets config `c`; returns `c`."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from .execute import Executor, HideHiddenTests

    c.CourseDirectory.root = str(REPO)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = str(course.path("source"))
    c.CourseDirectory.release_directory = str(course.path("release"))
    work = course.path("work")
    c.CourseDirectory.submitted_directory = str(work / "submitted")
    c.CourseDirectory.autograded_directory = str(work / "autograded")
    c.CourseDirectory.feedback_directory = str(work / "feedback")
    c.CourseDirectory.db_url = f"sqlite:///{course.db}"

    # The notebook run: one class, replaceable by a sandboxed one.
    c.Autograde.autograde_preprocessors = _with_executor(Executor)
    c.Execute.timeout = CELL_TIMEOUT
    c.Execute.interrupt_on_timeout = True
    c.Execute.skip_cells_with_tag = "skip-" + secrets.token_hex(16)
    c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:",
                                 "--InteractiveShell.xmode=Minimal", "--IPKernelApp.log_level=ERROR"]
    c.LimitOutput.max_lines = MAX_OUTPUT_LINES
    c.LimitOutput.max_traceback = MAX_TRACEBACK_LINES
    c.OverwriteCells.add_missing_cells = True

    c.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
    return c


def _with_executor(executor):
    """nbgrader's autograde preprocessors, with its Execute replaced by `executor`."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    return [executor if pp is Execute else pp for pp in Autograde.class_traits()["autograde_preprocessors"].default()]


def config(course=Course()):
    """A fresh traitlets `Config` for `course` (a new secret skip tag each time)."""
    return configure(Config(), course)
