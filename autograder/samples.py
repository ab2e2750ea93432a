"""Sample submissions, generated from the solutions by code (never hand-copied notebooks).

- ``solution``: the release with every answer cell filled in from ``solutions/ch08`` (the
  solution region, without its delimiters), as a student who wrote exactly that would submit it;
- ``blank``: the release as handed out;
- one submission per `Mistake`: the solution with one small, documented edit of one answer cell.
  Each mistake lists the grade cells that must lose points because of it, and no other cell may;
- `STUDENTS`, the three-student set of the end-to-end run: ada (the solution), ben (blank) and
  cy, who makes two of the mistakes, deletes one notebook and one test cell, and tags two hidden
  test cells ``skip-execution``; nbgrader's defaults would have given cy points for the last two.

Points are never written here: tests and the demo read them from the gradebook.
"""
import copy
import json
from dataclasses import dataclass
from pathlib import Path

from .course import ASSIGNMENT, NOTEBOOKS, Course

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class Mistake:
    """A typical mistake: replace `old` by `new` in answer cell `cell` of `notebook`.

    `loses` are the grade cells (grade_id) that must score less than their maximum; every other
    cell of the submission must score as in the solution.
    """

    name: str
    notebook: str
    cell: str
    old: str
    new: str
    why: str
    loses: tuple


MISTAKES = (
    Mistake("correlation-for-convolution", "e8_06", "e8_06_i_answer",
            "Z_conv = correlate_by_hand(K[::-1, ::-1], P)", "Z_conv = correlate_by_hand(K, P)",
            "E8.6 (i) correlates with K instead of convolving: the kernel is not rotated by 180 degrees.",
            ("e8_06_i_hidden",)),
    Mistake("padding-off-by-one", "e8_01", "e8_01_i_answer",
            "Ppad = np.pad(P, 1)", "Ppad = np.pad(P, 0)",
            "E8.1 (i) pads with P^d = 0 instead of 1, so Z is 6x6 instead of 8x8.",
            ("e8_01_i_visible", "e8_01_i_hidden")),
    Mistake("stride-ignored", "e8_07", "e8_07_i_answer",
            "return (R + 2 * padding - r) // stride + 1", "return R + 2 * padding - r + 1",
            "E8.7 (i) leaves the stride out of Eq. 8.18: the size function and S_i are both wrong.",
            ("e8_07_i_hidden", "e8_07_i_function_hidden")),
    Mistake("avg-pool-gradient-for-max-pool", "e8_08", "e8_08_fn_answer",
            "route = first_max_mask(window)", "route = np.full(window.shape, 1 / (r * c))",
            "E8.8 spreads each window's gradient evenly over the window (P8.3's average-pooling "
            "path) instead of sending it to the window's maximum.",
            ("e8_08_fn_visible", "e8_08_basic_hidden", "e8_08_remainder_hidden",
             "e8_08_overlap_hidden", "e8_08_batch_hidden", "e8_08_ties_hidden")),
    Mistake("bias-summed-over-wrong-axes", "e8_09", "e8_09_fns_answer",
            "g = g.sum(axis=(-2, -1))", "g = g.sum()",
            "E8.9 product_db sums over every axis, the feature-map axis too, so all maps get one "
            "common bias gradient; right for one map only.",
            ("e8_09_fns_visible", "e8_09_db_fms_hidden", "e8_09_db_batch_hidden")),
)
"""The typical mistakes, one sample submission each."""

MISTAKES_BY_NAME = {m.name: m for m in MISTAKES}


@dataclass(frozen=True)
class Student:
    """A submission of the end-to-end set: the solution or the blank release, then changes.

    `mistakes` are names of `MISTAKES`; `deleted_notebooks` are left out of the submission;
    `deleted_cells` are grade cells removed from it; `skip_tagged` are grade cells tagged
    ``skip-execution``.
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


def _answer_text(source):
    """The solution cell as a student who wrote the solution would have it: delimiters dropped."""
    if BEGIN not in source or END not in source:
        raise ValueError(f"answer cell has no {BEGIN} ... {END} region:\n{source[:200]}")
    return "\n".join(line for line in source.split("\n") if line.strip() not in (BEGIN, END))


def solution_notebook(name, course=Course()):
    """The released notebook `name` with every answer cell filled in from the solution."""
    release = _load(course.path("release") / ASSIGNMENT / f"{name}.ipynb")
    source = {_grade_id(c): c for c in _load(course.path("source") / ASSIGNMENT / f"{name}.ipynb")["cells"]}
    nb = copy.deepcopy(release)
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            cell["source"] = _answer_text(_source(source[meta["grade_id"]]))
    return nb


def blank_notebook(name, course=Course()):
    """The released notebook `name` as handed out."""
    return _load(course.path("release") / ASSIGNMENT / f"{name}.ipynb")


def apply_mistake(nb, mistake):
    """`nb` with `mistake`'s edit made; ValueError unless `old` occurs exactly once in its cell."""
    nb = copy.deepcopy(nb)
    cells = [c for c in nb["cells"] if _grade_id(c) == mistake.cell]
    if len(cells) != 1:
        raise ValueError(f"mistake {mistake.name}: cell {mistake.cell} not found")
    source = _source(cells[0])
    if source.count(mistake.old) != 1:
        raise ValueError(f"mistake {mistake.name}: {mistake.old!r} must occur once in {mistake.cell}, "
                         f"found {source.count(mistake.old)} times")
    cells[0]["source"] = source.replace(mistake.old, mistake.new)
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
    """The demo's sample set: the solution, the blank release and one submission per mistake."""
    return ((Student("solution"), Student("blank", blank=True))
            + tuple(Student(f"mistake-{m.name}", mistakes=(m.name,)) for m in MISTAKES))


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
