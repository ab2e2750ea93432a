"""The student's values as the grader's tests see them.

A test cell runs in the grader, on names read from the student's process (`autograder.wire`).
Plain data (numbers, strings, lists, arrays) arrives as it is. Anything else gets a stand-in:
`Opaque` for a value that is not plain data, `Unreadable` for one the grader could not read, and
`RemoteFunction` for a function. Calling a `RemoteFunction` runs the student's function in the
sandbox on the grader's probes, and the hand-off rule is judged from what that call entered.
"""
import ast
import builtins
import re

from . import timing, wire
from .handoff import handoff_message, parse_cell
from .sandbox import SessionError

_PROGRESS = []   # in the check process: a function that reports which phase it is in
_CALLS = set()   # in the check process: the library functions the student's functions entered


def _progress(message):
    if _PROGRESS:
        _PROGRESS[0](message)


class _Refusing:
    """A stand-in for a student value: any use of it (arithmetic, comparison, conversion, a call,
    an attribute) fails as the subclass's `_fail` says."""

    def _refuse(self, *args, **kwargs):
        type(self)._fail(self)

    __array__ = __iter__ = __len__ = __float__ = __int__ = __index__ = __bool__ = __getitem__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __add__ = __radd__ = __mul__ = __rmul__ = _refuse
    __sub__ = __rsub__ = __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __call__ = _refuse
    __hash__ = object.__hash__

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        self._refuse()


class Opaque(_Refusing):
    """A student value that is not plain data: any use of it is a TypeError naming its type."""

    def __init__(self, what):
        object.__setattr__(self, "_what", what)

    def _fail(self):
        raise TypeError(f"{object.__getattribute__(self, '_what')} is not plain data (numbers, strings, "
                        f"lists, arrays), so the grader cannot read it as an answer")

    def __repr__(self):
        return f"<{object.__getattribute__(self, '_what')}>"


def opaque(type_name, what):
    """An `Opaque` whose class is named after the student's type (messages quote the type name)."""
    safe = re.sub(r"\W", "_", type_name)[:50] or "object"
    if not safe[0].isalpha():
        safe = "obj_" + safe
    return type(safe, (Opaque,), {})(what)


class Unreadable(_Refusing):
    """A student name whose value could not be read (the read ran out of time or ended the
    process): any use of it fails the test with that reason, or, when only the wall-clock
    backstop ran out (`undecided`), flags the part for a manual grade."""

    def __init__(self, message, undecided=False):
        object.__setattr__(self, "_message", message)
        object.__setattr__(self, "_undecided", undecided)

    def _fail(self):
        from .checks import Wrong

        message = object.__getattribute__(self, "_message")
        raise timing.Undecided(message) if object.__getattribute__(self, "_undecided") else Wrong(message)


class RemoteFunction:
    """A function of the student's: calling it runs it in the sandbox on plain data.

    `variable` is the name the test cell reads it by (``conv_output_size``), `name` the
    ``__name__`` the student's process reports (a lambda's is ``<lambda>``); `references` are
    the library names the student's source reaches from either (`LibraryUse`).

    Raises `checks.Wrong` when it reaches a tripwire (a library function that is an answer) or,
    after `__autograder_handoff__` declared them, enters a forbidden library function (the
    sandbox's record, `autograder.recorder`), runs over the time limit or ends the student's
    process; an exception of the student's function comes back as a `StudentError` subclass with
    the student's exception name.
    """

    def __init__(self, runner, handle, name, references, variable=None):
        self.runner, self.handle, self.__name__, self.references = runner, handle, name, references
        self.variable, self.forbidden = variable, ()

    @property
    def label(self):
        """How messages name the function: by the answer's variable when there is one."""
        return self.variable or self.__name__

    def __repr__(self):
        return f"<student function {self.label}>"

    def __autograder_handoff__(self, names):
        """Forbid the library functions `names` (dotted, `autograder.recorder.dotted`) in the calls
        that follow; returns the first of them that the function's source reaches, or None."""
        from .recorder import first_match

        self.forbidden = tuple(names)
        return first_match(self.references, self.forbidden)

    def __call__(self, *args, **kwargs):
        from .checks import Wrong

        session, limits = self.runner.session, self.runner.limits
        if session is None or not session.alive:
            raise Wrong(f"`{self.label}` cannot be called: the notebook's Python process has ended "
                        f"({self.runner.broken or 'see the cells above'}).")
        left = limits.cell_timeout - self.runner.calls_cpu   # all calls of one test cell share it
        if left <= 0:
            raise Wrong(f"the checks of this cell ran out of their {limits.cell_timeout:g} s of CPU and waiting time "
                        f"in your function `{self.label}`: it is far too slow.")
        limit = self.runner.limit(min(limits.call_timeout, left))
        _progress({"phase": "call", "name": self.label})
        start = session.cpu_seconds() + session.idle_seconds
        try:
            value, error, tripped = session.call(self.handle, args, kwargs, limit)
        except SessionError as failure:
            if failure.kind == "timeout":
                self.runner.timed_out(failure, f"`{self.label}` on a probe")
                if failure.clock == "idle":
                    raise Wrong(f"`{self.label}` waited longer than {limit.cpu:g} s without computing on this "
                                f"probe and was stopped (time.sleep, or a blocked read).") from None
                raise Wrong(f"`{self.label}` did not return within {limit.cpu:g} s of CPU time on this probe "
                            f"and was stopped (an endless loop, or far too slow).") from None
            raise Wrong(f"`{self.label}` stopped the grader's run of your code: {failure}.") from None
        finally:
            self.runner.calls_cpu += max(0.0, session.cpu_seconds() + session.idle_seconds - start)
            _progress({"phase": "grader"})
        self._judge_calls(session.last)
        if tripped:
            raise Wrong(handoff_message(self.label, tripped[0]))
        if error is not None:
            ename = error[0] if error[0].isidentifier() else "Error"
            raise type(ename, (StudentError,), {})(error[1])
        return _bind(value, f"the value returned by `{self.label}`", self.runner)

    def _judge_calls(self, reply):
        """The hand-off rule at run time: what the call entered, as the sandbox recorded it."""
        from .checks import Wrong
        from .recorder import first_match

        calls, untracked = list(reply.get("calls", [])), reply.get("untracked")
        _CALLS.update(calls)
        if untracked:
            _CALLS.add(f"untracked: {untracked}"[:300])
        if not self.forbidden:
            return
        used = first_match(calls, self.forbidden)
        if used:
            raise Wrong(handoff_message(self.label, used))
        if untracked:
            raise Wrong(f"`{self.label}` tampered with the grader's record of the library functions it uses "
                        f"({untracked}), so the grader cannot tell whether it hands the work to the library. "
                        f"This part scores 0.")


class StudentError(Exception):
    """An exception raised by the student's function (its class is named like the student's)."""


def _bind(value, what, runner, variable=None):
    """A decoded wire value as the grader's tests see it (`variable`: the name it was read by)."""
    if isinstance(value, wire.Function):
        references = runner.use.references(value.name)
        if variable is not None:
            references = references | runner.use.references(variable)
        return RemoteFunction(runner, value.handle, value.name, references, variable)
    if isinstance(value, wire.Broken):
        return Unreadable(f"{what} could not be read by the grader: {value.reason}.")
    if isinstance(value, wire.NotData) and value.type_name.startswith("too large: "):
        return Unreadable(f"{what} is too large for the grader to read ({value.type_name[11:]}; the limit is "
                          f"{runner.limits.reply_mb} MB).")
    if isinstance(value, wire.NotData):
        return opaque(value.type_name, f"{what} (a {value.type_name})")
    if isinstance(value, wire.Module):
        return opaque("module", f"{what} (the module {value.name})")
    if isinstance(value, list):
        return [_bind(v, what, runner) for v in value]
    if isinstance(value, tuple):
        return tuple(_bind(v, what, runner) for v in value)
    if isinstance(value, dict):
        return {k: _bind(v, what, runner) for k, v in value.items()}
    return value


def _loads_and_binds(tree):
    """The names an AST reads and the names it binds (assignments, definitions, imports, arguments)."""
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return loaded, bound


def free_names(source):
    """Names a test cell reads and never binds itself (nor gets from Python's builtins).

    >>> sorted(free_names("import numpy as np\\nK = data.K\\nchecks.compare('Z', Z, np.rot90(K))"))
    ['Z', 'checks', 'data']
    """
    loaded, bound = _loads_and_binds(ast.parse(source))
    return {n for n in loaded - bound if not hasattr(builtins, n)}


def bound_names(source):
    """Names a student cell binds anywhere (assignments, definitions, imports), or None when it is
    not Python: what a test cell may miss when that cell was stopped.

    >>> sorted(bound_names("import numpy as np\\nZ = np.ones(3)\\ndef f(x):\\n    y = x\\n    return y"))
    ['Z', 'f', 'np', 'x', 'y']
    """
    tree = parse_cell(source)
    return None if tree is None else _loads_and_binds(tree)[1]
