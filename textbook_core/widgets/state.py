"""The convolution demo's state: an image, a kernel and the settings of one step of the window.

Pure Python and numpy, no front-end: every control of the demo calls one method here, and the
tests drive these methods directly. Every number comes from the library (`correlate`,
`convolve`, `output_size`) through `plotting.sliding_step`. Indices passed to the methods are
numpy's (from 0); everything a student reads counts from 1, as the chapter's Figures 8.2 and 8.3
do (z_{1,1} is the first output).
"""
import numpy as np

import textbook_core as tc
from textbook_core import data
from textbook_core.plotting import fmt, sliding_step

SHAPES = {
    "square (Figure 8.4)": data.FIGURE_8_4_SQUARE,
    "diamond (Figure 8.4)": data.FIGURE_8_4_DIAMOND,
    "plus and L (E8.1)": data.E8_1_IMAGE,
    "face (slides, 7x7)": data.SLIDE_IMAGE,
    "E8.4 image": data.E8_4_IMAGE,
    **{f"letter {c} (E8.3)": data.FONT[c] for c in "AHOX"},
    "blank 7x7": np.zeros((7, 7)),
    "blank 15x15": np.zeros((15, 15)),
}
"""Image presets: name -> 0/1 image (views of `textbook_core.data`, copied when used)."""

KERNELS = {
    **{f"{name} (Figure 8.5)": K for name, K in data.FIGURE_8_5_KERNELS.items()},
    "feature detector (slides)": data.SLIDE_DETECTOR,
    "plus (E8.1)": data.E8_1_KERNEL,
    "corner (E8.6)": data.E8_6_KERNEL,
    "shift (P8.2)": data.P8_2_KERNEL,
    **{f"{name.replace('_', ' ')} (slides)": K for name, K in data.IMAGE_KERNELS.items()},
}
"""Kernel presets: name -> kernel."""

OPERATIONS = {"correlation ⊗ (8.13)": "correlate", "convolution * (8.8)": "convolve"}
"""The two operations by their label in the demo."""

MAX_SIZE = 7
"""Largest kernel side and padding the demo's sliders offer."""
MAX_STRIDE = 4
"""Largest stride the demo's slider offers."""


def resize_kernel(K, shape):
    """`K` cropped or zero-padded to `shape`, keeping its centre: (r, c) -> shape.

    >>> resize_kernel(np.arange(9.).reshape(3, 3), (1, 1))
    array([[4.]])
    >>> resize_kernel(np.ones((1, 1)), (3, 2))
    array([[0., 0.],
           [1., 0.],
           [0., 0.]])
    >>> resize_kernel(np.ones((2, 2)), (0, 2))
    Traceback (most recent call last):
    ...
    ValueError: kernel size r x c = 0 x 2 must be at least 1 x 1
    """
    K = np.asarray(K, dtype=float)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"kernel size r x c = {' x '.join(map(str, shape))} must be at least 1 x 1")
    out = np.zeros(shape)
    src, dst = [], []
    for n_old, n_new in zip(K.shape, shape):
        if n_new >= n_old:
            start = (n_new - n_old) // 2
            src.append(slice(0, n_old))
            dst.append(slice(start, start + n_old))
        else:
            start = (n_old - n_new) // 2
            src.append(slice(start, start + n_new))
            dst.append(slice(0, n_new))
    out[tuple(dst)] = K[tuple(src)]
    return out


def _whole(value, name, low):
    """`value` as an int >= `low`, or a ValueError naming the book's symbol."""
    if isinstance(value, (bool, np.bool_)) or not float(value).is_integer() or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


def _finite(value, name):
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


def subscript(i, j):
    """Book-style 1-based subscript of 0-based numpy indices: (0, 2) -> '1,3'."""
    return f"{i + 1},{j + 1}"


class DemoState:
    """One step of the sliding window over an image P with a kernel W, and how it got there.

    Parameters
    ----------
    image, kernel : array_like, 2-D
        P (R_r x R_c) and W (r x c); copied, so the presets in `textbook_core.data` never change.
    padding, stride : int
        P^d >= 0 and S^t >= 1.
    operation : {"correlate", "convolve"}
        Correlation (8.13) or convolution (8.8), which slides rot180(W) (P8.1).
    step : int
        Which output the window is on, in row-major order from 0; negative counts from the last.

    Attributes
    ----------
    error : str or None
        Why there is no output (the library's message, e.g. a kernel that does not fit).
    result : dict or None
        `plotting.sliding_step` of the current settings (Z, K, Ppad, index, corner, products).

    Examples
    --------
    >>> s = DemoState(data.SLIDE_IMAGE, data.SLIDE_DETECTOR, step=16)
    >>> s.output_label(), fmt(s.result["Z"][3, 1])
    ('z_{4,2}', '4')
    >>> s.resize_kernel(8, 3)
    >>> s.error
    'kernel r=8 does not fit input R_r=7 with padding P^d=0'
    >>> s.set_stride(0)
    Traceback (most recent call last):
    ...
    ValueError: stride S^t must be a whole number >= 1, got 0
    """

    def __init__(self, image, kernel, *, padding=0, stride=1, operation="correlate", step=0):
        self.image = self._image(image)
        self.kernel = self._kernel(kernel)
        self.padding = _whole(padding, "padding P^d", 0)
        self.stride = _whole(stride, "stride S^t", 1)
        self.operation = self._operation(operation)
        self.step = int(step)
        self.seed = 0
        self._update()

    # -- checking what comes in ----------------------------------------------------------------

    @staticmethod
    def _matrix(A, name):
        """`A` as a float 2-D array of finite numbers, or a ValueError naming P or W."""
        A = np.array(A, dtype=float)
        if A.ndim != 2 or 0 in A.shape:
            raise ValueError(f"{name} must be a non-empty 2-D array, got shape {A.shape}")
        if not np.isfinite(A).all():
            raise ValueError(f"{name} must hold finite numbers only")
        return A

    def _image(self, image):
        return self._matrix(image, "image P")

    def _kernel(self, kernel):
        return self._matrix(kernel, "kernel W")

    @staticmethod
    def _operation(operation):
        if operation not in OPERATIONS.values():
            raise ValueError(f"operation must be 'correlate' or 'convolve', got {operation!r}")
        return operation

    def _at(self, A, i, j, name):
        if not (0 <= i < A.shape[0] and 0 <= j < A.shape[1]):
            raise ValueError(f"{name}_{{{i + 1},{j + 1}}} lies outside {name.upper()} of size "
                             f"{A.shape[0]} x {A.shape[1]}")
        return int(i), int(j)

    # -- the numbers ---------------------------------------------------------------------------

    def _update(self):
        """Recompute the output for the current settings and keep the step inside it."""
        try:
            S = tc.output_size(self.image.shape, self.kernel.shape, padding=self.padding,
                               stride=self.stride)
        except ValueError as err:
            self.error, self.result, self.n_steps = str(err), None, 0
            return
        self.error, self.n_steps = None, S[0] * S[1]
        self.step = min(self.step % self.n_steps if self.step < 0 else self.step, self.n_steps - 1)
        self.result = sliding_step(self.image, self.kernel, padding=self.padding, stride=self.stride,
                                   step=self.step, operation=self.operation)

    @property
    def output(self):
        """The whole output map Z for the current settings, or None when there is none."""
        return None if self.result is None else self.result["Z"]

    def output_label(self):
        """The output the window is on, counted from 1 as in the chapter: 'z_{m,n}'."""
        return "z_{" + subscript(*self.result["index"]) + "}"

    def sizes(self):
        """8.18-8.19 with the current numbers: the output's rows and columns as text."""
        (R_r, R_c), (r, c) = self.image.shape, self.kernel.shape
        S = self.result["Z"].shape
        return (f"S_r = ⌊({R_r} + 2·{self.padding} − {r}) / {self.stride}⌋ + 1 = {S[0]}, "
                f"S_c = ⌊({R_c} + 2·{self.padding} − {c}) / {self.stride}⌋ + 1 = {S[1]}")

    def terms(self):
        """The products w·p behind the current output, kernel entries that are 0 left out."""
        s = self.result
        r, c = s["K"].shape
        window = s["Ppad"][s["corner"][0]:s["corner"][0] + r, s["corner"][1]:s["corner"][1] + c]
        return [(k, x) for k, x in zip(s["K"].ravel(), window.ravel()) if k != 0]

    def equation(self):
        """'z_{m,n} = w·p + ... = value' for the current step, as text."""
        sum_text = " + ".join(f"{fmt(k) if k >= 0 else f'({fmt(k)})'}·{fmt(x)}" for k, x in self.terms())
        m, n = self.result["index"]
        return f"{self.output_label()} = {sum_text or '0'} = {fmt(self.result['Z'][m, n])}"

    def describe(self):
        """The current step in words: the sizes, then the sum giving this output (or the error)."""
        if self.error is not None:
            return f"No output: {self.error}."
        return f"{self.sizes()}\n{self.equation()}"

    def _repr_mimebundle_(self, **kwargs):
        """Shown without a front-end for widgets: the picture and the description."""
        from .picture import svg

        return {"image/svg+xml": svg(self), "text/plain": self.describe()}

    # -- the interactions: one method per control ----------------------------------------------

    def set_image(self, image):
        """A new input image (a shape preset)."""
        self.image = self._image(image)
        self._update()

    def set_shape(self, name):
        """A preset of `SHAPES` by name."""
        if name not in SHAPES:
            raise ValueError(f"unknown image {name!r}; choose one of {', '.join(SHAPES)}")
        self.set_image(SHAPES[name])

    def random_shape(self):
        """A new random square or diamond (`data.shapes_dataset`), as big as the current image."""
        self.seed += 1
        size = min(15, max(7, min(self.image.shape)))
        images, _ = data.shapes_dataset(1, size=size, rng=self.seed)
        self.set_image(images[0])

    def set_pixel(self, i, j, value):
        """Pixel p_{i+1,j+1} set to `value` (a click turns it on, 1, or off, 0)."""
        i, j = self._at(self.image, i, j, "p")
        self.image[i, j] = _finite(value, f"p_{{{i + 1},{j + 1}}}")
        self._update()

    def toggle_pixel(self, i, j):
        """Pixel p_{i+1,j+1} switched between 0 and 1."""
        i, j = self._at(self.image, i, j, "p")
        self.set_pixel(i, j, 0.0 if self.image[i, j] else 1.0)

    def set_kernel(self, kernel):
        """A new kernel W."""
        self.kernel = self._kernel(kernel)
        self._update()

    def set_kernel_preset(self, name):
        """A preset of `KERNELS` by name."""
        if name not in KERNELS:
            raise ValueError(f"unknown kernel {name!r}; choose one of {', '.join(KERNELS)}")
        self.set_kernel(KERNELS[name])

    def resize_kernel(self, r, c):
        """New kernel size r x c: W cropped or zero-padded about its centre."""
        self.set_kernel(resize_kernel(self.kernel, (_whole(r, "kernel rows r", 1),
                                                    _whole(c, "kernel columns c", 1))))

    def set_weight(self, i, j, value):
        """Kernel entry w_{i+1,j+1} typed in."""
        i, j = self._at(self.kernel, i, j, "w")
        self.kernel[i, j] = _finite(value, f"w_{{{i + 1},{j + 1}}}")
        self._update()

    def set_padding(self, padding):
        """P^d zero rows and columns around the image (8.16-8.17)."""
        self.padding = _whole(padding, "padding P^d", 0)
        self._update()

    def set_stride(self, stride):
        """S^t, the window's step (8.18-8.19)."""
        self.stride = _whole(stride, "stride S^t", 1)
        self._update()

    def set_operation(self, operation):
        """'correlate' (8.13) or 'convolve' (8.8)."""
        self.operation = self._operation(operation)
        self._update()

    def set_step(self, step):
        """The window on output `step` (row-major, from 0; negative counts from the last)."""
        self.step = int(step)
        self._update()

    def move(self, delta):
        """The window `delta` outputs on (back when negative), wrapping around the output."""
        if self.n_steps:
            self.set_step((self.step + int(delta)) % self.n_steps)
