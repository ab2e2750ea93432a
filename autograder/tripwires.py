"""The library the student's code sees in the sandbox: ``textbook_core`` with its answers taken out.

`build_library` writes a copy of ``textbook_core`` and of ``autograder``'s modules that run in
the sandbox (``checks``, ``wire``, ``worker``, ``recorder``) to a folder that `autograder.sandbox`
mounts read-only at `SANDBOX_LIB`. In the copy, the functions that answer an exercise
(`autograder.course.REFERENCE_ANSWERS`) are tripwires (`tripwired_source`): their docstring
stays, their body is gone, and calling them raises ``ReferenceUsed`` and records the name, so no
student code can run them, whatever name it reaches them by or however it copies the file.
"""
import ast
import atexit
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from .course import REFERENCE_ANSWERS

SANDBOX_LIB = "/sandbox/lib"
KEEP = ("__init__.py", "checks.py", "wire.py", "worker.py", "recorder.py")
"""The modules of ``autograder`` that the sandbox holds."""

TRIPWIRE_MODULE = '''"""Sandbox only: the functions that answer an exercise end here instead of computing it."""
TRIPPED = []


class ReferenceUsed(Exception):
    """A function that is the answer of an exercise was called while grading."""


def trip(name):
    TRIPPED.append(name)
    raise ReferenceUsed(f"{name} is not available while your notebook is graded: it is the answer of "
                        f"the exercise itself. Write the function with numpy.")
'''


def tripwired_source(source, names, qualified, body=None):
    """`source` with the bodies of the module-level functions `names` replaced by a tripwire.

    The docstring stays; the body becomes ``trip("<qualified>.<name>")``, which raises
    ``ReferenceUsed``. The original body is not in the result at all. `body`, if given, makes
    the new body instead: ``body(node, "<qualified>.<name>")`` returns a list of statements
    (the student edition's stubs, `autograder.edition`).

    >>> print(tripwired_source("def f(x):\\n    'Doc.'\\n    return x + 1\\n", ["f"], "m"))
    def f(x):
        \"\"\"Doc.\"\"\"
        from textbook_core._tripwire import trip
        return trip('m.f')
    """
    tree = ast.parse(source)
    found = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            if body is not None:
                node.body = body(node, f"{qualified}.{node.name}")
            else:
                doc = node.body[:1] if ast.get_docstring(node) is not None else []
                stub = ast.parse(f"from textbook_core._tripwire import trip\nreturn trip({qualified + '.' + node.name!r})")
                node.body = doc + stub.body
            found.add(node.name)
    missing = set(names) - found
    if missing:
        raise ValueError(f"no module-level function {sorted(missing)} to replace in {qualified}")
    return ast.unparse(tree) + "\n"


def build_library(target):
    """Write the sandbox's ``textbook_core`` and ``autograder`` (checks, wire, worker) to `target`."""
    import textbook_core

    target = Path(target)
    packages = {"textbook_core": Path(textbook_core.__file__).parent, "autograder": Path(__file__).parent}
    keep = {"autograder": KEEP}
    for package, folder in packages.items():
        (target / package).mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.glob("*.py")):
            if package in keep and path.name not in keep[package]:
                continue
            relative = f"{package}/{path.name}"
            source = path.read_text(encoding="utf-8")
            if relative in REFERENCE_ANSWERS:
                public = "textbook_core" if package == "textbook_core" and path.stem == "gradient" else \
                    f"{package}.{path.stem}"
                source = tripwired_source(source, REFERENCE_ANSWERS[relative], public)
            (target / package / path.name).write_text(source, encoding="utf-8")
    (target / "textbook_core" / "_tripwire.py").write_text(TRIPWIRE_MODULE, encoding="utf-8")
    for root, dirs, files in os.walk(target):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return target


_LIBRARY = {}


def library():
    """This process's built copy of the sandbox library (rebuilt if the sources changed)."""
    import textbook_core

    sources = sorted(Path(textbook_core.__file__).parent.glob("*.py")) + sorted(Path(__file__).parent.glob("*.py"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    if digest not in _LIBRARY:
        folder = Path(tempfile.mkdtemp(prefix="autograder-lib-"))
        atexit.register(shutil.rmtree, folder, True)
        os.chmod(folder, 0o755)
        _LIBRARY[digest] = build_library(folder)
    return _LIBRARY[digest]
