"""The layouts of the speed machinery (textbook_core.blas): the phase-grid full correlation of
conv_da is the loop oracle's sum on every phase, fold and padding."""
import numpy as np
import pytest

import textbook_core as tc
from textbook_core import blas, oracle


@pytest.mark.parametrize("fold", [1, 2, 96])
@pytest.mark.parametrize("kernel, stride, padding", [((3, 3), (1, 1), (0, 0)), ((3, 2), (2, 3), (1, 2)),
                                                     ((1, 5), (1, 2), (0, 3)), ((2, 2), (3, 3), (0, 0))])
def test_full_correlation_on_every_phase_and_fold(monkeypatch, fold, kernel, stride, padding):
    """Groups of column taps (fold), phases with fewer taps or none (stride above the kernel),
    remainders and padding: conv_da is the oracle's 8.39-8.40 sum every time."""
    monkeypatch.setattr(blas, "FOLD", fold)
    rng = np.random.default_rng(sum(kernel) + 7 * sum(stride) + fold)
    LW, R = rng.standard_normal((2, 3) + kernel), (7, 9)
    dLZ = rng.standard_normal((2, 2) + tc.output_size(R, kernel, padding=padding, stride=stride))
    want = [oracle.conv_da(d, LW, R, padding, stride).astype(float) for d in dLZ]
    np.testing.assert_allclose(tc.conv_da(dLZ, LW, (2, 3) + R, padding=padding, stride=stride), want, atol=1e-12)


@pytest.mark.parametrize("size, stride, padding, R", [((3, 3), (1, 1), (0, 0), (7, 9)), ((3, 3), (2, 2), (1, 1), (8, 8)),
                                                      ((2, 3), (3, 2), (2, 0), (5, 9)), ((1, 4), (1, 3), (0, 2), (1, 11)),
                                                      ((4, 2), (2, 3), (0, 1), (4, 2))])
def test_phase_windows_hold_im2cols_columns_in_their_window_columns(size, stride, padding, R):
    """Columns j < S_c of each row of the phase-grid matrix are im2col's windows (8.20's taps in
    the order (l, u, v)); a chunk seen a second time, after another, gives the same matrix."""
    from textbook_core.details import im2col
    rng = np.random.default_rng(sum(size + stride + padding + R))
    X, Y = rng.standard_normal((3, 2) + R), rng.standard_normal((3, 2) + R)
    take, G_c = blas.phase_windows(2, R, size, padding, stride, np.dtype(float))
    S = tc.output_size(R, size, padding=padding, stride=stride)
    for A in (X, Y, X):
        cols = take(A).reshape(-1, 3, S[0], G_c)[..., : S[1]]
        want = im2col(A, size, padding, stride).reshape(3, -1, S[0], S[1]).transpose(1, 0, 2, 3)
        np.testing.assert_array_equal(cols, want)
