"""Where the two paths that stay behind PyTorch spend their time, in one run (part of ``make bench``).

* ``max_pool_da`` given indices (bench.bench's ``lenet`` and ``strided`` layers): the three numpy
  calls any numpy scatter needs, each timed alone on the layer's arrays: zeroing the output (a
  memset), turning each FM's indices into indices of the whole output, and ``np.add.at``. Their sum
  is a floor for numpy; PyTorch's backward kernel does all three in one C loop on two threads.
* ``conv_da`` (the ``lenet`` and ``1-D`` layers): the whole path, and the same path with its matrix
  products skipped (everything else still runs); the difference is what the products cost, on the
  same shapes, chunks and threads. Their GFLOP/s show how close BLAS runs to the machine's peak, and
  the rest is the copies that lay the full correlation out for BLAS.

    .venv/bin/python -m bench.floors            # --quick: one round of two calls
"""
import argparse
import sys

import numpy as np
from threadpoolctl import threadpool_limits

from textbook_core import blas

from .bench import THREADS, WARM_UP, inputs, next_layer, ours, pytorch, time_blocks, torch

SCATTER = ("zero the output", "indices of the whole output", "np.add.at")


def best_ms(times):
    return {key: 1e3 * min(v) for key, v in times.items()}


def scatter_parts(layer, timing):
    """max_pool_da given indices: the three numpy calls alone, ours whole and PyTorch's kernel (ms)."""
    x = inputs(layer)
    Z, idx = x["Z"], x["indices"]
    n, R = int(np.prod(Z.shape[:-2])), Z.shape[-2] * Z.shape[-1]
    where, start = idx.reshape(n, -1), (np.arange(n) * R)[:, None]
    flat, d, out = (where + start).reshape(-1), x["dP"].reshape(-1), np.empty(n * R)
    calls = dict(zip(SCATTER, (lambda: out.fill(0), lambda: np.add(where, start), lambda: np.add.at(out, flat, d))))
    calls["ours"] = ours(layer, x)["max_pool_da (indices)"]
    if torch is not None:
        calls["torch"] = pytorch(layer, x)["max_pool_da (indices)"]
    return best_ms(time_blocks(calls, *timing))


class Products:
    """numpy for `textbook_core.blas`, with `matmul` counting its flops and, when `skip` is set, not
    computing (the caller then goes on with the products a real call left in its kept buffers)."""

    def __init__(self, skip):
        self.skip, self.flops = skip, 0

    def __getattr__(self, name):
        return getattr(np, name)

    def matmul(self, a, b, out=None):
        self.flops += 2 * a.shape[0] * a.shape[1] * b.shape[0] * b.shape[-1]
        return out if self.skip else np.matmul(a, b, out=out)


def conv_da_parts(layer, timing):
    """conv_da whole and without its matrix products, and PyTorch's (ms); the products' flops per call."""
    x = inputs(layer)
    conv_da, flops = ours(layer, x)["conv_da"], []

    def with_products(skip):
        def call():
            blas.np = Products(skip)
            try:
                conv_da()
            finally:
                flops.append(blas.np.flops)
                blas.np = np
        return call

    with_products(False)()              # real products in the kept buffers before any skipped call
    calls = {"ours": with_products(False), "ours without its matrix products": with_products(True)}
    if torch is not None:
        calls["torch"] = pytorch(layer, x)["conv_da"]
    times = best_ms(time_blocks(calls, *timing))
    times["its matrix products"] = times["ours"] - times["ours without its matrix products"]
    return times, flops[0]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: one round of two calls, short warm-up")
    args = p.parse_args(argv)
    timing = (1, 2, 0.01) if args.quick else (5, 7, WARM_UP)
    threadpool_limits(limits=THREADS)
    if torch is not None:
        torch.set_num_threads(THREADS)
    print(f"Where max_pool_da (indices) and conv_da spend their time: best of {timing[0]} rounds x {timing[1]} "
          f"calls, in ms, {THREADS} threads" + ("" if torch is not None else "; PyTorch not installed"))
    for name in ("lenet", "strided"):
        t = scatter_parts(next_layer(name), timing)
        floor = sum(t[key] for key in SCATTER)
        print(f"max_pool_da given indices, {name}: " + ", ".join(f"{key} {t[key]:.3f}" for key in SCATTER)
              + f"; their sum {floor:.3f}, ours {t['ours']:.3f}"
              + (f", torch {t['torch']:.3f} (torch / the sum: {t['torch'] / floor:.2f})" if "torch" in t else ""))
    for name in ("lenet", "1-D"):
        t, flops = conv_da_parts(next_layer(name), timing)
        print(f"conv_da, {name}: ours {t['ours']:.2f}, without its matrix products "
              f"{t['ours without its matrix products']:.2f}, so the products {t['its matrix products']:.2f} "
              f"({flops / 1e6:.0f} MFLOP, {flops / max(t['its matrix products'], 1e-9) / 1e6:.1f} GFLOP/s)"
              + (f"; torch {t['torch']:.2f} (torch / ours: {t['torch'] / t['ours']:.2f}, torch / the products "
                 f"alone: {t['torch'] / t['its matrix products']:.2f})" if "torch" in t else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
