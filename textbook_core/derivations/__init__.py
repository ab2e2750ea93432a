"""Symbolic derivations: sympy checks every equation of Chapter 8, the slides and the notes.

Each check runs the library's own functions (``textbook_core``) on ``sympy.symarray`` inputs and
compares the result with the defining sum as printed and with ``sympy.diff`` of the forward
expression, at several small sizes, non-square ones included. Where sympy handles symbolic
bounds, the index manipulations themselves are checked with ``Sum`` (8.5-8.6, 8.9/8.13, 8.42-8.44).
Where a printed equation does not hold, its check shows both that the printed form fails and
that the corrected form holds; ``docs/errata.md`` lists these. Checks labelled with a "+" go
beyond the chapter, which derives stride 1 and no padding: "8.44+pad-stride" checks 8.44 with the
padding and stride the library also promises.

One module per section of the chapter, as in the library: `why` (8.1-8.13, P8.1, P8.2),
`details` (8.14-8.19), `hierarchy` (8.20-8.26), `gradient` (8.27-8.53, P8.3, P8.4), `lecture`
(the slides and notes) and `exercises` (the checks that restate an exercise's answer: E8.7, E8.8,
E8.9). The student edition leaves `exercises` out; without it the other checks run as before.

``checks()`` maps each label ("8.1" .. "8.53", "P8.1" .. "P8.4", "E8.7" .. "E8.9", the lecture
labels and the "+" labels) to a callable that returns None or raises ``AssertionError``;
``registry()`` gives the full records (label, statement, latex, function, erratum) for rendering.
Run them all with::

    python -m textbook_core.derivations          # one line per label; exit status 1 on a failure

>>> from textbook_core.derivations import checks, registry
>>> checks()["8.37"]() is None
True
>>> registry()["8.37"].erratum
'db^m = [+]^ave_{S_r,S_c} dN^m averages; the sum needs the weight w = 1'
"""
import importlib

from textbook_core.derivations.registry import Check, check, checks, main, registry
from textbook_core.derivations.symbolic import fails, grad, loss, same, sym
# Importing a section registers its checks; the registry keeps the chapter's order.
from textbook_core.derivations import why  # noqa: F401, E402  isort: skip
from textbook_core.derivations import details  # noqa: F401  isort: skip
from textbook_core.derivations import hierarchy  # noqa: F401  isort: skip
from textbook_core.derivations import gradient  # noqa: F401  isort: skip
from textbook_core.derivations import lecture  # noqa: F401  isort: skip

try:
    importlib.import_module("textbook_core.derivations.exercises")
except ModuleNotFoundError as exc:      # the student edition: no exercise answers, the rest runs
    if exc.name != "textbook_core.derivations.exercises":
        raise

SECTIONS = ("why", "details", "hierarchy", "gradient", "lecture", "exercises")

__all__ = ["Check", "check", "checks", "registry", "main", "same", "fails", "grad", "loss", "sym"]
