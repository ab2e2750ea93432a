"""Chapter 8's figures (8.1-8.12) and the walkthroughs' pictures, drawn from the package itself.

Nothing here knows a number of the book by heart: images and kernels come from
`textbook_core.data`, every value from the library's operations, and the symbolic layouts
(Figures 8.2, 8.3, Eq. 8.12) run sympy symbols through `correlate` and `conv_matrix`, so the
picture shows what the code computes. The notebooks call these functions; none of them draws.

Each function returns a `matplotlib.figure.Figure` made without pyplot (a notebook shows it as
the cell's value after ``%matplotlib inline``; nothing piles up in pyplot's state). Every axes
carries a label (``ax.get_label()``) naming what it shows, and grids write their values as
texts, so a test can read a figure back.

========================  ===========================================================
function                  shows
========================  ===========================================================
`figure_8_1`              the basic convolution layer, drawn to size
`figure_8_2`, `_8_3`      where each output reads the input (`correlation_layout`)
`figure_8_4` - `_8_7`     squares, diamonds, line kernels and the filtered images
`figure_8_8`              3x3 max pooling, 15x15 -> 5x5
`figure_8_9`, `_8_10`     a convolution + pooling layer, in full and in shorthand
`figure_8_11`             a trained network of `textbook_core.network`, layer by layer
`figure_8_12`             every backpropagation path across a layer, with numbers
others                    impulse response, weight sharing, sliding window, the slides'
                          animation, padding modes, a photograph, learned kernels
========================  ===========================================================

The modules follow the chapter's sections: `grids` (drawing primitives), `why`, `details`,
`template`, `hierarchy`, `gradient`, and `legibility` (the checks that keep figures readable).
"""
from .grids import (BINARY, SIGNED, TEXT_GRID, axes_by_label, colorbar, draw_grid,  # noqa: F401
                    fit_cell_texts, fmt, grid_texts, new_figure, panel_axes, update_grid)
from .why import impulse_response_figure, weight_sharing_figure  # noqa: F401
from .details import (correlation_layout, draw_slides_step, draw_sliding_step, figure_8_1,  # noqa: F401
                      figure_8_2, figure_8_3, padding_modes_figure, slides_animation, slides_figure,
                      sliding_step,
                      sliding_window_figure)
from .template import (figure_8_4, figure_8_5, figure_8_6, figure_8_7, filtered_figure,  # noqa: F401
                       photo_kernels_figure, sample_photograph)
from .hierarchy import (FIGURE_8_11_GROUPS, figure_8_8, figure_8_9, figure_8_10, figure_8_11,  # noqa: F401
                        kernels_figure, train_figure_8_11, training_figure)
from .gradient import backprop_example, derivations_markdown, figure_8_12, gradient_check_figure  # noqa: F401


FIGURES = {
    "8.1": figure_8_1, "8.2": figure_8_2, "8.3": figure_8_3, "8.4": figure_8_4,
    "8.5": figure_8_5, "8.6": figure_8_6, "8.7": figure_8_7, "8.8": figure_8_8,
    "8.9": figure_8_9, "8.10": figure_8_10, "8.11": figure_8_11, "8.12": figure_8_12,
}
"""The chapter's figures by number; 8.11 needs a trained network as its argument."""
