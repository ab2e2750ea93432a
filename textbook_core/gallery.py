"""Write every figure of the chapter, and the walkthroughs' other pictures, as PNG files.

Usage::

    python -m textbook_core.gallery OUT_DIR

One file per figure: ``figure_8_1.png`` ... ``figure_8_12.png`` (8.11 after training the
network of `textbook_core.network` on squares and diamonds, a few seconds), then the other
pictures of `textbook_core.plotting` (impulse response, weight sharing, padding modes, a step
of the sliding window, the photograph with the slides' kernels, learned kernels, training), and
the variants the walkthroughs show (a blur's and a flip's impulse response, correlation and
convolution side by side, the padding layout, a frame of the slides' animation, ...), so that
every picture a student meets is here and `tests/test_plotting.py` checks each one for
overlapping, clipped, overflowing or too small text and for colours nobody explains.
"""
import argparse
import pathlib
import sys
import time

import numpy as np

import textbook_core as tc
from . import data, plotting


def trained_network(seed=0):
    """Figure 8.11's trained network: `plotting.train_figure_8_11` (net, history, seconds)."""
    return plotting.train_figure_8_11(seed)


def pictures():
    """(file stem, function of no arguments returning a Figure) for every gallery picture."""
    trained = {}

    def net():
        if "net" not in trained:
            trained["net"], trained["history"], _ = trained_network()
        return trained["net"]

    def history():
        net()
        return trained["history"]

    items = [(f"figure_{number.replace('.', '_')}", fn) for number, fn in plotting.FIGURES.items()
             if number != "8.11"]
    items.insert(10, ("figure_8_11", lambda: plotting.figure_8_11(net())))
    items += [
        ("impulse_response", plotting.impulse_response_figure),
        ("weight_sharing", plotting.weight_sharing_figure),
        ("padding_modes", plotting.padding_modes_figure),
        ("sliding_window", lambda: plotting.sliding_window_figure(
            data.SLIDE_IMAGE, data.SLIDE_DETECTOR, step=12)),
        ("photo_kernels", plotting.photo_kernels_figure),
        ("learned_kernels", lambda: plotting.kernels_figure(net())),
        ("training", lambda: plotting.training_figure(history())),
        ("padding_and_stride", lambda: plotting.correlation_layout((3, 3), (2, 2), padding=1, stride=2)),
        # the walkthroughs' variants (notebooks/0[1-5]_*.ipynb)
        ("blur_response", lambda: plotting.impulse_response_figure(_blur, data.E8_1_IMAGE)),
        ("flip_response", lambda: plotting.impulse_response_figure(_flip, data.E8_1_IMAGE)),
        ("sliding_correlation", lambda: plotting.sliding_window_figure(
            data.E8_1_IMAGE, data.E8_6_KERNEL, step=16, operation="correlate")),
        ("sliding_convolution", lambda: plotting.sliding_window_figure(
            data.E8_1_IMAGE, data.E8_6_KERNEL, step=16, operation="convolve")),
        ("sliding_padding_stride", lambda: plotting.sliding_window_figure(
            data.E8_1_IMAGE, data.E8_1_KERNEL, padding=1, stride=2, step=5)),
        ("weight_sharing_4x3", lambda: plotting.weight_sharing_figure((4, 3), (2, 2))),
        ("padding_layout", lambda: plotting.correlation_layout((3, 3), (2, 2), padding=1)),
        ("slides_frame", lambda: plotting.slides_figure(12)),
        ("figure_8_9_diamond", lambda: plotting.figure_8_9(data.FIGURE_8_4_DIAMOND)),
        ("figure_8_11_square", lambda: plotting.figure_8_11(net(), data.FIGURE_8_4_SQUARE)),
        ("figure_8_11_small_square", lambda: plotting.figure_8_11(net(), data.square(15, side=5, top=2, left=6))),
    ]
    return items


def _blur(image):
    """Notebook 01's blur: the 3x3 average, SAME padding."""
    return tc.correlate(np.ones((3, 3)) / 9, image, padding=1)


def _flip(image):
    """Notebook 01's flip: upside down and left to right."""
    return np.asarray(image)[::-1, ::-1]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m textbook_core.gallery", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=pathlib.Path, help="folder for the PNG files (created if needed)")
    parser.add_argument("--dpi", type=int, default=100)
    args = parser.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")     # files only, no window
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for stem, make in pictures():
        start = time.perf_counter()
        fig = make()
        path = args.out_dir / f"{stem}.png"
        fig.savefig(path, dpi=args.dpi)
        print(f"{path}  ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
