"""The student edition: what a lecturer hands out, with no answer and no hidden test in it.

``python -m autograder student-edition OUT`` writes to OUT:

==========================================  ==================================================
``textbook_core-<version>+student-*.whl``   the library, in which each exercise's answer
                                            function (`autograder.course.REFERENCE_ANSWERS`)
                                            is a stub that names its exercise and raises
                                            ``NotImplementedError`` until the student plugs
                                            in their own (`textbook_core.plugged`), and
                                            ``autograder.checks`` with the visible checks only
``ch08-notebooks.zip``                      ``ch08/`` (the release, built fresh from the
                                            solutions) and ``walkthroughs/`` without the
                                            cells tagged ``answer-E8.N``, and README.md
``README.md``                               the handout: README's "For students" section
==========================================  ==================================================

The build reads everything from the course (solutions, release, `REFERENCE_ANSWERS`) and then
searches what it wrote for every answer and hidden test (`autograder.edition.leaks`); it fails
rather than write an edition with one in it. `library`, `notebooks` and `leaks` hold the steps.
"""
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..course import ASSIGNMENT, REPO, Course
from . import leaks, library, notebooks
from .library import EditionError

GRADING_ONLY = ("nbgrader", "nbformat", "nbclient", "nbconvert")
"""Requirements of the course extra that only grading needs; the student edition leaves them out."""

STUDENT_EXTRA = ("jupyterlab>=4",)
"""What a student needs beyond the library's requirements: JupyterLab, to open the notebooks."""

README_SECTION = "## For students"

__all__ = ["Edition", "EditionError", "build", "handout"]


@dataclass(frozen=True)
class Edition:
    wheel: Path
    notebooks: Path
    readme: Path


def handout(root=REPO):
    """The student handout: README.md's "For students" section, as a page of its own."""
    text = (Path(root) / "README.md").read_text(encoding="utf-8")
    if README_SECTION not in text:
        raise EditionError(f"README.md has no '{README_SECTION}' section to hand out")
    section = text.split(README_SECTION, 1)[1].split("\n## ", 1)[0].strip()
    return f"# Chapter 8, Convolution: the exercises\n\n{section}\n"


def _project(root):
    try:
        import tomllib
    except ImportError:            # Python 3.10
        from pip._vendor import tomli as tomllib
    return tomllib.loads((Path(root) / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def requirements(root=REPO):
    """The student edition's requirements: the library's and the course extra's, without grading."""
    project = _project(root)
    course = project.get("optional-dependencies", {}).get("course", [])
    keep = [r for r in project.get("dependencies", []) + course
            if not any(r.lower().startswith(name) for name in GRADING_ONLY)]
    return list(dict.fromkeys(keep + list(STUDENT_EXTRA)))


def _data_files(root):
    """The repository's setuptools ``data-files`` and ``package-data`` tables (JupyterLab's
    settings for the demo, `textbook_core.widgets.lab_settings`): {table: {key: [paths]}}."""
    try:
        import tomllib
    except ImportError:            # Python 3.10
        from pip._vendor import tomli as tomllib
    tool = tomllib.loads((Path(root) / "pyproject.toml").read_text(encoding="utf-8")).get("tool", {})
    tables = tool.get("setuptools", {})
    return {name: tables[name] for name in ("data-files", "package-data") if name in tables}


def _pyproject(root):
    project = _project(root)
    version = f"{project['version']}+student"
    lines = ["[build-system]", 'requires = ["setuptools>=61"]', 'build-backend = "setuptools.build_meta"', "",
             "[project]", f'name = "{project["name"]}"', f'version = "{version}"',
             f'description = "{project.get("description", "")} (student edition: no answers)"',
             'readme = "README.md"', f'requires-python = "{project.get("requires-python", ">=3.10")}"',
             f"dependencies = {requirements(root)!r}".replace("'", '"'), "",
             "[tool.setuptools.packages.find]", 'include = ["textbook_core*", "autograder*"]', ""]
    for name, table in _data_files(root).items():
        lines += [f"[tool.setuptools.{name}]", *(f"{key!r} = {paths!r}".replace("'", '"')
                                                for key, paths in table.items()), ""]
    return "\n".join(lines)


def _can_build_here():
    """Whether this environment's setuptools builds wheels (70.1 and later, or with ``wheel``);
    otherwise pip builds in an isolated environment of its own."""
    try:
        import setuptools
    except ImportError:
        return False
    try:
        import wheel  # noqa: F401
        return True
    except ImportError:
        return tuple(int(p) for p in setuptools.__version__.split(".")[:2] if p.isdigit()) >= (70, 1)


def _wheel(stage, out):
    """Build the wheel of `stage` into `out` with pip (setuptools from this environment)."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(stage)]
    if _can_build_here():
        command.insert(4, "--no-build-isolation")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise EditionError(f"pip could not build the student wheel:\n{done.stderr[-3000:]}")
    return max(Path(out).glob("*.whl"), key=lambda p: p.stat().st_mtime)


def build(out, course=Course(), walkthroughs=REPO / "notebooks", root=REPO):
    """Write the student edition to the folder `out`; returns its `Edition`.

    Raises `EditionError` when an answer or hidden test would be in it (nothing is left in `out`).
    """
    from .. import pipeline

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EditionError(f"{out} is a file; give the folder to write the student edition to")
    if out.resolve() in (root.resolve(), *root.resolve().parents) or \
            out.resolve().is_relative_to(course.path("source")):
        raise EditionError(f"{out} is the repository or the solutions; give a folder of its own (e.g. dist/student)")
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("textbook_core-*.whl")) + [out / notebooks.ZIP_NAME, out / "README.md"]:
        old.unlink(missing_ok=True)
    instructor = notebooks.instructor_cells(course.path("source") / ASSIGNMENT)
    with tempfile.TemporaryDirectory(prefix="student-edition-") as tmp:
        tmp = Path(tmp)
        fresh = Course(source=course.path("source"), release=tmp / "release", work=tmp / "work")
        released = pipeline.build_release(fresh)
        release_sources = [c.source for p in released for c in nbformat.read(p, as_version=4).cells
                           if c.cell_type == "code"]
        stage = tmp / "stage"
        for relative, text in library.library_files(root, instructor, release_sources).items():
            (stage / relative).parent.mkdir(parents=True, exist_ok=True)
            (stage / relative).write_text(text, encoding="utf-8")
        for table in _data_files(root).values():
            for relative in {path for paths in table.values() for path in paths}:
                if not (stage / relative).exists() and (root / relative).is_file():
                    (stage / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(root / relative, stage / relative)
        readme = handout(root)
        (stage / "README.md").write_text(readme, encoding="utf-8")
        (stage / "pyproject.toml").write_text(_pyproject(root), encoding="utf-8")
        wheel = _wheel(stage, out)
        shutil.rmtree(stage / "build", ignore_errors=True)
        zipped = notebooks.write_zip(out / notebooks.ZIP_NAME, released[0].parent, walkthroughs, readme)
        (out / "README.md").write_text(readme, encoding="utf-8")
        public = leaks.public_lines(root, release_sources)
    found = leaks.find({**leaks.archive_texts(wheel), **leaks.archive_texts(zipped)},
                       leaks.secrets_of(root, instructor), public)
    if found:
        for path in (wheel, zipped, out / "README.md"):
            path.unlink(missing_ok=True)
        raise EditionError("the student edition would hold answers or hidden tests, so it was not written:\n"
                           + "\n".join(f"  {leak}" for leak in found[:20]))
    return Edition(wheel, zipped, out / "README.md")
