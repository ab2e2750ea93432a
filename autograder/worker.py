"""The student's side of grading: runs inside the sandbox (``python -m autograder.worker``).

It is a small stand-in for a Jupyter kernel: an IPython shell runs the student's cells one by one
(magics and all) and records their outputs, capped; then the grader asks for values by name and
calls the student's functions on its probes. Requests and replies are frames of plain data
(`autograder.wire`) on the process's original stdin and stdout, which are moved out of the way
first: whatever the student's code prints lands in the cell's outputs, and file descriptors 0-2
lead to ``/dev/null``.

Nothing here is trusted by the grader. The student's code can patch this module, numpy or
IPython: that changes only what this process reports about the student's own answers, which the
grader reads as data within bounds (`autograder.wire`), checks against its schema
(`autograder.replies`) and grades with its own code, in its own process.

Requests (``op``): ``run`` a cell's source (``limit``: bytes its outputs may take; ``quiet``: a
replay after a restart, outputs not wanted); ``get`` values by name; ``call`` a function handle
with arguments. Replies: ``{"ok": ...}`` or ``{"error": [type name, message]}``, with the
request's ``id``, this process's CPU seconds (``cpu``) and, from `autograder.recorder`, the
library functions entered while the cell, the reading of the values or the call ran
(``calls``) and, if that record was tampered with, how (``untracked``).
"""
import io
import os
import sys
import time
import warnings

MAX_STREAM_CHARS = 64_000
"""Characters of printed output kept per cell (the rest is counted, not kept)."""

MAX_LINES = 190
"""Lines of printed output kept per cell: below nbgrader's own cut (``LimitOutput``, 200 lines),
so the note that says how much was cut stays visible."""
MAX_RICH_OUTPUTS = 20
MAX_RICH_CHARS = 2_000_000
ENVELOPE_BYTES = 64 * 1024
"""Room kept in a reply for everything but the outputs' text."""


class ResultTooLarge(Exception):
    """A student function's result is longer than the grader reads."""


class CappedOutputs:
    """The outputs of one cell in nbformat's shape, with printed text cut at the limits.

    `room` is the bytes the grader lets this cell's outputs take (what is left of the
    notebook's budget); rich outputs past it are counted, not kept, and so are mime types
    the grader does not show (`autograder.wire.MIME_TYPES`).
    """

    def __init__(self, room=None, mime_types=()):
        self.items, self.chars, self.lines, self.dropped, self.rich, self.size = [], 0, 0, 0, 0, 0
        self.room = float("inf") if room is None else max(0, room - ENVELOPE_BYTES)
        self.mime_types, self.hidden = set(mime_types), set()

    def stream(self, name, text):
        if not text:
            return
        if self.chars >= MAX_STREAM_CHARS or self.lines >= MAX_LINES or 2 * (self.size + len(text)) > self.room:
            self.dropped += len(text)
            return
        room = min(MAX_STREAM_CHARS - self.chars, len(text))
        kept = text[:room]
        lines_left = MAX_LINES - self.lines
        if kept.count("\n") > lines_left:
            kept = "\n".join(kept.split("\n")[:lines_left]) + "\n"
        self.dropped += len(text) - len(kept)
        self.chars += len(kept)
        self.size += len(kept)
        self.lines += kept.count("\n")
        if self.items and self.items[-1].get("output_type") == "stream" and self.items[-1]["name"] == name:
            self.items[-1]["text"] += kept
        else:
            self.items.append({"output_type": "stream", "name": name, "text": kept})

    def rich_output(self, output_type, data):
        plain = {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
        if self.mime_types:
            self.hidden.update(k for k in plain if k not in self.mime_types)
            plain = {k: v for k, v in plain.items() if k in self.mime_types}
        size = sum(len(v) for v in plain.values())
        if not plain:
            return
        if self.rich >= MAX_RICH_OUTPUTS or size > MAX_RICH_CHARS or 2 * (self.size + size) > self.room:
            self.dropped += size
            return
        self.rich += 1
        self.size += size
        item = {"output_type": output_type, "data": plain, "metadata": {}}
        self.items.append(item)

    def error(self, ename, evalue, traceback):
        self.items.append({"output_type": "error", "ename": str(ename)[:200], "evalue": str(evalue)[:4000],
                           "traceback": [str(line)[:4000] for line in list(traceback)[:60]]})

    def finish(self):
        if self.hidden:
            self.items.append({"output_type": "stream", "name": "stdout",
                               "text": f"\n[... output of type {', '.join(sorted(self.hidden))[:200]} not shown by the "
                                       f"grader ...]\n"})
        if self.dropped:
            self.items.append({"output_type": "stream", "name": "stdout",
                               "text": f"\n[... output cut by the grader: {self.dropped} more characters ...]\n"})
        return self.items


class Stream(io.TextIOBase):
    """sys.stdout / sys.stderr while a cell runs."""

    def __init__(self, name, sink):
        self.name, self.sink = name, sink

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.sink().stream(self.name, text)
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def make_shell(current):
    """An IPython shell whose results, displays and tracebacks go to ``current()``."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets import Type
    from traitlets.config import Config

    class Hook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            current().rich_output("execute_result", format_dict)

        def finish_displayhook(self):
            pass

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            current().rich_output("display_data", data)

        def clear_output(self, wait=False):
            pass

    class Shell(InteractiveShell):
        displayhook_class = Type(Hook)
        display_pub_class = Type(Publisher)

        def _showtraceback(self, etype, evalue, stb):
            current().error(getattr(etype, "__name__", str(etype)), evalue, stb)

        def ask_exit(self):
            pass

    config = Config()
    config.HistoryManager.enabled = False
    shell = Shell.instance(config=config, colors="nocolor")
    shell.user_ns["__name__"] = "__main__"
    return shell


class Worker:
    def __init__(self, fd_in, fd_out):
        from autograder import wire
        from autograder.recorder import Recorder

        self.wire, self.fd_in, self.fd_out = wire, fd_in, fd_out
        self.recorder = Recorder(guard=True)
        self.outputs = CappedOutputs()
        self.shell = make_shell(lambda: self.outputs)
        self.handles = []
        self.streams = (Stream("stdout", lambda: self.outputs), Stream("stderr", lambda: self.outputs))

    def send(self, message):
        self.wire.write_frame(self.fd_out, message)

    def capture(self, room=None):
        self.outputs = CappedOutputs(room, self.wire.MIME_TYPES)
        sys.stdout, sys.stderr = self.streams

    def recorded(self, reply):
        """`reply` with what the recorder saw since `Recorder.start`."""
        calls, untracked = self.recorder.stop()
        reply["calls"] = calls
        if untracked:
            reply["untracked"] = untracked[:2000]
        return reply

    def run(self, source, limit, quiet):
        self.capture(0 if quiet else limit)
        self.recorder.start()
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            result = self.shell.run_cell(source, store_history=False)
        items = [] if quiet else self.outputs.finish()
        return self.recorded({"ok": {"outputs": items, "success": bool(result.success)}})

    def get(self, names, limit):
        values, size = {}, 0
        self.recorder.start()   # reading a value can run the student's code (__array__, tolist)
        try:
            for name in names:
                if isinstance(name, str) and name in self.shell.user_ns:
                    value = self.wire.encode(self.shell.user_ns[name], self.handles)
                    try:
                        length = len(self.wire.pack(value))
                    except (ValueError, TypeError) as error:   # e.g. a string that is not UTF-8
                        value, length = {"$x": f"unsendable ({type(error).__name__})"}, 100
                    if size + length > limit:   # too big to send: say so instead of sending it
                        value = {"$x": f"too large: {length} bytes"}
                    else:
                        size += length
                    values[name] = value
        finally:
            reply = self.recorded({"ok": values})
        return reply

    def call(self, handle, args, kwargs, limit):
        tripwire = sys.modules.get("textbook_core._tripwire")
        if tripwire is not None:
            tripwire.TRIPPED.clear()
        function = self.handles[handle]
        args, kwargs = self.wire.decode(args), self.wire.decode(kwargs)
        self.capture()   # what the function prints is dropped
        self.recorder.start()
        try:
            result = function(*args, **kwargs)
            size = getattr(result, "nbytes", 0) if type(result).__module__ == "numpy" else 0
            if size * 4 // 3 > limit:   # too large for sure: not worth encoding
                raise ResultTooLarge(f"the result is {size} bytes of numbers, over the grader's limit of {limit}")
            value = self.wire.encode(result)   # encoding may run student code too
            length = len(self.wire.pack(value))
            if length > limit:
                reply = {"error": ["ResultTooLarge", f"the result is {length} bytes, over the grader's limit "
                                                     f"of {limit}"]}
            else:
                reply = {"ok": value}
        except BaseException as error:   # SystemExit and KeyboardInterrupt are answers too
            reply = {"error": [type(error).__name__, str(error)[:2000]]}
        result = None
        reply = self.recorded(reply)
        tripwire = sys.modules.get("textbook_core._tripwire")
        reply["tripped"] = [str(t)[:200] for t in getattr(tripwire, "TRIPPED", [])][:10]
        return reply

    def serve(self):
        self.send({"id": 0, "ok": {"ready": True}})
        while True:
            try:
                request = self.wire.read_frame(self.fd_in, max_bytes=64 * 2 ** 20)
            except self.wire.Closed:
                return
            request_id = request.get("id", 0) if isinstance(request, dict) else 0
            try:
                op = request.get("op")
                if op == "run":
                    reply = self.run(str(request["source"]), int(request.get("limit", 2 ** 24)),
                                     bool(request.get("quiet")))
                elif op == "get":
                    reply = self.get(list(request["names"]), int(request.get("limit", 2 ** 24)))
                elif op == "call":
                    reply = self.call(int(request["handle"]), request["args"], request["kwargs"],
                                      int(request.get("limit", 2 ** 24)))
                else:
                    reply = {"error": ["ProtocolError", f"unknown op {op!r}"]}
            except BaseException as error:
                reply = {"error": [type(error).__name__, str(error)[:2000]]}
            finally:
                sys.stdout, sys.stderr = self.streams
            reply["id"], reply["cpu"] = request_id, time.process_time()
            try:
                self.send(reply)
            except (ValueError, TypeError) as error:   # not JSON: the student's object broke encode
                self.send({"id": request_id, "error": ["EncodingError", str(error)[:500]]})


def main():
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    Worker(fd_in, fd_out).serve()


if __name__ == "__main__":
    main()
