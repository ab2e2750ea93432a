"""Your own exercise answers, plugged into the library: ``tc.plug_in(max_pool_da=max_pool_da)``.

In the student edition (built by ``python -m autograder student-edition``) the library functions
that are the answer of an exercise (E8.8's ``max_pool_da``, E8.9's ``product_dlz`` and
``product_db``) are stubs: called before you plug in your own, they raise ``NotImplementedError``
naming the exercise. Once plugged in, the library and its callers (the Figure 8.11 network trains
through ``tc.max_pool_da``) use your function::

    import textbook_core as tc
    tc.plug_in(max_pool_da=max_pool_da)      # a function defined in this kernel
    tc.plug_in("e8_08.ipynb")                # or: run that notebook's setup and answer cells

A plug-in lasts until the kernel restarts; `unplug` removes one sooner. In the instructor's
edition the library keeps its own answers: `plug_in` records the functions and nothing else
changes, so a notebook that plugs in runs in both editions.

>>> plug_in(max_pool_da=len)
['max_pool_da']
>>> answer("max_pool_da", "E8.8", "e8_08.ipynb")("abc")
3
>>> unplug("max_pool_da")
>>> answer("max_pool_da", "E8.8", "e8_08.ipynb")
Traceback (most recent call last):
...
NotImplementedError: max_pool_da is the answer of exercise E8.8, so the student edition of textbook_core leaves it out. Solve E8.8 in e8_08.ipynb, then plug your function in before this call: tc.plug_in(max_pool_da=max_pool_da) with your function defined in this kernel, or tc.plug_in("e8_08.ipynb") to run that notebook's answer cells.
"""
import contextlib
import functools
import inspect
import io
import json
from pathlib import Path

_PLUGGED = {}


def plug_in(*notebooks, **functions):
    """Use your own functions where the library's are the answer of an exercise.

    Parameters
    ----------
    *notebooks : str or Path
        Exercise notebooks, e.g. ``"e8_08.ipynb"`` (looked for here, in ``ch08/`` and in
        ``../ch08/``): their code cells other than the checks, that is the setup and your
        answers, run in a fresh namespace (printing nothing), and every function they define is
        plugged in under its name.
    **functions : callable
        ``name=function``, e.g. ``max_pool_da=max_pool_da``.

    Returns
    -------
    list of str
        The names this call plugged in.

    >>> plug_in(product_db=3)
    Traceback (most recent call last):
    ...
    ValueError: plug_in: product_db must be a function, got int
    """
    found = {}
    for notebook in notebooks:
        found.update(_functions_in(_find(notebook)))
    found.update(functions)
    for name, function in found.items():
        if not callable(function):
            raise ValueError(f"plug_in: {name} must be a function, got {type(function).__name__}")
    _PLUGGED.update(found)
    return sorted(found)


def unplug(*names):
    """Forget the functions plugged in as `names` (every one when no name is given)."""
    for name in names or list(_PLUGGED):
        _PLUGGED.pop(name, None)


def plugged():
    """Name -> function: what is plugged in now."""
    return dict(_PLUGGED)


def answer(name, exercise, notebook, asks=None):
    """The function plugged in as `name`, or ``NotImplementedError`` that says how to plug one in.

    The student edition's stubs call this with their exercise, its notebook and the functions its
    student writes (`asks`, by default just `name`; a helper of an answer, such as where each
    window's maximum is, has none of its own). When the library passes arguments that the
    plugged-in function does not take, the ``TypeError`` says so.
    """
    function = _PLUGGED.get(name)
    asks = tuple(asks or (name,))
    if function is None and name in asks:
        raise NotImplementedError(
            f"{name} is the answer of exercise {exercise}, so the student edition of textbook_core leaves it "
            f"out. Solve {exercise} in {notebook}, then plug your function in before this call: "
            f"tc.plug_in({name}={name}) with your function defined in this kernel, or "
            f'tc.plug_in("{notebook}") to run that notebook\'s answer cells.')
    if function is None:
        raise NotImplementedError(
            f"{name} is part of the answer of exercise {exercise}, so the student edition of textbook_core "
            f"leaves it out, and this call needs it. Call the library without the option that needs it; its "
            f"other callers use your {' and '.join(asks)} once you plug it in: "
            f"tc.plug_in({', '.join(f'{a}={a}' for a in asks)}) or tc.plug_in(\"{notebook}\").")

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            inspect.signature(function).bind(*args, **kwargs)
        except TypeError as error:
            passed = ", ".join([f"{len(args)} positional"] + [f"{k}=" for k in kwargs])
            raise TypeError(f"your {name}, plugged in for {exercise}, does not take what the library passes "
                            f"({passed}): {error}") from None
        except ValueError:       # no signature to read (a builtin): just call it
            pass
        return function(*args, **kwargs)

    return call


def _find(notebook):
    path = Path(notebook)
    if path.is_absolute() or path.exists():
        return path
    for folder in (Path("ch08"), Path("..") / "ch08"):
        if (folder / path).exists():
            return folder / path
    raise ValueError(f"plug_in: no notebook {notebook} here, in ch08/ or in ../ch08/")


def _functions_in(path):
    """The functions defined by the setup and answer cells of an exercise notebook (not its checks)."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"plug_in: cannot read the notebook {path}: {error}") from None
    namespace = {"__name__": "__plugged__"}
    for cell in cells:
        if cell.get("cell_type") != "code" or cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(source, f"{path.name}, a cell", "exec"), namespace)
        except NotImplementedError as error:
            raise ValueError(f"plug_in: a cell of {path} raised NotImplementedError{': ' if str(error) else ''}"
                             f"{error or '(an answer cell not filled in yet?)'}") from None
        except Exception as error:  # the student's own code may raise anything
            raise ValueError(f"plug_in: a cell of {path} raised {type(error).__name__}: {error}") from None
    return {name: value for name, value in namespace.items() if inspect.isfunction(value)}
