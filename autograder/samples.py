"""Sample submissions, generated from the solutions by code (never hand-copied notebooks).

- ``solution``: the release with every answer cell filled in from ``solutions/ch08`` (the
  solution region, without its delimiters), as a student who wrote exactly that would submit it;
- ``blank``: the release as handed out;
- the catalogue's typical mistakes (`autograder.catalogue.MISTAKES`), packed into a few
  submissions (`PACKED`): each is the solution with several mistakes of different notebooks (or
  of different parts of one notebook, when the grade cells they cost do not overlap), so that
  one graded run shows every mistake's lost points and hint;
- `STUDENTS`, the three-student set of the end-to-end run: ada (the solution), ben (blank) and
  cy, who makes two of the mistakes, deletes one notebook and one test cell, and tags two hidden
  test cells ``skip-execution``; nbgrader's defaults would have given cy points for the last two.

Points are never written here: tests and the demo read them from the gradebook.
"""
import copy
import json
from dataclasses import dataclass
from pathlib import Path

from .catalogue import MISTAKES, MISTAKES_BY_NAME, answer_text
from .course import ASSIGNMENT, NOTEBOOKS, Course


def _compatible(a, b):
    """Two mistakes can share a submission: other notebooks, or other cells and other grade cells."""
    return a.notebook != b.notebook or (a.cell != b.cell and not set(a.loses) & set(b.loses))


def pack(mistakes=MISTAKES):
    """The mistakes in as few groups as the greedy rule of `_compatible` allows, in catalogue order.

    >>> groups = pack()
    >>> sorted(n for g in groups for n in g) == sorted(m.name for m in MISTAKES)
    True
    """
    groups = []
    for mistake in mistakes:
        for group in groups:
            if all(_compatible(mistake, MISTAKES_BY_NAME[other]) for other in group):
                group.append(mistake.name)
                break
        else:
            groups.append([mistake.name])
    return tuple(tuple(g) for g in groups)


PACKED = pack()
"""The sample submissions of the catalogue: tuples of mistake names, one per submission."""


@dataclass(frozen=True)
class Student:
    """A submission of the end-to-end set: the solution or the blank release, then changes.

    `mistakes` are names of `autograder.catalogue.MISTAKES`; `deleted_notebooks` are left out of
    the submission; `deleted_cells` are grade cells removed from it; `skip_tagged` are grade cells
    tagged ``skip-execution``.
    """

    id: str
    blank: bool = False
    mistakes: tuple = ()
    deleted_notebooks: tuple = ()
    deleted_cells: tuple = ()
    skip_tagged: tuple = ()


STUDENTS = (
    Student("ada"),
    Student("ben", blank=True),
    Student("cy", mistakes=("correlation-for-convolution", "bias-summed-over-wrong-axes"),
            deleted_notebooks=("e8_03",), deleted_cells=("e8_06_i_hidden",),
            skip_tagged=("e8_09_db_fms_hidden", "e8_09_db_batch_hidden")),
)
"""The three students of the end-to-end run."""


def _load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solution_notebook(name, course=Course()):
    """The released notebook `name` with every answer cell filled in from the solution."""
    release = _load(course.path("release") / ASSIGNMENT / f"{name}.ipynb")
    source = {_grade_id(c): c for c in _load(course.path("source") / ASSIGNMENT / f"{name}.ipynb")["cells"]}
    nb = copy.deepcopy(release)
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            cell["source"] = answer_text(_source(source[meta["grade_id"]]))
    return nb


def blank_notebook(name, course=Course()):
    """The released notebook `name` as handed out."""
    return _load(course.path("release") / ASSIGNMENT / f"{name}.ipynb")


def apply_mistake(nb, mistake):
    """`nb` with `mistake`'s edits made; ValueError unless each `old` occurs exactly once in its cell."""
    nb = copy.deepcopy(nb)
    cells = [c for c in nb["cells"] if _grade_id(c) == mistake.cell]
    if len(cells) != 1:
        raise ValueError(f"mistake {mistake.name}: cell {mistake.cell} not found")
    cells[0]["source"] = mistake.apply(_source(cells[0]))
    return nb


def submission(student, course=Course()):
    """``{notebook name: notebook dict}`` of a `Student` (deleted notebooks left out)."""
    unknown = set(student.mistakes) - set(MISTAKES_BY_NAME)
    if unknown:
        raise ValueError(f"unknown mistakes {sorted(unknown)}; known: {sorted(MISTAKES_BY_NAME)}")
    notebooks = {}
    for name in NOTEBOOKS:
        if name in student.deleted_notebooks:
            continue
        nb = blank_notebook(name, course) if student.blank else solution_notebook(name, course)
        for mistake_name in student.mistakes:
            mistake = MISTAKES_BY_NAME[mistake_name]
            if mistake.notebook == name:
                nb = apply_mistake(nb, mistake)
        nb["cells"] = [c for c in nb["cells"] if _grade_id(c) not in student.deleted_cells]
        for cell in nb["cells"]:
            if _grade_id(cell) in student.skip_tagged:
                cell["metadata"].setdefault("tags", []).append("skip-execution")
        notebooks[name] = nb
    return notebooks


def sample_students():
    """The demo's sample set: the solution, the blank release and the catalogue in `PACKED` groups."""
    return ((Student("solution"), Student("blank", blank=True))
            + tuple(Student(f"mistakes-{k + 1:02d}", mistakes=group) for k, group in enumerate(PACKED)))


def write(students, folder, course=Course()):
    """Write the submissions of `students` to ``<folder>/<id>/e8_XX.ipynb``; returns `folder`."""
    folder = Path(folder)
    for student in students:
        target = folder / student.id
        target.mkdir(parents=True, exist_ok=True)
        for name, nb in submission(student, course).items():
            (target / f"{name}.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n",
                                                  encoding="utf-8")
    return folder
