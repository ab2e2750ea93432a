"""The demo's view: ipywidgets controls that call `DemoState` and show its picture.

Each control's callback hands the change to one method of `DemoState`, then `refresh` brings the
other controls in line with the state (slider ranges, the pixel and weight grids) and writes the
new SVG picture (`picture.svg`) and message. Nothing is computed here. Widgets are made once and
reused: pixel buttons and weight boxes come from pools, so a new shape or kernel size changes
values instead of opening hundreds of new widgets.
"""
import re
from html import escape

import numpy as np

from .picture import svg
from .state import KERNELS, MAX_SIZE, MAX_STRIDE, OPERATIONS, SHAPES, DemoState, subscript

try:
    import ipywidgets as w
except ImportError:        # pragma: no cover - ipywidgets is in the `course` extra
    w = None

RERUN = "Run this cell to start the demo."
"""What a reopened notebook shows above the demo's saved picture."""

STYLE = """<style>
.tc-demo .tc-rerun { display: none; }
.tc-demo.jupyter-widgets-disconnected .tc-rerun {
  display: block; margin: 4px 0 8px; padding: 6px 10px; font-weight: bold;
  background: #fff4d6; border: 1px solid #d9a400; border-radius: 4px; }
.tc-demo.jupyter-widgets-disconnected .tc-controls { display: none; }
.tc-demo.jupyter-widgets-disconnected::before,
.tc-demo .jupyter-widgets-disconnected::before { display: none; }
</style>"""
"""A live demo hides the banner; a reopened one (its widgets restored from the notebook but not
connected to a kernel, which ipywidgets marks ``jupyter-widgets-disconnected``) shows the banner
and its saved picture, without the dead controls or ipywidgets' broken-link icon on each."""


def _subscripts(text):
    """Plain text with the book's subscripts and superscripts (S_r, z_{4,2}, P^d) as HTML."""
    text = re.sub(r"_\{([^}]*)\}", r"<sub>\1</sub>", escape(text))
    text = re.sub(r"\b([A-Za-z])\^([A-Za-z0-9])\b", r"\1<sup>\2</sup>", text)
    return re.sub(r"\b([A-Za-z])_([A-Za-z0-9])\b", r"\1<sub>\2</sub>", text)


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
        Initial output of the window (row-major, from 0); negative counts from the last, so -1
        shows the whole output map.

    Attributes
    ----------
    state : DemoState
        Everything the demo shows; the controls only change it.
    controls : dict
        The named widgets: shape, random, kernel, r, c, stride, padding, operation, values,
        step (1-based, as the chapter counts), play, previous, next.
    pixels, weights : list of lists
        The ToggleButton of each image pixel and the FloatText of each kernel entry now shown.
    message, picture : ipywidgets.HTML
        The sizes and the sum of the current output (or the one error), and the SVG picture.
    """

    def __init__(self, shape="square (Figure 8.4)", kernel="horizontal (Figure 8.5)", *,
                 padding=0, stride=1, operation="correlate", step=0):
        if w is None:      # pragma: no cover
            raise ImportError("the interactive demo needs ipywidgets (pip install textbook-core[course])")
        self.state = DemoState(SHAPES[shape], KERNELS[kernel], padding=padding, stride=stride,
                               operation=operation, step=step)
        self._syncing = False
        self._pixel_pool, self._weight_pool = {}, {}
        self.pixels, self.weights = [], []
        narrow = w.Layout(width="330px")
        slider = dict(layout=w.Layout(width="260px"), style={"description_width": "80px"})
        op_label = next(k for k, v in OPERATIONS.items() if v == operation)
        c = self.controls = {
            "shape": w.Dropdown(options=list(SHAPES), value=shape, description="image", layout=narrow),
            "random": w.Button(description="random shape", tooltip="a new square or diamond"),
            "kernel": w.Dropdown(options=list(KERNELS), value=kernel, description="kernel", layout=narrow),
            "r": w.IntSlider(min=1, max=MAX_SIZE, description="rows r", **slider),
            "c": w.IntSlider(min=1, max=MAX_SIZE, description="cols c", **slider),
            "stride": w.IntSlider(value=stride, min=1, max=MAX_STRIDE, description="stride Sᵗ", **slider),
            "padding": w.IntSlider(value=padding, min=0, max=MAX_SIZE, description="padding Pᵈ", **slider),
            "operation": w.ToggleButtons(options=list(OPERATIONS), value=op_label),
            "values": w.Checkbox(value=True, description="show values"),
            "step": w.IntSlider(min=1, max=1, description="step", layout=w.Layout(width="420px")),
            "play": w.Play(min=1, max=1, interval=500),
            "previous": w.Button(description="◀", layout=w.Layout(width="40px")),
            "next": w.Button(description="▶", layout=w.Layout(width="40px")),
        }
        w.link((c["play"], "value"), (c["step"], "value"))
        self.pixel_box, self.weight_box = w.GridBox(), w.GridBox()
        self.pixel_box.add_class("tc-pixels")
        self.weight_box.add_class("tc-weights")
        self.message, self.picture = w.HTML(), w.HTML()
        self.actions = {          # control -> what it does to the state
            "shape": lambda v: self.state.set_shape(v),
            "kernel": lambda v: self.state.set_kernel_preset(v),
            "r": lambda v: self.state.resize_kernel(v, self.state.kernel.shape[1]),
            "c": lambda v: self.state.resize_kernel(self.state.kernel.shape[0], v),
            "stride": lambda v: self.state.set_stride(v),
            "padding": lambda v: self.state.set_padding(v),
            "operation": lambda v: self.state.set_operation(OPERATIONS[v]),
            "step": lambda v: self.state.set_step(v - 1),
            "values": lambda v: None,
        }
        for key in self.actions:
            c[key].observe(lambda change, key=key: self._on(key, change["new"]), names="value")
        c["random"].on_click(lambda _: self._do(self.state.random_shape))
        c["previous"].on_click(lambda _: self.move(-1))
        c["next"].on_click(lambda _: self.move(+1))
        self.refresh()

    # -- callbacks -----------------------------------------------------------------------------

    def _on(self, key, value):
        if not self._syncing:
            self._do(self.actions[key], value)

    def _do(self, action, *args):
        """Apply one change to the state, then show it; a refused change is the message."""
        try:
            action(*args)
        except ValueError as err:
            self.refresh(error=str(err))
        else:
            self.refresh()

    def on_pixel(self, i, j, value):
        """Pixel (i, j) switched on (True) or off (False)."""
        self._do(self.state.set_pixel, i, j, float(value))

    def on_weight(self, i, j, value):
        """Kernel entry (i, j) typed in."""
        self._do(self.state.set_weight, i, j, value)

    def move(self, delta):
        """Step the window forward or back, wrapping around the output."""
        self._do(self.state.move, delta)

    # -- showing the state ---------------------------------------------------------------------

    def refresh(self, error=None):
        """Bring every control in line with `state`, then redraw the picture and the message."""
        s, c = self.state, self.controls
        self._syncing = True
        try:
            c["r"].value, c["c"].value = s.kernel.shape
            if s.n_steps:
                for key in ("step", "play"):
                    c[key].max = s.n_steps
                c["step"].value = s.step + 1
                c["play"].value = s.step + 1
            self._sync_pixels()
            self._sync_weights()
        finally:
            self._syncing = False
        self.message.value = self.message_html(error)
        self.picture.value = svg(s, values=c["values"].value)

    def message_html(self, error=None):
        """The sizes and the sum behind the current output; an error in red instead, said once."""
        s = self.state
        problem = error or s.error
        if problem is not None:
            return f"<b style='color:#b00'>No output: {_subscripts(problem)}.</b>"
        return f"{_subscripts(s.sizes())}<br>{_subscripts(s.equation())}"

    def describe(self):
        """The current step in words (`DemoState.describe`)."""
        return self.state.describe()

    def output(self):
        """The whole output map for the current settings (None when the kernel does not fit)."""
        return self.state.output

    def _make_pixel(self, i, j):
        button = w.ToggleButton(layout=w.Layout(width="22px", height="22px", padding="0px", margin="0px"),
                                tooltip=f"pixel p_{{{subscript(i, j)}}}")
        button.observe(lambda change: None if self._syncing else self.on_pixel(i, j, change["new"]),
                       names="value")
        return button

    def _make_weight(self, i, j):
        box = w.FloatText(layout=w.Layout(width="56px"), tooltip=f"w_{{{subscript(i, j)}}}")
        box.observe(lambda change: None if self._syncing else self.on_weight(i, j, change["new"]),
                    names="value")
        return box

    @staticmethod
    def _show_pixel(button, value):
        on = bool(value)
        if button.value != on or button.description != ("1" if on else ""):
            button.value = on
            button.button_style = "primary" if on else ""
            button.description = "1" if on else ""

    @staticmethod
    def _show_weight(box, value):
        if box.value != value:
            box.value = float(value)

    def _sync_grid(self, A, pool, box, make, show, column):
        """The widgets of matrix `A` from `pool` (made by `make` once per place), set by `show`
        and laid out in `box` with columns `column` wide. -> rows of widgets."""
        rows, cols = A.shape
        grid = [[pool[i, j] if (i, j) in pool else pool.setdefault((i, j), make(i, j)) for j in range(cols)]
                for i in range(rows)]
        for i, j in np.ndindex(A.shape):
            show(grid[i][j], A[i, j])
        children = tuple(b for row in grid for b in row)
        if box.children != children:
            box.children = children
            box.layout = w.Layout(grid_template_columns=f"repeat({cols}, {column})", grid_gap="1px")
        return grid

    def _sync_pixels(self):
        self.pixels = self._sync_grid(self.state.image, self._pixel_pool, self.pixel_box, self._make_pixel,
                                      self._show_pixel, "22px")

    def _sync_weights(self):
        self.weights = self._sync_grid(self.state.kernel, self._weight_pool, self.weight_box,
                                       self._make_weight, self._show_weight, "58px")

    @property
    def widget(self):
        """The whole demo as one widget box."""
        if not hasattr(self, "_widget"):
            c = self.controls
            controls = w.VBox([
                w.HBox([c["shape"], c["random"], c["kernel"]]),
                w.HBox([c["r"], c["c"], c["stride"], c["padding"]], layout=w.Layout(flex_flow="row wrap")),
                w.HBox([c["operation"], c["values"]]),
                w.HBox([w.VBox([w.Label("image P: click a pixel"), self.pixel_box]),
                        w.VBox([w.Label("kernel W: type a value"), self.weight_box])],
                       layout=w.Layout(grid_gap="30px")),
                w.HBox([c["previous"], c["step"], c["next"], c["play"]]),
            ])
            controls.add_class("tc-controls")
            banner = w.HTML(f"{STYLE}<div class='tc-rerun'>▶ {escape(RERUN)} This is the picture "
                            "saved with the notebook; the controls work while the cell's Python runs.</div>")
            self._widget = w.VBox([banner, controls, self.message, self.picture])
            self._widget.add_class("tc-demo")
        return self._widget

    def _repr_mimebundle_(self, **kwargs):
        """The widget where widgets are live; its SVG picture where they are not."""
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        bundle["image/svg+xml"] = self.picture.value
        bundle["text/plain"] = self.describe()
        return bundle
