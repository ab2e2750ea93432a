"""The answer key of the visible checks: digests of the answers and of the catalogue's mistakes.

A visible check (`autograder.checks.verify`, `verify_function`) compares a salted hash of the
student's rounded answer with its entry in ``autograder/answer_key.json``, named in the cell
(``key="e8_06/Z_conv"``). This module computes that file from the solutions and the catalogue:

1. each notebook's setup and answer cells run in this process (`autograder.catalogue.run`), once
   as solved and once per catalogue mistake of that notebook;
2. each visible cell then runs with a recording stand-in for `checks`, which keeps the values
   and the functions' outputs on the visible probes instead of checking them;
3. an entry holds the answer's shape and digests (exact and to `checks.CLOSE_DIGITS` significant
   digits) and, for every mistake that changes the value, its digest and hint.

``python -m autograder release`` calls `write_keys` before it builds the release; a test
(`stale`) fails when the committed file differs from a fresh computation. Nothing here reveals an
answer: the file holds hashes, shapes and hints only, and ships with `checks` to students.
"""
import ast
import contextlib
import json
from pathlib import Path

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

    def verify(self, name, value, key):
        self.calls.append(("value", key, value))

    def verify_function(self, name, function, cases, key, *, forbidden=()):
        outputs = None
        if callable(function):
            outputs = [checks._run_probe(function, args, kwargs) for _, args, kwargs in cases]
        self.calls.append(("function", key, outputs))

    def choice(self, *args, **kwargs):
        pass


def visible_cells(notebook, course=Course()):
    """``{grade_id: source}`` of the visible checks of `notebook` that call `verify`."""
    return {gid: source for gid, role, source in catalogue.source_cells(notebook, course)
            if role == "test" and gid.endswith("_visible") and any(f"checks.{v}(" in source for v in VERIFY)}


def record(notebook, mistakes=(), course=Course()):
    """``{visible grade_id: [(kind, key id, value or outputs), ...]}`` for `notebook` with `mistakes`."""
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
        for index, (kind, salt, value) in enumerate(calls):
            name = salt.split("/")[-1]
            wrong = sorted(recorded_wrong, key=lambda mr: (
                not any(_defines(new, name) for _, new in mr[0].edits),
                not _defines(sources.get(mr[0].cell, ""), name)))
            if kind == "value":
                key = {"salt": salt, **checks.key_of(salt, value), "mistakes": []}
                seen = {key["answer"]}
                for mistake, recorded in wrong:
                    calls_ = recorded.get(gid, [])
                    if index < len(calls_) and calls_[index][:2] == (kind, salt):
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
                    if index < len(calls_) and calls_[index][:2] == (kind, salt) and calls_[index][2] is not None:
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
# The key file
# ---------------------------------------------------------------------------------------------

KEY_FILE = Path(checks.__file__).with_name("answer_key.json")
"""Where `checks.verify` finds the keys: next to ``checks.py``, so it travels with it."""


def build(course=Course()):
    """``{key id: key}`` for every visible check of every notebook, computed fresh."""
    result = {}
    for notebook in NOTEBOOKS:
        if not visible_cells(notebook, course):
            continue
        for gid, cell_keys in keys(notebook, course).items():
            for key in cell_keys:
                if key["salt"] in result:
                    raise ValueError(f"key {key['salt']} is used twice")
                result[key["salt"]] = key
    return dict(sorted(result.items()))


def dumps(table):
    """The key file's text: one entry per line group, stable across runs."""
    lines = ["{"]
    for k, (name, key) in enumerate(table.items()):
        comma = "," if k < len(table) - 1 else ""
        lines.append(f"  {json.dumps(name)}: {json.dumps(key, ensure_ascii=False)}{comma}")
    return "\n".join(lines + ["}"]) + "\n"


def stale(course=Course(), path=KEY_FILE):
    """The key ids whose committed entry differs from a fresh computation (all if the file is missing)."""
    fresh = build(course)
    try:
        committed = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return sorted(fresh)
    return sorted(k for k in set(fresh) | set(committed) if fresh.get(k) != committed.get(k))


def write_keys(course=Course(), path=KEY_FILE):
    """Write a fresh key file; returns the key ids that changed."""
    changed = stale(course, path)
    if changed:
        Path(path).write_text(dumps(build(course)), encoding="utf-8")
    return changed
