"""Plain data between the grader and the sandboxed student process: frames and a strict codec.

The student's process is never trusted, so nothing it sends is unpickled, evaluated or imported:
every message is one frame, a 4-byte big-endian length and that many bytes of UTF-8 JSON, and
every value is plain data that `decode` rebuilds with the grader's own numpy:

=================================  ==========================================================
JSON ``null``, booleans, numbers,  themselves (floats are finite; ``{"$f": "nan"}`` and
strings, lists                     ``{"$f": "inf"}``, ``{"$f": "-inf"}`` stand for the others)
``{"$nd": [dtype, shape, b64]}``   an ndarray: dtype one of `DTYPES`, the raw little-endian bytes
``{"$t": [...]}``                  a tuple
``{"$c": [re, im]}``               a complex number
``{"$d": [[key, value], ...]}``    a dict with string keys
``{"$fn": [handle, name]}``        a function of the student: the grader may call it (by handle)
``{"$mod": name}``                 a module (the grader uses its own, never the student's)
``{"$x": type name}``              anything else: not data, so never an answer
=================================  ==========================================================

Reading never trusts the sender. `read_length` gives a frame's length before a byte of it is
read, so the reader can refuse it (`TooLarge`) or `drain` it unparsed; `loads` parses a frame
with bounds: at most `MAX_TOKENS` JSON items (counted on the raw bytes, before parsing),
integers of at most `MAX_DIGITS` digits, no bare NaN or infinity (those come back as markers
that no schema or value rule accepts). `decode` checks every value against `Budget` (depth,
array elements, string sizes, items) and never raises: a value that breaks a rule, or that
numpy or Python cannot build (``complex(10**400)``, a shape too large, bad base64), comes back
as `Broken` with the reason, so one bad value costs only the test that reads it. What a reply
may look like around its values is `autograder.replies`' schema. This module needs only the
standard library and numpy; the sandbox runs it too (`autograder.worker`).

>>> value = {"Z": np.arange(4.).reshape(2, 2), "peak": (1, 2), "letter": "b", "bad": float("nan")}
>>> decode(loads(pack(encode(value))[4:]))["Z"]
array([[0., 1.],
       [2., 3.]])
>>> decode({"$nd": ["<f8", [3], "AAAA"]})
<unreadable: array of shape [3] and dtype <f8 needs 24 bytes, got 3>
>>> decode(loads(b'{"$c": [1' + b'0' * 400 + b', 0]}'))
<unreadable: a number of 401 digits, over the limit of 40>
"""
import base64
import binascii
import json
import math
import os
import re
import select
import time
import types
from dataclasses import dataclass

import numpy as np

DTYPES = {"|b1": np.bool_, "<i8": np.int64, "<u8": np.uint64, "<f8": np.float64, "<c16": np.complex128}
"""The only array dtypes on the wire; the sender converts the others (float32 -> <f8, ...)."""

MAX_FRAME = 16 * 2 ** 20
"""Default largest frame the grader reads (bytes)."""

MAX_TOKENS = 200_000
"""Most JSON items (commas, brackets and braces outside strings) one frame may hold: a frame of
tiny nested lists would otherwise become millions of Python objects in the grader."""

MAX_DIGITS = 40
"""Longest integer (in digits) read as a number; longer ones are `TooLong` markers."""

MIME_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex", "image/png", "image/jpeg")
"""The kinds of rich output a cell may show in its graded notebook (the worker drops the others,
the grader's schema refuses them)."""


class Malformed(ValueError):
    """A frame or value that is not plain data by the rules above."""


class Closed(EOFError):
    """The other end closed the pipe (the process ended)."""


class Timeout(TimeoutError):
    """No complete frame before the deadline."""


class TooLarge(ValueError):
    """A frame longer than the reader accepts."""


@dataclass
class Budget:
    """Limits of one decoded value: nesting depth, array elements, string characters, items."""

    depth: int = 12
    elements: int = 4_000_000
    chars: int = 4_000_000
    items: int = 100_000


# ---------------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------------

def pack(message):
    """One frame: length prefix and compact JSON (no NaN: `encode` spells them out)."""
    data = json.dumps(message, allow_nan=False, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return len(data).to_bytes(4, "big") + data


def write_frame(fd, message):
    """Write one frame to the file descriptor `fd` (raises `Closed` if the reader is gone)."""
    data = pack(message)
    try:
        while data:
            data = data[os.write(fd, data):]
    except (BrokenPipeError, OSError) as error:
        raise Closed(str(error)) from None


def _wait(fd, deadline, n, left):
    wait = None if deadline is None else deadline - time.monotonic()
    if wait is not None and wait <= 0:
        raise Timeout(f"no complete frame within the time limit ({n - left} of {n} bytes)")
    ready, _, _ = select.select([fd], [], [], wait)
    return bool(ready)


def _read_exact(fd, n, deadline, keep=True):
    chunks, left = [], n
    while left:
        if not _wait(fd, deadline, n, left):
            continue
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise Closed("the other end closed the pipe")
        if keep:
            chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_length(fd, deadline=None):
    """The length of the next frame on `fd` (its 4-byte prefix), before any of its body is read."""
    return int.from_bytes(_read_exact(fd, 4, deadline), "big")


def read_body(fd, size, deadline=None):
    """The `size` bytes of a frame's body (after `read_length`)."""
    return _read_exact(fd, size, deadline)


def drain(fd, size, deadline=None):
    """Read a frame's body of `size` bytes and keep none of it (memory stays flat)."""
    _read_exact(fd, size, deadline, keep=False)


def read_frame(fd, *, deadline=None, max_bytes=MAX_FRAME):
    """Read one frame from `fd` and parse it with `loads`; `deadline` is a `time.monotonic` value."""
    size = read_length(fd, deadline)
    if size > max_bytes:
        raise TooLarge(f"a message of {size} bytes, over the limit of {max_bytes}")
    return loads(read_body(fd, size, deadline))


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


class TooLong:
    """A number in a frame with too many digits to be read (`MAX_DIGITS`)."""

    def __init__(self, digits):
        self.digits = digits

    def __repr__(self):
        return f"<a number of {self.digits} digits>"


class NotFinite:
    """A bare ``NaN``, ``Infinity`` or ``-Infinity`` in a frame (not JSON; `encode` never sends them)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<bare {self.name}>"


def _int(text):
    digits = len(text.lstrip("-"))
    return TooLong(digits) if digits > MAX_DIGITS else int(text)


def _float(text):
    return TooLong(len(text)) if len(text) > 400 else float(text)


def loads(data, max_tokens=MAX_TOKENS):
    """Parse one frame's bytes with the bounds above; `Malformed` if it cannot be read at all.

    >>> loads(b'{"n": 12, "big": 1' + b'0' * 99 + b'}')
    {'n': 12, 'big': <a number of 100 digits>}
    >>> loads(b"[" + b"[]," * 300 + b"[]]", max_tokens=100)
    Traceback (most recent call last):
    ...
    autograder.wire.Malformed: the message has 602 JSON items, over the limit of 100
    """
    if not isinstance(data, (bytes, bytearray)):
        raise Malformed("a message must be bytes")
    bare = _STRING.sub(b'""', data)
    tokens = bare.count(b",") + bare.count(b"[") + bare.count(b"{")
    del bare
    if tokens > max_tokens:
        raise Malformed(f"the message has {tokens} JSON items, over the limit of {max_tokens}")
    try:
        return json.loads(data.decode("utf-8"), parse_int=_int, parse_float=_float, parse_constant=NotFinite)
    except (UnicodeDecodeError, ValueError, RecursionError, MemoryError) as error:
        raise Malformed(f"not a JSON message: {str(error)[:200]}") from None


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------

def _finite(x):
    x = float(x)
    if math.isfinite(x):
        return x
    return {"$f": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


def _array(a):
    if a.dtype.kind == "b":
        a = a.astype(np.bool_)
    elif a.dtype.kind == "i":
        a = a.astype("<i8")
    elif a.dtype.kind == "u":
        a = a.astype("<u8")
    elif a.dtype.kind == "f":
        a = a.astype("<f8")
    elif a.dtype.kind == "c":
        a = a.astype("<c16")
    elif a.dtype.kind == "U":
        return [_array(x) if isinstance(x, np.ndarray) else str(x) for x in a] if a.ndim else str(a)
    else:   # object arrays (lists of numbers, sympy): numbers if they can be, else not data
        try:
            return _array(a.astype(np.float64))
        except (TypeError, ValueError):
            return {"$x": f"ndarray of {a.dtype}"}
    a = np.ascontiguousarray(a)
    return {"$nd": [a.dtype.str, list(a.shape), base64.b64encode(a.tobytes()).decode("ascii")]}


def encode(value, handles=None, depth=0):
    """`value` as JSON-able plain data; callables become handles registered in `handles` (a list).

    Runs in the student's process, on the student's objects: anything that is not plain data is
    sent as ``{"$x": type name}``, and a conversion that raises is not data either.
    """
    if depth >= 10:
        return {"$x": "nested too deeply"}
    try:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
            value = int(value)
            if value.bit_length() > 3 * MAX_DIGITS:   # more digits than the grader reads
                return {"$x": f"int of {value.bit_length()} bits"}
            return value
        if isinstance(value, (float, np.floating)):
            return _finite(value)
        if isinstance(value, (complex, np.complexfloating)):
            return {"$c": [_finite(value.real), _finite(value.imag)]}
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.ndarray):
            return _array(np.asarray(value))
        if isinstance(value, tuple):
            return {"$t": [encode(v, handles, depth + 1) for v in value]}
        if isinstance(value, list):
            return [encode(v, handles, depth + 1) for v in value]
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value):
                return {"$d": [[k, encode(v, handles, depth + 1)] for k, v in value.items()]}
            return {"$x": "dict with non-string keys"}
        if isinstance(value, types.ModuleType):
            return {"$mod": value.__name__}
        if isinstance(value, type):
            return {"$x": f"class {value.__name__}"}
        if callable(value) and handles is not None:
            handles.append(value)
            return {"$fn": [len(handles) - 1, str(getattr(value, "__name__", type(value).__name__))[:100]]}
        if hasattr(value, "__array__") or hasattr(value, "tolist"):   # np.matrix, sympy, torch ...
            converted = np.asarray(value.tolist() if hasattr(value, "tolist") else value)
            if isinstance(converted, np.ndarray):
                return _array(converted)
    except Exception:   # the student's object raised while being read: it is not data
        pass
    return {"$x": type(value).__name__[:100]}


class Function:
    """A function of the student's, known to the grader only by its handle and name."""

    def __init__(self, handle, name):
        self.handle, self.name = handle, name

    def __repr__(self):
        return f"<student function {self.name}>"


class NotData:
    """A student value that is not plain data (`type_name` says what it was)."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<not data: {self.type_name}>"


class Module:
    """A student name bound to a module (`name`)."""

    def __init__(self, name):
        self.name = name


class Broken:
    """A value the grader could not read: `reason` says why (it is the student's feedback)."""

    def __init__(self, reason):
        self.reason = reason

    def __repr__(self):
        return f"<unreadable: {self.reason}>"


MAX_HANDLE = 1_000_000
"""Function handles are small integers: the worker counts the functions it has handed out."""


def decode(obj, budget=None):
    """The plain value of a parsed JSON `obj` (from `loads`); never raises.

    Returns Python numbers, strings, lists, tuples, dicts and float64/int64/bool/complex
    ndarrays, and `Function`, `NotData`, `Module` markers for the rest; a value that breaks a
    rule of the codec or of `budget`, or that cannot be built, is `Broken` with the reason.
    """
    try:
        return _decode(obj, Budget() if budget is None else budget)
    except Malformed as error:
        return Broken(str(error))
    except RecursionError:
        return Broken("the value is nested too deeply")
    except Exception as error:   # numpy or Python could not build it: a shape too large, ...
        return Broken(f"the value cannot be built ({type(error).__name__}: {str(error)[:200]})")


def _decode(obj, budget):
    left = {"elements": budget.elements, "chars": budget.chars, "items": budget.items}

    def spend(kind, n):
        left[kind] -= n
        if left[kind] < 0:
            raise Malformed(f"the value has more {kind} than the grader accepts")

    def number(o):
        if isinstance(o, TooLong):
            raise Malformed(f"a number of {o.digits} digits, over the limit of {MAX_DIGITS}")
        if isinstance(o, NotFinite) or isinstance(o, float) and not math.isfinite(o):
            raise Malformed("a bare non-finite number")
        return o

    def walk(o, depth):
        if depth > budget.depth:
            raise Malformed("the value is nested too deeply")
        spend("items", 1)
        if o is None or isinstance(o, bool):
            return o
        if isinstance(o, (int, float, TooLong, NotFinite)):
            return number(o)
        if isinstance(o, str):
            spend("chars", len(o))
            return o
        if isinstance(o, list):
            return [walk(v, depth + 1) for v in o]
        if not isinstance(o, dict) or len(o) != 1:
            raise Malformed(f"unexpected {type(o).__name__} in a value")
        (tag, body), = o.items()
        if tag == "$f" and isinstance(body, str) and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "$c" and isinstance(body, list) and len(body) == 2:
            re_, im = (walk(v, depth + 1) for v in body)
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (re_, im)):
                raise Malformed("a complex number needs two numbers")
            try:
                return complex(re_, im)
            except OverflowError:
                raise Malformed("a complex number too large for a float") from None
        if tag == "$t" and isinstance(body, list):
            return tuple(walk(v, depth + 1) for v in body)
        if tag == "$d" and isinstance(body, list):
            result = {}
            for pair in body:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                    raise Malformed("a dict entry must be [string key, value]")
                spend("chars", len(pair[0]))
                result[pair[0]] = walk(pair[1], depth + 1)
            return result
        if tag == "$nd":
            return _decode_array(body, spend)
        if tag == "$fn" and isinstance(body, list) and len(body) == 2 and type(body[0]) is int \
                and 0 <= body[0] < MAX_HANDLE and isinstance(body[1], str):
            return Function(body[0], body[1][:100])
        if tag == "$mod" and isinstance(body, str):
            return Module(body[:200])
        if tag == "$x" and isinstance(body, str):
            return NotData(body[:100])
        raise Malformed(f"unknown tag {str(tag)[:40]!r}")

    return walk(obj, 0)


def _decode_array(body, spend):
    if not (isinstance(body, list) and len(body) == 3 and isinstance(body[0], str) and body[0] in DTYPES
            and isinstance(body[1], list) and isinstance(body[2], str)):
        raise Malformed("an array must be [dtype, shape, base64 data] with a known dtype")
    dtype_name, shape, data = body
    if len(shape) > 32 or not all(type(n) is int and 0 <= n for n in shape):
        raise Malformed(f"bad array shape {shape!r}"[:200])
    size = math.prod(shape)
    spend("elements", size)
    dtype = np.dtype(DTYPES[dtype_name])
    if len(data) > (size * dtype.itemsize + 2) // 3 * 4 + 4:   # longer than the bytes it should hold
        raise Malformed(f"array of shape {shape} and dtype {dtype_name} needs {size * dtype.itemsize} "
                        f"bytes, got more")
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise Malformed("array data is not base64") from None
    if len(raw) != size * dtype.itemsize:
        raise Malformed(f"array of shape {shape} and dtype {dtype_name} needs {size * dtype.itemsize} "
                        f"bytes, got {len(raw)}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
