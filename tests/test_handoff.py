"""The hand-off rule (autograder/handoff.py, autograder/recorder.py, student_values.RemoteFunction): a
function that hands its work to a forbidden library function scores 0, found by the name the test
reads it by and by what it does at run time in the sandbox, not by the ``__name__`` it reports."""
import textwrap
import time

import numpy as np
import pytest

import textbook_core as tc
from autograder import checks, handoff, notebook_run, samples, student_values
from autograder.checks import Wrong
from autograder.course import REPO, Limits
from autograder.recorder import Recorder, dotted, first_match, matches
from autograder.sandbox import Sandbox

LIMITS = Limits(cell_timeout=20, call_timeout=10, memory_mb=768)


# --- read from the source ------------------------------------------------------------------------

@pytest.mark.parametrize("cells, function", [
    (["max_pool_da = tc.max_pool_da"], "max_pool_da"),
    (["from textbook_core import max_pool_da as f", "def max_pool_da(*a):\n    return f(*a)"], "max_pool_da"),
    (["import textbook_core.gradient as g\ndef h(x):\n    return g.max_pool_da(x)",
      "def max_pool_da(x):\n    return h(x)"], "max_pool_da"),
    (["def max_pool_da(x):\n    return getattr(tc, 'max_pool_da')(x)"], "max_pool_da"),
    (["from textbook_core import *\ndef max_pool_da(*a):\n    return product_db(*a)"], "max_pool_da"),
    (["%time x = 1\nmax_pool_da = lambda *a: tc.max_pool_da(*a)"], "max_pool_da"),
    (["def honest(*a):\n    return tc.max_pool_da(*a)", "max_pool_da = honest"], "max_pool_da"),
    (["import functools\nmax_pool_da = functools.partial(tc.max_pool_da, stride=None)"], "max_pool_da"),
    (["class Pool:\n    def __call__(self, *a):\n        return tc.max_pool_da(*a)", "max_pool_da = Pool()"],
     "max_pool_da"),
    (["if True:\n    max_pool_da = (lambda: lambda *a: tc.max_pool_da(*a))()"], "max_pool_da"),
])
def test_hand_offs_are_seen_in_the_source_by_the_answers_name(cells, function):
    use = handoff.LibraryUse(cells)
    assert first_match(use.references(function), ["textbook_core.max_pool_da", "textbook_core.product_db"])


@pytest.mark.parametrize("cells, forbidden", [
    (["import numpy as np\nf = lambda W, P: np.convolve(W, P)"], "numpy.convolve"),
    (["from scipy.signal import convolve2d as c2\ndef f(W, P):\n    return c2(P, W)"], "scipy.signal"),
    (["import scipy.signal as ss\ndef f(W, P):\n    return ss.correlate2d(P, W)"], "scipy.signal.correlate2d"),
    (["import numpy\ndef f(W):\n    return numpy.rot90(W, 2)"], "numpy.rot90"),
])
def test_numpy_and_scipy_hand_offs_are_seen_by_dotted_name(cells, forbidden):
    assert first_match(handoff.LibraryUse(cells).references("f"), [forbidden])


@pytest.mark.parametrize("notebook, part, functions", [
    ("e8_07", "i_answer", {"conv_output_size": "textbook_core.output_size"}),
    ("e8_07", "ii_answer", {"same_padding": "autograder.checks.same_padding_reference"}),
    ("e8_08", "fn_answer", {"max_pool_da": "textbook_core.max_pool_da"}),
    ("e8_09", "fns_answer", {"product_dlz": "textbook_core.product_dlz", "product_db": "textbook_core.product_db"}),
])
def test_the_solutions_hand_nothing_off(notebook, part, functions):
    nb = samples.solution_notebook(notebook)
    use = handoff.LibraryUse([samples._source(c) for c in nb["cells"] if c["cell_type"] == "code"])
    for function, reference in functions.items():
        assert not first_match(use.references(function), [reference]), function


def test_dotted_names_match_the_way_the_rule_needs():
    assert dotted(tc.max_pool) == "textbook_core.max_pool" and dotted(checks.same_padding_reference) == \
        "autograder.checks.same_padding_reference"
    assert matches("scipy.signal._signaltools.convolve2d", "scipy.signal.convolve2d")
    assert not matches("textbook_core.max_pool_da", "textbook_core.max_pool")
    assert not matches("numpy.convolve", "scipy.signal")


def test_the_recorder_sees_aliases_names_built_at_run_time_and_copies():
    import inspect
    import textbook_core.details as details

    recorder = Recorder()
    namespace = {}
    exec(compile(inspect.getsource(details), "copy", "exec"), namespace)
    for call in (lambda: getattr(tc, "output" + "_size")(9, 3),
                 lambda: tc.correlate(np.ones((3, 3)), np.ones((9, 9))),     # output_size inside correlate
                 lambda: namespace["output_size"](9, 3)):                       # a copy of the library's code
        recorder.start()
        call()
        calls, untracked = recorder.stop()
        assert "textbook_core.output_size" in calls and untracked is None
    recorder.start()
    (lambda R, r: (R - r) + 1)(9, 3)
    assert recorder.stop() == ([], None)


# --- at run time, in the sandbox ---------------------------------------------------------------

@pytest.fixture(scope="module")
def run():
    nb_run = notebook_run.NotebookRun(Sandbox(LIMITS, REPO / "notebooks" / "ch08"), [], LIMITS, handoff.LibraryUse([]))
    nb_run.run_student_cell("import numpy as np, textbook_core as tc, scipy.signal, sys, threading, inspect")
    yield nb_run
    nb_run.close()


def student_function(run, source, name):
    outputs = run.run_student_cell(textwrap.dedent(source))
    assert not [o for o in outputs if o["output_type"] == "error"], outputs
    value = run.session.get({name}, 10)[name]
    run.test_deadline = time.monotonic() + 60
    return student_values._bind(value, f"`{name}`", run, variable=name)


def size_probes():
    return [(f"R={R}", (R, r, p, s), {}) for R, r, p, s in ((15, 3, 1, 2), (9, 4, 0, 1), (20, 5, 2, 3))]


def reference(R, r, p, s):
    return tc.output_size(R, r, padding=p, stride=s)


HANDOFFS = {
    "name built at run time": '''
        conv_output_size = lambda R, r, p, s: getattr(tc, "output" + "_size")(R, r, padding=p, stride=s)''',
    "through another library function": '''
        def conv_output_size(R, r, p, s):
            return tc.correlate(np.ones((r, r)), np.ones((R, R)), padding=p, stride=s).shape[0]''',
    "a copy of the library's source": '''
        _ns = {}
        exec(compile(inspect.getsource(sys.modules["textbook_core." + "details"]), "mine", "exec"), _ns)
        conv_output_size = lambda R, r, p, s: _ns["output" + "_size"](R, r, padding=p, stride=s)''',
    "in a thread": '''
        def conv_output_size(R, r, p, s):
            box = []
            t = threading.Thread(target=lambda: box.append(getattr(tc, "output" + "_size")(R, r, padding=p, stride=s)))
            t.start(); t.join()
            return box[0]''',
    "recorder switched off": '''
        def conv_output_size(R, r, p, s):
            sys.setprofile(None)
            return getattr(tc, "output" + "_size")(R, r, padding=p, stride=s)''',
    "profiler found and disabled": '''
        def conv_output_size(R, r, p, s):
            import gc, _lsprof
            for o in gc.get_objects():
                if type(o) is _lsprof.Profiler:
                    o.disable()
            return getattr(tc, "output" + "_size")(R, r, padding=p, stride=s)''',
}


@pytest.mark.parametrize("how", list(HANDOFFS))
def test_hand_offs_the_source_cannot_see_are_caught_at_run_time(run, how):
    function = student_function(run, HANDOFFS[how], "conv_output_size")
    assert not first_match(function.references, ["textbook_core.output_size"])   # invisible in the source
    with pytest.raises(Wrong, match="hands the work to textbook_core.output_size|tampered with the grader's record"):
        checks.check_function("conv_output_size", function, reference, size_probes(), forbidden=(tc.output_size,))


def test_an_honest_function_passes_and_its_calls_are_reported(run):
    function = student_function(run, '''
        def conv_output_size(R, r, p, s):
            return (R + 2 * p - r) // s + 1''', "conv_output_size")
    checks.check_function("conv_output_size", function, reference, size_probes(), forbidden=(tc.output_size,))
    function = student_function(run, "f = lambda W: np.rot90(W, 2)", "f")
    function(np.eye(2))
    assert first_match(run.session.last["calls"], ["numpy.rot90"]) and "textbook_core.max_pool" not in \
        run.session.last["calls"]


@pytest.mark.parametrize("source, forbidden", [
    ("f = lambda W, P: getattr(np, 'con' + 'volve')(W.ravel(), P.ravel())", "numpy.convolve"),
    ("f = lambda W, P: getattr(scipy.signal, 'convolve' + '2d')(P, W)", "scipy.signal"),
    ("f = lambda W, P: tc.correlate(W, P)", "textbook_core.correlate_fms"),   # entered by the library's own call
])
def test_dotted_names_are_forbidden_at_run_time(run, source, forbidden):
    function = student_function(run, source, "f")
    with pytest.raises(Wrong, match=f"hands the work to {forbidden}"):
        checks.check_function("f", function, lambda W, P: 0, [("probe", (np.eye(2), np.ones((3, 3))), {})],
                              forbidden=(forbidden,))


def test_a_cell_reports_what_it_entered(run):
    run.run_student_cell("Z = tc.max_pool(np.arange(16.).reshape(4, 4), 2)", grade_id="answer")
    assert "textbook_core.max_pool" in run.calls and run.answer_calls["answer"] == run.calls
    run.run_student_cell("sys.setprofile(None)\nY = 1")
    assert any(c.startswith("untracked: ") for c in run.calls)
