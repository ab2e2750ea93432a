"""The keys of the visible checks: digests of the answers and of the catalogue's mistakes.

A visible check (`autograder.checks.verify`, `verify_function`) compares a salted hash of the
student's rounded answer with the ``key=`` written into the check's cell. This module computes
those keys from the solutions and the catalogue, and writes them into the instructor notebooks
(``solutions/ch08``), from where the release carries them to the students:

1. each notebook's setup and answer cells run in this process (`autograder.catalogue.run`), once
   as solved and once per catalogue mistake of that notebook;
2. each visible cell then runs with a recording stand-in for `checks`, which keeps the values
   and the functions' outputs on the visible probes instead of checking them;
3. a key holds the answer's shape and digests (exact and to `checks.CLOSE_DIGITS` significant
   digits) and, for every mistake that changes the value, its digest and hint.

``python -m autograder release`` calls `write_keys` before it builds the release; a test
(`stale`) fails when a committed key differs from a fresh computation. Nothing here reveals an
answer: a key holds hashes and hints only.
"""
import ast
import contextlib
import json

import numpy as np

from . import catalogue, checks
from .course import ASSIGNMENT, NOTEBOOKS, Course

VERIFY = ("verify", "verify_function")


class _Recorder:
    """Stands in for `autograder.checks` in a visible cell: records what `verify` would check."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return getattr(checks, name)

    def visible_check(self):
        return contextlib.nullcontext()

    def verify(self, name, value, key=None):
        self.calls.append(("value", name, value))

    def verify_function(self, name, function, cases, key=None, *, forbidden=()):
        outputs = None
        if callable(function):
            outputs = [checks._run_probe(function, args, kwargs) for _, args, kwargs in cases]
        self.calls.append(("function", name, outputs))

    def choice(self, *args, **kwargs):
        pass


def visible_cells(notebook, course=Course()):
    """``{grade_id: source}`` of the visible checks of `notebook` that call `verify`."""
    return {gid: source for gid, role, source in catalogue.source_cells(notebook, course)
            if role == "test" and gid.endswith("_visible") and any(f"checks.{v}(" in source for v in VERIFY)}


def record(notebook, mistakes=(), course=Course()):
    """``{visible grade_id: [(kind, name, value or outputs), ...]}`` for `notebook` with `mistakes`."""
    namespace = catalogue.run(notebook, mistakes, course=course).namespace
    result = {}
    for gid, source in visible_cells(notebook, course).items():
        recorder = _Recorder()
        scope = dict(namespace, checks=recorder)
        with contextlib.redirect_stdout(None):
            try:
                exec(compile(source, f"<{gid}>", "exec"), scope)
            except Exception:   # a mistake may leave a name undefined: the calls so far count
                pass
        result[gid] = recorder.calls
    return result


def _value_digest(salt, value):
    try:
        a = checks.answer_array("value", value)
    except checks.Wrong:
        return None
    return checks.digest(salt, a) if np.all(np.isfinite(a)) else None


def _close(salt, value, close):
    """Whether `value` is the answer to `checks.CLOSE_DIGITS` significant digits (the answer's
    ``close`` digests)."""
    if isinstance(value, BaseException):
        return False
    a = checks._as_output(value)
    return a is not None and checks._close_output(salt, a, close)


def _function_digests(salt, outputs):
    return [checks.digest(salt, o) if isinstance(o, BaseException) else checks._output_digest(salt, o)
            for o in outputs]


def _defines(source, name):
    """Whether `source` binds `name` (an assignment or a ``def``) at its top level."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
    return False


def keys(notebook, course=Course()):
    """``{visible grade_id: [key, ...]}``, one key per `verify` call, in the order of the cell.

    A mistake is listed under a call when it changes what the call checks and the result is not
    merely imprecise (that case has its own message). When several mistakes give the same wrong
    value, the one whose edit binds the checked name is listed, then one made in the cell that
    defines it: it is the likelier.
    """
    solved = record(notebook, course=course)
    sources = {gid: source for gid, role, source in catalogue.source_cells(notebook, course) if role == "answer"}
    mistakes = [m for m in catalogue.MISTAKES if m.notebook == notebook and not m.handoff]
    recorded_wrong = [(m, record(notebook, (m,), course)) for m in mistakes]
    result = {}
    for gid, calls in solved.items():
        cell_keys = []
        for index, (kind, name, value) in enumerate(calls):
            salt = f"{notebook}/{name}"
            wrong = sorted(recorded_wrong, key=lambda mr: (
                not any(_defines(new, name) for _, new in mr[0].edits),
                not _defines(sources.get(mr[0].cell, ""), name)))
            if kind == "value":
                key = {"salt": salt, **checks.key_of(salt, value), "mistakes": []}
                seen = {key["answer"]}
                for mistake, recorded in wrong:
                    calls_ = recorded.get(gid, [])
                    if index < len(calls_) and calls_[index][:2] == (kind, name):
                        found = _value_digest(salt, calls_[index][2])
                        if found is not None and found not in seen and not _close(salt, calls_[index][2], key["close"]):
                            seen.add(found)
                            key["mistakes"].append([found, mistake.hint])
            else:
                if value is None or any(isinstance(o, BaseException) for o in value):
                    raise ValueError(f"{notebook} {gid}: the solution's {name} fails a visible probe")
                key = {"salt": salt, **checks.function_key(salt, value), "mistakes": []}
                answers = [d for _, d in key["answers"]]
                seen = {tuple(answers)}
                for mistake, recorded in wrong:
                    calls_ = recorded.get(gid, [])
                    if index < len(calls_) and calls_[index][:2] == (kind, name) and calls_[index][2] is not None:
                        found = tuple(_function_digests(salt, calls_[index][2]))
                        imprecise = all(d == a or _close(salt, o, c) for d, a, o, c in
                                        zip(found, answers, calls_[index][2], key["close"]))
                        if found not in seen and not imprecise:
                            seen.add(found)
                            key["mistakes"].append([mistake.hint, list(found)])
            cell_keys.append(key)
        result[gid] = cell_keys
    return result


# ---------------------------------------------------------------------------------------------
# Writing the keys into the cells
# ---------------------------------------------------------------------------------------------

def _q(text):
    return json.dumps(text, ensure_ascii=False)


def format_key(key, indent):
    """The key as a Python literal over several lines, for a call on a line indented by `indent`."""
    b4, b8 = " " * (indent + 4), " " * (indent + 8)
    if "shape" in key:
        head = [f'{b4}"salt": {_q(key["salt"])}, "shape": {json.dumps(key["shape"])}, "answer": {_q(key["answer"])},',
                f'{b4}"close": {json.dumps(key["close"])},']
        entries = [f"{b8}[{_q(d)}, {_q(h)}]," for d, h in key["mistakes"]]
    else:
        head = [f'{b4}"salt": {_q(key["salt"])},',
                f'{b4}"answers": {json.dumps(key["answers"])},',
                f'{b4}"close": {json.dumps(key["close"])},']
        entries = [f"{b8}[{_q(h)}, {json.dumps(ds)}]," for h, ds in key["mistakes"]]
    tail = [f'{b4}"mistakes": [', *entries, f"{b4}]}}"] if entries else [f'{b4}"mistakes": []}}']
    return "\n".join(["{"] + head + tail)


def _char_offset(lines, lineno, col):
    """Character offset in the joined source of (1-based line, UTF-8 byte column)."""
    before = sum(len(line) + 1 for line in lines[:lineno - 1])
    return before + len(lines[lineno - 1].encode("utf-8")[:col].decode("utf-8"))


def with_keys(source, cell_keys):
    """`source` of a visible cell with the ``key=`` of each verify call replaced, in order."""
    tree = ast.parse(source)
    calls = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute) and node.func.attr in VERIFY),
                   key=lambda n: (n.lineno, n.col_offset))
    if len(calls) != len(cell_keys):
        raise ValueError(f"{len(calls)} verify calls but {len(cell_keys)} keys in:\n{source}")
    lines = source.split("\n")
    spans = []
    for call, key in zip(calls, cell_keys):
        keyword = next((k for k in call.keywords if k.arg == "key"), None)
        if keyword is None:
            raise ValueError(f"a verify call without key= in:\n{source}")
        value = keyword.value
        start = _char_offset(lines, value.lineno, value.col_offset)
        end = _char_offset(lines, value.end_lineno, value.end_col_offset)
        line = lines[call.lineno - 1]
        spans.append((start, end, format_key(key, len(line) - len(line.lstrip()))))
    for start, end, text in sorted(spans, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def _notebook_path(notebook, course):
    return course.path("source") / ASSIGNMENT / f"{notebook}.ipynb"


def fresh_sources(notebook, course=Course()):
    """``{visible grade_id: (committed source, source with fresh keys)}``."""
    cells = visible_cells(notebook, course)
    if not cells:
        return {}
    computed = keys(notebook, course)
    return {gid: (source, with_keys(source, computed[gid])) for gid, source in cells.items()}


def stale(course=Course()):
    """The visible cells (grade ids) whose committed keys differ from a fresh computation."""
    return [gid for nb in NOTEBOOKS for gid, (old, new) in fresh_sources(nb, course).items() if old != new]


def write_keys(course=Course()):
    """Write fresh keys into the instructor notebooks; returns the grade ids of changed cells."""
    changed = []
    for notebook in NOTEBOOKS:
        fresh = {gid: new for gid, (old, new) in fresh_sources(notebook, course).items() if old != new}
        if not fresh:
            continue
        path = _notebook_path(notebook, course)
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid in fresh:
                text = fresh[gid]
                parts = text.split("\n")
                cell["source"] = [p + "\n" for p in parts[:-1]] + [parts[-1]]
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        changed += list(fresh)
    return changed
