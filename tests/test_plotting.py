"""The figures draw what they should: values and texts are read back from the matplotlib artists
and compared with hand-worked examples, the loop oracle or an independent route (never the
plotting code's own call)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import textbook_core as tc  # noqa: E402
from textbook_core import data, gallery, network, oracle, plotting  # noqa: E402
from textbook_core.plotting import legibility  # noqa: E402
from textbook_core.plotting import axes_by_label, grid_texts  # noqa: E402


def correlate(W, P, padding=0, stride=1):
    """The loop oracle (8.13), as floats."""
    return np.asarray(oracle.correlate(W, P, padding=(padding, padding), stride=(stride, stride)), dtype=float)


def image_of(ax):
    return np.ma.filled(ax.images[0].get_array().astype(float), np.nan)


def all_texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


# ---- A worked example by hand: Figure 8.2 --------------------------------------------------

def test_figure_8_2_writes_each_product_where_the_window_reads_it():
    # 8.11: z_{1,2} = w11 p12 + w12 p13 + w21 p22 + w22 p23, in the cells p12, p13, p22, p23.
    panels = axes_by_label(plotting.figure_8_2())
    texts = grid_texts(panels["z1,2"])
    assert texts[0, 1] == "$w_{1,1}p_{1,2}$"
    assert texts[0, 2] == "$w_{1,2}p_{1,3}$"
    assert texts[1, 1] == "$w_{2,1}p_{2,2}$"
    assert texts[1, 2] == "$w_{2,2}p_{2,3}$"
    assert (texts[:, 0] == "").all() and (texts[2] == "").all()
    assert sorted(k for k in panels if k.startswith("z")) == ["z1,1", "z1,2", "z2,1", "z2,2"]
    window = panels["z1,2"].patches[0]
    assert (window.get_x(), window.get_y(), window.get_width(), window.get_height()) == (0.5, -0.5, 2, 2)


def test_figure_8_3_stride_two_moves_the_window_two_pixels():
    panels = axes_by_label(plotting.figure_8_3())
    assert sorted(k for k in panels if k.startswith("z")) == ["z1,1", "z1,2", "z2,1", "z2,2"]
    texts = grid_texts(panels["z2,2"])      # window rows 3..4, cols 3..4 (1-based)
    assert texts[2, 2] == "$w_{1,1}p_{3,3}$" and texts[3, 3] == "$w_{2,2}p_{4,4}$"
    assert (texts[:2] == "").all() and (texts[:, :2] == "").all()


def test_correlation_layout_with_padding_reads_zeros_outside_the_image():
    panels = axes_by_label(plotting.correlation_layout((3, 3), (2, 2), padding=1, stride=2))
    assert len([k for k in panels if k.startswith("z")]) == 4          # (3 + 2 - 2) // 2 + 1 = 2
    texts = grid_texts(panels["z1,1"])
    assert texts[0, 0] == r"$w_{1,1}\cdot 0$" and texts[0, 1] == r"$w_{1,2}\cdot 0$"
    assert texts[1, 0] == r"$w_{2,1}\cdot 0$" and texts[1, 1] == "$w_{2,2}p_{1,1}$"
    padded = grid_texts(panels["P"])
    assert (padded[0] == "0").all() and padded[1, 1] == "$p_{1,1}$"


# ---- Why convolution -----------------------------------------------------------------------

def test_impulse_response_of_p8_2_shift_is_its_kernel_and_convolution_applies_it():
    panels = axes_by_label(plotting.impulse_response_figure())
    np.testing.assert_array_equal(image_of(panels["response"]), [[0, 0, 1], [0, 0, 0], [0, 0, 0]])
    moved = image_of(panels["transformed"])
    np.testing.assert_array_equal(moved, np.roll(data.E8_4_IMAGE, (-1, 1), axis=(0, 1)))
    np.testing.assert_array_equal(image_of(panels["convolved"]), moved)


def test_impulse_response_of_a_blur_is_the_blur_kernel():
    box = np.ones((3, 3))
    blur = lambda A: correlate(box, A, 1)   # noqa: E731
    image = np.arange(25.0).reshape(5, 5)
    panels = axes_by_label(plotting.impulse_response_figure(blur, image))
    np.testing.assert_array_equal(image_of(panels["response"]), box)
    np.testing.assert_allclose(image_of(panels["convolved"]), image_of(panels["transformed"]))


def test_weight_sharing_matrix_is_equation_8_12():
    ax = axes_by_label(plotting.weight_sharing_figure())["matrix"]
    colours, texts = image_of(ax), grid_texts(ax)
    w = {"$w_{1,1}$": 11, "$w_{1,2}$": 12, "$w_{2,1}$": 21, "$w_{2,2}$": 22, "": 0}
    printed = np.array([[11, 21, 0, 12, 22, 0, 0, 0, 0],
                        [0, 11, 21, 0, 12, 22, 0, 0, 0],
                        [0, 0, 0, 11, 21, 0, 12, 22, 0],
                        [0, 0, 0, 0, 11, 21, 0, 12, 22]])
    np.testing.assert_array_equal(np.vectorize(w.get)(texts), printed)
    for value in (11, 12, 21, 22):          # one colour per weight, the same in every row
        assert len(set(colours[printed == value])) == 1
    assert len(set(colours[printed != 0])) == 4 and (colours[printed == 0] == 0).all()
    assert [t.get_text() for t in ax.get_xticklabels()][:4] == ["$p_{1,1}$", "$p_{2,1}$", "$p_{3,1}$", "$p_{1,2}$"]


# ---- Details -------------------------------------------------------------------------------

@pytest.mark.parametrize("R, r, S", [((5, 5), (3, 3), (3, 3)), ((6, 7), (2, 3), (5, 5)), ((4, 9), (4, 1), (1, 9))])
def test_figure_8_1_draws_each_block_to_size(R, r, S):
    fig = plotting.figure_8_1(R, r)
    ax = fig.axes[0]
    cells = [p for p in ax.patches]
    assert len(cells) == R[0] * R[1] + r[0] * r[1] + 4 * S[0] * S[1]
    dims = {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}
    assert dims["dims:P"].endswith(f"{R[0]}×{R[1]}") and dims["dims:W"].endswith(f"{r[0]}×{r[1]}")
    for name in "ZbNA":
        assert dims[f"dims:{name}"].endswith(f"{S[0]}×{S[1]}")


def test_padding_modes_are_valid_same_and_full():
    panels = axes_by_label(plotting.padding_modes_figure())
    for name, p in [("VALID", 0), ("SAME", 1), ("FULL", 2)]:
        want = correlate(data.E8_1_KERNEL, data.E8_1_IMAGE, p)
        np.testing.assert_array_equal(image_of(panels[name]), want)
        np.testing.assert_array_equal(grid_texts(panels[name]), np.vectorize(plotting.fmt)(want))
    assert image_of(panels["SAME"]).shape == data.E8_1_IMAGE.shape
    assert image_of(panels["SAME"])[2, 2] == 5 == image_of(panels["VALID"])[1, 1]   # E8.1: the plus at (2, 2)


def test_sliding_step_shows_the_products_and_the_map_so_far():
    fig = plotting.sliding_window_figure(data.SLIDE_IMAGE, data.SLIDE_DETECTOR, step=8)
    panels = axes_by_label(fig)
    out = grid_texts(panels["output"])
    want = np.array(data.SLIDE_FEATURE_MAP)          # the slides' numbers, misprint corrected
    for index, value in data.SLIDE_FEATURE_MAP_ERRATA.items():
        want[index] = value
    flat = out.reshape(-1)
    assert list(flat[:9]) == [plotting.fmt(v) for v in want.reshape(-1)[:9]]
    assert (flat[9:] == "").all()
    # step 8 is output (1, 3): window rows 1..3, cols 3..5 of the image
    kernel = grid_texts(panels["kernel"])
    assert kernel.tolist() == [["0×0", "0×0", "1×1"],       # detector × image[1:4, 3:6], by hand
                               ["1×0", "0×0", "0×0"],
                               ["0×1", "1×0", "1×0"]]
    assert "sum = 1" in panels["kernel"].get_title()
    assert panels["output"].get_title() == "output 5×5: $z_{2,4}$ = 1"       # counted from 1, as 8.2-8.3
    box = panels["input"].patches[0]
    assert (box.get_x(), box.get_y()) == (2.5, 0.5)


def test_sliding_step_with_convolution_flips_the_kernel_and_pads():
    P = np.arange(12.0).reshape(3, 4)
    W = np.array([[1.0, 2.0], [0.0, -1.0]])
    s = plotting.sliding_step(P, W, padding=1, stride=2, step=3, operation="convolve")
    np.testing.assert_array_equal(s["K"], [[-1, 0], [2, 1]])
    np.testing.assert_array_equal(s["Z"], correlate(s["K"], P, 1, 2))
    assert s["index"] == (1, 0) and s["corner"] == (2, 0)
    assert s["products"].sum() == s["Z"][1, 0]
    with pytest.raises(ValueError, match="step=6 must lie in 0..5"):
        plotting.sliding_step(P, W, padding=1, stride=2, step=6)


def test_slides_animation_fills_the_feature_map_one_value_per_frame():
    anim = plotting.slides_animation()
    assert len(list(anim.new_frame_seq())) == 25
    assert anim.to_jshtml().count("data:image/png;base64") == 25
    fig = plotting.new_figure(8, 3)
    axes = fig.subplots(1, 3)
    want = np.vectorize(plotting.fmt)(correlate(data.SLIDE_DETECTOR, data.SLIDE_IMAGE))
    plotting.draw_slides_step(axes, 24)                      # drawn afresh
    np.testing.assert_array_equal(grid_texts(axes_by_label(fig)["output"]), want)
    plotting.draw_slides_step(axes, 12)                      # updated in place: (2, 2), the misprint
    out = grid_texts(axes_by_label(fig)["output"])
    assert (out.reshape(-1)[:13] == want.reshape(-1)[:13]).all() and (out.reshape(-1)[13:] == "").all()
    assert out[2, 2] == "0" and "prints 1 here" in fig.get_suptitle()
    assert grid_texts(axes_by_label(fig)["kernel"])[1, 1] == "0×1"   # the window's centre is the nose
    box = axes_by_label(fig)["input"].patches[0]
    assert (box.get_x(), box.get_y()) == (1.5, 1.5)
    plotting.draw_slides_step(axes, 11)
    assert "misprint" not in fig.get_suptitle() and fig.get_suptitle() == "step 12 of 25"


# ---- Template matching ---------------------------------------------------------------------

def test_figures_8_4_and_8_5_show_the_designed_data():
    panels = axes_by_label(plotting.figure_8_4())
    np.testing.assert_array_equal(image_of(panels["square"]), data.FIGURE_8_4_SQUARE)
    np.testing.assert_array_equal(image_of(panels["diamond"]), data.FIGURE_8_4_DIAMOND)
    panels = axes_by_label(plotting.figure_8_5())
    assert list(panels) == list(data.LINE_KERNEL_NAMES)
    for name, K in data.FIGURE_8_5_KERNELS.items():
        np.testing.assert_array_equal(grid_texts(panels[name]), np.vectorize(plotting.fmt)(K))


@pytest.mark.parametrize("figure, image, strong", [
    (plotting.figure_8_6, data.FIGURE_8_4_SQUARE, ("horizontal", "vertical")),
    (plotting.figure_8_7, data.FIGURE_8_4_DIAMOND, ("diagonal", "antidiagonal")),
])
def test_filtered_images_are_the_correlations(figure, image, strong):
    panels = axes_by_label(figure())
    for name, K in data.FIGURE_8_5_KERNELS.items():
        want = correlate(K, image)
        np.testing.assert_array_equal(image_of(panels[name]), want)
        np.testing.assert_array_equal(grid_texts(panels[name]), np.vectorize(plotting.fmt)(want))
        assert panels[name].get_title().endswith(f"max {6 if name in strong else plotting.fmt(want.max())}")
        assert (want.max() == 6) == (name in strong)


def test_photograph_is_the_sample_data_in_grey():
    photo = plotting.sample_photograph()
    assert photo.shape == (300, 256) and 0 <= photo.min() < 0.1 and 0.9 < photo.max() <= 1


def test_photo_kernels_are_same_size_correlations():
    photo = np.random.default_rng(0).random((12, 10))
    panels = axes_by_label(plotting.photo_kernels_figure(photo))
    for name, K in data.IMAGE_KERNELS.items():
        p = (K.shape[0] - 1) // 2
        np.testing.assert_allclose(image_of(panels[name]), correlate(K, photo, p))
        np.testing.assert_array_equal(grid_texts(panels[f"{name} kernel"]), np.vectorize(plotting.fmt)(K))
    blur = panels["blur"].images[0]
    assert blur.norm.vmin == 0 and blur.norm.vmax == 9          # shown as an average: GIMP's 1/9
    sobel = panels["sobel"].images[0]
    assert sobel.norm.vmin == -sobel.norm.vmax


# ---- Hierarchy -----------------------------------------------------------------------------

def test_figure_8_8_pools_15x15_to_5x5():
    panels = axes_by_label(plotting.figure_8_8())
    for name, image in [("square", data.FIGURE_8_4_SQUARE), ("diamond", data.FIGURE_8_4_DIAMOND)]:
        want = image.reshape(5, 3, 5, 3).max(axis=(1, 3))
        np.testing.assert_array_equal(image_of(panels[f"pooled {name}"]), want)
    assert np.array_equal(image_of(panels["pooled diamond"])[:, 2], [1, 1, 0, 1, 1])


def test_figure_8_9_is_convolution_bias_relu_and_max_pooling():
    panels = axes_by_label(plotting.figure_8_9())
    for h, K in enumerate(data.LINE_KERNELS):
        N1 = correlate(K, data.FIGURE_8_4_SQUARE) - 3
        np.testing.assert_array_equal(image_of(panels[f"N1[{h}]"]), N1)
        A1 = np.maximum(N1, 0)
        np.testing.assert_array_equal(image_of(panels[f"A1[{h}]"]), A1)
        A2 = A1[:12, :12].reshape(4, 3, 4, 3).max(axis=(1, 3))     # the 13th row and column ignored
        np.testing.assert_array_equal(image_of(panels[f"A2[{h}]"]), A2)
    # the square leaves only its horizontal and vertical maps alive
    assert image_of(panels["A2[0]"]).max() == 3 and image_of(panels["A2[2]"]).max() == 0
    bar, = legibility._colorbars(panels["N1[0]"].figure)                 # N1, A1 and A2 share it
    assert (bar.mappable.norm.vmin, bar.mappable.norm.vmax) == (-6, 6)    # N1 = LW ⊗ P - 3 spans -6..3
    assert all(panels[f"{k}[{h}]"].images[0].norm.vmax == 6 for k in ("N1", "A1", "A2") for h in range(4))


def test_figure_8_10_labels_every_size():
    texts = " ".join(all_texts(plotting.figure_8_10()))
    assert "1×15×15" in texts and "4×13×13" in texts and "4×4×4" in texts and "4×1×3×3" in texts
    texts = " ".join(all_texts(plotting.figure_8_10((2, 10, 12), (5, 3, 5), size=2)))
    assert "5×8×8" in texts and "5×4×4" in texts and "5×2×3×5" in texts


@pytest.fixture(scope="module")
def small_net():
    return network.network((1, 15, 15), [dict(H=2, r=3, size=2), dict(H=3, r=2, size=2)], 2, rng=1)


def test_figure_8_11_shows_each_layer_of_the_forward_pass(small_net):
    panels = axes_by_label(plotting.figure_8_11(small_net, data.FIGURE_8_4_SQUARE))
    A = network.forward(small_net, data.FIGURE_8_4_SQUARE[None, None])["A"]
    np.testing.assert_array_equal(image_of(panels["A0[0]"]), data.FIGURE_8_4_SQUARE)
    for m in (1, 2, 3, 4):
        for h in range(A[m].shape[1]):
            np.testing.assert_allclose(image_of(panels[f"A{m}[{h}]"]), A[m][0, h])
    np.testing.assert_allclose(image_of(panels["p"])[:, 0], tc.vec(A[4][0]))
    heights = [bar.get_height() for bar in panels["output"].patches]
    np.testing.assert_allclose(heights, A[5][0])
    assert abs(sum(heights) - 1) < 1e-12


def test_kernels_and_training_figures(small_net):
    panels = axes_by_label(plotting.kernels_figure(small_net))
    np.testing.assert_array_equal(image_of(panels["LW3[2,1]"]), small_net.layers[1].LW[2, 1])
    np.testing.assert_array_equal(image_of(panels["LW1[1,0]"]), small_net.layers[0].LW[1, 0])
    assert len([k for k in panels if k.startswith("LW")]) == 2 * 1 + 3 * 2
    for m, layer in ((1, small_net.layers[0]), (3, small_net.layers[1])):       # one scale per layer
        vmax = np.abs(layer.LW).max()
        norms = {(ax.images[0].norm.vmin, ax.images[0].norm.vmax) for k, ax in panels.items()
                 if k.startswith(f"LW{m}[")}
        assert norms == {(-vmax, vmax)}
    assert len(legibility._colorbars(plotting.kernels_figure(small_net))) == 2
    ax = axes_by_label(plotting.training_figure([0.5, 0.2, 0.1], accuracy=0.75))["loss"]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [0.5, 0.2, 0.1])
    assert ax.get_title() == "training accuracy 75%"


# ---- Gradient ------------------------------------------------------------------------------

def test_figure_8_12_paths_agree_with_independent_routes():
    fig = plotting.figure_8_12(seed=3)
    panels = axes_by_label(fig)
    value = {k: image_of(ax) for k, ax in panels.items()}
    Nn, LW, dNm = value["Nn"], value["LW"], value["dNm"]
    An = np.maximum(Nn, 0)
    assert (Nn != 0).all() and np.array_equal(value["An"], An)
    np.testing.assert_array_equal(value["LZ"], correlate(LW, An))
    np.testing.assert_array_equal(value["dLZ"], dNm)                                      # 8.35
    assert value["db"][0, 0] == dNm.sum()                                                 # 8.37
    M = tc.conv_matrix(LW, An.shape)                       # 8.12: backward is the transpose
    np.testing.assert_allclose(value["dAn"], tc.unvec(M.T @ tc.vec(dNm), An.shape))        # 8.45
    np.testing.assert_array_equal(value["dLW"], correlate(dNm, An))                 # 8.48
    np.testing.assert_array_equal(value["dNn"], value["dAn"] * (Nn > 0))                   # 8.53
    assert grid_texts(panels["dAn"])[1, 1] == plotting.fmt(value["dAn"][1, 1])
    assert value["Nm"].shape == (3, 3) and (value["Nm"] - value["LZ"] == 1).all()


def test_derivations_markdown_shows_latex_statement_outcome_and_erratum(monkeypatch):
    from textbook_core import derivations

    text = plotting.derivations_markdown(["8.35"])
    assert derivations.registry()["8.35"].latex in text and text.count("✓ holds") == 1

    def wrong():
        raise AssertionError("differ at index (0,)")

    fake = {"X": derivations.Check("X", "a_{i}_b `q`", r"x^2", wrong, "p_1 -> p_2")}
    monkeypatch.setattr(derivations, "registry", lambda: fake)
    text = plotting.derivations_markdown(["X"])
    assert "**(X)** $$x^2$$" in text and "`a_{i}_b 'q'`" in text
    assert "✗ fails: differ at index (0,)" in text and "*Erratum:* `p_1 -> p_2`" in text
    assert "✗" not in plotting.derivations_markdown(["X"], run=False)


def test_gradient_check_figure_plots_each_pair():
    a, n = np.array([[1.0, -2.0]]), np.array([[1.0, -2.0 + 1e-7]])
    ax = axes_by_label(plotting.gradient_check_figure({"dA": (a, n)}))["dA"]
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), n.ravel())
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), a.ravel())
    assert "1.0e-07" in ax.get_title()


# ---- Registry and gallery ------------------------------------------------------------------

def test_every_figure_of_the_chapter_has_a_function():
    assert list(plotting.FIGURES) == [f"8.{k}" for k in range(1, 13)]


def test_gallery_writes_one_png_per_picture(tmp_path, monkeypatch):
    stems = [stem for stem, _ in gallery.pictures()]
    assert len(set(stems)) == len(stems) and {f"figure_8_{k}" for k in range(1, 13)} <= set(stems)
    few = [(stem, make) for stem, make in gallery.pictures() if stem in ("figure_8_1", "figure_8_5", "training")]
    monkeypatch.setattr(gallery, "pictures", lambda: few)      # every picture is drawn by the legibility test
    monkeypatch.setattr(gallery, "trained_network", lambda seed=0: pytest.fail("no network needed"))
    few[2] = ("training", lambda: plotting.training_figure([0.7, 0.3]))
    assert gallery.main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure_8_1.png", "figure_8_5.png", "training.png"]
    for path in tmp_path.iterdir():
        content = path.read_bytes()
        assert content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) > 5000


def test_fmt_and_grid_helpers():
    assert [plotting.fmt(v) for v in (3.0, -0.0, 0.5, 1 / 3, -12.5)] == ["3", "0", "0.5", "0.333", "-12.5"]
    fig = plotting.new_figure(2, 2)
    ax = fig.add_subplot()
    plotting.draw_grid(ax, [[0, 1], [1, 0]], label="tiny")
    assert grid_texts(ax).tolist() == [["0", "1"], ["1", "0"]]
    assert ax.images[0].get_cmap().name == plotting.BINARY
    plotting.draw_grid(ax, [[-2, 1]], text=[["a", ""]])
    assert ax.images[-1].norm.vmin == -2 and ax.images[-1].norm.vmax == 2


# ---- Legibility: every picture of `make gallery`, as a student sees it at notebook width ----

@pytest.fixture(scope="module")
def pictures():
    """The gallery's pictures (Figure 8.11's network trained once, for the module)."""
    return dict(gallery.pictures())


@pytest.mark.parametrize("stem", [stem for stem, _ in gallery.pictures()])
def test_gallery_figure_is_legible(pictures, stem):
    """No two texts overlap, none leaves the figure or its cell, none is too small at notebook
    width, and every colour that stands for a value is explained (colorbar or written values)."""
    assert legibility.problems(pictures[stem]()) == []


def test_gallery_covers_every_figure_the_walkthroughs_draw():
    import json
    import re

    called = set()
    for path in sorted((gallery.pathlib.Path(__file__).parents[1] / "notebooks").glob("0*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                called |= set(re.findall(r"plotting\.(\w+)\(", "".join(cell["source"])))
    source = gallery.pathlib.Path(gallery.__file__).read_text()
    covered = set(re.findall(r"plotting\.(\w+)\b", source)) | {f"figure_8_{k}" for k in range(1, 13)}
    not_figures = {"derivations_markdown", "train_figure_8_11", "slides_animation"}   # text; a net; frames
    assert called - covered - not_figures == {"gradient_check_figure"}     # checked below, on its own data


def test_gradient_check_figure_is_legible():
    rng = np.random.default_rng(0)
    names = ["dLZ (8.35)", "db (8.37)", "dA (8.45)", "dLW (8.48)", "dN (8.53)", "max pool dA (E8.8)",
             "avg pool dA (P8.3)", "product db (E8.9)"]                    # notebook 05's eight paths
    checks = {}
    for name in names:
        a = rng.normal(size=(2, 4, 4))
        checks[name] = (a, a + rng.normal(scale=1e-9, size=a.shape))
    assert legibility.problems(plotting.gradient_check_figure(checks)) == []


def _bad_figure():
    fig = plotting.new_figure(16, 3)                   # 16 inches: shrunk to 900 pixels
    axes = fig.subplots(1, 2)
    plotting.draw_grid(axes[0], [[1.0, 2.0], [3.0, 4.0]], text=[["w_{1,1}·0w_{1,2}·0", "x"], ["", ""]],
                       fontsize=30, label="crowded")
    axes[1].imshow(np.arange(6.0).reshape(2, 3), cmap="viridis")
    axes[1].set_label("no colorbar")
    axes[1].set_title("tiny", fontsize=5)
    fig.text(0.995, 0.5, "off the edge", fontsize=12)
    return fig


def test_legibility_finds_each_kind_of_problem():
    fig = _bad_figure()
    found = legibility.problems(fig)
    assert any(line.startswith("overlap: 'w_{1,1}·0w_{1,2}·0' (crowded) and 'x' (crowded)") for line in found)
    assert "wider than its cell: 'w_{1,1}·0w_{1,2}·0' (crowded)" in found
    assert "outside the figure: 'off the edge' (figure)" in found
    assert any(line.startswith("too small at notebook width: 'tiny' (no colorbar), 3.9 px") for line in found)
    assert "colours without a colorbar or values: no colorbar" in found
    assert "colours without a colorbar or values: crowded" in found         # two cells left blank
    ax = axes_by_label(fig)["no colorbar"]
    plotting.colorbar(fig, ax.images[0], ax)
    assert "colours without a colorbar or values: no colorbar" not in legibility.problems(fig)


def test_fit_cell_texts_shrinks_only_what_does_not_fit():
    fig = plotting.new_figure(4, 2)
    ax = fig.add_subplot()
    plotting.draw_grid(ax, np.zeros((1, 3)), text=[["0.111", "w_{2,1}p_{3,1} w_{2,2}p_{3,2}", "1"]], fontsize=12)
    plotting.fit_cell_texts(fig)
    sizes = [t.get_fontsize() for t in ax.texts]
    assert sizes[0] == 12 and sizes[2] == 12 and sizes[1] < 12
    assert legibility.overflowing_cells(fig) == []
