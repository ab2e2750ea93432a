"""Grades a lecturer can defend: the same marks every time, and time limits that never cost points.

1. Seeds: `checks.random_seed` is fixed by the assignment, the student and the cell (never the
   operating system's entropy), recorded with the grade, and replayable.
2. Time: student code is limited by CPU seconds; code that only waits (a starved process looks
   the same) is not stopped before the wall-clock backstop; a probe stopped by the backstop is
   retried, and if it happens again the part is flagged for the instructor instead of scored 0;
   busy code runs out of CPU and that counts.
3. The sample submissions graded three times (different hash seeds, BLAS threads, and the last
   time with every core busy) get the same points and the same feedback, cell by cell; under
   load the solution keeps full marks. Load is measured as a count and a ratio, never timed.
"""
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from autograder import attacks, checks, grading, handoff, pipeline, samples, timing
from autograder.notebook_run import NotebookRun
from autograder.course import NOTEBOOKS, Course, Limits
from autograder.sandbox import Sandbox

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------------------------
# 1. Seeds
# ---------------------------------------------------------------------------------------------

def seeds_of(*context, n=3):
    checks.grading_context(*context)
    try:
        return [checks.random_seed() for _ in range(n)]
    finally:
        checks.grading_context()


def test_seeds_follow_the_grading_context_and_nothing_else():
    first = seeds_of("ch08", "ada", "e8_08_basic_hidden", "salt")
    assert first == seeds_of("ch08", "ada", "e8_08_basic_hidden", "salt")
    assert len(set(first)) == 3, "several calls in one cell get different seeds"
    for other in (("ch09", "ada", "e8_08_basic_hidden", "salt"), ("ch08", "ben", "e8_08_basic_hidden", "salt"),
                  ("ch08", "ada", "e8_08_ties_hidden", "salt"), ("ch08", "ada", "e8_08_basic_hidden", "")):
        assert not set(seeds_of(*other)) & set(first), other
    assert all(0 <= s < 2 ** 32 for s in first)


def test_a_replay_returns_the_recorded_seeds_then_derived_ones():
    derived = seeds_of(n=3)[2]
    checks.grading_context(seeds=[11, 22])
    try:
        assert [checks.random_seed(), checks.random_seed(), checks.random_seed()] == [11, 22, derived]
        assert checks.drawn_seeds() == [11, 22, derived]
        checks.grading_context(seeds=[11])
        replayed, direct = checks.max_pool_cases("overlap"), checks.max_pool_cases("overlap", seed=11)
        assert [label for label, _, _ in replayed] == [label for label, _, _ in direct]
        assert all(np.array_equal(a, b) for (_, x, _), (_, y, _) in zip(replayed, direct) for a, b in zip(x, y))
    finally:
        checks.grading_context()


def test_outside_grading_each_cell_is_its_own_context():
    class Info:
        def __init__(self, raw_cell):
            self.raw_cell = raw_cell

    try:
        runs = []
        for cell in ("probes = checks.max_pool_cases('basic')", "other cell", "probes = checks.max_pool_cases('basic')"):
            checks._SEEDING["auto"] = True
            checks._new_cell(Info(cell))
            runs.append([checks.random_seed(), checks.random_seed()])
        assert runs[0] == runs[2] != runs[1]
        checks.grading_context("ch08", "ada", "x")        # the grader's context is not reset by a cell
        before = checks.random_seed()
        checks._new_cell(Info("anything"))
        assert checks.random_seed() == seeds_of("ch08", "ada", "x", n=2)[1] != before
    finally:
        checks.grading_context()
        checks._SEEDING["auto"] = True


SEED_SCRIPT = """
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
for cell in ["from autograder import checks", "print(checks.random_seed(), checks.random_seed())",
             "print(checks.random_seed(), checks.random_seed())", "print(sorted({'b', 'a'}))"]:
    shell.run_cell(cell)
"""


def test_seeds_are_the_same_in_every_process_whatever_the_hash_seed():
    outputs = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        run = subprocess.run([sys.executable, "-c", SEED_SCRIPT], capture_output=True, text=True, env=env,
                             timeout=120)
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout.split("\n"))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == outputs[0][1], "running a cell again in a student's kernel draws the same seeds"


def test_apply_results_records_the_seeds_in_the_graded_cell():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", metadata={"nbgrader": {"grade_id": "t"}})])
    nb, _ = grading.apply_results(nb, {}, {"outputs": {0: []}, "manual": {}, "seeds": {"t": [5, 6]}})
    assert nb.cells[0].metadata["autograder"]["seeds"] == [5, 6]
    assert "checks.grading_context(seeds=[5, 6])" in timing.seed_note([5, 6])


def test_a_test_cell_draws_its_seeds_from_its_context_and_runs_blas_on_one_thread():
    import hashlib

    source = ("from threadpoolctl import threadpool_info\n"
              "threads = [i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']\n"
              "assert threads and set(threads) == {1}, threads   # numpy's BLAS, and scipy's if loaded\n"
              "probes = [checks.random_seed(), checks.random_seed()]")
    run = NotebookRun(None, [], Limits(), handoff.LibraryUse([]), ("ch08", "ada"))
    outputs, manual = run.run_test_cell("e8_08_basic_hidden", source, {"checks": checks})
    assert manual is None and not [o for o in outputs if o.get("output_type") == "error"], outputs
    salt = hashlib.sha256(source.encode()).hexdigest()
    assert run.seeds == {"e8_08_basic_hidden": seeds_of("ch08", "ada", "e8_08_basic_hidden", salt, n=2)}
    run.run_test_cell("e8_08_basic_hidden", source, {"checks": checks})
    assert run.seeds["e8_08_basic_hidden"] == seeds_of("ch08", "ada", "e8_08_basic_hidden", salt, n=2)


# ---------------------------------------------------------------------------------------------
# 2. Time limits: CPU seconds, a wall-clock backstop, retries, flags
# ---------------------------------------------------------------------------------------------

class Starve:
    """Starve the sandbox as a busy machine would: its processes get no CPU at all (SIGSTOP) from
    the moment it is sent a request `op` ("run", "get", "call"), for `seconds` (None: until it is
    killed), and only for a cell of that `source` if given. Only the process alive when the test
    starts is starved (`every`: each new one too), so a retry in a fresh process finds a machine
    that has recovered. Patched into `Session`, so
    the grader's forked check process starves it too."""

    def __init__(self, monkeypatch, run, op, seconds=None, every=False, source=None):
        from autograder import sandbox

        first = None if every else run.session.process.pid
        original = sandbox.Session.request

        def request(session, message, timeout):
            if message.get("op") == op and (first is None or session.process.pid == first) \
                    and source in (None, message.get("source")):
                pids = list(session._pids)
                for pid in pids:
                    os.kill(pid, signal.SIGSTOP)
                if seconds is not None:
                    threading.Timer(seconds, lambda: [_signal(pid, signal.SIGCONT) for pid in pids]).start()
            return original(session, message, timeout)

        monkeypatch.setattr(sandbox.Session, "request", request)


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


@pytest.fixture
def notebook_run():
    runs = []

    def make(**limits):
        limits = Limits(**limits)
        run = NotebookRun(Sandbox(limits), [], limits, handoff.LibraryUse([]), ("ch08", "ada"))
        runs.append(run)
        return run

    yield make
    for run in runs:
        if run.session is not None:
            run.session.close()


def error_text(outputs):
    return " ".join(f"{o['ename']}: {o['evalue']}" for o in outputs if o.get("output_type") == "error")


PLUS_ONE = "def f(x):\n    return x + 1"


def test_a_starved_cell_and_probe_are_not_stopped_before_the_backstop(notebook_run, monkeypatch):
    run = notebook_run(cell_timeout=1, call_timeout=0.5, wall_factor=30)
    assert not error_text(run.run_student_cell("x = 1"))
    Starve(monkeypatch, run, "run", seconds=2.5)                   # 2.5 s by the clock > 1 s of CPU
    assert not error_text(run.run_student_cell(PLUS_ONE))
    Starve(monkeypatch, run, "call", seconds=1.5)
    outputs, manual = run.run_test_cell("t", "assert f(1) == 2, 'wrong'", {})
    assert manual is None and not error_text(outputs) and run.restarts == 0


def test_busy_code_runs_out_of_cpu_time_and_that_counts(notebook_run):
    run = notebook_run(cell_timeout=1, call_timeout=0.5, wall_factor=30)
    text = error_text(run.run_student_cell("while True:\n    pass"))
    assert "ran longer than 1 s and was stopped: it used up its 1 s of CPU time" in text
    assert run.undecided == []
    assert not error_text(run.run_student_cell("def g(x):\n    while x:\n        pass\n    return 0"))
    restarts = run.restarts
    outputs, manual = run.run_test_cell("t", "g(1)", {})
    assert manual is None and "`g` did not return within 0.5 s of CPU time on this probe" in error_text(outputs)
    assert run.restarts == restarts + 1, "the probe was retried once, in a fresh process, before it counted"


def test_code_that_waits_without_computing_has_as_long_as_its_cpu_limit(notebook_run):
    run = notebook_run(cell_timeout=1, call_timeout=0.5, wall_factor=30)
    assert not error_text(run.run_student_cell("import time\ntime.sleep(0.3)"))
    text = error_text(run.run_student_cell("time.sleep(60)"))
    assert "waited longer than 1 s without computing and was stopped" in text and run.undecided == []
    run.run_student_cell("import time\ndef f(x):\n    time.sleep(60)")
    outputs, manual = run.run_test_cell("t", "f(1)", {})
    assert manual is None and "`f` waited longer than 0.5 s without computing on this probe" in error_text(outputs)


def test_a_probe_stopped_by_the_backstop_is_retried_and_keeps_its_points(notebook_run, monkeypatch):
    run = notebook_run(cell_timeout=2, call_timeout=0.5, wall_factor=4)   # backstop 2 s
    assert not error_text(run.run_student_cell(PLUS_ONE))
    Starve(monkeypatch, run, "call")                               # for good, but only this process
    outputs, manual = run.run_test_cell("t", "assert f(1) == 2, 'wrong'", {})
    assert manual is None and not error_text(outputs) and run.restarts == 1


def test_a_probe_stopped_by_the_backstop_twice_is_flagged_not_scored_zero(notebook_run, monkeypatch):
    run = notebook_run(cell_timeout=2, call_timeout=0.5, wall_factor=4)
    run.run_student_cell(PLUS_ONE)
    Starve(monkeypatch, run, "call", every=True)
    outputs, manual = run.run_test_cell("t", "assert f(1) == 2, 'wrong'", {})
    assert manual and "wall-clock backstop (2 tries)" in manual and run.restarts == 1
    assert "ManualGradingNeeded" in error_text(outputs) and "flagged for your instructor" in error_text(outputs)


def test_a_cell_stopped_by_the_backstop_twice_flags_only_the_parts_that_need_it(notebook_run, monkeypatch):
    run = notebook_run(cell_timeout=0.5, wall_factor=4)
    run.run_student_cell("Y = 2")
    Starve(monkeypatch, run, "run", every=True, source="Z = 1")
    text = error_text(run.run_student_cell("Z = 1"))
    assert "wall-clock backstop (2 tries)" in text and "flagged for your instructor" in text
    monkeypatch.undo()
    outputs, manual = run.run_test_cell("needs_Z", "assert Z == 1", {})
    assert manual and "A cell it depends on was stopped" in manual
    outputs, manual = run.run_test_cell("needs_Y", "assert Y == 3, 'Y is wrong'", {})
    assert manual is None and "Y is wrong" in error_text(outputs)


def test_a_cell_stopped_by_the_backstop_once_runs_again_and_counts_normally(notebook_run, monkeypatch):
    run = notebook_run(cell_timeout=0.5, wall_factor=4)
    run.run_student_cell("Y = 2")
    Starve(monkeypatch, run, "run")
    assert not error_text(run.run_student_cell("Z = 1")) and run.restarts == 1
    outputs, manual = run.run_test_cell("needs_Z", "assert Z == 1 and Y == 2", {})
    assert manual is None and not error_text(outputs)


def test_the_notebook_budget_counts_computing_and_waiting_not_starving(notebook_run, monkeypatch):
    run = notebook_run(cell_timeout=5, notebook_timeout=600, wall_factor=30)
    spin = "t = time.process_time()\nwhile time.process_time() - t < 1:\n    pass"
    assert not error_text(run.run_student_cell("import time"))
    run.limits = dataclasses.replace(run.limits, notebook_timeout=round(run.used() + 3, 1))  # start-up aside
    budget = f"{run.limits.notebook_timeout:g}"
    Starve(monkeypatch, run, "run", seconds=4)                     # 4 s by the clock > the budget
    assert not error_text(run.run_student_cell(spin))
    monkeypatch.undo()
    assert not error_text(run.run_student_cell("time.sleep(2.5)"))
    assert f"not run: the notebook used up its {budget} s of computing and waiting time" in error_text(
        run.run_student_cell("x = 1"))


def test_limits_refuse_a_backstop_shorter_than_the_cpu_limit():
    with pytest.raises(ValueError, match="wall_factor=0.5 must be at least 1"):
        Limits(wall_factor=0.5)
    with pytest.raises(ValueError, match="retries=-1 must be a whole number"):
        Limits(retries=-1)
    with pytest.raises(ValueError, match="wall=1 must be at least the CPU limit cpu=2"):
        timing.Limit(2, 1)


def test_cpu_time_of_a_process_tree_counts_its_children():
    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                              "while time.process_time() - t < 0.5:\n    pass\ntime.sleep(30)"])
    try:
        deadline = time.monotonic() + 60
        while timing.process_cpu(timing.descendants(os.getpid())) - timing.process_cpu([os.getpid()]) < 0.4:
            assert time.monotonic() < deadline, "the child's CPU time never showed"
            time.sleep(0.05)
        assert child.pid in timing.descendants(os.getpid())
    finally:
        child.kill()
        child.wait()


# ---------------------------------------------------------------------------------------------
# 3. The sample submissions graded three times, the last time with every core busy
# ---------------------------------------------------------------------------------------------

def differing_notebooks(student, solution):
    """The notebooks of a sample submission that differ from the solution's (only those are graded
    for the typical mistakes; the solution and the blank release are graded whole)."""
    notebooks = samples.submission(student)
    if student.id in ("solution", "blank"):
        return notebooks
    return {name: nb for name, nb in notebooks.items() if nb != solution.get(name)}


def busy_loops(n):
    return [subprocess.Popen([sys.executable, "-c", "while True:\n    pass"]) for _ in range(n)]


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    from autograder import bundle

    tmp = tmp_path_factory.mktemp("fairness")
    course = Course(release=tmp / "release", work=tmp / "work", limits=attacks.LIMITS)
    pipeline.build_release(course)
    bundle.write(bundle.build(course), tmp / "bundle.json")
    students = samples.sample_students()
    solution = samples.submission(samples.Student("solution"))
    inbox = tmp / "inbox"
    for student in students:
        for name, nb in differing_notebooks(student, solution).items():
            (inbox / student.id).mkdir(parents=True, exist_ok=True)
            (inbox / student.id / f"{name}.ipynb").write_text(json.dumps(nb), encoding="utf-8")

    def start(name, **env):
        environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
        environment.update(env)
        return subprocess.Popen([sys.executable, str(HERE / "regrade_round.py"), str(tmp / "bundle.json"),
                                 str(inbox), str(tmp / f"{name}.json")], env=environment)

    def finish(process):
        assert process.wait(timeout=1800) == 0

    first, second = start("first", PYTHONHASHSEED="1", OPENBLAS_NUM_THREADS="2"), \
        start("second", PYTHONHASHSEED="2", OPENBLAS_NUM_THREADS="1")
    finish(first)
    finish(second)
    cores = os.cpu_count() or 1
    loops = busy_loops(2 * cores)   # same priority as the grader
    try:
        begin, wall = timing.process_cpu(p.pid for p in loops), time.monotonic()
        finish(start("loaded", PYTHONHASHSEED="3"))
        busy = (timing.process_cpu(p.pid for p in loops) - begin) / (time.monotonic() - wall)
        alive = sum(p.poll() is None for p in loops)
    finally:
        for p in loops:
            p.kill()
            p.wait()
    print(f"\nloaded round: {alive} of {len(loops)} busy-loop processes ran throughout, using {busy:.2f} of "
          f"{cores} cores (ratio {busy / cores:.2f})")
    results = {name: json.loads((tmp / f"{name}.json").read_text()) for name in ("first", "second", "loaded")}
    return dict(results=results, ids=sorted(p.name for p in inbox.iterdir()), alive=alive, loops=len(loops))


def cell_differences(a, b):
    found = []
    for student in sorted(set(a) | set(b)):
        for notebook in sorted(set(a.get(student, {})) | set(b.get(student, {}))):
            x, y = a.get(student, {}).get(notebook), b.get(student, {}).get(notebook)
            if x is None or y is None:
                found.append(f"{student}/{notebook}: graded once only")
                continue
            for cell in sorted(set(x["cells"]) | set(y["cells"])):
                if x["cells"].get(cell) != y["cells"].get(cell):
                    found.append(f"{student}/{notebook} {cell}: {x['cells'].get(cell)} != {y['cells'].get(cell)}")
            if x["outputs"] != y["outputs"] or x["notes"] != y["notes"]:
                found.append(f"{student}/{notebook}: the graded notebook's outputs or notes differ")
    return found


def test_grading_the_samples_three_times_gives_the_same_points_and_feedback_cell_by_cell(rounds):
    results = rounds["results"]
    assert sorted(results["first"]) == rounds["ids"] and len(rounds["ids"]) == len(samples.sample_students())
    assert set(results["first"]["solution"]) == set(NOTEBOOKS)
    cells = sum(len(nb["cells"]) for student in results["first"].values() for nb in student.values())
    print(f"\n{cells} graded cells in {len(rounds['ids'])} sample submissions, compared over 3 gradings")
    for other in ("second", "loaded"):
        assert cell_differences(results["first"], results[other]) == [], other


def test_random_probes_are_recorded_and_differ_between_students(rounds):
    first = rounds["results"]["first"]
    drawn = [(student, notebook, grade_id, cell) for student, nbs in first.items() for notebook, nb in nbs.items()
             for grade_id, cell in nb["cells"].items() if cell["seeds"]]
    assert any(notebook == "e8_08" for _, notebook, _, _ in drawn)
    pairs = 0
    for student, notebook, grade_id, cell in drawn:
        for other, other_notebook, other_id, other_cell in drawn:
            if other != student and (other_notebook, other_id) == (notebook, grade_id):
                pairs += 1
                assert set(cell["seeds"]).isdisjoint(other_cell["seeds"]), (student, other, grade_id)
        if cell["points"] is not None and cell["points"] < cell["max_points"]:   # a failed cell shows its seeds
            assert f"checks.grading_context(seeds={cell['seeds']})" in cell["feedback"], (student, grade_id)
    assert pairs, "some cell drew seeds for two students"


def test_the_solution_keeps_full_marks_with_every_core_busy(rounds):
    assert rounds["alive"] == rounds["loops"] == 2 * (os.cpu_count() or 1)
    loaded = rounds["results"]["loaded"]["solution"]
    cells = {g: c for nb in loaded.values() for g, c in nb["cells"].items()}
    lost = {g: c for g, c in cells.items() if c["reason"] or (c["points"] is not None and c["points"] < c["max_points"])}
    assert lost == {}
    assert sum(c["points"] for c in cells.values() if c["points"] is not None) > 0
    waiting = [g for g, c in cells.items() if c["points"] is None]   # explanations, graded by hand
    assert all(g.endswith("_explain") for g in waiting)
