"""The run of one notebook: the student's process, its restarts, and the test cells (steps 1-4 of
`autograder.grading`).

`NotebookRun` runs the student's cells in order in the sandbox, starts the process again (and
replays the cells before) when a cell ends it, and runs each test cell in the grader
(`autograder.check_process`) on the student's values (`autograder.student_values`). Time is
counted as `autograder.timing` says: CPU seconds of the student's code, a wall-clock backstop, and
retries in a fresh process before a timeout counts.
"""
import hashlib
import io
import sys
import time

from . import timing, wire
from .check_process import run_in_child
from .sandbox import ByteBudget, SessionError
from .student_values import Unreadable, _bind, bound_names, free_names

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
            outcome = run_in_child(self, grade_id, source, cell_namespace, final, salt)
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
