"""One grading round of tests/test_fairness.py, run in a Python process of its own.

    python tests/regrade_round.py BUNDLE.json INBOX OUT.json

grades every student folder of INBOX with the stateless grading job (`autograder.job`, the path
``python -m autograder grade``, Dask and Gradescope use: student code in the sandbox, tests in the
grader, nbgrader's scoring) against the grading bundle, and writes OUT.json:
``{student: {notebook: {"cells": {grade_id: {points, max_points, manual, reason, feedback, seeds}},
"outputs": [every cell's outputs], "notes": [...]}}}``, what the feedback page and the gradebook
get. The test runs rounds with different hash seeds, BLAS threads and machine load and compares
the files.
"""
import json
import sys
from pathlib import Path


def grade(bundle_path, inbox):
    from autograder import bundle, job

    graded = bundle.read(bundle_path)
    report = {}
    for folder in sorted(p for p in Path(inbox).iterdir() if p.is_dir()):
        result = job.grade_folder(folder, graded)
        report[folder.name] = {
            name: {"cells": entry["cells"], "notes": entry["notes"],
                   "outputs": [cell.get("outputs", []) for cell in (entry["graded"] or {}).get("cells", [])]}
            for name, entry in result["notebooks"].items() if entry["status"] != "missing"}
    return report


if __name__ == "__main__":
    bundle_path, inbox, out = sys.argv[1:]
    Path(out).write_text(json.dumps(grade(bundle_path, inbox), sort_keys=True, indent=1))
