"""The convolution demo: its state driven method by method (no front-end), its SVG picture read
back cell by cell, and its ipywidgets view driven through the controls. Every change must leave
the output equal to the loop oracle's for the new settings, and every label count from 1."""
import numpy as np
import pytest

from textbook_core import data, oracle, widgets
from textbook_core.plotting import fmt
from textbook_core.widgets import KERNELS, SHAPES, ConvolutionDemo, DemoState
from textbook_core.widgets.picture import read_cells, read_numbers, svg, titles


def correlate(W, P, padding=0, stride=1):
    return np.asarray(oracle.correlate(W, P, padding=(padding, padding), stride=(stride, stride)), dtype=float)


def texts(Z):
    return {(i, j): fmt(v) for (i, j), v in np.ndenumerate(Z)}


@pytest.fixture
def state():
    return DemoState(data.FIGURE_8_4_SQUARE, data.LINE_KERNELS[0])


# ---- A worked example by hand: the slides' face and feature detector ----------------------

def test_worked_example_the_slides_face_and_detector():
    s = DemoState(data.SLIDE_IMAGE, data.SLIDE_DETECTOR, step=16)   # output (3, 1) from 0
    want = np.array(data.SLIDE_FEATURE_MAP)
    want[2, 2] = 0                       # the slides' misprint (SLIDE_FEATURE_MAP_ERRATA)
    np.testing.assert_array_equal(s.output, want)
    assert s.result["index"] == (3, 1) and s.output_label() == "z_{4,2}"   # counted from 1
    # the detector's four 1s sit on the window's four 1s (rows 4-6, cols 2-4 of the face)
    assert s.describe().split("\n") == [
        "S_r = ⌊(7 + 2·0 − 3) / 1⌋ + 1 = 5, S_c = ⌊(7 + 2·0 − 3) / 1⌋ + 1 = 5",
        "z_{4,2} = 1·1 + 1·1 + 1·1 + 1·1 = 4"]
    window = data.SLIDE_IMAGE[3:6, 1:4]
    assert s.terms() == [(k, x) for k, x in zip(data.SLIDE_DETECTOR.ravel(), window.ravel()) if k]


# ---- The state, one interaction at a time --------------------------------------------------

def test_initial_state_is_figure_8_6_horizontal(state):
    np.testing.assert_array_equal(state.output, correlate(data.LINE_KERNELS[0], data.FIGURE_8_4_SQUARE))
    assert state.n_steps == 13 * 13 and state.step == 0 and state.output_label() == "z_{1,1}"


def test_shape_preset_and_random_shape(state):
    state.set_shape("letter A (E8.3)")
    np.testing.assert_array_equal(state.image, data.FONT["A"])
    np.testing.assert_array_equal(state.output, correlate(data.LINE_KERNELS[0], data.FONT["A"]))
    assert state.n_steps == 5 * 3
    state.set_shape("square (Figure 8.4)")
    state.random_shape()
    first = state.image.copy()
    state.random_shape()
    assert not np.array_equal(first, state.image) and state.image.shape == (15, 15)
    assert set(np.unique(state.image)) == {0.0, 1.0}
    np.testing.assert_array_equal(state.output, correlate(data.LINE_KERNELS[0], state.image))


def test_a_pixel_click_edits_the_image_never_the_shared_data(state):
    before = state.output.copy()
    state.toggle_pixel(7, 7)                       # a dot in the square's middle
    assert state.image[7, 7] == 1 and data.FIGURE_8_4_SQUARE[7, 7] == 0
    assert state.output[6, 6] == before[6, 6] + 2  # the dot sits on the kernel's middle row
    expected = np.array(data.FIGURE_8_4_SQUARE)
    expected[7, 7] = 1
    np.testing.assert_array_equal(state.output, correlate(data.LINE_KERNELS[0], expected))
    state.toggle_pixel(7, 7)
    np.testing.assert_array_equal(state.output, before)


def test_kernel_preset_size_and_weight(state):
    state.set_kernel_preset("sharpen (slides)")
    np.testing.assert_array_equal(state.output, correlate(data.IMAGE_KERNELS["sharpen"], data.FIGURE_8_4_SQUARE))
    state.set_kernel_preset("horizontal (Figure 8.5)")
    state.resize_kernel(5, 3)
    np.testing.assert_array_equal(state.kernel, np.vstack([np.zeros((1, 3)), data.LINE_KERNELS[0], np.zeros((1, 3))]))
    assert state.output.shape == (11, 13)
    state.resize_kernel(5, 1)
    np.testing.assert_array_equal(state.kernel, [[0], [-1], [2], [-1], [0]])
    state.set_weight(0, 0, 4.5)
    np.testing.assert_array_equal(state.output, correlate([[4.5], [-1], [2], [-1], [0]], data.FIGURE_8_4_SQUARE))
    assert KERNELS["horizontal (Figure 8.5)"][0, 0] == -1      # the preset is untouched


@pytest.mark.parametrize("padding, stride", [(1, 1), (0, 2), (2, 3), (1, 4)])
def test_padding_and_stride(state, padding, stride):
    state.set_kernel_preset("corner (E8.6)")
    state.set_padding(padding)
    state.set_stride(stride)
    want = correlate(data.E8_6_KERNEL, data.FIGURE_8_4_SQUARE, padding, stride)
    np.testing.assert_array_equal(state.output, want)
    assert state.n_steps == want.size
    state.set_step(-1)
    m, n = want.shape[0] - 1, want.shape[1] - 1
    assert state.result["corner"] == (m * stride, n * stride)
    assert state.output_label() == f"z_{{{m + 1},{n + 1}}}"


def test_convolution_slides_the_rotated_kernel(state):
    state.set_kernel_preset("corner (E8.6)")
    state.set_shape("plus and L (E8.1)")
    state.set_operation("convolve")
    np.testing.assert_array_equal(state.output, correlate(data.E8_6_KERNEL[::-1, ::-1], data.E8_1_IMAGE))
    np.testing.assert_array_equal(state.result["K"], data.E8_6_KERNEL[::-1, ::-1])
    assert state.output[3, 4] != correlate(data.E8_6_KERNEL, data.E8_1_IMAGE)[3, 4]   # E8.6: they differ


def test_stepping_moves_the_window_and_wraps(state):
    state.set_shape("E8.4 image")                    # 5x5 -> 3x3 outputs
    state.move(+1)
    state.move(+1)
    assert state.step == 2 and state.result["index"] == (0, 2) and state.result["corner"] == (0, 2)
    np.testing.assert_array_equal(state.result["products"], data.LINE_KERNELS[0] * data.E8_4_IMAGE[0:3, 2:5])
    state.move(+1)
    assert state.result["index"] == (1, 0) and state.output_label() == "z_{2,1}"
    state.set_step(8)
    state.move(+1)
    assert state.step == 0
    state.move(-1)
    assert state.step == 8 and state.output_label() == "z_{3,3}"


def test_step_is_kept_inside_a_smaller_output(state):
    state.set_step(150)
    state.set_stride(3)                              # 13x13 -> 5x5
    assert state.n_steps == 25 and state.result["index"] == (4, 4)


def test_a_kernel_that_does_not_fit_is_an_error_until_it_fits_again(state):
    state.set_shape("E8.4 image")                    # 5x5
    state.resize_kernel(7, 3)
    assert state.error == "kernel r=7 does not fit input R_r=5 with padding P^d=0"
    assert state.output is None and state.describe() == f"No output: {state.error}."
    state.set_padding(1)                             # 5 + 2 = 7: fits again
    assert state.error is None and state.output.shape == (1, 5)


@pytest.mark.parametrize("call, message", [
    (lambda s: s.set_stride(0), r"stride S\^t must be a whole number >= 1, got 0"),
    (lambda s: s.set_padding(-1), r"padding P\^d must be a whole number >= 0, got -1"),
    (lambda s: s.set_padding(1.5), r"padding P\^d must be a whole number >= 0, got 1.5"),
    (lambda s: s.set_weight(0, 0, float("nan")), r"w_\{1,1\} must be a finite number, got nan"),
    (lambda s: s.set_weight(3, 0, 1.0), r"w_\{4,1\} lies outside W of size 3 x 3"),
    (lambda s: s.toggle_pixel(15, 0), r"p_\{16,1\} lies outside P of size 15 x 15"),
    (lambda s: s.resize_kernel(0, 3), r"kernel rows r must be a whole number >= 1, got 0"),
    (lambda s: s.set_operation("conv"), r"operation must be 'correlate' or 'convolve', got 'conv'"),
    (lambda s: s.set_shape("circle"), r"unknown image 'circle'"),
    (lambda s: s.set_kernel(np.ones((2, 0))), r"kernel W must be a non-empty 2-D array, got shape \(2, 0\)"),
    (lambda s: s.set_image([[1, np.inf]]), r"image P must hold finite numbers only"),
])
def test_bad_input_is_refused_by_name_and_changes_nothing(state, call, message):
    before = state.output.copy()
    with pytest.raises(ValueError, match=message):
        call(state)
    np.testing.assert_array_equal(state.output, before)


def test_presets():
    np.testing.assert_array_equal(widgets.resize_kernel(np.arange(6.0).reshape(2, 3), (4, 1)), [[0], [1], [4], [0]])
    assert set(widgets.OPERATIONS.values()) == {"correlate", "convolve"}
    for name, K in KERNELS.items():
        assert K.ndim == 2 and max(K.shape) <= widgets.MAX_SIZE, name
    for name, P in SHAPES.items():
        assert set(np.unique(P)) <= {0.0, 1.0}, name


# ---- The picture, read back ----------------------------------------------------------------

def test_picture_shows_the_output_so_far_and_the_products():
    s = DemoState(data.SLIDE_IMAGE, data.SLIDE_DETECTOR, step=6)        # z_{2,2}
    picture = svg(s)
    Z = correlate(data.SLIDE_DETECTOR, data.SLIDE_IMAGE)
    out = read_cells(picture, "output")
    assert out == {k: v for k, v in texts(Z).items() if k[0] * 5 + k[1] <= 6}   # grey, blank after
    assert read_cells(picture, "input") == texts(data.SLIDE_IMAGE)
    window = data.SLIDE_IMAGE[1:4, 1:4]
    assert read_cells(picture, "kernel") == {(i, j): f"{fmt(data.SLIDE_DETECTOR[i, j])}×{fmt(window[i, j])}"
                                             for i in range(3) for j in range(3)}
    assert "z_{2,2} = 1" in titles(picture) and "sum = 1" in titles(picture)


def test_picture_numbers_rows_and_columns_from_one_inside_the_padding():
    s = DemoState(data.E8_4_IMAGE, data.E8_1_KERNEL, padding=1)
    picture = svg(s)
    assert read_cells(picture, "input")[(0, 0)] == "0" and len(read_cells(picture, "input")) == 49
    one_to_five = [str(k) for k in range(1, 6)]
    assert read_numbers(picture, "input") == (one_to_five, one_to_five)   # the image, not its padding
    assert read_numbers(picture, "output") == (one_to_five, one_to_five)  # 5 + 2 - 3 + 1 = 5


def test_picture_of_a_kernel_that_does_not_fit_has_no_output_and_no_error_text():
    s = DemoState(data.E8_4_IMAGE, np.ones((7, 3)))
    picture = svg(s)
    assert read_cells(picture, "output") == {} and "does not fit" not in picture
    assert read_cells(picture, "kernel") == texts(np.ones((7, 3)))


def test_picture_leaves_values_out_when_cells_get_too_small():
    s = DemoState(data.FIGURE_8_4_SQUARE, np.ones((1, 1)), padding=7)   # 29x29 in, 29x29 out
    picture = svg(s)
    assert read_cells(picture, "output") == {} and "cells too small" in picture
    assert read_cells(svg(s, values=False), "output") == {} and "cells too small" not in svg(s, values=False)


# ---- The view: controls -> state -> picture ------------------------------------------------

@pytest.fixture
def demo():
    return ConvolutionDemo()


def test_every_control_reaches_the_state(demo):
    c = demo.controls
    c["shape"].value = "plus and L (E8.1)"
    c["kernel"].value = "corner (E8.6)"
    c["padding"].value = 1
    c["stride"].value = 2
    c["operation"].value = "convolution * (8.8)"
    want = correlate(data.E8_6_KERNEL[::-1, ::-1], data.E8_1_IMAGE, 1, 2)
    np.testing.assert_array_equal(demo.output(), want)
    assert c["step"].max == want.size and c["step"].min == 1
    c["step"].value = 5                                   # the slider counts from 1
    assert demo.state.step == 4 and demo.state.output_label() == "z_{2,1}"
    assert demo.message.value.split("<br>")[1].startswith("z<sub>2,1</sub> = ")
    assert demo.message.value.startswith("S<sub>r</sub> = ⌊(8 + 2·1 − 3) / 2⌋ + 1 = 4, S<sub>c</sub> = ")
    c["play"].value = 6                                   # a play tick moves the slider
    assert c["step"].value == 6 and demo.state.step == 5
    c["next"].click()
    assert c["step"].value == 7
    c["previous"].click()
    c["previous"].click()
    assert c["step"].value == 5
    assert read_cells(demo.picture.value, "output") == {k: v for k, v in texts(want).items()
                                                         if k[0] * want.shape[1] + k[1] <= 4}


def test_kernel_size_sliders_and_weight_boxes(demo):
    demo.controls["r"].value = 5
    assert demo.state.kernel.shape == (5, 3) and len(demo.weights) == 5 and len(demo.weight_box.children) == 15
    demo.weights[2][1].value = 7.0
    assert demo.state.kernel[2, 1] == 7
    demo.controls["kernel"].value = "sharpen (slides)"
    assert (demo.controls["r"].value, demo.controls["c"].value) == (5, 5)
    assert [[b.value for b in row] for row in demo.weights] == data.IMAGE_KERNELS["sharpen"].tolist()
    np.testing.assert_array_equal(demo.output(), correlate(data.IMAGE_KERNELS["sharpen"], data.FIGURE_8_4_SQUARE))


def test_pixel_buttons_follow_the_image_and_are_reused(demo):
    assert len(demo.pixels) == 15 and demo.pixels[3][3].value and not demo.pixels[0][0].value
    assert demo.pixels[0][2].tooltip == "pixel p_{1,3}"
    demo.pixels[7][7].value = True
    assert demo.state.image[7, 7] == 1 and demo.pixels[7][7].description == "1"
    first = demo.pixels[0][0]
    demo.controls["shape"].value = "diamond (Figure 8.4)"
    assert demo.pixels[0][0] is first                   # same 15x15 buttons, new values
    assert [[b.value for b in row] for row in demo.pixels] == data.FIGURE_8_4_DIAMOND.astype(bool).tolist()
    demo.controls["shape"].value = "letter A (E8.3)"
    assert len(demo.pixel_box.children) == 35 and demo.pixels[0][0] is first
    demo.controls["random"].click()
    assert [[b.value for b in row] for row in demo.pixels] == demo.state.image.astype(bool).tolist()


def test_a_kernel_that_does_not_fit_shows_one_error(demo):
    demo.controls["shape"].value = "E8.4 image"
    demo.controls["r"].value = 7
    shown = demo.message.value + demo.picture.value
    assert shown.count("does not fit") == 1 and "kernel r=7 does not fit input R<sub>r</sub>=5" in demo.message.value
    assert read_cells(demo.picture.value, "output") == {}
    demo.controls["padding"].value = 1
    assert "does not fit" not in demo.message.value and demo.output().shape == (1, 5)


def test_a_refused_value_is_the_message_and_the_state_stays(demo):
    before = demo.output().copy()
    demo.weights[0][0].value = float("inf")
    assert "w<sub>1,1</sub> must be a finite number" in demo.message.value
    np.testing.assert_array_equal(demo.output(), before)


def test_static_fallback_is_the_picture_and_the_text():
    d = ConvolutionDemo("E8.4 image", "plus (E8.1)", step=-1)
    bundle = d._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/svg+xml"] == d.picture.value and bundle["text/plain"] == d.describe()
    assert d.describe().endswith(f"= {fmt(d.output()[2, 2])}") and "z_{3,3}" in d.describe()
    d.controls["values"].value = False
    assert read_cells(d.picture.value, "output") == {} and read_cells(d.picture.value, "input") == {}
    assert DemoState(data.E8_4_IMAGE, data.E8_1_KERNEL)._repr_mimebundle_()["image/svg+xml"].startswith("<svg")


def test_the_redraw_benchmark_drives_every_interaction_kind(capsys):
    """bench/widget.py (make bench) runs; its timings are printed, never asserted."""
    import comm

    from bench import widget as bench

    before = comm.create_comm
    assert bench.main(["--quick"]) == 0
    assert comm.create_comm is before                   # the recording comm is put back
    table = capsys.readouterr().out
    for kind in ("pixel click", "kernel preset", "kernel size", "weight edit", "stride", "padding", "operation",
                 "step/slider", "play tick", "shape preset", "random shape"):
        row = next(line for line in table.splitlines() if line.startswith(kind))
        assert float(row.split()[-2]) > 10                # kB sent: the picture went to the front-end
