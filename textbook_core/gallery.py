"""Write every figure of the chapter, and the walkthroughs' other pictures, as PNG files.

Usage::

    python -m textbook_core.gallery OUT_DIR

One file per figure: ``figure_8_1.png`` ... ``figure_8_12.png`` (8.11 after training the
network of `textbook_core.network` on squares and diamonds, a few seconds), then the other
pictures of `textbook_core.plotting` (impulse response, weight sharing, padding modes, a step
of the sliding window, the photograph with the slides' kernels, learned kernels, training).
"""
import argparse
import pathlib
import sys
import time

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
    ]
    return items


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
