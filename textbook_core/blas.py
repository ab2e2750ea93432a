"""The speed machinery's layouts: BLAS-shaped window matrices for the convolution paths.

Nothing here is an equation of the chapter; it is how the operations of `hierarchy` and
`gradient` reach the speed of numpy's matrix product without changing a result.
`phase_windows` is the forward's and conv_dlw's im2col on the phase grids of a stride, each row
one contiguous copy; `full_correlation` is conv_da's layout of 8.44 on the phases of a stride.
Both run chunk by chunk under `chunks.for_chunks`, with buffers from `chunks.kept_scratch`.
"""
import threading

import numpy as np

from .chunks import kept_scratch

def reach(R, size, padding, stride):
    """The stride cut to what changes the windows: a stride past the padded input's last window
    position leaves only the first window on that axis, as a stride of R + 2 P^d - r + 1 does.
    (The layouts below loop over the stride's phases, so ``stride=10**6`` would otherwise take
    hours for one output pixel.)

    >>> reach((5, 28), (2, 3), (0, 1), (3000, 2))
    (4, 2)
    """
    return tuple(min(s, max(1, n + 2 * p - k + 1)) for n, k, p, s in zip(R, size, padding, stride))


def phase_windows(H, R, size, padding, stride, dtype):
    """im2col on the phase grids of a stride: a function taking a chunk ``X (n, H, R_r, R_c)`` to its
    window matrix ``(H*r*c, n*L)``, and the grid row length G_c, with L = S_r G_c.

    Padding the input and splitting it by row and column phase (the pixels whose padded row is
    pu mod S^t and column pv mod S^t) gives grids on which a stride-S^t window tap (u, v) is a
    stride-1 move: tap (u, v) of window (i, j) is pixel (i + u // S^t, j + v // S^t) of phase
    (u mod S^t, v mod S^t). The grids have rows of G_c = S_c + ceil(c / S^t) - 1 pixels, so a
    tap is one flat move of a whole FM: each row of the matrix is copied from a contiguous run.
    Column j of each output row is then a window only for j < S_c; the G_c - S_c columns past it
    hold products of other pixels, which the caller leaves out (`phase_rows`). The grids' pixels
    outside the input are the padding's zeros, kept from one chunk to the next.
    """
    stride = reach(R, size, padding, stride)
    (R_r, R_c), (r, c), (pr, pc), (sr, sc) = R, size, padding, stride
    S_r = (R_r + 2 * pr - r) // sr + 1
    S_c = (R_c + 2 * pc - c) // sc + 1
    kr, kc = -(-r // sr), -(-c // sc)
    G_r, G_c = S_r + kr - 1, S_c + kc - 1
    GG, L = G_r * G_c, S_r * G_c
    copies = []                            # each phase's block of input pixels: grid and input slices
    for pu in range(sr):
        for pv in range(sc):
            a0, b0 = max(0, -(-(pr - pu) // sr)), max(0, -(-(pc - pv) // sc))
            a1, b1 = min(G_r, -(-(R_r + pr - pu) // sr)), min(G_c, -(-(R_c + pc - pv) // sc))
            if a1 > a0 and b1 > b0:
                copies.append((pu * sc + pv, slice(a0, a1), slice(b0, b1),
                               slice(a0 * sr + pu - pr, None, sr), slice(b0 * sc + pv - pc, None, sc), a1 - a0, b1 - b0))
    taps = [(u, v, (u % sr) * sc + v % sc, (u // sr) * G_c + v // sc) for u in range(r) for v in range(c)]
    tail = (kr - 1) * G_c + kc           # the last grid's moved copy runs past its end by this much
    scratch = kept_scratch(("phase windows", H, R, size, padding, stride), dtype)

    def take(X):
        n = len(X)
        key = (threading.get_ident(), n)
        if key not in scratch:               # grids whose padding stays zero, reused by the chunks
            scratch[key] = (np.zeros(sr * sc * n * H * GG + tail, dtype), np.empty((H, r, c, n, L), dtype))
        grids, cols = scratch[key]
        per = n * H * GG
        for p, rows, cols_, y, x, nr, nc in copies:
            grids[p * per: (p + 1) * per].reshape(n, H, G_r, G_c)[:, :, rows, cols_] = X[:, :, y, x][:, :, :nr, :nc]
        for u, v, p, at in taps:
            moved = grids[p * per + at: p * per + at + per].reshape(n, H, GG)[:, :, :L]
            cols[:, u, v] = moved.transpose(1, 0, 2)
        return cols.reshape(H * r * c, n * L)

    return take, G_c


def phase_rows(Y, n, G_c, S_c):
    """The windows' columns of a product with `phase_windows`' matrix: ``Y (H^m, n*L)`` as the view
    ``(n, H^m, S_r, S_c)`` that leaves out each row's G_c - S_c columns past the last window."""
    return Y.reshape(Y.shape[0], n, -1, G_c)[..., :S_c].transpose(1, 0, 2, 3)


FOLD = 96
"""How many products (column taps times H^m) conv_da's matrix product sums at once: BLAS runs near
its peak from about this inner size on, while every tap folded in costs a copy of dLZ."""


def full_correlation(LW, items, dA, padding, stride):
    """The work of conv_da: a function filling ``dA[k]`` from ``items[k]``, its bytes per item and
    the numpy calls it makes per chunk (for `chunks.for_chunks`).

    8.44 sums, for every input pixel, the kernels' taps over the dLZ pixels that reach it: a full
    correlation with the rotated kernels. With stride S^t, input pixels whose row is u mod S^t
    (the row phase) are reached only by kernel rows of that phase, and the same holds for columns,
    so on each phase's grid the sum is again a full correlation, with stride 1. It is computed
    with one matrix product per column phase and a few additions of contiguous blocks:

    - dLZ is laid out with rows of length G_c (zeros past S_c), so moving a whole FM by t columns
      or t rows is moving a flat array by t or t G_c places;
    - f copies of dLZ, moved by 0 .. f-1 columns, are stacked under each other, so one product
      with the kernels sums over h and f column taps at once (f H^m products near `FOLD`);
    - each kernel row u and group of f column taps then adds its product into the phase grid,
      moved by whole rows and by the group's first tap;
    - finally each phase grid goes to its rows and columns of dA (padding cut off).

    Every product term is one of 8.39's dlz * lw, added once: the result is exact to rounding.
    """
    H_m, H_n, r, c = LW.shape
    S_r, S_c = items.shape[-2:]
    R_r, R_c = dA.shape[-2:]
    (pr, pc), (sr, sc) = padding, reach((R_r, R_c), (r, c), padding, stride)
    kr, kc = -(-r // sr), -(-c // sc)                           # taps of the longest phase
    G_c = max(S_c + kc - 1, -(-(R_c + 2 * pc) // sc))           # phase grid: rows of G_c columns
    G_r = max(S_r + kr - 1, -(-(R_r + 2 * pr) // sr))
    L = S_r * G_c
    taps = [len(range(pv, c, sc)) for pv in range(sc)]           # column taps of each phase
    fold = min(kc, max(1, -(-FOLD // H_m)))
    plans = []
    for pv, t in enumerate(taps):
        f = min(fold, t)
        groups = -(-t // f) if t else 0
        # rows (group g, kernel row u, l), columns (moved by q, h): lw^{h,l}_{u, (g f + q) S^t + pv}
        W = np.zeros((groups, r, H_n, f, H_m), dtype=LW.dtype)
        for g in range(groups):
            for q in range(min(f, t - g * f)):
                W[g, :, :, q, :] = LW[:, :, :, (g * f + q) * sc + pv].transpose(2, 1, 0)
        plans.append((f, groups, W.reshape(groups * r * H_n, f * H_m)))
    rows = max(groups for _, groups, _ in plans) * r * H_n
    dtype = items.dtype
    direct = (sr, sc, pr, pc) == (1, 1, 0, 0) and (G_r, G_c) == (R_r, R_c) and dA.flags.c_contiguous
    scratch = kept_scratch(("full correlation", LW.shape, (S_r, S_c), (R_r, R_c), padding, stride, fold, direct),
                           dtype)

    def work(k):
        d, out = items[k], dA[k]
        n = len(d)
        if (threading.get_ident(), n) not in scratch:    # zeros that stay zero, reused by the chunks
            scratch[threading.get_ident(), n] = (np.zeros((n, fold, H_m, S_r, G_c), dtype),
                                                 None if direct else np.empty((n, sr, sc, H_n, G_r * G_c), dtype),
                                                 np.empty((n, rows, L), dtype))
        moved, grid, products = scratch[threading.get_ident(), n]
        if direct:                                         # the one phase grid is dA itself
            grid = out.reshape(n, 1, 1, H_n, G_r * G_c)
        moved[:, 0, :, :, :S_c] = d
        flat = moved.reshape(n, fold, H_m, L)
        for q in range(1, fold):                           # dLZ moved right by q columns
            flat[:, q, :, q:] = flat[:, 0, :, : L - q]
        flat = moved.reshape(n, fold * H_m, L)
        for pv, (f, groups, W) in enumerate(plans):
            if groups == 0:                                # no kernel column has this phase
                grid[:, :, pv] = 0
                continue
            Y = np.matmul(W, flat[:, : f * H_m], out=products[:, : len(W)]).reshape(n, groups, r, H_n, L)
            for pu in range(sr):
                g = grid[:, pu, pv]
                if pu >= r:                                    # no kernel row has this phase
                    g[...] = 0
                    continue
                g[..., :L] = Y[:, 0, pu]
                g[..., L:] = 0
                for group in range(groups):
                    for u in range(pu, r, sr):                 # row u: moved down (u - pu)/S^t rows
                        if group or u != pu:
                            at, shift = (u // sr) * G_c, group * f
                            g[..., at + shift: at + L] += Y[:, group, u, :, : L - shift]
        if direct:
            return
        grid6 = grid.reshape(n, sr, sc, H_n, G_r, G_c)
        for pu in range(sr):
            y0 = (pu - pr) % sr                                # the first row of dA in this phase
            rows_ = slice((y0 + pr - pu) // sr, (y0 + pr - pu) // sr + len(range(y0, R_r, sr)))
            for pv in range(sc):
                x0 = (pv - pc) % sc
                cols = slice((x0 + pc - pv) // sc, (x0 + pc - pv) // sc + len(range(x0, R_c, sc)))
                out[:, :, y0::sr, x0::sc] = grid6[:, pu, pv, :, rows_, cols]

    item_bytes = (fold * H_m + rows + sr * sc * H_n * G_r / S_r) * L * dA.itemsize
    calls = fold + (0 if direct else sr * sc)           # numpy calls per chunk, whatever its size
    for _, groups, _ in plans:
        calls += 1 if groups == 0 else 1 + sum(1 if pu >= r else 1 + groups * len(range(pu, r, sr))
                                               for pu in range(sr))
    return work, int(item_bytes), calls
