"""The course as a Gradescope autograder: ``python -m autograder gradescope OUT.zip``.

Gradescope builds one Docker image from the zip (``setup.sh``, run once as root on Ubuntu) and
runs ``run_autograder`` in a fresh container for every submission, with the student's files in
``/autograder/submission`` and the zip's content in ``/autograder/source``; it reads the grades
from ``/autograder/results/results.json`` (https://gradescope-autograders.readthedocs.io, "specs").

- ``setup.sh`` installs bubblewrap and Python with apt-get, then this package, from the wheel
  inside the zip, into ``/autograder/venv``;
- ``run_autograder`` grades ``/autograder/submission`` with the stateless job
  (`autograder.job`, the same sandbox and checks as ``grade``) against ``bundle.json`` (the
  grading bundle built with the zip), and writes ``results.json``: one test per graded part with
  its ``score``, ``max_score``, ``name``, ``output`` (the feedback text) and ``visibility``:
  ``visible`` for a visible check, ``after_due_date`` for hidden tests, so their details stay
  hidden until the deadline. Parts graded by hand (the explanations) are not tests: the
  summary names them. The submission time is Gradescope's (``submission_metadata.json``).

If the sandbox cannot start in the container, nothing is graded and ``run_autograder`` fails
with the reason (Gradescope then shows the autograder as failed), never grading without it.
``AUTOGRADER_ROOT`` moves ``/autograder`` and ``AUTOGRADER_PYTHON`` the interpreter (for tests).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from . import bundle as bundles
from .course import Course, REPO
from .grading import HIDDEN_BEGIN

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu).
set -euo pipefail
SOURCE="$(cd "$(dirname "$0")" && pwd)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet --upgrade pip
/autograder/venv/bin/pip install --quiet "$(ls "$SOURCE"/textbook_core-*.whl)[course]"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission into results.json.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
exec "$PYTHON" -m autograder.gradescope run --root "$ROOT"
"""


def build_zip(out, course=Course()):
    """Write the autograder zip (setup.sh, run_autograder, the wheel, bundle.json) to `out`."""
    out = Path(out)
    bundle = bundles.build(course)
    with tempfile.TemporaryDirectory(prefix="autograder-wheel-") as tmp:
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp, str(REPO)],
                              capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("textbook_core-*.whl"))
        if done.returncode != 0 or not wheels:
            raise ValueError(f"building the package's wheel failed:\n{done.stderr[-2000:]}")
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in (("setup.sh", SETUP), ("run_autograder", RUN)):
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o100755 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, text)
            archive.write(wheels[0], wheels[0].name)
            archive.writestr("bundle.json", json.dumps(bundle, sort_keys=True))
    return out


def _hidden(bundle, notebook):
    return {c["name"] for c in bundle["notebooks"][notebook]["source_cells"] if HIDDEN_BEGIN in c["source"]}


def report(result, bundle):
    """A job's result as Gradescope's ``results.json`` (a dict)."""
    tests, manual, lines = [], [], []
    for k, (notebook, entry) in enumerate(result["notebooks"].items(), start=1):
        hidden = _hidden(bundle, notebook)
        order = [c["name"] for c in bundle["notebooks"][notebook]["source_cells"] if c["name"] in entry["cells"]]
        exercise = f"E8.{int(notebook[3:])}"
        for note in entry["notes"]:
            lines.append(f"{notebook}.ipynb: {note}")
        for number, grade_id in enumerate(order, start=1):
            cell = entry["cells"][grade_id]
            if cell["points"] is None:   # an answer graded by hand
                manual.append(f"{exercise} {grade_id} ({cell['max_points']:g} points)")
                continue
            kind = "hidden tests" if grade_id in hidden else "visible check"
            output = cell["feedback"] or ("passed" if cell["points"] == cell["max_points"] else "no points")
            if cell["reason"]:
                output += f"\n{cell['reason']}"
            tests.append({"name": f"{exercise} {grade_id} ({kind})", "number": f"{k}.{number}",
                          "score": float(cell["points"]), "max_score": float(cell["max_points"]),
                          "status": "passed" if cell["points"] >= cell["max_points"] else "failed",
                          "output": output, "output_format": "text",
                          "visibility": "after_due_date" if grade_id in hidden else "visible"})
    summary = [f"Graded with {result['versions']['package']}, release {result['versions']['release'][:12]}."]
    if manual:
        summary.append("Graded by hand by your instructor, not included here: " + ", ".join(manual) + ".")
    summary += result["notes"] + lines
    if result["failed"]:
        summary.append(f"Your instructor has been told: {result['failed']}.")
    return {"score": sum(t["score"] for t in tests), "output": "\n".join(summary), "output_format": "text",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {"student": result["student"], "timestamp": result["timestamp"],
                           "versions": result["versions"]}}


def _metadata(root):
    """``(student, timestamp)`` from Gradescope's submission_metadata.json (defaults if absent)."""
    from . import inbox

    try:
        meta = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "student", None
    users = meta.get("users") or [{}]
    who = str(users[0].get("email") or users[0].get("id") or "student")
    student = re.sub(r"[^A-Za-z0-9._@+-]", "_", who)[:100].lstrip("._") or "student"
    try:
        stamp = inbox.parse_time(meta["created_at"]) if meta.get("created_at") else None
    except ValueError:
        stamp = None
    return student, stamp


def run(root):
    """Grade ``ROOT/submission`` into ``ROOT/results/results.json``; returns the report."""
    from . import job

    root = Path(root)
    start = time.monotonic()
    bundle = bundles.read(root / "source" / "bundle.json")
    student, stamp = _metadata(root)
    result = job.grade_folder(root / "submission", bundle, student, stamp)
    results = report(result, bundle)
    results["execution_time"] = int(time.monotonic() - start)
    folder = root / "results"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".results.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps(results, indent=1), encoding="utf-8")
    os.replace(tmp, folder / "results.json")
    return results


def main(argv=None):
    from .sandbox import SandboxUnavailable

    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="grade the submission into results/results.json (run_autograder)")
    r.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    args = parser.parse_args(argv)
    try:
        results = run(args.root)
    except (SandboxUnavailable, ValueError, OSError) as error:
        print(f"error: nothing was graded: {error}", file=sys.stderr)
        return 1
    print(f"graded: {results['score']:g} points in {len(results['tests'])} tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
