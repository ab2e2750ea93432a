"""The grading process's memory while it grades each notebook, and the bound it is held to.

`autograder.grading.grade_notebook` measures this process's resident memory when a notebook starts
and its peak while it is graded, and `record_memory` keeps the figures in `MEMORY` (and, with
`MEMORY_LOG` set, in a file that local workers append to). `tests/test_attacks.py` holds the
attack corpus to `GRADER_MEMORY_MB`.
"""
import json
import os

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


def record_memory(resources, results):
    """Keep the memory figures of one graded notebook (from `grade_notebook`'s results) in `MEMORY`
    and, with `MEMORY_LOG` set, append them to that file."""
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
