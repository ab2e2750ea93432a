"""Grading throughput: autograde N generated submissions of the 10 notebooks, several ways, in one run.

Run from the repository root: ``python -m bench.grading_throughput`` (``--submissions 100`` by
default, ``--workers 2`` for the parallel runs, ``--skip-baseline`` to leave out the slow one,
``--skip-dask`` to leave out the Dask cluster).

The submissions are generated from the solutions (`autograder.samples`): student k is the
solution, the blank release, or the solution with one or two of the typical mistakes, in turn,
so every run grades the same mix. Each way grades all of them into its own fresh gradebook:

1. **nbgrader** (the baseline): plain sequential ``nbgrader autograde`` through its Python API,
   one student after the other, every notebook in an ordinary Jupyter kernel (nbgrader's own
   reader, sanitizing steps and ``Execute``, with this course's time and output settings);
2. **local, 1 worker**: ``autograder.pipeline.grade``: one stateless job per student (student code
   in the bubblewrap sandbox, test cells in the grader) in this process, each result merged into
   the gradebook as it arrives;
3. **local, W workers**: the same jobs in W local processes;
4. **dask, W workers**: the same jobs on a Dask cluster this benchmark starts on loopback: a
   ``dask scheduler`` and W ``dask worker`` processes of one thread each (start-up excluded).

It prints, per way, the wall time of the grading call (release, collection and start-up of the
Python process excluded), seconds per submission, the speed-up over the nbgrader baseline and
over the sequential run, and whether every grade (each cell of each student: score, maximum,
needs-manual-grade) equals the first way's; then the Dask path's overhead per submission against
local workers of the same count (the goal is under 10%), and checks each gradebook: SQLite's
integrity check, one submission per student, 10 notebooks per submission, no grade missing.
"""
import argparse
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import pipeline, samples
from autograder.course import ASSIGNMENT, NOTEBOOKS, Course, config

MISTAKE_MIX = [(), ("blank",)] + [(m.name,) for m in samples.MISTAKES] + [
    (samples.MISTAKES[0].name, samples.MISTAKES[3].name), (samples.MISTAKES[1].name, samples.MISTAKES[4].name)]


def students(n):
    """`n` generated submissions: the solution, the blank release and mistakes, in turn."""
    result = []
    for k in range(n):
        mix = MISTAKE_MIX[k % len(MISTAKE_MIX)]
        if mix == ("blank",):
            result.append(samples.Student(f"s{k:03d}-blank", blank=True))
        else:
            result.append(samples.Student(f"s{k:03d}-" + ("+".join(mix) or "solution"), mistakes=mix))
    return result


@dataclass
class Way:
    """One way of grading and what it did."""

    name: str
    workers: int
    dask: bool = False
    seconds: float = 0.0
    scores: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)
    gradebook: list = field(default_factory=list)   # problems found in its gradebook


def _baseline(ids, course):
    """Plain sequential nbgrader autograde: nbgrader's reader, sanitizing and kernel execution."""
    from nbconvert.exporters import NotebookExporter
    from nbgrader.apps import NbGraderAPI
    from nbgrader.converters import Autograde

    cfg = config(course)
    cfg.Autograde.exporter_class = NotebookExporter
    cfg.Autograde.sanitize_preprocessors = list(Autograde.class_traits()["sanitize_preprocessors"].default())
    cfg.Executor.runner = "autograder.execute.run_notebook"
    pipeline._tools_on_path()
    api = NbGraderAPI(config=cfg)
    failed = {}
    start = time.perf_counter()
    for student in ids:
        result = api.autograde(ASSIGNMENT, student, force=True, create=True)
        if not result.get("success"):
            failed[student] = result.get("error", "")[-500:]
    return time.perf_counter() - start, failed


def check_gradebook(course, ids):
    """Problems of a gradebook after grading `ids` (an empty list when it is consistent)."""
    problems = []
    with sqlite3.connect(course.db) as db:
        status = db.execute("PRAGMA integrity_check").fetchone()[0]
        if status != "ok":
            problems.append(f"integrity_check: {status}")
    with pipeline.gradebook(course) as gb:
        submissions = {s.student.id: s for s in gb.assignment_submissions(ASSIGNMENT)}
        if set(submissions) != set(ids):
            problems.append(f"{len(submissions)} submissions for {len(ids)} students")
        for student, submission in submissions.items():
            if len(submission.notebooks) != len(NOTEBOOKS):
                problems.append(f"{student}: {len(submission.notebooks)} notebooks")
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.auto_score is None and not grade.needs_manual_grade:
                        problems.append(f"{student}: {grade.name} has no grade")
    return problems


class Cluster:
    """A Dask scheduler and `workers` one-thread workers on loopback, as subprocesses."""

    def __init__(self, workers, folder):
        import subprocess

        from distributed import Client

        from autograder.fanout import wait_for_workers

        dask = shutil.which("dask", path=os.path.dirname(sys.executable)) or "dask"
        Path(folder).mkdir(parents=True, exist_ok=True)
        address = Path(folder) / "scheduler.json"
        common = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                            "--no-dashboard", "--scheduler-file", str(address)], **common)]
        self.processes += [subprocess.Popen([dask, "worker", "--scheduler-file", str(address), "--nthreads", "1",
                                             "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"], **common)
                           for _ in range(workers)]
        deadline = time.monotonic() + 60
        while not address.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if not address.exists():
            self.close()
            raise RuntimeError("the Dask scheduler did not start within 60 s")
        self.client = Client(scheduler_file=str(address), timeout="60s")
        wait_for_workers(self.client, workers)

    def close(self):
        import signal

        if getattr(self, "client", None) is not None:
            self.client.close()
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run(n=100, workers=(2,), baseline=True, folder=None, log=print, dask=True):
    """Grade `n` submissions every way; returns the list of `Way`s (baseline first if run)."""
    tmp = Path(folder or tempfile.mkdtemp(prefix="grading-throughput-"))
    release = Course(release=tmp / "release", work=tmp / "release-work")
    pipeline.build_release(release)
    generated = students(n)
    inbox = samples.write(generated, tmp / "inbox", release)
    ids = [s.id for s in generated]
    plan = ([Way("nbgrader autograde, plain kernels", 1)] if baseline else []) + \
        [Way("local", 1)] + [Way("local", w) for w in workers] + \
        ([Way("dask", w, dask=True) for w in workers] if dask else [])
    for index, way in enumerate(plan):
        course = Course(release=tmp / "release", work=tmp / f"work-{index}")
        course.path("work").mkdir(parents=True)
        shutil.copy2(release.db, course.db)          # the assignment, as `build_release` registered it
        pipeline.collect(inbox, course)
        log(f"grading {n} submissions: {way.name}, {way.workers} worker(s) ...")
        if way.name.startswith("nbgrader"):
            way.seconds, way.failed = _baseline(ids, course)
        else:
            cluster = Cluster(way.workers, tmp / f"cluster-{index}") if way.dask else None
            try:
                start = time.perf_counter()
                result = pipeline.grade(ids, course, workers=way.workers,
                                        scheduler=cluster.client if cluster else None)
                way.seconds, way.failed = time.perf_counter() - start, result.failed
            finally:
                if cluster:
                    cluster.close()
        way.scores = {student: pipeline.cell_scores(student, course) for student in ids if student not in way.failed}
        way.gradebook = check_gradebook(course, ids)
        log(f"   {way.seconds:.1f} s, {way.seconds / n:.2f} s per submission")
    return plan


def overhead(plan):
    """``[(workers, local s, dask s, overhead s per submission, overhead %)]`` for each Dask way."""
    rows = []
    for way in plan:
        local = next((w for w in plan if w.name == "local" and w.workers == way.workers), None)
        if way.dask and local is not None:
            n = max(len(way.scores) + len(way.failed), 1)
            rows.append((way.workers, local.seconds, way.seconds, (way.seconds - local.seconds) / n,
                         100 * (way.seconds - local.seconds) / local.seconds))
    return rows


def table(plan, n):
    """The benchmark table (text)."""
    reference = plan[0]
    sequential = next(w for w in plan if w.name == "local" and w.workers == 1)
    baseline = reference if reference.name.startswith("nbgrader") else None
    head = (f"{'way':<36}{'workers':>8}{'total s':>10}{'s/submission':>14}{'vs nbgrader':>13}"
            f"{'vs 1 worker':>13}{'grades = first':>16}{'gradebook':>11}")
    lines = [head, "-" * len(head)]
    for way in plan:
        same = sum(way.scores.get(s) == reference.scores.get(s) for s in reference.scores)
        agree = "-" if way is reference else f"{same}/{len(reference.scores)}"
        versus = f"{baseline.seconds / way.seconds:.2f}x" if baseline else "-"
        parallel = f"{sequential.seconds / way.seconds:.2f}x" if not way.name.startswith("nbgrader") else "-"
        book = "ok" if not way.gradebook and not way.failed else f"{len(way.gradebook) + len(way.failed)} problems"
        lines.append(f"{way.name:<36}{way.workers:>8}{way.seconds:>10.1f}{way.seconds / n:>14.2f}{versus:>13}"
                     f"{parallel:>13}{agree:>16}{book:>11}")
    for workers, local, dask, per, percent in overhead(plan):
        lines.append(f"\nDask path overhead with {workers} workers: {dask:.1f} s against {local:.1f} s locally, "
                     f"{per:+.3f} s per submission ({percent:+.1f}%; goal under 10%)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.grading_throughput", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="parallel runs to time")
    parser.add_argument("--skip-baseline", action="store_true", help="leave out plain nbgrader (slow)")
    parser.add_argument("--skip-dask", action="store_true", help="leave out the Dask cluster")
    parser.add_argument("--keep", help="folder to grade in (kept afterwards)")
    args = parser.parse_args(argv)
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{args.submissions} submissions x {len(NOTEBOOKS)} notebooks")
    plan = run(args.submissions, args.workers, not args.skip_baseline, args.keep, dask=not args.skip_dask)
    print()
    print(table(plan, args.submissions))
    problems = {f"{w.name} ({w.workers})": w.gradebook + list(w.failed) for w in plan if w.gradebook or w.failed}
    for way, found in problems.items():
        print(f"!! {way}: {found[:5]}", file=sys.stderr)
    reference = plan[0]
    disagree = [w for w in plan[1:] if any(w.scores.get(s) != reference.scores.get(s) for s in reference.scores)]
    return 1 if problems or disagree else 0


if __name__ == "__main__":
    sys.exit(main())
