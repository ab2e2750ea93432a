"""`make bench`: three convolution layers, every path timed against PyTorch and numpy's matmul in one run.

Run from the repository root: ``python -m bench.bench`` (``--rounds N``, ``--calls N``; ``--quick`` for a
smoke run). BLAS runs with 2 threads (threadpoolctl), and so does PyTorch (torch.set_num_threads(2)).

The layers (float64, B=64 inputs of H^n=16 FMs, H^m=32 kernels):

* ``lenet``: 28x28, 3x3 kernels, stride 1, no padding (Z is 64x32x26x26), then 2x2 max pooling with
  stride 2 on Z;
* ``strided``: 28x28, 3x3 kernels, stride 2, padding 1 (Z is 64x32x14x14), then overlapping 3x3 max
  pooling with stride 2 (the windows share a row and a column);
* ``1-D``: signals of length 784, filters of 9 taps, padding 4 ("same"), no pooling.

For each path it prints the median and the best of N wall times, and

* the speed-up against PyTorch CPU: its time divided by ours (>= 1: we are at least as fast).
  F.conv2d / conv1d, torch.nn.grad.conv2d_input / conv1d_input and conv2d_weight / conv1d_weight,
  F.max_pool2d; for ``max_pool_da`` with indices, torch's backward kernel given the indices its forward
  saved against ours given ours; without indices, torch's forward-with-indices plus backward against
  ours finding the maxima itself;
* for the convolution paths, GFLOP/s (2*B*H^m*H^n*S_r*S_c*r*c flops, the same multiply-adds on each
  path) and its fraction of numpy matmul's GFLOP/s on the im2col GEMM of the same flop count,
  (B*S_r*S_c x H^n*r*c) @ (H^n*r*c x H^m), timed in the same rounds;
* for the ``lenet`` layer also the speed-up against scipy (signal.correlate2d and convolve2d once
  per pair of FMs, ndimage.maximum_filter) and against the loop oracle (textbook_core/oracle.py),
  timed on a slice printed with the table and scaled linearly by the number of multiply-adds.

Before timing, every result is checked against PyTorch and, on a slice, against the oracle
(np.allclose), so the comparison is between computations that agree.
"""
import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np
import scipy.ndimage
import scipy.signal
from threadpoolctl import threadpool_info, threadpool_limits

import textbook_core as tc
from textbook_core import oracle

try:
    import torch
    import torch.nn.functional as F
except ImportError:   # PyTorch is optional: its columns are skipped
    torch = None

THREADS = 2
WARM_UP = 0.15                                   # seconds, see time_blocks
CONV_OPS = ("correlate_fms", "conv_da", "conv_dlw")
POOL_OPS = ("max_pool", "max_pool_da (indices)", "max_pool_da")


@dataclass(frozen=True)
class Layer:
    """One convolution layer and the max pooling after it (``pool=None``: none)."""
    name: str
    B: int
    H_n: int
    H_m: int
    R: tuple                # (R_r, R_c); R_r = 1 for the 1-D layer
    k: tuple                # (r, c)
    padding: int
    stride: int
    pool: object = None     # window size of the max pooling
    pool_stride: object = None
    one_d: bool = False

    @property
    def S(self):
        return tc.output_size(self.R, self.k, padding=(0, self.padding) if self.one_d else self.padding,
                              stride=self.stride)

    @property
    def flops(self):
        return 2 * self.B * self.H_m * self.H_n * self.S[0] * self.S[1] * self.k[0] * self.k[1]

    @property
    def ops(self):
        return CONV_OPS + (POOL_OPS if self.pool else ())

    def describe(self):
        what = (f"B={self.B}, H^n={self.H_n} -> H^m={self.H_m}, "
                + (f"T={self.R[1]}, k={self.k[1]}" if self.one_d else f"{self.R[0]}x{self.R[1]}, {self.k[0]}x{self.k[1]}")
                + f", stride {self.stride}, padding {self.padding}")
        if self.pool:
            what += f"; max pool {self.pool}x{self.pool} stride {self.pool_stride} on Z {self.B}x{self.H_m}x{self.S[0]}x{self.S[1]}"
        return what

    def kw(self):
        return dict(padding=self.padding, stride=self.stride)


LAYERS = (Layer("lenet", 64, 16, 32, (28, 28), (3, 3), 0, 1, pool=2, pool_stride=2),
          Layer("strided", 64, 16, 32, (28, 28), (3, 3), 1, 2, pool=3, pool_stride=2),
          Layer("1-D", 64, 16, 32, (1, 784), (1, 9), 4, 1, one_d=True))


def next_layer(name):
    """The layer called `name`."""
    return next(layer for layer in LAYERS if layer.name == name)


def inputs(layer, seed=0):
    """Random float64 inputs of the layer (1-D ones without the row axis); Z has no ties in a window."""
    rng = np.random.default_rng(seed)
    squeeze = (lambda a: a[..., 0, :]) if layer.one_d else (lambda a: a)
    A = squeeze(rng.standard_normal((layer.B, layer.H_n) + layer.R))
    LW = squeeze(rng.standard_normal((layer.H_m, layer.H_n) + layer.k))
    dLZ = squeeze(rng.standard_normal((layer.B, layer.H_m) + layer.S))
    x = dict(A=A, LW=LW, dLZ=dLZ)
    if layer.pool:
        Z = tc.correlate_fms(LW, A, **layer.kw())
        view = np.lib.stride_tricks.sliding_window_view(Z, (layer.pool, layer.pool), axis=(-2, -1))
        view = view[..., :: layer.pool_stride, :: layer.pool_stride, :, :]
        ties = (view == view.max(axis=(-2, -1), keepdims=True)).sum(axis=(-2, -1)) > 1
        assert not ties.any(), "a pooling window of Z holds its maximum twice: pick another seed"
        x.update(Z=Z, dP=rng.standard_normal(view.shape[:-2]),
                 indices=tc.max_pool(Z, layer.pool, stride=layer.pool_stride, return_indices=True)[1])
    return x


def ours(layer, x):
    pool, st = layer.pool, layer.pool_stride
    calls = {
        "correlate_fms": lambda: tc.correlate_fms(x["LW"], x["A"], **layer.kw()),
        "conv_da": lambda: tc.conv_da(x["dLZ"], x["LW"], x["A"].shape, **layer.kw()),
        "conv_dlw": lambda: tc.conv_dlw(x["dLZ"], x["A"], kernel_shape=layer.k[1] if layer.one_d else layer.k,
                                        **layer.kw()),
    }
    if pool:
        calls.update({
            "max_pool": lambda: tc.max_pool(x["Z"], pool, stride=st),
            "max_pool_da (indices)": lambda: tc.max_pool_da(x["dP"], x["Z"], pool, stride=st, indices=x["indices"]),
            "max_pool_da": lambda: tc.max_pool_da(x["dP"], x["Z"], pool, stride=st),
        })
    return calls


def pytorch(layer, x):
    """PyTorch CPU in float64, the same paths."""
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in x.items()}
    conv = F.conv1d if layer.one_d else F.conv2d
    grad_input = torch.nn.grad.conv1d_input if layer.one_d else torch.nn.grad.conv2d_input
    grad_weight = torch.nn.grad.conv1d_weight if layer.one_d else torch.nn.grad.conv2d_weight
    p, s = layer.padding, layer.stride
    calls = {
        "correlate_fms": lambda: conv(t["A"], t["LW"], stride=s, padding=p),
        "conv_da": lambda: grad_input(t["A"].shape, t["LW"], t["dLZ"], stride=s, padding=p),
        "conv_dlw": lambda: grad_weight(t["A"], t["LW"].shape, t["dLZ"], stride=s, padding=p),
    }
    if layer.pool:
        k, st = [layer.pool] * 2, [layer.pool_stride] * 2
        _, saved = F.max_pool2d(t["Z"], k, st, return_indices=True)

        def backward(indices):
            return torch.ops.aten.max_pool2d_with_indices_backward(t["dP"], t["Z"], k, st, [0, 0], [1, 1], False,
                                                                   indices)
        calls.update({
            "max_pool": lambda: F.max_pool2d(t["Z"], k, st),
            "max_pool_da (indices)": lambda: backward(saved),
            "max_pool_da": lambda: backward(F.max_pool2d(t["Z"], k, st, return_indices=True)[1]),
        })
    return calls


def scipy_per_channel(layer, x):
    """scipy.signal on one pair of 2-D FMs at a time, summed as 8.21, 8.45 and 8.48 say (stride 1, no padding)."""
    A, LW, dLZ, Z = x["A"], x["LW"], x["dLZ"], x["Z"]
    B, H_n, H_m, (S_r, S_c), (r, c) = layer.B, layer.H_n, layer.H_m, layer.S, layer.k

    def forward():
        out = np.zeros((B, H_m, S_r, S_c))
        for b, h, l in np.ndindex(B, H_m, H_n):
            out[b, h] += scipy.signal.correlate2d(A[b, l], LW[h, l], mode="valid")
        return out

    def da():
        out = np.zeros((B, H_n) + layer.R)
        for b, l, h in np.ndindex(B, H_n, H_m):
            out[b, l] += scipy.signal.convolve2d(dLZ[b, h], LW[h, l], mode="full")
        return out

    def dlw():
        out = np.zeros((H_m, H_n, r, c))
        for h, l, b in np.ndindex(H_m, H_n, B):
            out[h, l] += scipy.signal.correlate2d(A[b, l], dLZ[b, h], mode="valid")
        return out

    def pool():   # the maximum around every pixel, then every pool_stride-th one
        n, s = layer.pool, layer.pool_stride
        return scipy.ndimage.maximum_filter(Z, size=(1, 1, n, n), origin=(0, 0, -(n // 2), -(n // 2)))[..., ::s, ::s]

    return {"correlate_fms": forward, "conv_da": da, "conv_dlw": dlw, "max_pool": pool}


def oracle_slices(layer, x):
    """The loop oracle on a slice of the layer, and the factor that scales it to the whole layer.

    Each entry: (description, factor, oracle call, our call on the same slice)."""
    two = (lambda a: a[..., None, :]) if layer.one_d else (lambda a: a)      # the oracle takes 2-D FMs
    A, LW, dLZ = two(x["A"]), two(x["LW"]), two(x["dLZ"])
    pad = (0, layer.padding) if layer.one_d else (layer.padding,) * 2
    st = (1, layer.stride) if layer.one_d else (layer.stride,) * 2
    B, H_m, H_n = layer.B, layer.H_m, layer.H_n
    flat = (lambda a: a[..., 0, :]) if layer.one_d else (lambda a: a)
    entries = {
        "correlate_fms": ("image 0, H^m=2, H^n=2", B * H_m * H_n / 4,
                          lambda: flat(oracle.correlate_fms(LW[:2, :2], A[0, :2], pad, st)),
                          lambda: tc.correlate_fms(x["LW"][:2, :2], x["A"][0, :2], **layer.kw())),
        "conv_da": ("image 0, H^m=1, H^n=1", B * H_m * H_n,
                    lambda: flat(oracle.conv_da(dLZ[0, :1], LW[:1, :1], A.shape[-2:], pad, st)),
                    lambda: tc.conv_da(x["dLZ"][0, :1], x["LW"][:1, :1], x["A"][0, :1].shape, **layer.kw())),
        "conv_dlw": ("image 0, H^m=2, H^n=2", B * H_m * H_n / 4,
                     lambda: flat(oracle.conv_dlw(dLZ[0, :2], A[0, :2], LW.shape[-2:], pad, st)),
                     lambda: tc.conv_dlw(x["dLZ"][0, :2], x["A"][0, :2], kernel_shape=layer.k[1] if layer.one_d
                                         else layer.k, **layer.kw())),
    }
    if layer.pool:
        n, s, Z, dP = layer.pool, layer.pool_stride, x["Z"], x["dP"]
        entries.update({
            "max_pool": ("one FM", B * H_m, lambda: oracle.max_pool(Z[0, 0], (n, n), (s, s)),
                         lambda: tc.max_pool(Z[0, 0], n, stride=s)),
            "max_pool_da": ("one FM", B * H_m, lambda: oracle.max_pool_da(dP[0, 0], Z[0, 0], (n, n), (s, s)),
                            lambda: tc.max_pool_da(dP[0, 0], Z[0, 0], n, stride=s)),
        })
        entries["max_pool_da (indices)"] = entries["max_pool_da"][:3] + (
            lambda: tc.max_pool_da(dP[0, 0], Z[0, 0], n, stride=s, indices=x["indices"][0, 0]),)
    return entries


def matmul_reference(layer, seed=1):
    """numpy matmul on the im2col GEMM of the layer: the same flop count, as one BLAS call."""
    rng = np.random.default_rng(seed)
    K = layer.H_n * layer.k[0] * layer.k[1]
    X, Y = rng.standard_normal((layer.B * layer.S[0] * layer.S[1], K)), rng.standard_normal((K, layer.H_m))
    assert 2 * X.shape[0] * X.shape[1] * Y.shape[1] == layer.flops
    return lambda: X @ Y


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
    if isinstance(ours_result, tuple):
        ours_result = ours_result[0]
    theirs = theirs.numpy() if hasattr(theirs, "numpy") else np.asarray(theirs, dtype=float)
    ok = ours_result.shape == theirs.shape and np.allclose(ours_result, theirs, rtol=1e-10, atol=1e-10)
    if not ok:
        raise SystemExit(f"bench: {name} differs from {who}; the comparison would not be fair")


def measure(layer, rounds, per_block, few, warm_up=WARM_UP):
    """Check every path of `layer` against PyTorch and the oracle slice, then time them all."""
    x = inputs(layer)
    mine = ours(layer, x)
    theirs = pytorch(layer, x) if torch is not None else {}
    slices = oracle_slices(layer, x)
    for k, f in mine.items():
        result = f()
        if k in theirs:
            check(f"{layer.name} {k}", result, theirs[k](), "PyTorch")
        _, _, slow, fast = slices[k]
        check(f"{layer.name} {k} (oracle slice)", fast(), slow(), "the loop oracle")
    calls = {("ours", k): f for k, f in mine.items()}
    calls.update({("torch", k): f for k, f in theirs.items()})
    calls[("matmul", "")] = matmul_reference(layer)
    result = {"layer": layer, "wall": time_blocks(calls, rounds, per_block, warm_up), "warm_up": warm_up}
    if layer.name == "lenet":          # scipy and the oracle, as a scale: a few calls, median
        result["scipy"] = {k: time_few(f, few) for k, f in scipy_per_channel(layer, x).items()}
        result["oracle"] = {k: min(time_few(s[2], few)) * s[1] for k, s in slices.items()}
        result["slices"] = slices
    return result


def fmt(x, width=8, digits=2):
    return f"{'-':>{width}s}" if x is None else f"{x:{width}.{digits}f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="rounds over all calls (default 3)")
    p.add_argument("--calls", type=int, default=7, help="timed calls of each operation per round (default 7)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: one round of 3 calls with a short warm-up, one scipy and oracle call")
    p.add_argument("--layers", nargs="*", default=[layer.name for layer in LAYERS], help="layers to run")
    args = p.parse_args(argv)
    rounds, per_block, few = (1, 3, 1) if args.quick else (args.rounds, args.calls, 3)
    unknown = set(args.layers) - {layer.name for layer in LAYERS}
    if unknown:
        p.error(f"unknown layer(s) {sorted(unknown)}; known: {[layer.name for layer in LAYERS]}")

    threadpool_limits(limits=THREADS)
    if torch is not None:
        torch.set_num_threads(THREADS)
    load_before = os.getloadavg()
    warm_up = 0.01 if args.quick else WARM_UP
    results = [measure(layer, rounds, per_block, few, warm_up) for layer in LAYERS if layer.name in args.layers]
    load_after = os.getloadavg()
    report(results, (rounds, per_block), few, load_before, load_after)
    return 0


def report(results, rounds, few, load_before, load_after):
    """Print the environment, one table per statistic (median, best of N) and the issue's goals."""
    blas = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
            for i in threadpool_info() if i["user_api"] == "blas" and "numpy" in i["filepath"]]
    print(f"numpy {np.__version__}, BLAS {blas[0] if blas else '?'}; "
          + (f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch is not None
             else "PyTorch not installed: its columns are skipped (make bench installs it from a local wheel if there is one)")
          + f"; {os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    if max(load_before[0], load_after[0]) > 0.5 * (os.cpu_count() or 1):
        print("note: other processes were using the CPUs during this run: medians are inflated; the best-of "
              "table is the closer estimate of an idle machine")
    print(f"Each time is over N = {rounds[0]} rounds x {rounds[1]} back-to-back calls, after {results[0]['warm_up']} s of untimed "
          "calls (see time_blocks). x torch = torch's time / ours (>= 1: ours is at least as fast); "
          "/matmul = our GFLOP/s / numpy matmul's on the im2col GEMM of the same flops.")
    for res in results:
        layer = res["layer"]
        print(f"  {layer.name:8s} {layer.describe()}; conv {layer.flops / 1e6:.1f} MFLOP")
    goals = []
    for which, stat in (("median", statistics.median), ("best", min)):
        print()
        head = (f"{which + ' of N':30s} {'ours ms':>8s} {'GFLOP/s':>8s} {'/matmul':>8s} {'x torch':>8s} "
                f"{'torch ms':>9s}")
        print(head)
        print("-" * len(head))
        for res in results:
            layer, t = res["layer"], {k: stat(v) for k, v in res["wall"].items()}
            mm = layer.flops / t[("matmul", "")] / 1e9
            print(f"{layer.name + ': numpy matmul':30s} {1e3 * t[('matmul', '')]:8.2f} {mm:8.1f}")
            for k in layer.ops:
                ours_t, torch_t = t[("ours", k)], t.get(("torch", k))
                gf = layer.flops / ours_t / 1e9 if k in CONV_OPS else None
                speedup = torch_t / ours_t if torch_t else None
                print(f"{'  ' + k:30s} {1e3 * ours_t:8.2f} {fmt(gf, digits=1)} {fmt(gf / mm if gf else None)} "
                      f"{fmt(speedup)} {fmt(1e3 * torch_t if torch_t else None, 9)}")
                goals.append((layer.name, k, which, speedup, gf / mm if gf else None))
    lenet = next((res for res in results if "scipy" in res), None)
    if lenet:
        print()
        print(f"lenet against scipy (signal.correlate2d / convolve2d per pair of FMs, ndimage.maximum_filter) "
              f"and the loop oracle (a slice, scaled by multiply-adds); medians, scipy and oracle of {few} calls:")
        t = {k: statistics.median(v) for k, v in lenet["wall"].items()}
        for k in lenet["layer"].ops:
            ts = statistics.median(lenet["scipy"][k]) if k in lenet["scipy"] else None
            desc, factor = lenet["slices"][k][:2]
            print(f"  {k:22s} x scipy {fmt(ts / t[('ours', k)] if ts else None, 9, 1)}   x oracle "
                  f"{lenet['oracle'][k] / t[('ours', k)]:11.0f}   (oracle slice: {desc}, x {factor:.0f})")
    print()
    print("goals (issue 12): every path at least as fast as PyTorch CPU (x torch >= 1); convolution paths at "
          "least half of numpy matmul's GFLOP/s (/matmul >= 0.5)")
    for name, k, which, speedup, frac in goals:
        parts = [f"torch {'met' if speedup >= 1 else 'NOT met'} ({speedup:.2f}x)" if speedup is not None
                 else "torch not measured (PyTorch not installed)"]
        if frac is not None:
            parts.append(f"matmul {'met' if frac >= 0.5 else 'NOT met'} ({frac:.2f})")
        print(f"  {name:8s} {k:22s} {which:6s} " + ", ".join(parts))


if __name__ == "__main__":
    sys.exit(main())
