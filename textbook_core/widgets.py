"""An interactive convolution demo for the notebook, in the spirit of the book's desktop demo.

Section "Template Matching" points to a desktop program to experiment with kernels; this is the
same experiment in the notebook. One `ConvolutionDemo` lets a student

- click pixels of the input image on and off, or pick a shape preset (Figure 8.4's square and
  diamond, E8.1's image, the slides' face, letters of E8.3's font, a random shape);
- pick a kernel preset (Figure 8.5's lines, the slides' detector and image kernels, E8.1, E8.6,
  P8.2) or type the kernel's values, and set its size r x c;
- set the stride S^t and the padding P^d, and choose correlation (8.13) or convolution (8.8);
- step through the sliding window (buttons, a slider, or play), with every value shown.

All numbers come from `textbook_core` (`correlate`, `convolve`, `output_size`) through
`plotting.sliding_step`, and the picture is `plotting.sliding_window_figure`. Each control's
callback is a plain method that updates `demo.state`, so tests drive the controls without a
browser. Where widgets are not live (a static render of the notebook, a viewer without a kernel),
the demo's display data carries a PNG of its current state, which such a frontend shows instead.
"""
import base64
import io

import numpy as np

import textbook_core as tc
from textbook_core import data, plotting

try:
    import ipywidgets as w
except ImportError:        # pragma: no cover - ipywidgets is in the `course` extra
    w = None

SHAPES = {
    "square (Figure 8.4)": data.FIGURE_8_4_SQUARE,
    "diamond (Figure 8.4)": data.FIGURE_8_4_DIAMOND,
    "L and 7 (E8.1)": data.E8_1_IMAGE,
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
    "seven (E8.1)": data.E8_1_KERNEL,
    "corner (E8.6)": data.E8_6_KERNEL,
    "shift (P8.2)": data.P8_2_KERNEL,
    **{f"{name.replace('_', ' ')} (slides)": K for name, K in data.IMAGE_KERNELS.items()},
}
"""Kernel presets: name -> kernel."""

OPERATIONS = {"correlation ⊗ (8.13)": "correlate", "convolution * (8.8)": "convolve"}
MAX_SIZE = 7          # largest kernel side and padding offered by the sliders


def resize_kernel(K, shape):
    """`K` cropped or zero-padded to `shape`, keeping its centre: (r, c) -> shape.

    >>> resize_kernel(np.arange(9.).reshape(3, 3), (1, 1))
    array([[4.]])
    >>> resize_kernel(np.ones((1, 1)), (3, 2))
    array([[0., 0.],
           [1., 0.],
           [0., 0.]])
    """
    K = np.asarray(K, dtype=float)
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


def png(fig, dpi=80):
    """A matplotlib Figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class ConvolutionDemo:
    """The interactive convolution demo: controls, a picture and the numbers behind it.

    Parameters
    ----------
    shape, kernel : str
        Initial presets, keys of `SHAPES` and `KERNELS`.
    padding, stride : int
        Initial P^d and S^t.
    operation : {"correlate", "convolve"}
    step : int
        Initial step of the sliding window (row-major); negative counts from the last, so -1
        shows the whole output map.
    draw : bool
        Render the picture after every change (tests may turn it off to go faster; `figure()`
        still draws on demand).

    Attributes
    ----------
    image, kernel : ndarray
        The current input P and kernel W (edited in place by the pixel and kernel controls).
    state : dict
        `plotting.sliding_step` of the current settings, or ``{"error": message}`` when the
        kernel does not fit (the library's ValueError, shown to the student as it is).
    controls : dict
        The named widgets: shape, random, kernel, r, c, stride, padding, operation, values,
        step, play, previous, next.
    pixels : list of lists of ToggleButton
        One button per image pixel; ``pixels[i][j].value`` is pixel (i, j) being 1.
    weights : list of lists of FloatText
        One box per kernel entry.
    """

    def __init__(self, shape="square (Figure 8.4)", kernel="horizontal (Figure 8.5)", *,
                 padding=0, stride=1, operation="correlate", step=0, draw=True):
        if w is None:      # pragma: no cover
            raise ImportError("the interactive demo needs ipywidgets (pip install textbook-core[course])")
        self.draw = draw
        self._busy = False
        self._seed = 0
        self.image = np.array(SHAPES[shape], dtype=float)
        self.kernel = np.array(KERNELS[kernel], dtype=float)
        narrow = w.Layout(width="330px")
        c = self.controls = {
            "shape": w.Dropdown(options=list(SHAPES), value=shape, description="image", layout=narrow),
            "random": w.Button(description="random shape", tooltip="a new square or diamond"),
            "kernel": w.Dropdown(options=list(KERNELS), value=kernel, description="kernel", layout=narrow),
            "r": w.IntSlider(value=self.kernel.shape[0], min=1, max=MAX_SIZE, description="rows r"),
            "c": w.IntSlider(value=self.kernel.shape[1], min=1, max=MAX_SIZE, description="cols c"),
            "stride": w.IntSlider(value=stride, min=1, max=4, description="stride Sᵗ"),
            "padding": w.IntSlider(value=padding, min=0, max=MAX_SIZE, description="padding Pᵈ"),
            "operation": w.ToggleButtons(options=list(OPERATIONS),
                                         value=next(k for k, v in OPERATIONS.items() if v == operation)),
            "values": w.Checkbox(value=True, description="show values"),
            "step": w.IntSlider(value=0, min=0, max=0, description="step"),
            "play": w.Play(value=0, min=0, max=0, interval=700),
            "previous": w.Button(description="◀", layout=w.Layout(width="40px")),
            "next": w.Button(description="▶", layout=w.Layout(width="40px")),
        }
        w.jslink((c["play"], "value"), (c["step"], "value"))
        self.pixel_box = w.GridBox()
        self.weight_box = w.GridBox()
        self.message = w.HTML()
        self.picture = w.Image(format="png")
        c["shape"].observe(self.on_shape, names="value")
        c["random"].on_click(self.on_random)
        c["kernel"].observe(self.on_kernel, names="value")
        for key in ("r", "c"):
            c[key].observe(self.on_kernel_size, names="value")
        for key in ("stride", "padding", "operation", "values", "step"):
            c[key].observe(self.on_setting, names="value")
        c["previous"].on_click(lambda _: self.move(-1))
        c["next"].on_click(lambda _: self.move(+1))
        self._build_pixels()
        self._build_weights()
        self.update()
        if step and "error" not in self.state:
            c["step"].value = step % (c["step"].max + 1)

    # -- the numbers ---------------------------------------------------------------------------

    @property
    def padding(self):
        return self.controls["padding"].value

    @property
    def stride(self):
        return self.controls["stride"].value

    @property
    def operation(self):
        return OPERATIONS[self.controls["operation"].value]

    @property
    def step(self):
        return self.controls["step"].value

    def output(self):
        """The full output map for the current settings (None when the kernel does not fit)."""
        return self.state.get("Z")

    def update(self):
        """Recompute `state` from the settings, bound the step, then redraw."""
        try:
            S = tc.output_size(self.image.shape, self.kernel.shape, padding=self.padding,
                               stride=self.stride)
        except ValueError as err:
            self.state = {"error": str(err)}
        else:
            last = S[0] * S[1] - 1
            self._busy, busy = True, self._busy
            for key in ("step", "play"):
                self.controls[key].max = last
            self._busy = busy
            self.state = plotting.sliding_step(self.image, self.kernel, padding=self.padding,
                                               stride=self.stride, step=min(self.step, last),
                                               operation=self.operation)
        self.message.value = self.describe(html=True)
        if self.draw:
            self.render()

    def describe(self, html=False):
        """The current step in words: the sizes (8.18-8.19) and the sum giving this output."""
        R, K = self.image.shape, self.kernel.shape
        if "error" in self.state:
            text = f"No output: {self.state['error']}."
            return f"<b style='color:#b00'>{text}</b>" if html else text
        s, (m, n) = self.state, self.state["index"]
        S = s["Z"].shape
        window = s["Ppad"][s["corner"][0]:s["corner"][0] + K[0], s["corner"][1]:s["corner"][1] + K[1]]
        terms = " + ".join(f"{plotting.fmt(k)}·{plotting.fmt(x)}"
                           for k, x in zip(s["K"].ravel(), window.ravel()) if k != 0)
        sizes = (f"S_r = ⌊({R[0]} + 2·{self.padding} − {K[0]}) / {self.stride}⌋ + 1 = {S[0]}, "
                 f"S_c = ⌊({R[1]} + 2·{self.padding} − {K[1]}) / {self.stride}⌋ + 1 = {S[1]}")
        value = f"z[{m},{n}] = {terms or '0'} = {plotting.fmt(s['Z'][m, n])}"
        if html:
            return f"{sizes}<br><tt>{value}</tt>"
        return f"{sizes}\n{value}"

    def figure(self):
        """The current state as a matplotlib Figure (also the static fallback)."""
        if "error" in self.state:
            fig = plotting.new_figure(6, 1)
            fig.text(0.02, 0.5, self.describe(), va="center", color="#b00")
            return fig
        return plotting.sliding_window_figure(self.image, self.kernel, padding=self.padding,
                                              stride=self.stride, step=self.state["index"][0]
                                              * self.state["Z"].shape[1] + self.state["index"][1],
                                              operation=self.operation,
                                              values=self.controls["values"].value)

    def render(self):
        self.picture.value = png(self.figure())

    # -- callbacks -----------------------------------------------------------------------------

    def on_shape(self, change):
        """A shape preset replaces the image (and its pixel grid)."""
        self.image = np.array(SHAPES[change["new"]], dtype=float)
        self._build_pixels()
        self.update()

    def on_random(self, _button=None):
        """A new random square or diamond of `data.shapes_dataset`, as big as the current image."""
        size = max(7, min(self.image.shape))
        self._seed += 1
        images, _ = data.shapes_dataset(1, size=size, rng=self._seed)
        self.image = images[0]
        self._build_pixels()
        self.update()

    def on_pixel(self, i, j, value):
        """Pixel (i, j) switched on (1) or off (0)."""
        self.image[i, j] = float(value)
        self._style_pixel(self.pixels[i][j])
        self.update()

    def on_kernel(self, change):
        """A kernel preset replaces the kernel and sets the size sliders to its shape."""
        self.kernel = np.array(KERNELS[change["new"]], dtype=float)
        self._busy = True
        self.controls["r"].value, self.controls["c"].value = self.kernel.shape
        self._busy = False
        self._build_weights()
        self.update()

    def on_kernel_size(self, change):
        """New r or c: the kernel is cropped or zero-padded about its centre."""
        if self._busy:
            return
        self.kernel = resize_kernel(self.kernel, (self.controls["r"].value, self.controls["c"].value))
        self._build_weights()
        self.update()

    def on_weight(self, i, j, value):
        """Kernel entry (i, j) typed in."""
        self.kernel[i, j] = float(value)
        self.update()

    def on_setting(self, change):
        """Stride, padding, operation, values or step changed."""
        if not self._busy:
            self.update()

    def move(self, delta):
        """Step the window forward or back, wrapping around the output."""
        slider = self.controls["step"]
        slider.value = (slider.value + delta) % (slider.max + 1)

    # -- widgets -------------------------------------------------------------------------------

    def _build_pixels(self):
        rows, cols = self.image.shape
        self.pixels = []
        for i in range(rows):
            row = []
            for j in range(cols):
                button = w.ToggleButton(value=bool(self.image[i, j]), layout=w.Layout(
                    width="22px", height="22px", padding="0px", margin="0px"), tooltip=f"pixel ({i}, {j})")
                self._style_pixel(button)
                button.observe(lambda change, i=i, j=j: self.on_pixel(i, j, change["new"]), names="value")
                row.append(button)
            self.pixels.append(row)
        self.pixel_box.children = [b for row in self.pixels for b in row]
        self.pixel_box.layout = w.Layout(grid_template_columns=f"repeat({cols}, 22px)", grid_gap="1px")

    @staticmethod
    def _style_pixel(button):
        button.button_style = "primary" if button.value else ""
        button.description = "1" if button.value else ""

    def _build_weights(self):
        rows, cols = self.kernel.shape
        self.weights = []
        for i in range(rows):
            row = []
            for j in range(cols):
                box = w.FloatText(value=float(self.kernel[i, j]), layout=w.Layout(width="56px"))
                box.observe(lambda change, i=i, j=j: self.on_weight(i, j, change["new"]), names="value")
                row.append(box)
            self.weights.append(row)
        self.weight_box.children = [b for row in self.weights for b in row]
        self.weight_box.layout = w.Layout(grid_template_columns=f"repeat({cols}, 58px)", grid_gap="2px")

    @property
    def widget(self):
        """The whole demo as one widget box."""
        if not hasattr(self, "_widget"):
            c = self.controls
            self._widget = w.VBox([
                w.HBox([c["shape"], c["random"], c["kernel"]]),
                w.HBox([c["r"], c["c"], c["stride"], c["padding"]]),
                w.HBox([c["operation"], c["values"]]),
                w.HBox([w.VBox([w.Label("image P: click a pixel"), self.pixel_box]),
                        w.VBox([w.Label("kernel W: type a value"), self.weight_box])],
                       layout=w.Layout(grid_gap="30px")),
                w.HBox([c["previous"], c["step"], c["next"], c["play"]]),
                self.message,
                self.picture,
            ])
        return self._widget

    def _repr_mimebundle_(self, **kwargs):
        """The widget where widgets are live; a PNG of the current state where they are not."""
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        if not self.picture.value:
            self.render()
        bundle["image/png"] = base64.b64encode(self.picture.value).decode("ascii")
        bundle["text/plain"] = self.describe()
        return bundle


def convolution_demo(**kwargs):
    """The interactive demo (`ConvolutionDemo`), or its static figure where ipywidgets is missing."""
    if w is None:          # pragma: no cover
        state = plotting.sliding_step(SHAPES["square (Figure 8.4)"], KERNELS["horizontal (Figure 8.5)"])
        return plotting.sliding_window_figure(state["Ppad"], state["K"])
    return ConvolutionDemo(**kwargs)
