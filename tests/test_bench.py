"""bench/bench.py runs: every path of the layers is checked against the loop oracle (and PyTorch when
it is installed) before anything is timed, and the tables name every path. No timing is asserted."""
import re

import pytest

from bench import bench

LAYERS = ("strided", "1-D")


@pytest.fixture(scope="module", params=["as installed", "without PyTorch"])
def report(request):
    """The --quick report of two layers, with PyTorch if it is installed and once without it."""
    patch = pytest.MonkeyPatch()
    if request.param == "without PyTorch":
        patch.setattr(bench, "torch", None)
    elif bench.torch is None:
        pytest.skip("PyTorch is not installed: the run without it covers this")
    try:
        with pytest.MonkeyPatch.context() as quiet:
            lines = []
            quiet.setattr("builtins.print", lambda *a, **k: lines.append(" ".join(map(str, a))))
            assert bench.main(["--quick", "--layers", *LAYERS]) == 0
    finally:
        patch.undo()
    return request.param, "\n".join(lines) + "\n"


def test_the_bench_checks_and_reports_every_path(report):
    how, out = report
    assert "median of N" in out and "best of N" in out and "/matmul" in out
    tables, goals = out.split("goals (issue 12)")
    for path in bench.CONV_OPS + bench.POOL_OPS:         # a row per layer that has the path, per statistic
        rows = 2 * sum(path in bench.next_layer(layer).ops for layer in LAYERS)
        assert len(re.findall(rf"^  {re.escape(path)} +\d", tables, re.M)) == rows, (how, path)
    for layer in LAYERS:
        for path in bench.next_layer(layer).ops:
            # one goal line per statistic, whether or not PyTorch could be timed
            lines = re.findall(rf"^  {re.escape(layer)} +{re.escape(path)} +(median|best) +(.*)$", goals, re.M)
            assert sorted(w for w, _ in lines) == ["best", "median"], (how, layer, path, lines)
            for _, verdict in lines:
                assert ("torch not measured" in verdict) == (how == "without PyTorch"), verdict
                assert ("matmul" in verdict) == (path in bench.CONV_OPS), verdict


def test_the_layers_are_the_issues():
    lenet, strided, one_d = bench.LAYERS
    assert (lenet.B, lenet.H_n, lenet.H_m, lenet.R, lenet.k, lenet.S) == (64, 16, 32, (28, 28), (3, 3), (26, 26))
    assert (strided.stride, strided.padding, strided.S) == (2, 1, (14, 14)) and strided.pool_stride < strided.pool
    assert one_d.one_d and one_d.S == (1, 784)
    assert lenet.flops == 2 * 64 * 32 * 16 * 26 * 26 * 9


def test_floors_report_both_paths_and_count_every_matrix_product(capsys):
    """bench/floors.py prints a line per layer for each path, and its count of conv_da's matrix
    products is the plan of blas.full_correlation on the lenet layer: one product per chunk, of the
    r H^n rows of kernel rows by the kc H^m columns of folded column taps, over the S_r G_c columns
    of each of the B items, G_c = S_c + c - 1 (no waste counted, none left out)."""
    from bench import floors
    assert floors.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for name in ("lenet", "strided"):
        assert re.search(rf"^max_pool_da given indices, {name}: zero the output \d.*np\.add\.at \d.*their sum \d", out, re.M)
    for name in ("lenet", "1-D"):
        assert re.search(rf"^conv_da, {name}: ours \d.*without its matrix products \d.*GFLOP/s", out, re.M)
    lenet = bench.next_layer("lenet")
    (r, c), (S_r, S_c) = lenet.k, lenet.S
    _, flops = floors.conv_da_parts(lenet, (1, 1, 0))
    assert flops == 2 * (r * lenet.H_n) * (c * lenet.H_m) * (S_r * (S_c + c - 1)) * lenet.B
