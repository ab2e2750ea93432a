"""Work on student content in a child process that cannot take the grader down with it.

Rendering a student's Markdown can cost time that grows with the square (or worse) of the
cell's size, and a page of huge outputs can take a lot of memory. `map_limited` runs a function
over a list of items in a forked child of this process with a memory limit (``RLIMIT_AS``) and a
CPU-time limit per item (``RLIMIT_CPU``, lowered before each item, so one slow item is stopped
by SIGXCPU without costing the others). The parent reads one result per item as it finishes; if
the child dies on an item, that item fails with the reason and a fresh child goes on with the next.

Limits are CPU seconds, so a busy machine does not make an honest item fail; the wall clock is
only a generous backstop against a child that waits on something forever.
"""
import json
import math
import os
import resource
import select
import signal
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class FeedbackLimits:
    """What rendering one notebook's feedback may use (CPU seconds, MiB).

    `cpu_per_cell` bounds one Markdown cell (or Markdown output); `cpu_per_notebook` all of a
    notebook's Markdown together, and separately the rendering of its page; `memory_mb` is the
    address space a rendering child may take beyond the grader's own. The wall-clock backstop
    of each is `wall_factor` times its CPU limit plus `wall_slack` seconds.
    """

    cpu_per_cell: float = 5.0
    cpu_per_notebook: float = 60.0
    memory_mb: int = 2048
    wall_factor: float = 10.0
    wall_slack: float = 30.0

    def wall(self, cpu):
        return self.wall_factor * cpu + self.wall_slack


@dataclass(frozen=True)
class Outcome:
    """The result of one item: ``value`` when ``ok``, else ``reason`` says why it failed."""

    ok: bool
    value: object = None
    reason: str = ""


def _cpu_seconds(usage):
    return usage.ru_utime + usage.ru_stime


def _child(fn, items, start, write_fd, cpu_per_item, cpu_total, memory_mb):
    """In the forked child: limits, then one JSON line per item from `start`. Never returns."""
    try:
        signal.signal(signal.SIGXCPU, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            vm = int(next(line.split()[1] for line in open("/proc/self/status")
                          if line.startswith("VmSize:"))) * 1024
            memory = vm + memory_mb * 2 ** 20
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        except (OSError, ValueError, StopIteration):
            pass
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        total = math.ceil(cpu_total) + 1
        hard = total if hard == resource.RLIM_INFINITY else min(hard, total)
        for index in range(start, len(items)):
            used = _cpu_seconds(resource.getrusage(resource.RUSAGE_SELF))
            soft = min(hard, math.ceil(used + cpu_per_item))
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
            try:
                message = {"i": index, "ok": fn(items[index])}
            except MemoryError:
                message = {"i": index, "error": f"needed more than {memory_mb} MB of memory"}
            except Exception as error:   # the item's own failure, reported, not fatal
                message = {"i": index, "error": f"failed ({type(error).__name__}: {str(error)[:500]})"}
            data = (json.dumps(message) + "\n").encode()
            while data:
                data = data[os.write(write_fd, data):]
    finally:
        os._exit(0)


def _death(status, killed, cpu_per_item, memory_mb, wall):
    if killed:
        return f"was still running after {wall:g} s (wall clock) and was stopped"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return f"took more than {cpu_per_item:g} s of CPU time and was stopped"
        if sig == signal.SIGKILL:
            return f"was killed (more than {memory_mb} MB of memory?)"
        return f"ended by signal {signal.Signals(sig).name}"
    return "ended without a result"


def map_limited(fn, items, *, cpu_per_item, cpu_total, memory_mb, wall_per_item):
    """``[Outcome]`` of ``fn(item)`` for each item, computed in limited forked children.

    `fn` must return a JSON value. An Outcome's ``reason`` is a verb phrase ("took more than 5 s
    of CPU time and was stopped"). An item whose child runs over `cpu_per_item` CPU seconds,
    over `memory_mb` of extra memory or over `wall_per_item` seconds of wall clock fails with
    the reason; an exception raised by `fn` fails only its item. Once the children together
    have used `cpu_total` CPU seconds, the remaining items fail without being tried.
    """
    items = list(items)
    outcomes = [None] * len(items)
    start, spent = 0, 0.0
    while start < len(items):
        left = cpu_total - spent
        if left <= 0:
            for index in range(start, len(items)):
                outcomes[index] = Outcome(False, reason=f"was not tried: the {cpu_total:g} s of CPU time "
                                                        f"for this notebook were used up")
            break
        read_fd, write_fd = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(fn, items, start, write_fd, min(cpu_per_item, left), left, memory_mb)
        os.close(write_fd)
        current, buffer, killed, finished = start, b"", False, False
        deadline = time.monotonic() + wall_per_item
        try:
            while not finished:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
                    break
                ready, _, _ = select.select([read_fd], [], [], wait)
                if not ready:
                    continue
                chunk = os.read(read_fd, 1 << 20)
                finished = not chunk
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    message = json.loads(line)
                    index = message["i"]
                    outcomes[index] = (Outcome(True, message["ok"]) if "ok" in message
                                       else Outcome(False, reason=message["error"]))
                    current = index + 1
                    deadline = time.monotonic() + wall_per_item
        finally:
            os.close(read_fd)
            if not finished and not killed:   # an error in this process: the child goes too
                os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
        spent += _cpu_seconds(usage)
        if current < len(items):
            outcomes[current] = Outcome(False, reason=_death(status, killed, min(cpu_per_item, left),
                                                             memory_mb, wall_per_item))
            current += 1
        start = current
    return outcomes


def run_limited(fn, item, *, cpu, memory_mb, wall):
    """`map_limited` for one item: its `Outcome`."""
    return map_limited(fn, [item], cpu_per_item=cpu, cpu_total=cpu, memory_mb=memory_mb, wall_per_item=wall)[0]
