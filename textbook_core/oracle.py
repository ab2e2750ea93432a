"""Loop versions of the chapter's sums: the oracle the vectorised code is tested against.

Each function is written straight from a printed equation, with the book's 1-based indices
(``for m in range(1, S_r + 1)``, reading ``p[m + i - 1]`` as the book's p_{m+i-1}), extended
only by padding (read zeros outside the image) and stride (output m starts at input
S^t (m - 1) + 1). They are slow on purpose: nothing here is clever, so each can be checked
against the book by eye. They take one FM or one stack, with no batch axes and no 1-D form;
`batched` applies them across batch axes.

Pure Python arithmetic on the elements, so they work on sympy objects as well.
"""
import numpy as np


def batched(f, *arrays, core_ndims, **kw):
    """Apply `f` to each batch item; `core_ndims` gives the unbatched ndim of each array.

    Leading axes beyond those are a batch, broadcast between the arrays.
    """
    arrays = [np.asarray(a) for a in arrays]
    batch = np.broadcast_shapes(*(a.shape[: a.ndim - nd] for a, nd in zip(arrays, core_ndims)))
    if not batch:
        return f(*arrays, **kw)
    items = [np.broadcast_to(a, batch + a.shape[a.ndim - nd:]) for a, nd in zip(arrays, core_ndims)]
    out = [f(*(a[idx] for a in items), **kw) for idx in np.ndindex(batch)]
    return np.array(out).reshape(batch + np.shape(out[0]))


def _at(P, row, col, padding):
    """The book's p_{row,col} (1-based) of P surrounded by P^d zeros."""
    R_r, R_c = len(P), len(P[0])
    i, j = row - 1 - padding[0], col - 1 - padding[1]
    return P[i][j] if 0 <= i < R_r and 0 <= j < R_c else 0


def _size(R, r, P, S):
    return (R + 2 * P - r) // S + 1


def correlate(W, P, padding=(0, 0), stride=(1, 1)):
    """8.13: z_{m,n} = sum_{i=1}^r sum_{j=1}^c w_{i,j} p_{m+i-1,n+j-1} (padding, stride)."""
    r, c = len(W), len(W[0])
    S_r, S_c = _size(len(P), r, padding[0], stride[0]), _size(len(P[0]), c, padding[1], stride[1])
    Z = np.zeros((S_r, S_c), dtype=object)
    for m in range(1, S_r + 1):
        for n in range(1, S_c + 1):
            m0, n0 = stride[0] * (m - 1) + 1, stride[1] * (n - 1) + 1
            total = 0
            for i in range(1, r + 1):
                for j in range(1, c + 1):
                    total += W[i - 1][j - 1] * _at(P, m0 + i - 1, n0 + j - 1, padding)
            Z[m - 1, n - 1] = total
    return Z


def convolve_full(W, P):
    """Summary's convolution over every overlap: z_{m,n} = sum_i sum_j w_{i,j} p_{m-i+1,n-j+1}.

    m runs from 1 to R_r + r - 1 (the full size); p is 0 outside the image.
    """
    r, c, R_r, R_c = len(W), len(W[0]), len(P), len(P[0])
    Z = np.zeros((R_r + r - 1, R_c + c - 1), dtype=object)
    for m in range(1, R_r + r):
        for n in range(1, R_c + c):
            total = 0
            for i in range(1, r + 1):
                for j in range(1, c + 1):
                    if 1 <= m - i + 1 <= R_r and 1 <= n - j + 1 <= R_c:
                        total += W[i - 1][j - 1] * P[m - i][n - j]
            Z[m - 1, n - 1] = total
    return Z


def correlate_fms(LW, A, padding=(0, 0), stride=(1, 1)):
    """8.20: z^{h}_{i,j} = sum_{l=1}^{H^n} sum_u sum_v w^{h,l}_{u,v} a^{l}_{i+u-1,j+v-1}."""
    H_m, H_n = len(LW), len(LW[0])
    Z = [sum(correlate(LW[h][l], A[l], padding, stride) for l in range(H_n)) for h in range(H_m)]
    return np.array(Z)


def avg_pool(V, size, w=None, stride=None):
    """8.22: z_{i,j} = {sum_{k=1}^r sum_{l=1}^c v_{r(i-1)+k, c(j-1)+l}} w, with stride S^t."""
    r, c = size
    s_r, s_c = stride or size
    w = 1 / (r * c) if w is None else w
    S_r, S_c = _size(len(V), r, 0, s_r), _size(len(V[0]), c, 0, s_c)
    Z = np.zeros((S_r, S_c), dtype=object)
    for i in range(1, S_r + 1):
        for j in range(1, S_c + 1):
            total = 0
            for k in range(1, r + 1):
                for l in range(1, c + 1):
                    total += V[s_r * (i - 1) + k - 1][s_c * (j - 1) + l - 1]
            Z[i - 1, j - 1] = total * w
    return Z


def _first_max(values):
    """Position of the first maximum of `values`; a NaN (the one value unequal to itself) counts
    as the largest, so a window holding NaN has its first NaN as maximum."""
    for k, v in enumerate(values):
        if v != v:
            return k
    best = max(values)
    return next(k for k, v in enumerate(values) if v == best)


def max_pool(V, size, stride=None):
    """8.24: z_{i,j} = max {v_{r(i-1)+k, c(j-1)+l} | k = 1..r, l = 1..c}, with stride S^t."""
    r, c = size
    s_r, s_c = stride or size
    S_r, S_c = _size(len(V), r, 0, s_r), _size(len(V[0]), c, 0, s_c)
    Z = np.zeros((S_r, S_c), dtype=object)
    for i in range(1, S_r + 1):
        for j in range(1, S_c + 1):
            window = [V[s_r * (i - 1) + k - 1][s_c * (j - 1) + l - 1] for k in range(1, r + 1) for l in range(1, c + 1)]
            Z[i - 1, j - 1] = window[_first_max(window)]
    return Z


def conv_da(dLZ, LW, input_size, padding=(0, 0), stride=(1, 1)):
    """8.39-8.40: da^l_{u',v'} = sum_h sum_i sum_j dlz^h_{i,j} * (d lz^h_{i,j} / d a^l_{u',v'}).

    8.40 with padding and stride: lz^h_{i,j} depends on a^l_{u',v'} through
    lw^{h,l}_{u'-i0+1, v'-j0+1}, where (i0, j0) = (S^t (i-1) + 1 - P^d, S^t (j-1) + 1 - P^d) is the
    window's top-left input pixel, whenever that kernel index lies in 1..r, 1..c.
    """
    H_m, H_n, r, c = len(LW), len(LW[0]), len(LW[0][0]), len(LW[0][0][0])
    S_r, S_c = len(dLZ[0]), len(dLZ[0][0])
    dA = np.zeros((H_n,) + tuple(input_size), dtype=object)
    for l in range(1, H_n + 1):
        for u_ in range(1, input_size[0] + 1):
            for v_ in range(1, input_size[1] + 1):
                total = 0
                for h in range(1, H_m + 1):
                    for i in range(1, S_r + 1):
                        for j in range(1, S_c + 1):
                            u = u_ - (stride[0] * (i - 1) + 1 - padding[0]) + 1
                            v = v_ - (stride[1] * (j - 1) + 1 - padding[1]) + 1
                            if 1 <= u <= r and 1 <= v <= c:
                                total += dLZ[h - 1][i - 1][j - 1] * LW[h - 1][l - 1][u - 1][v - 1]
                dA[l - 1, u_ - 1, v_ - 1] = total
    return dA


def conv_da_printed(dLZ, LW):
    """8.44 exactly as printed (stride 1, no padding): the rotated kernel over dLZ.

    da^{l}_{u',v'} = sum_h sum_{i'=1}^{r} sum_{j'=1}^{c} lw^{h,l}_{r-i'+1, c-j'+1} dlz^h_{i'+u'-r, j'+v'-c},
    reading dlz as 0 outside 1..S_r, 1..S_c. (8.44 sums over h; the printed H^n upper limit of
    8.39-8.44 is H^m, the number of FMs in layer m: see docs/errata.md.)
    """
    H_m, H_n, r, c = len(LW), len(LW[0]), len(LW[0][0]), len(LW[0][0][0])
    S_r, S_c = len(dLZ[0]), len(dLZ[0][0])
    R_r, R_c = S_r + r - 1, S_c + c - 1
    dA = np.zeros((H_n, R_r, R_c), dtype=object)
    for l in range(1, H_n + 1):
        for u_ in range(1, R_r + 1):
            for v_ in range(1, R_c + 1):
                total = 0
                for h in range(1, H_m + 1):
                    for i_ in range(1, r + 1):
                        for j_ in range(1, c + 1):
                            i, j = i_ + u_ - r, j_ + v_ - c
                            if 1 <= i <= S_r and 1 <= j <= S_c:
                                total += LW[h - 1][l - 1][r - i_][c - j_] * dLZ[h - 1][i - 1][j - 1]
                dA[l - 1, u_ - 1, v_ - 1] = total
    return dA


def conv_dlw(dLZ, A, kernel_size, padding=(0, 0), stride=(1, 1)):
    """8.47: dlw^{h,l}_{u,v} = sum_{i=1}^{S_r} sum_{j=1}^{S_c} dlz^h_{i,j} a^l_{i+u-1,j+v-1} (padding, stride)."""
    H_m, H_n = len(dLZ), len(A)
    r, c = kernel_size
    S_r, S_c = len(dLZ[0]), len(dLZ[0][0])
    dLW = np.zeros((H_m, H_n, r, c), dtype=object)
    for h in range(1, H_m + 1):
        for l in range(1, H_n + 1):
            for u in range(1, r + 1):
                for v in range(1, c + 1):
                    total = 0
                    for i in range(1, S_r + 1):
                        for j in range(1, S_c + 1):
                            row, col = stride[0] * (i - 1) + u, stride[1] * (j - 1) + v
                            total += dLZ[h - 1][i - 1][j - 1] * _at(A[l - 1], row, col, padding)
                    dLW[h - 1, l - 1, u - 1, v - 1] = total
    return dLW


def summation_db(dN):
    """8.36: db = sum_{i=1}^{S_r} sum_{j=1}^{S_c} dn_{i,j} (one FM)."""
    return sum(dN[i - 1][j - 1] for i in range(1, len(dN) + 1) for j in range(1, len(dN[0]) + 1))


def activation_dn(dA, fdot_N):
    """8.52: dn_{i,j} = f'(n_{i,j}) da_{i,j} (one FM)."""
    return np.array([[fdot_N[i][j] * dA[i][j] for j in range(len(dA[0]))] for i in range(len(dA))], dtype=object)


def avg_pool_da(dLZ, size, w=None, stride=None, input_size=None):
    """P8.3: da_{u',v'} = sum over windows (i, j) containing (u', v') of dlz_{i,j} lw (one FM)."""
    r, c = size
    s_r, s_c = stride or size
    w = 1 / (r * c) if w is None else w
    S_r, S_c = len(dLZ), len(dLZ[0])
    R_r, R_c = input_size or (s_r * (S_r - 1) + r, s_c * (S_c - 1) + c)
    dA = np.zeros((R_r, R_c), dtype=object)
    for i in range(1, S_r + 1):
        for j in range(1, S_c + 1):
            for k in range(1, r + 1):
                for l in range(1, c + 1):
                    dA[s_r * (i - 1) + k - 1, s_c * (j - 1) + l - 1] += dLZ[i - 1][j - 1] * w
    return dA


def avg_pool_dlw(dLZ, A, size, stride=None):
    """P8.4: dlw = sum_i sum_j dlz_{i,j} {sum_u sum_v a_{r(i-1)+u, c(j-1)+v}} (one FM)."""
    sums = avg_pool(A, size, w=1, stride=stride)
    return sum(dLZ[i][j] * sums[i, j] for i in range(len(dLZ)) for j in range(len(dLZ[0])))


def max_pool_da(dLZ, A, size, stride=None):
    """E8.8: da_{u',v'} = sum over windows (i, j) whose first maximum is (u', v') of dlz_{i,j} (one FM).

    The first maximum in row-major window order; in a window holding NaN, its first NaN."""
    r, c = size
    s_r, s_c = stride or size
    S_r, S_c = len(dLZ), len(dLZ[0])
    dA = np.zeros((len(A), len(A[0])), dtype=object)
    for i in range(1, S_r + 1):
        for j in range(1, S_c + 1):
            cells = [(s_r * (i - 1) + k, s_c * (j - 1) + l) for k in range(1, r + 1) for l in range(1, c + 1)]
            u, v = cells[_first_max([A[u - 1][v - 1] for u, v in cells])]
            dA[u - 1, v - 1] += dLZ[i - 1][j - 1]
    return dA


def product_dlz(dN, b):
    """E8.9: n_{i,j} = lz_{i,j} b, so dlz_{i,j} = b dn_{i,j} (one FM)."""
    return np.array([[b * dN[i][j] for j in range(len(dN[0]))] for i in range(len(dN))], dtype=object)


def product_db(dN, LZ):
    """E8.9: db = sum_i sum_j dn_{i,j} lz_{i,j} (one FM)."""
    return sum(dN[i][j] * LZ[i][j] for i in range(len(dN)) for j in range(len(dN[0])))
