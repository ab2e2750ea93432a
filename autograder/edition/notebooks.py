"""The student edition's notebooks: the release and the walkthroughs, in one zip.

A walkthrough cell that shows an exercise's answer carries the tag ``answer-E8.N`` (one per
exercise it gives away). The student edition leaves such cells out: each run of them becomes one
Markdown cell that keeps their headings and says which exercises the instructor's edition shows
there. Outputs are cleared; the released exercise notebooks go in unchanged (their nbgrader
metadata is what grading needs).
"""
import io
import re
import zipfile
from pathlib import Path

import nbformat

ANSWER_TAG = re.compile(r"^answer-(E8\.\d+)$")
"""The tag of a walkthrough cell that shows the answer of exercise E8.N."""

EXERCISES_FOLDER = "ch08"
WALKTHROUGHS_FOLDER = "walkthroughs"
ZIP_NAME = "ch08-notebooks.zip"
_EPOCH = (1980, 1, 1, 0, 0, 0)     # fixed zip timestamps: the same sources give the same zip


def instructor_cells(folder):
    """Notebook name -> list of (kind, text) for the instructor notebooks in `folder`.

    kind is "solution" (the text between ``### BEGIN SOLUTION`` and ``### END SOLUTION``),
    "hidden" (between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``) or "other" (a
    cell's whole source).
    """
    result = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        cells = []
        for cell in nbformat.read(path, as_version=4).cells:
            regions = [("solution", m) for m in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION",
                                                           cell.source, re.DOTALL)]
            regions += [("hidden", m) for m in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS",
                                                          cell.source, re.DOTALL)]
            cells += regions or [("other", cell.source)]
        result[path.name] = cells
    return result


def answer_exercises(cell):
    """The exercises whose answer `cell` shows, from its ``answer-E8.N`` tags."""
    tags = cell.get("metadata", {}).get("tags", [])
    return sorted({m.group(1) for m in map(ANSWER_TAG.match, tags) if m}, key=lambda e: int(e.split(".")[1]))


def _note(dropped, index):
    """One Markdown cell in place of the `dropped` cells."""
    headings = [line for cell in dropped if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("#")]
    exercises = sorted({e for cell in dropped for e in answer_exercises(cell)}, key=lambda e: int(e.split(".")[1]))
    named = " and ".join([", ".join(exercises[:-1]), exercises[-1]] if len(exercises) > 1 else exercises)
    what = "A cell of the instructor's edition is" if len(dropped) == 1 else \
        f"{len(dropped)} cells of the instructor's edition are"
    shows = "it shows" if len(dropped) == 1 else "they show"
    answer = "the answer" if len(exercises) == 1 else "the answers"
    text = "\n\n".join(headings + [f"> **Student edition.** {what} left out here: {shows} {answer} of {named}."])
    note = nbformat.v4.new_markdown_cell(text)
    note.id = f"student-edition-note-{index}"
    return note


def student_walkthrough(book):
    """A copy of the walkthrough `book` without its answer cells and outputs."""
    book = nbformat.from_dict(book)
    cells, dropped, notes = [], [], 0
    for cell in book.cells + [None]:
        if cell is not None and answer_exercises(cell):
            dropped.append(cell)
            continue
        if dropped:
            cells.append(_note(dropped, notes))
            dropped, notes = [], notes + 1
        if cell is not None:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            cells.append(cell)
    book.cells = cells
    return book


def _clean(book):
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return book


def write_zip(path, release, walkthroughs, readme):
    """The zip at `path`: README.md, ``ch08/`` (the notebooks in `release`) and ``walkthroughs/``
    (the notebooks in `walkthroughs`, as `student_walkthrough` makes them). Returns `path`."""
    entries = {"README.md": readme}
    for notebook in sorted(Path(release).glob("*.ipynb")):
        entries[f"{EXERCISES_FOLDER}/{notebook.name}"] = nbformat.writes(_clean(nbformat.read(notebook, as_version=4)))
    for notebook in sorted(Path(walkthroughs).glob("[0-9]*_*.ipynb")):
        book = student_walkthrough(nbformat.read(notebook, as_version=4))
        nbformat.validate(book)
        entries[f"{WALKTHROUGHS_FOLDER}/{notebook.name}"] = nbformat.writes(book)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(entries.items()):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            archive.writestr(info, text if text.endswith("\n") else text + "\n")
    Path(path).write_bytes(buffer.getvalue())
    return Path(path)
