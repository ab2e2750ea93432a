"""One feedback page per graded notebook, written within limits: `write_feedback`.

The page is made from ``autograded/<student>/ch08/<notebook>.ipynb`` by `FeedbackExporter`
(nbconvert's HTML exporter with the template ``templates/autograder_feedback``) after the
preprocessors of ``c.GenerateFeedback.preprocessors`` (`autograder.course.configure`): the
sanitizer, the hidden tests cut out, the grades from the gradebook with the parts waiting for a
hand grade marked (`PendingGrades`), the highlighting CSS. The rendering itself runs in a child
with a CPU-time and memory limit (`autograder.report.limited`); if it fails, the page is written
as plain escaped text with the reason on top (`plain_page`), and `write_feedback` raises
`FeedbackError` so the caller can note it for that student and go on with the next notebook.

MathJax is loaded from a copy of jupyter-server-mathjax's MathJax 2 next to the pages
(``feedback/_static/mathjax``, copied once), so the pages show formulas offline too.
"""
import copy
import html
import os
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import GetGrades
from traitlets import Unicode, default

from .clean import BLOCK_CLASS, sanitize_html
from .limited import FeedbackLimits, run_limited
from .notebook import IMAGES, text_of

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "autograder_feedback"
FORMGRADE_TEMPLATE = "autograder_formgrade"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
MATHJAX_FOLDER = Path("_static") / "mathjax"
"""Where the MathJax copy lives, inside the feedback folder; pages are two folders below it."""


class FeedbackError(RuntimeError):
    """A feedback page could not be written as usual; the message says which and why."""


def mathjax_source():
    """The packaged MathJax 2 (jupyter-server-mathjax's static folder)."""
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).resolve().parent / "static"


def install_mathjax(folder):
    """Copy the packaged MathJax into `folder` unless it is already there; returns the folder."""
    folder = Path(folder)
    marker = folder / ".version"
    source = mathjax_source()
    version = (source / "MathJax.js").read_bytes()[:600].decode("ascii", "replace")
    if marker.is_file() and marker.read_text(encoding="utf-8", errors="replace") == version:
        return folder
    staging = Path(tempfile.mkdtemp(prefix=".mathjax-", dir=folder.parent if folder.parent.exists() else None))
    shutil.copytree(source, staging / "copy")
    (staging / "copy" / ".version").write_text(version, encoding="utf-8")
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(staging / "copy", folder)
    shutil.rmtree(staging, ignore_errors=True)
    return folder


def _grader_meta(cell):
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def is_part(cell):
    """Is `cell` one of nbgrader's graded or answer cells (the template's ``nbgrader_part``)?"""
    meta = _grader_meta(cell)
    return bool(meta.get("solution") or meta.get("grade") or meta.get("task"))


class PendingGrades(GetGrades):
    """nbgrader's GetGrades, also marking each part that waits for a grade by hand.

    ``metadata.nbgrader.pending`` is True while the gradebook says the part needs a manual grade
    (an explanation not graded yet, or a test the grader flagged); ``flagged`` tells the second
    kind. ``resources["nbgrader"]["pending_points"]`` adds up their points.
    """

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        resources["nbgrader"]["pending_points"] = sum(
            float(c.metadata.nbgrader.get("points") or 0) for c in nb.cells
            if c.get("metadata", {}).get("nbgrader", {}).get("pending"))
        return nb, resources

    def _get_score(self, cell, resources):
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        meta = cell.metadata.nbgrader
        meta["score"], meta["points"] = grade.score, grade.max_score
        meta["pending"] = bool(grade.needs_manual_grade)
        meta["flagged"] = meta["pending"] and cell.cell_type == "code" and not meta.get("solution")


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter for feedback pages: the feedback template, `sanitize_html` as a
    template filter, and the rendering in a limited child with a plain-text fallback."""

    mathjax_folder = Unicode("", help="Folder to copy MathJax into before a page is written "
                                      "(empty: do not copy).").tag(config=True)

    @default("template_name")
    def _template_name_default(self):
        return TEMPLATE

    @default("extra_template_basedirs")
    def _extra_template_basedirs_default(self):
        return [str(TEMPLATES)]

    @default("mathjax_url")
    def _mathjax_url_default(self):
        return f"../../{MATHJAX_FOLDER.as_posix()}/MathJax.js?config={MATHJAX_CONFIG}"

    limits = FeedbackLimits()

    def default_filters(self):
        yield from super().default_filters()
        yield ("sanitize_html", sanitize_html)
        yield ("nbgrader_part", is_part)

    _warm = False

    def _compile_templates(self):
        """Render an empty notebook here once, so the templates are compiled in this process and
        every rendering child starts with them (instead of compiling them again each time)."""
        if not self._warm:
            self._warm = True
            keep, self._preprocessors = self._preprocessors, []
            empty = {"nbgrader": {"notebook": "", "score": 0, "max_score": 0, "late_penalty": 0, "pending_points": 0}}
            try:
                HTMLExporter.from_notebook_node(self, nbformat.v4.new_notebook(), empty)
            except Exception:   # only a head start: the real rendering reports its own errors
                pass
            finally:
                self._preprocessors = keep

    def from_notebook_node(self, nb, resources=None, **kw):
        nb = copy.deepcopy(nb)
        resources = self._init_resources(resources)
        nb, resources = self._preprocess(nb, resources)
        if self.mathjax_folder:
            install_mathjax(self.mathjax_folder)
        self._compile_templates()

        def render(_):
            self._preprocessors = []   # this process is a child: the notebook is preprocessed already
            return HTMLExporter.from_notebook_node(self, nb, resources, **kw)[0]

        limits = self.limits
        outcome = run_limited(render, None, cpu=limits.cpu_per_notebook, memory_mb=limits.memory_mb,
                              wall=limits.wall(limits.cpu_per_notebook))
        if outcome.ok:
            page = outcome.value
        else:
            resources.setdefault("autograder", {})["feedback_problem"] = f"rendering the page {outcome.reason}"
            page = plain_page(nb, resources, f"rendering the page {outcome.reason}")
        resources["output_extension"] = self.file_extension
        return page, resources


def _plain_outputs(cell):
    parts = []
    outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
    for output in (o for o in outputs if isinstance(o, dict)):
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(f"<pre>{html.escape(text_of(output.get('text')) or '')}</pre>")
        elif kind == "error":
            parts.append(f"<pre>{html.escape(text_of(output.get('ename')) or '')}: "
                         f"{html.escape(text_of(output.get('evalue')) or '')}</pre>")
        else:
            data = output.get("data") if isinstance(output.get("data"), dict) else {}
            image = next((m for m in IMAGES if isinstance(data.get(m), str)), None)
            if image:
                parts.append(sanitize_html(f'<img alt="output" src="data:{image};base64,{data[image]}">'))
            elif text_of(data.get("text/plain")) is not None:
                parts.append(f"<pre>{html.escape(text_of(data['text/plain']))}</pre>")
    return "".join(parts)


def _points(value):
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"


def plain_page(nb, resources, reason):
    """The page as plain escaped text: what a student gets when the usual page cannot be made."""
    info = resources.get("nbgrader", {})
    name = html.escape(str(info.get("notebook", "notebook")))
    score = (f"Score {_points(info['score'])} / {_points(info['max_score'])}"
             if isinstance(info.get("score"), (int, float)) else "Scores: see your instructor")
    body = []
    for cell in (c for c in nb.get("cells", []) if isinstance(c, dict)):
        meta = _grader_meta(cell)
        head = ""
        if is_part(cell):
            label = "not graded yet" if meta.get("pending") else f"{_points(meta.get('score'))} / {_points(meta.get('points'))}"
            head = f"<h4>{html.escape(text_of(meta.get('grade_id')) or '')}: {html.escape(label)}</h4>"
        source = text_of(cell.get("source")) or ""
        if cell.get("cell_type") == "markdown" and source.startswith(f'<div class="{BLOCK_CLASS}">'):
            shown = sanitize_html(source)
        else:
            shown = f"<pre>{html.escape(source)}</pre>"
        body.append(f'<div class="cell">{head}{shown}{_plain_outputs(cell)}</div>')
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{name}: feedback</title>'
            f"<style>body{{font-family:sans-serif;max-width:60em;margin:1em auto}}"
            f"pre{{white-space:pre-wrap;overflow-wrap:anywhere;background:#f5f5f5;padding:.5em}}"
            f".cell{{border-top:1px solid #ccc;margin:.5em 0}}</style></head><body>"
            f"<h3>{name}: {html.escape(score)}</h3>"
            f"<p><em>This page is shown as plain text: {html.escape(reason)}.</em></p>"
            + "".join(body) + "</body></html>\n")


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".html", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


_EXPORTERS = {}


def _exporter(course):
    """The feedback exporter of `course`, with its preprocessors; made once per process."""
    from ..course import config

    if course not in _EXPORTERS:
        cfg = config(course)
        exporter = FeedbackExporter(config=cfg)
        for pp in cfg.GenerateFeedback.preprocessors:
            exporter.register_preprocessor(pp(config=cfg), enabled=True)
        _EXPORTERS.clear()   # one course at a time is the usual case; no unbounded cache
        _EXPORTERS[course] = exporter
    return _EXPORTERS[course]


def write_feedback(student, notebook, course=None):
    """Write the feedback page of one graded notebook; returns its path.

    Raises `FeedbackError` when the page could not be made as usual: the graded notebook is
    missing or unreadable (no page), or the rendering failed (a plain-text page is written
    first). A Markdown cell that is too slow to render is not a failure: it is shown as text
    with a note on the usual page.
    """
    from ..course import ASSIGNMENT, Course

    course = course or Course()
    source = course.autograded(student) / f"{notebook}.ipynb"
    target = course.feedback(student) / f"{notebook}.html"
    try:
        nb = nbformat.read(str(source), as_version=4)
    except Exception as error:
        raise FeedbackError(f"{student}/{notebook}: the graded notebook {source} cannot be read "
                            f"({type(error).__name__}: {str(error)[:300]})") from None
    exporter = _exporter(course)
    resources = {"unique_key": notebook, "metadata": {"name": notebook, "path": str(source.parent)},
                 "nbgrader": {"student": student, "assignment": ASSIGNMENT, "notebook": notebook,
                              "db_url": f"sqlite:///{course.db}"}}
    try:
        page, resources = exporter.from_notebook_node(nb, resources)
    except Exception as error:   # e.g. the gradebook has no such submission: no grades to show
        reason = f"{type(error).__name__}: {str(error)[:300]}"
        _write(target, plain_page(nb, resources, f"the grades could not be read ({reason})"))
        raise FeedbackError(f"{student}/{notebook}: the feedback page could not be made ({reason}); "
                            f"a plain-text page was written instead") from None
    _write(target, page)
    problem = resources.get("autograder", {}).get("feedback_problem")
    if problem:
        raise FeedbackError(f"{student}/{notebook}: {problem}; a plain-text page was written instead")
    return target
