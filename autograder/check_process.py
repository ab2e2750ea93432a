"""One test cell's check, in a forked child of the grader (step 2 of `autograder.grading`).

The child gets the cell's namespace (the student's values bound by `autograder.student_values`),
a memory limit, a CPU limit and one BLAS thread. It runs the instructor's source and reports its
phases and its outcome to the parent as JSON lines on a pipe. The parent (`run_in_child`) waits
for them until the check's wall-clock backstop, and turns a child that died or hung into a
manual-grade flag with the reason.
"""
import io
import json
import os
import resource
import select
import signal
import sys
import time
import warnings

from . import timing
from .student_values import _CALLS, _PROGRESS

MAX_TEST_OUTPUT = 20_000


def run_in_child(run, grade_id, source, namespace, final=True, salt=""):
    """Run `source` in a forked child of the grader; returns its outcome (a dict)."""
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    blas = _blas_controller()
    pid = os.fork()
    if pid == 0:   # the child: never returns
        try:
            os.close(read_fd)
            run.final, run.calls_cpu = final, 0.0
            _check_child(grade_id, source, namespace, run, write_fd, salt, blas)
        finally:
            os._exit(0)
    os.close(write_fd)
    phase, outcome, buffer = {"phase": "grader"}, None, b""
    try:
        while outcome is None:
            wait = run.test_deadline + 1.0 - time.monotonic()
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
    backstop = time.monotonic() > run.test_deadline
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        why = f"the grader's own check used up its {run.limits.cell_timeout:g} s of CPU time"
    elif os.WIFSIGNALED(status) and os.WTERMSIG(status) != signal.SIGKILL:
        why = f"the grader's check ended by signal {signal.Signals(os.WTERMSIG(status)).name}"
    elif backstop and not final:
        return {"done": "retry", "session": "dead"}
    elif backstop:
        during = f" while your function `{phase.get('name')}` ran" if phase.get("phase") == "call" else ""
        why = f"the grader's check ran into its {run.check_backstop():g} s wall-clock backstop{during}"
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
