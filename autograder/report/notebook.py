"""A graded notebook made inert: `sanitize_notebook`, the step before any graded notebook is
written or shown.

Formgrader shows ``autograded/<student>/ch08/*.ipynb`` inside the instructor's logged-in Jupyter
session, and the feedback pages are made from the same files, so both are cleaned here once:

- outputs keep only what a page can show without running anything: text, LaTeX, images (PNG,
  JPEG, GIF as base64; SVG only as an ``<img>``, where it cannot run script), HTML through
  `autograder.report.clean.sanitize_html`, Markdown rendered and cleaned the same way;
  JavaScript, widget views, unknown and malformed types are dropped and named in the text;
- Markdown cells are rendered (in a limited child, `autograder.report.limited`) and rewritten as
  their cleaned HTML, one line that Markdown renders unchanged and fast, so formgrader's own
  renderer never sees the student's Markdown; a cell whose rendering runs over its CPU time or
  memory is shown as escaped text with a note instead; cells identical to the release's are the
  instructor's and stay as they are;
- raw cells are cleaned as HTML; cell ids, tags, nbgrader metadata and the notebook's metadata
  are reduced to the fields and value kinds that nbgrader and nbconvert read (no widget state).

`SanitizeGraded` is the same step as an nbgrader preprocessor (after ``SaveAutoGrades`` in the
autograde chain, and first in the feedback chain).
"""
import base64
import binascii
import math
import re

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from ..intake import _text as text_of   # a notebook's text field (str or list of str) as one str, or None
from .clean import markdown_block, plain_block, sanitize_html
from .limited import FeedbackLimits, map_limited

IMAGES = ("image/png", "image/jpeg", "image/gif")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_GRADE_ID = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_TAG = re.compile(r"[\w.-]{1,64}")
_ATTACHMENT = re.compile(r"[\w .%()+-]{1,100}")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_NBGRADER = {"grade": "flag", "solution": "flag", "locked": "flag", "task": "flag", "schema_version": "count",
             "points": "number", "grade_id": "text", "checksum": "text", "cell_type": "text"}
_FLAGS = ("deletable", "editable", "collapsed", "autograder-note")
_NB_META = {"kernelspec": ("name", "display_name", "language"),
            "language_info": ("name", "version", "mimetype", "file_extension", "pygments_lexer",
                              "nbconvert_exporter")}


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _kind_ok(kind, value):
    return {"flag": type(value) is bool,
            "count": isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 100,
            "number": _number(value) and abs(value) < 1e6,
            "text": isinstance(value, str) and len(value) <= 200}[kind]


def _image(value):
    """Base64 image data, or None if it is not base64."""
    text = text_of(value)
    if text is None or len(text) > 64 * 2 ** 20 or not _BASE64.fullmatch(text):
        return None
    try:
        base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return text


class _Pending:
    """Markdown waiting to be rendered: where each result goes once the child returns it."""

    def __init__(self):
        self.items, self.targets = [], []

    def add(self, source, attachments, target):
        self.items.append((source, attachments))
        self.targets.append(target)


def _bundle(data, metadata):
    """``(data, metadata, dropped types, Markdown to render)`` of a display output: only what is inert."""
    clean, meta, dropped, markdown = {}, {}, [], None
    for mime, value in (data.items() if isinstance(data, dict) else ()):
        text = text_of(value)
        if mime in ("text/plain", "text/latex") and text is not None:
            clean[mime] = text
        elif mime == "text/html" and text is not None:
            clean[mime] = sanitize_html(text)
        elif mime == "text/markdown" and text is not None:
            markdown = text
        elif mime in IMAGES and _image(value) is not None:
            clean[mime] = _image(value)
            sizes = metadata.get(mime, {}) if isinstance(metadata, dict) else {}
            sizes = sizes if isinstance(sizes, dict) else {}
            kept = {k: sizes[k] for k in ("width", "height") if _number(sizes.get(k)) and sizes[k] > 0}
            if kept:
                meta[mime] = kept
        elif mime == "image/svg+xml" and text is not None and "text/html" not in clean:
            encoded = base64.b64encode(text.encode("utf-8", "replace")).decode("ascii")
            clean["text/html"] = f'<img alt="SVG image" src="data:image/svg+xml;base64,{encoded}">'
        else:
            dropped.append(str(mime)[:80])
    if markdown is not None and "text/html" not in clean:
        clean.setdefault("text/plain", markdown)
    else:
        markdown = None
    if dropped and "text/plain" not in clean:
        clean["text/plain"] = f"[output not shown: {', '.join(dropped)} is not shown by the grader]"
    return clean, meta, dropped, markdown


def _output(output, pending, dropped):
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=text_of(output.get("text")) or "")
    if kind == "error":
        trace = output.get("traceback")
        trace = [line for line in trace if isinstance(line, str)] if isinstance(trace, list) else []
        ename = output.get("ename") if isinstance(output.get("ename"), str) else ""
        return nbformat.v4.new_output("error", ename=ename[:200],
                                      evalue=text_of(output.get("evalue")) or "", traceback=trace)
    if kind in ("display_data", "execute_result"):
        data, meta, lost, markdown = _bundle(output.get("data"), output.get("metadata"))
        dropped.extend(lost)
        count = output.get("execution_count")
        extra = {"execution_count": count if isinstance(count, int) and not isinstance(count, bool) else None} \
            if kind == "execute_result" else {}
        clean = nbformat.v4.new_output(kind, data=data, metadata=meta, **extra)
        if markdown is not None:   # rendered with the Markdown cells; its HTML is added then
            pending.add(markdown, {}, clean.data)
        return clean
    dropped.append(f"output type {str(kind)[:40]}")
    return nbformat.v4.new_output("stream", name="stdout", text="[an output of unknown type was removed]\n")


def _cell_metadata(meta):
    meta = meta if isinstance(meta, dict) else {}
    clean = {k: meta[k] for k in _FLAGS if isinstance(meta.get(k), bool)}
    tags = meta.get("tags")
    if isinstance(tags, list):
        kept = [t for t in tags if isinstance(t, str) and _TAG.fullmatch(t)]
        if kept:
            clean["tags"] = kept
    grader = meta.get("nbgrader")
    if isinstance(grader, dict) and isinstance(grader.get("grade_id"), str) and _GRADE_ID.fullmatch(grader["grade_id"]):
        clean["nbgrader"] = {k: v for k, v in grader.items() if k in _NBGRADER and _kind_ok(_NBGRADER[k], v)}
    raw = meta.get("raw_mimetype")
    if isinstance(raw, str) and re.fullmatch(r"[\w.+-]{1,40}/[\w.+-]{1,80}", raw):
        clean["raw_mimetype"] = raw
    return clean


def _notebook_metadata(meta):
    meta = meta if isinstance(meta, dict) else {}
    clean = {}
    for key, fields in _NB_META.items():
        if isinstance(meta.get(key), dict):
            kept = {f: meta[key][f] for f in fields if isinstance(meta[key].get(f), str) and len(meta[key][f]) < 200}
            if kept:
                clean[key] = kept
    return clean


def _attachments(value):
    """A Markdown cell's attachments, images only."""
    kept = {}
    for name, bundle in (value.items() if isinstance(value, dict) else ()):
        if isinstance(name, str) and _ATTACHMENT.fullmatch(name) and isinstance(bundle, dict):
            images = {m: _image(v) for m, v in bundle.items() if m in IMAGES and _image(v) is not None}
            if images:
                kept[name] = images
    return kept


def sanitize_notebook(nb, release=None, notes=None, limits=FeedbackLimits()):
    """Make the graded notebook `nb` inert in place (see the module docstring); returns `nb`.

    `release` is the released notebook (a node or dict) whose Markdown is the instructor's
    and stays as it is; without it every Markdown cell is rewritten. What was changed that a
    person should know about is appended to `notes` (a list), one line each.
    """
    notes = [] if notes is None else notes
    trusted = {text_of(c.get("source")) for c in (release or {}).get("cells", []) if c.get("cell_type") == "markdown"}
    nb.metadata = nbformat.from_dict(_notebook_metadata(nb.get("metadata")))
    pending, dropped, cells, seen = _Pending(), [], [], set()
    given = nb.get("cells") if isinstance(nb.get("cells"), list) else []
    for index, cell in enumerate(c for c in given if isinstance(c, dict)):
        kind = cell.get("cell_type") if cell.get("cell_type") in ("code", "markdown", "raw") else "raw"
        source = text_of(cell.get("source")) or ""
        cell_id = cell.get("id") if isinstance(cell.get("id"), str) and _ID.fullmatch(cell["id"]) else f"cell-{index}"
        cell_id = cell_id if cell_id not in seen else f"cell-{index}-{len(seen)}"
        seen.add(cell_id)
        clean = nbformat.from_dict({"cell_type": kind, "id": cell_id, "source": source,
                                    "metadata": _cell_metadata(cell.get("metadata"))})
        if kind == "code":
            given = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
            outputs = [_output(o, pending, dropped) for o in given]
            clean.outputs = [o for o in outputs if o is not None]
            count = cell.get("execution_count")
            clean.execution_count = count if isinstance(count, int) and not isinstance(count, bool) else None
        elif kind == "markdown":
            attachments = _attachments(cell.get("attachments"))
            if source in trusted:
                if attachments:
                    clean.attachments = attachments
            elif source:
                pending.add(source, attachments, clean)
        else:
            clean.source = sanitize_html(source)
        cells.append(clean)
    nb.cells = cells
    nb.nbformat, nb.nbformat_minor = 4, 5
    _render(pending, limits, notes)
    if dropped:
        notes.append(f"{len(dropped)} output(s) that could run code or are not displayable were removed "
                     f"({', '.join(sorted(set(dropped))[:5])})")
    return nb


def _render(pending, limits, notes):
    outcomes = map_limited(markdown_block, pending.items, cpu_per_item=limits.cpu_per_cell,
                           cpu_total=limits.cpu_per_notebook, memory_mb=limits.memory_mb,
                           wall_per_item=limits.wall(limits.cpu_per_cell))
    for (source, _), target, outcome in zip(pending.items, pending.targets, outcomes):
        is_cell = "cell_type" in target
        if outcome.ok:
            block = outcome.value
        else:
            block = plain_block(source, f"The grader shows this as plain text: rendering it as Markdown "
                                        f"{outcome.reason}.")
            notes.append(f"{'a Markdown cell' if is_cell else 'a Markdown output'} is shown as plain text: "
                         f"rendering it {outcome.reason}")
        if is_cell:
            target.source = block
        else:   # an output's bundle: the rendered Markdown is its HTML (no need to be one line)
            target["text/html"] = sanitize_html(block)


class SanitizeGraded(NbGraderPreprocessor):
    """`sanitize_notebook` as an nbgrader preprocessor; what it changed is noted for the student."""

    release_directory = Unicode("", help="Parent folder of the release (<assignment>/<notebook>.ipynb).").tag(config=True)

    def preprocess(self, nb, resources):
        from ..intake import note, release_notebook

        info = resources.get("nbgrader", {})
        release = None
        if self.release_directory and info.get("assignment") and info.get("notebook"):
            release = release_notebook(self.release_directory, info["assignment"], info["notebook"])
        notes = []
        sanitize_notebook(nb, release, notes)
        for text in notes:
            note(resources, text, self.log)
        return nb, resources
