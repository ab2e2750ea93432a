"""Grading a notebook without trusting it: student code in the sandbox, tests in the grader.

nbgrader's usual way runs the hidden tests inside the student's kernel, where the student's code
can replace ``numpy.allclose``, hide cells with an input transformer or skip them with a tag. Here
(`run_notebook`, the `autograder.execute.Executor`'s runner) the two never share a process:

1. The student's cells (setup, answers, their own cells) run in order in a sandboxed
   `autograder.worker` (`autograder.sandbox`), which records their outputs. A cell that runs
   over its time limit, ends the process or floods the output is stopped; the process is then
   started again and the cells before it replayed, so one bad cell costs only what depends on it.
2. Every test cell (visible and hidden) is run by the grader instead, at its place in the
   notebook, with the instructor's source from the gradebook (never the submitted copy). Its free
   names are read from the student's process as plain data (`autograder.wire`); a function comes
   back as a `RemoteFunction` that calls the student's code in the sandbox on the grader's probes
   and returns plain data. The test itself runs in a child of the grader's process (fork), with
   the grader's numpy, textbook_core and checks, a time limit and a memory limit, and its outcome
   becomes the cell's output (an error output fails the cell, as nbgrader expects).
3. A function that hands its work to the library's own answer scores 0 on the parts whose hidden
   test names that answer in ``forbidden=``: seen in the source (`LibraryUse`: the function and
   every function of the student it uses, through aliases, imports and ``getattr`` strings) or at
   run time (the sandbox's tripwires, `autograder.course.REFERENCE_ANSWERS`).
4. When the grader cannot decide (its own check ran out of time or memory on the student's
   data), the cell scores 0 for now and is flagged for a manual grade, with the reason
   (`autograder.intake.FlagForManualGrading`).

The stateless grading job (`autograder.job`) runs this through nbgrader's own steps, with the
instructor's cells from its grading bundle instead of the gradebook (``resources["autograder"]["cells"]``).
"""
import ast
import builtins
import copy
import hashlib
import io
import json
import os
import re
import resource
import select
import signal
import sys
import tempfile
import time
import warnings
from dataclasses import asdict

import nbformat

from . import timing, wire
from .course import Limits
from .handoff import LibraryUse, handoff_message, parse_cell
from .intake import note
from .sandbox import ByteBudget, Sandbox, SessionError

MEMORY = {}
"""``{(student, notebook): {"start_mb", "peak_mb", "sent_bytes"}}``: the grading process's memory
while each notebook was graded, and the bytes its student process sent (from the results). With
the environment variable `MEMORY_LOG` set to a file, every grading process (local workers too)
also appends each record to it as a JSON line (`read_memory_log`)."""

MEMORY_LOG = "AUTOGRADER_MEMORY_LOG"

GRADER_MEMORY_MB = 256
"""The stated bound: while it grades one notebook, the grading process's resident memory grows by
at most this much over what it held when the notebook started, whatever the student's process
sends (it is read within `Limits.reply_mb` per reply and `Limits.output_mb` in all). Measured
per notebook (``grader_memory`` in the results); ``tests/test_attacks.py`` holds the attack
corpus to it."""

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MAX_TEST_OUTPUT = 20_000


# ---------------------------------------------------------------------------------------------
# What the gradebook says about a notebook
# ---------------------------------------------------------------------------------------------

def gradebook_cells(db_url, assignment, notebook):
    """``(sources, grade_cells)``: instructor sources by grade id, and the grade ids of test cells."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        nb = gb.find_notebook(notebook, assignment)
        sources = {c.name: (c.cell_type, c.source, bool(c.locked)) for c in nb.source_cells}
        solutions = {c.name for c in nb.solution_cells}
        tests = {c.name for c in nb.grade_cells if c.cell_type == "code" and c.name not in solutions}
    return sources, tests


def strip_hidden(source):
    """A test cell's source as the student sees it: the hidden region cut out."""
    kept, hidden = [], False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            hidden = True
        elif HIDDEN_END in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def _meta(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


# ---------------------------------------------------------------------------------------------
# Student values in the grader
# ---------------------------------------------------------------------------------------------

_PROGRESS = []   # in the check process: a function that reports which phase it is in
_CALLS = set()   # in the check process: the library functions the student's functions entered


def _progress(message):
    if _PROGRESS:
        _PROGRESS[0](message)


class Opaque:
    """A student value that is not plain data: any use of it is a TypeError naming its type."""

    def __init__(self, what):
        object.__setattr__(self, "_what", what)

    def _refuse(self, *args, **kwargs):
        raise TypeError(f"{object.__getattribute__(self, '_what')} is not plain data (numbers, strings, "
                        f"lists, arrays), so the grader cannot read it as an answer")

    __array__ = __iter__ = __len__ = __float__ = __int__ = __index__ = __bool__ = __getitem__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __add__ = __radd__ = __mul__ = __rmul__ = _refuse
    __sub__ = __rsub__ = __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __call__ = _refuse
    __hash__ = object.__hash__

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        self._refuse()

    def __repr__(self):
        return f"<{object.__getattribute__(self, '_what')}>"


def opaque(type_name, what):
    """An `Opaque` whose class is named after the student's type (messages quote the type name)."""
    safe = re.sub(r"\W", "_", type_name)[:50] or "object"
    if not safe[0].isalpha():
        safe = "obj_" + safe
    return type(safe, (Opaque,), {})(what)


class Unreadable:
    """A student name whose value could not be read (the read ran out of time or ended the
    process): any use of it fails the test with that reason, or, when only the wall-clock
    backstop ran out (`undecided`), flags the part for a manual grade."""

    def __init__(self, message, undecided=False):
        object.__setattr__(self, "_message", message)
        object.__setattr__(self, "_undecided", undecided)

    def _refuse(self, *args, **kwargs):
        from .checks import Wrong

        message = object.__getattribute__(self, "_message")
        raise timing.Undecided(message) if object.__getattribute__(self, "_undecided") else Wrong(message)

    __array__ = __iter__ = __len__ = __float__ = __int__ = __index__ = __bool__ = __getitem__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __add__ = __radd__ = __mul__ = __rmul__ = _refuse
    __sub__ = __rsub__ = __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __call__ = _refuse
    __hash__ = object.__hash__

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        self._refuse()


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


_SETUP = {}


def grader_namespace(setup_sources):
    """The namespace the instructor's setup cells make, run in the grader (cached per source)."""
    key = hashlib.sha256("\0".join(setup_sources).encode()).hexdigest()
    if key not in _SETUP:
        namespace = {"__name__": "__main__"}
        stdout = sys.stdout
        sys.stdout = io.StringIO()
        try:
            for source in setup_sources:
                exec(compile(source, "<setup>", "exec"), namespace)
        finally:
            sys.stdout = stdout
        _SETUP[key] = namespace
    return dict(_SETUP[key])


# ---------------------------------------------------------------------------------------------
# The run of one notebook
# ---------------------------------------------------------------------------------------------

def _error(ename, evalue):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}


class NotebookRun:
    """Steps 1-4 for one notebook: the student's process, its restarts, and the test cells.

    Time limits follow `autograder.timing`: CPU seconds of the student's code, a wall-clock
    backstop `Limits.wall_factor` times as long, retries after a timeout, and a manual-grade
    flag (never 0 points) for what only the wall clock stopped.
    """

    def __init__(self, sandbox, files, limits, use, context=("", "")):
        self.sandbox, self.files, self.limits, self.use = sandbox, files, limits, use
        self.assignment, self.student = context
        self.session, self.history, self.restarts, self.broken, self.stopped = None, [], 0, None, []
        self.retried = 0      # restarts for a retry, which `Limits.max_restarts` does not count
        self.started, self.time_done = time.monotonic(), 0.0   # CPU and idle seconds of ended processes
        self.undecided = []   # (names the stopped code binds, or None for all; reason)
        self.seeds = {}       # grade id -> the seeds its checks drew (`checks.random_seed`)
        self.final, self.calls_cpu = True, 0.0   # in the check process: last attempt? CPU and idle of its calls
        self.test_deadline = 0.0
        self.budget = ByteBudget(limits.output_mb * 2 ** 20)
        self.calls = []              # what the latest cell entered (`autograder.recorder`)
        self.answer_calls = {}       # grade id of an answer cell: what it entered
        self.notes = []              # what the grader dropped from the process's replies

    def limit(self, cpu):
        """A `timing.Limit` of `cpu` CPU seconds and its wall-clock backstop."""
        return timing.Limit(cpu, cpu * self.limits.wall_factor)

    def used(self):
        """CPU and idle seconds of the notebook's student code so far, in all its processes."""
        live = self.session.cpu_seconds() + self.session.idle_seconds if self.session is not None else 0.0
        return self.time_done + live

    def out_of_time(self):
        """None, or ``(reason, clock)`` when the notebook may run no more of the student's code."""
        budget = self.limits.notebook_timeout
        if self.used() >= budget:
            return f"the notebook used up its {budget:g} s of computing and waiting time", "cpu"
        if time.monotonic() - self.started >= budget * self.limits.wall_factor:
            return (f"the notebook ran into its {budget * self.limits.wall_factor:g} s wall-clock backstop before "
                    f"using up its {budget:g} s of CPU time"), "wall"
        return None

    def timed_out(self, error, what):
        """In the check process: what a timeout of `what` (a `SessionError`) means for the test.

        Raises `timing.Retry` unless this is the last attempt, then `timing.Undecided` if only the
        wall clock ran out; returns for a CPU timeout, which the caller reports as a failure.
        """
        if not self.final:
            raise timing.Retry(what)
        if error.clock == "wall":
            raise timing.Undecided(f"{what} {timing.WALL_STOP.format(self.limits.retries + 1)}")

    # -- the student's process --------------------------------------------------------------

    def ensure(self):
        """A live process with the state of every cell run so far; False if that cannot be had."""
        if self.session is not None and self.session.alive:
            return True
        if self.broken:
            return False
        if self.session is not None:
            if self.restarts - self.retried >= self.limits.max_restarts:
                self.broken = f"it ended {self.restarts - self.retried + 1} times; the grader stopped restarting it"
                return False
            over = self.out_of_time()
            if over:
                self.broken = f"it ended after {over[0]}"
                if over[1] == "wall":
                    self.undecided.append((None, self.broken))
                return False
            self.restarts += 1
            self.time_done += self.session.cpu_seconds() + self.session.idle_seconds
            self.close()
        self.session = self.sandbox.start(self.files, budget=self.budget)
        for source in self.history:
            try:
                self.session.run(source, self.limit(self.limits.cell_timeout), quiet=True)
            except SessionError as error:
                self.broken = f"running the earlier cells again after a restart failed: {error}"
                if error.clock == "wall":
                    self.undecided.append((None, self.broken))
                return False
        return True

    def close(self):
        if self.session is not None:
            self.notes.extend(n for n in self.session.notes if n not in self.notes)
            self.session.close()

    def _recorded(self, reply):
        """The calls of a reply (`Session.last`), with an ``untracked: ...`` entry if it was tampered with."""
        calls = list(reply.get("calls", []))
        if reply.get("untracked"):
            calls.append(f"untracked: {reply['untracked']}"[:300])
        return calls

    def run_student_cell(self, source, grade_id=None):
        self.calls = []
        over = self.out_of_time()
        if over:
            if over[1] == "wall":
                self.undecided.append((bound_names(source), over[0]))
            return [_error("NotRun", f"not run: {over[0]}")]
        failure = None
        for _ in range(self.limits.retries + 1):
            if not self.ensure():
                break
            try:
                outputs, _ = self.session.run(source, self.limit(self.limits.cell_timeout))
            except SessionError as error:
                failure = error
                if error.kind == "timeout" and error.clock == "wall":
                    self.retried += 1   # the machine may have been too busy: again, in a fresh process
                    continue
                break
            self.history.append(source)
            self.calls = self._recorded(self.session.last)
            if grade_id is not None:
                self.answer_calls[grade_id] = self.calls
            return [o for o in outputs if isinstance(o, dict)]
        if failure is None:
            return [_error("NotRun", f"not run: your notebook's Python process is gone ({self.broken})")]
        return self._stopped(source, failure)

    def _stopped(self, source, error):
        """The outputs of a cell that `error` stopped, and what it leaves undecided."""
        restart = " The cells after it run in a fresh Python, where the cells before it are run again first."
        seconds = self.limits.cell_timeout
        if error.kind == "timeout" and error.clock == "wall":
            text = f"this cell {timing.WALL_STOP.format(self.limits.retries + 1)}"
            self.undecided.append((bound_names(source), text))
            message = ("CellTimeoutError", text + " The parts that need it are flagged for your instructor.")
        elif error.kind == "timeout" and error.clock == "idle":
            message = ("CellTimeoutError", f"this cell waited longer than {seconds:g} s without computing and was "
                                           f"stopped (time.sleep, or a blocked read).")
        else:
            message = {
                "timeout": ("CellTimeoutError", f"this cell ran longer than {seconds:g} s and was stopped: it used "
                                                f"up its {seconds:g} s of CPU time (an endless loop, or far too slow)."),
                "ended": ("DeadKernelError", f"{error} while this cell ran (os._exit, a crash, or over the "
                                              f"memory or CPU limit)."),
                "too-large": ("OutputLimitError", f"this cell's output {error}."),
            }.get(error.kind, ("ProtocolError", f"the grader could not read this cell's result: {error}."))
        self.stopped.append(message[1].rstrip("."))
        return [_error(message[0], message[1] + restart)]

    # -- a test cell, in the grader ------------------------------------------------------------

    def run_test_cell(self, grade_id, source, namespace):
        """Outputs of a test cell and, if the grader could not decide, the reason.

        A probe that times out makes the whole cell run again (the same seeds, so the same
        probes) in a fresh process, `Limits.retries` times, before the timeout counts. The seeds
        its checks drew are kept in ``seeds[grade_id]``.
        """
        salt = hashlib.sha256(source.encode("utf-8")).hexdigest()   # the instructor's source, hidden tests and all
        for attempt in range(self.limits.retries + 1):
            final = attempt == self.limits.retries
            cell_namespace = dict(namespace)
            if not self._fetch(source, cell_namespace, final):
                continue
            cell_namespace["__autograder_calls__"] = dict(self.answer_calls, __reads__=list(self.calls))
            self.test_deadline = time.monotonic() + self.check_backstop()
            outcome = self._in_child(grade_id, source, cell_namespace, final, salt)
            self.calls = sorted(set(self.calls) | set(outcome.pop("calls", [])))
            if outcome.pop("session", "ok") != "ok" and self.session is not None:
                self.session.kill()
            if outcome["done"] != "retry" or final:
                break
            self.retried += self.session is not None and not self.session.alive
        seeds = self.seeds[grade_id] = [int(s) for s in outcome.get("seeds", [])]
        if outcome["done"] == "failed" and self.undecided:
            names = free_names(source)
            reasons = [why for bound, why in self.undecided if bound is None or bound & names]
            if reasons:
                outcome = {"done": "manual", "stdout": outcome.get("stdout", ""),
                           "reason": f"A cell it depends on was stopped: {reasons[0]}."}
        if outcome.get("ename") == "NameError" and self.stopped:
            outcome["evalue"] += f" (a cell above did not finish: {self.stopped[-1]})"
        outputs = []
        if outcome.get("stdout"):
            outputs.append({"output_type": "stream", "name": "stdout", "text": outcome["stdout"]})
        if seeds and outcome["done"] != "passed":
            outputs.append({"output_type": "stream", "name": "stdout", "text": timing.seed_note(seeds)})
        manual = None
        if outcome["done"] == "failed":
            outputs.append(_error(outcome["ename"], outcome["evalue"]))
        elif outcome["done"] in ("manual", "retry"):
            manual = outcome.get("reason") or "the grader could not finish its check of this cell."
            outputs.append(_error("ManualGradingNeeded", f"{manual} This part is flagged for your instructor "
                                                          f"to grade by hand."))
        return outputs, manual

    def check_backstop(self):
        """Wall-clock seconds the grader waits for one check process: its own CPU limit and that
        of the student's calls during it, `Limits.wall_factor` times over."""
        return self.limits.wall_factor * (2 * self.limits.cell_timeout + 2)

    def _fetch(self, source, namespace, final):
        """Read the student's values of the names `source` uses into `namespace`; False when a
        read stopped only by the wall clock is to be tried again."""
        names = free_names(source) - {k for k, v in namespace.items() if type(v).__name__ == "module"}
        values, self.calls = {}, []
        if names and self.ensure():
            try:
                values = self.session.get(names, self.limit(self.limits.cell_timeout))
                self.calls = self._recorded(self.session.last)
            except SessionError as error:   # e.g. a value whose conversion never returns
                wall = error.kind == "timeout" and error.clock == "wall"
                if wall and not final:
                    self.retried += 1
                    return False
                if error.kind != "timeout":
                    reason = str(error)
                elif wall:
                    reason = timing.WALL_STOP.format(self.limits.retries + 1)
                elif error.clock == "idle":
                    reason = f"waited longer than {self.limits.cell_timeout:g} s without computing"
                else:
                    reason = f"took too long (more than {self.limits.cell_timeout:g} s of CPU time)"
                for name in names - set(namespace):
                    namespace[name] = Unreadable(f"`{name}` could not be read from your notebook: reading its "
                                                 f"values {reason}.", undecided=wall)
        for name, value in values.items():
            if isinstance(value, wire.Module) and name in namespace:
                continue
            namespace[name] = _bind(value, f"`{name}`", self, variable=name)
        return True

    def _in_child(self, grade_id, source, namespace, final=True, salt=""):
        """Run `source` in a forked child of the grader; returns its outcome (a dict)."""
        read_fd, write_fd = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        blas = _blas_controller()
        pid = os.fork()
        if pid == 0:   # the child: never returns
            try:
                os.close(read_fd)
                self.final, self.calls_cpu = final, 0.0
                _check_child(grade_id, source, namespace, self, write_fd, salt, blas)
            finally:
                os._exit(0)
        os.close(write_fd)
        phase, outcome, buffer = {"phase": "grader"}, None, b""
        try:
            while outcome is None:
                wait = self.test_deadline + 1.0 - time.monotonic()
                if wait <= 0:
                    break
                ready, _, _ = select.select([read_fd], [], [], wait)
                if not ready:
                    continue
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    message = json.loads(line)
                    if "done" in message:
                        outcome = message
                    else:
                        phase = message
        finally:
            os.close(read_fd)
            if outcome is None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            _, status = os.waitpid(pid, 0)
        if outcome is not None:
            return outcome
        backstop = time.monotonic() > self.test_deadline
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
            why = f"the grader's own check used up its {self.limits.cell_timeout:g} s of CPU time"
        elif os.WIFSIGNALED(status) and os.WTERMSIG(status) != signal.SIGKILL:
            why = f"the grader's check ended by signal {signal.Signals(os.WTERMSIG(status)).name}"
        elif backstop and not final:
            return {"done": "retry", "session": "dead"}
        elif backstop:
            during = f" while your function `{phase.get('name')}` ran" if phase.get("phase") == "call" else ""
            why = f"the grader's check ran into its {self.check_backstop():g} s wall-clock backstop{during}"
        elif os.WIFSIGNALED(status):
            why = "the grader's check was killed (out of memory?)"
        else:
            why = "the grader's check ended without a result"
        return {"done": "manual", "session": "dead", "reason": f"{why} on your answer (very large arrays?)."}


def _blas_controller():
    """threadpoolctl's view of the BLAS libraries loaded now (about 1 ms; None without
    threadpoolctl). Found again for every check: a library loaded since (scipy's own OpenBLAS,
    once some check imports scipy) would otherwise keep all its threads."""
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController()
    except Exception:   # no threadpoolctl, or it cannot inspect this process
        return None


def _check_child(grade_id, source, namespace, run, write_fd, salt="", blas=None):
    """In the forked child: limits, then the test; reports its phases and outcome as JSON lines.

    BLAS runs on one thread, as in the sandbox, so sums come out the same (in the same order) on
    any machine; the seeds of `checks.random_seed` are fixed by the assignment, the student, the
    cell and `salt` (a digest of the cell's instructor source).
    """
    from . import checks

    def report(message):
        data = (json.dumps(message) + "\n").encode()
        while data:
            data = data[os.write(write_fd, data):]

    try:
        vm = int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmSize:"))) * 1024
        memory = vm + run.limits.check_memory_mb * 2 ** 20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        cpu = int(run.limits.cell_timeout) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    except (OSError, ValueError, StopIteration):
        pass
    if blas is not None:
        blas.limit(limits=1)
    checks.grading_context(run.assignment, run.student, grade_id, salt)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _PROGRESS[:] = [report]
    _CALLS.clear()
    captured = io.StringIO()
    sys.stdout = sys.stderr = captured
    outcome = {"done": "passed"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(source, f"<{grade_id}>", "exec"), namespace)
    except timing.Retry:
        outcome = {"done": "retry"}
    except timing.Undecided as undecided:
        outcome = {"done": "manual", "reason": f"{undecided}."}
    except MemoryError:
        outcome = {"done": "manual", "reason": "the grader ran out of memory while checking your answer."}
    except BaseException as error:   # a failed test: its message is the feedback
        name = type(error).__name__
        outcome = {"done": "failed", "ename": name, "evalue": str(error)[:4000]}
    text = captured.getvalue()
    if len(text) > MAX_TEST_OUTPUT:
        text = text[:MAX_TEST_OUTPUT] + "\n[... output cut ...]\n"
    outcome["stdout"] = text
    outcome["seeds"] = checks.drawn_seeds()
    outcome["calls"] = sorted(_CALLS)[:2000]
    session = run.session
    outcome["session"] = "ok" if session is not None and session.alive else "dead"
    report(outcome)


def memory():
    """``{"rss_mb", "peak_mb"}`` of this process (``VmRSS``, ``VmHWM`` of ``/proc/self/status``)."""
    found = {}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[{"VmRSS": "rss_mb", "VmHWM": "peak_mb"}[key]] = int(value.split()[0]) / 1024
    except (OSError, ValueError):
        pass
    return found


def reset_peak():
    """Measure this process's peak memory afresh from now on (Linux: ``/proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _record_memory(resources, results):
    info = resources.get("nbgrader", {})
    record = dict(results.get("grader_memory", {}), sent_bytes=results.get("sent_bytes"))
    MEMORY[(info.get("student"), info.get("notebook"))] = record
    if os.environ.get(MEMORY_LOG):
        line = json.dumps(dict(record, student=info.get("student"), notebook=info.get("notebook"))) + "\n"
        with open(os.environ[MEMORY_LOG], "a", encoding="utf-8") as fh:
            fh.write(line)


def read_memory_log(path):
    """The records `MEMORY_LOG` collected: ``{(student, notebook): record}`` (the latest of each)."""
    found = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                found[(record.pop("student"), record.pop("notebook"))] = record
    return found


def grade_notebook(nb, resources, limits, release=None):
    """Steps 1-4 for the sanitized notebook `nb`.

    Returns plain data: ``{"outputs": {index: [...]}, "manual": {grade_id: reason}, "seeds":
    {grade_id: [seed, ...]}, "calls": {index: [...]}, "notes": [...], "restarts", "sent_bytes",
    "dropped_bytes", "sandbox": {...}, "grader_memory": {...}}``: the outputs and manual flags go
    into the graded notebook (`apply_results`); the seeds are those each test cell's random
    probes came from (`checks.random_seed`), so that a regrade or an instructor can replay them;
    ``calls`` are the library functions each cell entered (a test cell: while its values were
    read and its probes ran); ``grader_memory`` is this process's resident memory when the
    notebook started and its peak while it was graded (MiB).
    """
    reset_peak()
    start = memory()
    info = resources["nbgrader"]
    given = resources.get("autograder", {}).get("cells")   # a stateless job's cells, from its bundle
    sources, tests = given if given else gradebook_cells(info["db_url"], info["assignment"], info["notebook"])
    is_test = [c.cell_type == "code" and _meta(c).get("grade") and not _meta(c).get("solution")
               and _meta(c).get("grade_id") in tests for c in nb.cells]
    setup = [sources[_meta(c)["grade_id"]][1] for c, test in zip(nb.cells, is_test)
             if c.cell_type == "code" and not test and _meta(c).get("locked") and _meta(c).get("grade_id") in sources]
    student_view = copy.deepcopy(nb)
    for cell, test in zip(student_view.cells, is_test):
        if test:
            cell.source = strip_hidden(sources[_meta(cell)["grade_id"]][1])
    use = LibraryUse([c.source for c, test in zip(nb.cells, is_test) if c.cell_type == "code" and not test])
    namespace = grader_namespace(setup)
    results = {"outputs": {}, "manual": {}, "calls": {}}
    with tempfile.TemporaryDirectory(prefix="autograder-nb-") as tmp:
        path = os.path.join(tmp, f"{info['notebook']}.ipynb")
        with open(path, "w", encoding="utf-8") as fh:
            nbformat.write(student_view, fh)
        os.chmod(tmp, 0o755)
        os.chmod(path, 0o644)
        release_folder = os.path.join(release, info["assignment"]) if release else None
        sandbox = Sandbox(limits, release_folder)
        run = NotebookRun(sandbox, [(path, f"{info['notebook']}.ipynb")], limits, use,
                          (info["assignment"], info["student"]))
        try:
            for index, (cell, test) in enumerate(zip(nb.cells, is_test)):
                if cell.cell_type != "code":
                    continue
                if test:
                    grade_id = _meta(cell)["grade_id"]
                    outputs, manual = run.run_test_cell(grade_id, sources[grade_id][1], dict(namespace))
                    if manual:
                        results["manual"][grade_id] = manual
                else:
                    outputs = run.run_student_cell(cell.source, _meta(cell).get("grade_id"))
                results["outputs"][index] = outputs
                results["calls"][index] = run.calls
        finally:
            run.close()
    results.update(restarts=run.restarts, seeds=run.seeds, notes=run.notes, sent_bytes=run.budget.used,
                   dropped_bytes=run.budget.dropped, sandbox=sandbox.describe(),
                   grader_memory={"start_mb": start.get("rss_mb"), "peak_mb": memory().get("peak_mb")})
    return results


def apply_results(nb, resources, results):
    """Put `results` (from `grade_notebook`) into `nb` and the manual flags into `resources`."""
    count = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        count += 1
        cell.outputs = [nbformat.from_dict(o) for o in results["outputs"].get(index, [])]
        for output in cell.outputs:
            if output.get("output_type") == "execute_result":
                output["execution_count"] = count
        cell.execution_count = count
        seeds = results.get("seeds", {}).get(_meta(cell).get("grade_id"))
        if seeds:   # for a replay: `checks.grading_context(seeds=...)`
            cell.metadata.setdefault("autograder", {})["seeds"] = list(seeds)
    resources.setdefault("autograder", {})["seeds"] = dict(results.get("seeds", {}))
    flags = resources["autograder"].setdefault("manual", {})
    for grade_id, reason in results["manual"].items():
        flags[grade_id] = reason
        note(resources, f"{grade_id} needs a manual grade: {reason}")
    for message in results.get("notes", []):
        note(resources, message)
    _record_memory(resources, results)
    return nb, resources


def limits_of(executor):
    """The `Limits` configured on the `Executor` (``c.Executor.limits``), defaults otherwise."""
    values = dict(getattr(executor, "limits", {}) or {})
    known = set(asdict(Limits()))
    return Limits(**{k: v for k, v in values.items() if k in known})


def run_notebook(executor, nb, resources):
    """The `Executor` runner: grade `nb` as described above."""
    results = grade_notebook(nb, resources, limits_of(executor), getattr(executor, "release_directory", None))
    return apply_results(nb, resources, results)
