"""The interactive demo's callbacks, driven through its widgets without a browser: every change
must leave the computed output equal to the library's (loop oracle) result for the new settings."""
import base64

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from textbook_core import data, oracle, widgets  # noqa: E402
from textbook_core.widgets import ConvolutionDemo  # noqa: E402


def correlate(W, P, padding=0, stride=1):
    return np.asarray(oracle.correlate(W, P, padding=(padding, padding), stride=(stride, stride)), dtype=float)


@pytest.fixture
def demo():
    return ConvolutionDemo(draw=False)


def test_worked_example_the_slides_face_and_detector():
    d = ConvolutionDemo("face (slides, 7x7)", "feature detector (slides)", draw=False)
    want = np.array(data.SLIDE_FEATURE_MAP)
    want[2, 2] = 0                       # the slides' misprint (SLIDE_FEATURE_MAP_ERRATA)
    np.testing.assert_array_equal(d.output(), want)
    d.controls["step"].value = 16        # output (3, 1): the 4 of the slides
    assert d.state["index"] == (3, 1) and d.output()[3, 1] == 4
    assert d.describe().endswith("= 4")
    assert "S_r = ⌊(7 + 2·0 − 3) / 1⌋ + 1 = 5" in d.describe()


def test_initial_state_is_figure_8_6_horizontal(demo):
    np.testing.assert_array_equal(demo.image, data.FIGURE_8_4_SQUARE)
    np.testing.assert_array_equal(demo.output(), correlate(data.LINE_KERNELS[0], data.FIGURE_8_4_SQUARE))
    assert demo.controls["step"].max == 13 * 13 - 1
    assert len(demo.pixels) == 15 and len(demo.pixels[0]) == 15
    assert demo.pixels[3][3].value and not demo.pixels[0][0].value


def test_shape_preset_replaces_image_and_pixel_grid(demo):
    demo.controls["shape"].value = "letter A (E8.3)"
    np.testing.assert_array_equal(demo.image, data.FONT["A"])
    assert len(demo.pixels) == 7 and len(demo.pixels[0]) == 5 and len(demo.pixel_box.children) == 35
    np.testing.assert_array_equal(demo.output(), correlate(data.LINE_KERNELS[0], data.FONT["A"]))
    assert demo.controls["step"].max == 5 * 3 - 1


def test_clicking_a_pixel_edits_the_image_and_the_output(demo):
    before = demo.output().copy()
    demo.pixels[7][7].value = True                       # a dot in the square's middle
    assert demo.image[7, 7] == 1 and demo.pixels[7][7].description == "1"
    expected = np.array(data.FIGURE_8_4_SQUARE)
    expected[7, 7] = 1
    np.testing.assert_array_equal(demo.output(), correlate(data.LINE_KERNELS[0], expected))
    assert demo.output()[6, 6] == before[6, 6] + 2         # the dot sits on the kernel's middle row
    demo.pixels[7][7].value = False
    np.testing.assert_array_equal(demo.output(), before)
    assert data.FIGURE_8_4_SQUARE[7, 7] == 0               # the shared data is never touched


def test_kernel_preset_sets_the_kernel_sizes_and_weights(demo):
    demo.controls["kernel"].value = "sharpen (slides)"
    np.testing.assert_array_equal(demo.kernel, data.IMAGE_KERNELS["sharpen"])
    assert (demo.controls["r"].value, demo.controls["c"].value) == (5, 5)
    assert [[b.value for b in row] for row in demo.weights] == data.IMAGE_KERNELS["sharpen"].tolist()
    np.testing.assert_array_equal(demo.output(), correlate(data.IMAGE_KERNELS["sharpen"], data.FIGURE_8_4_SQUARE))
    demo.controls["kernel"].value = "shift (P8.2)"
    assert (demo.controls["r"].value, demo.controls["c"].value) == (2, 2) and demo.output().shape == (14, 14)


def test_typing_a_weight_changes_the_output(demo):
    demo.weights[1][1].value = 5.0
    K = np.array(data.LINE_KERNELS[0])
    K[1, 1] = 5
    np.testing.assert_array_equal(demo.kernel, K)
    np.testing.assert_array_equal(demo.output(), correlate(K, data.FIGURE_8_4_SQUARE))


def test_kernel_size_crops_or_pads_about_the_centre(demo):
    demo.controls["r"].value = 5
    np.testing.assert_array_equal(demo.kernel, np.vstack([np.zeros((1, 3)), data.LINE_KERNELS[0], np.zeros((1, 3))]))
    assert len(demo.weights) == 5 and demo.output().shape == (11, 13)
    demo.controls["c"].value = 1
    np.testing.assert_array_equal(demo.kernel, [[0], [-1], [2], [-1], [0]])
    np.testing.assert_array_equal(demo.output(), correlate(demo.kernel, data.FIGURE_8_4_SQUARE))


@pytest.mark.parametrize("padding, stride", [(1, 1), (0, 2), (2, 3), (1, 4)])
def test_padding_and_stride(demo, padding, stride):
    demo.controls["kernel"].value = "corner (E8.6)"
    demo.controls["padding"].value = padding
    demo.controls["stride"].value = stride
    want = correlate(data.E8_6_KERNEL, data.FIGURE_8_4_SQUARE, padding, stride)
    np.testing.assert_array_equal(demo.output(), want)
    assert demo.controls["step"].max == want.size - 1


def test_convolution_flips_the_kernel(demo):
    demo.controls["kernel"].value = "corner (E8.6)"
    demo.controls["shape"].value = "L and 7 (E8.1)"
    demo.controls["operation"].value = "convolution * (8.8)"
    np.testing.assert_array_equal(demo.output(), correlate(data.E8_6_KERNEL[::-1, ::-1], data.E8_1_IMAGE))
    np.testing.assert_array_equal(demo.state["K"], data.E8_6_KERNEL[::-1, ::-1])
    assert demo.output()[3, 4] != correlate(data.E8_6_KERNEL, data.E8_1_IMAGE)[3, 4]   # E8.6: they differ


def test_stepping_moves_the_window_and_wraps(demo):
    demo.controls["shape"].value = "E8.4 image"            # 5x5 -> 3x3 outputs
    demo.controls["next"].click()
    demo.controls["next"].click()
    assert demo.step == 2 and demo.state["index"] == (0, 2) and demo.state["corner"] == (0, 2)
    window = data.E8_4_IMAGE[0:3, 2:5]
    np.testing.assert_array_equal(demo.state["products"], data.LINE_KERNELS[0] * window)
    demo.controls["next"].click()
    assert demo.state["index"] == (1, 0)
    demo.controls["step"].value = 8
    demo.controls["next"].click()
    assert demo.step == 0
    demo.controls["previous"].click()
    assert demo.step == 8 and demo.state["index"] == (2, 2)


def test_step_is_kept_inside_a_smaller_output(demo):
    demo.controls["step"].value = 150
    demo.controls["stride"].value = 3                       # 13x13 -> 5x5
    assert demo.controls["step"].max == 24 and demo.state["index"] == (4, 4)


def test_a_kernel_that_does_not_fit_shows_the_library_error(demo):
    demo.controls["shape"].value = "E8.4 image"             # 5x5
    demo.controls["r"].value = 7
    assert "kernel r=7 does not fit input R_r=5 with padding P^d=0" in demo.state["error"]
    assert demo.output() is None and "does not fit" in demo.message.value
    assert "does not fit" in demo.figure().texts[0].get_text()
    demo.controls["padding"].value = 1                      # 5 + 2 = 7: fits again
    assert demo.output().shape == (1, 5)                    # kernel 7x3 on 7x7 padded


def test_random_shape_is_a_new_square_or_diamond(demo):
    demo.controls["random"].click()
    first = demo.image.copy()
    demo.controls["random"].click()
    assert not np.array_equal(first, demo.image) and demo.image.shape == (15, 15)
    assert set(np.unique(demo.image)) == {0.0, 1.0}
    assert [[b.value for b in row] for row in demo.pixels] == demo.image.astype(bool).tolist()
    np.testing.assert_array_equal(demo.output(), correlate(data.LINE_KERNELS[0], demo.image))


def test_picture_follows_the_state_and_is_the_static_fallback():
    d = ConvolutionDemo("E8.4 image", "seven (E8.1)")
    first = d.picture.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    d.controls["values"].value = False
    assert d.picture.value != first
    bundle = d._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]) == d.picture.value
    assert bundle["text/plain"] == d.describe()


def test_initial_step_can_count_from_the_end():
    d = ConvolutionDemo("E8.4 image", "seven (E8.1)", step=-1, draw=False)
    assert d.step == 8 and d.state["index"] == (2, 2)
    d = ConvolutionDemo("E8.4 image", "seven (E8.1)", step=4, draw=False)
    assert d.state["index"] == (1, 1) and d.describe().endswith(f"= {d.output()[1, 1]:g}")


def test_figure_draws_the_current_step():
    d = ConvolutionDemo("face (slides, 7x7)", "feature detector (slides)", draw=False)
    d.controls["step"].value = 6
    from textbook_core.plotting import axes_by_label, grid_texts
    out = grid_texts(axes_by_label(d.figure())["output"])
    assert list(out.reshape(-1)[:7]) == ["0", "1", "0", "0", "0", "0", "1"] and out[1, 2] == ""


def test_resize_kernel_and_presets():
    np.testing.assert_array_equal(widgets.resize_kernel(np.arange(6.0).reshape(2, 3), (4, 1)),
                                  [[0], [1], [4], [0]])
    assert set(widgets.OPERATIONS.values()) == {"correlate", "convolve"}
    for name, K in widgets.KERNELS.items():
        assert K.ndim == 2 and max(K.shape) <= widgets.MAX_SIZE, name
    for name, P in widgets.SHAPES.items():
        assert set(np.unique(P)) <= {0.0, 1.0}, name
