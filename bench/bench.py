"""`make bench`: the LeNet-sized convolution layer, timed against four references in one run.

Run from the repository root: ``python -m bench.bench`` (``--rounds N`` to change N, ``--quick``
for a smoke run). The layer: a batch of B=64 inputs with H^n=16 FMs of 28x28, H^m=32 kernels of
3x3, float64, stride 1, no padding, so Z is 64x32x26x26; max pooling is 2x2 with stride 2 on Z.
BLAS runs with 2 threads (threadpoolctl), and so does PyTorch (torch.set_num_threads(2)).

For each operation (tc.correlate_fms, conv_da, conv_dlw, max_pool, max_pool_da) it prints

* the median and the best of N wall times: a few rounds over all candidates, each timing a block
  of back-to-back calls after 0.15 s of untimed ones (warm caches, as in a training loop, and no
  spinning threads left over from the previous library: see `time_blocks`);
* the achieved GFLOP/s, 2*B*H^m*H^n*S_r*S_c*r*c flops for the three convolution paths (each is
  the same number of multiply-adds), and its fraction of numpy matmul's GFLOP/s on a matrix
  product of the same flop count, the im2col GEMM (B*S_r*S_c x H^n*r*c) @ (H^n*r*c x H^m);
* ours/theirs time ratios (below 1: we are faster) against PyTorch CPU (F.conv2d in float64,
  torch.nn.grad.conv2d_input / conv2d_weight, F.max_pool2d and the max-pool backward kernel;
  skipped with a note when torch is not installed), against scipy (scipy.signal.correlate2d and
  convolve2d once per pair of FMs, the per-channel way; scipy.ndimage.maximum_filter for
  max_pool; no scipy counterpart for max_pool_da), and against the loop oracle
  (textbook_core/oracle.py), which is far too slow for the full layer: it is timed on a small
  slice printed with the table and scaled linearly to the full layer by the number of
  multiply-adds (B*H^m*H^n for the convolutions, B*H^m FMs for pooling; the FM size is kept).

Before timing, every result is checked against PyTorch, scipy and, on the slice, the oracle
(np.allclose), so the comparison is between computations that agree.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import scipy.ndimage
import scipy.signal
from threadpoolctl import threadpool_info, threadpool_limits

import textbook_core as tc
from textbook_core import oracle

try:
    import torch
    import torch.nn.functional as F
except ImportError:   # PyTorch is optional: its column is skipped
    torch = None

B, H_n, H_m, R, r = 64, 16, 32, 28, 3
POOL = 2
THREADS = 2
WARM_UP = 0.15                                   # seconds, see time_blocks
S = R - r + 1                                    # 26
FLOPS = 2 * B * H_m * H_n * S * S * r * r        # one multiply-add = 2 flops
OPS = ("correlate_fms", "conv_da", "conv_dlw", "max_pool", "max_pool_da")
CONV_OPS = OPS[:3]


def inputs(seed=0):
    """Random float64 inputs of the layer; Z has no ties in any pooling window."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((B, H_n, R, R))
    LW = rng.standard_normal((H_m, H_n, r, r))
    dLZ = rng.standard_normal((B, H_m, S, S))
    Z = tc.correlate_fms(LW, A)
    dP = rng.standard_normal((B, H_m, S // POOL, S // POOL))
    blocks = Z.reshape(B, H_m, S // POOL, POOL, S // POOL, POOL)
    ties = (blocks == blocks.max(axis=(3, 5), keepdims=True)).sum(axis=(3, 5)) > 1
    assert not ties.any(), "a pooling window of Z holds its maximum twice: pick another seed"
    return dict(A=A, LW=LW, dLZ=dLZ, Z=Z, dP=dP)


def ours(x):
    return {
        "correlate_fms": lambda: tc.correlate_fms(x["LW"], x["A"]),
        "conv_da": lambda: tc.conv_da(x["dLZ"], x["LW"], x["A"].shape),
        "conv_dlw": lambda: tc.conv_dlw(x["dLZ"], x["A"]),
        "max_pool": lambda: tc.max_pool(x["Z"], POOL),
        "max_pool_da": lambda: tc.max_pool_da(x["dP"], x["Z"], POOL),
    }


def pytorch(x):
    """PyTorch CPU in float64. max_pool_da is the backward kernel alone, given the indices that
    F.max_pool2d(..., return_indices=True) saved (ours finds the maxima again from Z); the extra
    entry times that forward and the backward together."""
    t = {k: torch.from_numpy(v) for k, v in x.items()}
    _, idx = F.max_pool2d(t["Z"], POOL, return_indices=True)

    def pool_backward(indices):
        return torch.ops.aten.max_pool2d_with_indices_backward(
            t["dP"], t["Z"], [POOL, POOL], [POOL, POOL], [0, 0], [1, 1], False, indices)

    return {
        "correlate_fms": lambda: F.conv2d(t["A"], t["LW"]),
        "conv_da": lambda: torch.nn.grad.conv2d_input(t["A"].shape, t["LW"], t["dLZ"]),
        "conv_dlw": lambda: torch.nn.grad.conv2d_weight(t["A"], t["LW"].shape, t["dLZ"]),
        "max_pool": lambda: F.max_pool2d(t["Z"], POOL),
        "max_pool_da": lambda: pool_backward(idx),
        "max_pool_da (torch forward with indices + backward)":
            lambda: pool_backward(F.max_pool2d(t["Z"], POOL, return_indices=True)[1]),
    }


def scipy_per_channel(x):
    """scipy.signal on one pair of 2-D FMs at a time, summed as 8.21, 8.45 and 8.48 say."""
    A, LW, dLZ, Z = x["A"], x["LW"], x["dLZ"], x["Z"]

    def forward():
        out = np.zeros((B, H_m, S, S))
        for b in range(B):
            for h in range(H_m):
                for l in range(H_n):
                    out[b, h] += scipy.signal.correlate2d(A[b, l], LW[h, l], mode="valid")
        return out

    def da():
        out = np.zeros((B, H_n, R, R))
        for b in range(B):
            for l in range(H_n):
                for h in range(H_m):
                    out[b, l] += scipy.signal.convolve2d(dLZ[b, h], LW[h, l], mode="full")
        return out

    def dlw():
        out = np.zeros((H_m, H_n, r, r))
        for h in range(H_m):
            for l in range(H_n):
                for b in range(B):
                    out[h, l] += scipy.signal.correlate2d(A[b, l], dLZ[b, h], mode="valid")
        return out

    def pool():   # the 2x2 maximum around every pixel, then every second one
        return scipy.ndimage.maximum_filter(Z, size=(1, 1, POOL, POOL), origin=(0, 0, -1, -1))[..., ::POOL, ::POOL]

    return {"correlate_fms": forward, "conv_da": da, "conv_dlw": dlw, "max_pool": pool}


def oracle_slices(x):
    """The loop oracle on a slice of the layer, and the factor that scales it to the whole layer."""
    A, LW, dLZ, Z, dP = x["A"], x["LW"], x["dLZ"], x["Z"], x["dP"]
    h, l = 2, 2       # forward: image 0, 2 output FMs from 2 input FMs
    return {
        "correlate_fms": ("image 0, H^m=2, H^n=2", B * H_m * H_n / (h * l),
                          lambda: oracle.correlate_fms(LW[:h, :l], A[0, :l]),
                          lambda: tc.correlate_fms(LW[:h, :l], A[0, :l])),
        "conv_da": ("image 0, H^m=1, H^n=1", B * H_m * H_n,
                    lambda: oracle.conv_da(dLZ[0, :1], LW[:1, :1], (R, R)),
                    lambda: tc.conv_da(dLZ[0, :1], LW[:1, :1], (1, R, R))),
        "conv_dlw": ("image 0, H^m=2, H^n=2", B * H_m * H_n / (h * l),
                     lambda: oracle.conv_dlw(dLZ[0, :h], A[0, :l], (r, r)),
                     lambda: tc.conv_dlw(dLZ[0, :h], A[0, :l])),
        "max_pool": ("one FM", B * H_m,
                     lambda: oracle.max_pool(Z[0, 0], (POOL, POOL)),
                     lambda: tc.max_pool(Z[0, 0], POOL)),
        "max_pool_da": ("one FM", B * H_m,
                        lambda: oracle.max_pool_da(dP[0, 0], Z[0, 0], (POOL, POOL)),
                        lambda: tc.max_pool_da(dP[0, 0], Z[0, 0], POOL)),
    }


def matmul_reference(seed=1):
    """numpy matmul on the im2col GEMM of the layer: the same flop count, as one BLAS call."""
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((B * S * S, H_n * r * r)), rng.standard_normal((H_n * r * r, H_m))
    Xw = rng.standard_normal((H_n * r * r, B * S * S))
    assert 2 * X.shape[0] * X.shape[1] * Y.shape[1] == FLOPS
    return {"matmul (B*S_r*S_c x H^n*r*c) @ (H^n*r*c x H^m)": lambda: X @ Y,
            "matmul (H^m x H^n*r*c) @ (H^n*r*c x B*S_r*S_c)": lambda: Y.T @ Xw}


def time_blocks(calls, rounds, per_block, warm_up=WARM_UP):
    """Wall times of each call: `rounds` rounds, each timing every call `per_block` times back to back.

    Before its timed calls, each call runs untimed for `warm_up` seconds. That warms the caches and,
    as important, outlasts the previous library's idle threads: after a call, OpenBLAS's worker
    threads keep spinning on a core for about 0.1 s (libgomp's, under PyTorch, about 0.01 s), which
    would slow down whatever runs next. Alternating the rounds spreads any load from other
    processes over all calls alike.
    """
    times = {k: [] for k in calls}
    for _ in range(rounds):
        for k, f in calls.items():
            start = time.perf_counter()
            while time.perf_counter() - start < warm_up:
                f()
            for _ in range(per_block):
                t0 = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t0)
    return times


def time_few(f, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        out.append(time.perf_counter() - t0)
    return out


def check(name, ours_result, theirs, who):
    theirs = theirs.numpy() if hasattr(theirs, "numpy") else np.asarray(theirs, dtype=float)
    ok = ours_result.shape == theirs.shape and np.allclose(ours_result, theirs, rtol=1e-10, atol=1e-10)
    if not ok:
        raise SystemExit(f"bench: {name} differs from {who}; the comparison would not be fair")


def fmt_ms(t):
    return f"{1e3 * t:8.2f}"


def fmt_ratio(x):
    if x is None:
        return "       -"
    return f"{x:8.3f}" if x >= 1e-2 else f"{x:8.1e}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="rounds over all calls (default 3)")
    p.add_argument("--calls", type=int, default=7, help="timed calls of each operation per round (default 7)")
    p.add_argument("--quick", action="store_true", help="smoke run: one round of 3 calls, one scipy and oracle call")
    args = p.parse_args(argv)
    rounds, per_block, few = (1, 3, 1) if args.quick else (args.rounds, args.calls, 3)

    threadpool_limits(limits=THREADS)
    if torch is not None:
        torch.set_num_threads(THREADS)
    x = inputs()
    mine = ours(x)
    results = {k: f() for k, f in mine.items()}
    theirs_torch = pytorch(x) if torch is not None else {}
    theirs_scipy = scipy_per_channel(x)
    slices = oracle_slices(x)

    # The comparison is fair only between results that agree.
    for k in OPS:
        if k in theirs_torch:
            check(k, results[k], theirs_torch[k](), "PyTorch")
        if k in theirs_scipy:
            check(k, results[k], theirs_scipy[k](), "scipy")
        _, _, slow, fast = slices[k]
        check(k + " (oracle slice)", fast(), slow(), "the loop oracle")

    load_before = os.getloadavg()
    calls = {("ours", k): f for k, f in mine.items()}
    calls.update({("torch", k): f for k, f in theirs_torch.items()})
    calls.update({("matmul", k): f for k, f in matmul_reference().items()})
    wall = time_blocks(calls, rounds, per_block)
    scipy_wall = {k: time_few(f, few) for k, f in theirs_scipy.items()}
    oracle_wall = {k: min(time_few(s[2], few)) * s[1] for k, s in slices.items()}
    load_after = os.getloadavg()

    report(wall, scipy_wall, oracle_wall, slices, (rounds, per_block), few, load_before, load_after)
    return 0


def report(wall, scipy_wall, oracle_wall, slices, rounds, few, load_before, load_after):
    """Print the environment, the two tables (median and best of N) and the issue's goals."""
    stats = {"median": {k: statistics.median(v) for k, v in wall.items()},
             "best": {k: min(v) for k, v in wall.items()}}
    mm_names = [k[1] for k in wall if k[0] == "matmul"]
    blas = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
            for i in threadpool_info() if i["user_api"] == "blas" and "numpy" in i["filepath"]]
    print(f"LeNet-sized layer: B={B}, H^n={H_n} -> H^m={H_m}, {R}x{R} FMs, {r}x{r} kernels, float64, "
          f"stride 1, no padding; max pool {POOL}x{POOL} stride {POOL} on Z {B}x{H_m}x{S}x{S}")
    print(f"numpy {np.__version__}, BLAS {blas[0] if blas else '?'}; "
          + (f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch is not None
             else "PyTorch not installed: its columns are skipped (make bench installs it from a local wheel if there is one)")
          + f"; {os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    if max(load_before[0], load_after[0]) > 0.5 * (os.cpu_count() or 1):
        print("note: other processes were using the CPUs during this run: medians are inflated; the best-of "
              "table is the closer estimate of an idle machine")
    print(f"conv flops = 2*B*H^m*H^n*S_r*S_c*r*c = {FLOPS / 1e6:.1f} MFLOP. Each time is over N = "
          f"{rounds[0]} rounds x {rounds[1]} back-to-back calls, after {WARM_UP} s of untimed calls "
          "(see time_blocks); ratios are ours/theirs time (below 1: ours is faster).")
    for name in mm_names:
        print(f"  numpy {name}: median {1e3 * stats['median'][('matmul', name)]:.2f} ms "
              f"({FLOPS / stats['median'][('matmul', name)] / 1e9:.1f} GFLOP/s), best "
              f"{1e3 * stats['best'][('matmul', name)]:.2f} ms ({FLOPS / stats['best'][('matmul', name)] / 1e9:.1f} GFLOP/s)")
    print(f"  /matmul is the fraction of the first one's GFLOP/s (the im2col GEMM shape).")
    torch_both = "max_pool_da (torch forward with indices + backward)"
    for which, t in stats.items():
        mm = FLOPS / t[("matmul", mm_names[0])] / 1e9
        print()
        head = (f"{which + ' of N':14s} {'ours ms':>8s} {'GFLOP/s':>8s} {'/matmul':>8s} {'/torch':>8s} "
                f"{'torch ms':>9s}")
        if which == "median":
            head += f" {'/scipy':>8s} {'/oracle':>8s} {'scipy ms':>9s} {'oracle s':>9s}"
        print(head)
        print("-" * len(head))
        for k in OPS:
            ours_t, torch_t = t[("ours", k)], t.get(("torch", k))
            gf = FLOPS / ours_t / 1e9 if k in CONV_OPS else None
            line = (f"{k:14s} {fmt_ms(ours_t)} {(f'{gf:8.1f}' if gf else '       -')} "
                    f"{fmt_ratio(gf / mm if gf else None)} {fmt_ratio(ours_t / torch_t if torch_t else None)} "
                    f"{(fmt_ms(torch_t) if torch_t else '       -'):>9s}")
            if which == "median":
                ts = statistics.median(scipy_wall[k]) if k in scipy_wall else None
                line += (f" {fmt_ratio(ours_t / ts if ts else None)} {fmt_ratio(ours_t / oracle_wall[k])} "
                         f"{(fmt_ms(ts) if ts else '       -'):>9s} {oracle_wall[k]:9.1f}")
            print(line)
        if ("torch", torch_both) in t:
            print(f"{'':14s} max_pool_da vs PyTorch forward-with-indices + backward (both find the maxima): "
                  f"{fmt_ratio(t[('ours', 'max_pool_da')] / t[('torch', torch_both)]).strip()} "
                  f"({1e3 * t[('torch', torch_both)]:.2f} ms)")
    print()
    print(f"torch: F.conv2d, torch.nn.grad.conv2d_input / conv2d_weight, F.max_pool2d, and for max_pool_da the "
          f"backward kernel alone given the saved indices. scipy: signal.correlate2d / convolve2d per pair of "
          f"FMs ({B * H_m * H_n} calls), ndimage.maximum_filter for max_pool, none for max_pool_da; median of {few}.")
    print(f"oracle: textbook_core/oracle.py, best of {few} on a slice, scaled linearly to the full layer by the "
          "number of multiply-adds (FM sizes kept):")
    for k in OPS:
        desc, factor = slices[k][0], slices[k][1]
        print(f"  {k:14s} slice {desc:24s} x {factor:6.0f}")
    print()
    print("goals (issue): every path at least as fast as PyTorch CPU; conv paths at least half of numpy matmul GFLOP/s")
    for k in OPS:
        verdicts = []
        for which, t in stats.items():
            part = []
            if ("torch", k) in t:
                ratio = t[("ours", k)] / t[("torch", k)]
                part.append(f"torch {'met' if ratio <= 1 else 'NOT met'} ({ratio:.2f}x)")
            if k in CONV_OPS:
                frac = t[("matmul", mm_names[0])] / t[("ours", k)]    # our GFLOP/s over matmul's
                part.append(f"matmul {'met' if frac >= 0.5 else 'NOT met'} ({frac:.2f})")
            if part:
                verdicts.append(f"{which}: " + ", ".join(part))
        print(f"  {k:14s} " + ("; ".join(verdicts) or "(PyTorch not installed)"))


if __name__ == "__main__":
    sys.exit(main())
