"""What the attack corpus is made of: the `Attack` record and the edits that make attacked notebooks.

Every attack is a small documented edit of a solution notebook (`append` code to an answer cell,
`replace` a line, change `metadata`, `delete` a cell, `add_cell` a cell of the student's own), or
of the submission around it: bytes that are not JSON (``raw``), a misnamed file, extra files,
files in the inbox that are links or pipes (``links``), a student's own ``timestamp.txt``
(``stamp``). `autograder.attacks` grades them and judges the outcome; the attacks themselves are
in `autograder.attack_corpus` (cheats, hand-offs, harm, what real submissions do) and
`autograder.attack_hostile` (submissions aimed at the grader, the inbox, the instructor's
browser and the machine's resources).
"""
import copy
import json
from dataclasses import dataclass
from typing import Callable, Optional

from . import samples
from .course import Course

ALL = ("*",)
MARKER = "attack-was-here.txt"
"""A file the harm attacks try to create next to any gradebook or solution they find."""
SCRIPT_MARKER = "AUTOGRADER_PWNED"
"""What the browser attacks' scripts set (``window.AUTOGRADER_PWNED = 1``): found live in a page,
the page runs student script."""
LINK_TARGETS = ("proc-mem", "solution", "other-student", "fifo", "folder")
"""What an inbox link of an attack points to: ``/proc/self/mem``, the instructor's solution of
the notebook, the honest student's notebook, a named pipe (not a link: a FIFO), or the whole
student folder linked to the honest student's."""


@dataclass(frozen=True)
class Attack:
    """One attacked submission and what it must get.

    ``targets``: grade cells that must score 0 (or be flagged when ``manual``); every other
    grade cell of ``notebook`` and of the ``honest`` notebooks next to it must score what the
    solution scores. ``expect_note``: a phrase that must appear in the grader's notes.
    ``verify(course, student)`` returns further problems (empty when the attack was handled),
    checked on what grading left behind. ``feedback``: the test writes this student's feedback
    pages and looks for live script in them and in the graded notebook.
    """

    name: str
    kind: str
    notebook: str
    why: str
    targets: tuple = ()
    edit: Optional[Callable] = None
    raw: Optional[Callable] = None
    filename: Optional[str] = None
    honest: tuple = ()
    extra_files: tuple = ()
    manual: bool = False
    expect_note: Optional[str] = None
    links: tuple = ()
    stamp: Optional[str] = None
    verify: Optional[Callable] = None
    feedback: bool = False

    def files(self, course=Course()):
        """``{file name: bytes}`` of the attacked submission (links are made by `autograder.attacks.write`)."""
        nb = samples.solution_notebook(self.notebook, course)
        if self.edit is not None:
            nb = self.edit(copy.deepcopy(nb))
        data = _dumps(nb)
        if self.raw is not None:
            data = self.raw(data)
        files = {} if any(name == (self.filename or f"{self.notebook}.ipynb") for name, _ in self.links) else \
            {self.filename or f"{self.notebook}.ipynb": data}
        for name in self.honest:
            files[f"{name}.ipynb"] = _dumps(samples.solution_notebook(name, course))
        for name, content in self.extra_files:
            files[name] = content if isinstance(content, bytes) else _dumps(
                samples.solution_notebook(content, course))
        if self.stamp is not None:
            files["timestamp.txt"] = self.stamp.encode()
        return files

    @property
    def graded_notebooks(self):
        """The notebooks whose grade cells the report looks at."""
        return (self.notebook,) + tuple(self.honest)


def _dumps(nb):
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Edits
# ---------------------------------------------------------------------------------------------

def _cells(nb, grade_id):
    found = [c for c in nb["cells"] if samples._grade_id(c) == grade_id]
    if len(found) != 1:
        raise ValueError(f"cell {grade_id} not found once")
    return found[0]


def append(grade_id, code):
    """Add `code` at the end of a cell."""
    def edit(nb):
        cell = _cells(nb, grade_id)
        cell["source"] = samples._source(cell).rstrip("\n") + "\n" + code.strip("\n")
        return nb
    return edit


def replace(grade_id, old, new):
    """Replace `old` (once) by `new` in a cell."""
    def edit(nb):
        cell = _cells(nb, grade_id)
        source = samples._source(cell)
        if source.count(old) != 1:
            raise ValueError(f"{old!r} must occur once in {grade_id}")
        cell["source"] = source.replace(old, new)
        return nb
    return edit


def set_source(grade_id, source):
    def edit(nb):
        _cells(nb, grade_id)["source"] = source
        return nb
    return edit


def metadata(cell_id, **changes):
    """Change the nbgrader metadata of the cell whose grade id is `cell_id`."""
    def edit(nb):
        _cells(nb, cell_id)["metadata"]["nbgrader"].update(changes)
        return nb
    return edit


def tag(grade_id, name):
    def edit(nb):
        _cells(nb, grade_id)["metadata"].setdefault("tags", []).append(name)
        return nb
    return edit


def delete(grade_id):
    def edit(nb):
        cell = _cells(nb, grade_id)
        nb["cells"] = [c for c in nb["cells"] if c is not cell]
        return nb
    return edit


def duplicate(grade_id):
    def edit(nb):
        cell = _cells(nb, grade_id)
        index = nb["cells"].index(cell)
        twin = copy.deepcopy(cell)
        twin["id"] = twin.get("id", "x") + "-copy"
        nb["cells"].insert(index, twin)
        return nb
    return edit


def kernelspec(name, language):
    def edit(nb):
        nb["metadata"]["kernelspec"] = {"name": name, "display_name": name, "language": language}
        nb["metadata"]["language_info"] = {"name": language}
        return nb
    return edit


def both(*edits):
    def edit(nb):
        for e in edits:
            nb = e(nb)
        return nb
    return edit



def add_cell(after, source, cell_type="code"):
    """Insert a cell of the student's own (no nbgrader metadata) after the cell `after`."""
    def edit(nb):
        cell = _cells(nb, after)
        new = {"cell_type": cell_type, "metadata": {}, "source": source.strip("\n")}
        if cell_type == "code":
            new.update(outputs=[], execution_count=None)
        nb["cells"].insert(nb["cells"].index(cell) + 1, new)
        return nb
    return edit


def notebook_metadata(**changes):
    """Add entries to the notebook's own metadata."""
    def edit(nb):
        nb["metadata"].update(changes)
        return nb
    return edit


def replace_first(nb, grade_id, old, new):
    """Replace `old` by `new` in the first cell carrying `grade_id` (a duplicated cell)."""
    cell = next(c for c in nb["cells"] if samples._grade_id(c) == grade_id)
    cell["source"] = samples._source(cell).replace(old, new)
    return nb


def _retype(nb, grade_id, cell_type):
    cell = _cells(nb, grade_id)
    cell["cell_type"] = cell_type
    cell.pop("outputs", None)
    cell.pop("execution_count", None)
    return nb


def _huge(nb):
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "x" * (3 * 2 ** 20)})
    return nb


# The student code the attacks share

WRONG_Z = "Z = np.zeros((8, 8))   # the wrong answer the cheat should get full marks for"

FIND_COURSE = '''
import pathlib
def _course_files(*relative):
    """Every instructor file named `relative` above the working folder or the libraries."""
    starts = [pathlib.Path.cwd()] + [pathlib.Path(m.__file__).resolve().parent for m in (tc, checks)]
    found = []
    for start in starts:
        for folder in [start, *start.parents]:
            for rel in relative:
                if (folder / rel).is_file() and folder / rel not in found:
                    found.append(folder / rel)
    return found
'''
