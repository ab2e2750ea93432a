"""Which library functions a piece of code enters: the record behind the hand-off rule.

The hand-off rule (`autograder.grading`) asks what a student's function *does*, not what it is
called. `Recorder` answers it: while a cell or one call of a student function runs in the sandbox
(`autograder.worker`), CPython's C-level profiler (``_lsprof``, the engine of ``cProfile``)
counts every function entered, in every thread the code starts, and `Recorder.stop` turns what
was entered into dotted names:

- Python functions of the watched packages (`ROOTS`: ``textbook_core``, numpy, scipy and
  ``autograder.checks``), also when reached through an alias, ``getattr`` with a name built at
  run time, or a library function that calls it: ``textbook_core``'s and ``checks``' by `dotted`
  of the function object (the name the grader gives a function it forbids:
  ``textbook_core.max_pool``), numpy's and scipy's by the module their file is and their
  qualified name (``numpy.lib._function_base_impl.rot90``, which `matches` ``numpy.rot90``);
- a copy of a ``textbook_core`` function compiled from its source (``exec`` of
  ``inspect.getsource``), by the bytecode it shares with the original;
- C functions of those packages (``numpy._core._multiarray_umath.correlate``).

`matches` decides whether a recorded name is a forbidden one: the same name, a name inside a
forbidden module (``scipy.signal``), or the same function name in the same package
(``textbook_core.gradient.max_pool_da`` is ``textbook_core.max_pool_da``).

The record lives in the student's own process, so a student who reads this file can try to
switch it off. What the recorder notices and reports as ``untracked`` (and the grader then
fails any part that forbids a function): the profiler removed or replaced in the thread that
runs the code (``sys.setprofile``, ``cProfile``, ``%prun``), its methods called from the
student's code, the interpreter's object lists searched (``gc.get_objects``, the way to dig out
what this module hides), and its guards on ``sys.setprofile``, ``sys.getprofile`` and thread
start-up replaced. What it cannot notice: code that switches the profiler off *from C* (a
builtin such as ``map`` calling the profiler's own ``disable``, or ``ctypes``) and switches it
back on before the call ends. That takes reading this source and the interpreter's; against it
stand the source check of the hand-off rule and the tripwires, which remove the bodies of the
pure answer functions (`autograder.course.REFERENCE_ANSWERS`) from the sandbox altogether.
"""
import _lsprof
import _thread
import os
import sys
import threading
import types

ROOTS = ("textbook_core", "numpy", "scipy", "autograder")
"""Packages whose functions are recorded."""

OWN = ("autograder.worker", "autograder.wire", "autograder.recorder", "autograder.grading",
       "autograder.sandbox")
"""Modules of the grading machinery itself: never recorded."""

MAX_NAMES = 1000
"""At most this many names are reported per run or call."""

MIN_COPY_BYTES = 40
"""Bytecode at least this long that equals a ``textbook_core`` function's counts as its copy."""

_TAMPERING = {
    "<built-in method sys.setprofile>": "switched the profiler off or replaced it (sys.setprofile)",
    "<method 'disable' of '_lsprof.Profiler' objects>": "switched the grader's profiler off",
    "<method 'enable' of '_lsprof.Profiler' objects>": "started a profiler of its own",
    "<method 'clear' of '_lsprof.Profiler' objects>": "cleared the grader's profiler",
    "<built-in method gc.get_objects>": "searched the interpreter's objects (gc.get_objects)",
    "<built-in method gc.get_referrers>": "searched the interpreter's objects (gc.get_referrers)",
    "<built-in method gc.get_referents>": "searched the interpreter's objects (gc.get_referents)",
}


def dotted(function):
    """The dotted name of a library function (or a dotted string, returned as it is).

    >>> import numpy as np
    >>> dotted(np.rot90), dotted("scipy.signal"), dotted(dotted)
    ('numpy.rot90', 'scipy.signal', 'autograder.recorder.dotted')
    """
    if isinstance(function, str):
        return function
    module = getattr(function, "__module__", None) or ""
    name = getattr(function, "__qualname__", None) or getattr(function, "__name__", None) or type(function).__name__
    if module.split(".")[0] == "textbook_core":
        module = "textbook_core"
    return f"{module}.{name}" if module else str(name)


def _public(name):
    """`name` with its modules named as their package exports them (``numpy.lib._stride_tricks_impl``
    is ``numpy.lib.stride_tricks``, ``scipy.signal._signaltools`` is ``scipy.signal.signaltools``)."""
    *modules, last = name.split(".")
    return ".".join([m.lstrip("_").removesuffix("_impl") or m for m in modules] + [last])


def matches(name, forbidden):
    """Whether the recorded (or source) `name` is the forbidden dotted name `forbidden`.

    The same name, a name inside the forbidden module (also when the function lives in a private
    module of it), or the same function name in the same package; a bare name (from the source:
    an attribute or a string) matches on its last part.

    >>> [matches(n, "textbook_core.max_pool") for n in ("textbook_core.max_pool", "textbook_core.oracle.max_pool",
    ...                                                 "textbook_core.max_pool_da", "max_pool", "numpy.max")]
    [True, True, False, True, False]
    >>> matches("scipy.signal._signaltools.convolve2d", "scipy.signal"), matches("numpy.fft.fft", "scipy.signal")
    (True, False)
    >>> matches("numpy.lib._stride_tricks_impl.sliding_window_view", "numpy.lib.stride_tricks")
    True
    """
    if any(n == forbidden or n.startswith(forbidden + ".") for n in (name, _public(name))):
        return True
    head, _, last = forbidden.rpartition(".")
    if "." not in name:
        return bool(head) and name == last
    return name.split(".")[0] == forbidden.split(".")[0] and name.rpartition(".")[2] == last


def first_match(names, forbidden):
    """The first forbidden dotted name that one of `names` matches, or None."""
    for candidate in forbidden:
        if any(matches(name, candidate) for name in names):
            return candidate
    return None


def _package_dirs():
    """``{folder: package}`` of the imported watched packages."""
    dirs = {}
    for root in ROOTS:
        module = sys.modules.get(root)
        for folder in getattr(module, "__path__", None) or ():
            dirs[os.path.join(os.path.realpath(folder), "")] = root
            dirs[os.path.join(folder, "")] = root
    return dirs


class Recorder:
    """Records the library functions entered between `start` and `stop`, in every thread.

    With ``guard=True`` (the sandbox) it also installs the guards described in the module
    docstring; without (the grader's own `autograder.checks.forbid`) it only records.
    """

    def __init__(self, guard=False):
        self._profile_of = sys.getprofile
        self._main = None
        self._threads = []           # (profiler, {code: calls at start}) of the threads the code started
        self._names = {}             # code object or builtin description -> dotted name or None
        self._public = {}            # code object -> dotted name of the library function
        self._scanned, self._modules = set(), 0
        self._copies = None          # bytecode -> dotted name, of textbook_core's functions
        self._tampered = []
        self._guards = {}
        if guard:
            self._install_guards()

    # -- recording ---------------------------------------------------------------------------

    @staticmethod
    def _profiler():
        return _lsprof.Profiler(subcalls=False, builtins=True)

    def start(self):
        """Begin a record (the previous one is dropped)."""
        self._tampered = []
        self._threads = [(p, _counts(p)) for p, _ in self._threads]
        self._main = self._profiler()
        self._main.enable()

    def stop(self):
        """End the record: ``(sorted dotted names, reason or None)``, the reason saying how the
        record was tampered with, if it was."""
        main, self._main = self._main, None
        if main is None:
            return [], None
        if self._profile_of() is not main:
            self._tampered.append("switched the grader's profiler off or replaced it")
        main.disable()
        entered = {entry.code: entry.callcount for entry in main.getstats()}
        disables = entered.pop(_DISABLE, 0) - 1   # one is the grader's own, just above
        for profiler, before in self._threads:
            for code, calls in _counts(profiler).items():
                if calls > before.get(code, 0):
                    entered[code] = entered.get(code, 0) + calls - before.get(code, 0)
        if disables > 0 or entered.pop(_DISABLE, 0):
            self._tampered.append(_TAMPERING[_DISABLE])
        dirs = _package_dirs()
        names = set()
        for code in entered:
            if isinstance(code, str) and code in _TAMPERING:
                self._tampered.append(_TAMPERING[code])
            name = self._name(code, dirs)
            if name is not None and "<" not in name:   # not the inner functions of a recorded one
                names.add(name)
        for what, (module, attribute, guard) in self._guards.items():
            if getattr(module, attribute, None) is not guard:
                self._tampered.append(f"replaced the grader's guard on {what}")
        reason = "; ".join(dict.fromkeys(self._tampered)) or None
        return sorted(names)[:MAX_NAMES], reason

    # -- names ---------------------------------------------------------------------------------

    def _name(self, code, dirs):
        if code not in self._names:
            self._names[code] = self._builtin_name(code) if isinstance(code, str) else self._code_name(code, dirs)
        return self._names[code]

    @staticmethod
    def _builtin_name(description):
        prefix = "<built-in method "
        if description.startswith(prefix) and description.endswith(">") and " of " not in description:
            name = description[len(prefix):-1]
            if name.split(".")[0] in ROOTS and not name.startswith(OWN):
                return name
        return None

    def _code_name(self, code, dirs):
        filename = code.co_filename
        folder = next((f for f in dirs if filename.startswith(f)), None)
        if folder is None:
            return self._copy_of(code)
        root = dirs[folder]
        if root in ("textbook_core", "autograder"):
            self._scan()
            if code in self._public:
                return self._public[code]
        relative = os.path.splitext(filename[len(folder):])[0].replace(os.sep, ".")
        relative = relative.removesuffix("__init__").rstrip(".")
        module = f"{root}.{relative}" if relative else root
        if module.startswith(OWN):
            return None
        if root == "textbook_core":
            module = "textbook_core"
        return f"{module}.{getattr(code, 'co_qualname', code.co_name)}"

    def _scan(self):
        """Map the code of every function of ``textbook_core`` and ``autograder`` to its `dotted` name
        (numpy and scipy are named from their files: scanning them would cost every notebook time)."""
        if len(sys.modules) == self._modules:
            return
        self._modules = len(sys.modules)
        for module_name, module in list(sys.modules.items()):
            if module_name in self._scanned or module_name.split(".")[0] not in ("textbook_core", "autograder") \
                    or module_name.startswith(OWN):
                continue
            self._scanned.add(module_name)
            if not isinstance(module, types.ModuleType):
                continue
            for value in list(vars(module).values()):
                for function in (value, getattr(value, "_implementation", None), getattr(value, "__wrapped__", None)):
                    code = getattr(function, "__code__", None)
                    if isinstance(code, types.CodeType) and code not in self._public:
                        name = dotted(value)
                        self._public[code] = None if name.startswith(OWN) else name

    def _copy_of(self, code):
        """The library function whose bytecode `code` repeats, if it is long enough to tell."""
        if len(code.co_code) < MIN_COPY_BYTES:
            return None
        if self._copies is None:
            self._scan()
            self._copies = {}
            for library_code, name in self._public.items():
                if name.startswith("textbook_core.") and len(library_code.co_code) >= MIN_COPY_BYTES:
                    self._copies.setdefault(library_code.co_code, name)
        return self._copies.get(code.co_code)

    # -- guards (sandbox only) ----------------------------------------------------------------

    def _install_guards(self):
        recorder = self
        set_profile, start_thread = sys.setprofile, _thread.start_new_thread

        def setprofile(function):
            recorder._tampered.append("switched the profiler off or replaced it (sys.setprofile)")
            set_profile(function)

        def getprofile():
            recorder._tampered.append("looked for the grader's profiler (sys.getprofile)")
            return None

        def threading_setprofile(function):
            recorder._tampered.append("changed the profiler of new threads (threading.setprofile)")

        def start_new_thread(function, args, kwargs=None):
            def run(*args, **kwargs):
                profiler = recorder._profiler()
                recorder._threads.append((profiler, {}))
                profiler.enable()
                return function(*args, **kwargs)
            return start_thread(run, args, kwargs or {})

        self._guards = {
            "sys.setprofile": (sys, "setprofile", setprofile),
            "sys.getprofile": (sys, "getprofile", getprofile),
            "threading.setprofile": (threading, "setprofile", threading_setprofile),
            "_thread.start_new_thread": (_thread, "start_new_thread", start_new_thread),
            "threading._start_new_thread": (threading, "_start_new_thread", start_new_thread),
        }
        for module, attribute, guard in self._guards.values():
            setattr(module, attribute, guard)


_DISABLE = "<method 'disable' of '_lsprof.Profiler' objects>"


def _counts(profiler):
    return {entry.code: entry.callcount for entry in profiler.getstats()}
