"""Chunks of a batch on threads, and the scratch buffers they keep.

Nothing here is an equation of the chapter. `for_chunks` runs a batch a few items at a time (so
that copied windows stay in cache) on as many threads as BLAS would use, BLAS itself on one thread
meanwhile; `kept_scratch` keeps a layout's scratch buffers from one call to the next. The layouts
themselves are in `blas`.
"""
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Speed: a batch goes through im2col and BLAS a few items at a time, so that the copied windows
# (50 MB for a LeNet layer at once) stay in cache and their memory is reused, and the chunks run
# on as many threads as BLAS would use, with BLAS set to one thread meanwhile. None of this
# changes a result: the same chunks are summed in the same order every time.
CHUNK_BYTES = 2**21
CALL_BYTES = 2**15 * 10
"""A chunk holds at least this many bytes of work for each numpy call its work makes whatever its
size (see for_chunks' `calls`): a call's fixed cost, a few microseconds, is then about a tenth of
the chunk's time."""
_POOLS = {}


def batch_items(X, batch):
    """`X` with its batch axes broadcast to `batch` and merged into one: ``(n, H, rows, cols)``."""
    X = X if X.shape[:-3] == batch else np.broadcast_to(X, batch + X.shape[-3:])
    return X.reshape((-1,) + X.shape[-3:])


def for_chunks(work, n, item_bytes, dtype, calls=0):
    """Call ``work(k)`` on slices k that cover ``range(n)``, about CHUNK_BYTES of work each, and at
    least CALL_BYTES for each of the `calls` numpy calls a chunk makes whatever its size.

    Returns the results in order. Numeric chunks run on as many threads as BLAS would use (numpy
    releases the GIL in copies, ufuncs and BLAS) when threadpoolctl is installed and BLAS has more
    than one thread: they are split anew into as many chunks per thread, of sizes one apart, and
    the threads, the calling one among them, take the next chunk until none is left. Object
    arrays (sympy) and calls from inside a chunk run one chunk after the other:

    >>> for_chunks(lambda k: list(range(10))[k], 10, CHUNK_BYTES // 4, np.dtype(object))
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """
    item_bytes = max(1, item_bytes)
    step = max(1, CHUNK_BYTES // item_bytes)
    if step < n:          # bigger chunks for the calls' sake, but still two of them for two threads
        step = max(step, min(-(-calls * CALL_BYTES // item_bytes), -(-n // 2)))
    chunks = [slice(s, s + step) for s in range(0, n, step)]
    serial = dtype == object or len(chunks) < 2 or getattr(_INSIDE, "chunk", False)
    controller = None if serial else _blas_controller()
    workers = _blas_threads(controller) if controller else 1
    if workers < 2:
        return _Chunks(work, chunks).run()
    # As many chunks for each thread, of sizes one apart: no thread waits for another's extra chunk.
    count = -(-len(chunks) // workers) * workers
    edges = [n * i // count for i in range(count + 1)]
    job = _Chunks(work, [slice(a, b) for a, b in zip(edges, edges[1:]) if b > a])
    key = (os.getpid(), workers)  # a forked child needs threads of its own
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(workers - 1, thread_name_prefix="textbook_core")
    with controller.limit(limits=1, user_api="blas"):
        helpers = [_POOLS[key].submit(job.take) for _ in range(workers - 1)]
        try:
            job.take()
        finally:
            for helper in helpers:     # one not started yet is not waited for: no chunk is left
                if not helper.cancel():
                    helper.exception()
    return job.run()


class _Chunks:
    """The chunks of one for_chunks call, taken in order by whichever thread is free.

    On a busy machine a helper thread may wait for a core; the calling thread, already running,
    then takes the chunks the helper has not, instead of waiting for it. Which thread ran a chunk
    changes no result, and a failure raises the error of the first chunk that failed.
    """

    def __init__(self, work, chunks):
        self.work, self.chunks = work, chunks
        self.results, self.errors = [None] * len(chunks), {}
        self.order = iter(range(len(chunks)))     # next() hands out each chunk once, under the GIL

    def take(self):
        outer, _INSIDE.chunk = getattr(_INSIDE, "chunk", False), True   # a nested for_chunks runs serially
        try:
            while not self.errors:
                i = next(self.order, None)
                if i is None:
                    return
                try:
                    self.results[i] = self.work(self.chunks[i])
                except BaseException as error:       # noqa: B036 (re-raised by run)
                    self.errors[i] = error
        finally:
            _INSIDE.chunk = outer

    def run(self):
        """Take every chunk left, then the results in order (or the first failed chunk's error)."""
        self.take()
        if self.errors:
            raise self.errors[min(self.errors)]
        return self.results


_INSIDE = threading.local()


def _blas_controller():
    if "controller" not in _POOLS:
        try:
            from threadpoolctl import ThreadpoolController
            _POOLS["controller"] = ThreadpoolController()
        except ImportError:
            _POOLS["controller"] = None
    return _POOLS["controller"]


def _blas_threads(controller):
    """How many threads BLAS would use now (the caller's own limits are respected)."""
    return min([lib["num_threads"] for lib in controller.info() if lib["user_api"] == "blas"] or [1])


_SCRATCH = OrderedDict()
KEPT_LAYOUTS = 8
"""How many layouts keep their scratch buffers from one call to the next (the most recent ones)."""


def kept_scratch(layout, dtype):
    """A dict for one layout's per-thread scratch buffers, kept across calls for numeric dtypes.

    Buffers allocated anew on every call come back as fresh pages, and their page faults cost as
    much as the copies that fill them; a layer called again finds its buffers, and the zeros of
    its padding, where it left them. Only the KEPT_LAYOUTS most recent layouts are kept.
    """
    if dtype == object:          # sympy expressions: nothing to gain, and nothing to hold on to
        return {}
    key = (layout, np.dtype(dtype).str)
    if key in _SCRATCH:
        _SCRATCH.move_to_end(key)
    else:
        _SCRATCH[key] = {}
        while len(_SCRATCH) > KEPT_LAYOUTS:
            _SCRATCH.popitem(last=False)
    return _SCRATCH[key]
