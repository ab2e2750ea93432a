"""The registry of checks and the command line that runs them.

A check is a function that returns None or raises AssertionError; `check` registers it under its
label with a one-line statement, a one-line LaTeX statement and, for an erratum, "printed ->
corrected". A check that makes the library raise fails with that error named.
"""
import functools
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class Check:
    """One check: its label, a one-line plain statement, a one-line LaTeX statement, the function
    that returns None or raises AssertionError, and, for an erratum, "printed -> corrected"."""
    label: str
    statement: str
    latex: str
    func: Callable[[], None]
    erratum: Optional[str] = None

    def __call__(self):
        return self.func()


_REGISTRY = {}


def check(label, statement, latex, erratum=None):
    """Register the decorated function as the check `label`."""
    def register(func):
        if label in _REGISTRY:
            raise ValueError(f"check {label!r} registered twice")

        @functools.wraps(func)
        def run():
            try:
                func()
            except AssertionError:
                raise
            except Exception as exc:   # the library raised: that is a failed check too, said plainly
                raise AssertionError(f"{label}: the library raised {type(exc).__name__}: {exc}") from exc

        _REGISTRY[label] = Check(label, statement, latex, run, erratum)
        return func
    return register


def checks():
    """Label -> callable; the callable returns None or raises AssertionError with a message."""
    return {label: c.func for label, c in _REGISTRY.items()}


def registry():
    """Label -> `Check` (statement, latex, func, erratum), in the chapter's order."""
    return dict(_REGISTRY)




def main(argv=None, checks_=None):
    """Run the checks (all, or the labels in `argv`) and print one line each: label, PASS or FAIL,
    statement. Failure messages and the total time go to stderr. Returns 0, 1 on a failure, 2 on an
    unknown label."""
    argv = sys.argv[1:] if argv is None else list(argv)
    known = registry() if checks_ is None else dict(checks_)
    labels = argv or list(known)
    unknown = [label for label in labels if label not in known]
    if unknown:
        print(f"unknown label(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    width = max(len(label) for label in labels)
    failed, start = [], time.perf_counter()
    for label in labels:
        entry = known[label]
        try:
            entry.func()
            status = "PASS"
        except AssertionError as exc:
            status = "FAIL"
            failed.append(f"{label}: {exc}")
        print(f"{label:<{width}}  {status}  {entry.statement}", flush=True)
    for message in failed:
        print(f"FAIL {message}", file=sys.stderr)
    print(f"{len(labels)} checks, {len(failed)} failed, {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 1 if failed else 0


