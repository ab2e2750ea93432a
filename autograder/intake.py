"""What a submitted notebook file becomes before it is graded: read safely, put back in shape.

Real submissions are not always what was handed out. This module takes any file and gives
nbgrader a notebook with the release's structure, saying what it changed:

- `read_submission`: size limit before reading, UTF-8 (a BOM or UTF-16 is accepted; other bytes
  are replaced and noted), JSON read with bounds (integers of at most `MAX_DIGITS` digits;
  metadata at most `MAX_METADATA_DEPTH` deep and `MAX_METADATA_ITEMS` entries: what breaks a
  bound is dropped with a note), a notebook (nbformat 3 is converted), sane cells;
- `SafeNotebookExporter`: nbgrader's reader replaced by `read_submission`; a file that cannot
  be read becomes the blank release with a note at the top, so it scores 0 with the reason in its
  feedback, and the student's other notebooks are graded as usual;
- `Canonicalize`: the first sanitizing step. Every cell that carries a grade id of the release
  gets the release's metadata and type back (answer cells keep the student's source, every
  other cell of the release gets the release's source); duplicates keep the last copy, as
  nbgrader does, the earlier ones become the student's own cells; unknown ids are dropped;
  deleted setup cells come back; the kernelspec and notebook metadata are the release's. Deleted
  test cells are put back by nbgrader (``OverwriteCells.add_missing_cells``). Each change is a
  line of the grader's log and of a note at the top of the graded notebook;
- `FlagForManualGrading`: after nbgrader has saved the grades, marks the test cells that the
  grader could not decide (`autograder.grading`) as needing a manual grade.

`NOTES` collects the notes of this process, per (student, notebook), for ``python -m autograder``.
"""
import copy
import html
import json
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbconvert.exporters.exporter import ResourcesDict
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

NOTES = {}
"""``{(student, notebook): [note, ...]}``: what intake and grading changed or noticed."""

MAX_CELLS = 2000
MAX_SOURCE_CHARS = 4_000_000
MAX_DIGITS = 100
MAX_METADATA_DEPTH = 16
MAX_METADATA_ITEMS = 10_000
NOTE_MARK = "autograder-note"


class _TooLong:
    """A number with more than `MAX_DIGITS` digits, kept out of the notebook (it is dropped)."""

    def __init__(self, digits):
        self.digits = digits


def _number(text):
    digits = len(text.lstrip("-").split(".")[0].split("e")[0].split("E")[0])
    return _TooLong(len(text)) if digits > MAX_DIGITS else None


def _loads(text):
    """`json.loads` with integers and floats of more than `MAX_DIGITS` digits left as `_TooLong`."""
    return json.loads(text, parse_int=lambda t: _number(t) or int(t), parse_float=lambda t: _number(t) or float(t))


def bounded_metadata(value, where, notes):
    """`value` (a metadata dict) without what breaks the bounds; each drop is a line in `notes`.

    >>> notes = []
    >>> bounded_metadata({"a": 1, "b": _TooLong(5000), "c": [[[[1]]]]}, "the notebook's metadata", notes)
    {'a': 1, 'c': [[[[1]]]]}
    >>> notes
    ["a number of 5000 digits in the notebook's metadata was dropped"]
    """
    left = [MAX_METADATA_ITEMS]
    dropped = {}

    def walk(v, depth):
        left[0] -= 1
        if isinstance(v, _TooLong):
            dropped.setdefault(f"a number of {v.digits} digits", None)
            return _DROP
        if left[0] < 0:
            dropped.setdefault(f"more than {MAX_METADATA_ITEMS} entries", None)
            return _DROP
        if depth > MAX_METADATA_DEPTH and isinstance(v, (dict, list)):
            dropped.setdefault(f"values nested more than {MAX_METADATA_DEPTH} deep", None)
            return _DROP
        if isinstance(v, dict):
            kept = {str(k): walk(x, depth + 1) for k, x in v.items()}
            return {k: x for k, x in kept.items() if x is not _DROP}
        if isinstance(v, list):
            return [x for x in (walk(x, depth + 1) for x in v) if x is not _DROP]
        return v

    result = walk(value, 0) if isinstance(value, dict) else {}
    notes.extend(f"{what} in {where} was dropped" for what in dropped)
    return result if isinstance(result, dict) else {}


_DROP = object()


def note(resources, message, log=None):
    """Record `message` for this notebook (resources of nbgrader) and log it."""
    info = resources.get("nbgrader", {})
    key = (info.get("student", "?"), info.get("notebook", "?"))
    NOTES.setdefault(key, [])
    if message not in NOTES[key]:
        NOTES[key].append(message)
    resources.setdefault("autograder", {}).setdefault("notes", [])
    if message not in resources["autograder"]["notes"]:
        resources["autograder"]["notes"].append(message)
    if log is not None:
        log.warning("%s/%s: %s", key[0], key[1], message)


def _size(n):
    return f"{n / 2 ** 30:.1f} GB" if n >= 2 ** 30 else f"{n / 2 ** 20:.1f} MB" if n >= 2 ** 20 else f"{n} bytes"


class Unreadable(ValueError):
    """A file that cannot be graded; the message says why, for the student and the instructor."""


def decode_text(raw):
    """`raw` bytes as text; returns ``(text, note or None)``.

    >>> decode_text("é".encode("latin-1") + b"x")
    ('\\ufffdx', 'the file is not UTF-8: 1 byte could not be read and was replaced by \\ufffd')
    """
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(codec), f"the file is {codec.upper().replace('-SIG', '')} with a byte-order mark; read as such"
            except UnicodeDecodeError:
                break
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        bad = text.count("\ufffd") - raw.decode("utf-8", errors="ignore").count("\ufffd")
        many = "bytes" if bad != 1 else "byte"
        verb = "were" if bad != 1 else "was"
        return text, f"the file is not UTF-8: {bad} {many} could not be read and {verb} replaced by \ufffd"


def _text(source):
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return None


def read_submission(path, max_bytes):
    """The notebook in `path` as a clean nbformat 4 node; returns ``(nb, notes)``.

    Raises `Unreadable` for a file over `max_bytes`, empty, not JSON, not a notebook or too big
    inside (cells, source). Cells of an unknown type are dropped and sources that are not text
    emptied, with a note each; outputs are dropped (they are never graded).
    """
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise Unreadable(f"the file is {_size(size)}, over the limit of {_size(max_bytes)}: clear its outputs "
                         f"(Kernel > Restart & Clear Output) and submit it again")
    raw = path.read_bytes()
    if not raw.strip():
        raise Unreadable("the file is empty")
    text, notes = decode_text(raw)
    notes = [notes] if notes else []
    try:
        data = _loads(text)
    except json.JSONDecodeError as error:
        raise Unreadable(f"the file is not valid JSON ({error.msg} at line {error.lineno} column {error.colno}); "
                         f"was it saved by Jupyter?") from None
    except RecursionError:
        raise Unreadable("the file is not valid JSON (nested too deeply)") from None
    except (ValueError, MemoryError) as error:
        raise Unreadable(f"the file cannot be read as JSON ({type(error).__name__}: {str(error)[:200]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells", data.get("worksheets")), list):
        raise Unreadable("the file is JSON but not a Jupyter notebook (it has no list of cells)")
    if "worksheets" in data and "cells" not in data:
        try:
            data = nbformat.convert(nbformat.from_dict(data), 4)
        except Exception as error:
            raise Unreadable(f"the file is an old (nbformat 3) notebook that cannot be converted: {error}") from None
    cells, dropped, chars = [], 0, 0
    if len(data["cells"]) > MAX_CELLS:
        raise Unreadable(f"the notebook has {len(data['cells'])} cells, over the limit of {MAX_CELLS}")
    for cell in data["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            dropped += 1
            continue
        source = _text(cell.get("source", ""))
        if source is None:
            notes.append("a cell whose source is not text was emptied")
            source = ""
        chars += len(source)
        metadata = bounded_metadata(cell.get("metadata"), f"the metadata of cell {len(cells) + 1}", notes)
        clean = {"cell_type": cell["cell_type"], "metadata": metadata, "source": source}
        if cell["cell_type"] == "code":
            clean.update(outputs=[], execution_count=None)
        cells.append(clean)
    if chars > MAX_SOURCE_CHARS:
        raise Unreadable(f"the notebook's cells hold {chars} characters, over the limit of {MAX_SOURCE_CHARS}")
    if dropped:
        notes.append(f"{dropped} cell(s) of no known type were dropped")
    metadata = bounded_metadata(data.get("metadata"), "the notebook's metadata", notes)
    nb = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells})
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"
    return nb, notes


def placeholder(release_nb, reason):
    """The blank release with a note at the top: what an unreadable submission is graded as."""
    nb = copy.deepcopy(release_nb)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        f"**This notebook could not be graded:** {html.escape(reason, quote=False)}.\n\nEvery part of it scores 0. "
        f"Your submitted file is kept unchanged; ask your instructor.",
        metadata={NOTE_MARK: True}, id="autograder-unreadable"))
    return nb


def release_notebook(release_directory, assignment, notebook):
    """The released notebook (a node), or None if there is none."""
    path = Path(release_directory) / assignment / f"{notebook}.ipynb"
    if not path.is_file():
        return None
    return nbformat.read(str(path), as_version=4)


class SafeNotebookExporter(NotebookExporter):
    """nbgrader's notebook reader, made safe for any submitted file (see `read_submission`)."""

    release_directory = Unicode("", help="Parent folder of the release (<assignment>/<notebook>.ipynb).").tag(config=True)
    max_bytes = Integer(20 * 2 ** 20, help="Largest notebook file that is read.").tag(config=True)

    def from_filename(self, filename, resources=None, **kw):
        if resources is None:
            resources = ResourcesDict()
        if "metadata" not in resources or resources["metadata"] == "":
            resources["metadata"] = ResourcesDict()
        path = Path(filename)
        resources["metadata"]["name"] = path.stem
        resources["metadata"]["path"] = str(path.parent)
        try:
            nb, notes = read_submission(path, self.max_bytes)
        except Unreadable as error:
            info = resources.get("nbgrader", {})
            template = release_notebook(self.release_directory, info.get("assignment", ""), path.stem)
            if template is None:
                raise
            note(resources, f"{path.name} could not be graded: {error}; every part of it scores 0", self.log)
            nb, notes = placeholder(template, str(error)), []
        for text in notes:
            note(resources, f"{path.name}: {text}", self.log)
        return self.from_notebook_node(nb, resources, **kw)


def _grade_id(cell):
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        return meta["grade_id"]
    return None


def _plain(cell, index):
    cell = copy.deepcopy(cell)
    cell["metadata"] = {}
    cell["id"] = f"student-{index}"
    return cell


class Canonicalize(NbGraderPreprocessor):
    """Give a submitted notebook the release's structure back (see the module docstring)."""

    release_directory = Unicode("", help="Parent folder of the release (<assignment>/<notebook>.ipynb).").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        template = release_notebook(self.release_directory, info["assignment"], info["notebook"])
        if template is None:
            return nb, resources
        nb.cells = [c for c in nb.cells if not c.get("metadata", {}).get(NOTE_MARK)
                    or c.get("id") == "autograder-unreadable"]
        released = {_grade_id(c): c for c in template.cells if _grade_id(c)}
        last = {}
        for index, cell in enumerate(nb.cells):
            if _grade_id(cell) in released:
                last[_grade_id(cell)] = index
        cells = []
        for index, cell in enumerate(nb.cells):
            grade_id = _grade_id(cell)
            if grade_id is None:
                if "nbgrader" in cell.get("metadata", {}):
                    note(resources, "a cell's nbgrader metadata was not valid: kept as your own cell", self.log)
                cells.append(_plain(cell, index) if cell.get("id") != "autograder-unreadable" else cell)
            elif grade_id not in released:
                note(resources, f"cell id {grade_id!r} is not a cell of this notebook (renamed?): kept as "
                                f"your own cell", self.log)
                cells.append(_plain(cell, index))
            elif last[grade_id] != index:
                note(resources, f"cell {grade_id} appears more than once: the last copy counts, the "
                                f"earlier one is kept as your own cell", self.log)
                cells.append(_plain(cell, index))
            else:
                cells.append(self._restore(cell, released[grade_id], resources))
        cells = self._put_back_setup(cells, template, resources)
        if nb.metadata.get("kernelspec") != template.metadata.get("kernelspec"):
            note(resources, f"the kernel was changed to {nb.metadata.get('kernelspec', {}).get('name')!r}: "
                            f"graded with the release's Python kernel", self.log)
        nb.metadata = copy.deepcopy(template.metadata)
        nb.nbformat, nb.nbformat_minor = template.nbformat, template.nbformat_minor
        notes = resources.get("autograder", {}).get("notes", [])
        if notes:
            text = "**Grader notes** (what the grader changed or noticed in this file):\n\n" + \
                   "\n".join(f"- {html.escape(n, quote=False)}" for n in notes)   # notes quote student text
            cells.insert(0, nbformat.v4.new_markdown_cell(text, metadata={NOTE_MARK: True}, id="autograder-notes"))
        nb.cells = cells
        return nb, resources

    def _restore(self, cell, released, resources):
        grade_id = _grade_id(released)
        meta = released["metadata"]["nbgrader"]
        restored = copy.deepcopy(released)
        if meta.get("solution"):
            restored["source"] = cell.get("source", "")
            if cell.get("cell_type") != released["cell_type"]:
                note(resources, f"answer cell {grade_id} was turned into a {cell.get('cell_type')} cell: "
                                f"graded as a {released['cell_type']} cell", self.log)
        else:
            if cell.get("source", "") != released["source"] or cell.get("cell_type") != released["cell_type"]:
                note(resources, f"cell {grade_id} is locked and was edited: the release's version is graded",
                     self.log)
        if cell.get("metadata", {}).get("nbgrader") != meta:
            note(resources, f"the nbgrader metadata of cell {grade_id} was changed: the release's is used",
                 self.log)
        if restored["cell_type"] == "code":
            restored["outputs"], restored["execution_count"] = [], None
        return restored

    def _put_back_setup(self, cells, template, resources):
        """Locked cells of the release that are not grade cells (setup) and were deleted."""
        present = {_grade_id(c) for c in cells if c.get("metadata", {}).get("nbgrader")}
        order = [_grade_id(c) for c in template.cells]
        for position, released in enumerate(template.cells):
            meta = released.get("metadata", {}).get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if not grade_id or grade_id in present or meta.get("grade") or meta.get("solution"):
                continue
            before = [g for g in order[:position] if g in present]
            at = 0
            if before:
                at = next(i for i, c in enumerate(cells) if _grade_id(c) == before[-1] and
                          c.get("metadata", {}).get("nbgrader")) + 1
            cells.insert(at, copy.deepcopy(released))
            present.add(grade_id)
            note(resources, f"locked cell {grade_id} was deleted: put back", self.log)
        return cells


class FlagForManualGrading(NbGraderPreprocessor):
    """Mark the test cells that `autograder.grading` could not decide as needing a manual grade."""

    def preprocess(self, nb, resources):
        flags = resources.get("autograder", {}).get("manual", {})
        if not flags:
            return nb, resources
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            for grade_id, reason in flags.items():
                grade = gb.find_grade(grade_id, info["notebook"], info["assignment"], info["student"])
                grade.needs_manual_grade = True
                self.log.warning("%s/%s: %s needs a manual grade: %s", info["student"], info["notebook"],
                                 grade_id, reason)
            gb.db.commit()
        return nb, resources
