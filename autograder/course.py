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

- cell timeout: every cell may use `CELL_TIMEOUT` seconds of CPU time (`Limits`; by the clock,
  only a generous backstop stops it, `autograder.timing`), then it is stopped and grading goes on
  with the next cell (one endless loop costs one part, not the notebook);
- ``skip_cells_with_tag``: nbclient skips cells tagged ``skip-execution``, so a student who tags a
  hidden-test cell would pass it untested; the tag is replaced by a secret drawn per run;
- tracebacks: the kernel runs with ``xmode=Minimal``, so a failed hidden test shows its message
  (written by `autograder.checks`, never the expected values) and not the test's source lines;
- output limits: at most `MAX_OUTPUT_LINES` lines per output and `MAX_TRACEBACK_LINES` per traceback;
- deleted cells: grade cells a student deleted are added back and run (``add_missing_cells``);
- feedback (`autograder.report`): the graded notebook is made inert before it is written
  (`SanitizeGraded` after ``SaveAutoGrades``: formgrader shows that file) and again before its
  page is; hidden tests are cut out (`autograder.execute.HideHiddenTests`); the page says "not
  graded yet" for parts waiting for a hand grade, wraps long lines and is rendered within CPU and
  memory limits (`autograder.report.FeedbackExporter`);
- formgrader and feedback pages load MathJax locally (jupyter-server-mathjax), never from a CDN;
  the exchange folder is ``course/exchange`` (created, so formgrader does not warn about it);
- execution: the kernel run is `autograder.execute.Executor`, whose runner is
  `autograder.grading.run_notebook`: student code in the bubblewrap sandbox with `Limits`, test
  cells run by the grader on plain data (the timeout, skip tag and output limits above then
  matter only to the unsandboxed runner, `autograder.execute.run_notebook`);
- reading and sanitizing: any submitted file is read safely (`autograder.intake`), put back in
  the release's shape, and test cells the grader cannot decide are flagged for a manual grade.
"""
import secrets
from dataclasses import asdict, dataclass, field
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
"""CPU seconds one cell may use while grading (the slowest hidden test needs about 1 s)."""

MAX_OUTPUT_LINES = 200
MAX_TRACEBACK_LINES = 30

REFERENCE_ANSWERS = {
    "textbook_core/gradient.py": ("max_pool_da", "product_dlz", "product_db"),
    "textbook_core/hierarchy.py": ("max_positions",),
    "textbook_core/oracle.py": ("max_pool_da", "product_dlz", "product_db"),
    "autograder/checks.py": ("same_padding_reference",),
}
"""Library functions that are the answer of an exercise (E8.7 ii, E8.8, E8.9): in the sandbox
their bodies are replaced by a tripwire (`autograder.sandbox`), so no student code can run them.
``hierarchy.max_positions`` finds where each window's maximum is (E8.8's half), for
``max_pool(..., return_indices=True)``; plain ``max_pool`` does not use it.
``textbook_core.output_size`` (E8.7 i) stays, since the library's own operations call it; handing
``conv_output_size`` to it is caught by the hidden test's ``forbidden=`` (`autograder.grading`)."""


@dataclass(frozen=True)
class Limits:
    """What one submitted notebook may use while it is graded (`autograder.sandbox`).

    Times are CPU seconds of the student's code (and as many seconds of waiting without
    computing; `autograder.timing`), so that a busy grading machine costs no points: a student
    cell may use `cell_timeout`, one call of a student function on a probe `call_timeout`, all
    calls of one test cell together `cell_timeout`, and the notebook's cells `notebook_timeout`
    in all; starting the sandbox may take `startup_timeout`. Each of these limits has a
    wall-clock backstop `wall_factor` times as long, which stops only a process starved of CPU
    by a machine far too busy to grade. A probe or a cell that runs out of time is retried `retries` times (a cell only when
    the wall clock ran out): a CPU timeout then counts, a wall-clock one flags the part for a
    manual grade instead of scoring it 0 (`autograder.grading`). The grader's own check of
    one test cell gets `cell_timeout` CPU seconds of its own and `check_memory_mb` more
    address space than the grader.

    The student's process has `memory_mb` of address space, `cpu_seconds` of CPU in all (the
    kernel's hard limit, behind the ones above), files up to `file_mb` and `disk_mb` of writable
    space (in memory, gone afterwards), at most `max_restarts` restarts; replies to the grader
    are at most `reply_mb`. Sizes are MiB. Notebooks over `notebook_mb` are not opened.

    Each sandbox also gets a cgroup (`autograder.cgroups`) where the machine allows one:
    `memory_mb` then counts everything it holds in memory (memfd, in-memory files, page cache),
    its threads share `cpu_cores` of CPU, and it may run at most `max_pids` processes and
    threads. Without cgroups the grader warns and goes on, unless `require_cgroups`. Everything
    the student's process sends while one notebook is graded counts against `output_mb`, past
    which its cells' outputs are dropped (values are still read, so that its answers are graded).
    """

    cell_timeout: float = CELL_TIMEOUT
    call_timeout: float = 10.0
    notebook_timeout: float = 600.0
    startup_timeout: float = 60.0
    wall_factor: float = 10.0
    retries: int = 1
    memory_mb: int = 1024
    check_memory_mb: int = 2048
    cpu_seconds: int = 900
    disk_mb: int = 64
    file_mb: int = 16
    reply_mb: int = 16
    max_restarts: int = 10
    notebook_mb: int = 20
    output_mb: int = 16
    cpu_cores: float = 1.0
    max_pids: int = 64
    require_cgroups: bool = False

    def __post_init__(self):
        if not self.wall_factor >= 1:
            raise ValueError(f"wall_factor={self.wall_factor!r} must be at least 1: the wall-clock backstop "
                             f"cannot be shorter than the CPU limit")
        if not (isinstance(self.retries, int) and self.retries >= 0):
            raise ValueError(f"retries={self.retries!r} must be a whole number >= 0")


@dataclass(frozen=True)
class Course:
    """Where the course's directories are; relative paths are taken from `REPO`.

    Parameters
    ----------
    source, release : str or Path
        Parent directories of ``ch08/`` with the instructor and the student notebooks.
    work : str or Path
        Holds ``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db``.
    limits : Limits
        Time, memory and output limits of a submission while it is graded.
    """

    source: Path = Path("solutions")
    release: Path = Path("notebooks")
    work: Path = Path("course")
    limits: Limits = field(default_factory=Limits)

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

    from .execute import Executor, HideHiddenTests
    from .intake import SafeNotebookExporter
    from .report import FeedbackExporter, PendingGrades, SanitizeGraded
    from .report.page import FORMGRADE_TEMPLATE, MATHJAX_FOLDER, TEMPLATE, TEMPLATES
    from nbgrader.server_extensions.formgrader.handlers import template_path as nbgrader_templates

    c.CourseDirectory.root = str(REPO)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = str(course.path("source"))
    c.CourseDirectory.release_directory = str(course.path("release"))
    work = course.path("work")
    c.CourseDirectory.submitted_directory = str(work / "submitted")
    c.CourseDirectory.autograded_directory = str(work / "autograded")
    c.CourseDirectory.feedback_directory = str(work / "feedback")
    c.CourseDirectory.db_url = f"sqlite:///{course.db}"

    # Reading and sanitizing any submitted file; the notebook run: one class, sandboxed.
    release = str(course.path("release"))
    c.Autograde.exporter_class = SafeNotebookExporter
    c.SafeNotebookExporter.release_directory = release
    c.SafeNotebookExporter.max_bytes = int(course.limits.notebook_mb * 2 ** 20)
    c.Canonicalize.release_directory = release
    c.Autograde.sanitize_preprocessors = _sanitize_preprocessors()
    c.Autograde.autograde_preprocessors = _with_executor(Executor)
    c.Executor.limits = asdict(course.limits)
    c.Executor.release_directory = release
    c.Execute.timeout = CELL_TIMEOUT
    c.Execute.interrupt_on_timeout = True
    c.Execute.skip_cells_with_tag = "skip-" + secrets.token_hex(16)
    c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:",
                                 "--InteractiveShell.xmode=Minimal", "--IPKernelApp.log_level=ERROR"]
    c.LimitOutput.max_lines = MAX_OUTPUT_LINES
    c.LimitOutput.max_traceback = MAX_TRACEBACK_LINES
    c.OverwriteCells.add_missing_cells = True

    # Feedback pages and formgrader: inert, within limits, MathJax served locally (autograder.report).
    c.SanitizeGraded.release_directory = release
    c.GenerateFeedback.exporter_class = FeedbackExporter
    c.GenerateFeedback.preprocessors = [SanitizeGraded, HideHiddenTests, PendingGrades, CSSHTMLHeaderPreprocessor]
    c.CSSHTMLHeaderPreprocessor.style = "default"   # a page on its own has no JupyterLab theme colours
    c.FeedbackExporter.template_name = TEMPLATE
    c.FeedbackExporter.extra_template_basedirs = [str(TEMPLATES)]
    c.FeedbackExporter.extra_template_paths = []
    c.FeedbackExporter.mathjax_folder = str(work / "feedback" / MATHJAX_FOLDER)
    # Formgrader's submission page (its HTMLExporter): nbgrader's template, MathJax from this server.
    c.HTMLExporter.template_name = FORMGRADE_TEMPLATE
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), nbgrader_templates]
    c.HTMLExporter.extra_template_paths = [nbgrader_templates, str(Path(nbgrader_templates) / "formgrade")]
    c.Exchange.root = str(work / "exchange")
    try:   # nbgrader's exchange must exist, or formgrader warns on every page
        (work / "exchange").mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
    return c


def _with_executor(executor):
    """nbgrader's autograde preprocessors, with its Execute replaced by `executor`, the manual
    flags of `autograder.intake.FlagForManualGrading` saved after the grades, and the graded
    notebook made inert (`autograder.report.SanitizeGraded`) before nbgrader writes it."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute, SaveAutoGrades

    from .intake import FlagForManualGrading
    from .report import SanitizeGraded

    result = []
    for pp in Autograde.class_traits()["autograde_preprocessors"].default():
        result.append(executor if pp is Execute else pp)
        if pp is SaveAutoGrades:
            result += [FlagForManualGrading, SanitizeGraded]
    return result


def _sanitize_preprocessors():
    """nbgrader's sanitizing steps, after `autograder.intake.Canonicalize`."""
    from nbgrader.converters import Autograde

    from .intake import Canonicalize

    return [Canonicalize] + list(Autograde.class_traits()["sanitize_preprocessors"].default())


def write_config(course=Course()):
    """Write ``nbgrader_config.py`` into the work folder of `course`; returns the folder.

    nbgrader, and formgrader inside ``jupyter lab``, read their settings from the folder they are
    started in, so ``cd <work> && jupyter lab`` then grades this course. There
    ``CourseDirectory.root`` is the work folder itself, which is also the Jupyter server's root,
    so formgrader's links to notebooks resolve. The committed ``course/`` has its own file.
    """
    work = course.path("work")
    if work == (REPO / "course").resolve():
        return work
    work.mkdir(parents=True, exist_ok=True)
    fields = ", ".join(f"{name}=Path({str(course.path(name))!r})" for name in ("source", "release", "work"))
    (work / "nbgrader_config.py").write_text(
        '"""nbgrader settings of this course folder, written by autograder.course.write_config."""\n'
        "from pathlib import Path\n\n"
        "from autograder.course import Course, Limits, configure\n\n"
        f"c = configure(get_config(), Course({fields}, limits=Limits(**{asdict(course.limits)!r})))  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(work)!r}\n", encoding="utf-8")
    return work


def config(course=Course()):
    """A fresh traitlets `Config` for `course` (a new secret skip tag each time)."""
    return configure(Config(), course)
