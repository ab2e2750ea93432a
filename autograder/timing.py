"""Time limits that never cost a student earned points: CPU seconds first, wall clock as a backstop.

A busy grading machine makes every process take longer by the clock, but not use more CPU: an
honest cell that needs 0.2 s of CPU needs 0.2 s whether the server is idle or runs a class of
other gradings. So every limit on the student's code is counted by the sandboxed process's own
clocks, read by the grader from ``/proc`` (never reported by the untrusted process itself):

- its CPU seconds (``utime + stime``);
- the seconds it waits without computing (every thread asleep: ``time.sleep``, a blocked read),
  which is the same on a busy machine as on an idle one, and may be as long as the CPU limit;
- the time it is runnable but gets no CPU, because the machine is busy, is not the student's:
  only a wall-clock backstop, `autograder.course.Limits.wall_factor` times the CPU limit,
  stops it, long after any honest run.

- `Limit`: the CPU (and waiting) seconds one request may use (a cell, reading values, one call
  of a function on a probe) and its wall-clock backstop;
- `wait_readable` waits for the sandbox's reply under a `Limit` and raises `TimedOut`, which
  says which clock ran out: "cpu", "idle" or "wall";
- `process_cpu` adds up the CPU time of processes, `descendants` finds a process's tree (the
  sandbox's bwrap, its init and the worker; the worker cannot start more).

What a timeout then costs is decided in `autograder.grading`: a CPU or idle timeout is the
student's (the code is too slow or waits too long, the same on any machine); a wall-clock
timeout is retried, and if it happens again the part is flagged for the instructor instead of
being scored 0.

>>> Limit(2, 20)
Limit(cpu=2.0, wall=20.0)
>>> Limit(5, 1)
Traceback (most recent call last):
...
ValueError: the wall-clock backstop wall=1 must be at least the CPU limit cpu=5
"""
import os
import select
import time
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
"""Clock ticks per second of the CPU times in ``/proc/<pid>/stat``."""

POLL = (0.02, 0.5)
"""Shortest and longest pause between two readings of the CPU clock while waiting."""


@dataclass(frozen=True)
class Limit:
    """CPU seconds a request may use (and as many seconds of waiting without computing), and the
    wall-clock seconds after which it is stopped anyway."""

    cpu: float
    wall: float

    def __post_init__(self):
        object.__setattr__(self, "cpu", float(self.cpu))
        object.__setattr__(self, "wall", float(self.wall))
        if not self.cpu > 0:
            raise ValueError(f"the CPU limit cpu={self.cpu:g} must be a positive number of seconds")
        if not self.wall >= self.cpu:
            raise ValueError(f"the wall-clock backstop wall={self.wall:g} must be at least the CPU limit "
                             f"cpu={self.cpu:g}")

    @classmethod
    def of(cls, timeout):
        """`timeout` as a `Limit`: a `Limit` stays, a number of seconds limits both clocks."""
        return timeout if isinstance(timeout, Limit) else cls(timeout, timeout)


class TimedOut(TimeoutError):
    """A request ran out of its `Limit`: ``clock`` is "cpu", "idle" or "wall"; ``cpu``, ``idle``
    and ``wall`` are the seconds it used of each."""

    def __init__(self, clock, cpu, idle, wall, limit):
        self.clock, self.cpu, self.idle, self.wall, self.limit = clock, cpu, idle, wall, limit
        if clock == "cpu":
            super().__init__(f"ran over its time limit of {limit.cpu:g} s of CPU time")
        elif clock == "idle":
            super().__init__(f"waited longer than its time limit of {limit.cpu:g} s without computing")
        else:
            before = f", before it had used {limit.cpu:g} s of CPU time" if limit.wall > limit.cpu else ""
            super().__init__(f"did not finish within the time limit ({limit.wall:g} s by the clock{before})")


WALL_STOP = ("did not finish within the grader's wall-clock backstop ({} tries), although it had not used up "
             "its CPU time: the grading machine was too busy")
"""How a stop by the wall clock alone is reported (formatted with the number of tries)."""


class Retry(BaseException):
    """In the grader's check process: a probe timed out on an attempt that is not the last, so
    the test cell runs again in a fresh process. (A BaseException, so that no check's ``except
    Exception`` mistakes it for the student's error.)"""


class Undecided(BaseException):
    """In the grader's check process: only the wall clock stopped the student's code, on the last
    attempt, so the part is flagged for a manual grade with this reason instead of scoring 0."""


def seed_note(seeds):
    """The line a failed test cell shows about the seeds of its random probes.

    >>> print(seed_note([12, 345]), end="")
    Random probes of this cell: seeds 12, 345.
    To replay them, run checks.grading_context(seeds=[12, 345]) before the cell.
    """
    plural = "s" if len(seeds) != 1 else ""
    return (f"Random probes of this cell: seed{plural} {', '.join(str(s) for s in seeds)}.\n"
            f"To replay them, run checks.grading_context(seeds={list(seeds)}) before the cell.\n")


# ---------------------------------------------------------------------------------------------
# CPU clocks
# ---------------------------------------------------------------------------------------------

def _read(path):
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()   # the name in parentheses may hold spaces


def _stat(pid):
    """``(parent pid, CPU seconds)`` of `pid` (its threads and reaped children included), or None."""
    fields = _read(f"/proc/{pid}/stat")
    try:
        return int(fields[1]), sum(int(v) for v in fields[11:15]) / TICKS   # utime, stime, cutime, cstime
    except (TypeError, ValueError, IndexError):
        return None


def descendants(pid):
    """`pid` and every process below it, found through the parent pids of ``/proc``."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _stat(int(name))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(name))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def process_cpu(pids):
    """CPU seconds used so far by the processes `pids` (those that ended count no more)."""
    total = 0.0
    for pid in pids:
        stat = _stat(pid)
        if stat is not None:
            total += stat[1]
    return total


def asleep(pids):
    """Whether every thread of the processes `pids` is asleep (state S): waiting for something,
    not computing. A thread that runs or waits for a CPU (R), for the disk (D) or is stopped (T)
    is not asleep; neither is a process that cannot be read."""
    for pid in pids:
        try:
            threads = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return False
        for tid in threads:
            fields = _read(f"/proc/{pid}/task/{tid}/stat")
            if fields and fields[0] not in ("S", "I"):
                return False
    return True


# ---------------------------------------------------------------------------------------------
# Waiting under a limit
# ---------------------------------------------------------------------------------------------

def wait_readable(fd, limit, clock, start_cpu=None):
    """Wait until `fd` can be read; returns the seconds spent asleep, or raises `TimedOut`.

    `clock()` gives ``(CPU seconds, asleep)`` of the process that is to answer (see `asleep`);
    the request's CPU is what it used since `start_cpu` (default: its value now), its idle time
    the time it was found asleep. Both may reach ``limit.cpu``; the wall clock ``limit.wall``.
    The clocks are read between short waits on `fd`, so a reply is seen the moment it comes,
    and code is stopped soon after it runs out.
    """
    start = last = time.monotonic()
    start_cpu = clock()[0] if start_cpu is None else start_cpu
    wait, idle, sleeping = POLL[0], 0.0, False
    while True:
        ready, _, _ = select.select([fd], [], [], wait)
        if ready:   # the time since the last reading goes by the state seen then
            return idle + (time.monotonic() - last if sleeping else 0.0)
        now = time.monotonic()
        cpu, sleeping = clock()
        if sleeping:
            idle += now - last
        last = now
        used, elapsed = cpu - start_cpu, now - start
        for clock_name, spent, allowed in (("cpu", used, limit.cpu), ("idle", idle, limit.cpu),
                                           ("wall", elapsed, limit.wall)):
            if spent >= allowed:
                raise TimedOut(clock_name, used, idle, elapsed, limit)
        wait = min(limit.wall - elapsed, max(POLL[0], (limit.cpu - max(used, idle)) / 2), POLL[1])
