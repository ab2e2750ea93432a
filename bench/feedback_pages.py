"""What the inert, limited feedback pages cost: nbgrader's own feedback step against ours, same run.

Grades the three students of the end-to-end set (the solution, the blank release, two mistakes
and a deleted notebook: 29 notebooks) once, then writes every page twice per round:

- baseline: nbgrader's ``GenerateFeedback`` with its stock HTML exporter and the preprocessors
  this course used before (hidden tests cut, grades, highlighting CSS): no sanitizing, no limits;
- ours: `autograder.pipeline.feedback` (`autograder.report.write_feedback` per notebook): the notebook sanitized again, Markdown rendered in a
  limited child, the page rendered in a limited child.

Prints wall and CPU seconds (this process and its children) and the CPU ratio ours / baseline.
Run: ``.venv/bin/python -m bench.feedback_pages`` (about two minutes, most of it grading).
"""
import resource
import tempfile
import time
from pathlib import Path

from autograder import pipeline, samples
from autograder.course import ASSIGNMENT, Course, config


def _cpu():
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(fn):
    wall, cpu = time.perf_counter(), _cpu()
    result = fn()
    return time.perf_counter() - wall, _cpu() - cpu, result


def nbgrader_feedback(course, students):
    """nbgrader's stock feedback step (the baseline)."""
    from nbconvert.exporters import HTMLExporter
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.apps import NbGraderAPI
    from nbgrader.preprocessors import GetGrades

    from autograder.execute import HideHiddenTests

    c = config(course)
    c.GenerateFeedback.exporter_class = HTMLExporter
    c.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
    del c["HTMLExporter"]   # nbgrader's own feedback template
    api = NbGraderAPI(config=c)
    for student in students:
        result = api.generate_feedback(ASSIGNMENT, student, force=True)
        if not result["success"]:
            raise RuntimeError(result["log"])


def main(rounds=2):
    with tempfile.TemporaryDirectory() as tmp:
        course = Course(release=Path(tmp) / "release", work=Path(tmp) / "work")
        pipeline.build_release(course)
        students = pipeline.collect(samples.write(samples.STUDENTS, Path(tmp) / "inbox", course), course)
        seconds, _, _ = _timed(lambda: pipeline.grade(students, course))
        pages = sum(len(pipeline.submitted_notebooks(s, course)) for s in students)
        print(f"graded {len(students)} students ({pages} notebooks) in {seconds:.0f} s\n")
        print(f"{'round':>5} {'nbgrader wall':>14} {'CPU':>6} {'ours wall':>10} {'CPU':>6} {'CPU ratio':>10}")
        for index in range(rounds):
            base_wall, base_cpu, _ = _timed(lambda: nbgrader_feedback(course, students))
            failed = {}
            wall, cpu, _ = _timed(lambda: pipeline.feedback(students, course, failed=failed))
            if failed:
                raise RuntimeError(f"feedback failed: {failed}")
            print(f"{index:>5} {base_wall:>13.1f}s {base_cpu:>5.1f}s {wall:>9.1f}s {cpu:>5.1f}s {cpu / base_cpu:>10.2f}")
        print(f"\nper page: nbgrader {base_cpu / pages * 1000:.0f} ms CPU, ours {cpu / pages * 1000:.0f} ms CPU")


if __name__ == "__main__":
    main()
