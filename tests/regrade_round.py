"""One grading round of tests/test_fairness.py, run in a Python process of its own.

    python tests/regrade_round.py WORK RELEASE LIMITS.json OUT.json STUDENT [STUDENT ...]

grades every collected notebook of each STUDENT in the course whose work and release folders are
WORK and RELEASE (the sandbox for student code, the grader for tests: `autograder.pipeline.prepare`,
without writing the gradebook), with the `Limits` fields in LIMITS.json, and writes OUT.json:
``{student: {notebook: {"points": {grade_id: [score, max]}, "manual": {...}, "seeds": {...},
"index": {grade_id: cell index}, "outputs": {cell index: [...]}}}}``. Points are nbgrader's own (`nbgrader.utils.determine_grade`
on the graded cells), outputs are what the feedback page shows. The test runs rounds with
different hash seeds, BLAS threads and machine load and compares the files.
"""
import copy
import json
import sys
from pathlib import Path


def grade(work, release, limits, students):
    from nbgrader.utils import determine_grade, is_grade, is_solution

    from autograder import grading, pipeline
    from autograder.course import Course, Limits

    course = Course(release=Path(release), work=Path(work), limits=Limits(**limits))
    graded, original = [], grading.grade_notebook

    def recording(nb, resources, *args, **kwargs):   # what prepare grades, with its notebook
        results = original(nb, resources, *args, **kwargs)
        graded.append((resources["nbgrader"]["notebook"], copy.deepcopy(nb), results))
        return results

    grading.grade_notebook = recording
    report = {}
    try:
        for student in students:
            graded.clear()
            pipeline.prepare(student, course)
            for notebook, nb, results in graded:
                nb, _ = grading.apply_results(nb, {"nbgrader": {"student": student, "notebook": notebook}}, results)
                points = {c.metadata.nbgrader["grade_id"]: list(determine_grade(c)) for c in nb.cells
                          if c.cell_type == "code" and is_grade(c) and not is_solution(c)}
                index = {c.metadata.nbgrader["grade_id"]: str(k) for k, c in enumerate(nb.cells) if is_grade(c)}
                report.setdefault(student, {})[notebook] = {
                    "points": points, "manual": results["manual"], "seeds": results["seeds"], "index": index,
                    "outputs": {str(k): v for k, v in results["outputs"].items()}}
    finally:
        grading.grade_notebook = original
    return report


if __name__ == "__main__":
    work, release, limits, out, *students = sys.argv[1:]
    result = grade(work, release, json.loads(Path(limits).read_text()), students)
    Path(out).write_text(json.dumps(result, sort_keys=True, indent=1))
