"""The chapter's data: figures, exercises, slides and notes, each defined once.

The book's figures were lost in extraction, so the images and kernels that the exercises refer to
(Figures 8.4 and 8.5, E8.1, E8.3, E8.6) are designed here and stated in full; data that survived
in print (P8.1, P8.2, E8.4, the slides, the lecture notes) is typed exactly as printed, and where
the print is wrong the constant says so instead of quietly fixing it.

Every constant is a read-only float64 numpy array (or a read-only mapping of them), so no notebook
can change the shared data by accident; every function returns a fresh, writable array. Images are
0/1 with black = 1 (ink) and white = 0. Indices are 0-based, rows first. This module imports only
numpy, never the rest of the package.

Contents, by source:

- Figure 8.4: `square`, `diamond`, `shapes_dataset`, `all_shapes`, `FIGURE_8_4_SQUARE`,
  `FIGURE_8_4_DIAMOND`, `SHAPE_LABELS` -- outlines of squares and diamonds.
- Figure 8.5: `LINE_KERNELS`, `LINE_KERNEL_NAMES`, `FIGURE_8_5_KERNELS` -- line templates.
- E8.1: `E8_1_IMAGE`, `E8_1_KERNEL`, `E8_1_KERNEL_DETECTS` -- an 8x8 image, an L-finding kernel.
- E8.3: `FONT`, `font_stack` -- a 7x5 bitmap font for A-Z.
- E8.4 and P8.2: `E8_4_IMAGE`, `P8_2_KERNEL` -- the shift by one pixel.
- E8.5: `E8_5_NEIGHBOURS`, `average_neighbours` -- the averaging transformation.
- E8.6: `E8_6_KERNEL` -- a kernel with no symmetry (rotation, transpose, flips all differ).
- P8.1: `P8_1_KERNEL` -- the kernel with values 1..9.
- Slides "Step 1 - Convolution": `SLIDE_IMAGE`, `SLIDE_DETECTOR`, `SLIDE_FEATURE_MAP`
  (one misprint, see `SLIDE_FEATURE_MAP_ERRATA`) and `IMAGE_KERNELS`.
- Lecture notes: `NOTES_FILTER`, `NOTES_VECTOR`, `NOTES_SHIFTED`, `NOTES_MATRIX`.
- `to_text` prints a 0/1 image as rows of ``#`` (black) and ``.`` (white).

Examples
--------
>>> print(to_text(FONT["A"]))
.###.
#...#
#...#
#####
#...#
#...#
#...#
>>> LINE_KERNELS.shape, list(FIGURE_8_5_KERNELS)
((4, 3, 3), ['horizontal', 'vertical', 'diagonal', 'antidiagonal'])
>>> E8_1_KERNEL[0, 0] = 5
Traceback (most recent call last):
...
ValueError: assignment destination is read-only
"""
import operator
import string
from types import MappingProxyType

import numpy as np

__all__ = [
    "to_text", "square", "diamond", "shapes_dataset", "all_shapes", "font_stack",
    "FIGURE_8_4_SQUARE", "FIGURE_8_4_DIAMOND", "SHAPE_LABELS",
    "LINE_KERNEL_NAMES", "LINE_KERNELS", "FIGURE_8_5_KERNELS",
    "IMAGE_KERNELS", "SLIDE_IMAGE", "SLIDE_DETECTOR", "SLIDE_FEATURE_MAP",
    "SLIDE_FEATURE_MAP_ERRATA", "FONT", "E8_1_IMAGE", "E8_1_KERNEL", "E8_1_KERNEL_DETECTS",
    "E8_4_IMAGE", "P8_2_KERNEL", "E8_5_NEIGHBOURS", "average_neighbours", "E8_6_KERNEL", "P8_1_KERNEL",
    "NOTES_FILTER", "NOTES_VECTOR", "NOTES_SHIFTED", "NOTES_MATRIX",
]


def _frozen(values):
    """A read-only float64 copy of `values`."""
    a = np.array(values, dtype=np.float64)
    a.flags.writeable = False
    return a


def _bitmap(picture):
    """A read-only 0/1 image from text rows, ``#`` = 1 (black) and ``.`` = 0 (white)."""
    rows = picture.split()
    return _frozen([[ch == "#" for ch in row] for row in rows])


def to_text(image):
    """A 0/1 image as text, one line per row: ``#`` for 1 (black), ``.`` for 0 (white).

    image (rows, cols) of zeros and ones -> str with `rows` lines of `cols` characters.

    Parameters
    ----------
    image : array_like, 2-D
        Binary image; any value other than 0 and 1 is an error.

    Returns
    -------
    str

    Examples
    --------
    >>> print(to_text([[0, 1], [1, 1]]))
    .#
    ##
    >>> to_text([[0, 2]])
    Traceback (most recent call last):
    ...
    ValueError: image must hold only 0 and 1, got 2.0
    """
    a = np.asarray(image, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"image must be 2-D (rows, cols), got shape {a.shape}")
    bad = a[(a != 0) & (a != 1)]
    if bad.size:
        raise ValueError(f"image must hold only 0 and 1, got {bad[0]}")
    return "\n".join("".join("#" if v else "." for v in row) for row in a)


# ---------------------------------------------------------------------------------------------
# Figure 8.4: squares and diamonds
# ---------------------------------------------------------------------------------------------

SHAPE_LABELS = ("square", "diamond")
"""Figure 8.4 / E8.10: class names by label, 0 = square and 1 = diamond."""


def square(size=15, side=9, top=3, left=3):
    """Figure 8.4: a square outline, 1 pixel thick, of horizontal and vertical lines.

    -> image (size, size), float64, black (1) on the outline, white (0) elsewhere.

    Parameters
    ----------
    size : int
        Rows and columns of the (square) image.
    side : int
        Side length in pixels, at least 3 so that the outline surrounds a white pixel.
    top, left : int
        Row and column of the top-left corner; the square must fit, ``top + side <= size``.

    Returns
    -------
    ndarray of shape (size, size)
        ``4 * (side - 1)`` ones on rows ``top`` and ``top + side - 1`` and on columns ``left``
        and ``left + side - 1``, between the corners.

    Raises
    ------
    ValueError
        If `side` is below 3, a corner index is negative or the square does not fit.

    Notes
    -----
    The defaults give `FIGURE_8_4_SQUARE`, a 9x9 square centred in a 15x15 image. For the
    `LINE_KERNELS` to separate squares from diamonds the side must be at least 5 (see there).

    Examples
    --------
    >>> square(size=5, side=3, top=1, left=1)
    array([[0., 0., 0., 0., 0.],
           [0., 1., 1., 1., 0.],
           [0., 1., 0., 1., 0.],
           [0., 1., 1., 1., 0.],
           [0., 0., 0., 0., 0.]])
    >>> square(size=15, side=9, top=10)
    Traceback (most recent call last):
    ...
    ValueError: square side=9 at top=10 does not fit image size=15: top + side = 19 > 15
    """
    size, side = operator.index(size), operator.index(side)
    top, left = operator.index(top), operator.index(left)
    if side < 3:
        raise ValueError(f"square side={side} must be >= 3 (an outline around a white pixel)")
    for name, start in (("top", top), ("left", left)):
        if start < 0:
            raise ValueError(f"square {name}={start} must be >= 0")
        if start + side > size:
            raise ValueError(f"square side={side} at {name}={start} does not fit image "
                             f"size={size}: {name} + side = {start + side} > {size}")
    image = np.zeros((size, size))
    bottom, right = top + side - 1, left + side - 1
    image[[top, bottom], left:right + 1] = 1
    image[top:bottom + 1, [left, right]] = 1
    return image


def diamond(size=15, radius=5, center=(7, 7)):
    """Figure 8.4: a diamond outline, 1 pixel thick, of four slanted (45 degree) lines.

    -> image (size, size), float64, 1 where ``|row - center[0]| + |col - center[1]| == radius``.

    Parameters
    ----------
    size : int
        Rows and columns of the (square) image.
    radius : int
        Distance in pixels from the centre to each of the four tips, at least 1.
    center : (int, int)
        Row and column of the centre; all four tips must lie inside the image.

    Returns
    -------
    ndarray of shape (size, size)
        ``4 * radius`` ones on the four diagonal edges; the tips are at
        ``center +- (radius, 0)`` and ``center +- (0, radius)``.

    Raises
    ------
    ValueError
        If `radius` is below 1 or a tip falls outside the image.

    Notes
    -----
    The defaults give `FIGURE_8_4_DIAMOND`, radius 5 centred in a 15x15 image. For the
    `LINE_KERNELS` to separate squares from diamonds the radius must be at least 2.

    Examples
    --------
    >>> diamond(size=5, radius=2, center=(2, 2))
    array([[0., 0., 1., 0., 0.],
           [0., 1., 0., 1., 0.],
           [1., 0., 0., 0., 1.],
           [0., 1., 0., 1., 0.],
           [0., 0., 1., 0., 0.]])
    >>> diamond(size=15, radius=5, center=(3, 7))
    Traceback (most recent call last):
    ...
    ValueError: diamond radius=5 at center row=3 does not fit image size=15: rows -2..8 outside 0..14
    """
    size, radius = operator.index(size), operator.index(radius)
    if len(center) != 2:
        raise ValueError(f"diamond center={center!r} must be a (row, col) pair")
    c_row, c_col = (operator.index(c) for c in center)
    if radius < 1:
        raise ValueError(f"diamond radius={radius} must be >= 1")
    for name, c in (("row", c_row), ("col", c_col)):
        if c - radius < 0 or c + radius > size - 1:
            raise ValueError(f"diamond radius={radius} at center {name}={c} does not fit image "
                             f"size={size}: {name}s {c - radius}..{c + radius} outside "
                             f"0..{size - 1}")
    rows, cols = np.indices((size, size))
    return (np.abs(rows - c_row) + np.abs(cols - c_col) == radius).astype(np.float64)


def shapes_dataset(n, *, size=15, rng=None):
    """Figure 8.4 / E8.10: `n` random squares and diamonds of random sizes and positions.

    -> images (n, size, size) float64 and labels (n,) int64, 0 = square and 1 = diamond.

    Parameters
    ----------
    n : int
        Number of images, >= 0.
    size : int
        Rows and columns of each image, >= 7 (a side-5 square or a radius-2 diamond plus a
        white border of one pixel).
    rng : None, int or numpy.random.Generator
        Seed or generator, passed to `numpy.random.default_rng`; a given seed always gives
        the same dataset.

    Returns
    -------
    images : ndarray of shape (n, size, size)
    labels : ndarray of shape (n,)

    Notes
    -----
    Each label is a fair coin. Squares have side ``5 .. size - 2``, diamonds radius
    ``2 .. (size - 3) // 2``, and every shape keeps at least one white pixel between it and the
    image border, so each shape is a `square` or `diamond` in the range where the
    `LINE_KERNELS` separate the classes, also after 3x3 max pooling of a 15x15 image.

    Examples
    --------
    A 7x7 image has room for one square and one diamond only, shown side by side:

    >>> images, labels = shapes_dataset(2, size=7, rng=1)
    >>> images.shape, labels
    ((2, 7, 7), array([0, 1]))
    >>> print(to_text(np.hstack(images)[1:6]))
    .#####....#...
    .#...#...#.#..
    .#...#..#...#.
    .#...#...#.#..
    .#####....#...
    >>> shapes_dataset(2, size=6)
    Traceback (most recent call last):
    ...
    ValueError: size=6 must be >= 7 to hold a side-5 square with a white border
    """
    n, size = operator.index(n), operator.index(size)
    if n < 0:
        raise ValueError(f"n={n} must be >= 0")
    if size < 7:
        raise ValueError(f"size={size} must be >= 7 to hold a side-5 square with a white border")
    rng = np.random.default_rng(rng)
    labels = rng.integers(0, 2, size=n)
    images = np.empty((n, size, size))
    for k, label in enumerate(labels):
        if label == 0:
            side = int(rng.integers(*_square_sides(size)))
            top, left = rng.integers(*_square_corners(size, side), size=2)
            images[k] = square(size, side, int(top), int(left))
        else:
            radius = int(rng.integers(*_diamond_radii(size)))
            center = rng.integers(*_diamond_centers(size, radius), size=2)
            images[k] = diamond(size, radius, (int(center[0]), int(center[1])))
    return images, labels.astype(np.int64)


# The shapes `shapes_dataset` draws and `all_shapes` lists, as (low, high) bounds with high excluded.
def _square_sides(size):
    return 5, size - 1                      # side 5 .. size - 2


def _square_corners(size, side):
    return 1, size - side                   # top and left 1 .. size - 1 - side: a white border


def _diamond_radii(size):
    return 2, (size - 3) // 2 + 1            # radius 2 .. (size - 3) // 2


def _diamond_centers(size, radius):
    return 1 + radius, size - 1 - radius     # tips 1 .. size - 2: a white border


def all_shapes(size=15):
    """Figure 8.4 / E8.10: every square and every diamond that `shapes_dataset` can draw, once.

    -> images (N, size, size) float64, labels (N,) int64 (0 = square, 1 = diamond) and, for
    each image, the call of `square` or `diamond` that rebuilds it (a str). N = 450 for 15x15.

    Parameters
    ----------
    size : int
        Rows and columns of each image, >= 7.

    Returns
    -------
    images : ndarray of shape (N, size, size)
    labels : ndarray of shape (N,)
    calls : tuple of str
        ``"square(size=15, side=5, top=1, left=1)"`` and so on, squares first (by side, top,
        left), then diamonds (by radius, centre row, centre column).

    Notes
    -----
    The space is small enough to test all of it: sides ``s = 5 .. size - 2`` with
    ``(size - 1 - s)**2`` places each, radii ``r = 2 .. (size - 3) // 2`` with
    ``(size - 2 - 2 r)**2`` places each. For 15x15 that is 285 squares and 165 diamonds, among
    them `FIGURE_8_4_SQUARE` and `FIGURE_8_4_DIAMOND`. E8.10 is graded on all the others.

    Examples
    --------
    >>> images, labels, calls = all_shapes()
    >>> images.shape, int(labels.sum()), calls[0], calls[-1]
    ((450, 15, 15), 165, 'square(size=15, side=5, top=1, left=1)', 'diamond(size=15, radius=6, center=(7, 7))')
    >>> all_shapes(7)[2]                                # 7x7 has room for one of each
    ('square(size=7, side=5, top=1, left=1)', 'diamond(size=7, radius=2, center=(3, 3))')
    >>> all_shapes(6)
    Traceback (most recent call last):
    ...
    ValueError: size=6 must be >= 7 to hold a side-5 square with a white border
    """
    size = operator.index(size)
    if size < 7:
        raise ValueError(f"size={size} must be >= 7 to hold a side-5 square with a white border")
    images, labels, calls = [], [], []
    for side in range(*_square_sides(size)):
        for top in range(*_square_corners(size, side)):
            for left in range(*_square_corners(size, side)):
                images.append(square(size, side, top, left))
                calls.append(f"square(size={size}, side={side}, top={top}, left={left})")
                labels.append(0)
    for radius in range(*_diamond_radii(size)):
        for row in range(*_diamond_centers(size, radius)):
            for col in range(*_diamond_centers(size, radius)):
                images.append(diamond(size, radius, (row, col)))
                calls.append(f"diamond(size={size}, radius={radius}, center=({row}, {col}))")
                labels.append(1)
    return np.array(images), np.array(labels, dtype=np.int64), tuple(calls)


FIGURE_8_4_SQUARE = _frozen(square())
"""Figure 8.4, left: 15x15 image, square outline of side 9, corners at rows/cols 3 and 11."""

FIGURE_8_4_DIAMOND = _frozen(diamond())
"""Figure 8.4, right: 15x15 image, diamond outline of radius 5 around (7, 7), tips at 2 and 12."""

# ---------------------------------------------------------------------------------------------
# Figure 8.5: line kernels
# ---------------------------------------------------------------------------------------------

LINE_KERNEL_NAMES = ("horizontal", "vertical", "diagonal", "antidiagonal")
"""Figure 8.5: the order of `LINE_KERNELS`; diagonal runs top-left to bottom-right (\\),
antidiagonal bottom-left to top-right (/)."""

LINE_KERNELS = _frozen([
    [[-1, -1, -1],
     [2, 2, 2],
     [-1, -1, -1]],
    [[-1, 2, -1],
     [-1, 2, -1],
     [-1, 2, -1]],
    [[2, -1, -1],
     [-1, 2, -1],
     [-1, -1, 2]],
    [[-1, -1, 2],
     [-1, 2, -1],
     [2, -1, -1]],
])
"""Figure 8.5: four 3x3 line templates, shape (4, 3, 3), in `LINE_KERNEL_NAMES` order.

Designed (the figure is lost) as the classic zero-sum line detectors: 2 on the line and -1 off
it, so a blank or uniformly black window responds 0. For the kernels of a convolution layer
with one input FM use ``LINE_KERNELS[:, None]`` (shape (H^1, H^0, r, c) = (4, 1, 3, 3)).

Under valid correlation (8.13) with any `square` of side >= 5 or `diamond` of radius >= 2 that
keeps a white pixel between itself and the border (every image of `shapes_dataset`):

- squares: the maximum of horizontal and of vertical is 6 (a straight edge through the middle
  row or column), of each diagonal 2 (one corner pixel on the diagonal, nothing else);
- diamonds: the maximum of diagonal and of antidiagonal is 6, of horizontal and of vertical 3
  (at a tip, where the two edges form a V: 2 + 2 on the middle line, -1 for the tip).

So the maximum response separates the classes with a margin of at least 3, and the maxima are
the same after 3x3 max pooling with stride 3 of a 15x15 image (13x13 -> 4x4, the last row and
column ignored): the conv -> max pool -> fully connected softmax network of E8.10.
"""

FIGURE_8_5_KERNELS = MappingProxyType(dict(zip(LINE_KERNEL_NAMES, LINE_KERNELS)))
"""Figure 8.5: read-only mapping name -> 3x3 kernel, views of `LINE_KERNELS`."""

# ---------------------------------------------------------------------------------------------
# Slides "Step 1 - Convolution"
# ---------------------------------------------------------------------------------------------

IMAGE_KERNELS = MappingProxyType({
    "sharpen": _frozen([[0, 0, 0, 0, 0],
                        [0, 0, -1, 0, 0],
                        [0, -1, 5, -1, 0],
                        [0, 0, -1, 0, 0],
                        [0, 0, 0, 0, 0]]),
    "blur": _frozen([[0, 0, 0, 0, 0],
                     [0, 1, 1, 1, 0],
                     [0, 1, 1, 1, 0],
                     [0, 1, 1, 1, 0],
                     [0, 0, 0, 0, 0]]),
    "edge_enhance": _frozen([[0, 0, 0],
                             [-1, 1, 0],
                             [0, 0, 0]]),
    "edge_detect": _frozen([[0, 1, 0],
                            [1, -4, 1],
                            [0, 1, 0]]),
    "emboss": _frozen([[-2, -1, 0],
                       [-1, 1, 1],
                       [0, 1, 2]]),
    "sobel": _frozen([[1, 0, -1],
                      [2, 0, -2],
                      [1, 0, -1]]),
})
"""Slides: the image kernels (from the GIMP convolution-matrix manual), values as printed.

Sharpen and blur are 5x5 as printed (3x3 kernels framed by zeros). The blur is *not*
normalised: its entries sum to 9, and GIMP divides by 9 to average. The other sums are
sharpen 1, edge enhance 0, edge detect 0, emboss 1, Sobel 0. The Sobel kernel is the one that
responds to vertical edges (left minus right). One OCR of the emboss slide is garbled; the
values here are the clean copy, which matches GIMP's emboss.
"""

SLIDE_IMAGE = _frozen([[0, 0, 0, 0, 0, 0, 0],
                       [0, 1, 0, 0, 0, 1, 0],
                       [0, 0, 0, 0, 0, 0, 0],
                       [0, 0, 0, 1, 0, 0, 0],
                       [0, 1, 0, 0, 0, 1, 0],
                       [0, 0, 1, 1, 1, 0, 0],
                       [0, 0, 0, 0, 0, 0, 0]])
"""Slides: the 7x7 "Input Image" (a face: two eyes, a nose and a smile)."""

SLIDE_DETECTOR = _frozen([[0, 0, 1],
                          [1, 0, 0],
                          [0, 1, 1]])
"""Slides: the 3x3 "Feature Detector"."""

SLIDE_FEATURE_MAP = _frozen([[0, 1, 0, 0, 0],
                             [0, 1, 1, 1, 0],
                             [1, 0, 1, 2, 1],
                             [1, 4, 2, 1, 0],
                             [0, 0, 1, 2, 1]])
"""Slides: the 5x5 "Feature Map" as printed, including one misprint (see errata below).

The slides fill it in by cross-correlation (8.9, valid, stride 1) of `SLIDE_DETECTOR` with
`SLIDE_IMAGE`, though they call it convolution. Entry (2, 2) is printed 1, but its window
(rows 2..4, cols 2..4) holds a single black pixel, at the centre, where the detector is 0, so the
correct value is 0. Every other entry is right.
"""

SLIDE_FEATURE_MAP_ERRATA = MappingProxyType({(2, 2): 0.0})
"""Slides: correct values where `SLIDE_FEATURE_MAP` is misprinted, index -> value."""

# ---------------------------------------------------------------------------------------------
# E8.3: a 7x5 bitmap font
# ---------------------------------------------------------------------------------------------

_FONT_TEXT = """
.###. ####. .###. ###.. ##### ##### .###. #...# .###. ..### #...# #.... #...#
#...# #...# #...# #..#. #.... #.... #...# #...# ..#.. ...#. #..#. #.... ##.##
#...# #...# #.... #...# #.... #.... #.... #...# ..#.. ...#. #.#.. #.... #.#.#
##### ####. #.... #...# ####. ####. #.### ##### ..#.. ...#. ##... #.... #.#.#
#...# #...# #.... #...# #.... #.... #...# #...# ..#.. ...#. #.#.. #.... #...#
#...# #...# #...# #..#. #.... #.... #...# #...# ..#.. #..#. #..#. #.... #...#
#...# ####. .###. ###.. ##### #.... .#### #...# .###. .##.. #...# ##### #...#

#...# .###. ####. .###. ####. .#### ##### #...# #...# #...# #...# #...# #####
#...# #...# #...# #...# #...# #.... ..#.. #...# #...# #...# #...# #...# ....#
##..# #...# #...# #...# #...# #.... ..#.. #...# #...# #...# .#.#. .#.#. ...#.
#.#.# #...# ####. #...# ####. .###. ..#.. #...# #...# #.#.# ..#.. ..#.. ..#..
#..## #...# #.... #.#.# #.#.. ....# ..#.. #...# #...# #.#.# .#.#. ..#.. .#...
#...# #...# #.... #..#. #..#. ....# ..#.. #...# .#.#. #.#.# #...# ..#.. #....
#...# .###. #.... .##.# #...# ####. ..#.. .###. ..#.. .#.#. #...# ..#.. #####
"""


def _parse_font(text):
    """Letters A..Z from two blocks of 13 side-by-side 7x5 glyphs."""
    blocks = [block.split("\n") for block in text.strip().split("\n\n")]
    glyphs = []
    for block in blocks:
        columns = [line.split() for line in block]
        glyphs += ["\n".join(row[k] for row in columns) for k in range(len(columns[0]))]
    return MappingProxyType(dict(zip(string.ascii_uppercase, map(_bitmap, glyphs))))


FONT = _parse_font(_FONT_TEXT)
"""E8.3: read-only mapping letter 'A'..'Z' -> 7x5 glyph, 0/1 float64, in the classic 5x7
dot-matrix style (as on HD44780 character displays): capitals one to five pixels wide with
strokes one pixel thick, every glyph filling all 7 rows. Print one with ``to_text(FONT['A'])``.
"""


def font_stack(letters=string.ascii_uppercase):
    """E8.3: the glyphs of `letters`, stacked in order.

    letters (a string of k capitals) -> array (k, 7, 5), float64, a fresh copy.

    Parameters
    ----------
    letters : str
        Capitals 'A'..'Z', repeats allowed; the default is the whole alphabet in order, so
        ``font_stack()[i]`` is the glyph of ``chr(ord('A') + i)``.

    Returns
    -------
    ndarray of shape (len(letters), 7, 5)

    Raises
    ------
    ValueError
        If a letter has no glyph.

    Examples
    --------
    >>> font_stack().shape
    (26, 7, 5)
    >>> print(to_text(font_stack("HI")[1]))
    .###.
    ..#..
    ..#..
    ..#..
    ..#..
    ..#..
    .###.
    >>> font_stack("Ab")
    Traceback (most recent call last):
    ...
    ValueError: letter 'b' has no glyph in FONT (capitals A-Z only)
    """
    for letter in letters:
        if letter not in FONT:
            raise ValueError(f"letter {letter!r} has no glyph in FONT (capitals A-Z only)")
    return np.array([FONT[letter] for letter in letters]).reshape(len(letters), 7, 5)


# ---------------------------------------------------------------------------------------------
# Exercises and solved problems
# ---------------------------------------------------------------------------------------------

E8_1_IMAGE = _bitmap("""
........
.....##.
......#.
..##..#.
..##....
#.......
#.......
##.....#
""")
"""E8.1: 8x8 binary image (black = 1), designed so that the typical mistakes show.

It holds an L in the bottom-left corner (a vertical stroke on col 0, rows 5..7, with a foot at
(7, 1)), a "7" at the top right (a stroke on row 1, cols 5..6, going down col 6 to row 3), a 2x2
blob at rows 3..4, cols 2..3 and a single pixel in the bottom-right corner (7, 7). Ink touches
the left, bottom and right borders, so padding on one side only, loops that stop one row or
column short and windows that miss the border all change the result. The L and the 7 are each
other's 180-degree rotation (the 7 is the L turned upside down and mirrored), so whatever finds
one under convolution finds the other under correlation. Also the input of E8.2 (via E8.1's
output), E8.5 and E8.6."""

E8_1_KERNEL = _frozen([[0, 1, 1],
                       [0, 0, 1],
                       [0, 0, 1]])
"""E8.1: 3x3 binary kernel, designed: drawn as a "7" (top row cols 1..2, right column).

No symmetry: the kernel, its transpose, its rot180 and its two one-axis flips are five different
arrays, and so are the five results on `E8_1_IMAGE`. Convolution (8.8) slides ``rot180`` of it,
an L, so ``convolve(E8_1_KERNEL, E8_1_IMAGE, padding=1)`` is largest (4, the kernel's sum) only
at (6, 1), on the L; the blob reaches 3. Correlation (8.9) would find the 7 instead."""

E8_1_KERNEL_DETECTS = ("L-shaped corners: a vertical stroke with a short foot to the right at its "
                       "bottom, the kernel rotated by 180 degrees (with no negative weights, also "
                       "blobs that cover most of one)")
"""E8.1 (ii): the intended answer to "what types of objects is this kernel good at detecting?"
under convolution, which rotates the kernel before it slides."""

E8_4_IMAGE = _frozen([[0, 0, 0, 0, 0],
                      [0, 0, 0, 0, 0],
                      [0, 0, 1, 0, 0],
                      [0, 1, 1, 0, 0],
                      [0, 0, 0, 0, 0]])
"""E8.4: the 5x5 image printed in the exercise, to be shifted with `P8_2_KERNEL`.

Kept as printed for the demonstration. It is sparse: its ink stays away from the borders, so the
full convolution's first row and last column are zero, and a loop that stops one row short or a
kernel transposed instead of rotated (for `P8_2_KERNEL`, ``W.T == rot180(W)``) still gives the
right numbers here. E8.4's convolution function is therefore also graded on probes whose ink
reaches every border, with non-square images and kernels (`autograder.checks.by_hand_cases`)."""

P8_2_KERNEL = _frozen([[0, 1],
                       [0, 0]])
"""P8.2: convolution kernel that shifts an image one pixel right and one pixel up.

Orientation: the kernel is the impulse response drawn with the origin (the impulse's position)
at its bottom-left element, index (1, 0). Full convolution (8.5) of an R x R image gives
``(R + 1) x (R + 1)``; the rows and columns aligned with the input are ``Z[1:, :R]``, and there
pixel (i, j) of the input appears at (i - 1, j + 1). (P8.2's text says the impulse is shifted
"one pixel to the left and one pixel up"; "left" is a misprint for "right", as the kernel shows.)
"""

E8_5_NEIGHBOURS = ((0, 0), (0, 1), (1, 0))
"""E8.5: the averaging transformation's pixels, as (row, col) offsets from the output pixel: the
pixel itself, its right neighbour and its lower neighbour (see `average_neighbours`)."""


def average_neighbours(image, offsets=E8_5_NEIGHBOURS):
    """E8.5: each output pixel is the mean of the input pixels at `offsets` from it (zeros outside).

    image (rows, cols) -> (rows, cols), float64.

    The transformation is linear and position invariant, so (P8.2) it is a convolution; its
    kernel is its impulse response, which is the template of `offsets` rotated by 180 degrees.
    With the default offsets the template is not symmetric under rotation, so the convolution
    kernel and the correlation kernel (E8.5 iii) differ.

    Parameters
    ----------
    image : array_like, 2-D
    offsets : sequence of (int, int)
        Offsets (d_row, d_col), each in -1..1, of the pixels averaged.

    Examples
    --------
    >>> average_neighbours([[3, 0], [0, 0]])
    array([[1., 0.],
           [0., 0.]])
    >>> average_neighbours([[0, 3], [3, 0]])
    array([[2., 1.],
           [1., 0.]])
    >>> average_neighbours([[1, 2]], offsets=((0, 2),))
    Traceback (most recent call last):
    ...
    ValueError: offset (0, 2) must have both parts in -1..1
    """
    a = np.asarray(image, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"image must be 2-D (rows, cols), got shape {a.shape}")
    padded = np.pad(a, 1)
    total = np.zeros_like(a)
    for d_row, d_col in offsets:
        if not (-1 <= d_row <= 1 and -1 <= d_col <= 1):
            raise ValueError(f"offset {(d_row, d_col)} must have both parts in -1..1")
        total += padded[1 + d_row:1 + d_row + a.shape[0], 1 + d_col:1 + d_col + a.shape[1]]
    return total / len(offsets)


E8_6_KERNEL = _frozen([[1, -1, -1],
                       [1, -1, -1],
                       [1, 1, -1]])
"""E8.6: 3x3 kernel K of +1 and -1 entries, designed with no symmetry.

It is a template for the L of `E8_1_IMAGE` (+1 on the L's four pixels, a vertical stroke of three
with a foot of one, -1 around it). K, its transpose, its rot180 and its two one-axis flips are five different arrays, and their
correlations with `E8_1_IMAGE` are five different 6x6 arrays, so rotating, transposing and
flipping one axis only can all be told apart. Correlated (8.9, valid, stride 1) with
`E8_1_IMAGE` it scores 4 only on the window whose top-left pixel is (5, 0), exactly on the L;
convolution (8.8) slides ``rot180(K) = [[-1, 1, 1], [-1, -1, 1], [-1, -1, 1]]``, a template for
the 7, and scores 4 only at (1, 4), on the 7. The convolution output is neither the correlation
output rotated nor its negative. The correlation kernel that reproduces the convolution (E8.6
iii) is ``rot180(K)``."""

P8_1_KERNEL = _frozen([[7, 8, 9],
                       [4, 5, 6],
                       [1, 2, 3]])
"""P8.1: the 3x3 kernel with values 1..9, laid out as printed in the solved problem.

Orientation: P8.1 draws w_{i,j} with i on the horizontal axis (left to right) and j on the
vertical axis (bottom to top), with w_{0,0} = 1, w_{1,0} = 2, ..., w_{2,2} = 9, that is
w_{i,j} = 1 + i + 3 j. The array holds the picture as seen, top row first, so
``w_{i,j} = P8_1_KERNEL[2 - j, i]``. Flipping left-right gives P8.1's second figure
[[9, 8, 7], [6, 5, 4], [3, 2, 1]], and then top-bottom its third, ``rot180`` =
[[3, 2, 1], [6, 5, 4], [9, 8, 7]]."""

# ---------------------------------------------------------------------------------------------
# Lecture notes
# ---------------------------------------------------------------------------------------------

NOTES_FILTER = _frozen([2, -1, 1, 1])
"""Notes: the 1-D filter of the worked full convolution, read from its expansion.

The OCR of the notes shows "filter (2, -1, 1, 3, 1)", but the expansion below it has four terms
with coefficients 2, -1, 1, 1 and rows of length 7 = 4 + 4 - 1 (M + k - 1), so the filter has
four taps (2, -1, 1, 1); a five-tap filter would need five rows of length 8."""

NOTES_VECTOR = _frozen([1, 1, 2, 1])
"""Notes: the 1-D vector (1, 1, 2, 1) of the worked full convolution."""

NOTES_SHIFTED = _frozen([[1, 1, 2, 1, 0, 0, 0],
                         [0, 1, 1, 2, 1, 0, 0],
                         [0, 0, 1, 1, 2, 1, 0],
                         [0, 0, 0, 1, 1, 2, 1]])
"""Notes: the expansion's rows, `NOTES_VECTOR` shifted by 0..3 and zero-filled to length 7.

The full convolution is ``NOTES_FILTER @ NOTES_SHIFTED`` = (2, 1, 4, 2, 2, 3, 1)."""

NOTES_MATRIX = _frozen([[1, 3, 1],
                        [0, -1, 1],
                        [2, 2, -1]])
"""Notes: the 3x3 matrix of the 2-D full-convolution example ((M + k - 1) x (M + k - 1))."""
