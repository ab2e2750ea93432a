"""Chunks on threads (textbook_core.chunks) change no result: one item per chunk, a helper thread
that waits, a failing chunk, and scratch buffers kept from call to call."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import textbook_core as tc
from textbook_core import chunks, oracle


def test_chunked_and_threaded_paths_give_the_unchunked_results(monkeypatch):
    """One batch item per chunk, BLAS at two threads: the thread pool runs every chunk, and the
    results equal those of each item computed alone (the small-input, serial path)."""
    rng = np.random.default_rng(4)
    LW, A = rng.standard_normal((3, 2, 3, 2)), rng.standard_normal((6, 2, 7, 6))
    kw = dict(padding=(1, 0), stride=(2, 1))
    alone = [tc.correlate_fms(LW, A[i], **kw) for i in range(6)]
    dLZ = rng.standard_normal(np.shape(alone))
    da_alone = [tc.conv_da(dLZ[i], LW, A.shape, **kw) for i in range(6)]
    dlw_alone = sum(tc.conv_dlw(dLZ[i], A[i], kernel_shape=(3, 2), **kw) for i in range(6))
    mp_alone = [tc.max_pool_da(tc.max_pool(A[i], 2, stride=1), A[i], 2, stride=1) for i in range(6)]
    calls = []
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 1)
    monkeypatch.setattr(chunks, "CALL_BYTES", 0)
    monkeypatch.setattr(chunks, "_blas_threads", lambda controller: calls.append(1) or 2)
    with threadpool_limits(limits=2, user_api="blas"):
        np.testing.assert_array_equal(tc.correlate_fms(LW, A, **kw), alone)
        np.testing.assert_array_equal(tc.conv_da(dLZ, LW, A.shape, **kw), da_alone)
        np.testing.assert_allclose(tc.conv_dlw(dLZ, A, kernel_shape=(3, 2), **kw), dlw_alone, rtol=1e-13)
        np.testing.assert_array_equal(tc.max_pool_da(tc.max_pool(A, 2, stride=1), A, 2, stride=1), mp_alone)
    assert len(calls) == 4      # each call went through the thread pool (max_pool_da for its maxima; its
                                # overlapping windows' scatter is one np.add.at, which holds the GIL)


def test_each_thread_gets_as_many_chunks(monkeypatch):
    """Three chunks of 4, 4 and 2 items on two threads would leave one thread waiting: they are
    cut again into four of 2 or 3, in order, covering every item once."""
    monkeypatch.setattr(chunks, "_blas_threads", lambda controller: 2)
    with threadpool_limits(limits=2, user_api="blas"):
        parts = chunks.for_chunks(lambda k: list(range(10))[k], 10, chunks.CHUNK_BYTES // 4, np.dtype(float))
    assert parts == [[0, 1], [2, 3, 4], [5, 6], [7, 8, 9]]


def test_kept_scratch_buffers_change_no_result(monkeypatch):
    """Scratch buffers stay from one call to the next (the most recent layouts only): a layer
    called again, after other layouts used and evicted theirs, gives the same results as the oracle."""
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 1)          # several chunks, so several buffers per layout
    monkeypatch.setattr(chunks, "CALL_BYTES", 0)
    monkeypatch.setattr(chunks, "KEPT_LAYOUTS", 2)
    rng = np.random.default_rng(11)
    LW, A = rng.standard_normal((3, 2, 3, 2)), rng.standard_normal((4, 2, 7, 6))
    layouts = [dict(padding=(1, 0), stride=(2, 1)), dict(padding=(0, 2), stride=(1, 3)), dict(padding=2, stride=2)]

    def paths(kw):
        Z = tc.correlate_fms(LW, A, **kw)
        dLZ = np.cos(Z)
        return Z, tc.conv_da(dLZ, LW, A.shape, **kw), tc.conv_dlw(dLZ, A, kernel_shape=(3, 2), **kw)

    first = [paths(kw) for kw in layouts]
    again = {i: paths(layouts[i]) for i in (2, 1, 0, 0, 1, 2)}       # each evicted and rebuilt on the way
    assert len(chunks._SCRATCH) == 2
    for kw, (Z, dA, dLW) in zip(layouts, first):
        pad, st = as_pair(kw["padding"]), as_pair(kw["stride"])
        np.testing.assert_allclose(Z, [oracle.correlate_fms(LW, a, pad, st).astype(float) for a in A], atol=1e-12)
        want_da = [oracle.conv_da(np.cos(z), LW, A.shape[-2:], pad, st).astype(float) for z in Z]
        np.testing.assert_allclose(dA, want_da, atol=1e-12)
    for i, results in again.items():
        for got, want in zip(results, first[i]):
            np.testing.assert_array_equal(got, want)


def as_pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def test_a_helper_thread_that_waits_leaves_its_chunks_to_the_caller(monkeypatch):
    """On a busy machine a helper thread may wait for a core: the calling thread takes the chunks
    the helper has not, and the results come back in order all the same."""
    import threading
    monkeypatch.setattr(chunks, "_blas_threads", lambda controller: 2)
    last = threading.Event()
    ran = {}

    def work(k):
        ran[k.start] = threading.current_thread().name
        if ran[k.start].startswith("textbook_core"):
            assert last.wait(10)            # held until the caller has done every other chunk
        elif k.stop == 40:
            last.set()
        return list(range(40))[k]

    with threadpool_limits(limits=2, user_api="blas"):
        parts = chunks.for_chunks(work, 40, chunks.CHUNK_BYTES // 4, np.dtype(float))
    assert sum(parts, []) == list(range(40)) and len(parts) == 10
    helper = [k for k, name in ran.items() if name.startswith("textbook_core")]
    assert len(helper) <= 1 and len(ran) == 10


def test_a_failing_chunk_raises_the_first_failures_error(monkeypatch):
    monkeypatch.setattr(chunks, "_blas_threads", lambda controller: 2)

    def work(k):
        if k.start >= 20:
            raise ValueError(f"chunk at {k.start}")
        return k.start

    with threadpool_limits(limits=2, user_api="blas"), pytest.raises(ValueError, match="chunk at 20$"):
        chunks.for_chunks(work, 40, chunks.CHUNK_BYTES // 4, np.dtype(float))
