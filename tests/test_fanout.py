"""Fanning jobs out (autograder/fanout.py): a real Dask scheduler and two workers on loopback, one
of them killed mid-run; retries and a failure reported for its student alone; the progress bar."""
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from autograder import bundle as bundles
from autograder import fanout, merge, pipeline, samples
from autograder.course import ASSIGNMENT, Course


def test_a_failing_job_is_retried_then_reported_for_its_student_alone(monkeypatch, capsys):
    calls = Counter()

    def fake(submission, bundle):
        calls[submission.student] += 1
        if submission.student == "bo" or (submission.student == "cy" and calls["cy"] == 1):
            raise RuntimeError(f"worker lost while grading {submission.student}")
        return {"student": submission.student}

    monkeypatch.setattr(fanout, "grade", fake)
    delivered = []
    subs = [fanout.Submission(s, {}) for s in ("ada", "bo", "cy")]
    failed = fanout.run(subs, {}, lambda student, result: delivered.append(student), tries=3, progress=True)
    assert failed == {"bo": "grading failed 3 times: RuntimeError: worker lost while grading bo"}
    assert delivered == ["ada", "cy"] and calls == {"ada": 1, "bo": 3, "cy": 2}
    bar = capsys.readouterr().err
    assert "3/3" in bar and "submission" in bar, "a bar with the count (and tqdm's time left)"


def test_a_result_that_cannot_be_recorded_is_its_students_failure(monkeypatch):
    monkeypatch.setattr(fanout, "grade", lambda submission, bundle: submission.student)

    def record(student, result):
        if student == "bo":
            raise merge.MergeError("not a grading result")

    failed = fanout.run([fanout.Submission(s, {}) for s in ("ada", "bo", "cy")], {}, record, progress=False)
    assert list(failed) == ["bo"] and "not a grading result" in failed["bo"]


def _dask(*args):
    command = shutil.which("dask", path=os.path.dirname(sys.executable))
    assert command, "the dask command is missing: pip install -e '.[dev]' (distributed)"
    return subprocess.Popen([command, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


@pytest.fixture
def cluster(tmp_path):
    """A `dask scheduler` and two `dask worker` processes (one thread each) on loopback."""
    from distributed import Client

    address_file = tmp_path / "scheduler.json"
    processes = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                       "--scheduler-file", str(address_file))]
    workers = [_dask("worker", "--scheduler-file", str(address_file), "--nthreads", "1", "--no-nanny",
                     "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{k}") for k in range(2)]
    processes += workers
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        client = Client(scheduler_file=str(address_file), timeout="60s")
        fanout.wait_for_workers(client, 2)
        yield client, workers
        client.close()
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_dask_grades_everyone_exactly_once_with_a_worker_killed(cluster, tmp_path):
    client, workers = cluster
    course = Course(release=tmp_path / "release", work=tmp_path / "dask")
    pipeline.build_release(course)
    fresh = course.db.read_bytes()
    students = [samples.Student("ada"), samples.Student("ben", blank=True), samples.STUDENTS[2]] + \
        [samples.Student(f"mistake-{m.name}", mistakes=(m.name,)) for m in samples.MISTAKES[:3]]
    inbox = samples.write(students, tmp_path / "inbox", course)
    ids = list(pipeline.collect(inbox, course))
    bundle = bundles.build(course)
    subs = [pipeline._submission(s, course) for s in ids] + [fanout.Submission("not a student id!", {})]
    delivered, killed = Counter(), []

    def on_result(student, result):
        delivered[student] += 1
        pipeline.record(result, course, bundle["versions"]["release"])
        if not killed:   # the other jobs are still running or queued: kill a worker now
            os.killpg(workers[0].pid, signal.SIGKILL)
            killed.append(sum(delivered.values()))

    failed = fanout.run(subs, bundle, on_result, scheduler=client, tries=2, progress=False)
    assert killed == [1]
    assert list(failed) == ["not a student id!"] and "not a student id" in failed["not a student id!"]
    assert delivered == Counter({s: 1 for s in ids})
    with pipeline.gradebook(course) as gb:
        assert sorted(s.student.id for s in gb.assignment_submissions(ASSIGNMENT)) == sorted(ids)
    assert sorted(merge.merged(course)) == sorted(ids)

    local = Course(release=tmp_path / "release", work=tmp_path / "local")
    local.path("work").mkdir()
    local.db.write_bytes(fresh)
    pipeline.collect(inbox, local)
    run = pipeline.grade(ids, local, workers=2)
    assert not run.failed
    for student in ids:
        assert pipeline.cell_scores(student, course) == pipeline.cell_scores(student, local), student
