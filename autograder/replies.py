"""What the grader accepts from the sandboxed worker: a JSON schema for every reply.

The worker (`autograder.worker`) runs next to the student's code, which can patch it, so its
replies are checked like any untrusted input, with `jsonschema`, after `autograder.wire.loads`
has parsed them within bounds:

- the envelope (`envelope_problem`): exactly one of ``ok`` and ``error``; the request's ``id``;
  optional ``calls`` (the library functions recorded, `autograder.recorder`), ``untracked``
  (how that record was tampered with), ``tripped`` (tripwires reached) and ``cpu`` (the
  worker's CPU seconds); nothing else, and every string and list bounded;
- what ``ok`` holds for each request: a cell's ``outputs`` and ``success``, a map of names to
  values, or one value (values are then read by `autograder.wire.decode`, which has its own
  rules and bounds);
- each output of a cell on its own (`output_problem`), so that one bad output is dropped and the
  others are kept: a stream (stdout or stderr) of text, a display or result whose data are text
  in one of the allowed mime types (`autograder.wire.MIME_TYPES`, never a number, never
  ``application/javascript``), or an error with a name, a message and a traceback of lines.

A problem is reported as a short sentence naming the place and the rule, never the offending
value (which may be megabytes long).

>>> envelope_problem({"id": 3, "ok": {"outputs": [], "success": True}}, "run", 3)
>>> envelope_problem({"id": 3, "ok": {"outputs": [], "success": True}, "extra": 1}, "run", 3)
"the reply breaks the grader's rule 'additionalProperties' at $"
>>> output_problem({"output_type": "display_data", "data": {"text/markdown": 42}, "metadata": {}})
"the output breaks the grader's rule 'type' at $.data['text/markdown']"
"""
from functools import lru_cache

from .recorder import MAX_NAMES
from .wire import MIME_TYPES

MAX_STREAM_CHARS = 70_000
MAX_RICH_CHARS = 2_100_000
MAX_OUTPUTS = 500

_NAMES = lambda most: {"type": "array", "maxItems": most, "items": {"type": "string", "maxLength": 300}}
_ERROR_PAIR = {"type": "array", "minItems": 2, "items": False,
               "prefixItems": [{"type": "string", "maxLength": 200}, {"type": "string", "maxLength": 4000}]}

ENVELOPE = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "integer", "minimum": 0, "maximum": 2 ** 62},
        "ok": True,
        "error": _ERROR_PAIR,
        "calls": _NAMES(MAX_NAMES),
        "tripped": _NAMES(20),
        "untracked": {"type": "string", "maxLength": 2000},
        "cpu": {"type": "number", "minimum": 0, "maximum": 1e9},
    },
    "additionalProperties": False,
    "oneOf": [{"required": ["ok"], "not": {"required": ["error"]}},
              {"required": ["error"], "not": {"required": ["ok"]}}],
}
"""Every reply."""

OK = {
    "ready": {"type": "object", "required": ["ready"], "additionalProperties": False,
              "properties": {"ready": {"const": True}}},
    "run": {"type": "object", "required": ["outputs", "success"], "additionalProperties": False,
            "properties": {"outputs": {"type": "array", "maxItems": MAX_OUTPUTS}, "success": {"type": "boolean"}}},
    "get": {"type": "object", "maxProperties": 1000, "propertyNames": {"maxLength": 200}},
    "call": True,
}
"""What ``ok`` holds, by request."""

STREAM = {
    "type": "object", "required": ["output_type", "name", "text"], "additionalProperties": False,
    "properties": {"output_type": {"const": "stream"}, "name": {"enum": ["stdout", "stderr"]},
                   "text": {"type": "string", "maxLength": MAX_STREAM_CHARS}},
}
RICH = {
    "type": "object", "required": ["output_type", "data", "metadata"], "additionalProperties": False,
    "properties": {
        "output_type": {"enum": ["display_data", "execute_result"]},
        "data": {"type": "object", "minProperties": 1, "propertyNames": {"enum": list(MIME_TYPES)},
                 "additionalProperties": {"type": "string", "maxLength": MAX_RICH_CHARS}},
        "metadata": {"type": "object", "maxProperties": 0},
    },
}
ERROR = {
    "type": "object", "required": ["output_type", "ename", "evalue", "traceback"], "additionalProperties": False,
    "properties": {"output_type": {"const": "error"}, "ename": {"type": "string", "maxLength": 200},
                   "evalue": {"type": "string", "maxLength": 4000},
                   "traceback": {"type": "array", "maxItems": 60, "items": {"type": "string", "maxLength": 4000}}},
}
OUTPUTS = {"stream": STREAM, "display_data": RICH, "execute_result": RICH, "error": ERROR}
"""One output of a cell, by its ``output_type`` (nbformat's shape, fewer kinds, bounded)."""


@lru_cache(maxsize=None)
def _validator(key):
    import jsonschema

    schema = {"envelope": ENVELOPE, "stream": STREAM, "rich": RICH, "error": ERROR}.get(key) or OK[key]
    cls = jsonschema.validators.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema"})
    cls.check_schema(schema)
    return cls(schema)


def _problem(key, instance, what):
    error = next(iter(_validator(key).iter_errors(instance)), None)
    if error is None:
        return None
    return f"{what} breaks the grader's rule {error.validator!r} at {error.json_path}"


def envelope_problem(reply, op, request_id):
    """None if `reply` is a well-formed reply to request `request_id` of kind `op`, else why not."""
    problem = _problem("envelope", reply, "the reply")
    if problem:
        return problem
    if reply["id"] != request_id:
        return f"the reply answers request {reply['id']}, not {request_id}"
    if "ok" in reply:
        return _problem(op, reply["ok"], "the reply")
    return None


def output_problem(output):
    """None if `output` is an output the grader keeps, else why not."""
    kind = output.get("output_type") if isinstance(output, dict) else None
    if not isinstance(kind, str) or kind not in OUTPUTS:
        return "the output breaks the grader's rule 'type' at $.output_type"
    return _problem({"stream": "stream", "error": "error"}.get(kind, "rich"), output, "the output")
