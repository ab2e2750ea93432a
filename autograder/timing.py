"""Time limits that never cost a student earned points: CPU seconds first, wall clock as a backstop.

A busy grading machine makes every process take longer by the clock, but not use more CPU: an
honest cell that needs 0.2 s of CPU needs 0.2 s whether the server is idle or runs a class of
other gradings. So every limit on the student's code is counted in CPU seconds of the sandboxed
process (read by the grader from ``/proc``, never reported by the untrusted process itself), and
the wall clock only stops code that waits without computing, long after any honest run:

- `Limit`: the CPU seconds one request may use (a cell, reading values, one call of a function
  on a probe) and its wall-clock backstop, `autograder.course.Limits.wall_factor` times as long;
- `wait_readable` waits for the sandbox's reply under a `Limit` and raises `TimedOut`, which
  says which clock ran out;
- `process_cpu` adds up the CPU time of processes, `descendants` finds a process's tree (the
  sandbox's bwrap, its init and the worker; the worker cannot start more).

What a timeout then costs is decided in `autograder.grading`: a CPU timeout is the student's (the
code is too slow, the same on any machine); a wall-clock timeout is retried, and if it happens
again the part is flagged for the instructor instead of being scored 0.

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
    """CPU seconds a request may use, and the wall-clock seconds after which it is stopped anyway."""

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
    """A request ran out of its `Limit`: ``clock`` is "cpu" or "wall", ``cpu`` and ``wall`` the
    seconds it used of each."""

    def __init__(self, clock, cpu, wall, limit):
        self.clock, self.cpu, self.wall, self.limit = clock, cpu, wall, limit
        if clock == "cpu":
            super().__init__(f"ran over its time limit of {limit.cpu:g} s of CPU time")
        else:
            before = f", before it had used {limit.cpu:g} s of CPU time" if limit.wall > limit.cpu else ""
            super().__init__(f"did not finish within the time limit ({limit.wall:g} s by the clock{before})")


WALL_STOP = ("did not finish within the grader's wall-clock backstop ({} tries), although it had not used up "
             "its CPU time: it waits for something, or the grading machine was too busy")
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

def _stat(pid):
    """``(parent pid, CPU seconds)`` of `pid` (its threads and reaped children included), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            text = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()   # the name in parentheses may hold spaces
    try:
        ticks = sum(int(v) for v in fields[11:15])   # utime, stime, cutime, cstime
        return int(fields[1]), ticks / TICKS
    except (ValueError, IndexError):
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


# ---------------------------------------------------------------------------------------------
# Waiting under a limit
# ---------------------------------------------------------------------------------------------

def wait_readable(fd, limit, clock, start_cpu=None):
    """Wait until `fd` can be read; `TimedOut` when `limit` runs out first.

    `clock()` gives the CPU seconds of the process that is to answer; the request's CPU is what
    it used since `start_cpu` (default: its value now). The clock is read between short waits
    on `fd`, so a reply is seen the moment it comes, and busy code is stopped soon after its
    CPU limit.
    """
    start = time.monotonic()
    start_cpu = clock() if start_cpu is None else start_cpu
    wait = POLL[0]
    while True:
        ready, _, _ = select.select([fd], [], [], wait)
        if ready:
            return
        used, elapsed = clock() - start_cpu, time.monotonic() - start
        if used >= limit.cpu:
            raise TimedOut("cpu", used, elapsed, limit)
        if elapsed >= limit.wall:
            raise TimedOut("wall", used, elapsed, limit)
        wait = min(limit.wall - elapsed, max(POLL[0], (limit.cpu - used) / 2), POLL[1])
