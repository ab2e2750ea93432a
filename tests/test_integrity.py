"""The grading sandbox and the grader's distrust, piece by piece: what a sandboxed process can see,
write, reach and use (files, network, memory, CPU, processes, output), the tripwired library, the
plain-data wire, the hand-off rule read from the source, safe reading of submitted files and the
names of misnamed ones. The whole attack corpus runs end to end in tests/test_attacks.py."""
import doctest
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import numpy as np
import pytest

from autograder import (attacks, grader_memory, handoff, inbox, intake, pipeline, sandbox, samples, student_values,
                        tripwires, wire)
from autograder.course import REPO, Limits
from autograder.sandbox import Sandbox, SandboxUnavailable, SessionError


LIMITS = Limits(cell_timeout=5, call_timeout=2, memory_mb=768, disk_mb=8, file_mb=4, cpu_seconds=60)


@pytest.mark.parametrize("module", [intake, student_values, tripwires, inbox, handoff, attacks])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 1 and result.failed == 0


@pytest.fixture(scope="module")
def session():
    with Sandbox(LIMITS, REPO / "notebooks" / "ch08").start() as s:
        yield s


def run(session, source, timeout=5):
    outputs, ok = session.run(textwrap.dedent(source), timeout)
    text = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")
    errors = [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]
    return text, errors


# --- what the student's process can see -------------------------------------------------------

def test_the_sandbox_sees_no_course_files(session, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("instructor only")
    paths = [REPO / "solutions" / "ch08" / "e8_01.ipynb", REPO / "course", REPO / "course" / "gradebook.db",
             REPO / "autograder" / "pipeline.py", REPO / "textbook_core", secret, "/etc/passwd", "/etc/shadow",
             os.path.expanduser("~/.bash_history")]
    text, errors = run(session, f"""
        import os
        for p in {[str(p) for p in paths]!r}:
            print(p, os.path.exists(p))
        """)
    assert not errors
    assert all(line.endswith("False") for line in text.strip().split("\n")), text


def test_no_other_copy_of_the_library_or_the_course_is_in_reach(session):
    text, errors = run(session, """
        import os, sys
        found = []
        for top in {sys.prefix, sys.base_prefix, "/sandbox", "/home", "/tmp", "/usr/local", "/root", "/work"}:
            for root, dirs, files in os.walk(top):
                for name in dirs + files:
                    if "/site-packages/nbgrader/" in root + "/":   # nbgrader's own examples and tests
                        continue
                    if name in ("textbook_core", "solutions", "gradebook.db", "course", "autograded") or \\
                            name.startswith("textbook_core-") and not name.endswith(".dist-info"):
                        found.append(os.path.join(root, name))
        print(sorted(set(found)))
        """)
    assert not errors and text.strip() == "['/sandbox/lib/textbook_core']", text


def test_the_sandbox_sees_its_notebook_and_the_release_only(session):
    text, errors = run(session, """
        import os, textbook_core, autograder
        print(sorted(os.listdir(".")), sorted(os.listdir("release")), os.getcwd())
        print(textbook_core.__file__, sorted(os.listdir(os.path.dirname(autograder.__file__))))
        """)
    assert not errors
    home, library = text.strip().split("\n")
    assert home == f"['release'] {sorted(p.name for p in (REPO / 'notebooks' / 'ch08').iterdir())} /home/student"
    assert library.startswith("/sandbox/lib/textbook_core/__init__.py")
    assert "pipeline.py" not in library and "samples.py" not in library and "checks.py" in library


def test_reference_answers_are_tripwires_without_their_bodies(session):
    text, errors = run(session, """
        import inspect, numpy as np, textbook_core as tc, textbook_core.gradient as g, textbook_core.oracle as o
        import textbook_core.hierarchy as h
        from autograder import checks
        for f in (g.max_pool_da, g.product_dlz, g.product_db, o.max_pool_da, h.max_positions,
                  checks.same_padding_reference):
            body = inspect.getsource(f)
            print(f.__name__, "trip(" in body, "flat_dA[flat]" in body or "_first_max(" in body
                  or "np.maximum(code" in body or "tc.output_size" in body)
        print(tc.max_pool(np.arange(16.).reshape(4, 4), 2).tolist())   # other library functions work
        tc.max_pool_da(np.ones((1, 1)), np.ones((2, 2)), 2)
        """)
    lines = text.strip().split("\n")
    assert all(line.endswith("True False") for line in lines[:6]), lines
    assert lines[6] == "[[5.0, 7.0], [13.0, 15.0]]"
    assert errors and errors[0].startswith("ReferenceUsed: textbook_core.max_pool_da is not available")


def test_tripwired_source_keeps_other_functions_and_the_docstring():
    source = (REPO / "textbook_core" / "gradient.py").read_text()
    copy = sandbox.tripwired_source(source, ["max_pool_da"], "textbook_core")
    assert "flat_dA[flat] = d[k]" in source and "flat_dA[flat] = d[k]" not in copy
    assert "def avg_pool_da" in copy and "E8.8: dA across max pooling" in copy
    with pytest.raises(ValueError, match="no module-level function"):
        sandbox.tripwired_source(source, ["no_such_function"], "textbook_core")


# --- what it can write and reach ---------------------------------------------------------------

def test_writes_only_in_its_own_memory_folders(session):
    text, errors = run(session, f"""
        import os
        for folder in ["/usr", "/sandbox/lib", {sys.prefix!r}, "/home/student/release", "/", "/proc/sys",
                       "/dev", "/root"]:
            try:
                with open(os.path.join(folder, "x.txt"), "w"):
                    print(folder, "written")
            except OSError as error:
                print(folder, type(error).__name__)
        for folder in ["/tmp", "/home/student", "/dev/shm"]:
            with open(os.path.join(folder, "x.txt"), "w") as fh:
                fh.write("ok")
            print(folder, "ok")
        """)
    lines = text.strip().split("\n")
    assert not errors and all("written" not in line for line in lines[:8]), lines
    assert lines[8:] == ["/tmp ok", "/home/student ok", "/dev/shm ok"]
    assert not (REPO / "x.txt").exists()


def test_disk_and_file_size_are_limited(session):
    text, errors = run(session, """
        import os
        try:
            open("/tmp/big", "wb").write(b"x" * (5 * 2 ** 20))
        except OSError as error:
            print("file:", error.errno)
        os.remove("/tmp/big")
        written = 0
        try:
            for k in range(20):
                open(f"/home/student/f{k}", "wb").write(b"x" * 2 ** 20)
                written += 1
        except OSError as error:
            print("disk:", error.errno, written)
        """)
    assert not errors
    assert "file: 27" in text                                   # EFBIG: over file_mb
    disk = [line for line in text.split("\n") if line.startswith("disk:")][0].split()
    assert disk[1] == "28" and int(disk[2]) <= LIMITS.disk_mb    # ENOSPC: over disk_mb


def test_no_network(session):
    text, errors = run(session, """
        import socket
        for host in [("1.1.1.1", 53), ("127.0.0.1", 22)]:
            try:
                socket.create_connection(host, timeout=1)
                print("connected")
            except OSError as error:
                print(type(error).__name__)
        print(socket.if_nameindex())
        """)
    assert "connected" not in text and not errors
    assert text.strip().split("\n")[-1] == "[(1, 'lo')]"


def test_no_processes_but_threads(session):
    text, errors = run(session, """
        import os, subprocess, threading
        for start in (os.fork, lambda: subprocess.run(["touch", "/tmp/ran"]), lambda: os.system("touch /tmp/ran")):
            try:
                start()
            except OSError as error:
                print(type(error).__name__)
        print(os.path.exists("/tmp/ran"))
        results = []
        t = threading.Thread(target=lambda: results.append(sum(range(10))))
        t.start(); t.join()
        print(results)
        """)
    assert text.strip().split("\n") == ["PermissionError", "PermissionError", "False", "[45]"], text


def test_memory_is_limited(session):
    text, errors = run(session, """
        import numpy as np
        try:
            big = np.ones(2 ** 27)        # 1 GB, over 768 MB
        except MemoryError:
            print("MemoryError")
        small = np.ones(2 ** 20)
        print(small.sum())
        """)
    assert text.split() == ["MemoryError", "1048576.0"] and not errors


def test_output_is_capped_in_the_sandbox(session):
    outputs, _ = session.run('for k in range(10 ** 5):\n    print("line", k)', 60)
    text = "".join(o.get("text", "") for o in outputs)
    assert len(text) < 70_000 and text.count("\n") <= 200
    assert "output cut by the grader" in text and "line 0\n" in text


def test_time_limit_kills_and_leaves_nothing_behind():
    label = f"test-{uuid.uuid4().hex}"
    s = Sandbox(LIMITS).start(label=label)
    try:
        with pytest.raises(SessionError, match="time limit") as info:
            s.run("while True:\n    try:\n        pass\n    except BaseException:\n        pass", 1.5)
        assert info.value.kind == "timeout" and not s.alive
        time.sleep(0.5)
        assert not processes_with(label)
    finally:
        s.close()


def test_cpu_time_is_limited():
    s = Sandbox(Limits(cpu_seconds=2, cell_timeout=30)).start()
    try:
        start = time.monotonic()
        with pytest.raises(SessionError, match="SIGXCPU") as info:
            s.run("while True:\n    pass", 30)
        assert info.value.kind == "ended" and time.monotonic() - start < 15
    finally:
        s.close()


def test_the_sandbox_dies_with_the_grader(tmp_path):
    label = f"test-{uuid.uuid4().hex}"
    script = tmp_path / "grader.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        from autograder.sandbox import Sandbox
        from autograder.course import Limits
        s = Sandbox(Limits()).start(label={label!r})
        print("started", flush=True)
        time.sleep(60)
        """))
    grader = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert grader.stdout.readline().strip() == "started"
        assert processes_with(label)
        grader.send_signal(signal.SIGKILL)
        grader.wait()
        deadline = time.monotonic() + 10
        while processes_with(label) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not processes_with(label)
    finally:
        grader.kill()


def processes_with(label):
    """Host pids of the processes whose environment carries AUTOGRADER_SESSION=label."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if f"AUTOGRADER_SESSION={label}".encode() in fh.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_a_missing_bwrap_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        Sandbox(LIMITS)
    from autograder.__main__ import main

    inbox = samples.write([samples.Student("ada")], tmp_path / "inbox")
    assert main(["--work", str(tmp_path / "work"), "grade", str(inbox)]) == 2
    assert "bubblewrap (bwrap) is not installed" in capsys.readouterr().err


def test_seccomp_program_shape():
    program = sandbox.seccomp_filter("x86_64")
    assert len(program) % 8 == 0 and len(program) // 8 == 15
    assert sandbox.seccomp_filter("aarch64") and sandbox.seccomp_filter("riscv64") is None


# --- reading what students submit -----------------------------------------------------------------

def test_reading_bad_files_says_why(tmp_path):
    cases = {"empty": (b"  \n", "is empty"), "json": (b"{ not json", "not valid JSON"),
             "list": (b"[1, 2]", "not a Jupyter notebook"), "huge": (b"{" + b" " * 3000 + b"}", "over the limit"),
             "cells": (json.dumps({"cells": [{"cell_type": "code", "source": "x"}] * 2001}).encode(), "2001 cells")}
    for name, (data, reason) in cases.items():
        path = tmp_path / f"{name}.ipynb"
        path.write_bytes(data)
        with pytest.raises(intake.Unreadable, match=reason):
            intake.read_submission(path, 2000 if name == "huge" else 2 ** 20)


def test_reading_odd_but_honest_files(tmp_path):
    nb = samples.solution_notebook("e8_01")
    nb["cells"].append({"cell_type": "widget", "source": "?"})
    nb["cells"][1]["source"] = 42
    path = tmp_path / "e8_01.ipynb"
    path.write_bytes(json.dumps(nb).encode("utf-16"))
    got, notes = intake.read_submission(path, 2 ** 24)
    assert len(got.cells) == len(nb["cells"]) - 1 and got.cells[1].source == ""
    assert any("UTF-16" in n for n in notes) and any("no known type" in n for n in notes)
    assert any("not text was emptied" in n for n in notes)


def test_misnamed_files_are_named_in_the_collect_report(tmp_path):
    folder = tmp_path / "in" / "dee"
    folder.mkdir(parents=True)
    solution = json.dumps(samples.solution_notebook("e8_01"))
    for name in ("E8-2.ipynb", "e8_01.ipynb", "e8_01 (1).ipynb", "scratch.ipynb"):
        (folder / name).write_text(solution)
    collected = pipeline.collect(tmp_path / "in", pipeline.Course(work=tmp_path / "work"))
    problems = collected.problems["dee"]
    assert "E8-2.ipynb is not graded: the notebook must be named e8_02.ipynb (rename it and grade again)" in problems
    assert "e8_01 (1).ipynb looks like a second copy of e8_01.ipynb: ignored, e8_01.ipynb is graded" in problems
    assert "scratch.ipynb is not part of the assignment: ignored" in problems
    assert "missing, so their parts score 0: e8_03.ipynb, e8_04.ipynb, e8_05.ipynb, e8_06.ipynb, e8_07.ipynb, " \
           "e8_08.ipynb, e8_09.ipynb, e8_10.ipynb" in problems      # e8_02 is there, misnamed
    assert sorted(p.name for p in collected and (tmp_path / "work" / "submitted" / "dee" / "ch08").iterdir()) == \
        ["e8_01.ipynb", "timestamp.txt"]   # the grader's own submission time


# --- what the grader reads from the student's process: budget, schema, bounded values -------------

WORKER = "import gc\n_w = next(o for o in gc.get_objects() if type(o).__name__ == 'Worker')\n"


def patch(session, code, timeout=20):
    """Run `code` after the line that finds the worker (`_w`) through gc."""
    return run(session, WORKER + textwrap.dedent(code), timeout)


@pytest.fixture
def patched():
    """A fresh sandbox (4 MB output budget) whose worker the test's cells may patch through gc."""
    with Sandbox(Limits(cell_timeout=20, memory_mb=768, output_mb=4), REPO / "notebooks" / "ch08").start() as s:
        yield s


def test_outputs_past_the_notebooks_budget_are_drained_unread(patched):
    grader_memory.reset_peak()
    before = grader_memory.memory()["rss_mb"]
    text, errors = patch(patched, """
        _finish = type(_w.outputs).finish
        type(_w.outputs).finish = lambda self: _finish(self) + [{"output_type": "stream", "name": "stdout",
                                                                  "text": "x" * 6_000_000}]
        """)
    assert "the notebook's output budget of 4 MB" in text and not errors, (text, errors)
    assert patched.budget.used > 6_000_000 and patched.budget.dropped > 6_000_000
    assert "not read" in patched.last["untracked"]
    grown = grader_memory.memory()["peak_mb"] - before
    assert grown < 20, grown                       # drained in chunks, never parsed
    outputs, _ = patched.run("type(_w.outputs).finish = _finish\nprint('after')", 10)   # in step; outputs dropped
    assert "budget of 4 MB is used up" in outputs[0]["text"] and patched.alive
    assert patched.get({"_w"}, 5)                  # values are still read


def test_a_reply_of_tiny_objects_costs_only_its_cell(patched):
    grader_memory.reset_peak()
    before = grader_memory.memory()["rss_mb"]
    outputs, _ = patched.run(WORKER + textwrap.dedent("""
        _send = _w.send
        _w.send = lambda message: _send(dict(message, junk=[[] for _ in range(1_000_000)]))
        """), 20)
    assert "JSON items, over the limit" in outputs[0]["text"]
    assert grader_memory.memory()["peak_mb"] - before < 60
    outputs, _ = patched.run("_w.send = _send\nprint('fine')", 10)
    assert outputs[0]["text"] == "fine\n"


def test_outputs_that_break_the_schema_are_dropped_one_by_one(patched):
    outputs, _ = patched.run(WORKER + textwrap.dedent("""
        _finish = type(_w.outputs).finish
        def _finish_bad(self):
            return _finish(self) + [
                {"output_type": "display_data", "data": {"text/markdown": 42}, "metadata": {}},
                {"output_type": "display_data", "data": {"application/javascript": "alert(1)"}, "metadata": {}},
                {"output_type": "stream", "name": "stdout", "text": "kept\\n"}]
        type(_w.outputs).finish = _finish_bad
        print("printed")
        """), 20)
    texts = [o.get("text", "") for o in outputs]
    assert texts[:2] == ["printed\n", "kept\n"] and "dropped 2 output(s)" in texts[2]
    assert "dropped 2 output(s)" in patched.notes[0]


def test_one_unreadable_value_leaves_the_others_readable(patched):
    patch(patched, """
        Z, W = "placeholder", [1, 2]
        import autograder.wire as _wire
        _encode = _wire.encode
        _wire.encode = lambda value, *a, **k: {"$c": [10 ** 400, 0]} if value is Z else _encode(value, *a, **k)
        """)
    values = patched.get({"Z", "W"}, 5)
    assert isinstance(values["Z"], wire.Broken) and "401 digits" in values["Z"].reason
    assert values["W"] == [1, 2]


def test_a_garbage_frame_is_dropped_and_a_reply_out_of_step_stops_the_process(patched):
    text, _ = patch(patched, """
        import os
        _send, Z = _w.send, 1
        def _garbage(message):
            if message.get("calls") is not None and "ok" in message and "outputs" not in message["ok"]:
                _w.send = _send      # the reply to the next `get` is garbage
                os.write(_w.fd_out, (5).to_bytes(4, "big") + b"hello")
            else:
                _send(message)
        _w.send = _garbage
        """)
    assert not text
    values = patched.get({"Z"}, 5)
    assert isinstance(values["Z"], wire.Broken) and "not a JSON message" in values["Z"].reason
    assert run(patched, "print(Z)") == ("1\n", [])  # in step again
    with pytest.raises(SessionError, match="answers request") as info:   # its own reply is the first out of step
        patched.run("_w.send = lambda message: _send(dict(message, id=message['id'] + 7))", 5)
    assert info.value.kind == "protocol" and not patched.alive


def test_a_reply_over_the_frame_limit_is_never_read():
    with Sandbox(Limits(cell_timeout=20, memory_mb=768, reply_mb=1)).start() as s:
        with pytest.raises(SessionError, match="over the limit") as info:
            s.run(WORKER + "type(_w.outputs).finish = lambda self: [{'output_type': 'stream', 'name': 'stdout', "
                           "'text': 'x' * 3_000_000}]", 20)
        assert info.value.kind == "too-large" and not s.alive


def test_replays_after_a_restart_send_no_outputs(patched):
    outputs, _ = patched.run("print('once')\nimport numpy as np\nnp.arange(3)", 10, quiet=True)
    assert outputs == []
    used = patched.budget.used
    patched.run("print('x' * 50_000)", 10, quiet=True)
    assert patched.budget.used - used < 2000


def test_reading_metadata_is_bounded(tmp_path):
    nb = samples.solution_notebook("e8_01")
    nb["metadata"]["huge"] = "HUGE"
    nb["metadata"]["deep"] = {"a": 1}
    deep = nb["metadata"]["deep"]
    for _ in range(40):
        deep["a"] = {"a": 1}
        deep = deep["a"]
    nb["cells"][1]["metadata"]["points"] = "HUGE"
    path = tmp_path / "e8_01.ipynb"
    path.write_text(json.dumps(nb).replace('"HUGE"', "1" * 5000))
    got, notes = intake.read_submission(path, 2 ** 24)
    assert "huge" not in got.metadata and "points" not in got.cells[1].metadata
    assert any("5000 digits in the notebook's metadata was dropped" in n for n in notes)
    assert any("nested more than 16 deep" in n for n in notes)
    assert len(got.cells) == len(nb["cells"])
