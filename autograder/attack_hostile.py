"""Attacks on everything around the sandbox: the grader that reads its replies, the inbox, the
instructor's browser, the machine's resources, the hand-off rule and the rubric.

Each class of issue 10 ("a hostile submission harms no one") has several attacks here, each with
its expected outcome (`autograder.attack_kit.Attack`): the targeted parts score 0 or the honest
parts keep their points, and the grader's memory stays within `autograder.grader_memory.GRADER_MEMORY_MB`
(`autograder.attacks.judge` checks both for every attack). Kinds:

- "grader": replies patched through ``gc`` to carry megabytes, millions of tiny objects, numbers
  the grader cannot hold, Markdown that is a number; metadata with a 5000-digit integer;
- "inbox": notebooks that are links (to ``/proc/self/mem``, the solution, another student), a
  pipe, a linked student folder, a student's own ``timestamp.txt``;
- "browser": script in outputs, in Markdown, in a grade id the grader's notes quote, and a
  Markdown cell that is slow to render;
- "resource": memfd files, an output flood across 30 cells, 150 busy threads, a thread bomb;
- "rule" and "rubric": hand-offs the old name-based rule missed, E8.8 derived by probing
  ``tc.max_pool``, an empty kernel stack, ``Z81 = pooled = 0``.
"""
import json

from .attack_kit import (ALL, SCRIPT_MARKER, Attack, add_cell, append, both, metadata,
                         notebook_metadata)

WORKER = '''import gc
_w = next(o for o in gc.get_objects() if type(o).__name__ == "Worker")
'''
"""Student code that finds the sandbox's worker object (its replies are then the student's to shape)."""


def _extra_output(output, once=False):
    """A cell that makes the worker add `output` (a dict) to the reply of every later cell (or the next)."""
    restore = "\n    type(_w.outputs).finish = _finish" if once else ""
    return WORKER + f'''_finish = type(_w.outputs).finish
def _with_extra(self):{restore}
    return _finish(self) + [{output}]
type(_w.outputs).finish = _with_extra
'''


def _encoded_as(name, value):
    """Answer-cell code that makes the worker send `value` (a Python expression) for `name`."""
    return f'''
import autograder.wire as _wire
_encode = _wire.encode
def _bad_encode(value, *args, **kwargs):
    if value is {name}:
        return {value}
    return _encode(value, *args, **kwargs)
_wire.encode = _bad_encode'''


def _raw_value(name, raw):
    """Answer-cell code that makes the worker write the reply carrying `name` itself, with `raw` bytes
    (a Python bytes expression) as its value."""
    return WORKER + f'''import os
_send = _w.send
def _raw_send(message):
    body = _w.wire.pack(message)[4:]
    key = b'"{name}":'
    if isinstance(message.get("ok"), dict) and key in body:
        body = body.replace(key, key + {raw} + b',"_was":', 1)
        os.write(_w.fd_out, len(body).to_bytes(4, "big") + body)
    else:
        _send(message)
_w.send = _raw_send'''


def _with_raw(where, raw):
    """A ``raw`` edit: the notebook's JSON with `raw` bytes (not valid Python data: a 5000-digit
    integer, lists nested 100 000 deep) as the value of ``big`` in each metadata `where` names
    ("notebook", a cell's grade id) or, for ``"points:<grade id>"``, as that cell's points."""
    def edit(data):
        nb = json.loads(data)
        for place in where:
            if place == "notebook":
                nb["metadata"]["big"] = "__RAW__"
                continue
            grade_id = place.split(":")[-1]
            cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
            if place.startswith("points:"):
                cell["metadata"]["nbgrader"]["points"] = "__RAW__"
            else:
                cell["metadata"]["big"] = "__RAW__"
        return json.dumps(nb, indent=1).encode().replace(b'"__RAW__"', raw)
    return edit


def _own_cell_says(notebook, after, phrase, parse=None):
    """A `verify` that the student's own cell right after `after` printed `phrase` (and, with `parse`,
    that ``parse(text)`` returns no problem)."""
    def verify(course, student):
        path = course.autograded(student) / f"{notebook}.ipynb"
        if not path.is_file():
            return [f"no graded {notebook}"]
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells]
        own = cells[ids.index(after) + 1]
        text = "".join("".join(o.get("text", "")) + o.get("evalue", "") for o in own.get("outputs", []))
        if phrase not in text:
            return [f"the attack's own cell did not say {phrase!r}: {text[-300:]!r}"]
        problem = parse(text) if parse else None
        return [problem] if problem else []
    return verify


def _graded_size_at_most(notebook, mb):
    def verify(course, student):
        path = course.autograded(student) / f"{notebook}.ipynb"
        size = path.stat().st_size if path.is_file() else 0
        return [f"the graded {notebook} is {size / 2 ** 20:.1f} MB, over {mb} MB"] if size > mb * 2 ** 20 else []
    return verify


def _no_solution_text(notebook, line):
    """A `verify` that no file the grader wrote for the student holds `line` of the instructor's solution."""
    def verify(course, student):
        found = []
        for folder in (course.autograded(student), course.feedback(student)):
            for path in folder.glob("*") if folder.is_dir() else ():
                if line in path.read_text(encoding="utf-8", errors="replace"):
                    found.append(f"{path.name} shows the instructor's solution ({line!r})")
        return found
    return verify


def _submitted_by_the_graders_clock(course, student):
    from .pipeline import gradebook

    with gradebook(course) as gb:
        stamp = gb.find_submission("ch08", student).timestamp
    if stamp is not None and stamp.year < 2020:
        return [f"the submission time is the student's own timestamp.txt ({stamp})"]
    return []


def _cores_within_quota(text):
    from .attacks import LIMITS

    cores = float(text.split("cores")[-1].split()[0])
    return f"150 threads used {cores:.2f} cores, over the quota of {LIMITS.cpu_cores}" \
        if cores > LIMITS.cpu_cores * 1.2 + 0.05 else None


def _threads_within_pids(text):
    from .attacks import LIMITS

    started = int(text.split("stopped at")[-1].split()[0])
    return f"{started} threads started, over pids.max {LIMITS.max_pids}" if started >= LIMITS.max_pids else None


SIZE_FUNCTION = ("e8_07_i_function_hidden",)
E8_8_HIDDEN = ("e8_08_basic_hidden", "e8_08_remainder_hidden", "e8_08_overlap_hidden", "e8_08_batch_hidden",
               "e8_08_ties_hidden")
LIVE = f"window.{SCRIPT_MARKER} = 1"

HOSTILE = (
    # --- the grader that reads the replies ------------------------------------------------------
    Attack("reply-carries-4mb-output", "grader", "e8_01",
           "an own cell patches the worker (found through gc) so that every later reply carries a 4 MB output; "
           "the answers are honest", (),
           add_cell("e8_01_i_answer", _extra_output('{"output_type": "stream", "name": "stdout", "text": "x" * 4_000_000}')),
           expect_note="dropped"),
    Attack("replies-carry-15mb-outputs", "grader", "e8_06",
           "three own cells each make the next reply carry a 15 MB display, past the notebook's byte budget; "
           "the answers are honest", (),
           both(*(add_cell(after, _extra_output('{"output_type": "display_data", "data": {"text/plain": "y" * '
                                                '15_000_000}, "metadata": {}}', once=True))
                  for after in ("e8_06_i_answer", "e8_06_ii_answer", "e8_06_iii_answer"))),
           expect_note="output budget"),
    Attack("reply-of-tiny-objects", "grader", "e8_04",
           "an own cell makes every later reply carry two million empty lists (a few MB that would be "
           "hundreds of MB of objects once parsed); the answers are honest", (),
           add_cell("e8_04_full_answer", _extra_output('{"output_type": "display_data", "data": {"text/plain": '
                                                       '[[] for _ in range(2_000_000)]}, "metadata": {}}')),
           expect_note="JSON items"),
    Attack("reply-markdown-is-a-number", "grader", "e8_05",
           "an own cell makes the next reply carry an output whose text/markdown is the number 42 (the HTML "
           "export used to raise on it); the answers are honest", (),
           add_cell("e8_05_i_answer", _extra_output('{"output_type": "display_data", "data": {"text/markdown": 42, '
                                                    '"text/plain": "42"}, "metadata": {}}', once=True)),
           expect_note="rule 'type'", feedback=True),
    Attack("reply-thousands-of-outputs", "grader", "e8_05",
           "an own cell makes the next reply carry 2000 small outputs; the answers are honest", (),
           add_cell("e8_05_ii_answer", WORKER + '''_finish = type(_w.outputs).finish
def _many(self):
    type(_w.outputs).finish = _finish
    return _finish(self) + [{"output_type": "stream", "name": "stdout", "text": "."}] * 2000
type(_w.outputs).finish = _many'''), expect_note="maxItems"),
    Attack("value-complex-overflow", "grader", "e8_01",
           "Z is right, but the reply carries it as complex(10**400), which the grader cannot build",
           ("e8_01_i_visible", "e8_01_i_hidden"), append("e8_01_i_answer", _encoded_as("Z", '{"$c": [10 ** 400, 0]}'))),
    Attack("value-5000-digit-integer", "grader", "e8_07",
           "S_i is sent as a 5000-digit integer (int-to-str limit lifted in the student's process)",
           ("e8_07_types_visible", "e8_07_i_hidden"),
           append("e8_07_i_answer", "import sys\nsys.set_int_max_str_digits(0)\nS_i = float(S_i)   # an object of its own"
                  + _encoded_as("S_i", "10 ** 5000"))),
    Attack("value-array-of-impossible-shape", "grader", "e8_05",
           "W_avg is sent as an empty array of shape (0, 10**30)",
           ("e8_05_shapes_visible", "e8_05_i_hidden"),
           append("e8_05_i_answer", _encoded_as("W_avg", '{"$nd": ["<f8", [0, 10 ** 30], ""]}'))),
    Attack("value-bad-base64", "grader", "e8_05",
           "Z_avg is sent as an array whose data is not base64",
           ("e8_05_shapes_visible", "e8_05_ii_hidden"),
           append("e8_05_ii_answer", _encoded_as("Z_avg", '{"$nd": ["<f8", [8, 8], "%" * 683]}'))),
    Attack("value-nested-100000-deep", "grader", "e8_04",
           "the reply that carries Z_full holds it nested 100 000 lists deep (written by the student's own send)",
           ("e8_04_shapes_visible", "e8_04_full_hidden"),
           append("e8_04_shifted_answer", _raw_value("Z_full", 'b"[" * 100_000 + b"0" + b"]" * 100_000'))),
    Attack("value-bare-nan", "grader", "e8_06",
           "the reply that carries K_corr holds a bare NaN, which JSON does not have",
           ("e8_06_iv_visible", "e8_06_iii_hidden"), append("e8_06_iii_answer", _raw_value("K_corr", 'b"NaN"'))),
    Attack("metadata-5000-digit-integer", "grader", "e8_03",
           "the notebook's metadata and a cell's metadata hold a 5000-digit integer (json.loads used to raise); "
           "the answers are honest", (),
           raw=_with_raw(("notebook", "e8_03_kernels_answer"), b"1" + b"0" * 4999), expect_note="5000 digits"),
    Attack("metadata-points-5000-digits", "grader", "e8_03",
           "a hidden test cell's points are a 5000-digit integer; the answers are honest", (),
           raw=_with_raw(("points:e8_03_separate_hidden",), b"4" + b"0" * 4999),
           expect_note="metadata of cell e8_03_separate_hidden was changed"),
    Attack("metadata-nested-40-deep", "grader", "e8_09",
           "the notebook's metadata nests 40 levels deep; the answers are honest", (),
           notebook_metadata(deep=json.loads("[" * 40 + "]" * 40)), expect_note="nested more than 16 deep"),
    Attack("metadata-nested-100000-deep", "grader", "e8_02",
           "the notebook's metadata nests 100 000 levels deep: the file cannot be parsed", ALL,
           raw=_with_raw(("notebook",), b"[" * 100_000 + b"]" * 100_000), honest=("e8_01",),
           expect_note="nested too deeply"),

    # --- the inbox ----------------------------------------------------------------------------
    Attack("inbox-link-to-proc-self-mem", "inbox", "e8_01", "e8_01.ipynb is a symlink to /proc/self/mem",
           ALL, links=(("e8_01.ipynb", "proc-mem"),), honest=("e8_02",)),
    Attack("inbox-link-to-the-solution", "inbox", "e8_01",
           "e8_01.ipynb is a symlink to the instructor's solutions/ch08/e8_01.ipynb", ALL,
           links=(("e8_01.ipynb", "solution"),), honest=("e8_02",),
           verify=_no_solution_text("e8_01", "### BEGIN SOLUTION")),
    Attack("inbox-link-to-another-student", "inbox", "e8_01",
           "e8_01.ipynb is a symlink to the honest student's e8_01.ipynb", ALL,
           links=(("e8_01.ipynb", "other-student"),), honest=("e8_02",)),
    Attack("inbox-fifo", "inbox", "e8_01", "e8_01.ipynb is a named pipe (reading it would wait forever)", ALL,
           links=(("e8_01.ipynb", "fifo"),), honest=("e8_02",)),
    Attack("inbox-linked-folder", "inbox", "e8_01", "the student's folder is a symlink to the honest student's",
           ALL, links=((".", "folder"),)),
    Attack("inbox-own-timestamp", "inbox", "e8_01",
           "the submission carries its own timestamp.txt of 2001-01-01, before any deadline; answers honest", (),
           stamp="2001-01-01 00:00:00.000000 UTC", verify=_submitted_by_the_graders_clock),

    # --- the instructor's browser ---------------------------------------------------------------
    Attack("script-javascript-output", "browser", "e8_01",
           "an own cell displays application/javascript that sets a marker", (),
           add_cell("e8_01_i_answer", f'from IPython.display import Javascript, display\ndisplay(Javascript("{LIVE}"))'),
           feedback=True),
    Attack("script-javascript-patched-in", "browser", "e8_01",
           "an own cell patches the worker so that the next reply carries application/javascript", (),
           add_cell("e8_01_i_answer", _extra_output(f'{{"output_type": "display_data", "data": {{"application/'
                                                    f'javascript": "{LIVE}"}}, "metadata": {{}}}}', once=True)),
           feedback=True),
    Attack("script-html-output", "browser", "e8_01",
           "an own cell displays text/html with a script, an onerror handler, an iframe and a javascript: link", (),
           add_cell("e8_01_i_answer", "from IPython.display import HTML, display\ndisplay(HTML("
                    + repr(f'<script>{LIVE}</script><img src="x" onerror="{LIVE}"><iframe srcdoc="<script>{LIVE}'
                           f'</script>"></iframe><a href="javascript:{LIVE}">grades</a>') + "))"),
           feedback=True),
    Attack("script-markdown-cell", "browser", "e8_01",
           "an own Markdown cell with <img onerror>, <script>, <svg onload> and a javascript: link", (),
           add_cell("e8_01_i_answer", f'Nice work!\n\n<img src="x" onerror="{LIVE}">\n\n<script>{LIVE}</script>\n\n'
                                      f'<svg onload="{LIVE}"></svg>\n\n[grades](javascript:{LIVE})', "markdown"),
           feedback=True),
    Attack("script-in-a-grade-id", "browser", "e8_01",
           "an answer cell's grade id is an <img onerror> tag, which the grader's notes quote", (),
           metadata("e8_01_ii_answer", grade_id=f'<img src=x onerror="{LIVE}">'), feedback=True,
           expect_note="is not a cell of this notebook"),
    Attack("script-in-an-error-message", "browser", "e8_01",
           "an own cell raises an error whose message is a script", (),
           add_cell("e8_01_i_answer", f"raise ValueError('<script>{LIVE}</script><img src=x onerror=\"{LIVE}\">')"),
           feedback=True),
    Attack("pathological-markdown", "browser", "e8_05",
           "a 120 kB Markdown cell of '[[' (rendering it takes time that grows with the square of its size)", (),
           add_cell("e8_05_i_answer", "[[" * 60_000, "markdown"), feedback=True),

    # --- the machine's resources -----------------------------------------------------------------
    Attack("memfd-hoard", "resource", "e8_06",
           "an own cell fills 200 memfd files of 15 MB (3 GB, outside the address-space limit); answers honest", (),
           add_cell("e8_06_iv_answer", '''import os
_fds = []
for _k in range(200):
    _fd = os.memfd_create(f"hoard{_k}")
    os.write(_fd, b"x" * (15 * 2 ** 20))
    _fds.append(_fd)
print("held", 15 * len(_fds), "MB")'''), verify=_own_cell_says("e8_06", "e8_06_iv_answer", "SIGKILL")),
    Attack("in-memory-folders-filled", "resource", "e8_04",
           "an own cell fills /tmp, the home folder and /dev/shm to their size, then answers go on honestly", (),
           add_cell("e8_04_shifted_answer", '''_written = 0
for _folder in ("/tmp", "/home/student", "/dev/shm"):
    try:
        with open(_folder + "/fill", "wb") as _fh:
            while True:
                _fh.write(b"x" * 2 ** 20)
                _written += 1
    except OSError:
        pass
print("filled", _written, "MB")'''), verify=_own_cell_says("e8_04", "e8_04_shifted_answer", "filled")),
    Attack("rich-output-flood", "resource", "e8_09",
           "30 own cells each display 7 outputs of 2 MB (14 MB per cell, 420 MB in all); answers honest", (),
           both(*[add_cell("e8_09_fns_answer", "from IPython.display import display\nfor _k in range(7):\n"
                                               "    display({'text/plain': str(_k) * 2_000_000}, raw=True)")] * 30),
           verify=_graded_size_at_most("e8_09", 20)),
    Attack("busy-threads", "resource", "e8_03",
           "an own cell runs 150 threads that hash for 2 s (hashing releases the GIL); answers honest", (),
           add_cell("e8_03_kernels_answer", '''import hashlib, threading, time
threading.stack_size(256 * 1024)
_data, _stop = b"x" * 2 ** 20, time.monotonic() + 2
def _burn():
    while time.monotonic() < _stop:
        hashlib.sha256(_data).digest()
_threads = [threading.Thread(target=_burn) for _ in range(150)]
_start, _cpu = time.monotonic(), time.process_time()
for _t in _threads:
    _t.start()
for _t in _threads:
    _t.join()
print("cores", (time.process_time() - _cpu) / (time.monotonic() - _start))'''),
           verify=_own_cell_says("e8_03", "e8_03_kernels_answer", "cores", _cores_within_quota)),
    Attack("thread-bomb", "resource", "e8_09",
           "an own cell starts threads until it cannot; answers honest", (),
           add_cell("e8_09_fns_answer", '''import threading, time
threading.stack_size(64 * 1024)
_threads = []
try:
    for _ in range(5000):
        _t = threading.Thread(target=time.sleep, args=(2,))
        _t.start()
        _threads.append(_t)
except RuntimeError as _error:
    print("stopped at", len(_threads), type(_error).__name__)'''),
           verify=_own_cell_says("e8_09", "e8_09_fns_answer", "stopped at", _threads_within_pids)),

    # --- hand-offs the old rule missed: it looked the function up by its reported __name__ ---------
    Attack("conv-output-size-lambda", "rule", "e8_07", "conv_output_size is a lambda around tc.output_size",
           SIZE_FUNCTION, append("e8_07_i_answer", "conv_output_size = lambda R, r, padding, stride: "
                                                   "tc.output_size(R, r, padding=padding, stride=stride)")),
    Attack("conv-output-size-renamed", "rule", "e8_07",
           "conv_output_size is a def of another name around tc.output_size", SIZE_FUNCTION,
           append("e8_07_i_answer", "def _honest_size(R, r, padding, stride):\n"
                                    "    return tc.output_size(R, r, padding=padding, stride=stride)\n"
                                    "conv_output_size = _honest_size")),
    Attack("conv-output-size-name-built", "rule", "e8_07",
           "conv_output_size reaches tc.output_size through a name built at run time", SIZE_FUNCTION,
           append("e8_07_i_answer", "def conv_output_size(R, r, padding, stride):\n"
                                    "    return getattr(tc, 'output' + '_size')(R, r, padding=padding, stride=stride)")),
    Attack("conv-output-size-via-correlate", "rule", "e8_07",
           "conv_output_size reads the size off tc.correlate's result (which calls output_size)", SIZE_FUNCTION,
           append("e8_07_i_answer", "def conv_output_size(R, r, padding, stride):\n    return getattr(tc, 'corr' + "
                                    "'elate')(np.ones((r, r)), np.ones((R, R)), padding=padding, stride=stride)"
                                    ".shape[0]")),
    Attack("conv-output-size-library-copy", "rule", "e8_07",
           "conv_output_size is a copy of the library's output_size, compiled from its source at run time",
           SIZE_FUNCTION, append("e8_07_i_answer", '''import inspect, sys
_ns = {}
exec(compile(inspect.getsource(sys.modules["textbook_core." + "details"]), "mine", "exec"), _ns)
def conv_output_size(R, r, padding, stride):
    return _ns["output" + "_size"](R, r, padding=padding, stride=stride)''')),
    Attack("conv-output-size-in-a-thread", "rule", "e8_07",
           "conv_output_size has a thread call tc.output_size (name built at run time)", SIZE_FUNCTION,
           append("e8_07_i_answer", '''import threading
def conv_output_size(R, r, padding, stride):
    _box = []
    _t = threading.Thread(target=lambda: _box.append(getattr(tc, "output" + "_size")(R, r, padding=padding,
                                                                                      stride=stride)))
    _t.start()
    _t.join()
    return _box[0]''')),
    Attack("conv-output-size-recorder-off", "rule", "e8_07",
           "conv_output_size switches the profiler off, then calls tc.output_size by a built name", SIZE_FUNCTION,
           append("e8_07_i_answer", '''import sys
def conv_output_size(R, r, padding, stride):
    sys.setprofile(None)
    return getattr(tc, "output" + "_size")(R, r, padding=padding, stride=stride)''')),
    Attack("max-pool-da-by-nudging", "rule", "e8_08",
           "max_pool_da nudges each pixel and watches how tc.max_pool changes (E8.8 derived by probing the "
           "library)", ("e8_08_fn_visible",) + E8_8_HIDDEN, append("e8_08_fn_answer", '''def max_pool_da(dLZ, A, size, stride=None):
    A, dLZ = np.asarray(A, dtype=float), np.asarray(dLZ, dtype=float)
    base, dA = tc.max_pool(A, size, stride=stride), np.zeros(A.shape)
    for index in np.ndindex(A.shape):
        lower = A.copy()
        lower[index] -= 1e-3          # only the window's single maximum lowers the pooled value
        dA[index] = np.sum((base - tc.max_pool(lower, size, stride=stride)) / 1e-3 * dLZ)
    return dA''')),

    # --- rubric gaps --------------------------------------------------------------------------
    Attack("z81-pooled-zero", "rubric", "e8_02", "Z81 = pooled = 0 (neither is an array of the asked shape)",
           ("e8_02_pool_visible", "e8_02_own_hidden", "e8_02_reference_hidden"),
           append("e8_02_pool_answer", "Z81 = pooled = 0")),
    Attack("empty-kernel-stack", "rubric", "e8_10", "LW1 is an empty kernel stack of shape (0, 1, 3, 3)", ALL,
           append("e8_10_design_answer", "LW1 = np.zeros((0, 1, 3, 3))\nb1 = np.zeros(0)\nLW3 = np.zeros((2, 0))")),
)
"""The attacks of issue 10, in report order."""
