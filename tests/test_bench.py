"""bench/bench.py runs: every path of the layers is checked against the loop oracle (and PyTorch when
it is installed) before anything is timed, and the tables name every path. No timing is asserted."""
from bench import bench


def test_the_bench_checks_and_reports_every_path(capsys):
    assert bench.main(["--quick", "--layers", "strided", "1-D"]) == 0
    out = capsys.readouterr().out
    for layer in ("strided", "1-D"):
        for path in bench.next_layer(layer).ops:
            assert f"  {path} " in out, path
    assert "median of N" in out and "best of N" in out and "/matmul" in out
    assert out.count("strided  max_pool_da (indices)") == 2          # both statistics in the goals


def test_the_layers_are_the_issues():
    lenet, strided, one_d = bench.LAYERS
    assert (lenet.B, lenet.H_n, lenet.H_m, lenet.R, lenet.k, lenet.S) == (64, 16, 32, (28, 28), (3, 3), (26, 26))
    assert (strided.stride, strided.padding, strided.S) == (2, 1, (14, 14)) and strided.pool_stride < strided.pool
    assert one_d.one_d and one_d.S == (1, 784)
    assert lenet.flops == 2 * 64 * 32 * 16 * 26 * 26 * 9
