"""Search a built student edition for the instructor's secrets: answers and hidden tests.

The secrets are the bodies of the `REFERENCE_ANSWERS` functions (docstrings included), every
solution region (code and Markdown) and every hidden-test region of the instructor notebooks.
A secret is found in a file when the whole of it is there, or when one of its *distinctive*
lines is: a line of at least `MIN_LINE` characters that is not a comment and that the release
and the rest of the library (everything but the reference answers) do not hold anyway.
"""
import ast
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..course import REFERENCE_ANSWERS

MIN_LINE = 16
MIN_WHOLE = 8
"""A whole secret this long is searched for as it is (``detects = "b"``); its lines need `MIN_LINE`."""


@dataclass(frozen=True)
class Secret:
    what: str     # e.g. "solution region of e8_08.ipynb", "body of textbook_core/gradient.py:max_pool_da"
    text: str


@dataclass(frozen=True)
class Leak:
    what: str
    file: str
    line: str

    def __str__(self):
        return f"{self.file}: {self.what}: {self.line[:100]!r}"


def reference_bodies(root):
    """(secrets, file -> source without the secret bodies) for the files of `REFERENCE_ANSWERS`."""
    secrets, rest = [], {}
    for relative, names in REFERENCE_ANSWERS.items():
        source = (Path(root) / relative).read_text(encoding="utf-8")
        lines = source.splitlines(keepends=True)
        spans = []
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name in names:
                body = "".join(lines[node.body[0].lineno - 1:node.end_lineno])
                secrets.append(Secret(f"body of {relative}:{node.name}", body))
                spans.append((node.body[0].lineno, node.end_lineno))    # the signature is no secret
        rest[relative] = "".join(line for k, line in enumerate(lines, 1)
                                 if not any(a <= k <= b for a, b in spans))
    return secrets, rest


def secrets_of(root, instructor):
    """Every secret: reference bodies and the regions of `instructor` (`instructor_cells`)."""
    secrets, _ = reference_bodies(root)
    for notebook, cells in sorted(instructor.items()):
        for kind, text in cells:
            if kind in ("solution", "hidden") and text.strip():
                name = "solution region" if kind == "solution" else "hidden tests"
                secrets.append(Secret(f"{name} of {notebook}", text))
    return secrets


def public_lines(root, release_texts):
    """Lines the student may see anyway: the release, and the library without its answers."""
    _, rest = reference_bodies(root)
    texts = list(release_texts) + list(rest.values())
    for package in ("textbook_core",):
        for path in sorted((Path(root) / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative not in rest:
                texts.append(path.read_text(encoding="utf-8"))
    return {line for text in texts for line in _lines(text)}


def _lines(text):
    """Stripped lines, each also without a trailing ``  # comment``."""
    result = set()
    for line in text.splitlines():
        line = line.strip()
        if line:
            result.add(line)
            result.add(re.split(r"\s{2,}#", line)[0].strip())
    return result


def _distinctive(text, public):
    return [line for line in _lines(text)
            if len(line) >= MIN_LINE and not line.startswith("#") and line not in public]


def _squash(text):
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def find(files, secrets, public):
    """The leaks: a `Leak` for every secret found in `files` (name -> text)."""
    leaks = []
    index = {name: (_lines(text), _squash(text)) for name, text in files.items()}
    for secret in secrets:
        whole, lines = _squash(secret.text), _distinctive(secret.text, public)
        for name, (file_lines, squashed) in index.items():
            if len(whole) >= MIN_WHOLE and whole in squashed:
                leaks.append(Leak(secret.what, name, whole.splitlines()[0]))
                continue
            hits = [line for line in lines if line in file_lines]
            leaks += [Leak(secret.what, name, line) for line in hits[:1]]
    return leaks


def notebook_text(text):
    """The cell sources and outputs of a notebook's JSON, one after another."""
    book = nbformat.reads(text, as_version=4)
    parts = []
    for cell in book.cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append(str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def archive_texts(path):
    """Name -> text of every text file in the zip or wheel at `path` (notebooks as their cells)."""
    files = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            try:
                text = archive.read(name).decode("utf-8")
            except UnicodeDecodeError:
                continue
            files[f"{Path(path).name}/{name}"] = notebook_text(text) if name.endswith(".ipynb") else text
    return files
