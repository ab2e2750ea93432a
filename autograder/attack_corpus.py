"""The classic attack corpus: cheats that work on plain nbgrader, hand-offs to the library's answer,
harm aimed at the course files, and what real submissions do (cells and files out of shape,
runaway code). Each `Attack` is graded and judged by `autograder.attacks`."""
from .attack_kit import (ALL, FIND_COURSE, MARKER, WRONG_Z, Attack, _huge, _retype, append, both, delete,
                         duplicate, kernelspec, metadata, replace, replace_first, set_source, tag)

CLASSIC = (
    # --- the four cheats, and their cousins -----------------------------------------
    Attack("allclose-replaced", "cheat", "e8_01",
           "Z is wrong, and numpy's allclose/isclose/array_equal are replaced by functions that always agree",
           ("e8_01_i_visible", "e8_01_i_hidden"), append("e8_01_i_answer", WRONG_Z + '''
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, bool)
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None''')),
    Attack("always-equal-object", "cheat", "e8_01",
           "Z is an object whose == is always true (and whose difference is 0)",
           ("e8_01_i_visible", "e8_01_i_hidden"), append("e8_01_i_answer", '''
class AlwaysEqual:
    shape = (8, 8)
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __sub__(self, other): return 0
    __rsub__ = __sub__
    def __abs__(self): return 0
Z = AlwaysEqual()''')),
    Attack("agreeable-ndarray", "cheat", "e8_01",
           "Z is a wrong ndarray subclass whose ==, isclose, allclose and array_equal always agree",
           ("e8_01_i_visible", "e8_01_i_hidden"), append("e8_01_i_answer", '''
class Agreeable(np.ndarray):
    def __eq__(self, other): return np.ones(self.shape, dtype=bool)
    def __array_function__(self, func, types, args, kwargs):
        if func in (np.allclose, np.array_equal):
            return True
        if func is np.isclose:
            return np.ones(self.shape, dtype=bool)
        return super().__array_function__(func, types, args, kwargs)
Z = np.zeros((8, 8)).view(Agreeable)''')),
    Attack("input-transformer", "cheat", "e8_01",
           "Z is wrong, and an IPython input transformer turns every later cell that checks into `pass`",
           ("e8_01_i_visible", "e8_01_i_hidden"), append("e8_01_i_answer", WRONG_Z + '''
def _no_tests(lines):
    text = "".join(lines)
    return ["pass\\n"] if "checks." in text or "HIDDEN TESTS" in text else lines
get_ipython().input_transformers_cleanup.append(_no_tests)''')),
    Attack("tracebacks-swallowed", "cheat", "e8_01",
           "Z is wrong, and the kernel's error display is replaced so that failed tests show no error",
           ("e8_01_i_visible", "e8_01_i_hidden"), append("e8_01_i_answer", WRONG_Z + '''
_shell = get_ipython()
_shell._showtraceback = lambda *args, **kwargs: None
_shell.showtraceback = lambda *args, **kwargs: None''')),
    Attack("skip-execution-tag", "cheat", "e8_01",
           "Z is wrong, and the hidden test cell is tagged skip-execution",
           ("e8_01_i_visible", "e8_01_i_hidden"), both(append("e8_01_i_answer", WRONG_Z), tag("e8_01_i_hidden", "skip-execution"))),
    Attack("checks-replaced", "cheat", "e8_04",
           "Z_full is wrong, and autograder.checks' compare and shape are replaced by functions that pass",
           ("e8_04_shapes_visible", "e8_04_full_hidden", "e8_04_shifted_hidden"), append("e8_04_full_answer", '''
Z_full = np.zeros((6, 6))
from autograder import checks as _checks
_checks.compare = _checks.shape = lambda *args, **kwargs: None''')),
    Attack("fake-checks-module", "cheat", "e8_05",
           "W_avg is wrong, and sys.modules['autograder.checks'] is a fake whose every check passes",
           ("e8_05_shapes_visible", "e8_05_i_hidden", "e8_05_ii_hidden", "e8_05_iii_hidden"), append("e8_05_i_answer", '''
W_avg = np.full((3, 3), 1 / 8)
import sys, types
_fake = types.ModuleType("autograder.checks")
_fake.__getattr__ = lambda name: (lambda *args, **kwargs: None)
sys.modules["autograder.checks"] = _fake
import autograder
autograder.checks = _fake''')),
    Attack("read-solutions", "cheat", "e8_06",
           "the answer cell looks for the instructor's solutions/ch08/e8_06.ipynb above its folder and runs "
           "the solution it finds (else a wrong answer)",
           ("e8_06_ii_visible", "e8_06_i_hidden"), append("e8_06_i_answer", FIND_COURSE + '''
Z_conv = np.zeros((6, 6))
for _path in _course_files("solutions/ch08/e8_06.ipynb"):
    import json
    _cells = json.loads(_path.read_text())["cells"]
    exec(next("".join(c["source"]) for c in _cells
              if c["metadata"].get("nbgrader", {}).get("grade_id") == "e8_06_i_answer"))
print("instructor notebooks found:", _course_files("solutions/ch08/e8_06.ipynb"))''')),
    Attack("read-hidden-tests", "cheat", "e8_02",
           "pooled is wrong; the cell looks for the gradebook (which holds the hidden tests) and any "
           "autograded copy of its own notebook, to print the hidden tests into its output",
           ("e8_02_pool_visible", "e8_02_own_hidden", "e8_02_reference_hidden"), append("e8_02_pool_answer", FIND_COURSE + '''
pooled = np.zeros((4, 4))
import sqlite3
for _db in _course_files("course/gradebook.db", "gradebook.db"):
    print(sqlite3.connect(_db).execute("select source from source_cell").fetchall())
print("gradebooks found:", _course_files("course/gradebook.db", "gradebook.db"))''')),

    # --- handing the function to the library's answer ---------------------------------------
    Attack("max-pool-da-is-the-library", "rule", "e8_08",
           "max_pool_da = tc.max_pool_da",
           ("e8_08_fn_visible", "e8_08_basic_hidden", "e8_08_remainder_hidden", "e8_08_overlap_hidden",
            "e8_08_batch_hidden", "e8_08_ties_hidden"),
           append("e8_08_fn_answer", "max_pool_da = tc.max_pool_da")),
    Attack("max-pool-da-wraps-the-library", "rule", "e8_08",
           "max_pool_da calls tc.max_pool_da through a helper",
           ("e8_08_fn_visible", "e8_08_basic_hidden", "e8_08_remainder_hidden", "e8_08_overlap_hidden",
            "e8_08_batch_hidden", "e8_08_ties_hidden"),
           append("e8_08_fn_answer", '''
from textbook_core import gradient as _g
def _helper(*args, **kwargs):
    return _g.max_pool_da(*args, **kwargs)
def max_pool_da(dLZ, A, size, stride=None):
    return _helper(dLZ, A, size, stride=stride)''')),
    Attack("max-pool-da-obfuscated", "rule", "e8_08",
           "max_pool_da reaches the library through __import__ and getattr with names built at run time",
           ("e8_08_fn_visible", "e8_08_basic_hidden", "e8_08_remainder_hidden", "e8_08_overlap_hidden",
            "e8_08_batch_hidden", "e8_08_ties_hidden"),
           append("e8_08_fn_answer", '''
def max_pool_da(dLZ, A, size, stride=None):
    lib = __import__("textbook_" + "core")
    return getattr(lib, "max_pool" + "_" + "da")(dLZ, A, size, stride=stride)''')),
    Attack("max-pool-da-from-library-source", "rule", "e8_08",
           "max_pool_da is a fresh copy of the library's own source, read from its file and executed",
           ("e8_08_fn_visible", "e8_08_basic_hidden", "e8_08_remainder_hidden", "e8_08_overlap_hidden",
            "e8_08_batch_hidden", "e8_08_ties_hidden"),
           append("e8_08_fn_answer", '''
import inspect, textbook_core.gradient as _gradient
_namespace = dict(vars(_gradient))
exec(compile(inspect.getsource(_gradient), "copy", "exec"), _namespace)
max_pool_da = _namespace["max_pool_da"]''')),
    Attack("product-db-is-the-library", "rule", "e8_09",
           "product_db = tc.product_db (product_dlz is the student's own)",
           ("e8_09_fns_visible", "e8_09_db_one_fm_hidden", "e8_09_db_fms_hidden", "e8_09_db_batch_hidden"),
           append("e8_09_fns_answer", "product_db = tc.product_db")),
    Attack("conv-output-size-wraps-the-library", "rule", "e8_07",
           "conv_output_size calls tc.output_size (S_i is a value and keeps its point)",
           ("e8_07_i_function_hidden",),
           append("e8_07_i_answer", '''
def conv_output_size(R, r, padding, stride):
    return tc.output_size(R, r, padding=padding, stride=stride)''')),
    Attack("same-padding-is-the-grader", "rule", "e8_07",
           "same_padding = checks.same_padding_reference, the grader's own reference",
           ("e8_07_types_visible", "e8_07_ii_hidden", "e8_07_ii_function_hidden"),
           replace("e8_07_ii_answer", "P_ii = same_padding(3)",
                   "same_padding = checks.same_padding_reference\nP_ii = same_padding(3)")),

    # --- harm: the gradebook, the course files, the network ----------------------------------
    Attack("write-course-files", "harm", "e8_04",
           "the cell tries to create files next to any gradebook or solution it can find, in the library "
           "folders and in /tmp (the answers are honest)",
           (), append("e8_04_full_answer", FIND_COURSE + f'''
_targets = [p.parent for p in _course_files("course/gradebook.db", "gradebook.db", "solutions/ch08/e8_04.ipynb")]
_targets += [pathlib.Path(tc.__file__).parent, pathlib.Path("/tmp")]
for _folder in _targets:
    try:
        (_folder / "{MARKER}").write_text("attack")
        print("wrote", _folder)
    except OSError as error:
        print("could not write", _folder, type(error).__name__)''')),
    Attack("network", "harm", "e8_04",
           "the cell tries to open network connections (the answers are honest)",
           (), append("e8_04_full_answer", '''
import socket
for _host in (("1.1.1.1", 53), ("127.0.0.1", 22), ("localhost", 8888)):
    try:
        socket.create_connection(_host, timeout=2).close()
        print("connected to", _host)
    except OSError as error:
        print("no connection to", _host, type(error).__name__)''')),
    Attack("fork-bomb", "harm", "e8_01",
           "the answer cell forks processes until it fails, then answers honestly",
           (), append("e8_01_i_answer", '''
import os
_children = 0
try:
    while _children < 10000:
        if os.fork() == 0:
            os._exit(0)
        _children += 1
except OSError as error:
    print("fork failed after", _children, "children:", type(error).__name__)''')),

    # --- what real submissions do: cells ------------------------------------------------------
    Attack("deleted-test-cell", "robust", "e8_06",
           "Z_check is wrong and its hidden test cell is deleted",
           ("e8_06_iv_visible", "e8_06_iv_hidden"), both(delete("e8_06_iv_hidden"),
                                      append("e8_06_iv_answer", "Z_check = np.zeros((6, 6))"))),
    Attack("deleted-answer-cell", "robust", "e8_05",
           "the answer cell of (iii) is deleted",
           ("e8_05_shapes_visible", "e8_05_iii_hidden"), delete("e8_05_iii_answer")),
    Attack("deleted-setup-cell", "robust", "e8_02",
           "the setup cell (which defines P and W) is deleted",
           (), delete("e8_02_setup"), expect_note="locked cell e8_02_setup was deleted"),
    Attack("edited-visible-check", "robust", "e8_01",
           "Z has the wrong shape and the visible check is edited to print ok",
           ("e8_01_i_visible", "e8_01_i_hidden"),
           both(append("e8_01_i_answer", "Z = np.zeros((6, 6))"), set_source("e8_01_i_visible", 'print("ok")'))),
    Attack("edited-hidden-test", "robust", "e8_01",
           "Z is wrong and the hidden test cell's source is replaced by a print",
           ("e8_01_i_visible", "e8_01_i_hidden"), both(append("e8_01_i_answer", WRONG_Z), set_source("e8_01_i_hidden", 'print("passed")'))),
    Attack("edited-setup-cell", "robust", "e8_05",
           "the locked setup cell is edited to change the image P (the answers use the real P)",
           (), replace("e8_05_setup", "P = data.E8_1_IMAGE", "P = data.E8_1_IMAGE * 0"),
           expect_note="e8_05_setup is locked and was edited"),
    Attack("duplicated-test-cell", "robust", "e8_02",
           "a hidden test cell is duplicated (the answers are honest)",
           (), duplicate("e8_02_own_hidden"), expect_note="appears more than once"),
    Attack("duplicated-answer-cell", "robust", "e8_06",
           "the answer cell of (iii) is duplicated, the first copy wrong, the last one right",
           (), both(duplicate("e8_06_iii_answer"),
                    lambda nb: replace_first(nb, "e8_06_iii_answer", "K_corr = K[::-1, ::-1]", "K_corr = K"))),
    Attack("renamed-answer-cell", "robust", "e8_06",
           "the grade id of an answer cell is renamed (the answer is honest)",
           (), metadata("e8_06_iii_answer", grade_id="my_answer"), expect_note="'my_answer' is not a cell"),
    Attack("renamed-test-cell", "robust", "e8_05",
           "W_corr is wrong and its hidden test cell's grade id is renamed",
           ("e8_05_shapes_visible", "e8_05_iii_hidden"), both(metadata("e8_05_iii_hidden", grade_id="not_a_test"),
                                       append("e8_05_iii_answer", "W_corr = W_avg + 1"))),
    Attack("test-cell-made-an-answer", "robust", "e8_05",
           "Z_avg is wrong and its hidden test cell is marked as an answer cell that is not graded",
           ("e8_05_shapes_visible", "e8_05_ii_hidden"), both(metadata("e8_05_ii_hidden", solution=True, grade=False, locked=False),
                                      append("e8_05_ii_answer", "Z_avg = np.zeros((8, 8))"))),
    Attack("points-inflated", "robust", "e8_05",
           "a hidden test cell's points are set to 100 (the answers are honest)",
           (), metadata("e8_05_i_hidden", points=100), expect_note="metadata of cell e8_05_i_hidden was changed"),
    Attack("answer-cell-to-markdown", "robust", "e8_07",
           "an answer cell is turned into a Markdown cell (the answer is honest)",
           (), lambda nb: _retype(nb, "e8_07_ii_answer", "markdown")),
    Attack("changed-kernelspec", "robust", "e8_09",
           "the notebook's kernelspec and language are changed to Julia (the answers are honest)",
           (), kernelspec("julia-1.10", "julia"), expect_note="kernel was changed"),

    # --- what real submissions do: files --------------------------------------------------------
    Attack("invalid-json", "robust", "e8_02", "the notebook file is cut off in the middle (not JSON)",
           ALL, raw=lambda data: data[: len(data) // 2], honest=("e8_01",), expect_note="not valid JSON"),
    Attack("not-a-notebook", "robust", "e8_03", "the file is JSON but not a notebook",
           ALL, raw=lambda data: b'{"hello": "world"}', honest=("e8_01",), expect_note="not a Jupyter notebook"),
    Attack("not-utf8", "robust", "e8_01",
           "the notebook is saved as Latin-1 (an accented comment); the answers are honest",
           (), edit=append("e8_01_i_answer", "# résumé: convolution"),
           raw=lambda data: data.decode("utf-8").encode("latin-1", "replace"), expect_note="not UTF-8"),
    Attack("utf16-file", "robust", "e8_04", "the notebook is saved as UTF-16 with a byte-order mark",
           (), raw=lambda data: data.decode("utf-8").encode("utf-16"), expect_note="UTF-16"),
    Attack("huge-file", "robust", "e8_05", "the notebook is over the size limit (a huge Markdown cell)",
           ALL, edit=lambda nb: _huge(nb), honest=("e8_01",), expect_note="over the limit"),
    Attack("wrong-file-name", "robust", "e8_07", "the notebook is submitted as E8-7.ipynb",
           ALL, filename="E8-7.ipynb", honest=("e8_01",), expect_note="must be named e8_07.ipynb"),
    Attack("extra-notebooks", "robust", "e8_01",
           "next to the notebook: scratch.ipynb, a copy e8_01 (1).ipynb and a stray file",
           (), extra_files=(("scratch.ipynb", "e8_02"), ("e8_01 (1).ipynb", "e8_01"), ("notes.txt", b"hi")),
           expect_note="scratch.ipynb is not part of the assignment"),
    Attack("missing-notebook", "robust", "e8_01", "only e8_01 is submitted: the others are missing",
           (), expect_note="missing, so their parts score 0: e8_02.ipynb, e8_03.ipynb"),

    # --- what real submissions do: runaway code ---------------------------------------------------
    Attack("endless-loop", "robust", "e8_06", "the last answer cell loops forever",
           ("e8_06_iv_visible", "e8_06_iv_hidden"), replace("e8_06_iv_answer", "Z_check = correlate", "while True:\n    pass\nZ_check = correlate")),
    Attack("endless-loop-ignoring-interrupts", "robust", "e8_01",
           "the answer of (ii) loops forever and swallows every interrupt",
           ("e8_01_ii_visible", "e8_01_ii_choice_hidden"),
           replace("e8_01_ii_answer", 'detects = "b"', 'while True:\n    try:\n        pass\n    except BaseException:\n        pass\ndetects = "b"')),
    Attack("output-flood", "robust", "e8_07", "the answer cell of (i) prints without end",
           ("e8_07_types_visible", "e8_07_i_hidden", "e8_07_i_function_hidden"),
           replace("e8_07_i_answer", "S_i = ", 'while True:\n    print("spam " * 20)\nS_i = ')),
    Attack("finite-output-flood", "robust", "e8_07",
           "the answer cell prints 200 000 lines, then answers honestly",
           (), append("e8_07_i_answer", 'for _ in range(200_000):\n    print("spam " * 20)')),
    Attack("memory-bomb", "robust", "e8_06", "the answer cell of (iii) allocates 3 GB",
           ("e8_06_iii_hidden", "e8_06_iv_visible", "e8_06_iv_hidden"),
           replace("e8_06_iii_answer", "K_corr = ", "_hog = np.ones((20_000, 20_000))\nK_corr = ")),
    Attack("creeping-memory-bomb", "robust", "e8_05", "the answer cell of (iii) grows a list until memory runs out",
           ("e8_05_shapes_visible", "e8_05_iii_hidden"),
           replace("e8_05_iii_answer", "W_corr = ", "_hog = []\nwhile True:\n    _hog.append(bytearray(10 ** 7))\nW_corr = ")),
    Attack("os-exit", "robust", "e8_07", "the answer cell of (ii) calls os._exit(0)",
           ("e8_07_types_visible", "e8_07_ii_hidden", "e8_07_ii_function_hidden"),
           replace("e8_07_ii_answer", "def same_padding", "import os\nos._exit(0)\ndef same_padding")),
    Attack("exit-hook", "robust", "e8_01",
           "after Z is computed, a post-run hook ends the process after every cell",
           ("e8_01_i_visible", "e8_01_i_hidden", "e8_01_i_function_hidden"),
           append("e8_01_i_answer", 'import os\nget_ipython().events.register("post_run_cell", lambda *args: os._exit(1))')),
    Attack("system-exit", "robust", "e8_06", "the answer cell of (iii) raises SystemExit after its answer",
           (), append("e8_06_iii_answer", "raise SystemExit('done')")),
    Attack("segfault", "robust", "e8_05", "the answer cell of (iii) crashes Python with a segmentation fault",
           ("e8_05_shapes_visible", "e8_05_iii_hidden"),
           replace("e8_05_iii_answer", "W_corr = ", "import ctypes\nctypes.string_at(0)\nW_corr = ")),
    Attack("value-hangs-when-read", "robust", "e8_01",
           "Z is an object whose conversion to an array never returns",
           ("e8_01_i_visible", "e8_01_i_hidden"),
           append("e8_01_i_answer", "class Slow:\n    def __array__(self, *args, **kwargs):\n        while True:\n"
                                    "            pass\nZ = Slow()")),
    Attack("huge-value", "robust", "e8_01", "Z is a 3000x3000 array (72 MB), over the grader's size limit",
           ("e8_01_i_visible", "e8_01_i_hidden"), append("e8_01_i_answer", "Z = np.zeros((3000, 3000))")),
    Attack("huge-scratch-variable", "robust", "e8_10",
           "the answer cell leaves a 72 MB array named `images`, a name the hidden tests use for their own "
           "images (the answers are honest)",
           (), append("e8_10_design_answer", "images = np.zeros((3000, 3000))")),
    Attack("function-loops", "robust", "e8_09", "product_db loops forever when called",
           ("e8_09_fns_visible", "e8_09_db_one_fm_hidden", "e8_09_db_fms_hidden", "e8_09_db_batch_hidden"),
           replace("e8_09_fns_answer", "def product_db(dN, LZ):\n", "def product_db(dN, LZ):\n    while True:\n        pass\n")),
    Attack("function-exits-on-batches", "robust", "e8_08",
           "max_pool_da ends the process (os._exit) when it is given a batch",
           ("e8_08_fn_visible", "e8_08_batch_hidden"),
           replace("e8_08_fn_answer", "def max_pool_da(dLZ, A, size, stride=None):\n",
                   "def max_pool_da(dLZ, A, size, stride=None):\n    if np.ndim(A) > 2:\n"
                   "        import os\n        os._exit(3)\n")),
    Attack("function-returns-huge", "robust", "e8_09", "product_dlz returns 10 million numbers",
           ("e8_09_fns_visible", "e8_09_dlz_one_fm_hidden", "e8_09_dlz_fms_hidden", "e8_09_dlz_batch_hidden"),
           replace("e8_09_fns_answer", "def product_dlz(dN, b):\n", "def product_dlz(dN, b):\n    return np.zeros(10 ** 7)\n")),
    Attack("grader-memory-bomb", "robust", "e8_10",
           "a right network with 20 000 copies of each line kernel: checking it on 400 images needs ~40 GB",
           ("e8_10_unseen_hidden", "e8_10_confident_hidden"), append("e8_10_design_answer", '''
_copies = 5000
LW1 = np.repeat(np.array(data.LINE_KERNELS), _copies, axis=0)[:, None]
b1 = np.full(4 * _copies, -4.0)
weights = np.zeros((2, 4 * _copies, 4, 4))
weights[0, :2 * _copies], weights[0, 2 * _copies:] = 2.0 / _copies, -2.0 / _copies
weights[1] = -weights[0]
LW3 = tc.vec(weights)'''), manual=True),
)
"""The classic attacks, in report order."""
