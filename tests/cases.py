"""Hypothesis strategies for convolution and pooling problems, and the numerical gradient.

A drawn case has non-square kernels and images, padding and stride given as an int or a
(rows, cols) pair, optional batch axes, and the 1-D form; its sizes always fit.
"""
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st


@dataclass
class ConvCase:
    H_m: int
    H_n: int
    kernel: tuple
    input: tuple
    padding: object
    stride: object
    batch: tuple
    one_d: bool
    seed: int

    @property
    def pairs(self):
        """Padding and stride as (rows, cols) pairs, as the oracle takes them."""
        def two(v):
            return (v, v) if np.ndim(v) == 0 else tuple(v)
        if self.one_d:
            return (0, self.padding), (1, self.stride)
        return two(self.padding), two(self.stride)

    def arrays(self):
        """Random LW (H_m, H_n, r, c) and A (*batch, H_n, R_r, R_c), or their 1-D forms."""
        rng = np.random.default_rng(self.seed)
        k = self.kernel[1:] if self.one_d else self.kernel
        R = self.input[1:] if self.one_d else self.input
        return (rng.standard_normal((self.H_m, self.H_n) + k),
                rng.standard_normal(self.batch + (self.H_n,) + R))

    def spatial_kw(self):
        return dict(padding=self.padding, stride=self.stride)


@st.composite
def conv_cases(draw, one_d=None, batch=True, max_size=8):
    one_d = draw(st.booleans()) if one_d is None else one_d
    r = 1 if one_d else draw(st.integers(1, 4))
    c = draw(st.integers(1, 4))
    if one_d:
        padding, stride = draw(st.integers(0, 2)), draw(st.integers(1, 3))
        pr, pc, sr = 0, padding, 1
    else:
        pr, pc = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        sr, sc = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        padding = pr if pr == pc and draw(st.booleans()) else (pr, pc)
        stride = sr if sr == sc and draw(st.booleans()) else (sr, sc)
    R_r = 1 if one_d else draw(st.integers(max(1, r - 2 * pr), max_size))
    R_c = draw(st.integers(max(1, c - 2 * pc), max_size))
    return ConvCase(H_m=draw(st.integers(1, 3)), H_n=draw(st.integers(1, 3)), kernel=(r, c),
                    input=(R_r, R_c), padding=padding, stride=stride,
                    batch=draw(st.sampled_from([(), (2,), (2, 1)])) if batch else (),
                    one_d=one_d, seed=draw(st.integers(0, 2**32 - 1)))


@st.composite
def pool_cases(draw, overlap=True):
    """(V shape, window, stride or None): V has batch and FM axes; windows may overlap."""
    r, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3)))) if overlap else None
    rows, cols = draw(st.integers(r, 8)), draw(st.integers(c, 8))
    lead = draw(st.sampled_from([(), (2,), (2, 3)]))
    return lead + (rows, cols), (r, c), stride, draw(st.integers(0, 2**32 - 1))


def numerical_vjp(f, x, upstream, h=1e-6):
    """d/dx sum(upstream * f(x)) by central differences, one element of x at a time."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = h
        grad[idx] = np.sum(upstream * (f(x + step) - f(x - step))) / (2 * h)
    return grad
