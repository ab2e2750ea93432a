"""An interactive convolution demo for the notebook, in the spirit of the book's desktop demo.

Section "Template Matching" points to a desktop program to experiment with kernels; this is the
same experiment in the notebook. `ConvolutionDemo` lets a student

- click pixels of the input image on and off, or pick a shape preset (Figure 8.4's square and
  diamond, E8.1's image, the slides' face, letters of E8.3's font, a random shape);
- pick a kernel preset (Figure 8.5's lines, the slides' detector and image kernels, E8.1, E8.6,
  P8.2) or type the kernel's values, and set its size r x c;
- set the stride S^t and the padding P^d, and choose correlation (8.13) or convolution (8.8);
- step through the sliding window (buttons, a slider, or play), with every value shown.

Three modules, read in this order:

- `state`: `DemoState`, the image, kernel and settings of one step and one method per control,
  with every number from `textbook_core` (`correlate`, `convolve`, `output_size`); no front-end.
- `picture`: the state drawn as SVG (three panels, labels counted from 1 as in the chapter).
- `view`: `ConvolutionDemo`, the ipywidgets controls calling the state and showing the picture.

Saving and reopening a notebook: widgets live in the kernel, so a reopened notebook can show them
only from the widget state saved in the file. The package turns JupyterLab's "save widget state"
on (`lab_settings`), so the reopened demo shows its last picture; the demo also says to run its
cell again to bring the controls back.
"""
from .picture import svg  # noqa: F401
from .state import (KERNELS, MAX_SIZE, MAX_STRIDE, OPERATIONS, SHAPES, DemoState,  # noqa: F401
                    resize_kernel)
from .view import ConvolutionDemo, w


def convolution_demo(**kwargs):
    """The interactive demo (`ConvolutionDemo`), or, where ipywidgets is missing, its state
    (`DemoState`), which a notebook shows as a still picture."""
    if w is None:          # pragma: no cover
        kwargs.pop("values", None)
        shape = SHAPES[kwargs.pop("shape", "square (Figure 8.4)")]
        kernel = KERNELS[kwargs.pop("kernel", "horizontal (Figure 8.5)")]
        return DemoState(shape, kernel, **kwargs)
    return ConvolutionDemo(**kwargs)
