"""Grading helpers that the Chapter 8 notebooks import: compare an answer, say what is wrong.

Every test cell of ``solutions/ch08`` calls these, so the feedback rules live here once:

- an answer is compared with a reference value computed by `textbook_core` (never with the
  student's other answers, so one missing answer cannot fail another part);
- a failure says *what* is wrong (type, shape, which entries, which probe) but never prints the
  expected values;
- known mistakes are recognised and named: the correlation where a convolution was asked (or the
  reverse), a padding or stride that is off (`conv_alternatives`);
- functions (E8.7-E8.9) are run on fixed probes and on random ones (`check_function`), and may
  be forbidden to hand the work to the library function they re-derive (`forbid`);
- open designs are graded by their property: the letter signatures of E8.3 (`font_signatures`)
  and the designed network of E8.10 (`shapes_network`, `check_shapes_network`).

A failed check raises `Wrong`, an ``AssertionError`` whose message is the feedback. A passed
visible check prints one line starting with ``ok:``.

Examples
--------
>>> W, P = np.array([[1., 2.], [0., 0.]]), np.arange(9.).reshape(3, 3)
>>> compare("Z", tc.correlate(W, P), tc.convolve(W, P),
...         alternatives=conv_alternatives(W, P, asked="convolution"))
Traceback (most recent call last):
...
autograder.checks.Wrong: `Z` is the correlation W (x) P, but the task asks for the convolution W * P: flip the kernel by 180 degrees first (P8.1).
>>> compare("Z", np.zeros((2, 3)), np.zeros((2, 2)))
Traceback (most recent call last):
...
autograder.checks.Wrong: `Z` has shape (2, 3), but the answer has shape (2, 2).
"""
import contextlib
import hashlib
import itertools
import string
import sys

import numpy as np

import textbook_core as tc
from textbook_core import data

__all__ = [
    "Wrong", "answer_array", "shape", "compare", "conv_alternatives", "choice",
    "check_function", "forbid", "max_pool_cases", "product_cases", "size_cases",
    "same_padding_reference", "font_signatures", "font_collisions", "check_font_kernels",
    "shapes_network", "shapes_outputs", "check_shapes_network", "check_line_kernels", "unseen_shapes", "edge_shapes", "random_seed", "grading_context", "drawn_seeds", "MAX_POOL_MISTAKES", "PRODUCT_DB_MISTAKES",
]

ATOL = 1e-6
"""Absolute tolerance of every numeric comparison (answers are small integers or fractions)."""

MAX_LISTED = 6
"""At most this many wrong positions are listed in a message."""


class Wrong(AssertionError):
    """A failed check; the message is the student's feedback."""


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
        the shape is wrong) the message names the mistake, e.g. "the correlation W (x) P".
    atol : float
        Absolute tolerance.

    Raises
    ------
    Wrong
        With the shape, the count and the positions of the wrong entries, and the recognised
        mistake if any.

    Examples
    --------
    >>> compare("Z", [[1, 2], [3, 5]], np.array([[1, 2], [3, 4]]))
    Traceback (most recent call last):
    ...
    autograder.checks.Wrong: `Z` has the right shape (2, 2), but 1 of its 4 entries is wrong, at (1, 1) (0-based row, col).
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
    where = ", ".join(str(w) for w in wrong[:MAX_LISTED]) + (", ..." if len(wrong) > MAX_LISTED else "")
    verb = "is" if len(wrong) == 1 else "are"
    raise Wrong(f"`{name}` has the right shape {got.shape}, but {len(wrong)} of its {got.size} "
                f"entries {verb} wrong, at {where} (0-based row, col).")


def conv_alternatives(W, P, *, padding=0, stride=1, mode="valid", asked="convolution"):
    """The typical wrong answers to ``convolve(W, P)`` or ``correlate(W, P)``, with their meaning.

    Returns a list of (description, callable) for `compare`: the other operation (the kernel
    not flipped, or flipped where it should not be), the padding one less and one more, and the
    stride ignored (1). Each description finishes the sentence "`Z` is ...".

    Parameters
    ----------
    W, P : array_like
        Kernel and image of the task.
    padding, stride : int
        P^d and S^t asked for.
    mode : {"valid", "full"}
        "full" means every overlap (padding r - 1 on top of `padding`), as in P8.2 and E8.4.
    asked : {"convolution", "correlation"}
        Which operation the task asks for.
    """
    if asked not in ("convolution", "correlation"):
        raise ValueError(f"asked must be 'convolution' or 'correlation', got {asked!r}")
    W = np.asarray(W)
    extra = (W.shape[0] - 1) if mode == "full" else 0

    def run(operation, pad, st):
        if operation == "convolution":
            return lambda: tc.convolve(W, P, padding=pad + extra, stride=st)
        return lambda: tc.correlate(W, P, padding=pad + extra, stride=st)

    other = "correlation" if asked == "convolution" else "convolution"
    symbols = {"convolution": "W * P", "correlation": "W (x) P"}
    fix = ("flip the kernel by 180 degrees first (P8.1)" if asked == "convolution"
           else "correlation slides the kernel as it is, without flipping it (8.9)")
    result = [(f"the {other} {symbols[other]}, but the task asks for the {asked} {symbols[asked]}: {fix}",
               run(other, padding, stride))]
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


@contextlib.contextmanager
def forbid(name, *functions):
    """Fail if the student's function `name` calls any of `functions` (the library's own answer).

    Calls are seen through `sys.setprofile`, so an alias (``from textbook_core import
    max_pool_da as f``) is caught as well.
    """
    codes = {f.__code__: f"textbook_core.{f.__name__}" for f in functions}
    seen = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            seen.append(codes[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(previous)
    if seen:
        raise Wrong(f"`{name}` calls {seen[0]}, which is the answer itself: derive the path and "
                    f"write it with numpy (other library functions are fine).")


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"<array of shape {value.shape}>"
    return repr(value)


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
        size 3, stride 1"), the arrays are passed as fresh copies to both functions.
    forbidden : tuple of callables
        Library functions the student's function must not call (`forbid`). When `function` is
        a student function run in the sandbox (`autograder.grading.RemoteFunction`), its source
        is checked for them instead, and the sandbox's tripwires catch the calls.
    alternatives : iterable of (str, callable)
        Known wrong functions with the reference's signature, and what they compute: when the
        student's result equals one of theirs on a probe, the message names the mistake.

    Raises
    ------
    Wrong
        At the first probe where the result differs, with the probe's label, the argument shapes
        and what differs (never the expected values).
    """
    if not callable(function):
        raise Wrong(f"`{name}` must be a function, got {type(function).__name__}.")
    handoff = getattr(function, "__autograder_handoff__", None)   # a student function in the sandbox
    used = handoff(tuple(f.__name__ for f in forbidden)) if forbidden and callable(handoff) else None
    if used:
        reference = next(_qualified(f) for f in forbidden if f.__name__ == used)
        raise Wrong(f"`{name}` hands the work to {reference}, which is the answer itself: derive the path and "
                    f"write it with numpy (other library functions are fine). This part scores 0.")
    for label, args, kwargs in cases:
        expected = reference(*_copies(args), **_copies(kwargs))
        call = ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
        try:
            with forbid(name, *forbidden):
                got = function(*_copies(args), **_copies(kwargs))
        except Wrong:
            raise
        except Exception as error:  # the student's code may raise anything
            raise Wrong(f"`{name}({call})` ({label}) raised {type(error).__name__}: {error}") from None
        known = [(label_, _bind(alt, args, kwargs)) for label_, alt in alternatives]
        try:
            compare(f"{name}({call})", got, expected, alternatives=known, atol=atol)
        except Wrong as error:
            raise Wrong(f"Probe: {label}. {error}") from None


def _qualified(function):
    """``textbook_core.max_pool_da`` for a library function, ``module.name`` otherwise."""
    module = getattr(function, "__module__", "") or ""
    return f"textbook_core.{function.__name__}" if module.startswith("textbook_core") else f"{module}.{function.__name__}"


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


def _no_ties(rng, shape):
    """Distinct values (a random permutation, shifted to straddle 0): max pooling has no ties."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) - n / 2) / 4


def max_pool_cases(kind, seed=None, repeats=3):
    """Probes for E8.8, ``max_pool_da(dLZ, A, size, stride=None)``, of one `kind`.

    kind : "basic" (window = stride, sizes divide), "remainder" (rows and cols the windows do not
    reach), "overlap" (stride < window), "batch" (leading axes), "ties" (equal values in a window).
    The first probe of each kind is fixed, the others random from `seed`.
    """
    rng = np.random.default_rng(random_seed() if seed is None else seed)
    cases = []
    if kind == "basic":
        A = np.array([[1., 5., 2., 0.], [3., 4., 2.5, 0.5]])
        cases.append(("2x2 windows on a 2x4 input", (np.array([[10., 20.]]), A, 2), {}))
        for _ in range(repeats):
            r, c = rng.integers(1, 4, size=2)
            S_r, S_c = rng.integers(1, 4, size=2)
            A = _no_ties(rng, (S_r * r, S_c * c))
            cases.append((f"{r}x{c} windows, stride = window",
                           (rng.normal(size=(S_r, S_c)), A, (int(r), int(c))), {}))
    elif kind == "remainder":
        for _ in range(max(repeats, 1)):
            size = int(rng.integers(2, 4))
            R_r, R_c = rng.integers(size + 1, 3 * size + 1, size=2)
            R_r += (R_r % size == 0)
            A = _no_ties(rng, (int(R_r), int(R_c)))
            S = tc.output_size(A.shape, (size, size), stride=size)
            cases.append((f"{size}x{size} windows on a {A.shape[0]}x{A.shape[1]} input whose last rows "
                           f"the windows do not reach", (rng.normal(size=S), A, size), {}))
    elif kind == "overlap":
        A = _no_ties(rng, (4, 4))
        cases.append(("3x3 windows with stride 1 on a 4x4 input", (rng.normal(size=(2, 2)), A, 3),
                      {"stride": 1}))
        for _ in range(repeats):
            size = int(rng.integers(2, 4))
            stride = int(rng.integers(1, size))
            A = _no_ties(rng, tuple(int(v) for v in rng.integers(size + 1, 8, size=2)))
            S = tc.output_size(A.shape, (size, size), stride=stride)
            cases.append((f"overlapping {size}x{size} windows with stride {stride}",
                          (rng.normal(size=S), A, size), {"stride": stride}))
    elif kind == "batch":
        for _ in range(max(repeats, 1)):
            lead = tuple(int(v) for v in rng.integers(1, 4, size=2))
            A = _no_ties(rng, lead + (4, 6))
            cases.append((f"a batch of shape {lead} of 4x6 inputs, 2x2 windows",
                          (rng.normal(size=lead + (2, 3)), A, 2), {}))
    elif kind == "ties":
        A = np.array([[1., 5., 2., 2.], [5., 4., 2., 1.]])
        cases.append(("a 2x2 window whose maximum appears twice", (np.array([[10., 20.]]), A, 2), {}))
        for _ in range(repeats):
            A = rng.integers(0, 3, size=(6, 6)).astype(float)
            cases.append(("windows with tied maxima (integers 0..2)", (rng.normal(size=(3, 3)), A, 2), {}))
    else:
        raise ValueError(f"kind must be basic, remainder, overlap, batch or ties, got {kind!r}")
    return cases


def product_cases(path, kind, seed=None, repeats=3):
    """Probes for E8.9: `path` "dlz" (``product_dlz(dN, b)``) or "db" (``product_db(dN, LZ)``).

    kind : "one_fm" (dN of shape (S_r, S_c), b a scalar), "fms" ((H, S_r, S_c), b (H,)),
    "batch" ((Q, H, S_r, S_c)).
    """
    if path not in ("dlz", "db"):
        raise ValueError(f"path must be 'dlz' or 'db', got {path!r}")
    rng = np.random.default_rng(random_seed() if seed is None else seed)
    cases = []
    for k in range(repeats):
        S = tuple(int(v) for v in rng.integers(2, 5, size=2))
        H = int(rng.integers(2, 4))
        if kind == "one_fm":
            shape_, b = S, float(rng.normal())
        elif kind == "fms":
            shape_, b = (H,) + S, rng.normal(size=H)
        elif kind == "batch":
            shape_, b = (int(rng.integers(2, 4)), H) + S, rng.normal(size=H)
        else:
            raise ValueError(f"kind must be one_fm, fms or batch, got {kind!r}")
        dN = rng.normal(size=shape_)
        label = {"one_fm": "one FM", "fms": f"{H} FMs", "batch": f"a batch of {shape_[0]} samples of {H} FMs"}[kind]
        second = b if path == "dlz" else rng.normal(size=shape_)
        cases.append((label, (dN, second), {}))
    return cases


def size_cases(seed=None, repeats=20):
    """Probes for E8.7, ``conv_output_size(R, r, padding, stride)``: the book's case, then random."""
    rng = np.random.default_rng(random_seed() if seed is None else seed)
    cases = [("R=15, r=3, P^d=1, S^t=2", (15, 3, 1, 2), {})]
    while len(cases) < repeats + 1:
        R, r, pad, stride = (int(v) for v in (rng.integers(1, 40), rng.integers(1, 8),
                                                rng.integers(0, 4), rng.integers(1, 5)))
        if r <= R + 2 * pad:
            cases.append((f"R={R}, r={r}, P^d={pad}, S^t={stride}", (R, r, pad, stride), {}))
    return cases


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
