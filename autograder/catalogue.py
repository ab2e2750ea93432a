"""The catalogue of typical mistakes: code that turns a right answer into a wrong one.

Each `Mistake` is a small, documented edit of one answer cell of a solution notebook (``old`` ->
``new``, once each), the hint a student should see for it, and the grade cells it must cost. The
catalogue is used four times, so it is written once, here:

- `autograder.answer_key` runs every mistake and writes the digests of its wrong values into the
  visible checks, so that a student's visible check names the mistake before submission;
- `autograder.samples` packs the mistakes into the sample submissions of ``make demo``;
- ``tests/test_catalogue.py`` proves on every data set that each mistake changes the graded
  answer, that the visible check (and so nbgrader's Validate) fails on it and names it, and,
  through the real sandboxed grader, that it loses exactly the points it lists;
- the docs count it (`counts`).

`run` executes a solution notebook in this process (setup and answer cells, optionally the test
cells), with mistakes applied: the quick way to see what a mistake does.

Examples
--------
>>> m = MISTAKES_BY_NAME["correlation-for-convolution"]
>>> m.notebook, m.cell, m.loses
('e8_06', 'e8_06_i_answer', ('e8_06_ii_visible', 'e8_06_i_hidden'))
"""
import contextlib
import io
import json
from collections import Counter
from dataclasses import dataclass

from .course import ASSIGNMENT, Course

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class Mistake:
    """A typical mistake: the `edits` ``((old, new), ...)`` made in answer cell `cell` of `notebook`.

    `hint` finishes the sentence "This is ..." in the feedback (or, where a check's own message
    names the mistake, as in E8.3, is a piece of that message); `loses` are the grade cells
    (grade_id) that must score less than their maximum, and every other cell must score as the
    solution does.
    """

    name: str
    notebook: str
    cell: str
    edits: tuple
    hint: str
    loses: tuple

    @property
    def handoff(self):
        """A library hand-off: caught by the hand-off rule (`checks.forbid`), not by its values."""
        return self.hint.startswith("hands the work to ")

    def apply(self, source):
        """`source` with the edits made; ValueError unless each `old` occurs exactly once."""
        for old, new in self.edits:
            if source.count(old) != 1:
                raise ValueError(f"mistake {self.name}: {old!r} must occur once in {self.cell}, "
                                 f"found {source.count(old)} times")
            source = source.replace(old, new)
        return source


def _m(name, cell, old, new, hint, loses):
    """A `Mistake` of one edit (or several: `old` and `new` tuples); `loses` are suffixes."""
    notebook = cell[:5]
    edits = tuple(zip(old, new)) if isinstance(old, tuple) else ((old, new),)
    return Mistake(name, notebook, cell, edits, hint, tuple(f"{notebook}_{s}" for s in loses.split()))


ROTATE = "a 180-degree rotation flips both the rows and the columns (P8.1)"

MISTAKES = (
    # --- E8.1 (i): convolve_by_hand(W, P, padding) and Z ----------------------------------------
    _m("e8.1-no-rotation", "e8_01_i_answer", "Wr = W[::-1, ::-1]", "Wr = W",
       "the correlation, not the convolution: the kernel must be rotated by 180 degrees before it slides (P8.1)",
       "i_visible i_hidden i_function_hidden"),
    _m("e8.1-transpose", "e8_01_i_answer", "Wr = W[::-1, ::-1]", "Wr = W.T",
       f"the kernel transposed, not rotated: {ROTATE}, it does not transpose",
       "i_visible i_hidden i_function_hidden"),
    _m("e8.1-rows-only", "e8_01_i_answer", "Wr = W[::-1, ::-1]", "Wr = W[::-1, :]",
       f"the kernel flipped upside down only: {ROTATE}", "i_visible i_hidden i_function_hidden"),
    _m("e8.1-columns-only", "e8_01_i_answer", "Wr = W[::-1, ::-1]", "Wr = W[:, ::-1]",
       f"the kernel mirrored left-right only: {ROTATE}", "i_visible i_hidden i_function_hidden"),
    _m("e8.1-rot90", "e8_01_i_answer", "Wr = W[::-1, ::-1]", "Wr = W.T[::-1]",
       "the kernel turned by 90 degrees, not 180", "i_visible i_hidden i_function_hidden"),
    _m("padding-off-by-one", "e8_01_i_answer", "Ppad = np.pad(P, padding)", "Ppad = P",
       "the convolution without the zero padding: surround the image with `padding` rings of zeros first",
       "i_visible i_hidden i_function_hidden"),
    _m("e8.1-padding-one-side", "e8_01_i_answer", "Ppad = np.pad(P, padding)",
       "Ppad = np.pad(P, ((padding, 0), (padding, 0)))",
       "the convolution with zeros added on the top and left only: pad all four sides", 
       "i_visible i_hidden i_function_hidden"),
    _m("e8.1-padding-ignored", "e8_01_i_answer", "Ppad = np.pad(P, padding)", "Ppad = np.pad(P, 1)",
       "a convolution that always pads one ring of zeros: use the `padding` argument",
       "i_visible i_function_hidden"),
    _m("e8.1-loops-one-short", "e8_01_i_answer", "for m in range(S_r):\n        for n in range(S_c):",
       "for m in range(S_r - 1):\n        for n in range(S_c - 1):",
       "what loops that stop one row and one column short give: the last row and column stay 0",
       "i_visible i_hidden i_function_hidden"),
    _m("e8.1-size-off-by-one", "e8_01_i_answer", "S_r = Ppad.shape[0] - r + 1", "S_r = Ppad.shape[0] - r",
       "an output one row short: Eq. 8.18 adds 1 (the first position counts too)",
       "i_visible i_hidden i_function_hidden"),
    _m("e8.1-square-assumed", "e8_01_i_answer", "S_c = Ppad.shape[1] - c + 1", "S_c = Ppad.shape[0] - r + 1",
       "a convolution that takes the number of columns from the rows: images and kernels need not be square",
       "i_visible i_function_hidden"),
    _m("e8.1-kernel-size-fixed", "e8_01_i_answer", "Ppad[m:m + r, n:n + c]", "Ppad[m:m + 3, n:n + 3]",
       "a convolution that works for 3x3 kernels only: take the window size from the kernel's shape",
       "i_visible i_function_hidden"),
    _m("e8.1-z-padding-0", "e8_01_i_answer", "Z = convolve_by_hand(W, P, 1)", "Z = convolve_by_hand(W, P, 0)",
       "the convolution with P^d = 0: the task asks for one ring of zeros, P^d = 1", "i_visible i_hidden"),
    _m("e8.1-library", "e8_01_i_answer", "def convolve_by_hand(W, P, padding):\n",
       "def convolve_by_hand(W, P, padding):\n    return tc.convolve(W, P, padding=padding)\n",
       "hands the work to textbook_core.convolve", "i_visible i_hidden i_function_hidden"),

    # --- E8.2: Z81, max_pool_by_hand(Z, size), pooled ------------------------------------------------
    _m("e8.2-z81-correlation", "e8_02_pool_answer", "Z81 = tc.convolve(W, P, padding=1)",
       "Z81 = tc.correlate(W, P, padding=1)",
       "the correlation, not E8.1's convolution: rotate the kernel by 180 degrees (P8.1)",
       "pool_visible reference_hidden"),
    _m("e8.2-z81-unpadded", "e8_02_pool_answer", "Z81 = tc.convolve(W, P, padding=1)", "Z81 = tc.convolve(W, P)",
       "E8.1's convolution without its zero padding (6x6): E8.1 pads with one ring of zeros",
       "pool_visible own_hidden reference_hidden"),
    _m("e8.2-overlapping", "e8_02_pool_answer",
       "Z[i * size:i * size + size, j * size:j * size + size]", "Z[i:i + size, j:j + size]",
       "pooling over windows that start one pixel apart: with stride 2 they start `size` pixels apart",
       "pool_visible own_hidden function_hidden reference_hidden"),
    _m("e8.2-stride-1", "e8_02_pool_answer",
       ("S_r = (Z.shape[0] - size) // size + 1", "S_c = (Z.shape[1] - size) // size + 1",
        "Z[i * size:i * size + size, j * size:j * size + size]"),
       ("S_r = Z.shape[0] - size + 1", "S_c = Z.shape[1] - size + 1", "Z[i:i + size, j:j + size]"),
       "the pooling with stride 1 (overlapping windows): the stride is the window size here",
       "pool_visible own_hidden function_hidden reference_hidden"),
    _m("e8.2-average", "e8_02_pool_answer", ".max()", ".mean()",
       "average pooling: max pooling keeps the largest value of each window",
       "pool_visible own_hidden function_hidden reference_hidden"),
    _m("e8.2-minimum", "e8_02_pool_answer", ".max()", ".min()",
       "min pooling: max pooling keeps the largest value of each window",
       "pool_visible own_hidden function_hidden reference_hidden"),
    _m("e8.2-ceil-size", "e8_02_pool_answer", "S_r = (Z.shape[0] - size) // size + 1",
       "S_r = -(-Z.shape[0] // size)",
       "pooling that keeps a partial window for leftover rows: Eq. 8.18 rounds down, rows no whole window "
       "reaches are left out", "pool_visible function_hidden"),
    _m("e8.2-square-assumed", "e8_02_pool_answer", "S_c = (Z.shape[1] - size) // size + 1", "S_c = S_r",
       "pooling that takes the number of columns from the rows: maps need not be square",
       "pool_visible function_hidden"),
    _m("e8.2-size-fixed", "e8_02_pool_answer",
       "Z[i * size:i * size + size, j * size:j * size + size]", "Z[2 * i:2 * i + 2, 2 * j:2 * j + 2]",
       "pooling with 2x2 windows whatever `size` is", "pool_visible function_hidden"),
    _m("e8.2-transposed", "e8_02_pool_answer", "pooled[i, j] = ", "pooled[j, i] = ",
       "the pooled map transposed: window (i, j) goes to row i, column j",
       "pool_visible own_hidden function_hidden reference_hidden"),
    _m("e8.2-library", "e8_02_pool_answer", "def max_pool_by_hand(Z, size):\n",
       "def max_pool_by_hand(Z, size):\n    return tc.max_pool(Z, size)\n",
       "hands the work to textbook_core.max_pool", "pool_visible own_hidden function_hidden"),

    # --- E8.3: kernels that separate the font ----------------------------------------------------
    _m("e8.3-three-kernels", "e8_03_kernels_answer", "\n]\nprint", "\n    np.array([[1]]),\n]\nprint",
       "separate all 26 letters with 3 kernels", "kernels_visible minimal_hidden"),
    _m("e8.3-four-kernels", "e8_03_kernels_answer", "\n]\nprint",
       "\n    np.array([[1]]),\n    np.array([[1], [1]]),\n]\nprint",
       "separate all 26 letters with 4 kernels", "kernels_visible at_most_3_hidden minimal_hidden"),
    _m("e8.3-five-kernels", "e8_03_kernels_answer", "\n]\nprint",
       "\n    np.array([[1]]),\n    np.array([[1], [1]]),\n    np.array([[1, 0], [0, 1]]),\n]\nprint",
       "separate all 26 letters with 5 kernels",
       "kernels_visible at_most_4_hidden at_most_3_hidden minimal_hidden"),
    _m("e8.3-one-kernel", "e8_03_kernels_answer", "    np.array([[0, -1],\n              [-1, 0]]),", "",
       "do not tell these letters apart",
       "kernels_visible separate_hidden at_most_4_hidden at_most_3_hidden minimal_hidden"),
    _m("e8.3-ink-for-paper", "e8_03_kernels_answer", "np.array([[0, -1],\n              [-1, 0]])",
       "np.array([[0, 1],\n              [1, 0]])", "do not tell these letters apart",
       "kernels_visible separate_hidden at_most_4_hidden at_most_3_hidden minimal_hidden"),
    _m("e8.3-kernel-too-large", "e8_03_kernels_answer", "np.array([[1, 1]])", "np.ones((4, 4))",
       "each kernel must be 2-D and at most 3x3",
       "kernels_visible separate_hidden at_most_4_hidden at_most_3_hidden minimal_hidden"),
    _m("e8.3-not-a-list", "e8_03_kernels_answer", "\n]\nprint", "\n][0]\nprint",
       "must be a list of kernels",
       "kernels_visible separate_hidden at_most_4_hidden at_most_3_hidden minimal_hidden"),

    # --- E8.4: full_convolution(W, P), Z_full, shifted ---------------------------------------------
    _m("e8.4-correlation", "e8_04_full_answer", "Z[m, n] += W[i, j] * P[m - i, n - j]",
       "Z[m, n] += W[r - 1 - i, c - 1 - j] * P[m - i, n - j]",
       "the full correlation, not the convolution: Eq. 8.5 multiplies w_ij with p_(m-i)(n-j), the kernel "
       "as it is", "shapes_visible full_hidden function_hidden shifted_hidden"),
    _m("e8.4-kernel-transposed", "e8_04_full_answer", "W[i, j] * P", "W[j, i] * P",
       "the convolution with the kernel transposed (i and j swapped in w)",
       "shapes_visible full_hidden function_hidden shifted_hidden"),
    _m("e8.4-assign-not-add", "e8_04_full_answer", "Z[m, n] += W", "Z[m, n] = W",
       "what `=` gives where the sum needs `+=`: only the last term of each sum is kept",
       "shapes_visible full_hidden function_hidden shifted_hidden"),
    _m("e8.4-loops-one-short", "e8_04_full_answer",
       "for m in range(Z.shape[0]):\n        for n in range(Z.shape[1]):",
       "for m in range(Z.shape[0] - 1):\n        for n in range(Z.shape[1] - 1):",
       "what loops that stop one row and one column short give: the last row and column stay 0",
       "shapes_visible function_hidden"),
    _m("e8.4-bounds-one-short", "e8_04_full_answer", "0 <= m - i < R_r and 0 <= n - j < R_c",
       "0 <= m - i < R_r - 1 and 0 <= n - j < R_c - 1",
       "the convolution without the image's last row and column: p exists for indices up to R - 1",
       "shapes_visible function_hidden"),
    _m("e8.4-square-assumed", "e8_04_full_answer", "R_r, R_c = P.shape", "R_r = R_c = P.shape[0]",
       "a convolution that takes the image's width from its height: images need not be square",
       "shapes_visible function_hidden"),
    _m("e8.4-library", "e8_04_full_answer", "def full_convolution(W, P):\n",
       "def full_convolution(W, P):\n    return tc.convolve(W, P, mode=\"full\")\n",
       "hands the work to textbook_core.convolve", "shapes_visible full_hidden function_hidden"),
    _m("e8.4-valid-size", "e8_04_full_answer", "Z = np.zeros((R_r + r - 1, R_c + c - 1))",
       "Z = np.zeros((R_r - r + 1, R_c - c + 1))",
       "the valid size, R - r + 1: the full convolution has every overlap, size R + r - 1 (Eq. 8.5)",
       "shapes_visible full_hidden function_hidden shifted_hidden"),
    _m("e8.4-same-size", "e8_04_full_answer", "Z = np.zeros((R_r + r - 1, R_c + c - 1))",
       "Z = np.zeros((R_r, R_c))",
       "the input's size: the full convolution has every overlap, size R + r - 1 (Eq. 8.5)",
       "shapes_visible full_hidden function_hidden shifted_hidden"),
    _m("e8.4-rows-misaligned", "e8_04_shifted_answer", "shifted = Z_full[1:, :5]", "shifted = Z_full[:5, :5]",
       "the part of Z_full that starts one row too high: the kernel's origin is its bottom row, so keep rows 1-5",
       "shapes_visible shifted_hidden"),
    _m("e8.4-columns-misaligned", "e8_04_shifted_answer", "shifted = Z_full[1:, :5]", "shifted = Z_full[1:, 1:]",
       "the part of Z_full that starts one column too far right: the kernel's origin is its left column, so "
       "keep columns 0-4", "shapes_visible shifted_hidden"),
    _m("e8.4-both-misaligned", "e8_04_shifted_answer", "shifted = Z_full[1:, :5]", "shifted = Z_full[:5, 1:]",
       "the input image itself, not shifted: the shifted image is in rows 1-5 and columns 0-4 of Z_full",
       "shapes_visible shifted_hidden"),

    # --- E8.5: W_avg, Z_avg, W_corr ----------------------------------------------------------------
    _m("e8.5-template-as-kernel", "e8_05_i_answer", "W_avg = tc.impulse_response(average, (3, 3), (1, 1))",
       "W_avg = np.array([[0, 0, 0], [0, 1, 1], [0, 1, 0]]) / 3",
       "the pattern of the formula's weights, not the impulse response: the kernel of a convolution is that "
       "pattern rotated by 180 degrees (P8.2)", "shapes_visible i_hidden ii_hidden iii_hidden"),
    _m("e8.5-sum-not-average", "e8_05_i_answer", "padded[1:, :-1]) / 3", "padded[1:, :-1])",
       "the sum of the three pixels, not their average: divide by 3", "shapes_visible i_hidden ii_hidden iii_hidden"),
    _m("e8.5-impulse-at-corner", "e8_05_i_answer", "(3, 3), (1, 1))", "(3, 3), (0, 0))",
       "the response to an impulse in the corner: put the impulse at the kernel's origin, its centre (1, 1)",
       "shapes_visible i_hidden ii_hidden iii_hidden"),
    _m("e8.5-nine-pixels", "e8_05_i_answer", "W_avg = tc.impulse_response(average, (3, 3), (1, 1))",
       "W_avg = np.full((3, 3), 1 / 9)",
       "the average of the whole 3x3 block: this transformation averages three pixels only",
       "shapes_visible i_hidden ii_hidden iii_hidden"),
    _m("e8.5-rounded", "e8_05_i_answer", "W_avg = tc.impulse_response(average, (3, 3), (1, 1))",
       "W_avg = np.round(tc.impulse_response(average, (3, 3), (1, 1)), 3)",
       "right to about 3 to 4 significant digits, but not exactly", "shapes_visible i_hidden ii_hidden iii_hidden"),
    _m("e8.5-z-correlation", "e8_05_ii_answer", "Z_avg = tc.convolve(W_avg, P, padding=1)",
       "Z_avg = tc.correlate(W_avg, P, padding=1)",
       "the correlation with W_avg, not the convolution: convolution rotates the kernel first (P8.1)",
       "shapes_visible ii_hidden"),
    _m("e8.5-z-unpadded", "e8_05_ii_answer", "Z_avg = tc.convolve(W_avg, P, padding=1)",
       "Z_avg = tc.convolve(W_avg, P)", "the convolution without zero padding: pad with P^d = 1",
       "shapes_visible ii_hidden"),
    _m("e8.5-z-rounded", "e8_05_ii_answer", "Z_avg = tc.convolve(W_avg, P, padding=1)",
       "Z_avg = np.round(tc.convolve(W_avg, P, padding=1), 3)",
       "right to about 3 to 4 significant digits, but not exactly", "shapes_visible ii_hidden"),
    _m("e8.5-corr-not-rotated", "e8_05_iii_answer", "W_corr = W_avg[::-1, ::-1]", "W_corr = W_avg",
       "W_avg itself: the correlation kernel is the convolution kernel rotated by 180 degrees (P8.1)",
       "shapes_visible iii_hidden"),
    _m("e8.5-corr-rows-only", "e8_05_iii_answer", "W_corr = W_avg[::-1, ::-1]", "W_corr = W_avg[::-1]",
       f"W_avg flipped upside down only: {ROTATE}", "shapes_visible iii_hidden"),
    _m("e8.5-corr-columns-only", "e8_05_iii_answer", "W_corr = W_avg[::-1, ::-1]", "W_corr = W_avg[:, ::-1]",
       f"W_avg mirrored left-right only: {ROTATE}", "shapes_visible iii_hidden"),

    # --- E8.6: correlate_by_hand, Z_conv, Z_corr, peak_corr, K_corr, Z_check ------------------------------
    _m("correlation-for-convolution", "e8_06_i_answer", "Z_conv = correlate_by_hand(K[::-1, ::-1], P)",
       "Z_conv = correlate_by_hand(K, P)",
       "the correlation K ⊗ P, not the convolution K * P: correlate with K rotated by 180 degrees (P8.1)",
       "ii_visible i_hidden"),
    _m("e8.6-conv-transposed", "e8_06_i_answer", "correlate_by_hand(K[::-1, ::-1], P)", "correlate_by_hand(K.T, P)",
       f"the correlation with K transposed, not rotated: {ROTATE}, it does not transpose", "ii_visible i_hidden"),
    _m("e8.6-conv-rows-only", "e8_06_i_answer", "correlate_by_hand(K[::-1, ::-1], P)", "correlate_by_hand(K[::-1], P)",
       f"the correlation with K flipped upside down only: {ROTATE}", "ii_visible i_hidden"),
    _m("e8.6-conv-columns-only", "e8_06_i_answer", "correlate_by_hand(K[::-1, ::-1], P)",
       "correlate_by_hand(K[:, ::-1], P)", f"the correlation with K mirrored left-right only: {ROTATE}",
       "ii_visible i_hidden"),
    _m("e8.6-output-rotated", "e8_06_i_answer", "Z_conv = correlate_by_hand(K[::-1, ::-1], P)",
       "Z_conv = correlate_by_hand(K, P)[::-1, ::-1]",
       "the correlation output rotated by 180 degrees: convolution rotates the kernel, not the output",
       "ii_visible i_hidden"),
    _m("e8.6-loops-one-short", "e8_06_i_answer",
       "for m in range(out.shape[0]):\n        for n in range(out.shape[1]):",
       "for m in range(out.shape[0] - 1):\n        for n in range(out.shape[1] - 1):",
       "what loops that stop one row and one column short give: the last row and column stay 0",
       "ii_visible i_hidden i_function_hidden ii_hidden ii_peak_hidden iv_visible iv_hidden"),
    _m("e8.6-kernel-size-fixed", "e8_06_i_answer", "image[m:m + r, n:n + c]", "image[m:m + 3, n:n + 3]",
       "a correlation that works for 3x3 kernels only: take the window size from the kernel's shape",
       "ii_visible i_function_hidden"),
    _m("e8.6-square-assumed", "e8_06_i_answer", "image.shape[1] - c + 1))", "image.shape[0] - r + 1))",
       "a correlation that takes the number of columns from the rows: images and kernels need not be square",
       "ii_visible i_function_hidden"),
    _m("e8.6-correlation-rotates", "e8_06_i_answer", "np.sum(W * image[m:m + r, n:n + c])",
       "np.sum(W[::-1, ::-1] * image[m:m + r, n:n + c])",
       "a correlation that rotates the kernel: correlation slides it as it is (Eq. 8.13)",
       "ii_visible i_hidden i_function_hidden ii_hidden ii_peak_hidden iv_visible iv_hidden"),
    _m("e8.6-library", "e8_06_i_answer", "def correlate_by_hand(W, image):\n",
       "def correlate_by_hand(W, image):\n    return tc.correlate(W, image)\n",
       "hands the work to textbook_core.correlate",
       "ii_visible i_hidden i_function_hidden ii_hidden iv_hidden"),
    _m("e8.6-corr-rotated", "e8_06_ii_answer", "Z_corr = correlate_by_hand(K, P)",
       "Z_corr = correlate_by_hand(K[::-1, ::-1], P)",
       "the convolution K * P, not the correlation: correlation slides K as it is (8.9)",
       "ii_visible ii_hidden ii_peak_hidden"),
    _m("e8.6-peak-flat", "e8_06_ii_answer", "peak_corr = np.unravel_index(np.argmax(Z_corr), Z_corr.shape)",
       "peak_corr = np.argmax(Z_corr)",
       "the position in the flattened array: give (row, col), e.g. with np.unravel_index",
       "ii_visible ii_peak_hidden"),
    _m("e8.6-peak-col-row", "e8_06_ii_answer", "peak_corr = np.unravel_index(np.argmax(Z_corr), Z_corr.shape)",
       "peak_corr = np.unravel_index(np.argmax(Z_corr), Z_corr.shape)[::-1]",
       "(col, row), not (row, col)", "ii_visible ii_peak_hidden"),
    _m("e8.6-peak-one-based", "e8_06_ii_answer", "peak_corr = np.unravel_index(np.argmax(Z_corr), Z_corr.shape)",
       "peak_corr = tuple(np.add(np.unravel_index(np.argmax(Z_corr), Z_corr.shape), 1))",
       "1-based: Python counts rows and columns from 0", "ii_visible ii_peak_hidden"),
    _m("e8.6-kcorr-not-rotated", "e8_06_iii_answer", "K_corr = K[::-1, ::-1]", "K_corr = K",
       "K itself: the correlation kernel that reproduces the convolution is K rotated by 180 degrees (P8.1)",
       "iv_visible iii_hidden iv_hidden"),
    _m("e8.6-kcorr-transposed", "e8_06_iii_answer", "K_corr = K[::-1, ::-1]", "K_corr = K.T",
       f"the transpose of K: {ROTATE}, it does not transpose", "iv_visible iii_hidden iv_hidden"),
    _m("e8.6-kcorr-rows-only", "e8_06_iii_answer", "K_corr = K[::-1, ::-1]", "K_corr = K[::-1]",
       f"K flipped upside down only: {ROTATE}", "iv_visible iii_hidden iv_hidden"),
    _m("e8.6-kcorr-columns-only", "e8_06_iii_answer", "K_corr = K[::-1, ::-1]", "K_corr = K[:, ::-1]",
       f"K mirrored left-right only: {ROTATE}", "iv_visible iii_hidden iv_hidden"),
    _m("e8.6-check-with-k", "e8_06_iv_answer", "Z_check = correlate_by_hand(K_corr, P)",
       "Z_check = correlate_by_hand(K, P)",
       "the correlation with K itself, that is Z_corr: the check correlates with K_corr", "iv_visible iv_hidden"),

    # --- E8.7: conv_output_size, S_i, same_padding, P_ii --------------------------------------------
    _m("stride-ignored", "e8_07_i_answer", "return (R + 2 * padding - r) // stride + 1",
       "return R + 2 * padding - r + 1", "the size with the stride left out of Eq. 8.18: divide by S^t",
       "types_visible i_hidden i_function_hidden"),
    _m("e8.7-ceil", "e8_07_i_answer", "return (R + 2 * padding - r) // stride + 1",
       "return -(-(R + 2 * padding - r) // stride) + 1",
       "the division rounded up: Eq. 8.18 rounds down, positions where the kernel does not fit are left out",
       "types_visible i_function_hidden"),
    _m("e8.7-true-division", "e8_07_i_answer", "return (R + 2 * padding - r) // stride + 1",
       "return (R + 2 * padding - r) / stride + 1",
       "the division not rounded (/ instead of //): a size is a whole number, rounded down",
       "types_visible i_function_hidden"),
    _m("e8.7-round", "e8_07_i_answer", "return (R + 2 * padding - r) // stride + 1",
       "return round((R + 2 * padding - r) / stride) + 1",
       "the division rounded to the nearest whole number: Eq. 8.18 rounds down", "types_visible i_function_hidden"),
    _m("e8.7-plus-one-missing", "e8_07_i_answer", "return (R + 2 * padding - r) // stride + 1",
       "return (R + 2 * padding - r) // stride", "the size one short: Eq. 8.18 adds 1 for the first position",
       "types_visible i_hidden i_function_hidden"),
    _m("e8.7-padding-once", "e8_07_i_answer", "return (R + 2 * padding - r) // stride + 1",
       "return (R + padding - r) // stride + 1",
       "the size with the padding counted on one side only: it is added on both sides, 2 P^d",
       "types_visible i_hidden i_function_hidden"),
    _m("e8.7-hard-coded", "e8_07_i_answer", "return (R + 2 * padding - r) // stride + 1", "return 8",
       "the book's case hard-coded: the function must work for every size", "types_visible i_function_hidden"),
    _m("e8.7-same-r-minus-1", "e8_07_ii_answer", "return (r - 1) // 2", "return r - 1",
       "the total padding of both sides: P^d is the padding on each side, (r - 1) / 2",
       "types_visible ii_hidden ii_function_hidden"),
    _m("e8.7-same-r-plus-1", "e8_07_ii_answer", "return (r - 1) // 2", "return (r + 1) // 2",
       "one ring of zeros too many: R + 2P - r + 1 = R gives P = (r - 1) / 2",
       "types_visible ii_hidden ii_function_hidden"),
    _m("e8.7-same-half", "e8_07_ii_answer", "return (r - 1) // 2", "return r / 2",
       "r / 2, not a whole number for odd r: R + 2P - r + 1 = R gives P = (r - 1) / 2",
       "types_visible ii_hidden ii_function_hidden"),
    _m("e8.7-same-hard-coded", "e8_07_ii_answer", "return (r - 1) // 2", "return 1",
       "the answer for r = 3 hard-coded: the function must work for every odd r", "types_visible ii_function_hidden"),

    # --- E8.8: max_pool_da --------------------------------------------------------------------------
    _m("avg-pool-gradient-for-max-pool", "e8_08_fn_answer", "route = first_max_mask(window)",
       "route = np.full(window.shape, 1 / (r * c))",
       "the average-pooling gradient of P8.3, shared equally over each window: max pooling sends all of it "
       "to the window's maximum", "fn_visible basic_hidden remainder_hidden overlap_hidden batch_hidden ties_hidden"),
    _m("e8.8-ties-to-last", "e8_08_fn_answer", "flat.argmax(axis=-1)[..., None]",
       "(flat.shape[-1] - 1 - flat[..., ::-1].argmax(axis=-1))[..., None]",
       "the gradient of a tied window sent to its last maximum: the tie rule sends it to the first one, in "
       "row-major order", "fn_visible ties_hidden"),
    _m("e8.8-ties-to-all", "e8_08_fn_answer", "route = first_max_mask(window)",
       "route = (window == window.max(axis=(-2, -1), keepdims=True)).astype(float)",
       "the gradient of a tied window sent to every maximum: the tie rule sends all of it to the first one",
       "fn_visible ties_hidden"),
    _m("e8.8-assign-not-add", "e8_08_fn_answer", "dA[..., rows, cols] += route", "dA[..., rows, cols] = route",
       "what `=` gives where overlapping windows need `+=`: a pixel that is the maximum of several windows "
       "collects all their gradients", "fn_visible overlap_hidden"),
    _m("e8.8-integer-input", "e8_08_fn_answer", ("np.asarray(A, dtype=float)", "dA = np.zeros(A.shape)"),
       ("np.asarray(A)", "dA = np.zeros_like(A)"),
       "a gradient array of A's dtype: for an integer A it cannot hold the fractions of dLZ (start from float "
       "zeros)", "fn_visible basic_hidden remainder_hidden overlap_hidden batch_hidden ties_hidden"),
    _m("e8.8-no-batch", "e8_08_fn_answer",
       ("window = A[..., rows, cols]", "dA[..., rows, cols] += route * dLZ[..., i, j, None, None]"),
       ("window = A[rows, cols]", "dA[rows, cols] += route * dLZ[i, j]"),
       "a gradient for one map only: the axes in front of the last two are a batch, each map pooled on its own",
       "fn_visible batch_hidden"),
    _m("e8.8-window-swapped", "e8_08_fn_answer", "r, c = (size, size) if np.ndim(size) == 0 else size",
       "c, r = (size, size) if np.ndim(size) == 0 else size",
       "the window read as (c, r): size = (r, c) is r rows by c columns",
       "fn_visible basic_hidden remainder_hidden overlap_hidden batch_hidden"),
    _m("e8.8-stride-ignored", "e8_08_fn_answer", "s_r, s_c = (stride, stride) if np.ndim(stride) == 0 else stride",
       "s_r, s_c = r, c", "the gradient with the stride ignored: windows start S^t apart, so they overlap here",
       "fn_visible overlap_hidden"),
    _m("e8.8-default-stride-1", "e8_08_fn_answer", "        stride = (r, c)", "        stride = 1",
       "the gradient with stride 1 where none is given: stride=None means the window size",
       "fn_visible basic_hidden remainder_hidden batch_hidden ties_hidden"),
    _m("e8.8-dlz-ignored", "e8_08_fn_answer", "route * dLZ[..., i, j, None, None]", "route",
       "the route of each window without its gradient: multiply by dLZ of the window",
       "fn_visible basic_hidden remainder_hidden overlap_hidden batch_hidden ties_hidden"),
    _m("e8.8-minimum", "e8_08_fn_answer", "flat.argmax(axis=-1)", "flat.argmin(axis=-1)",
       "the gradient sent to each window's minimum: max pooling's derivative is 1 at the maximum",
       "fn_visible basic_hidden remainder_hidden overlap_hidden batch_hidden ties_hidden"),
    _m("e8.8-hard-coded", "e8_08_fn_answer", "def max_pool_da(dLZ, A, size, stride=None):\n",
       "def max_pool_da(dLZ, A, size, stride=None):\n    return np.array([[0., 10., 20., 0.], [0., 0., 0., 0.]])\n",
       "the worked example's answer hard-coded: the function must work for every input",
       "fn_visible basic_hidden remainder_hidden overlap_hidden batch_hidden ties_hidden"),
    _m("e8.8-probes-the-library", "e8_08_fn_answer", "def max_pool_da(dLZ, A, size, stride=None):\n",
       "def nudged(dLZ, A, size, stride):\n"
       "    # the gradient read off the library: nudge each pixel and watch tc.max_pool change\n"
       "    A = np.asarray(A, dtype=float)\n"
       "    base, dA = tc.max_pool(A, size, stride=stride), np.zeros(A.shape)\n"
       "    for index in np.ndindex(A.shape):\n"
       "        B = A.copy()\n"
       "        B[index] += 1e-6\n"
       "        dA[index] = np.sum((tc.max_pool(B, size, stride=stride) - base) / 1e-6 * dLZ)\n"
       "    return dA\n\n\n"
       "def max_pool_da(dLZ, A, size, stride=None):\n    return nudged(dLZ, A, size, stride)\n",
       "hands the work to textbook_core.max_pool",
       "fn_visible basic_hidden remainder_hidden overlap_hidden batch_hidden ties_hidden"),

    # --- E8.9: product_dlz, product_db ------------------------------------------------------------------
    _m("bias-summed-over-wrong-axes", "e8_09_fns_answer", "g = g.sum(axis=(-2, -1))", "g = g.sum()",
       "the bias gradient summed over every axis, the feature-map axis too: each map has its own bias, so sum "
       "over rows, columns and the batch only", "fns_visible db_fms_hidden db_batch_hidden"),
    _m("e8.9-b-forgotten", "e8_09_fns_answer", "return dN * b if b.ndim == 0 else dN * b[:, None, None]",
       "return dN", "dN itself, with b forgotten: d(n_ij)/d(lz_ij) = b",
       "fns_visible dlz_one_fm_hidden dlz_fms_hidden dlz_batch_hidden"),
    _m("e8.9-b-wrong-axis", "e8_09_fns_answer", "return dN * b if b.ndim == 0 else dN * b[:, None, None]",
       "return dN * b", "b broadcast along the columns: each feature map (axis -3) has its own b, so use "
       "b[:, None, None]", "fns_visible dlz_fms_hidden dlz_batch_hidden"),
    _m("e8.9-divides", "e8_09_fns_answer", "return dN * b if b.ndim == 0 else dN * b[:, None, None]",
       "return dN / b if b.ndim == 0 else dN / b[:, None, None]",
       "dN divided by b: d(n_ij)/d(lz_ij) = b, so multiply",
       "fns_visible dlz_one_fm_hidden dlz_fms_hidden dlz_batch_hidden"),
    _m("e8.9-scalar-b-crashes", "e8_09_fns_answer", "return dN * b if b.ndim == 0 else dN * b[:, None, None]",
       "return dN * b[:, None, None]", "a path that cannot take a scalar b, the case of one feature map",
       "fns_visible dlz_one_fm_hidden"),
    _m("e8.9-b-summed", "e8_09_fns_answer", "return dN * b if b.ndim == 0 else dN * b[:, None, None]",
       "return dN * b.sum()", "dN times the sum of all biases: each map has its own b",
       "fns_visible dlz_fms_hidden dlz_batch_hidden"),
    _m("e8.9-batch-not-summed", "e8_09_fns_answer",
       "return g if g.ndim <= 1 else g.reshape(-1, g.shape[-1]).sum(axis=0)", "return g",
       "one bias gradient per sample: the bias is shared by the batch, so sum over it too",
       "fns_visible db_batch_hidden"),
    _m("e8.9-one-batch-axis", "e8_09_fns_answer",
       "return g if g.ndim <= 1 else g.reshape(-1, g.shape[-1]).sum(axis=0)",
       "return g if g.ndim <= 1 else g.sum(axis=0)",
       "a bias gradient summed over the first batch axis only: a batch may have several axes in front",
       "fns_visible db_batch_hidden"),
    _m("e8.9-rows-only", "e8_09_fns_answer", "g = g.sum(axis=(-2, -1))", "g = g.sum(axis=-1)",
       "the bias gradient summed over the columns only: sum over the rows too",
       "fns_visible db_one_fm_hidden db_fms_hidden db_batch_hidden"),
    _m("e8.9-lz-forgotten", "e8_09_fns_answer",
       "g = np.asarray(dN, dtype=float) * np.asarray(LZ, dtype=float)", "g = np.asarray(dN, dtype=float)",
       "the bias gradient of the sum net input (Eq. 8.37), dN summed: for a product, d(n_ij)/db = lz_ij",
       "fns_visible db_one_fm_hidden db_fms_hidden db_batch_hidden"),
    _m("e8.9-mean", "e8_09_fns_answer", "g = g.sum(axis=(-2, -1))", "g = g.mean(axis=(-2, -1))",
       "the mean over each map, not the sum: every pixel adds its own term to db",
       "fns_visible db_one_fm_hidden db_fms_hidden db_batch_hidden"),
)
"""Every typical mistake, in exercise order."""

MISTAKES_BY_NAME = {m.name: m for m in MISTAKES}


def counts():
    """``{notebook: number of mistakes}``."""
    return dict(Counter(m.notebook for m in MISTAKES))


# ---------------------------------------------------------------------------------------------
# A solution notebook run in this process
# ---------------------------------------------------------------------------------------------

def source_cells(notebook, course=Course()):
    """``[(grade_id, role, source)]`` of an instructor notebook, role "setup", "answer", "test" or
    "text"; answer cells hold the solution without its delimiters."""
    path = course.path("source") / ASSIGNMENT / f"{notebook}.ipynb"
    result = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] != "code":
            role = "text"
        elif meta.get("solution"):
            role, source = "answer", answer_text(source)
        elif meta.get("grade"):
            role = "test"
        else:
            role = "setup"
        result.append((meta.get("grade_id"), role, source))
    return result


def answer_text(source):
    """The solution cell as a student who wrote the solution would have it: delimiters dropped."""
    if BEGIN not in source or END not in source:
        raise ValueError(f"answer cell has no {BEGIN} ... {END} region:\n{source[:200]}")
    return "\n".join(line for line in source.split("\n") if line.strip() not in (BEGIN, END))


@dataclass
class Run:
    """What `run` saw: the namespace after the last cell, and per test cell ``(passed, message)``."""

    namespace: dict
    outcomes: dict
    errors: dict


def run(notebook, mistakes=(), *, tests=False, test_filter=None, course=Course()):
    """Run `notebook`'s setup and answer cells in order, with `mistakes` applied, in this process.

    With `tests`, every test cell (or those `test_filter(grade_id)` accepts) runs too, on a copy
    of the namespace (as in the grader, names a test defines do not reach later cells); its
    outcome is ``(True, "")`` or ``(False, message)``. Errors of answer cells are recorded in
    ``errors`` and the run goes on, as a notebook would. Printed output is swallowed.
    """
    edits = {}
    for mistake in mistakes:
        if mistake.notebook == notebook:
            edits.setdefault(mistake.cell, []).append(mistake)
    namespace, outcomes, errors = {"__name__": "__main__"}, {}, {}
    with contextlib.redirect_stdout(io.StringIO()):
        for grade_id, role, source in source_cells(notebook, course):
            if role == "answer":
                for mistake in edits.get(grade_id, ()):
                    source = mistake.apply(source)
            if role in ("setup", "answer"):
                try:
                    exec(compile(source, f"<{grade_id}>", "exec"), namespace)
                except Exception as error:   # a wrong answer may raise: the notebook goes on
                    errors[grade_id] = f"{type(error).__name__}: {error}"
            elif role == "test" and tests and (test_filter is None or test_filter(grade_id)):
                try:
                    exec(compile(source, f"<{grade_id}>", "exec"), dict(namespace))
                    outcomes[grade_id] = (True, "")
                except Exception as error:
                    outcomes[grade_id] = (False, f"{type(error).__name__}: {error}")
    return Run(namespace, outcomes, errors)
