"""The grading throughput benchmark (bench/grading_throughput.py) runs, on 2 submissions instead of
100: plain nbgrader, the job-and-merge grader alone, with 2 local workers and on a 2-worker Dask
cluster agree on every grade, and every gradebook is consistent."""
from bench import grading_throughput as bench


def test_generated_submissions_mix_solutions_blanks_and_mistakes():
    ids = [s.id for s in bench.students(12)]
    assert len(set(ids)) == 12 and ids[0] == "s000-solution" and ids[1] == "s001-blank"
    assert any("+" in i for i in ids), "some students make two mistakes"


def test_the_benchmark_runs_and_every_way_agrees(tmp_path, capsys):
    plan = bench.run(2, workers=(2,), baseline=True, folder=tmp_path, log=lambda *a: None)
    assert [(w.name.split()[0], w.workers, w.dask) for w in plan] == [
        ("nbgrader", 1, False), ("local", 1, False), ("local", 2, False), ("dask", 2, True)]
    baseline = plan[0].scores
    assert sorted(baseline) == ["s000-solution", "s001-blank"]
    assert sum(s for s, _, manual in baseline["s000-solution"].values() if not manual) == 70
    assert sum(s for s, _, _ in baseline["s001-blank"].values()) == 0
    for way in plan:
        assert way.scores == baseline and not way.failed and not way.gradebook and way.seconds > 0
    text = bench.table(plan, 2)
    assert text.count("2/2") == 3 and text.count(" ok") == 4
    (workers, local, dask, per, percent), = bench.overhead(plan)
    assert workers == 2 and per == (dask - local) / 2 and f"{percent:+.1f}%" in text
    with capsys.disabled():
        print("\n" + text)
