"""Figures of section "Gradient calculation" (Figure 8.12), the derivations as Markdown, and gradient checks."""
import numpy as np

import textbook_core as tc

from .grids import SIGNED, _arrow, draw_grid, fmt, new_figure, panel_axes


def backprop_example(seed=0):
    """A one-FM layer with small integers for Figure 8.12: every array on its paths.

    Layer n has net input N^n (4x4, no zeros) and A^n = poslin(N^n); layer m has the 2x2 kernel
    LW^{m,n} and bias b^m; dN^m (3x3) is a random upstream sensitivity. The backward arrays are
    the library's paths 8.35, 8.37, 8.45, 8.48 and 8.53.
    """
    rng = np.random.default_rng(seed)
    Nn = rng.choice([-3, -2, -1, 1, 2, 3], size=(4, 4)).astype(float)
    An = np.maximum(Nn, 0)
    LW = rng.integers(-2, 3, size=(2, 2)).astype(float)
    b = 1.0
    LZ = tc.correlate(LW, An)
    Nm = LZ + b
    dNm = rng.integers(-3, 4, size=Nm.shape).astype(float)
    dLZ = tc.summation_dlz(dNm)
    db = tc.summation_db(dNm)
    dAn = tc.conv_da(dLZ[None], LW[None, None], An.shape)[0]
    dLW = tc.conv_dlw(dLZ[None], An[None])[0, 0]
    dNn = tc.activation_dn(dAn, (Nn > 0).astype(float))
    return {"Nn": Nn, "An": An, "LW": LW, "b": b, "LZ": LZ, "Nm": Nm, "dNm": dNm, "dLZ": dLZ,
            "db": db, "dAn": dAn, "dLW": dLW, "dNn": dNn}


def figure_8_12(seed=0):
    """Figure 8.12: backpropagating across a layer, every path with its numbers.

    Forward (top row): N^n -> A^n -> LZ^{m,n} = LW (x) A^n -> N^m = LZ + b^m. Backward (middle
    row, right to left): dN^m -> dLZ^{m,n} (8.35) -> dA^n (8.45) -> dN^n (8.53). The gradient
    (bottom row): dN^m -> db^m (8.37) and dLZ^{m,n} -> dLW^{m,n} (8.48). Values from
    `backprop_example`.
    """
    ex = backprop_example(seed)
    mosaic = [[".", ".", "LW", "."],
              ["Nn", "An", "LZ", "Nm"],
              ["dNn", "dAn", "dLZ", "dNm"],
              [".", ".", "dLW", "db"]]
    fig = new_figure(12, 11)
    ax = fig.subplot_mosaic(mosaic, height_ratios=[2, 4, 4, 3])
    fig.get_layout_engine().set(wspace=0.12, hspace=0.06)
    grids = [
        ("Nn", r"$N^n$"), ("An", r"$A^n = f^n(N^n)$, poslin"), ("LW", r"$LW^{m,n}$, used by 8.21 and 8.45"),
        ("LZ", r"$LZ^{m,n} = LW \otimes A^n$ (8.21)"), ("Nm", rf"$N^m = LZ + b^m$, $b^m = {fmt(ex['b'])}$"),
        ("dNm", r"$dN^m$ (given)"), ("dLZ", r"$dLZ^{m,n} = dN^m$ (8.35)"),
        ("dAn", r"$dA^n = $rot180$(LW) \otimes dLZ$ (8.45)"),
        ("dNn", r"$dN^n = {\dot{F}}^{n} \circ dA^n$ (8.53)"),
        ("dLW", r"$dLW^{m,n} = dLZ \otimes A^n$ (8.48)"),
    ]
    for key, title in grids:
        draw_grid(ax[key], ex[key], fontsize=10, label=key, title=title, cmap=SIGNED)
    draw_grid(ax["db"], np.array([[ex["db"]]]), fontsize=12, label="db", cmap=SIGNED,
              title=r"$db^m = \sum_{i,j} dn^m_{i,j}$ (8.37)")
    for key in ("dLW", "db"):       # titles below, so the arrows from above stay clear
        ax[key].set_xlabel(ax[key].get_title(), fontsize=10)
        ax[key].set_title("")
    for a, b_ in [("Nn", "An"), ("An", "LZ"), ("LZ", "Nm")]:
        _arrow(fig, ax[a], ax[b_], color="0.35")
    for a, b_ in [("dNm", "dLZ"), ("dLZ", "dAn"), ("dAn", "dNn")]:
        _arrow(fig, ax[a], ax[b_], side="left", color="tab:red")
    _arrow(fig, ax["dNm"], ax["db"], side="down", color="tab:red")
    _arrow(fig, ax["dLZ"], ax["dLW"], side="down", color="tab:red")
    fig.suptitle("forward (black) and backward (red) across layer m, from layer n", fontsize=11)
    return fig


def derivations_markdown(labels, *, run=True):
    """The derivation steps `labels` of `textbook_core.derivations` as Markdown with LaTeX.

    Each step shows its equation, what sympy checks and, with ``run=True``, the outcome of
    running the check now (the library's code on symbols against the printed sum and
    ``sympy.diff``); where the printed equation is wrong, the erratum.
    """
    from ..derivations import registry

    records = registry()
    lines = []
    for label in labels:
        c = records[label]
        outcome = ""
        if run:
            try:
                c.func()
                outcome = "✓ holds"
            except AssertionError as err:
                outcome = f"✗ fails: {err}"
        lines.append(f"**({label})** $${c.latex}$$")
        statement = c.statement.replace("`", "'")       # plain text: a code span, not Markdown
        lines.append(f"> sympy checks `{statement}` {outcome}".rstrip())
        if c.erratum:
            lines.append(f">\n> *Erratum:* `{c.erratum.replace('`', chr(39))}`")
        lines.append("")
    return "\n".join(lines)


def gradient_check_figure(checks):
    """Analytic against numerical derivatives, one panel per path.

    `checks` maps a path's name to a pair (analytic, numerical) of equal-shaped arrays; every
    element is one point, and the points lie on the diagonal when the derivation is right.
    """
    cols = min(3, len(checks))
    rows = -(-len(checks) // cols)
    fig = new_figure(3.3 * cols, 3.4 * rows)
    axes = panel_axes(fig, len(checks), cols)
    for ax, (name, (analytic, numeric)) in zip(axes, checks.items()):
        analytic, numeric = np.ravel(analytic), np.ravel(numeric)
        lim = float(max(np.abs(analytic).max(), np.abs(numeric).max(), 1e-12)) * 1.1
        ax.plot([-lim, lim], [-lim, lim], color="0.7", linewidth=1)
        ax.plot(numeric, analytic, "o", color="tab:blue", markersize=4)
        err = float(np.abs(analytic - numeric).max())
        ax.set_title(f"{name}\nmax |error| = {err:.1e}", fontsize=10)
        ax.set_xlabel("central difference", fontsize=9)
        ax.set_ylabel("library path", fontsize=9)
        ax.set_aspect("equal")
        ax.set_label(name)
    return fig
