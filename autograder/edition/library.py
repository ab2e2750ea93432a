"""The student edition's library: the instructor's sources, rewritten where they hold an answer.

`library_files` returns every file of the wheel as text, by its path in the wheel. Each rewrite
finds its statements in the syntax tree and replaces their lines, so everything else keeps its
text and comments. What is an answer comes from the course (`REFERENCE_ANSWERS`, the solutions,
the release), and for answers stated in prose from the two short lists below:

- `stub_answers`: the functions of `autograder.course.REFERENCE_ANSWERS` become stubs that call
  `textbook_core.plugged.answer`, made by the sandbox's own `autograder.sandbox.tripwired_source`;
- `visible_checks`: ``autograder/checks.py`` keeps only what the released notebooks call, and
  what that needs;
- `drop_exercise_derivations`: the derivation checks that restate an exercise's answer go;
- `trim_data`: the exercise data keeps its values, but not the prose that states an answer.
"""
import ast
import importlib
import re

from ..course import ASSIGNMENT, REFERENCE_ANSWERS
from ..sandbox import tripwired_source

EXERCISE_DERIVATIONS = "textbook_core/derivations/exercises.py"
"""Where the derivation checks that restate an exercise's answer live (left out of the edition).
Until the derivations are a package, the checks of the single module are filtered instead
(`drop_exercise_derivations`)."""

EXERCISE_CHECK_LABELS = ("same-padding",)
"""Derivation checks of the single module that restate an answer without naming an exercise in
their label: the notes' SAME padding is E8.7 (ii)."""

ANSWER_DATA = {"textbook_core/data.py": ("E8_1_KERNEL_DETECTS",)}
"""Constants that state an exercise's answer in words (E8.1 (ii)); the edition leaves them out."""

TRIMMED_DOCSTRINGS = ("textbook_core/data.py",)
"""Modules whose docstrings that name an exercise keep only their first paragraph: the data of
E8.1, E8.6 and E8.10 is documented with what the exercise should find."""

PACKAGES = ("textbook_core",)
"""Copied whole (every ``.py`` file, rewritten where needed)."""

CHECKS = "autograder/checks.py"


class EditionError(ValueError):
    """The student edition cannot be built as asked."""


def _span(stmt):
    """1-based first and last line of a top-level statement, its decorators included."""
    first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
    return first, stmt.end_lineno


def _edit(source, changes):
    """`source` with the line spans of `changes` ``[(first, last, text), ...]`` replaced by
    their text; every other line, comments included, stays as written."""
    lines = source.splitlines(keepends=True)
    for first, last, text in sorted(changes, reverse=True):
        lines[first - 1:last] = [text if not text or text.endswith("\n") else text + "\n"]
    return "".join(lines)


def _segment(source, stmt):
    first, last = _span(stmt)
    return "".join(source.splitlines(keepends=True)[first - 1:last])


def _is_doc(stmt):
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _docstring(text):
    """`text` as a docstring statement, in the module's style."""
    text = text.strip()
    if "\\" in text or '"""' in text:
        return repr(text) + "\n"
    return f'"""{text}\n"""\n' if "\n" in text else f'"""{text}"""\n'


# ---------------------------------------------------------------------------------------------
# Which exercise asks for a function
# ---------------------------------------------------------------------------------------------

def exercise_of(name, solutions, doc=""):
    """``("E8.8", "e8_08.ipynb")``: the exercise whose solution defines `name`, else whose hidden
    tests use it, else the first exercise its docstring `doc` names (a helper of an answer, such
    as the maxima's positions of E8.8); `solutions` maps notebook -> list of (kind, source)."""
    for kind in ("solution", "hidden"):
        for notebook, cells in sorted(solutions.items()):
            for cell_kind, source in cells:
                pattern = rf"^\s*def {name}\(" if kind == "solution" else rf"\b{name}\b"
                if cell_kind == kind and re.search(pattern, source, re.MULTILINE):
                    stem = notebook.removesuffix(".ipynb")
                    return f"E8.{int(stem.rsplit('_', 1)[1])}", notebook
    named = re.search(r"\bE8\.(\d+)\b", doc or "")
    if named and f"e8_{int(named.group(1)):02d}.ipynb" in solutions:
        return f"E8.{int(named.group(1))}", f"e8_{int(named.group(1)):02d}.ipynb"
    raise EditionError(f"no exercise of {ASSIGNMENT} defines or tests {name}, and its docstring names none, so "
                       f"its stub cannot say which exercise asks for it")


def asked_for(notebook, solutions):
    """The stubbed functions that the solution of `notebook` defines: what a student plugs in."""
    stubbed = {n for names in REFERENCE_ANSWERS.values() for n in names}
    defined = {m for kind, source in solutions.get(notebook, []) if kind == "solution"
               for m in re.findall(r"^\s*def (\w+)\(", source, re.MULTILINE)}
    return tuple(sorted(defined & stubbed))


# ---------------------------------------------------------------------------------------------
# Stubs
# ---------------------------------------------------------------------------------------------

def _call_arguments(args):
    """For a stub with the arguments `args` (an ``ast.arguments``): the statements that collect
    the optional arguments given, and the call that passes everything on."""
    lines, call = [], []
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    optional = [(a.arg, d) for a, d in zip(positional, defaults) if d is not None]
    call += [a.arg for a, d in zip(positional, defaults) if d is None]
    if args.vararg:
        call.append(f"*{args.vararg.arg}")
    call += [f"{a.arg}={a.arg}" for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    optional += [(a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    if optional:
        lines.append("given = {}")
        for name, default in optional:   # passed on only when given: None, True, False by identity
            if isinstance(default, ast.Constant) and default.value in (None, True, False):
                lines.append(f"if {name} is not {default.value!r}:\n    given[{name!r}] = {name}")
            else:
                lines.append(f"given[{name!r}] = {name}")
        call.append("**given")
    if args.kwarg:
        call.append(f"**{args.kwarg.arg}")
    return lines, ", ".join(call)


def stub_body(exercise, notebook, asks=None):
    """The `body` argument of `tripwired_source`: a student-edition stub for `exercise`, whose
    student plugs in the functions `asks` (by default the stub's own name)."""
    def body(node, qualified):
        mine = tuple(asks or (node.name,))
        if node.name in mine:
            doc = (f"{exercise} asks for this function, so the student edition leaves it out.\n\n"
                   f"    Write it in {notebook}, then plug it in with ``tc.plug_in({node.name}={node.name})``: from\n"
                   f"    then on ``{qualified}`` and the library's callers use yours (`textbook_core.plugged`).\n    ")
        else:
            doc = (f"Part of the answer of {exercise}, so the student edition leaves it out.\n\n"
                   f"    The library's calls that need it stop with the reason; its other callers use your\n"
                   f"    {', '.join(mine)} once you plug it in (`textbook_core.plugged`).\n    ")
        lines, call = _call_arguments(node.args)
        source = "\n".join([repr(doc), "from textbook_core.plugged import answer", *lines,
                            f"return answer({node.name!r}, {exercise!r}, {notebook!r}, {mine!r})({call})"])
        return ast.parse(source).body
    return body


def _public_name(module, name):
    """``textbook_core.max_pool_da`` where the package exports it, else ``module.name``."""
    package = module.split(".")[0]
    top, inner = importlib.import_module(package), importlib.import_module(module)
    return f"{package}.{name}" if getattr(top, name, None) is getattr(inner, name) else f"{module}.{name}"


def stub_answers(relative, source, solutions, present_only=False):
    """`source` of the file `relative` with each of its `REFERENCE_ANSWERS` functions a stub
    (with `present_only`, those of them that `source` defines); the rest keeps its text."""
    names = [n for n in REFERENCE_ANSWERS.get(relative, ()) if not present_only or n in _all_defs(source)]
    module = relative.removesuffix(".py").replace("/", ".")
    changes = []
    for name in names:
        old = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)
        exercise, notebook = exercise_of(name, solutions, ast.get_docstring(old))
        qualified = _public_name(module, name).rsplit(".", 1)[0]
        body = stub_body(exercise, notebook, asked_for(notebook, solutions) or None)
        stubbed = tripwired_source(source, [name], qualified, body=body)
        new = next(n for n in ast.parse(stubbed).body if isinstance(n, ast.FunctionDef) and n.name == name)
        changes.append((*_span(old), _segment(stubbed, new)))
    return _edit(source, changes)


# ---------------------------------------------------------------------------------------------
# checks.py: the visible checks only
# ---------------------------------------------------------------------------------------------

def _defines(stmt):
    """Names a top-level statement binds."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(stmt, (ast.If, ast.Try, ast.With)):
        inner = stmt.body + getattr(stmt, "orelse", []) + getattr(stmt, "finalbody", [])
        inner += [s for h in getattr(stmt, "handlers", []) for s in h.body]
        return set().union(*(_defines(s) for s in inner)) if inner else set()
    return set()


def _uses(stmt):
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}


def used_checks(sources):
    """The names of `autograder.checks` that the code `sources` reach (``checks.X``, imports)."""
    names = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:   # a magic or a half-written cell: read its lines by pattern
            names |= set(re.findall(r"\bchecks\.(\w+)", source))
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "checks":
                names.add(node.attr)
            elif isinstance(node, ast.ImportFrom) and node.module == "autograder.checks":
                names |= {a.name for a in node.names}
    return names


def visible_checks(source, needed, solutions):
    """``checks.py`` reduced to the names in `needed` and what they use, as written, in order.

    Comment lines just above a kept statement stay with it; reference answers among the kept
    functions become stubs; ``__all__`` lists the names kept.
    """
    tree = ast.parse(source)
    defined = {}
    for stmt in tree.body:
        for name in _defines(stmt):
            defined.setdefault(name, []).append(stmt)
    missing = sorted(set(needed) - set(defined))
    if missing:
        raise EditionError(f"the released notebooks call checks.{', checks.'.join(missing)}, which "
                           f"autograder/checks.py does not define")
    keep, todo = set(), list(needed)
    while todo:
        for stmt in defined.get(todo.pop(), []):
            if id(stmt) not in keep and _defines(stmt) != {"__all__"}:
                keep.add(id(stmt))
                todo.extend(_uses(stmt) & set(defined))
    lines = source.splitlines(keepends=True)
    parts, imports = [], []
    for index, stmt in enumerate(tree.body):
        if id(stmt) not in keep:
            continue
        first, last = _span(stmt)
        following = tree.body[index + 1] if index + 1 < len(tree.body) else None
        if following is not None and _is_doc(following):
            last = following.end_lineno                 # the attribute's docstring
        while first > 1 and lines[first - 2].lstrip().startswith("#"):
            first -= 1                                  # its comment
        text = "".join(lines[first - 1:last])
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            _only_the_library(stmt)
            imports.append(text)
        else:
            parts.append(text)
    doc = ("The visible checks of the Chapter 8 exercises (student edition).\n\n"
           "The released notebooks call these while you work; the grading helpers and the hidden tests are\n"
           "in the instructor's edition only. A passed check prints a line starting with ``ok:``; a failed\n"
           "one raises ``Wrong`` (an ``AssertionError``) whose message says what is wrong.\n")
    public = sorted(n for n in needed if not n.startswith("_"))
    text = (_docstring(doc) + "".join(imports) + f"\n__all__ = {public!r}\n\n\n" + "\n\n".join(parts))
    return stub_answers(CHECKS, text, solutions, present_only=True)


def _only_the_library(stmt):
    """A visible helper may import numpy, the standard library and textbook_core, not the rest of
    `autograder` (grading machinery, left out of the edition)."""
    module = (stmt.module or "") if isinstance(stmt, ast.ImportFrom) else stmt.names[0].name
    if (isinstance(stmt, ast.ImportFrom) and stmt.level) or module.split(".")[0] == "autograder":
        raise EditionError(f"the visible checks need `{ast.unparse(stmt)}`, but the student edition ships "
                           f"only autograder.checks: move what they use into checks.py")


def _all_defs(source):
    return {s.name for s in ast.parse(source).body if isinstance(s, ast.FunctionDef)}


# ---------------------------------------------------------------------------------------------
# Derivations and data
# ---------------------------------------------------------------------------------------------

def _check_label(node):
    """The label of a ``@check("E8.8", ...)``-decorated function, or None."""
    for decorator in getattr(node, "decorator_list", []):
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "check" and decorator.args:
            first = decorator.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return first.value
    return None


def drop_exercise_derivations(source, stubbed):
    """The single derivations module without the checks of an exercise: labelled E8.x, listed in
    `EXERCISE_CHECK_LABELS`, or running a stubbed function (`stubbed`, names)."""
    changes = []
    for node in ast.parse(source).body:
        label = _check_label(node)
        if label and (label.startswith("E8.") or label in EXERCISE_CHECK_LABELS
                      or {a.attr for a in ast.walk(node) if isinstance(a, ast.Attribute)} & set(stubbed)):
            changes.append((*_span(node), ""))
    return _edit(source, changes)


def drop_import_of(source, module):
    """`source` (a package ``__init__``) without the statements that import its submodule `module`."""
    def imports_it(stmt):
        if isinstance(stmt, ast.ImportFrom):
            return (stmt.level == 1 and stmt.module == module) or (stmt.module or "").endswith(f".{module}") or \
                (stmt.level == 1 and stmt.module is None and any(a.name == module for a in stmt.names))
        return isinstance(stmt, ast.Import) and any(a.name.endswith(f".{module}") for a in stmt.names)

    return _edit(source, [(*_span(s), "") for s in ast.parse(source).body if imports_it(s)])


def trim_data(relative, source):
    """`source` without the `ANSWER_DATA` names (also gone from ``__all__`` and the module
    docstring), and, for `TRIMMED_DOCSTRINGS`, every attribute docstring that names an exercise
    cut to its first paragraph."""
    drop = set(ANSWER_DATA.get(relative, ()))
    body, changes = ast.parse(source).body, []
    for index, stmt in enumerate(body):
        before = body[index - 1] if index else None
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and _defines(stmt) & drop:
            changes.append((*_span(stmt), ""))
        elif _is_doc(stmt) and isinstance(before, (ast.Assign, ast.AnnAssign)) and _defines(before) & drop:
            changes.append((*_span(stmt), ""))          # the dropped constant's docstring
        elif isinstance(stmt, ast.Assign) and _defines(stmt) == {"__all__"} and drop:
            text = _segment(source, stmt)
            for name in drop:
                text = re.sub(rf"\s*[\"']{name}[\"'],?", "", text)
            changes.append((*_span(stmt), text))
        elif _is_doc(stmt) and index == 0 and drop:      # the module docstring
            text = _segment(source, stmt)
            for name in drop:
                text = re.sub(rf",?\s*`{name}`", "", text)
            changes.append((*_span(stmt), text))
        elif _is_doc(stmt) and isinstance(before, (ast.Assign, ast.AnnAssign)) \
                and relative in TRIMMED_DOCSTRINGS and re.search(r"\bE8\.\d", stmt.value.value):
            changes.append((*_span(stmt), _docstring(stmt.value.value.strip().split("\n\n")[0])))
    return _edit(source, changes)


# ---------------------------------------------------------------------------------------------
# All files
# ---------------------------------------------------------------------------------------------

def library_files(root, solutions, release_sources):
    """Path in the wheel -> text, for every file of the student edition's packages.

    Parameters
    ----------
    root : Path
        The repository (holds ``textbook_core/`` and ``autograder/``).
    solutions : dict
        Notebook name -> list of (kind, source) cells of the instructor notebooks, kind one of
        "solution", "hidden", "other".
    release_sources : iterable of str
        The code cells of the released notebooks (they decide which checks are visible).
    """
    files = {}
    stubbed = {name for names in REFERENCE_ANSWERS.values() for name in names}
    split = (root / EXERCISE_DERIVATIONS).is_file()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if "__pycache__" in relative or relative == EXERCISE_DERIVATIONS:
                continue
            source = path.read_text(encoding="utf-8")
            if relative in REFERENCE_ANSWERS:
                source = stub_answers(relative, source, solutions)
            if relative in ANSWER_DATA or relative in TRIMMED_DOCSTRINGS:
                source = trim_data(relative, source)
            if split and relative == EXERCISE_DERIVATIONS.rsplit("/", 1)[0] + "/__init__.py":
                source = drop_import_of(source, "exercises")
            if not split and relative == "textbook_core/derivations.py":
                source = drop_exercise_derivations(source, stubbed)
            files[relative] = source
    files["autograder/__init__.py"] = (
        '"""The Chapter 8 exercises\' visible checks (student edition): `autograder.checks` only.\n\n'
        'Grading runs on your instructor\'s machine; this package holds what the released notebooks\n'
        'import while you work."""\n')
    checks_source = (root / CHECKS).read_text(encoding="utf-8")
    files[CHECKS] = visible_checks(checks_source, used_checks(release_sources), solutions)
    unknown = set(REFERENCE_ANSWERS) - {CHECKS} - set(files)
    if unknown:
        raise EditionError(f"REFERENCE_ANSWERS names files the edition does not ship: {sorted(unknown)}")
    return files
