"""Details: sizes, padding and stride, 8.14-8.19."""
import sympy as sp

import textbook_core as tc
from textbook_core.derivations.registry import check
from textbook_core.derivations.symbolic import (
    KERNELS, fails, m_, pad0, r_, same, sym,
)


R_s, k_s, P_s = sp.symbols("R k P^d", integer=True, positive=True)


def _positions(R, r, P=0, S=1):
    """The definition: how many kernel positions m = 0, S, 2S, ... fit inside R + 2P."""
    return sum(1 for m in range(0, R + 2 * P) if m % S == 0 and m + r <= R + 2 * P)


def _size_check(axis, name):
    def run():
        for R in range(1, 7):
            for r in range(1, R + 1):
                want = R - r + 1
                got = tc.output_size(R, r)
                if got != want or _positions(R, r) != want:
                    raise AssertionError(f"{name}: R={R}, r={r}: output_size {got}, positions "
                                         f"{_positions(R, r)}, 8.14 gives {want}")
        shape = (4, 3) if axis == 0 else (3, 4)
        kernel = (2, 1) if axis == 0 else (1, 2)
        got = tc.correlate(sym("w", kernel), sym("p", shape)).shape[axis]
        if got != 3:
            raise AssertionError(f"{name}: correlate of {kernel} over {shape} has {got} along axis {axis}, expected 3")
        # The text: the last m satisfies m + r - 1 = R_r.
        if sp.solve(sp.Eq(m_ + r_ - 1, R_s), m_) != [R_s - r_ + 1]:
            raise AssertionError(f"{name}: m + r - 1 = R does not give m = R - r + 1")
        if sp.expand(tc.output_size(R_s, k_s) - (R_s - k_s + 1)) != 0:
            raise AssertionError(f"{name}: symbolic output_size(R, r) = {tc.output_size(R_s, k_s)}")
    return run


check("8.14", "S_r = R_r - r + 1: tc.output_size and the shape of tc.correlate",
      r"S_r = R_r - r + 1")(_size_check(0, "8.14"))
check("8.15", "S_c = R_c - c + 1: tc.output_size and the shape of tc.correlate",
      r"S_c = R_c - c + 1")(_size_check(1, "8.15"))


def _pad_check(axis, name):
    def run():
        for R in range(1, 5):
            for P in range(0, 3):
                for r in range(1, R + 2 * P + 1):
                    want = R + 2 * P - r + 1
                    if tc.output_size(R, r, padding=P) != want or _positions(R, r, P) != want:
                        raise AssertionError(f"{name}: R={R}, r={r}, P^d={P}: output_size "
                                             f"{tc.output_size(R, r, padding=P)}, 8.16 gives {want}")
        for (r, c), (R_r, R_c) in KERNELS:
            W, X = sym("w", (r, c)), sym("p", (R_r, R_c))
            padding = (1, 0) if axis == 0 else (0, 1)
            same(tc.correlate(W, X, padding=padding), tc.correlate(W, pad0(X, padding)),
                 f"{name}: padding {padding} vs explicit zeros, W {r}x{c}")
        if sp.expand(tc.output_size(R_s, k_s, padding=P_s) - (R_s + 2 * P_s - k_s + 1)) != 0:
            raise AssertionError(f"{name}: symbolic output_size with padding")
    return run


check("8.16", "S_r = R_r + 2P^d - r + 1: padding adds P^d zeros on each side",
      r"S_r = R_r + 2P^d - r + 1")(_pad_check(0, "8.16"))
check("8.17", "S_c = R_c + 2P^d - c + 1: padding adds P^d zeros on each side",
      r"S_c = R_c + 2P^d - c + 1")(_pad_check(1, "8.17"))


def _stride_check(axis, name):
    def run():
        printed_fails = False
        for R in range(1, 8):
            for P in range(0, 2):
                for r in range(1, R + 2 * P + 1):
                    for S in range(1, 4):
                        count = _positions(R, r, P, S)
                        floored = sp.floor(sp.Rational(R + 2 * P - r, S)) + 1
                        printed = sp.Rational(R + 2 * P - r, S) + 1
                        if tc.output_size(R, r, padding=P, stride=S) != count or floored != count:
                            raise AssertionError(f"{name}: R={R}, r={r}, P^d={P}, S^t={S}: {count} positions, "
                                                 f"output_size {tc.output_size(R, r, padding=P, stride=S)}")
                        printed_fails |= printed != count
        if not printed_fails:
            raise AssertionError(f"{name}: the printed (R + 2P^d - r)/S^t + 1 always held")
        # Printed, R=5, r=2, P^d=0, S^t=2: 3/2 + 1 = 5/2 rows; kernel positions 0 and 2 only.
        fails(sp.Rational(5 - 2, 2) + 1, 2, f"{name} printed at R=5, r=2, S^t=2")
        for (r, c), (R_r, R_c) in KERNELS:
            W, X = sym("w", (r, c)), sym("p", (R_r, R_c))
            stride = (2, 1) if axis == 0 else (1, 2)
            same(tc.correlate(W, X, stride=stride), tc.correlate(W, X)[:: stride[0], :: stride[1]],
                 f"{name}: stride {stride} vs every S^t-th output, W {r}x{c}, P {R_r}x{R_c}")
    return run


_floor = "(R + 2P^d - r)/S^t + 1 -> floor((R + 2P^d - r)/S^t) + 1"
check("8.18", "S_r = floor((R_r + 2P^d - r)/S^t) + 1: the printed ratio needs a floor when S^t does not divide",
      r"S_r = \left\lfloor (R_r + 2P^d - r)/S^t \right\rfloor + 1", erratum=_floor)(_stride_check(0, "8.18"))
check("8.19", "S_c = floor((R_c + 2P^d - c)/S^t) + 1: the printed ratio needs a floor when S^t does not divide",
      r"S_c = \left\lfloor (R_c + 2P^d - c)/S^t \right\rfloor + 1", erratum=_floor)(_stride_check(1, "8.19"))
