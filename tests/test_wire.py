"""The wire between the grader and the sandboxed student process (autograder/wire.py) and the schema
of the worker's replies (autograder/replies.py): plain data only, read within bounds, and a value
that cannot be read costs only itself, never the reply or the grader."""
import base64
import doctest
import json
import os
import resource
import time

import numpy as np
import pytest

from autograder import recorder, replies, wire


@pytest.mark.parametrize("module", [wire, replies, recorder])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 1 and result.failed == 0


def roundtrip(value):
    return wire.decode(wire.loads(wire.pack(wire.encode(value))[4:]))


# --- plain values survive, anything else is not data ---------------------------------------------

class Weird:
    def __array__(self, *args, **kwargs):
        raise RuntimeError("no")


@pytest.mark.parametrize("value, expected", [
    (np.arange(6).reshape(2, 3), np.arange(6).reshape(2, 3)),
    (np.float32(1.5), 1.5), ((1, [2.0, "b"]), (1, [2.0, "b"])), ({"a": np.int8(3)}, {"a": 3}),
    (complex(1, -2), complex(1, -2)), (np.array([True, False]), np.array([True, False])),
    (np.array([[1, 2], [3, 4]], dtype=object), np.array([[1.0, 2.0], [3.0, 4.0]])),
    (2 ** 100, 2 ** 100), (np.zeros((0, 3)), np.zeros((0, 3))),
])
def test_plain_values_survive_the_wire(value, expected):
    got = roundtrip(value)
    if isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype.kind == expected.dtype.kind
        assert got.shape == expected.shape and np.array_equal(got, expected)
    else:
        assert got == expected and type(got) is type(expected)


def test_anything_else_is_not_data():
    handles = []
    encoded = wire.encode({"f": len, "obj": Weird(), "cls": int, "mod": np, "deep": [[[[[[[[[[[[[[1]]]]]]]]]]]]]],
                           "huge": 10 ** 5000}, handles)
    got = wire.decode(encoded)
    assert isinstance(got["f"], wire.Function) and handles == [len]
    assert isinstance(got["obj"], wire.NotData) and got["obj"].type_name == "Weird"
    assert isinstance(got["cls"], wire.NotData) and isinstance(got["mod"], wire.Module)
    assert isinstance(got["deep"], list)   # nested past the limit: the innermost part is not data
    assert isinstance(got["huge"], wire.NotData) and "bits" in got["huge"].type_name


# --- decoding never raises: every bad value is Broken with the reason ------------------------------

HUGE = b"1" + b"0" * 400
BAD = [
    (b'{"$nd": ["|O", [1], ""]}', "known dtype"), (b'{"$nd": ["<f8", [-1], ""]}', "bad array shape"),
    (b'{"$nd": ["<f8", [2], "AAAA"]}', "needs 16 bytes"), (b'{"$nd": ["<f8", [1], "!!!!"]}', "not base64"),
    (b'{"$nd": ["<f8", [0, ' + b"9" * 30 + b'], ""]}', "cannot be built"),
    (b'{"$nd": ["<f8", [100000, 100000], ""]}', "more elements"),
    (b'{"$nd": [["<f8"], [1], ""]}', "known dtype"), (b'{"$nd": ["<f8", [1.5], ""]}', "bad array shape"),
    (b'{"$pickle": "x"}', "unknown tag"), (b'{"$f": "1e999"}', "unknown tag"), (b'{"$f": ["nan"]}', "unknown tag"),
    (b'{"a": 1, "b": 2}', "unexpected dict"), (b'{"$c": ["x", 1]}', "two numbers"),
    (b'{"$c": [' + HUGE + b', 0]}', "401 digits"), (b'{"$c": [1e308, 1e308]}', None),
    (b'{"$c": [' + b"9" * 40 + b', 0]}', None), (b"1e999", "non-finite"), (b"NaN", "non-finite"),
    (b"-Infinity", "non-finite"), (HUGE, "401 digits"), (b"[" + b"1" * 5000 + b"]", "5000 digits"),
    (b'{"$fn": [-1, "f"]}', "unknown tag"), (b'{"$fn": [true, "f"]}', "unknown tag"),
    (b'{"$d": [[1, 2]]}', "dict entry"), (b"[" * 40 + b"]" * 40, "nested too deeply"),
]


@pytest.mark.parametrize("data, reason", BAD, ids=[d[:30].decode() for d, _ in BAD])
def test_bad_values_are_broken_with_the_reason(data, reason):
    got = wire.decode(wire.loads(data))
    if reason is None:   # large but readable
        assert isinstance(got, complex)
    else:
        assert isinstance(got, wire.Broken) and reason in got.reason, got


def test_budgets_bound_what_a_value_may_cost():
    assert "more elements" in wire.decode(wire.encode(np.zeros(1000)), wire.Budget(elements=999)).reason
    assert "more items" in wire.decode([0] * 1000, wire.Budget(items=999)).reason
    assert "nested too deeply" in wire.decode([[[[1]]]], wire.Budget(depth=2)).reason
    assert wire.decode([[[1]]], wire.Budget(depth=3)) == [[[1]]]


def test_one_bad_value_leaves_the_others_readable():
    reply = wire.loads(b'{"Z": {"$c": [' + HUGE + b', 0]}, "W": [1, 2], "K": {"$nd": ["<f8", [1], "AAAAAAAA8D8="]}}')
    got = {name: wire.decode(value) for name, value in reply.items()}
    assert isinstance(got["Z"], wire.Broken) and got["W"] == [1, 2] and got["K"].tolist() == [1.0]


# --- frames: length first, bounded parsing ---------------------------------------------------------

def test_frames_are_read_with_size_and_time_limits():
    r, w = os.pipe()
    try:
        os.write(w, (10 ** 9).to_bytes(4, "big"))
        with pytest.raises(wire.TooLarge):
            wire.read_frame(r, max_bytes=1000)
        os.write(w, (100).to_bytes(4, "big") + b"{}")
        with pytest.raises(wire.Timeout):
            wire.read_frame(r, deadline=time.monotonic() + 0.2)
    finally:
        os.close(r)
        os.close(w)


def test_a_frame_of_tiny_objects_is_refused_before_it_is_parsed():
    data = b"[" + b"[]," * (4 * 2 ** 20) + b"[]]"          # 12 MB: ~4 million lists once parsed
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(wire.Malformed, match="JSON items, over the limit"):
        wire.loads(data)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown < 3 * len(data) / 2 ** 20, grown             # a copy or two of the bytes, not 400 MB of lists
    text = json.dumps({"text": "[1, 2], " * 2 ** 18}).encode()  # brackets inside a string are not items
    assert len(wire.loads(text)["text"]) == 8 * 2 ** 18


def test_drain_reads_a_frame_without_keeping_it():
    r, w = os.pipe()
    try:
        os.set_blocking(w, False)
        payload = b"x" * 60_000
        os.write(w, payload)
        wire.drain(r, len(payload), time.monotonic() + 5)
        os.write(w, wire.pack({"after": 1}))
        assert wire.read_frame(r, deadline=time.monotonic() + 5) == {"after": 1}   # still in step
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("data", [b"\xff\xfe", b"{", b'{"a": "\\ud800"', b"", b"[1,]"])
def test_frames_that_are_not_json_are_malformed(data):
    with pytest.raises(wire.Malformed):
        wire.loads(data)


# --- the reply schema -------------------------------------------------------------------------

GOOD = {"output_type": "stream", "name": "stdout", "text": "hi\n"}


@pytest.mark.parametrize("output, rule", [
    (GOOD, None),
    ({"output_type": "display_data", "data": {"text/plain": "x", "image/png": "iVBOR"}, "metadata": {}}, None),
    ({"output_type": "error", "ename": "ValueError", "evalue": "no", "traceback": ["a", "b"]}, None),
    ({"output_type": "display_data", "data": {"text/markdown": 42}, "metadata": {}}, "type"),
    ({"output_type": "display_data", "data": {"application/javascript": "alert(1)"}, "metadata": {}}, "enum"),
    ({"output_type": "display_data", "data": {"text/html": ["<b>", "x"]}, "metadata": {}}, "type"),
    ({"output_type": "display_data", "data": {}, "metadata": {}}, "minProperties"),
    ({"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {"a": {"b": 1}}}, "maxProperties"),
    ({"output_type": "stream", "name": "stdout", "text": "x" * 100_000}, "maxLength"),
    ({"output_type": "stream", "name": "stdin", "text": "x"}, "enum"),
    (dict(GOOD, execution_count=1), "additionalProperties"),
    ({"output_type": "error", "ename": "E", "evalue": "v", "traceback": [["deep"]]}, "type"),
    ([GOOD], "type"), ("text", "type"), (None, "type"),
])
def test_outputs_are_checked_one_by_one(output, rule):
    problem = replies.output_problem(output)
    if rule is None:
        assert problem is None
    else:
        assert problem and f"rule {rule!r}" in problem and "xxxx" not in problem


@pytest.mark.parametrize("reply, op, problem", [
    ({"id": 1, "ok": {"outputs": [], "success": True}, "calls": ["numpy.rot90"], "cpu": 1.5}, "run", None),
    ({"id": 1, "ok": {"Z": 1}}, "get", None), ({"id": 1, "error": ["ValueError", "no"]}, "call", None),
    ({"id": 1, "ok": 3, "error": ["E", "x"]}, "call", "oneOf"), ({"id": 1}, "call", "oneOf"),
    ({"id": 1, "ok": {"outputs": [], "success": 1}}, "run", "type"),
    ({"id": 1, "ok": {"outputs": [GOOD] * 600, "success": True}}, "run", "maxItems"),
    ({"id": 1, "ok": {}, "calls": [1]}, "get", "type"), ({"id": 1, "ok": {}, "cpu": wire.TooLong(500)}, "get", "type"),
    ({"id": 1, "ok": 1, "error": ["E"]}, "call", "minItems"), ({"ok": 1}, "call", "required"),
    ({"id": 2, "ok": 1}, "call", "answers request 2"), ([1], "call", "type"),
    ({"id": 1, "ok": {"ready": True}, "untracked": "x" * 3000}, "ready", "maxLength"),
])
def test_replies_are_checked_against_their_schema(reply, op, problem):
    found = replies.envelope_problem(reply, op, 1)
    assert (found is None) if problem is None else (problem in found), found


def test_a_large_array_still_fits_one_frame():
    a = np.random.default_rng(0).random((1000, 1000))
    frame = wire.pack({"id": 1, "ok": wire.encode(a)})
    assert len(frame) < 12 * 2 ** 20
    reply = wire.loads(frame[4:])
    assert replies.envelope_problem(reply, "call", 1) is None
    assert np.array_equal(wire.decode(reply["ok"]), a)
    assert base64.b64decode(reply["ok"]["$nd"][2])[:8] == a.tobytes()[:8]
