"""The grading bundle: everything a stateless grading job needs, as one versioned JSON value.

nbgrader's own autograde reads the instructor's cells from the gradebook (``OverwriteCells``,
``OverwriteKernelspec``, ``SaveAutoGrades``). A job that runs on another machine, in a Dask worker
or in Gradescope's container, has no gradebook, so `build` reads the same facts from the
instructor notebooks with nbgrader's own steps of ``generate_assignment`` (the ones before
``SaveCells``) and keeps what ``SaveCells`` would store:

- per notebook: the source cells (grade id, type, locked, source, checksum) in notebook order,
  the grade cells (points, type), the solution and task cells and the kernelspec;
- the release notebooks, which the sandbox shows the student's code and `Canonicalize` restores
  cells from;
- the grading `Limits`;
- ``versions``: the package (its version and a digest of its code) and the release (a digest of
  everything above), so a result names exactly what graded it.

`Book` answers the gradebook questions of ``OverwriteCells`` from a bundle, so nbgrader's own
code does the sanitizing in a job. `release_folder` writes the bundle's release into a private
temporary folder (once per process and bundle).
"""
import atexit
import copy
import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import nbformat

from .course import ASSIGNMENT, COURSE_ID, NOTEBOOKS, Course, Limits, REPO, config

FORMAT = "autograder-bundle/1"
CODE = ("autograder", "textbook_core")


def package_version():
    """``"textbook-core <version>+<digest of its .py files>"``: a code change shows in every result."""
    from importlib import metadata

    try:
        version = metadata.version("textbook-core")
    except metadata.PackageNotFoundError:
        version = "unknown"
    digest = hashlib.sha256()
    for package in CODE:
        for path in sorted((REPO / package).rglob("*.py")):
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return f"textbook-core {version}+{digest.hexdigest()[:12]}"


def digest(value):
    """sha256 of a JSON value written canonically (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _source_steps():
    """nbgrader's ``generate_assignment`` steps before ``SaveCells`` (what the gradebook sees)."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.preprocessors import SaveCells

    steps = list(GenerateAssignment.class_traits()["preprocessors"].default())
    return steps[:steps.index(SaveCells)]


def _cells(nb):
    """What ``SaveCells`` records of a notebook (in notebook order)."""
    from nbgrader import utils

    source, grade, solution, task = [], {}, [], {}
    for cell in nb.cells:
        if "nbgrader" not in cell.metadata:
            continue
        meta = cell.metadata.nbgrader
        name = meta.get("grade_id")
        if utils.is_grade(cell):
            grade[name] = {"max_score": float(meta["points"]), "cell_type": cell.cell_type}
        if utils.is_solution(cell):
            solution.append(name)
        if utils.is_task(cell):
            task[name] = {"max_score": float(meta["points"]), "cell_type": cell.cell_type}
        if utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell) or utils.is_task(cell):
            source.append({"name": name, "cell_type": cell.cell_type, "locked": utils.is_locked(cell),
                           "source": cell.source, "checksum": meta.get("checksum")})
    return {"source_cells": source, "grade_cells": grade, "solution_cells": solution, "task_cells": task,
            "kernelspec": nb.metadata.get("kernelspec", {})}


def build(course=Course()):
    """The bundle of `course`: its instructor notebooks read as nbgrader reads them, its release."""
    cfg = config(course)
    steps = _source_steps()
    notebooks = {}
    for name in NOTEBOOKS:
        source = course.path("source") / ASSIGNMENT / f"{name}.ipynb"
        release = course.path("release") / ASSIGNMENT / f"{name}.ipynb"
        for path in (source, release):
            if not path.is_file():
                raise ValueError(f"{path} is missing: the bundle needs the instructor notebooks and the release "
                                 f"(python -m autograder release)")
        nb = nbformat.read(str(source), as_version=4)
        resources = {"unique_key": name, "nbgrader": {"notebook": name, "assignment": ASSIGNMENT,
                                                      "student": ".", "db_url": ""}}
        for step in steps:
            nb, resources = step(config=cfg).preprocess(nb, resources)
        entry = _cells(nb)
        entry["release"] = json.loads(release.read_text(encoding="utf-8"))
        notebooks[name] = entry
    bundle = {"format": FORMAT, "assignment": ASSIGNMENT, "course_id": COURSE_ID, "notebooks": notebooks,
              "limits": asdict(course.limits)}
    bundle["versions"] = {"package": package_version(), "release": digest(bundle)}
    return bundle


def write(bundle, path):
    """Write `bundle` as JSON to `path`; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bundle, sort_keys=True), encoding="utf-8")
    return path


def read(path):
    """A bundle from its JSON file; ValueError when it is not one or was altered."""
    bundle = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise ValueError(f"{path} is not a grading bundle ({FORMAT})")
    body = {k: v for k, v in bundle.items() if k != "versions"}
    if digest(body) != bundle.get("versions", {}).get("release"):
        raise ValueError(f"{path}: the bundle's content does not match its release digest (edited by hand?)")
    return bundle


def limits(bundle):
    """The bundle's `Limits` (fields it does not know keep their defaults)."""
    known = set(asdict(Limits()))
    return Limits(**{k: v for k, v in bundle.get("limits", {}).items() if k in known})


_RELEASES = {}


def release_folder(bundle):
    """A private folder with ``<assignment>/<notebook>.ipynb`` of the bundle's release (cached)."""
    key = bundle["versions"]["release"]
    if key not in _RELEASES or not Path(_RELEASES[key]).is_dir():
        folder = Path(tempfile.mkdtemp(prefix="autograder-release-"))
        atexit.register(shutil.rmtree, folder, True)
        (folder / bundle["assignment"]).mkdir()
        for name, entry in bundle["notebooks"].items():
            path = folder / bundle["assignment"] / f"{name}.ipynb"
            path.write_text(json.dumps(entry["release"]), encoding="utf-8")
            path.chmod(0o644)
        for part in (folder, folder / bundle["assignment"]):
            part.chmod(0o755)
        _RELEASES[key] = str(folder)
    return _RELEASES[key]


def grading_cells(bundle, notebook):
    """``(sources, tests)`` as `autograder.grading.gradebook_cells` reads them from a gradebook."""
    entry = bundle["notebooks"][notebook]
    sources = {c["name"]: (c["cell_type"], c["source"], bool(c["locked"])) for c in entry["source_cells"]}
    solutions = set(entry["solution_cells"])
    tests = {name for name, g in entry["grade_cells"].items() if g["cell_type"] == "code" and name not in solutions}
    return sources, tests


class Book:
    """The gradebook questions nbgrader's sanitizing asks, answered from a bundle (read-only).

    Stands in for ``nbgrader.api.Gradebook`` in ``OverwriteCells`` and ``OverwriteKernelspec``:
    ``find_notebook``, ``find_source_cell`` and ``find_graded_cell`` return objects with the same
    attributes, and raise nbgrader's ``MissingEntry`` for names the assignment does not have.
    """

    def __init__(self, bundle):
        self.bundle = bundle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def _entry(self, notebook, assignment):
        from nbgrader.api import MissingEntry

        if assignment != self.bundle["assignment"] or notebook not in self.bundle["notebooks"]:
            raise MissingEntry()
        return self.bundle["notebooks"][notebook]

    def find_notebook(self, notebook, assignment):
        entry = self._entry(notebook, assignment)
        grade = [SimpleNamespace(name=n, **g) for n, g in entry["grade_cells"].items()]
        task = [SimpleNamespace(name=n, **t) for n, t in entry["task_cells"].items()]
        return SimpleNamespace(name=notebook, kernelspec=json.dumps(entry["kernelspec"]),
                               source_cells=[SimpleNamespace(**c) for c in entry["source_cells"]],
                               grade_cells=grade, task_cells=task,
                               solution_cells=[SimpleNamespace(name=n) for n in entry["solution_cells"]])

    def find_source_cell(self, name, notebook, assignment):
        from nbgrader.api import MissingEntry

        for cell in self._entry(notebook, assignment)["source_cells"]:
            if cell["name"] == name:
                return SimpleNamespace(**copy.deepcopy(cell))
        raise MissingEntry()

    def find_graded_cell(self, name, notebook, assignment):
        from nbgrader.api import MissingEntry

        entry = self._entry(notebook, assignment)
        found = entry["grade_cells"].get(name) or entry["task_cells"].get(name)
        if found is None:
            raise MissingEntry()
        return SimpleNamespace(name=name, **found)
