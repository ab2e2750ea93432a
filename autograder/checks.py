"""Grading helpers that the Chapter 8 notebooks import: compare an answer, say what is wrong.

Every test cell of ``solutions/ch08`` calls these, so the feedback rules live here once:

- a *visible check* (`verify`, `verify_function`, inside `visible_check`) tells a student whether
  an answer is right before submission without revealing it: it compares a salted hash of the
  rounded answer with its entry in ``answer_key.json`` (next to this file; `digest`), recognises the typical
  mistakes of `autograder.catalogue` by their hashes and names them, and says when an answer is
  right to a few significant digits only;
- a *hidden test* compares an answer with a reference value computed by `textbook_core` (never with
  the student's other answers, so one missing answer cannot fail another part) and says *what*
  is wrong (type, shape, which entries, which probe) but never the expected values (`compare`);
- known mistakes are named there too: the correlation where a convolution was asked (or the
  reverse), a kernel transposed or flipped on one axis only, a padding or stride that is off
  (`conv_alternatives`);
- functions (E8.1, E8.2, E8.4, E8.6 by hand; E8.7-E8.9) are run on probes (`check_function`,
  `by_hand`; probes from `by_hand_cases`, `max_pool_cases`, `product_cases`, `size_cases`), and
  may be forbidden to hand the work to a library function (`forbid`, dotted names such as
  ``"numpy.convolve"``); a failed probe shows its input, or the line that rebuilds it;
- open designs are graded by their property: the letter signatures of E8.3 (`font_signatures`)
  and the designed network of E8.10 (`shapes_network`, `check_shapes_network`).

A failed check raises `Wrong`, an ``AssertionError`` whose message is the feedback; in Jupyter it
shows as that message alone, without a traceback through this module. A passed visible check
prints one line starting with ``ok:``.

Examples
--------
>>> W, P = np.array([[1., 2.], [0., 0.]]), np.arange(9.).reshape(3, 3)
>>> compare("Z", tc.correlate(W, P), tc.convolve(W, P),
...         alternatives=conv_alternatives(W, P, asked="convolution"))
Traceback (most recent call last):
...
autograder.checks.Wrong: `Z` is the correlation W ⊗ P, but the task asks for the convolution W * P: rotate the kernel by 180 degrees first (P8.1).
>>> compare("Z", np.zeros((2, 3)), np.zeros((2, 2)))
Traceback (most recent call last):
...
autograder.checks.Wrong: `Z` has shape (2, 3), but the answer has shape (2, 2).
"""
import contextlib
import hashlib
import itertools
import json
import string
import sys
from pathlib import Path

import numpy as np

import textbook_core as tc
from textbook_core import data

__all__ = [
    "Wrong", "answer_array", "shape", "compare", "conv_alternatives", "choice", "show",
    "digest", "verify", "verify_function", "visible_check", "answer_key",
    "check_function", "by_hand", "forbid", "Cases", "by_hand_cases", "max_pool_cases", "product_cases",
    "size_cases", "same_padding_reference", "font_signatures", "font_collisions", "check_font_kernels",
    "shapes_network", "shapes_outputs", "check_shapes_network", "check_line_kernels", "unseen_shapes",
    "edge_shapes", "random_seed", "grading_context", "drawn_seeds", "MAX_POOL_MISTAKES", "PRODUCT_DB_MISTAKES",
    "BY_HAND_CONVOLUTION", "BY_HAND_POOLING", "MAX_POOL_LIBRARY",
]

ATOL = 1e-6
"""Absolute tolerance of every numeric comparison (answers are small integers or fractions)."""

DECIMALS = 6
"""Visible checks round answers to this many decimals before hashing (about the tolerance)."""

CLOSE_DIGITS = 3
"""An answer right to this many significant digits, but not exact, gets a precision hint."""

MAX_LISTED = 6
"""At most this many wrong positions are listed in a message."""

SMALL = 8
"""Arrays with at most this many rows and columns (and entries in all) are printed in full."""

BY_HAND_CONVOLUTION = (
    "textbook_core.convolve", "textbook_core.correlate", "textbook_core.rot180",
    "textbook_core.correlate_fms", "textbook_core.conv_matrix",
    "numpy.convolve", "numpy.correlate", "numpy.rot90", "numpy.flip", "numpy.fliplr", "numpy.flipud",
    "scipy.signal.convolve", "scipy.signal.convolve2d", "scipy.signal.correlate", "scipy.signal.correlate2d",
    "scipy.signal.fftconvolve", "scipy.signal.oaconvolve", "scipy.ndimage.convolve", "scipy.ndimage.correlate",
)
"""What a convolution or correlation "by hand" (E8.1 i, E8.4, E8.6) may not hand its work to."""

BY_HAND_POOLING = (
    "textbook_core.max_pool", "textbook_core.avg_pool", "scipy.ndimage.maximum_filter",
    "skimage.measure.block_reduce",
)
"""What max pooling "by hand" (E8.2) may not hand its work to."""

MAX_POOL_LIBRARY = (
    "textbook_core.max_pool_da", "textbook_core.max_pool", "textbook_core.avg_pool",
    "textbook_core.avg_pool_da", "scipy.ndimage.maximum_filter",
)
"""E8.8: the gradient may not be read off the library, neither from its answer nor by nudging
pixels and watching how the library's pooling changes."""


class Wrong(AssertionError):
    """A failed check; the message is the student's feedback.

    IPython shows an exception through its ``_render_traceback_``: here that is the message alone,
    so a failed visible check reads as its message, not as a traceback through this module.
    """

    def _render_traceback_(self):
        lines = str(self).split("\n")
        return [f"{type(self).__name__}: {lines[0]}"] + lines[1:]


def ok(message):
    """Print a passed visible check."""
    print(f"ok: {message}")


# ---------------------------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------------------------

def answer_array(name, value):
    """`value` as a float64 array, or `Wrong` naming `name` if it is not numbers.

    >>> answer_array("Z", [[1, 2]])
    array([[1., 2.]])
    >>> answer_array("Z", "8x8")
    Traceback (most recent call last):
    ...
    autograder.checks.Wrong: `Z` must be an array of numbers, got str.
    """
    if value is None or value is Ellipsis or isinstance(value, (str, bytes, dict)):
        raise Wrong(f"`{name}` must be an array of numbers, got {type(value).__name__}.")
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(f"`{name}` must be an array of numbers (all rows the same length), "
                    f"got {type(value).__name__}.") from None
    return a


def show(value):
    """A value as a student reads it: small arrays in full, larger ones by shape and dtype.

    >>> print(show(np.array([[1, 2], [3, 4]])))
    [[1, 2],
     [3, 4]]
    >>> show(np.zeros((2, 3, 4, 6)))
    '<array of shape (2, 3, 4, 6), float64>'
    """
    if isinstance(value, np.ndarray):
        if value.size <= SMALL * SMALL and all(n <= SMALL for n in value.shape):
            return np.array2string(value, separator=", ", max_line_width=120, threshold=SMALL * SMALL + 1)
        return f"<array of shape {value.shape}, {value.dtype}>"
    if isinstance(value, (list, tuple)) and len(value) > SMALL * SMALL:
        return f"<{type(value).__name__} of {len(value)} items>"
    text = repr(value)
    return text if len(text) <= 400 else text[:400] + " ..."


def _indent(text, by="    "):
    return text.replace("\n", "\n" + by)


def shape(name, value, expected):
    """Visible check: `value` is an array of numbers of shape `expected` (shapes are no secret).

    >>> shape("Z", np.zeros((8, 8)), (8, 8))
    ok: `Z` is an array of shape (8, 8)
    >>> shape("Z", np.zeros((6, 6)), (8, 8))
    Traceback (most recent call last):
    ...
    autograder.checks.Wrong: `Z` has shape (6, 6), but the answer has shape (8, 8).
    """
    a = answer_array(name, value)
    expected = tuple(expected)
    if a.shape != expected:
        raise Wrong(f"`{name}` has shape {a.shape}, but the answer has shape {expected}.")
    if not np.all(np.isfinite(a)):
        raise Wrong(f"`{name}` contains NaN or infinite entries.")
    ok(f"`{name}` is an array of shape {expected}")


def _differences(got, expected, atol):
    """Positions (tuples) where `got` and `expected` differ by more than `atol`."""
    return [tuple(int(i) for i in idx) for idx in np.argwhere(~np.isclose(got, expected, rtol=0, atol=atol))]


def _where(positions, ndim):
    """Where the wrong entries are, in words that fit the number of axes.

    >>> _where([(1,), (3,)], 1), _where([(0, 1)], 2)
    ('at index 1, 3 (0-based)', 'at (0, 1) (0-based row, col)')
    """
    shown = positions[:MAX_LISTED]
    more = ", ..." if len(positions) > MAX_LISTED else ""
    if ndim == 1:
        return "at index " + ", ".join(str(p[0]) for p in shown) + more + " (0-based)"
    listed = ", ".join(str(p) for p in shown) + more
    if ndim == 2:
        return f"at {listed} (0-based row, col)"
    return f"at {listed} (0-based; the last two indices are row and col)"


def _significant(a, digits, how="round"):
    """`a` kept to `digits` significant digits, rounded or truncated (zeros stay zero)."""
    a = np.asarray(a, dtype=np.float64)
    magnitude = np.floor(np.log10(np.abs(a), out=np.zeros_like(a), where=a != 0))
    scale = 10.0 ** (digits - 1 - magnitude)
    scaled = a * scale
    kept = np.round(scaled) if how == "round" else np.sign(scaled) * np.floor(np.abs(scaled) + 1e-6)
    return kept / scale


def _right_digits(got, expected):
    """Significant digits to which `got` agrees with `expected` (relative to each entry, or to the
    largest entry where the answer is 0); 99 when they are equal.

    >>> _right_digits(np.array([0.3333]), np.array([1 / 3])), _right_digits(np.array([0.33]), np.array([1 / 3]))
    (4, 2)
    """
    scale = float(np.max(np.abs(expected))) if expected.size and np.any(expected) else 1.0
    worst = float(np.max(np.abs(got - expected) / np.where(expected != 0, np.abs(expected), scale), initial=0.0))
    return 99 if worst == 0 else max(0, int(np.floor(-np.log10(worst) + 1e-6)))


def _precision_hint(name, atol=ATOL):
    return (f"`{name}` is right to about {CLOSE_DIGITS} to 4 significant digits, but not exactly: the "
            f"tolerance is {atol:g}, so give exact values (1/3, not 0.333 or 0.3333; let Python work them "
            f"out, e.g. 1 / 3).")


def _evaluate(alternative):
    """The value of an alternative (a callable is called); None when it cannot be computed."""
    try:
        value = alternative() if callable(alternative) else alternative
        return np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError, IndexError):
        return None


def compare(name, value, expected, *, alternatives=(), atol=ATOL):
    """Hidden check: `value` equals the reference `expected`; the message never shows `expected`.

    Parameters
    ----------
    name : str
        The answer's name in the notebook, quoted in the message.
    value : array_like
        The student's answer.
    expected : array_like
        The reference value, computed by `textbook_core`.
    alternatives : iterable of (str, array_like or callable)
        Known wrong answers and what they mean: when `value` equals one (or has its shape where
        the shape is wrong) the message names the mistake, e.g. "the correlation W ⊗ P".
    atol : float
        Absolute tolerance.

    Raises
    ------
    Wrong
        With the shape, the count and the positions of the wrong entries, the recognised mistake
        if any, and a precision hint when the answer is right to a few significant digits only.

    Examples
    --------
    >>> compare("Z", [[1, 2], [3, 5]], np.array([[1, 2], [3, 4]]))
    Traceback (most recent call last):
    ...
    autograder.checks.Wrong: `Z` has the right shape (2, 2), but 1 of its 4 entries is wrong, at (1, 1) (0-based row, col).
    >>> compare("S_i", 7, 8)
    Traceback (most recent call last):
    ...
    autograder.checks.Wrong: `S_i` = 7.0 is not right.
    >>> compare("w", [0.3333], [1 / 3])
    Traceback (most recent call last):
    ...
    autograder.checks.Wrong: `w` is right to about 3 to 4 significant digits, but not exactly: the tolerance is 1e-06, so give exact values (1/3, not 0.333 or 0.3333; let Python work them out, e.g. 1 / 3).
    """
    got = answer_array(name, value)
    expected = np.asarray(expected, dtype=np.float64)
    alternatives = [(label, _evaluate(alt)) for label, alt in alternatives]
    if got.shape != expected.shape:
        hint = [label for label, alt in alternatives if alt is not None and alt.shape == got.shape]
        message = f"`{name}` has shape {got.shape}, but the answer has shape {expected.shape}."
        if hint:
            message += f" Your shape is the shape of {hint[0]}."
        raise Wrong(message)
    if not np.all(np.isfinite(got)):
        raise Wrong(f"`{name}` contains NaN or infinite entries.")
    wrong = _differences(got, expected, atol)
    if not wrong:
        return
    for label, alt in alternatives:
        if alt is not None and alt.shape == got.shape and not _differences(got, alt, atol):
            raise Wrong(f"`{name}` is {label}.")
    if _right_digits(got, expected) >= CLOSE_DIGITS:
        raise Wrong(_precision_hint(name, atol))
    if got.ndim == 0:
        raise Wrong(f"`{name}` = {got.item()!r} is not right.")
    verb = "is" if len(wrong) == 1 else "are"
    raise Wrong(f"`{name}` has the right shape {got.shape}, but {len(wrong)} of its {got.size} "
                f"entries {verb} wrong, {_where(wrong, got.ndim)}.")


def conv_alternatives(W, P, *, padding=0, stride=1, mode="valid", asked="convolution", kernel="W", image="P"):
    """The typical wrong answers to ``convolve(W, P)`` or ``correlate(W, P)``, with their meaning.

    Returns a list of (description, callable) for `compare`: the other operation (the kernel
    not rotated, or rotated where it should not be), for a convolution the kernel transposed or
    flipped on one axis only instead of rotated, the padding one less and one more, and the
    stride ignored (1). Each description finishes the sentence "`Z` is ...".

    Parameters
    ----------
    W, P : array_like
        Kernel and image of the task.
    padding, stride : int
        P^d and S^t asked for.
    mode : {"valid", "full"}
        "full" means every overlap (padding r - 1 and c - 1 on top of `padding`), as in P8.2 and E8.4.
    asked : {"convolution", "correlation"}
        Which operation the task asks for.
    kernel, image : str
        The names the exercise gives the kernel and the image ("K" in E8.6).
    """
    if asked not in ("convolution", "correlation"):
        raise ValueError(f"asked must be 'convolution' or 'correlation', got {asked!r}")
    W = np.asarray(W)
    extra = (W.shape[0] - 1, W.shape[1] - 1) if mode == "full" else (0, 0)

    def run(operation, pad, st, K=W):
        total = (pad + extra[0], pad + extra[1])
        if operation == "convolution":
            return lambda: tc.convolve(K, P, padding=total, stride=st)
        return lambda: tc.correlate(K, P, padding=total, stride=st)

    other = "correlation" if asked == "convolution" else "convolution"
    symbols = {"convolution": f"{kernel} * {image}", "correlation": f"{kernel} ⊗ {image}"}
    fix = ("rotate the kernel by 180 degrees first (P8.1)" if asked == "convolution"
           else "correlation slides the kernel as it is, without rotating it (8.9)")
    result = [(f"the {other} {symbols[other]}, but the task asks for the {asked} {symbols[asked]}: {fix}",
               run(other, padding, stride))]
    if asked == "convolution":
        rotate = "a 180-degree rotation flips both the rows and the columns (P8.1)"
        result += [
            (f"the correlation with {kernel} transposed ({kernel}.T), not rotated: {rotate}, it does not "
             f"transpose", run("correlation", padding, stride, W.T)),
            (f"the correlation with {kernel}'s rows flipped only (upside down): {rotate}",
             run("correlation", padding, stride, W[::-1])),
            (f"the correlation with {kernel}'s columns flipped only (mirrored): {rotate}",
             run("correlation", padding, stride, W[:, ::-1])),
        ]
    for pad in (padding - 1, padding + 1):
        if pad >= 0:
            result.append((f"the {asked} with zero padding P^d={pad}, but the task asks for "
                           f"P^d={padding}", run(asked, pad, stride)))
    if stride != 1:
        result.append((f"the {asked} with stride 1, but the task asks for stride S^t={stride}",
                       run(asked, padding, 1)))
    return result


def choice(name, value, options, correct=None):
    """A multiple-choice answer: visible when `correct` is None (only validity), hidden otherwise.

    >>> choice("detects", "e", "abcd")
    Traceback (most recent call last):
    ...
    autograder.checks.Wrong: `detects` must be one of 'a', 'b', 'c', 'd' (a string), got 'e'.
    >>> choice("detects", "B", "abcd")
    ok: `detects` is one of the options
    >>> choice("detects", "a", "abcd", correct="b")
    Traceback (most recent call last):
    ...
    autograder.checks.Wrong: `detects` = 'a' is not the best choice.
    """
    letter = value.strip().lower() if isinstance(value, str) else value
    if letter not in list(options):
        listed = ", ".join(repr(o) for o in options)
        raise Wrong(f"`{name}` must be one of {listed} (a string), got {value!r}.")
    if correct is None:
        ok(f"`{name}` is one of the options")
    elif letter != correct:
        raise Wrong(f"`{name}` = {letter!r} is not the best choice.")


# ---------------------------------------------------------------------------------------------
# Visible checks: right or wrong without the answer
# ---------------------------------------------------------------------------------------------

def digest(salt, value, digits=None, how="round"):
    """A salted hash (16 hex digits) of `value` rounded: to `DECIMALS` decimals, or with `digits`
    significant digits rounded or truncated (`how`); the shape is part of it.

    The released notebooks hold such digests of the answers, never the answers. An output that is
    an exception (a function that raised) hashes its class name.

    >>> digest("e8_07/S_i", 8) == digest("e8_07/S_i", 8.0000001) != digest("e8_07/S_i", 7)
    True
    >>> digest("e8_05/w", 1 / 3, digits=3) == digest("e8_05/w", 0.3333, digits=3)
    True
    """
    if isinstance(value, BaseException):
        text = f"{salt}|raised {type(value).__name__}"
    else:
        a = np.asarray(value, dtype=np.float64)
        kept = np.round(a, DECIMALS) if digits is None else _significant(a, digits, how)
        kept = kept + 0.0                                  # -0.0 and 0.0 hash alike
        text = f"{salt}|{a.shape}|" + ",".join(repr(float(x)) for x in kept.ravel())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def key_of(salt, value):
    """``{"shape", "answer", "close"}`` of one right value: what a key holds for it."""
    a = np.asarray(value, dtype=np.float64)
    return {"shape": list(a.shape), "answer": digest(salt, a),
            "close": [digest(salt, a, CLOSE_DIGITS, "round"), digest(salt, a, CLOSE_DIGITS, "trunc")]}


_REPORTS = []   # the open `visible_check` blocks: failures are collected there instead of raised


@contextlib.contextmanager
def visible_check():
    """Run several `verify` / `verify_function` checks, report every one, then fail if any did.

    >>> key_a = {"salt": "x", **key_of("x", 1), "mistakes": []}
    >>> key_b = {"salt": "y", **key_of("y", 2), "mistakes": [[digest("y", 3), "one too many"]]}
    >>> verify("a", 1, key_a)
    ok: `a` is right
    >>> with visible_check():
    ...     verify("b", 3, key_b)
    ...     verify("c", [1, 2], key_b)
    Traceback (most recent call last):
    ...
    autograder.checks.Wrong: 2 of the 2 answers checked here are not right yet:
    - `b` is not right: this is one too many.
    - `c` has shape (2,), but the answer has shape ().
    """
    report = {"failed": [], "count": 0}
    _REPORTS.append(report)
    try:
        yield report
    finally:
        _REPORTS.remove(report)
    if report["failed"]:
        n, total = len(report["failed"]), report["count"]
        verb = "is" if n == 1 else "are"
        lines = "\n".join("- " + _indent(str(e), "  ") for e in report["failed"])
        raise Wrong(f"{n} of the {total} answers checked here {verb} not right yet:\n{lines}")


def _reported(check):
    """Run one visible check: inside `visible_check` a failure is collected, elsewhere raised."""
    def run(*args, **kwargs):
        report = _REPORTS[-1] if _REPORTS else None
        if report is not None:
            report["count"] += 1
        try:
            return check(*args, **kwargs)
        except Wrong as error:
            if report is None:
                raise
            report["failed"].append(error)
    run.__name__, run.__doc__ = check.__name__, check.__doc__
    return run


def answer_key():
    """The keys of the visible checks, ``{key id: key}``, from ``answer_key.json`` next to this file
    (written by ``python -m autograder release``; digests and hints only, never answers)."""
    if not _KEYS:
        path = Path(__file__).with_name("answer_key.json")
        try:
            _KEYS.update(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as error:
            raise Wrong(f"The visible checks cannot find their answer key {path.name} next to checks.py "
                        f"({type(error).__name__}); ask your instructor for the course files.") from None
    return _KEYS


_KEYS = {}


def _key(key):
    if isinstance(key, dict):
        return key
    try:
        return answer_key()[key]
    except KeyError:
        raise Wrong(f"The answer key has no entry {key!r}: the release is older than this notebook, or "
                    f"the other way round; ask your instructor.") from None


def _named_mistake(found, mistakes):
    return next((hint for d, hint in mistakes if d == found), None)


@_reported
def verify(name, value, key):
    """Visible check: `value` is the answer whose digest the released `key` holds.

    `key` names an entry of the answer key (``"e8_06/Z_conv"``, see `answer_key`; written by
    ``python -m autograder release``, `autograder.answer_key`), or is that entry, a dict:
    ``salt``, the answer's ``shape``, its ``answer`` and ``close`` digests and ``mistakes``, a list
    of ``[digest, hint]`` of typical mistakes. Says "right", names a recognised mistake, gives a
    precision hint, or says only that the value is not right: never the answer.
    """
    key = _key(key)
    salt, shape_ = key["salt"], tuple(key["shape"])
    a = answer_array(name, value)
    found = digest(salt, a) if np.all(np.isfinite(a)) else None
    hint = _named_mistake(found, key.get("mistakes", ()))
    if a.shape != shape_:
        message = f"`{name}` has shape {a.shape}, but the answer has shape {shape_}"
        raise Wrong(message + (f": this is {hint}." if hint else "."))
    if found is None:
        raise Wrong(f"`{name}` contains NaN or infinite entries.")
    if found == key["answer"]:
        ok(f"`{name}` is right")
        return
    if hint:
        raise Wrong(f"`{name}` is not right: this is {hint}.")
    if "close" in key and _close_output(salt, a, key["close"]):
        raise Wrong(_precision_hint(name))
    what = "its shape is right" if a.ndim else "it is one number, as it should be"
    raise Wrong(f"`{name}` is not right yet ({what}).")


def _call_text(name, args, kwargs, names=None):
    """``max_pool_da(dLZ, A, 2, stride=1)`` with arrays named, and the arrays shown below it."""
    parts, shown = [], []
    for k, a in enumerate(args):
        label = names[k] if names and k < len(names) else f"arg{k + 1}"
        if isinstance(a, np.ndarray):
            parts.append(label)
            shown.append(f"{label} = {_indent(show(a), ' ' * (len(label) + 7))}")
        else:
            parts.append(repr(a))
    for k, v in kwargs.items():
        if isinstance(v, np.ndarray):
            parts.append(f"{k}={k}")
            shown.append(f"{k} = {_indent(show(v), ' ' * (len(k) + 7))}")
        else:
            parts.append(f"{k}={v!r}")
    return f"{name}({', '.join(parts)})", shown


def _run_probe(function, args, kwargs):
    """The function's output on a probe (fresh copies), or the exception it raised."""
    try:
        return function(*_copies(args), **_copies(kwargs))
    except Wrong:
        raise
    except Exception as error:   # the student's code may raise anything
        return error


@_reported
def verify_function(name, function, cases, key, *, forbidden=()):
    """Visible check: `function` gives the answers whose digests `key` holds on the probes `cases`.

    `key` names an entry of the answer key (or is one): ``salt``, ``answers`` (one ``[shape,
    digest]`` per probe), ``close`` (one pair of digests per probe) and ``mistakes`` (``[hint,
    [digest per probe]]``). The first probe where
    the output is not right is reported with its input, the output and, when every wrong output
    is what a typical mistake gives, the mistake's name. Functions in `forbidden` (see `forbid`)
    may not be used: the check says so at once.
    """
    if not callable(function):
        raise Wrong(f"`{name}` must be a function, got {type(function).__name__}.")
    _refuse_handoff(name, function, forbidden)
    key = _key(key)
    salt, outputs = key["salt"], []
    with _forbid_local(name, function, forbidden):
        for _, args, kwargs in cases:
            outputs.append(_run_probe(function, args, kwargs))
    found, wrong = [], []
    for k, (output, (shape_, answer)) in enumerate(zip(outputs, key["answers"])):
        d = digest(salt, output) if isinstance(output, BaseException) else _output_digest(salt, output)
        found.append(d)
        if d != answer:
            wrong.append(k)
    if not wrong:
        ok(f"`{name}` is right on the {len(outputs)} visible probes")
        return
    known = key.get("mistakes", ())
    hint = next((h for h, ds in known if list(ds) == found), None) or next(
        (h for h, ds in known if all(ds[k] == found[k] for k in wrong)), None)
    k = wrong[0]
    label, args, kwargs = cases[k]
    call, shown = _call_text(name, args, kwargs, getattr(cases, "names", None))
    output, (shape_, _) = outputs[k], key["answers"][k]
    lines = [f"`{name}` is not right on {len(wrong)} of the {len(outputs)} visible probes. The first is "
             f"probe {k} ({label}): {call}" + (" with" if shown else "")] + ["    " + s for s in shown]
    if isinstance(output, BaseException):
        lines.append(f"raised {type(output).__name__}: {output}")
    else:
        got = _as_output(output)
        if got is None:
            lines.append(f"returned {show(output)}, which is not an array of numbers")
        else:
            lines.append(f"returned {_indent(show(got), '         ')}")
            if tuple(got.shape) != tuple(shape_):
                lines.append(f"which has shape {got.shape}, but the answer has shape {tuple(shape_)}")
            elif _close_output(salt, got, key["close"][k]):
                lines.append(_precision_hint(f"{name}(...)"))
    if hint:
        lines.append(f"This is {hint}.")
    source = getattr(cases, "source", None)
    if source:
        lines.append(f"Rebuild this probe with `label, args, kwargs = {source}[{k}]`, then call "
                     f"`{name}(*args, **kwargs)`.")
    raise Wrong("\n".join(lines))


def _as_output(output):
    try:
        a = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return a if np.all(np.isfinite(a)) else None


def _output_digest(salt, output):
    a = _as_output(output)
    return digest(salt, a) if a is not None else digest(salt, TypeError())


def _close_output(salt, got, close):
    return digest(salt, got, CLOSE_DIGITS, "round") == close[0] or digest(salt, got, CLOSE_DIGITS, "trunc") == close[1]


def function_key(salt, outputs):
    """``{"answers", "close"}`` of a right function's outputs on the probes: what a key holds."""
    answers, close = [], []
    for output in outputs:
        k = key_of(salt, output)
        answers.append([k["shape"], k["answer"]])
        close.append(k["close"])
    return {"answers": answers, "close": close}


# ---------------------------------------------------------------------------------------------
# Functions on probes
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Seeds of the random probes: the same on every grading of the same submission
# ---------------------------------------------------------------------------------------------

_SEEDING = {"key": ("", "", "", ""), "replay": None, "drawn": [], "auto": True}


def grading_context(assignment="", student="", grade_id="", salt="", *, seeds=None):
    """Fix the seeds `random_seed` returns from now on (the grader calls this before a test cell).

    Parameters
    ----------
    assignment, student, grade_id : str
        Whose cell is checked: the seeds follow from these (and `salt`) alone, so every grading
        of the same submission draws the same probes, on any machine.
    salt : str
        Mixed into the seeds; the grader passes a digest of the test cell's instructor source,
        which students never see, so that they cannot compute their own probes.
    seeds : list of int, optional
        A replay: the next calls return exactly these (the ones recorded with a grade, in
        ``results["seeds"]`` of `autograder.grading.grade_notebook` and in the graded cell's
        metadata), then more derived from the context.
    """
    _SEEDING.update(key=(str(assignment), str(student), str(grade_id), str(salt)), drawn=[], auto=False,
                    replay=None if seeds is None else [int(s) for s in seeds])


def random_seed():
    """A seed for random probes: fixed by the grading context and by the number drawn before it.

    While grading, the context is the assignment, the student and the test cell
    (`grading_context`); outside grading (nbgrader's validate, a student's own kernel) it is
    the cell being run, so running a cell again draws the same seeds. Never from the operating
    system's entropy: a regrade gives the same marks.

    >>> grading_context("ch08", "ada", "e8_08_basic_hidden")
    >>> first = [random_seed(), random_seed()]
    >>> grading_context("ch08", "ada", "e8_08_basic_hidden")
    >>> [random_seed(), random_seed()] == first, first[0] != first[1], drawn_seeds() == first
    (True, True, True)
    >>> grading_context(seeds=[7])
    >>> random_seed()
    7
    >>> grading_context()
    """
    _follow_cells()
    drawn, replay = _SEEDING["drawn"], _SEEDING["replay"]
    if replay is not None and len(drawn) < len(replay):
        seed = replay[len(drawn)]
    else:
        key = "\0".join(_SEEDING["key"] + (str(len(drawn)),))
        seed = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big")
    drawn.append(seed)
    return seed


def drawn_seeds():
    """The seeds `random_seed` returned since the context was last set."""
    return list(_SEEDING["drawn"])


def _new_cell(info=None):
    """IPython's pre_run_cell event: outside grading, each cell is its own seed context."""
    if _SEEDING["auto"]:
        cell = getattr(info, "raw_cell", "") or ""
        _SEEDING.update(key=("", "", "cell " + hashlib.sha256(cell.encode("utf-8")).hexdigest()[:16], ""),
                        drawn=[], replay=None)


def _follow_cells():
    """Register `_new_cell` with the IPython shell this module runs in, if any (once); the cell
    running now, which the event missed, becomes the context at once."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is None or getattr(shell, "_autograder_seed_hook", False):
        return
    shell.events.register("pre_run_cell", _new_cell)
    shell._autograder_seed_hook = True
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    if history:
        _new_cell(type("Info", (), {"raw_cell": history[-1]}))


_follow_cells()


class Cases(list):
    """Probes ``(label, args, kwargs)`` with `source`, the expression that rebuilds them
    (``checks.max_pool_cases("overlap", seed=1234)``), and `names`, the arguments' names."""

    def __init__(self, items=(), source=None, names=None):
        super().__init__(items)
        self.source, self.names = source, names


def _handoff_message(name, dotted):
    return (f"`{name}` hands the work to {dotted}, which this part asks you to do yourself: write it "
            f"with your own loops and numpy arithmetic. This part scores 0.")


def _refuse_handoff(name, function, forbidden):
    """`Wrong` if a student function run in the sandbox reaches a forbidden function (its source
    and the sandbox's records, `autograder.student_values.RemoteFunction`)."""
    from autograder.recorder import dotted

    handoff = getattr(function, "__autograder_handoff__", None)
    names = tuple(dict.fromkeys(dotted(f) for f in forbidden))
    used = handoff(names) if names and callable(handoff) else None
    if used:
        raise Wrong(_handoff_message(name, used))


def _forbid_local(name, function, forbidden):
    """`forbid` for a function that runs here; a sandboxed one is watched by its sandbox."""
    if callable(getattr(function, "__autograder_handoff__", None)):
        return contextlib.nullcontext()
    return forbid(name, *forbidden)


@contextlib.contextmanager
def forbid(name, *functions):
    """Fail if the student's function `name` enters any of `functions` (library functions or
    dotted names such as ``"numpy.flip"`` or ``"scipy.signal"``) while the block runs.

    Calls are recorded by `autograder.recorder` (the same record the sandbox keeps), so an alias,
    a name built at run time or a library function that calls the forbidden one is caught. A
    student function run in the sandbox is checked there instead (`_refuse_handoff`).
    """
    from autograder.recorder import Recorder, dotted, first_match

    if not functions:
        yield
        return
    recorder = Recorder()
    recorder.start()
    try:
        yield
    finally:
        calls, _ = recorder.stop()
    used = first_match(calls, [dotted(f) for f in functions])
    if used:
        raise Wrong(_handoff_message(name, used))


def check_function(name, function, reference, cases, *, forbidden=(), alternatives=(), atol=ATOL):
    """Hidden check: `function` agrees with `reference` on every probe in `cases`.

    Parameters
    ----------
    name : str
        The student's function name, quoted in messages.
    function, reference : callable
        The student's function and the `textbook_core` function with the same signature.
    cases : iterable of (str, tuple, dict)
        ``(label, args, kwargs)``; the label says what the probe tests ("overlapping windows,
        size 3, stride 1"), the arrays are passed as fresh copies to both functions. With a
        `Cases` the message says how to rebuild a failed probe.
    forbidden : tuple of callables or dotted names
        Library functions the student's function must not use (`forbid`), as objects
        (``tc.max_pool_da``) or dotted names (``"numpy.convolve"``, ``"scipy.signal"``). When
        `function` is a student function run in the sandbox (`autograder.student_values.RemoteFunction`),
        its source is checked for them and the sandbox records the calls instead.
    alternatives : iterable of (str, callable)
        Known wrong functions with the reference's signature, and what they compute: when the
        student's result equals one of theirs on a probe, the message names the mistake.

    Raises
    ------
    Wrong
        At the first probe where the result differs: the probe's label and input (small arrays
        in full, larger ones by shape with the line that rebuilds them), the student's output and
        what differs in it, never the expected values.
    """
    if not callable(function):
        raise Wrong(f"`{name}` must be a function, got {type(function).__name__}.")
    _refuse_handoff(name, function, forbidden)
    cases = cases if isinstance(cases, Cases) else Cases(cases)
    for k, (label, args, kwargs) in enumerate(cases):
        expected = reference(*_copies(args), **_copies(kwargs))
        call, shown = _call_text(name, args, kwargs, cases.names)
        where = [f"Probe {k} of {len(cases)} ({label}): {call}" + (" with" if shown else "")]
        where += ["    " + s for s in shown]
        if cases.source:
            where.append(f"(rebuild it with `label, args, kwargs = {cases.source}[{k}]`, then "
                         f"`{name}(*args, **kwargs)`)")
        with _forbid_local(name, function, forbidden):
            got = _run_probe(function, args, kwargs)
        if isinstance(got, BaseException):
            raise Wrong("\n".join(where + [f"raised {type(got).__name__}: {got}"]))
        known = [(label_, _bind(alt, args, kwargs)) for label_, alt in alternatives]
        try:
            compare(f"{name}(...)", got, expected, alternatives=known, atol=atol)
        except Wrong as error:
            output = _as_output(got)
            returned = f"returned {_indent(show(output), '         ')}" if output is not None else f"returned {show(got)}"
            raise Wrong("\n".join(where + [returned, str(error)])) from None


def by_hand(name, value, function_name, function, args, expected, *, forbidden, alternatives=(),
            names=None):
    """Hidden check of a value the task asks to compute by hand, with the student's own function.

    `value` must equal `expected`, and ``function(*args)`` (the student's loops, on the task's own
    input) must give it without handing the work to any of `forbidden`; so one library call
    scores nothing here. Messages never show `expected`.
    """
    compare(name, value, expected, alternatives=alternatives)
    if not callable(function):
        raise Wrong(f"`{name}` is right, but `{function_name}` is not a function: this part asks for "
                    f"{name} from your own loops.")
    _refuse_handoff(function_name, function, forbidden)
    with _forbid_local(function_name, function, forbidden):
        got = _run_probe(function, args, {})
    call, _ = _call_text(function_name, args, {}, names)
    if isinstance(got, BaseException):
        raise Wrong(f"`{name}` is right, but your `{call}` raised {type(got).__name__}: {got}.")
    try:
        compare(call, got, expected)
    except Wrong as error:
        raise Wrong(f"`{name}` is right, but your `{call}` does not give it, and this part asks "
                    f"for {name} from your own loops: {error}") from None


def _bind(function, args, kwargs):
    return lambda: function(*_copies(args), **_copies(kwargs))


def _copies(x):
    if isinstance(x, dict):
        return {k: _copies(v) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(_copies(v) for v in x)
    return x.copy() if isinstance(x, np.ndarray) else x


MAX_POOL_MISTAKES = (
    ("the average-pooling gradient of P8.3, which shares each window's gradient equally; max "
     "pooling sends all of it to the window's maximum",
     lambda dLZ, A, size, stride=None: tc.avg_pool_da(dLZ, size, stride=stride, input_shape=np.shape(A))),
)
"""E8.8: wrong paths that `check_function` recognises."""

PRODUCT_DB_MISTAKES = (
    ("the bias gradient summed over every axis, the feature-map axis too: each map has its own bias, so sum over "
     "rows, columns and the batch only",
     lambda dN, LZ: np.sum(np.asarray(dN) * np.asarray(LZ))),
)
"""E8.9: wrong bias gradients that `check_function` recognises."""


# ---------------------------------------------------------------------------------------------
# Probes
# ---------------------------------------------------------------------------------------------

def _source(function, *args, seed=None):
    listed = ", ".join(repr(a) for a in args) + (f", seed={seed}" if seed is not None else "")
    return f"checks.{function}({listed})"


def _no_ties(rng, shape, integer=False):
    """Distinct values (a random permutation, shifted to straddle 0): max pooling has no ties."""
    n = int(np.prod(shape))
    values = rng.permutation(n).reshape(shape) - n // 2
    return values.astype(np.int64) if integer else values / 4


def _inked(rng, shape):
    """Small integers (some negative) with ink on every border: every border row and column
    has a non-zero entry, so no loop or padding can skip a border unnoticed."""
    P = rng.integers(-1, 4, size=shape)
    P[0, rng.integers(shape[1])] = rng.integers(1, 4)
    P[-1, rng.integers(shape[1])] = rng.integers(1, 4)
    P[rng.integers(shape[0]), 0] = rng.integers(1, 4)
    P[rng.integers(shape[0]), -1] = rng.integers(1, 4)
    return P.astype(float)


BY_HAND_OPERATIONS = {
    "convolve": ("W", "P", "padding"),   # E8.1: W * P with zero padding, stride 1
    "full": ("W", "P"),                  # E8.4: the full convolution, Eq. 8.5
    "correlate": ("W", "P"),             # E8.6: W (x) P, valid, stride 1
    "max_pool": ("Z", "size"),           # E8.2: max pooling, stride = window
}
"""The by-hand operations of `by_hand_cases` and the names of their arguments."""

_VISIBLE_KERNELS = (
    (np.array([[2., 0.], [1., -1.]]), np.array([[1., 0., 0., 2.], [0., 0., 0., 0.], [3., 0., 0., 1.]]), 1),
    (np.array([[1., 0., 0.], [2., 1., 0.], [0., 0., -1.]]),
     np.array([[0., 1., 0., 0., 1.], [1., 0., 0., 2., 0.], [0., 0., 1., 0., 0.], [2., 0., 0., 0., 1.]]), 0),
    (np.array([[1., 0., 2.], [0., -1., 0.]]), np.array([[1., 0., 1.], [0., 2., 0.], [1., 0., 3.]]), 2),
)
_VISIBLE_MAPS = (
    (np.array([[1., -2., 0., 3., -1., 2.], [0., -3., 1., 1., 0., -2.],
               [-1., -4., 2., 0., 1., 1.], [2., -1., 0., -2., 3., 0.]]), 2),
    (np.array([[1., 0., 2., 1., 5.], [0., 3., 1., 0., 1.], [2., 1., 0., 4., 0.],
               [0., 2., 2., 1., 3.], [6., 0., 1., 0., 7.]]), 2),
    (np.array([[0., 1., 2., 0., 1., 0., 2.], [1., 5., 0., 2., 0., 1., 0.], [2., 0., 1., 0., 6., 0., 1.],
               [0., 1., 0., 3., 0., 2., 0.], [1., 0., 2., 0., 1., 0., 4.], [0., 2., 0., 1., 0., 3., 0.]]), 3),
)


def by_hand_cases(operation, kind="hidden", seed=None, repeats=4):
    """Probes for the by-hand functions of E8.1 (i), E8.2, E8.4 and E8.6 (i).

    operation : "convolve" (``convolve_by_hand(W, P, padding)``, stride 1), "full"
    (``full_convolution(W, P)``), "correlate" (``correlate_by_hand(W, P)``) or "max_pool"
    (``max_pool_by_hand(Z, size)``, stride = window); kind : "visible" (fixed, small, shown in
    the visible checks) or "hidden" (a fixed probe, then `repeats` random ones from `seed`).
    Kernels are not symmetric (no rotation, transpose or one-axis flip of them is the same),
    images and kernels are non-square, and every image has ink on each of its borders.

    >>> [label for label, *_ in by_hand_cases("convolve", "visible")][0]
    'a 2x2 kernel on a 3x4 image with ink on its borders, P^d=1'
    """
    if operation not in BY_HAND_OPERATIONS:
        raise ValueError(f"operation must be one of {', '.join(BY_HAND_OPERATIONS)}, got {operation!r}")
    if kind not in ("visible", "hidden"):
        raise ValueError(f"kind must be 'visible' or 'hidden', got {kind!r}")
    names = BY_HAND_OPERATIONS[operation]
    if kind == "visible":
        source, rng = _source("by_hand_cases", operation, "visible"), None
    else:
        seed = random_seed() if seed is None else seed
        source, rng = _source("by_hand_cases", operation, "hidden", seed=seed), np.random.default_rng(seed)
    cases = Cases(source=source, names=names)
    if operation == "max_pool":
        maps = list(_VISIBLE_MAPS) if kind == "visible" else [(np.array(
            [[3., -1., 2., 0., 1.], [-2., 0., 1., 4., 2.], [1., 5., -3., 0., 0.], [0., 2., 1., -1., 6.],
             [2., 0., 0., 3., 1.], [-1., 1., 4., 0., 2.], [0., 3., 0., 2., -2.]]), 3)]
        for _ in range(repeats if rng is not None else 0):
            size = int(rng.integers(2, 4))
            shape_ = tuple(int(v) for v in rng.integers(size, 3 * size + 2, size=2))
            maps.append((_inked(rng, shape_), size))
        for Z, size in maps:
            S = tc.output_size(Z.shape, (size, size), stride=size)
            rest = " (the last rows or columns no window reaches)" if tuple(S) != tuple(
                n // size for n in Z.shape) or any(n % size for n in Z.shape) else ""
            cases.append((f"{size}x{size} windows on a {Z.shape[0]}x{Z.shape[1]} map{rest}", (Z, size), {}))
        return cases
    kernels = list(_VISIBLE_KERNELS) if kind == "visible" else [(
        np.array([[0., 1., 2.], [-1., 0., 0.], [0., 0., 3.]]),
        np.array([[2., 0., 0., 0., 1., 1.], [0., 1., 0., 0., 0., 0.], [0., 0., 0., 2., 0., 0.],
                  [0., 0., 0., 0., 0., 0.], [1., 0., 3., 0., 0., 2.]]), 1)]
    for _ in range(repeats if rng is not None else 0):
        r, c = (int(v) for v in rng.integers(1, 4, size=2))
        W = rng.integers(-2, 4, size=(r, c)).astype(float)
        W.flat[0], W.flat[-1] = 1.0, 3.0                    # never symmetric under rot180
        P = _inked(rng, tuple(int(v) for v in (rng.integers(r, 8), rng.integers(c, 8))))
        kernels.append((W, P, int(rng.integers(0, 3))))
    for W, P, padding in kernels:
        label = f"a {W.shape[0]}x{W.shape[1]} kernel on a {P.shape[0]}x{P.shape[1]} image with ink on its borders"
        if operation == "convolve":
            cases.append((f"{label}, P^d={padding}", (W, P, padding), {}))
        else:
            cases.append((label, (W, P), {}))
    return cases


def by_hand_reference(operation):
    """The `textbook_core` function that answers a by-hand probe of `by_hand_cases`."""
    return {"convolve": lambda W, P, padding: tc.convolve(W, P, padding=padding),
            "full": lambda W, P: tc.convolve(W, P, mode="full"),
            "correlate": lambda W, P: tc.correlate(W, P),
            "max_pool": lambda Z, size: tc.max_pool(Z, size)}[operation]


def max_pool_cases(kind, seed=None, repeats=3):
    """Probes for E8.8, ``max_pool_da(dLZ, A, size, stride=None)``, of one `kind`.

    kind : "visible" (fixed probes of every kind below, shown in the visible check), "basic"
    (window = stride, sizes divide), "remainder" (rows and cols the windows do not reach),
    "overlap" (stride < window), "batch" (one to three leading axes), "ties" (equal values in a
    window). The first probe of each hidden kind is fixed, the others random from `seed`. Windows
    are often non-square (a pair ``(r, c)``) and inputs often integers; apart from "ties" and the
    worked example, no window holds its maximum twice.
    """
    kinds = ("visible", "basic", "remainder", "overlap", "batch", "ties")
    if kind not in kinds:
        raise ValueError(f"kind must be {', '.join(kinds[:-1])} or ties, got {kind!r}")
    seed = None if kind == "visible" else (random_seed() if seed is None else seed)
    rng = np.random.default_rng(12345 if seed is None else seed)
    cases = Cases(source=_source("max_pool_cases", kind, seed=seed), names=("dLZ", "A", "size"))

    def grad(shape):
        return np.round(rng.normal(size=shape), 2)     # upstream gradients, short enough to read

    def window():
        r, c = (int(v) for v in rng.integers(1, 4, size=2))
        return (r, c) if r != c else r

    def pair(size):
        return (size, size) if np.ndim(size) == 0 else tuple(size)

    if kind == "visible":
        cases += [
            ("2x2 windows on a 2x4 input, the worked example (a tie in the second window)",
             (np.array([[10., 20.]]), np.array([[1., 5., 2., 0.], [3., 4., 2., 1.]]), 2), {}),
            ("2x3 windows (r=2, c=3) on an integer 4x6 input",
             (np.array([[0.5, -1.5], [2.5, 1.]]),
              np.array([[3, 9, 1, 0, 7, 2], [5, 2, 4, 8, 1, 6], [0, 1, 11, 2, 3, 4], [7, 6, 5, 10, 9, 8]]), (2, 3)), {}),
            ("2x2 windows on a 5x7 input whose last row and column no window reaches",
             (np.array([[1., 2., 3.], [4., 5., 6.]]),
              np.array([[0., 3., 1., 7., 2., 4., 30.], [5., 2., 6., 0., 8., 1., 31.], [9., 1., 0., 4., 3., 12., 32.],
                        [2., 10., 11., 5., 6., 7., 33.], [40., 41., 42., 43., 44., 45., 46.]]), 2), {}),
            ("overlapping 3x2 windows (r=3, c=2) with stride (1, 2) on a 4x4 input",
             (np.array([[1., 2.], [3., 4.]]),
              np.array([[1., 2., 0., 3.], [4., 9., 5., 1.], [2., 3., 8., 0.], [0., 1., 6., 7.]]), (3, 2)),
             {"stride": (1, 2)}),
            ("overlapping 3x3 windows with stride 1 on a 4x4 input (one pixel is the maximum of all four)",
             (np.array([[1., -2.], [0.5, 3.]]),
              np.array([[1., 2., 3., 0.], [4., 15., 5., 6.], [7., 8., 9., 10.], [11., 12., 13., 14.]]), 3),
             {"stride": 1}),
            ("a batch of shape (2, 3) of 4x4 inputs (two batch axes), 2x2 windows",
             (np.arange(24.).reshape(2, 3, 2, 2) - 11.5, _no_ties(rng, (2, 3, 4, 4)), 2), {}),
            ("ties: windows whose maximum appears two, three and four times, integer input",
             (np.array([[1., 2.], [3., 4.]]),
              np.array([[2, 2, 0, 1], [1, 0, 1, 1], [3, 0, 5, 5], [3, 3, 5, 5]]), 2), {}),
        ]
        return cases
    if kind == "basic":
        cases.append(("2x3 windows on an integer 4x9 input",
                      (grad((2, 3)), _no_ties(rng, (4, 9), integer=True), (2, 3)), {}))
        for k in range(repeats):
            size = window()
            r, c = pair(size)
            S_r, S_c = (int(v) for v in rng.integers(1, 4, size=2))
            A = _no_ties(rng, (S_r * r, S_c * c), integer=bool(k % 2))
            cases.append((f"{r}x{c} windows, stride = window", (grad((S_r, S_c)), A, size), {}))
    elif kind == "remainder":
        cases.append(("2x3 windows on a 5x7 input whose last row and column the windows do not reach",
                      (grad((2, 2)), _no_ties(rng, (5, 7), integer=True), (2, 3)), {}))
        for k in range(repeats):
            size = int(rng.integers(2, 4)) if k % 2 else window()
            r, c = pair(size)
            R_r, R_c = int(rng.integers(r + 1, 3 * r + 2)), int(rng.integers(c + 1, 3 * c + 2))
            R_r += (R_r % r == 0)
            A = _no_ties(rng, (R_r, R_c), integer=bool(k % 2))
            S = tc.output_size(A.shape, (r, c), stride=(r, c))
            cases.append((f"{r}x{c} windows on a {R_r}x{R_c} input whose last rows the windows do not reach",
                          (grad(S), A, size), {}))
    elif kind == "overlap":
        cases.append(("overlapping 3x2 windows with stride (1, 2) on an integer 5x6 input",
                      (grad((3, 3)), _no_ties(rng, (5, 6), integer=True), (3, 2)), {"stride": (1, 2)}))
        A = _no_ties(rng, (4, 4))
        cases.append(("3x3 windows with stride 1 on a 4x4 input", (grad((2, 2)), A, 3), {"stride": 1}))
        for k in range(repeats):
            size = int(rng.integers(2, 4))
            stride = int(rng.integers(1, size))
            A = _no_ties(rng, tuple(int(v) for v in rng.integers(size + 1, 8, size=2)), integer=bool(k % 2))
            S = tc.output_size(A.shape, (size, size), stride=stride)
            cases.append((f"overlapping {size}x{size} windows with stride {stride}",
                          (grad(S), A, size), {"stride": stride}))
    elif kind == "batch":
        cases.append(("a batch of shape (2, 1, 3) of integer 4x6 inputs (three batch axes), 2x3 windows",
                      (grad((2, 1, 3, 2, 2)), _no_ties(rng, (2, 1, 3, 4, 6), integer=True), (2, 3)), {}))
        for k in range(repeats):
            lead = tuple(int(v) for v in rng.integers(1, 4, size=1 + k % 3))
            A = _no_ties(rng, lead + (4, 6))
            cases.append((f"a batch of shape {lead} of 4x6 inputs, 2x2 windows",
                          (grad(lead + (2, 3)), A, 2), {}))
    else:   # ties
        A = np.array([[1., 5., 2., 2.], [5., 4., 2., 1.]])
        cases.append(("a 2x2 window whose maximum appears twice", (np.array([[10., 20.]]), A, 2), {}))
        for _ in range(repeats):
            A = rng.integers(0, 3, size=(6, 6))
            cases.append(("windows with tied maxima (integers 0..2)", (grad((3, 3)), A, 2), {}))
    return cases


def product_cases(path, kind, seed=None, repeats=3):
    """Probes for E8.9: `path` "dlz" (``product_dlz(dN, b)``) or "db" (``product_db(dN, LZ)``).

    kind : "visible" (fixed probes of every kind, shown in the visible check), "one_fm" (dN of
    shape (S_r, S_c), b a scalar), "fms" ((H, S_r, S_c), b (H,)), "batch" (one to three batch axes
    in front, (..., H, S_r, S_c)). Maps are non-square and H differs from S_c, so a bias broadcast
    along the wrong axis does not fit by accident.
    """
    if path not in ("dlz", "db"):
        raise ValueError(f"path must be 'dlz' or 'db', got {path!r}")
    kinds = ("visible", "one_fm", "fms", "batch")
    if kind not in kinds:
        raise ValueError(f"kind must be visible, one_fm, fms or batch, got {kind!r}")
    seed = None if kind == "visible" else (random_seed() if seed is None else seed)
    rng = np.random.default_rng(54321 if seed is None else seed)
    cases = Cases(source=_source("product_cases", path, kind, seed=seed),
                  names=("dN", "b") if path == "dlz" else ("dN", "LZ"))

    def probe(label, shape_, b, integer=False):
        dN = rng.integers(-3, 4, size=shape_) if integer else np.round(rng.normal(size=shape_), 2)
        second = b if path == "dlz" else np.round(rng.normal(size=shape_), 2)
        cases.append((label, (dN, second), {}))

    if kind == "visible":
        probe("one FM of 2x3, b = 2.5", (2, 3), 2.5)
        probe("3 FMs of 2x4, b of shape (3,)", (3, 2, 4), np.array([1.5, -2., 0.5]))
        probe("a batch of 2 samples of 3 FMs of 2x4", (2, 3, 2, 4), np.array([1.5, -2., 0.5]))
        probe("a batch of shape (2, 2) (two batch axes) of 3 FMs of 2x4, integer dN", (2, 2, 3, 2, 4),
              np.array([1.5, -2., 0.5]), integer=True)
        return cases
    if kind == "batch":
        probe("a batch of shape (2, 1, 2) (three batch axes) of 2 FMs of 3x4, integer dN",
              (2, 1, 2, 2, 3, 4), np.round(rng.normal(size=2), 2), integer=True)
    for k in range(repeats):
        S_r = int(rng.integers(2, 5))
        S = (S_r, S_r + int(rng.integers(1, 3)))
        H = int(rng.integers(2, 4))
        if H == S[1]:
            H += 1
        if kind == "one_fm":
            probe(f"one FM of {S[0]}x{S[1]}", S, float(np.round(rng.normal(), 2)))
        elif kind == "fms":
            probe(f"{H} FMs of {S[0]}x{S[1]}", (H,) + S, np.round(rng.normal(size=H), 2))
        else:
            lead = tuple(int(v) for v in rng.integers(1, 4, size=1 + k % 3))
            probe(f"a batch of shape {lead} of {H} FMs of {S[0]}x{S[1]}", lead + (H,) + S, np.round(rng.normal(size=H), 2))
    return cases


def size_cases(seed=None, repeats=20, kind="hidden"):
    """Probes for E8.7, ``conv_output_size(R, r, padding, stride)``: "visible" (fixed: the book's
    case, a division with a remainder of one half, kernel = input, ...) or "hidden" (the book's
    case, then `repeats` random ones from `seed`)."""
    if kind not in ("visible", "hidden"):
        raise ValueError(f"kind must be 'visible' or 'hidden', got {kind!r}")
    names = ("R", "r", "padding", "stride")
    if kind == "visible":
        cases = Cases(source="checks.size_cases(kind='visible')", names=names)
        for R, r, pad, stride in ((15, 3, 1, 2), (10, 3, 0, 2), (12, 3, 0, 4), (8, 4, 1, 3), (7, 7, 0, 1), (5, 1, 2, 2),
                                  (9, 2, 2, 4)):
            cases.append((f"R={R}, r={r}, P^d={pad}, S^t={stride}", (R, r, pad, stride), {}))
        return cases
    seed = random_seed() if seed is None else seed
    rng = np.random.default_rng(seed)
    cases = Cases([("R=15, r=3, P^d=1, S^t=2", (15, 3, 1, 2), {})], source=f"checks.size_cases(seed={seed})",
                  names=names)
    while len(cases) < repeats + 1:
        R, r, pad, stride = (int(v) for v in (rng.integers(1, 40), rng.integers(1, 8),
                                                rng.integers(0, 4), rng.integers(1, 5)))
        if r <= R + 2 * pad:
            cases.append((f"R={R}, r={r}, P^d={pad}, S^t={stride}", (R, r, pad, stride), {}))
    return cases


def same_padding_cases(kind="hidden"):
    """Probes for E8.7 (ii), ``same_padding(r)``: odd r = 1, 3, 5, 7 ("visible") or 1 to 15."""
    if kind not in ("visible", "hidden"):
        raise ValueError(f"kind must be 'visible' or 'hidden', got {kind!r}")
    top = 8 if kind == "visible" else 16
    return Cases([(f"r={r}", (r,), {}) for r in range(1, top, 2)],
                 source=f"checks.same_padding_cases({kind!r})", names=("r",))


def same_padding_reference(r):
    """E8.7 (ii) by search: the P^d >= 0 for which stride 1 keeps the size, for odd kernels r.

    Found with `textbook_core.output_size` for an input large enough, so the formula is not
    retyped here.

    >>> [same_padding_reference(r) for r in (1, 3, 5)]
    [0, 1, 2]
    """
    R = 4 * r + 1
    for pad in range(r + 1):
        if tc.output_size(R, r, padding=pad, stride=1) == R:
            return pad
    raise ValueError(f"no padding keeps the size for an even kernel r={r}")


# ---------------------------------------------------------------------------------------------
# E8.3: kernels that tell the letters apart
# ---------------------------------------------------------------------------------------------

FONT_PAGE_BORDER = 2
"""E8.3: each 7x5 glyph lies on a blank page with this many white pixels around it."""

MAX_KERNEL = 3
"""E8.3: kernels may be at most 3x3, like the templates of Figure 8.5."""


def _kernel_list(kernels):
    if isinstance(kernels, np.ndarray) and kernels.ndim == 2:
        raise Wrong("`kernels` must be a list of kernels; for one kernel W write [W].")
    try:
        items = list(kernels)
    except TypeError:
        raise Wrong(f"`kernels` must be a list of 2-D arrays, got {type(kernels).__name__}.") from None
    if not items:
        raise Wrong("`kernels` is empty.")
    result = []
    for k, W in enumerate(items):
        W = answer_array(f"kernels[{k}]", W)
        if W.ndim != 2 or not (1 <= W.shape[0] <= MAX_KERNEL and 1 <= W.shape[1] <= MAX_KERNEL):
            raise Wrong(f"`kernels[{k}]` has shape {W.shape}; each kernel must be 2-D and at most "
                        f"{MAX_KERNEL}x{MAX_KERNEL}.")
        if not np.all(np.isfinite(W)) or not np.any(W):
            raise Wrong(f"`kernels[{k}]` must have finite entries, not all zero.")
        result.append(W)
    return result


def font_signatures(kernels):
    """E8.3: how often each kernel's template occurs in each letter, shape (26, K).

    A kernel W is a template: a positive weight asks for ink, a negative weight for paper and a
    zero does not care. It *matches* at a position when its correlation (8.13) there reaches
    the largest value it can reach on a 0/1 image, the sum of its positive weights; that is,
    when ink and paper are exactly where W asks for them. Each glyph of
    `textbook_core.data.FONT` lies on a blank page (`FONT_PAGE_BORDER` white pixels around it),
    and the signature of a letter counts the matches of every kernel anywhere on the page, so
    it does not depend on where the letter is.

    >>> font_signatures([np.ones((1, 1))])[:3, 0]          # ink pixels of A, B, C
    array([18, 20, 13])
    """
    glyphs = data.font_stack()
    columns = []
    for W in _kernel_list(kernels):
        responses = tc.correlate(W, glyphs, padding=FONT_PAGE_BORDER)
        best = W[W > 0].sum()
        columns.append(np.isclose(responses, best, rtol=0, atol=1e-9).sum(axis=(-2, -1)))
    return np.stack(columns, axis=1)


def font_collisions(kernels):
    """E8.3: the groups of letters that `kernels` cannot tell apart (equal signatures).

    >>> font_collisions([np.ones((1, 1))])[:2]           # equal ink counts
    ['AEGMR', 'CVX']
    """
    groups = {}
    for letter, signature in zip(string.ascii_uppercase, font_signatures(kernels)):
        groups.setdefault(tuple(signature), []).append(letter)
    return ["".join(g) for g in groups.values() if len(g) > 1]


def check_font_kernels(kernels, max_kernels=None):
    """E8.3 hidden check: every letter has its own signature (and at most `max_kernels` kernels)."""
    collisions = font_collisions(kernels)
    if collisions:
        raise Wrong(f"`kernels` do not tell these letters apart: {', '.join(collisions)}.")
    n = len(_kernel_list(kernels))
    if max_kernels is not None and n > max_kernels:
        raise Wrong(f"`kernels` separate all 26 letters with {n} kernels; this part asks for at "
                    f"most {max_kernels}.")


def smallest_separating_set_size():
    """E8.3: no single kernel of at most 3x3 separates the 26 letters, so the minimum is 2.

    Only the signs of a kernel decide where it matches, so the search runs over every sign
    pattern in {-1, 0, 1}^(3x3) (smaller kernels are 3x3 patterns with zeros). Returns the
    number of distinct signatures the best single kernel reaches.
    """
    glyphs = np.pad(data.font_stack(), ((0, 0),) + ((FONT_PAGE_BORDER, FONT_PAGE_BORDER),) * 2)
    windows = np.lib.stride_tricks.sliding_window_view(glyphs, (3, 3), axis=(1, 2))
    bits = windows.reshape(26, -1, 9).astype(np.int64) @ (1 << np.arange(9))   # (26, positions)
    best = 0
    for pattern in itertools.product((-1, 0, 1), repeat=9):
        pattern = np.array(pattern)
        pos = int((pattern > 0) @ (1 << np.arange(9)))
        neg = int((pattern < 0) @ (1 << np.arange(9)))
        counts = ((bits & pos) == pos) & ((bits & neg) == 0)
        best = max(best, len(set(counts.sum(axis=1).tolist())))
    return best


# ---------------------------------------------------------------------------------------------
# E8.10: the designed network
# ---------------------------------------------------------------------------------------------

SHAPE_CLASSES = 2
"""E8.10: the network's two outputs, class 0 = square and class 1 = diamond (`data.SHAPE_LABELS`)."""


def _finite(name, value):
    a = answer_array(name, value)
    if not np.all(np.isfinite(a)):
        raise Wrong(f"`{name}` contains NaN or infinite entries.")
    return a


def check_line_kernels(LW1):
    """E8.10: `LW1` holds at least one kernel, each a Figure 8.5 kernel times a positive number.

    >>> check_line_kernels(np.array(data.LINE_KERNELS)[:, None])
    ok: `LW1` holds 4 kernels, each one of Figure 8.5
    >>> check_line_kernels(np.zeros((0, 1, 3, 3)))
    Traceback (most recent call last):
    ...
    autograder.checks.Wrong: `LW1` holds no kernels (shape (0, 1, 3, 3)): layer 1 needs at least one kernel of Figure 8.5.
    """
    kernels = _finite("LW1", LW1)
    if kernels.ndim != 4 or kernels.shape[1:] != (1, 3, 3):
        hint = " (for a stack of 3x3 kernels K write K[:, None])" if kernels.shape[-2:] == (3, 3) else ""
        raise Wrong(f"`LW1` has shape {kernels.shape}, but it must be (H1, 1, 3, 3): H1 kernels of 3x3 for "
                    f"the one input image{hint}.")
    if kernels.shape[0] == 0:
        raise Wrong(f"`LW1` holds no kernels (shape {kernels.shape}): layer 1 needs at least one kernel of "
                    f"Figure 8.5.")
    lines = np.asarray(data.LINE_KERNELS)                          # (4, 3, 3)
    flat, ref = kernels[:, 0].reshape(len(kernels), 9), lines.reshape(len(lines), 9)
    scales = flat @ ref.T / np.sum(ref * ref, axis=1)               # best multiple of each line kernel
    fits = np.all(np.isclose(flat[:, None], scales[..., None] * ref[None], rtol=1e-9, atol=1e-9), axis=2)
    good = np.any(fits & (scales > 0), axis=1)
    if not good.all():
        bad = int(np.flatnonzero(~good)[0])
        raise Wrong(f"`LW1[{bad}, 0]` is not one of the kernels of Figure 8.5 (data.LINE_KERNELS), nor one of "
                    f"them times a positive number.")
    ok(f"`LW1` holds {len(kernels)} kernel{'s' if len(kernels) != 1 else ''}, each one of Figure 8.5")


def shapes_network(LW1, b1, f1, pool, LW3, b3):
    """E8.10: the network conv (LW1, b1, f1) -> max pool (pool x pool) -> vec -> (LW3, b3) softmax.

    Shapes: ``LW1 (H^1, 1, r, c)``, ``b1 (H^1,)``, ``LW3 (2, H^1 S_r S_c)``, ``b3 (2,)`` for 15x15
    inputs. Built with `textbook_core.network`, so the forward pass is the package's. A network
    that cannot be built is `Wrong`, with what is wrong in the book's symbols.

    >>> shapes_network(np.ones((4, 1, 3, 3)), np.zeros(4), "relu", 3, np.zeros((2, 36)), np.zeros(2))
    Traceback (most recent call last):
    ...
    autograder.checks.Wrong: `LW3` has shape (2, 36), but it must be (2, 64): one row per class and one column per entry of vec(A^2), the 4 pooled maps of 4x4.
    """
    from textbook_core import network

    LW1, b1 = _finite("LW1", LW1), _finite("b1", b1)
    LW3, b3 = _finite("LW3", LW3), _finite("b3", b3)
    if LW1.ndim != 4 or LW1.shape[1] != 1 or LW1.shape[0] == 0:
        raise Wrong(f"`LW1` has shape {LW1.shape}, but it must be (H1, 1, r, c) with at least one kernel.")
    H1 = LW1.shape[0]
    if b1.shape != (H1,):
        raise Wrong(f"`b1` has shape {b1.shape}, but it must be ({H1},): one bias per kernel of `LW1`.")
    if not isinstance(f1, str) or f1 not in network.TRANSFER:
        raise Wrong(f"`f1` = {f1!r} must be one of {', '.join(repr(f) for f in sorted(network.TRANSFER))}.")
    if isinstance(pool, (bool, np.bool_)) or not isinstance(pool, (int, np.integer, float, np.floating)) \
            or not float(pool).is_integer():
        raise Wrong(f"`pool` = {pool!r} must be a whole number of pixels (the side of the pooling window).")
    pool = int(pool)
    conv = 15 - LW1.shape[2] + 1, 15 - LW1.shape[3] + 1
    if min(conv) < 1 or not 1 <= pool <= min(conv):
        raise Wrong(f"`pool` = {pool} must be between 1 and {max(min(conv), 1)}, the size of layer 1's maps "
                    f"({conv[0]}x{conv[1]}).")
    S = tc.output_size(conv, (pool, pool), stride=pool)
    if b3.shape != (SHAPE_CLASSES,):
        raise Wrong(f"`b3` has shape {b3.shape}, but it must be ({SHAPE_CLASSES},): one bias per class.")
    if LW3.shape != (SHAPE_CLASSES, H1 * S[0] * S[1]):
        raise Wrong(f"`LW3` has shape {LW3.shape}, but it must be ({SHAPE_CLASSES}, {H1 * S[0] * S[1]}): one row "
                    f"per class and one column per entry of vec(A^2), the {H1} pooled maps of {S[0]}x{S[1]}.")
    try:
        layer = network.ConvLayer(LW=LW1, b=b1, f=f1, pool="max", size=pool)
        net = network.Network([layer], LW=LW3, b=b3, input_shape=(1, 15, 15))
        network.forward(net, np.zeros((1, 1, 15, 15)))
    except (ValueError, TypeError) as error:
        raise Wrong(f"The network cannot be built from LW1, b1, f1, pool, LW3, b3: {error}") from None
    return net


def shapes_outputs(net, images):
    """The softmax outputs a^3 of `net` for `images` (Q, 15, 15) -> (Q, 2), in one vectorised pass."""
    from textbook_core import network

    with np.errstate(over="ignore", invalid="ignore"):   # huge weights: NaN outputs, reported by the check
        return network.forward(net, np.asarray(images, dtype=np.float64)[:, None])["A"][-1]


def unseen_shapes():
    """E8.10: every square and diamond of `data.all_shapes` except the two the notebook shows
    (Figure 8.4): ``(images, labels, calls)``, 448 of them."""
    images, labels, calls = data.all_shapes(15)
    shown = np.stack([data.FIGURE_8_4_SQUARE, data.FIGURE_8_4_DIAMOND])
    keep = ~np.any(np.all(images[:, None] == shown[None], axis=(2, 3)), axis=1)
    return images[keep], labels[keep], tuple(c for c, k in zip(calls, keep) if k)


def edge_shapes():
    """E8.10's visible test images: Figure 8.4's square and diamond, then the smallest and the
    largest square and diamond of `data.all_shapes` pushed into each corner of the image (ten):
    ``(images, labels, calls)``. The hidden tests use all of `unseen_shapes`."""
    images, labels, calls = data.all_shapes(15)
    ink = images.sum(axis=(1, 2))
    rows, cols = images.any(axis=2), images.any(axis=1)
    cornered = (rows[:, 1] | rows[:, -2]) & (cols[:, 1] | cols[:, -2])
    keep = np.zeros(len(labels), dtype=bool)
    for label in range(SHAPE_CLASSES):
        mine = labels == label
        keep |= mine & cornered & np.isin(ink, [ink[mine].min(), ink[mine].max()])
    shown = [data.FIGURE_8_4_SQUARE, data.FIGURE_8_4_DIAMOND]
    return (np.concatenate([shown, images[keep]]), np.concatenate([[0, 1], labels[keep]]),
            ("square()", "diamond()") + tuple(c for c, k in zip(calls, keep) if k))


def check_shapes_network(net, images, labels, *, confidence=None, what=None, calls=None):
    """E8.10: `net` classifies every image right (argmax of the softmax output a^3 is the label).

    With `confidence`, every image's probability for its own class must also reach it. `what`
    names the images in the message ("the 448 squares and diamonds not shown here"; default:
    "the N images"), `calls` (from `data.all_shapes`) lets it show how to rebuild one that fails.
    """
    labels = np.asarray(labels)
    what = what or f"the {len(labels)} images"
    a = shapes_outputs(net, images)
    if not np.all(np.isfinite(a)):
        raise Wrong(f"The network's outputs are not numbers (NaN) on some of {what}: its weights are too large.")
    if not np.allclose(a.sum(axis=1), 1) or np.any(a < 0):
        raise Wrong("The outputs are not softmax probabilities.")
    predicted = a.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    if wrong.size:
        counts = [f"{np.sum(labels[wrong] == k)} {data.SHAPE_LABELS[k]}{'s' if np.sum(labels[wrong] == k) != 1 else ''}"
                  for k in range(SHAPE_CLASSES) if np.any(labels[wrong] == k)]
        example = f"\nFor example data.{calls[wrong[0]]}." if calls is not None else ""
        raise Wrong(f"The network gets {wrong.size} of {what} wrong.\n{' and '.join(counts)} misclassified."
                    f"{example}\nIt must classify every one right.")
    if confidence is not None:
        p = a[np.arange(len(labels)), labels]
        low = np.flatnonzero(p < confidence)
        if low.size:
            example = f"\nFor example data.{calls[low[0]]}." if calls is not None else ""
            raise Wrong(f"The network is right on all of {what},\nbut on {low.size} of them its probability "
                        f"for the right class is below {confidence}.{example}\nScale up the fully connected weights.")
