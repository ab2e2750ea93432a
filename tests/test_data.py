"""Tests of textbook_core.data: the chapter's figures, exercises, slides and notes.

The oracles here are loops typed straight from the printed sums (8.5 and 8.13), written in this
file so that the data is checked without the rest of the package.
"""
import string

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from textbook_core import data


def correlate_loop(W, P, padding=0):
    """8.13 with 0-based indices: z[m, n] = sum_i sum_j w[i, j] p[m + i, n + j], valid mode."""
    W, P = np.asarray(W, float), np.pad(np.asarray(P, float), padding)
    r, c = W.shape
    Z = np.zeros((P.shape[0] - r + 1, P.shape[1] - c + 1))
    for m in range(Z.shape[0]):
        for n in range(Z.shape[1]):
            for i in range(r):
                for j in range(c):
                    Z[m, n] += W[i, j] * P[m + i, n + j]
    return Z


def convolve_full_loop(W, P):
    """8.5 / 8.8 with 0-based indices: z[m, n] = sum_i sum_j w[i, j] p[m - i, n - j], full size."""
    W, P = np.atleast_2d(np.asarray(W, float)), np.atleast_2d(np.asarray(P, float))
    r, c = W.shape
    Z = np.zeros((P.shape[0] + r - 1, P.shape[1] + c - 1))
    for m in range(Z.shape[0]):
        for n in range(Z.shape[1]):
            for i in range(r):
                for j in range(c):
                    if 0 <= m - i < P.shape[0] and 0 <= n - j < P.shape[1]:
                        Z[m, n] += W[i, j] * P[m - i, n - j]
    return Z


def convolve_valid_loop(W, P):
    """Valid part of the full convolution: the outputs where the flipped kernel fits in P."""
    r, c = np.shape(W)
    return convolve_full_loop(W, P)[r - 1:np.shape(P)[0], c - 1:np.shape(P)[1]]


def correlate_fast(W, P):
    """Valid correlation through the window view (for the many-image tests)."""
    return np.einsum("...mnij,ij->...mn", sliding_window_view(P, W.shape, axis=(-2, -1)), W)


# --- A worked example first: the slides' feature map, entry by entry -----------------------------

def test_slide_feature_map_by_hand_and_its_misprint():
    """The slides' 5x5 map is the valid correlation of the detector with the image, except for
    entry (2, 2): printed 1, correct 0. This test documents that erratum; if someone 'fixes' the
    printed constant, it fails and points here."""
    # Entry (0, 1): window rows 0..2, cols 1..3 holds one black pixel, image (1, 1), which is
    # window (1, 0), where the detector is 1 -> 1.
    window = data.SLIDE_IMAGE[0:3, 1:4]
    np.testing.assert_array_equal(window, [[0, 0, 0], [1, 0, 0], [0, 0, 0]])
    assert data.SLIDE_DETECTOR[1, 0] == 1
    # Entry (3, 1): window rows 3..5, cols 1..3 = [[0,0,1],[1,0,0],[0,1,1]], the detector itself.
    window = data.SLIDE_IMAGE[3:6, 1:4]
    np.testing.assert_array_equal(window, data.SLIDE_DETECTOR)
    # Entry (2, 2): window rows 2..4, cols 2..4 has its only black pixel in the centre, where
    # the detector is 0, so the sum is 0 -- but the slides print 1.
    window = data.SLIDE_IMAGE[2:5, 2:5]
    np.testing.assert_array_equal(window, [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert data.SLIDE_DETECTOR[1, 1] == 0
    assert data.SLIDE_FEATURE_MAP[2, 2] == 1

    computed = correlate_loop(data.SLIDE_DETECTOR, data.SLIDE_IMAGE)
    assert computed[0, 1] == 1 and computed[3, 1] == 4 and computed[2, 2] == 0
    wrong = np.argwhere(computed != data.SLIDE_FEATURE_MAP)
    assert wrong.tolist() == [[2, 2]]
    corrected = data.SLIDE_FEATURE_MAP.copy()
    for index, value in data.SLIDE_FEATURE_MAP_ERRATA.items():
        corrected[index] = value
    np.testing.assert_array_equal(computed, corrected)


def test_slides_correlate_rather_than_convolve():
    # The slides call it convolution, but convolution (kernel flipped) disagrees almost everywhere.
    conv = convolve_valid_loop(data.SLIDE_DETECTOR, data.SLIDE_IMAGE)
    assert (conv != data.SLIDE_FEATURE_MAP).sum() >= 10


def test_window_view_agrees_with_loop():
    P = np.arange(42.0).reshape(6, 7) % 5
    for W in data.LINE_KERNELS:
        np.testing.assert_array_equal(correlate_fast(W, P), correlate_loop(W, P))


# --- Figure 8.4 ----------------------------------------------------------------------------------

def test_square_and_diamond_by_hand():
    np.testing.assert_array_equal(data.square(size=6, side=4, top=2, left=1), [
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 1, 0],
        [0, 1, 0, 0, 1, 0],
        [0, 1, 0, 0, 1, 0],
        [0, 1, 1, 1, 1, 0]])
    np.testing.assert_array_equal(data.diamond(size=6, radius=2, center=(3, 2)), [
        [0, 0, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0],
        [0, 1, 0, 1, 0, 0],
        [1, 0, 0, 0, 1, 0],
        [0, 1, 0, 1, 0, 0],
        [0, 0, 1, 0, 0, 0]])


def _black(image):
    return {tuple(p) for p in np.argwhere(image == 1).tolist()}


def test_figure_8_4_images():
    sq, di = data.FIGURE_8_4_SQUARE, data.FIGURE_8_4_DIAMOND
    assert sq.shape == di.shape == (15, 15)
    assert _black(sq) == ({(r, c) for r in (3, 11) for c in range(3, 12)}
                          | {(r, c) for c in (3, 11) for r in range(3, 12)})
    assert _black(di) == {(7 + s * k, 7 + t * (5 - k))
                          for k in range(6) for s in (1, -1) for t in (1, -1)}
    assert set(np.unique(np.concatenate([sq, di]))) == {0.0, 1.0}


def _neighbours(image, offsets):
    padded = np.pad(image, 1)
    rows, cols = image.shape
    return sum(padded[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols] for dr, dc in offsets)


STRAIGHT = [(-1, 0), (1, 0), (0, -1), (0, 1)]
SLANTED = [(-1, -1), (-1, 1), (1, -1), (1, 1)]


@st.composite
def squares(draw):
    size = draw(st.integers(3, 20))
    side = draw(st.integers(3, size))
    return size, side, draw(st.integers(0, size - side)), draw(st.integers(0, size - side))


@st.composite
def diamonds(draw):
    size = draw(st.integers(3, 21))
    radius = draw(st.integers(1, (size - 1) // 2))
    center = (draw(st.integers(radius, size - 1 - radius)),
              draw(st.integers(radius, size - 1 - radius)))
    return size, radius, center


@given(squares())
def test_square_is_a_closed_loop_of_straight_lines(params):
    size, side, top, left = params
    image = data.square(size, side, top, left)
    black = image == 1
    assert black.sum() == 4 * (side - 1)
    assert np.all(_neighbours(image, STRAIGHT)[black] == 2)      # 1 pixel thick, closed, straight
    assert np.argwhere(black).min(0).tolist() == [top, left]
    assert np.argwhere(black).max(0).tolist() == [top + side - 1, left + side - 1]


@given(diamonds())
def test_diamond_is_a_closed_loop_of_slanted_lines(params):
    size, radius, center = params
    image = data.diamond(size, radius, center)
    black = image == 1
    assert black.sum() == 4 * radius
    assert np.all(_neighbours(image, STRAIGHT)[black] == 0)      # no horizontal/vertical step
    assert np.all(_neighbours(image, SLANTED)[black] == 2)       # 45 degree lines, closed
    rows, cols = np.argwhere(black).T
    assert (rows.min(), rows.max()) == (center[0] - radius, center[0] + radius)
    assert (cols.min(), cols.max()) == (center[1] - radius, center[1] + radius)


@pytest.mark.parametrize("call, message", [
    (lambda: data.square(15, 2, 3, 3), r"square side=2 must be >= 3"),
    (lambda: data.square(15, 9, -1, 3), r"square top=-1 must be >= 0"),
    (lambda: data.square(15, 9, 3, -2), r"square left=-2 must be >= 0"),
    (lambda: data.square(15, 9, 7, 3), r"side=9 at top=7 does not fit image size=15: "
                                        r"top \+ side = 16 > 15"),
    (lambda: data.square(10, 9, 0, 2), r"side=9 at left=2 does not fit image size=10"),
    (lambda: data.diamond(15, 0, (7, 7)), r"diamond radius=0 must be >= 1"),
    (lambda: data.diamond(15, 5, (7, 12)), r"radius=5 at center col=12 does not fit image "
                                           r"size=15: cols 7\.\.17 outside 0\.\.14"),
    (lambda: data.diamond(15, 5, (4, 7)), r"center row=4 .* rows -1\.\.9 outside"),
    (lambda: data.diamond(15, 5, (7, 7, 7)), r"center=\(7, 7, 7\) must be a \(row, col\) pair"),
    (lambda: data.shapes_dataset(-1), r"n=-1 must be >= 0"),
    (lambda: data.shapes_dataset(3, size=6), r"size=6 must be >= 7"),
    (lambda: data.to_text(np.ones((2, 2, 2))), r"image must be 2-D \(rows, cols\), got shape"),
    (lambda: data.to_text([[0, 0.5]]), r"image must hold only 0 and 1, got 0.5"),
    (lambda: data.font_stack("AZ!"), r"letter '!' has no glyph in FONT"),
])
def test_bad_input_names_the_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def _shape_of(image, label):
    """Rebuild a dataset image from its bounding box with `square` or `diamond`."""
    rows, cols = np.argwhere(image == 1).T
    size = image.shape[0]
    if label == 0:
        return data.square(size, rows.max() - rows.min() + 1, rows.min(), cols.min())
    radius = (rows.max() - rows.min()) // 2
    return data.diamond(size, radius, (rows.min() + radius, cols.min() + radius))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(7, 25), n=st.integers(0, 12))
def test_shapes_dataset_images_are_valid_and_match_labels(seed, size, n):
    images, labels = data.shapes_dataset(n, size=size, rng=seed)
    assert images.shape == (n, size, size) and labels.shape == (n,)
    assert images.dtype == np.float64 and labels.dtype == np.int64
    for image, label in zip(images, labels):
        assert label in (0, 1)
        np.testing.assert_array_equal(image, _shape_of(image, label))
        # a white border of at least one pixel, and a shape big enough for the line kernels
        assert not image[[0, -1]].any() and not image[:, [0, -1]].any()
        extent = np.ptp(np.argwhere(image == 1)[:, 0]) + 1
        assert extent >= 5
    again, again_labels = data.shapes_dataset(n, size=size, rng=seed)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, again_labels)


def test_shapes_dataset_varies_and_balances():
    images, labels = data.shapes_dataset(300, rng=7)
    assert 100 < labels.sum() < 200
    assert len({image.tobytes() for image in images}) > 100      # random sizes and positions
    other, _ = data.shapes_dataset(300, rng=8)
    assert not np.array_equal(images, other)
    generator = np.random.default_rng(7)
    np.testing.assert_array_equal(data.shapes_dataset(300, rng=generator)[0], images)


# --- Figure 8.5 and the E8.10 property -----------------------------------------------------------

def test_line_kernels_layout():
    K = data.LINE_KERNELS
    assert data.LINE_KERNEL_NAMES == ("horizontal", "vertical", "diagonal", "antidiagonal")
    assert list(data.FIGURE_8_5_KERNELS) == list(data.LINE_KERNEL_NAMES)
    for k, name in enumerate(data.LINE_KERNEL_NAMES):
        np.testing.assert_array_equal(data.FIGURE_8_5_KERNELS[name], K[k])
    np.testing.assert_array_equal(K[0], [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]])
    np.testing.assert_array_equal(K[1], K[0].T)
    np.testing.assert_array_equal(K[2], 3 * np.eye(3) - 1)
    np.testing.assert_array_equal(K[3], np.fliplr(K[2]))
    np.testing.assert_array_equal(K.sum(axis=(1, 2)), [0, 0, 0, 0])   # blank windows give 0


def _max_responses(images, pool=False):
    """Max over each map of the valid correlation with each line kernel: (n, 4)."""
    maps = np.stack([correlate_fast(W, images) for W in data.LINE_KERNELS], axis=1)
    if pool:        # 3x3 max pooling, stride 3, rows/cols the stride cannot reach ignored
        q = maps.shape[-1] // 3
        maps = maps[..., :3 * q, :3 * q].reshape(*maps.shape[:2], q, 3, q, 3).max(axis=(3, 5))
    return maps.max(axis=(-2, -1))


def _every_shape(size):
    """All squares and diamonds in the dataset's range for one image size, with labels."""
    images, labels = [], []
    for side in range(5, size - 1):
        for top in range(1, size - side):
            for left in range(1, size - side):
                images.append(data.square(size, side, top, left))
                labels.append(0)
    for radius in range(2, (size - 3) // 2 + 1):
        for row in range(1 + radius, size - 1 - radius):
            for col in range(1 + radius, size - 1 - radius):
                images.append(data.diamond(size, radius, (row, col)))
                labels.append(1)
    return np.array(images), np.array(labels)


@pytest.mark.parametrize("pool", [False, True])
def test_line_kernels_separate_every_15x15_shape(pool):
    images, labels = _every_shape(15)
    assert len(images) == 285 + 165
    best = _max_responses(images, pool)
    np.testing.assert_array_equal(best[labels == 0], np.tile([6, 6, 2, 2], (285, 1)))
    np.testing.assert_array_equal(best[labels == 1], np.tile([3, 3, 6, 6], (165, 1)))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(7, 30))
def test_line_kernels_separate_generated_shapes(seed, size):
    images, labels = data.shapes_dataset(20, size=size, rng=seed)
    best = _max_responses(images)
    straight, slanted = best[:, :2].max(axis=1), best[:, 2:].max(axis=1)
    margin = np.where(labels == 0, straight - slanted, slanted - straight)
    assert margin.min() >= 3


def test_figure_8_4_responses_by_hand():
    # Horizontal kernel on the square's top edge, window rows 2..4 and cols 4..6:
    # middle row (row 3) all black: 3 * 2; rows 2 and 4 white there: 0.
    assert correlate_loop(data.LINE_KERNELS[0], data.FIGURE_8_4_SQUARE)[2, 4] == 6
    # Diagonal kernel on the diamond's upper-right edge, window rows 2..4 and cols 7..9:
    # (2, 7), (3, 8), (4, 9) black, on the diagonal: 3 * 2; nothing else black.
    assert correlate_loop(data.LINE_KERNELS[2], data.FIGURE_8_4_DIAMOND)[2, 7] == 6
    # Horizontal kernel at the diamond's top tip, window rows 2..4, cols 6..8: middle row
    # (3, 6) and (3, 8) black: 2 * 2; the tip (2, 7) in the top row: -1.
    assert correlate_loop(data.LINE_KERNELS[0], data.FIGURE_8_4_DIAMOND)[2, 6] == 3


# --- Slides' image kernels -----------------------------------------------------------------------

def test_image_kernels_as_printed():
    k = data.IMAGE_KERNELS
    assert list(k) == ["sharpen", "blur", "edge_enhance", "edge_detect", "emboss", "sobel"]
    sums = {name: kernel.sum() for name, kernel in k.items()}
    assert sums == {"sharpen": 1, "blur": 9, "edge_enhance": 0, "edge_detect": 0,
                    "emboss": 1, "sobel": 0}
    for name in ("sharpen", "blur"):                 # 5x5 as printed: a 3x3 kernel in a zero frame
        assert k[name].shape == (5, 5)
        assert not np.any(k[name][[0, -1]]) and not np.any(k[name][:, [0, -1]])
    np.testing.assert_array_equal(k["blur"][1:4, 1:4], np.ones((3, 3)))   # not normalised
    np.testing.assert_array_equal(k["sharpen"][1:4, 1:4], [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(k["edge_detect"], [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(k["edge_enhance"], [[0, 0, 0], [-1, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(k["emboss"], [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    np.testing.assert_array_equal(k["sobel"], [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    np.testing.assert_array_equal(k["sobel"], -np.fliplr(k["sobel"]))
    # Sobel responds to a vertical edge (dark left, bright right) and not to a horizontal one.
    step = np.repeat([[0, 0, 1, 1]], 4, axis=0).astype(float)
    assert np.all(correlate_loop(k["sobel"], step) == -4)
    assert not correlate_loop(k["sobel"], step.T).any()


# --- E8.3: the font ------------------------------------------------------------------------------

def test_font_glyphs():
    assert list(data.FONT) == list(string.ascii_uppercase)
    stack = data.font_stack()
    assert stack.shape == (26, 7, 5) and stack.dtype == np.float64
    assert set(np.unique(stack)) == {0.0, 1.0}
    for k, letter in enumerate(string.ascii_uppercase):
        np.testing.assert_array_equal(stack[k], data.FONT[letter])
    flat = stack.reshape(26, -1)
    distance = (flat[:, None] != flat[None]).sum(-1) + 99 * np.eye(26, dtype=int)
    assert distance.min() >= 3                      # all distinct, C and O the closest pair
    assert distance[2, 14] == 3


def _components(image):
    """Number of 8-connected black components (flood fill)."""
    left = {tuple(p) for p in np.argwhere(image == 1).tolist()}
    count = 0
    while left:
        count += 1
        todo = [left.pop()]
        while todo:
            r, c = todo.pop()
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    if (r + dr, c + dc) in left:
                        left.remove((r + dr, c + dc))
                        todo.append((r + dr, c + dc))
    return count


@pytest.mark.parametrize("letter", list(string.ascii_uppercase))
def test_each_glyph_is_one_stroke_of_full_height(letter):
    glyph = data.FONT[letter]
    assert _components(glyph) == 1, data.to_text(glyph)
    assert glyph.any(axis=1).all()                  # every glyph spans all 7 rows
    symmetric = set("AHIMOTUVWXY")                  # left-right mirror images of themselves
    assert np.array_equal(glyph, np.fliplr(glyph)) == (letter in symmetric), data.to_text(glyph)


def test_font_pictures():
    assert data.to_text(data.FONT["K"]) == "\n".join(
        ["#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"])
    assert data.to_text(data.FONT["Z"]) == "\n".join(
        ["#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"])
    np.testing.assert_array_equal(data.font_stack("BAB"), data.font_stack()[[1, 0, 1]])
    assert data.font_stack("").shape == (0, 7, 5)


# --- E8.1, E8.4 / P8.2, E8.5, E8.6, P8.1 ---------------------------------------------------------------

def forms(W):
    """The kernel and the four arrays a rotation is typically confused with."""
    W = np.asarray(W)
    return {"as is": W, "transposed": W.T, "rot180": W[::-1, ::-1], "rows flipped": W[::-1],
            "columns flipped": W[:, ::-1]}


@pytest.mark.parametrize("kernel", ["E8_1_KERNEL", "E8_6_KERNEL"])
def test_exercise_kernels_have_no_symmetry_and_their_results_differ(kernel):
    """Transposing or flipping one axis instead of rotating must show, in the kernel and on the image."""
    W = getattr(data, kernel)
    kernels = forms(W)
    padding = 1 if kernel == "E8_1_KERNEL" else 0
    outputs = {name: correlate_loop(K, data.E8_1_IMAGE, padding) for name, K in kernels.items()}
    for a, b in [(a, b) for a in kernels for b in kernels if a < b]:
        assert not np.array_equal(kernels[a], kernels[b]), (a, b)
        assert not np.array_equal(outputs[a], outputs[b]), (a, b)


def test_e8_1_kernel_finds_the_l_under_convolution():
    image, kernel = data.E8_1_IMAGE, data.E8_1_KERNEL
    assert image.shape == (8, 8) and kernel.shape == (3, 3)
    assert set(np.unique(image)) == set(np.unique(kernel)) == {0.0, 1.0}
    # by hand: the kernel is a "7"; rotated by 180 degrees it is an L (vertical stroke, foot right)
    np.testing.assert_array_equal(kernel[::-1, ::-1], [[1, 0, 0], [1, 0, 0], [1, 1, 0]])
    np.testing.assert_array_equal(image[5:8, 0:3], kernel[::-1, ::-1])      # the L, bottom-left corner
    np.testing.assert_array_equal(image[1:4, 4:7], kernel)                 # the 7, top right
    Z = convolve_valid_loop(kernel, np.pad(image, 1))                      # 8.8, stride 1, P^d = 1
    assert Z.shape == (8, 8)
    assert np.argwhere(Z == Z.max()).tolist() == [[6, 1]] and Z.max() == kernel.sum() == 4
    assert Z[3, 3] == 3                                                     # the 2x2 blob
    corr = correlate_loop(kernel, image, padding=1)                        # correlation finds the 7
    assert np.argwhere(corr == corr.max()).tolist() == [[2, 5]]
    assert "L-shaped" in data.E8_1_KERNEL_DETECTS


def test_e8_1_image_has_ink_on_the_borders():
    """So loops one short, padding on one side and windows that miss a border all show."""
    image = data.E8_1_IMAGE
    assert image[:, 0].any() and image[-1].any() and image[:, -1].any()
    Z = convolve_valid_loop(data.E8_1_KERNEL, np.pad(image, 1))
    assert Z[-1].any() and Z[:, -1].any() and Z[0].any() and Z[:, 0].any()


def test_e8_5_average_by_hand_and_its_asymmetric_kernel():
    image = np.array([[1., 2., 0.], [0., 4., 5.]])
    np.testing.assert_allclose(data.average_neighbours(image),
                               [[(1 + 2 + 0) / 3, (2 + 0 + 4) / 3, (0 + 0 + 5) / 3],
                                [(0 + 4) / 3, (4 + 5) / 3, 5 / 3]])
    impulse = np.zeros((3, 3))
    impulse[1, 1] = 1
    W = data.average_neighbours(impulse)          # the impulse response, origin at the centre
    np.testing.assert_allclose(3 * W, [[0, 1, 0], [1, 1, 0], [0, 0, 0]])
    rotated = W[::-1, ::-1]                        # the correlation kernel reads the three pixels
    np.testing.assert_allclose(3 * rotated, [[0, 0, 0], [0, 1, 1], [0, 1, 0]])
    assert not np.array_equal(W, rotated)
    for name in ("rows flipped", "columns flipped"):
        assert not np.array_equal(forms(W)[name], rotated)
    # the convolution with W is the transformation itself
    np.testing.assert_allclose(convolve_valid_loop(W, np.pad(data.E8_1_IMAGE, 1)),
                               data.average_neighbours(data.E8_1_IMAGE))


def test_e8_6_kernel_convolution_differs_from_correlation():
    K, image = data.E8_6_KERNEL, data.E8_1_IMAGE
    assert np.all(K == np.round(K)) and not np.array_equal(K, np.rot90(K, 2))
    corr = correlate_loop(K, image)
    conv = convolve_valid_loop(K, image)
    assert corr.shape == conv.shape == (6, 6)
    np.testing.assert_array_equal(conv, correlate_loop(np.rot90(K, 2), image))  # E8.6 iii, iv
    assert np.argwhere(corr == corr.max()).tolist() == [[5, 0]] and corr.max() == 4   # the L
    np.testing.assert_array_equal(image[5:8, 0:3], (K > 0).astype(float))
    assert np.argwhere(conv == conv.max()).tolist() == [[1, 4]] and conv.max() == 4   # the 7
    assert not np.array_equal(conv, corr[::-1, ::-1]) and not np.array_equal(conv, -corr)
    assert (corr != conv).sum() >= 15


def test_e8_4_image_is_printed_and_sparse():
    """Kept as printed; its full convolution's first row and last column are 0 (why E8.4's function
    is also graded on probes with ink on the borders)."""
    Z = convolve_full_loop(data.P8_2_KERNEL, data.E8_4_IMAGE)
    assert not Z[0].any() and not Z[:, -1].any()
    np.testing.assert_array_equal(data.P8_2_KERNEL.T, data.P8_2_KERNEL[::-1, ::-1])


def test_p8_2_kernel_shifts_e8_4_image_right_and_up():
    Z = convolve_full_loop(data.P8_2_KERNEL, data.E8_4_IMAGE)     # 6x6, by 8.5
    assert not Z[0].any() and not Z[:, 5].any()
    # aligned with the input (kernel origin at its bottom-left element): pixel (i, j) -> (i-1, j+1)
    np.testing.assert_array_equal(Z[1:, :5], [
        [0, 0, 0, 0, 0],
        [0, 0, 0, 1, 0],
        [0, 0, 1, 1, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(data.E8_4_IMAGE[2:4, 1:3], [[0, 1], [1, 1]])


def test_p8_1_kernel_orientation():
    K = data.P8_1_KERNEL
    for i in range(3):
        for j in range(3):
            assert K[2 - j, i] == 1 + i + 3 * j       # w_{i,j}, i to the right, j upward
    np.testing.assert_array_equal(np.fliplr(K), [[9, 8, 7], [6, 5, 4], [3, 2, 1]])  # w_{-i,j}
    np.testing.assert_array_equal(np.flipud(np.fliplr(K)), [[3, 2, 1], [6, 5, 4], [9, 8, 7]])


# --- Lecture notes -------------------------------------------------------------------------------

def test_notes_full_convolution():
    f, v = data.NOTES_FILTER, data.NOTES_VECTOR
    np.testing.assert_array_equal(v, [1, 1, 2, 1])
    expected = [2, 1, 4, 2, 2, 3, 1]                    # by hand: the four rows, weighted, summed
    np.testing.assert_array_equal(f @ data.NOTES_SHIFTED, expected)
    np.testing.assert_array_equal(convolve_full_loop(f, v)[0], expected)
    np.testing.assert_array_equal(convolve_full_loop(v, f)[0], expected)   # "vector * filter"
    assert len(expected) == len(f) + len(v) - 1
    for shift, row in enumerate(data.NOTES_SHIFTED):
        np.testing.assert_array_equal(row[shift:shift + 4], v)
        assert row.sum() == v.sum()
    # the OCR's five-tap filter (2, -1, 1, 3, 1) would give 8 outputs, not the notes' 7
    assert convolve_full_loop([2, -1, 1, 3, 1], v).shape == (1, 8)
    np.testing.assert_array_equal(data.NOTES_MATRIX, [[1, 3, 1], [0, -1, 1], [2, 2, -1]])
    assert convolve_full_loop(np.ones((2, 2)), data.NOTES_MATRIX).shape == (4, 4)   # M + k - 1


# --- Shared data is read-only; functions return fresh arrays -------------------------------------

def _all_constant_arrays():
    for name in data.__all__:
        value = getattr(data, name)
        if isinstance(value, np.ndarray):
            yield name, value
        elif hasattr(value, "values") and not isinstance(value, str):
            for key, item in value.items():
                if isinstance(item, np.ndarray):
                    yield f"{name}[{key!r}]", item


def test_constants_are_read_only_float64():
    arrays = dict(_all_constant_arrays())
    assert len(arrays) >= 16 + 4 + 6 + 26        # constants, Figure 8.5, slides, font
    for name, a in arrays.items():
        assert a.dtype == np.float64, name
        with pytest.raises(ValueError, match="read-only"):
            a[(0,) * a.ndim] = 7
    with pytest.raises(TypeError):
        data.FONT["A"] = data.FONT["B"]
    with pytest.raises(TypeError):
        data.IMAGE_KERNELS["blur"] = np.ones((3, 3))


def test_functions_return_fresh_writable_arrays():
    image = data.square()
    np.testing.assert_array_equal(image, data.FIGURE_8_4_SQUARE)
    image[0, 0] = 1
    assert data.FIGURE_8_4_SQUARE[0, 0] == 0
    d = data.diamond()
    d[:] = 0
    assert data.FIGURE_8_4_DIAMOND.sum() == 20
    stack = data.font_stack("A")
    stack[:] = 1
    assert data.FONT["A"][0, 0] == 0
    images, labels = data.shapes_dataset(2, rng=0)
    images[:] = 0
    labels[:] = 5
