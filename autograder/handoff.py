"""The hand-off rule: does a student's function hand its work to the library?

E8.7-E8.9 ask for functions that ``textbook_core`` (or ``autograder.checks``) already has, and
"by hand" parts forbid the library operations they ask the student to carry out. A hidden test
names the forbidden functions in ``checks.check_function(..., forbidden=...)``: function objects
or dotted names (``"numpy.convolve"``, ``"scipy.signal"``, `autograder.recorder.dotted`). A part
scores 0 with the reason when the student's function reaches one of them:

- in its source (`LibraryUse`): the answer is found by the name the test cell reads it by (so a
  lambda or a renamed ``def`` is found as well as ``def conv_output_size``), and every function
  of the student it names, through aliases, imports and ``getattr`` strings;
- at run time, in the sandbox: `autograder.recorder` records which library functions the call
  on the grader's probe entered, whatever the path (`autograder.student_values.RemoteFunction`);
- and the pure answer functions are not in the sandbox at all: their bodies are tripwires
  (`autograder.course.REFERENCE_ANSWERS`).
"""
import ast

LIBRARY_ROOTS = ("textbook_core", "autograder")
"""Packages whose ``from ... import *`` makes every free name a possible library name."""


def parse_cell(source):
    """The AST of a student cell (magics turned into Python first), or None if it is not Python."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _chain(node):
    """``["np", "lib", "stride_tricks"]`` for the expression ``np.lib.stride_tricks`` (else None)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id] + parts[::-1]
    return None


class LibraryUse:
    """Which library names each of the student's functions reaches, read from the source.

    ``references("max_pool_da")`` collects, over the definition(s) of ``max_pool_da`` (a ``def``,
    or any value assigned to the name: a lambda, another function, ``functools.partial``) and
    every function of the student it names (recursively): attributes as bare names
    (``max_pool_da``) and, where the module is known from an import, as dotted names
    (``textbook_core.max_pool_da``, ``numpy.rot90``); names imported from a module
    (``from scipy.signal import convolve2d as c``; ``from textbook_core import *`` makes every
    free name one); and identifier-like strings (``getattr(tc, "max_pool_da")``).

    >>> use = LibraryUse(["import textbook_core as tc, numpy as np", "def g(x):\\n    return tc.max_pool_da(x)",
    ...                   "f = lambda x: g(x) + np.sum(x)"])
    >>> sorted(use.references("f") & {"max_pool_da", "textbook_core.max_pool_da", "numpy.sum"})
    ['max_pool_da', 'numpy.sum', 'textbook_core.max_pool_da']
    """

    def __init__(self, sources):
        self.aliases, self.modules, self.star, self.defs = {}, {}, False, {}
        for source in sources:
            tree = parse_cell(source)
            if tree is not None:
                self._collect(tree.body)

    def _collect(self, body):
        for node in body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.modules[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.modules[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name == "*":
                        self.star = self.star or node.module.split(".")[0] in LIBRARY_ROOTS
                    else:
                        self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.defs.setdefault(node.name, []).append(node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name) and node.value is not None:
                            self.defs.setdefault(name.id, []).append(node.value)
            for field in ("body", "orelse", "finalbody", "handlers"):   # if/for/while/try/with at top level
                inner = getattr(node, field, None)
                if isinstance(inner, list) and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                        ast.ClassDef)):
                    self._collect([n for n in inner if isinstance(n, ast.AST)])
            if isinstance(node, ast.ExceptHandler):
                self._collect(node.body)

    def _resolve(self, parts):
        """The dotted name of an attribute chain whose first name is an imported module or name."""
        head = self.modules.get(parts[0]) or self.aliases.get(parts[0])
        return ".".join([head] + parts[1:]) if head else None

    def references(self, name):
        """The library names (bare and dotted) that the student's `name` reaches in the source."""
        found, seen, stack = set(), set(), [name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            for definition in self.defs.get(current, []):
                for node in ast.walk(definition):
                    if isinstance(node, ast.Attribute):
                        found.add(node.attr)
                        chain = _chain(node)
                        if chain and self._resolve(chain):
                            found.add(self._resolve(chain))
                    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                        if node.id in self.defs:
                            stack.append(node.id)
                        elif node.id in self.aliases:
                            found.add(self.aliases[node.id])
                            found.add(self.aliases[node.id].rpartition(".")[2])
                        elif self.star:
                            found.add(node.id)
                    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                        found.add(node.value)
                    elif isinstance(node, ast.ImportFrom) and node.module:
                        found.update(f"{node.module}.{a.name}" for a in node.names)
                        found.update(a.name for a in node.names)
                    elif isinstance(node, ast.Import):
                        found.update(a.name for a in node.names)
        return found


def handoff_message(name, reference):
    """The feedback of a part whose function `name` reached the forbidden `reference`."""
    return (f"`{name}` hands the work to {reference}, which this part asks you to do yourself: derive it and "
            f"write it with numpy (other library functions are fine). This part scores 0.")
