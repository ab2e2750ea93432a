"""textbook_core.derivations: every symbolic check runs and passes, the label set is complete,
a wrong library makes the checks fail, and the command line prints one line per label."""
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import textbook_core as tc
from textbook_core import derivations as dv


def test_worked_example_by_hand():
    # 8.36-8.37 on dN = [[1, 2], [3, 4]]: db = 1 + 2 + 3 + 4 = 10. Average pooling over the whole
    # FM (8.37 as printed) gives 10 / 4 = 2.5; with the weight w = 1 it gives the sum, 10.
    dN = np.array([[[1, 2], [3, 4]]])
    assert tc.summation_db(dN)[0] == 10
    assert tc.avg_pool(dN, (2, 2))[0, 0, 0] == 2.5
    assert tc.avg_pool(dN, (2, 2), w=1)[0, 0, 0] == 10
    # The comparison helpers: equal after expansion passes; a difference names its index.
    a, b = sp.symbols("a b")
    dv.same([(a + b) ** 2], [a**2 + 2 * a * b + b**2], "square")
    with pytest.raises(AssertionError, match=r"a vs b: differ at index \(1,\): b != a"):
        dv.same([a, b], [a, a], "a vs b")
    with pytest.raises(AssertionError, match=r"shape \(1,\), expected \(2,\)"):
        dv.same([a], [a, b], "shapes")
    dv.fails([a], [b], "a printed form that fails")
    with pytest.raises(AssertionError, match="the printed form holds here"):
        dv.fails([a + b], [b + a], "a printed form that holds")


EXPECTED = ({f"8.{k}" for k in range(1, 54)} | {f"P8.{k}" for k in range(1, 5)} | {"E8.7", "E8.8", "E8.9"}
            | {"wu-kron", "linearity", "full-size", "1d-multichannel-backward", "dL/dX-full-rot180",
               "dL/dK-sum", "dL/dB", "same-padding"})
# Beyond the chapter (stride 1, no padding): what the library promises on top, label "eq+what".
BEYOND = {"8.12+pad-stride", "8.21+pad-stride", "8.22+stride", "8.24+stride", "8.44+pad-stride", "8.47+pad-stride",
          "P8.3+stride", "P8.4+stride", "1d-multichannel-backward+pad-stride", "E8.8+tie", "E8.8+indices"}
# The checks that restate an exercise's answer live in derivations/exercises.py alone.
EXERCISES = {"E8.7", "E8.8", "E8.9", "same-padding", "E8.8+tie", "E8.8+indices"}


def test_every_label_is_registered():
    missing = (EXPECTED | BEYOND) - set(dv.checks())
    assert not missing, f"labels without a check: {sorted(missing)}"
    assert all(label.startswith(("8.", "P8.", "E8.", "1d-")) and "Beyond the" in dv.registry()[label].statement
               for label in BEYOND)


def test_one_module_per_section_and_the_exercise_answers_in_their_own():
    modules = {label: dv.registry()[label].func.__module__ for label in dv.checks()}
    answers = {label for label, module in modules.items() if module == "textbook_core.derivations.exercises"}
    assert answers == EXERCISES
    for label, section in [("8.13", "why"), ("P8.2", "why"), ("8.18", "details"), ("8.24", "hierarchy"),
                           ("8.37", "gradient.sensitivities"), ("8.44+pad-stride", "gradient.weights"),
                           ("8.53", "gradient.activation"), ("P8.4+stride", "gradient.pooling"), ("wu-kron", "lecture")]:
        assert modules[label] == f"textbook_core.derivations.{section}", label
    root = Path(dv.__file__).parent
    sizes = {path.name: len(path.read_text().splitlines()) for path in root.rglob("*.py")}
    assert max(sizes.values()) < 450, sizes


def test_the_package_runs_without_the_exercises(tmp_path):
    """The student edition leaves derivations/exercises.py out: the rest imports, registers and runs."""
    import shutil
    shutil.copytree(Path(tc.__file__).parent, tmp_path / "textbook_core",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "textbook_core" / "derivations" / "exercises.py").unlink()
    code = ("import textbook_core, textbook_core.derivations as dv; "
            "assert textbook_core.__file__.startswith(%r), textbook_core.__file__; "
            "labels = set(dv.checks()); print(len(labels), sorted(labels & %r)); "
            "raise SystemExit(dv.main(['8.1', '8.44+pad-stride', 'P8.3']))") % (str(tmp_path), EXERCISES)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    count, answers = proc.stdout.splitlines()[0].split(" ", 1)
    assert answers == "[]" and int(count) == len(dv.checks()) - len(EXERCISES)
    assert "8.44+pad-stride  PASS" in proc.stdout


def test_records_render_on_one_line():
    for label, entry in dv.registry().items():
        assert entry.label == label
        for text in (entry.statement, entry.latex) + ((entry.erratum,) if entry.erratum else ()):
            assert text.strip() and "\n" not in text, (label, text)


def test_errata_page_lists_every_erratum_check():
    page = (Path(__file__).resolve().parents[1] / "docs" / "errata.md").read_text()
    for label, entry in dv.registry().items():
        if entry.erratum:
            assert f"`{label}`" in page, f"docs/errata.md does not cite the check {label}"


@pytest.mark.parametrize("label", list(dv.checks()))
def test_check(label):
    assert dv.checks()[label]() is None


def _library_with(**wrong):
    """The public API with some functions replaced."""
    fake = types.SimpleNamespace(**{name: getattr(tc, name) for name in tc.__all__})
    for name, function in wrong.items():
        setattr(fake, name, function)
    return fake


def _use_library(monkeypatch, fake):
    """Let every module of the derivations package see `fake` as textbook_core."""
    modules = [m for name, m in sorted(sys.modules.items()) if name.startswith("textbook_core.derivations")
               and getattr(m, "tc", None) is tc]
    assert len(modules) >= 8, [m.__name__ for m in modules]
    for module in modules:
        monkeypatch.setattr(module, "tc", fake)


WRONG = {
    # correlation that flips the kernel (a convolution)
    "correlate": (lambda W, P, **kw: tc.correlate(tc.rot180(W), P, **kw), ["8.9", "8.11", "8.13", "8.48"]),
    # the input gradient without the 180-degree rotation
    "conv_da": (lambda dLZ, LW, shape, **kw: tc.conv_da(dLZ, tc.rot180(LW), shape, **kw),
                ["8.28", "8.29", "8.39", "8.41", "8.44", "8.45", "8.50", "1d-multichannel-backward"]),
    # the bias gradient as a mean instead of a sum (8.37 as printed)
    "summation_db": (lambda dN: tc.summation_db(dN) / (np.shape(dN)[-1] * np.shape(dN)[-2]), ["8.30", "8.36", "dL/dB"]),
    # the printed size formula, without the floor
    "output_size": (lambda R, r, padding=0, stride=1: (R + 2 * padding - r) / stride + 1, ["8.18", "8.19"]),
    # the matrix product instead of the Hadamard product
    "activation_dn": (lambda dA, fd: np.matmul(np.asarray(fd), np.asarray(dA)), ["8.53"]),
    # the kernel gradient with dLZ flipped
    "conv_dlw": (lambda dLZ, A, **kw: tc.conv_dlw(np.asarray(dLZ)[..., ::-1, ::-1], A, **kw), ["8.31", "8.46", "8.47"]),
    # max pooling backward that spreads the gradient over the whole window
    "max_pool_da": (lambda dLZ, A, size, stride=None, indices=None: tc.avg_pool_da(dLZ, size, w=1, stride=stride,
                                                                                   input_shape=np.shape(A)), ["E8.8"]),
}


def _conv_da_swapped_padding(dLZ, LW, input_shape, padding=0, stride=1):
    """conv_da on the padded input, cropped with the row and column padding swapped."""
    pr, pc = (padding, padding) if np.ndim(padding) == 0 else padding
    R_r, R_c = input_shape[-2:]
    full = tc.conv_da(dLZ, LW, tuple(input_shape[:-2]) + (R_r + 2 * pr, R_c + 2 * pc), stride=stride)
    return full[..., pc: pc + R_r, pr: pr + R_c]


def _max_pool_da_last(dLZ, A, size, stride=None, indices=None):
    """max_pool_da that sends a tie to the last maximum: the first one of the windows turned around
    (exact for windows that cover the input, as the tie checks use)."""
    flip = (Ellipsis, slice(None, None, -1), slice(None, None, -1))
    return tc.max_pool_da(np.asarray(dLZ)[flip], np.asarray(A)[flip], size, stride=stride)[flip]


# Issue 12: wrong versions that passed every check while the checks stopped where the chapter stops.
WRONG_BEYOND = {
    "conv_da ignoring padding and stride": (
        "conv_da", lambda dLZ, LW, shape, padding=0, stride=1: tc.conv_da(dLZ, LW, shape), ["8.44+pad-stride"]),
    "conv_dlw ignoring padding and stride": (
        "conv_dlw", lambda dLZ, A, padding=0, stride=1, kernel_shape=None: tc.conv_dlw(dLZ, A, kernel_shape=kernel_shape),
        ["8.47+pad-stride"]),
    "conv_da cropping with the row and column padding swapped": (
        "conv_da", _conv_da_swapped_padding, ["8.44+pad-stride"]),
    "avg_pool_dlw ignoring the stride": (
        "avg_pool_dlw", lambda dLZ, A, size, stride=None: tc.avg_pool_dlw(dLZ, A, size), ["P8.4+stride"]),
    "max_pool_da sending ties to the last maximum": ("max_pool_da", _max_pool_da_last, ["E8.8+tie"]),
    "avg_pool_da ignoring the stride": (
        "avg_pool_da", lambda dLZ, size, w=None, stride=None, input_shape=None: tc.avg_pool_da(
            dLZ, size, w=w, input_shape=input_shape), ["P8.3+stride"]),
    "correlate_fms ignoring the row padding": (
        "correlate_fms", lambda LW, A, padding=0, stride=1: tc.correlate_fms(
            LW, A, padding=(0, padding[1]) if np.ndim(padding) else (0, padding), stride=stride)
        if np.ndim(LW) == 4 else tc.correlate_fms(LW, A, padding=padding, stride=stride), ["8.21+pad-stride"]),
    "max_pool_da ignoring the given indices' batch broadcast": (
        "max_pool_da", lambda dLZ, A, size, stride=None, indices=None: tc.max_pool_da(
            dLZ, A, size, stride=stride, indices=None if indices is None else np.zeros_like(indices)), ["E8.8+indices"]),
}


def test_the_wrong_versions_are_what_they_say():
    """Each wrong version is right where the chapter looks (no tie, symmetric padding, stride 1)."""
    A = np.array([[2, 2, 1, 3], [0, 2, 3, 3]])
    np.testing.assert_array_equal(_max_pool_da_last(np.ones((1, 2)), A, 2), [[0, 0, 0, 0], [0, 1, 0, 1]])
    np.testing.assert_array_equal(tc.max_pool_da(np.ones((1, 2)), A, 2), [[1, 0, 0, 1], [0, 0, 0, 0]])
    distinct = np.array([[1, 5, 2, 0], [3, 4, 6, 1]])
    np.testing.assert_array_equal(_max_pool_da_last(np.ones((1, 2)), distinct, 2), tc.max_pool_da(np.ones((1, 2)), distinct, 2))
    dLZ, LW = np.random.default_rng(0).standard_normal((2, 1, 3, 4)), np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(_conv_da_swapped_padding(dLZ, LW, (2, 1, 2, 3), padding=1),
                                  tc.conv_da(dLZ, LW, (2, 1, 2, 3), padding=1))


@pytest.mark.parametrize("wrong", list(WRONG_BEYOND))
def test_each_wrong_version_of_issue_12_fails_a_check(monkeypatch, wrong):
    name, function, labels = WRONG_BEYOND[wrong]
    _use_library(monkeypatch, _library_with(**{name: function}))
    for label in labels:
        with pytest.raises(AssertionError):
            dv.checks()[label]()


@pytest.mark.parametrize("name", list(WRONG))
def test_a_wrong_library_fails_the_checks(monkeypatch, name):
    function, labels = WRONG[name]
    _use_library(monkeypatch, _library_with(**{name: function}))
    for label in labels:
        with pytest.raises(AssertionError):
            dv.checks()[label]()


def test_a_library_error_is_reported_as_a_failed_check(monkeypatch):
    def broken(*args, **kwargs):
        raise TypeError("cannot handle symbols")
    _use_library(monkeypatch, _library_with(correlate=broken))
    with pytest.raises(AssertionError, match="8.9: the library raised TypeError: cannot handle symbols"):
        dv.checks()["8.9"]()


LINE = re.compile(r"^(?P<label>\S+) +(?P<status>PASS|FAIL)  (?P<statement>\S.*)$")


def test_main_exit_status_and_lines(capsys):
    assert dv.main(["8.1", "8.37"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [LINE.match(line)["label"] for line in out] == ["8.1", "8.37"]
    assert all(LINE.match(line)["status"] == "PASS" for line in out)

    def wrong():
        raise AssertionError("1 != 2")
    failing = {"one-is-two": dv.Check("one-is-two", "1 = 2", "1 = 2", wrong)}
    assert dv.main([], checks_=failing) == 1
    captured = capsys.readouterr()
    assert captured.out == "one-is-two  FAIL  1 = 2\n"
    assert "FAIL one-is-two: 1 != 2" in captured.err
    assert dv.main(["no-such-label"]) == 2
    assert "unknown label(s): no-such-label" in capsys.readouterr().err


def test_command_line_runs_every_check():
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "textbook_core.derivations"], cwd=root,
                          capture_output=True, text=True, timeout=600)
    lines = proc.stdout.splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), [line for line, m in zip(lines, matches) if not m]
    registry = dv.registry()
    assert [m["label"] for m in matches] == list(registry)
    assert all(m["statement"] == registry[m["label"]].statement for m in matches)
    failed = [m["label"] for m in matches if m["status"] == "FAIL"]
    assert proc.returncode == (1 if failed else 0), proc.stderr
    assert re.search(rf"{len(lines)} checks, {len(failed)} failed, [0-9.]+ s", proc.stderr)
