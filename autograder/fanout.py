"""Fanning grading jobs out: in this process, to local worker processes, or to a Dask cluster.

One submission is one job (`autograder.job.grade_submission`, a pure function of the student's
files and the bundle), and its result comes back here, where the caller merges it at once
(`on_result`). Three ways to run the jobs, one loop around them:

- ``workers=1``: one after the other in this process;
- ``workers=N``: N local processes (``concurrent.futures``, spawned), the bundle sent once each;
- ``scheduler="tcp://HOST:PORT"`` (or a ``distributed.Client``): a running Dask cluster, whatever
  started it: ``dask scheduler`` and ``dask worker`` by hand, dask-jobqueue on Slurm or PBS,
  dask-kubernetes. The bundle is one task the jobs depend on, so each worker fetches it once and
  the scheduler can recompute it if a worker holding it dies. At most `window` jobs are in
  flight, so a large class does not sit in the scheduler's memory at once.

A job that raises is tried again, up to `tries` times; a Dask worker that dies has its jobs
rescheduled by the scheduler (``distributed.scheduler.allowed-failures`` times, 3 by default);
a local process that dies breaks its pool, which is started again, and every job that was not
finished counts one try. A job that still fails is reported for its student alone, in the returned
``{student: reason}``; every other job goes on. A bar with the count and the time left (tqdm)
shows the progress on stderr.
"""
import sys
import time
from dataclasses import dataclass, field

from .sandbox import SandboxUnavailable


@dataclass
class Submission:
    """One job's input: a student's notebooks (`autograder.inbox.Folder` ``files``), what reading
    them noticed, and the submission time."""

    student: str
    files: dict
    notes: list = field(default_factory=list)
    timestamp: str = None


def grade(submission, bundle):
    """Run one job (in whichever process or worker this is); returns its result."""
    from .job import grade_submission

    return grade_submission(submission.files, submission.student, bundle, submission.timestamp, submission.notes)


def _bar(total, progress):
    from tqdm import tqdm

    return tqdm(total=total, unit="submission", desc="grading", file=sys.stderr, disable=not progress,
                dynamic_ncols=True, mininterval=0.5)


def _reason(error):
    text = f"{type(error).__name__}: {error}"
    return text[-2000:]


def run(submissions, bundle, on_result, workers=1, scheduler=None, tries=3, progress=True, window=256):
    """Grade `submissions`, calling ``on_result(student, result)`` here as each one finishes.

    Returns ``{student: reason}`` for the submissions whose job failed `tries` times (or whose
    Dask worker died too often). `on_result` runs in this process, one call at a time; an
    exception it raises is that student's failure too, and the others go on.
    """
    submissions = list(submissions)
    with _bar(len(submissions), progress) as bar:
        def deliver(submission, result):
            try:
                on_result(submission.student, result)
            finally:
                bar.update(1)

        if scheduler is not None:
            return _on_dask(submissions, bundle, deliver, scheduler, tries, window, bar)
        if workers > 1 and len(submissions) > 1:
            return _on_processes(submissions, bundle, deliver, workers, tries, bar)
        return _here(submissions, bundle, deliver, tries, bar)


def _here(submissions, bundle, deliver, tries, bar):
    failed = {}
    for submission in submissions:
        for attempt in range(1, tries + 1):
            try:
                result = grade(submission, bundle)
            except SandboxUnavailable:
                raise
            except Exception as error:
                if attempt == tries:
                    failed[submission.student] = f"grading failed {tries} times: {_reason(error)}"
                    bar.update(1)
                continue
            _deliver(deliver, submission, result, failed)
            break
    return failed


def _deliver(deliver, submission, result, failed):
    try:
        deliver(submission, result)
    except SandboxUnavailable:
        raise
    except Exception as error:   # merging this student failed: the others go on
        failed[submission.student] = f"its result could not be recorded: {_reason(error)}"


_BUNDLE = []


def _set_bundle(bundle):
    _BUNDLE[:] = [bundle]


def _grade_here(submission):
    return grade(submission, _BUNDLE[0])


def _on_processes(submissions, bundle, deliver, workers, tries, bar):
    import concurrent.futures
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    pending = {s.student: s for s in submissions}
    counts, failed = dict.fromkeys(pending, 0), {}

    def count(student, reason):
        counts[student] += 1
        if counts[student] >= tries:
            failed[student] = f"grading failed {tries} times: {reason}"
            del pending[student]
            bar.update(1)

    while pending:
        with concurrent.futures.ProcessPoolExecutor(min(workers, len(pending)), mp_context=context,
                                                    initializer=_set_bundle, initargs=(bundle,)) as pool:
            futures = {pool.submit(_grade_here, s): s for s in pending.values()}
            try:
                while futures:
                    done, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
                    for future in done:
                        submission = futures.pop(future)
                        try:
                            result = future.result()
                        except BrokenProcessPool:
                            raise
                        except SandboxUnavailable:
                            raise
                        except Exception as error:
                            count(submission.student, _reason(error))
                            if submission.student in pending:
                                futures[pool.submit(_grade_here, submission)] = submission
                            continue
                        del pending[submission.student]
                        _deliver(deliver, submission, result, failed)
            except BrokenProcessPool as error:   # a worker process died: start again with what is left
                for student in list(pending):
                    count(student, f"its worker process died ({error})")
    return failed


def _bundle_task(bundle):
    return bundle


def _on_dask(submissions, bundle, deliver, scheduler, tries, window, bar):
    import uuid

    from distributed import Client, as_completed

    own = isinstance(scheduler, str)
    client = Client(scheduler, timeout="60s") if own else scheduler
    failed = {}
    try:
        shared = client.submit(_bundle_task, bundle, key=f"autograder-bundle-{bundle['versions']['release'][:16]}",
                               pure=False)
        queue, running = list(submissions), {}

        def submit(submission):
            future = client.submit(grade, submission, shared, retries=max(tries - 1, 0), pure=False,
                                   key=f"grade-{submission.student}-{uuid.uuid4().hex[:8]}")
            running[future.key] = submission
            return future

        flow = as_completed([submit(queue.pop(0)) for _ in range(min(window, len(queue)))])
        for future in flow:
            submission = running.pop(future.key)
            if queue:
                flow.add(submit(queue.pop(0)))
            if future.status == "finished":
                try:
                    result = future.result()
                except Exception as error:
                    failed[submission.student] = f"its result could not be fetched: {_reason(error)}"
                    bar.update(1)
                    continue
                _deliver(deliver, submission, result, failed)
            else:
                error = future.exception()
                failed[submission.student] = f"grading failed on the cluster after its tries: {_reason(error)}"
                bar.update(1)
            future.release()
        shared.release()
    finally:
        if own:
            client.close()
    return failed


def wait_for_workers(client, count, timeout=120):
    """Block until the Dask cluster of `client` has `count` workers (ValueError after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while len(client.scheduler_info().get("workers", {})) < count:
        if time.monotonic() > deadline:
            raise ValueError(f"the Dask cluster has {len(client.scheduler_info()['workers'])} workers, "
                             f"{count} expected, after {timeout} s")
        time.sleep(0.2)
