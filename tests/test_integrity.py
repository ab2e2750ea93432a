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

from autograder import grading, intake, pipeline, sandbox, samples, wire
from autograder.course import REPO, Limits
from autograder.sandbox import Sandbox, SandboxUnavailable, SessionError


LIMITS = Limits(cell_timeout=5, call_timeout=2, memory_mb=768, disk_mb=8, file_mb=4, cpu_seconds=60)


@pytest.mark.parametrize("module", [wire, intake, grading, sandbox, pipeline])
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
    outputs, _ = session.run('for k in range(10 ** 6):\n    print("line", k)', 10)
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


# --- the wire: plain data only --------------------------------------------------------------------

class Weird:
    def __array__(self, *args, **kwargs):
        raise RuntimeError("no")


@pytest.mark.parametrize("value, expected", [
    (np.arange(6).reshape(2, 3), np.arange(6).reshape(2, 3)),
    (np.float32(1.5), 1.5), ((1, [2.0, "b"]), (1, [2.0, "b"])), ({"a": np.int8(3)}, {"a": 3}),
    (complex(1, -2), complex(1, -2)), (np.array([True, False]), np.array([True, False])),
    (np.array([[1, 2], [3, 4]], dtype=object), np.array([[1.0, 2.0], [3.0, 4.0]])),
])
def test_plain_values_survive_the_wire(value, expected):
    got = wire.decode(json.loads(wire.pack(wire.encode(value))[4:]))
    if isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype.kind == expected.dtype.kind
        assert np.array_equal(got, expected)
    else:
        assert got == expected


def test_anything_else_is_not_data():
    handles = []
    encoded = wire.encode({"f": len, "obj": Weird(), "cls": int, "mod": np, "deep": [[[[[[[[[[[[[[1]]]]]]]]]]]]]]},
                          handles)
    got = wire.decode(encoded)
    assert isinstance(got["f"], wire.Function) and handles == [len]
    assert isinstance(got["obj"], wire.NotData) and got["obj"].type_name == "Weird"
    assert isinstance(got["cls"], wire.NotData) and isinstance(got["mod"], wire.Module)
    assert isinstance(got["deep"], list)   # nested past the limit: the innermost part is not data


@pytest.mark.parametrize("bad, match", [
    ({"$nd": ["|O", [1], ""]}, "known dtype"), ({"$nd": ["<f8", [-1], ""]}, "bad array shape"),
    ({"$nd": ["<f8", [2], "AAAA"]}, "needs 16 bytes"), ({"$nd": ["<f8", [1], "!!"]}, "not base64"),
    ({"$pickle": "x"}, "unknown tag"), ({"$f": "1e999"}, "unknown tag"), ({"a": 1, "b": 2}, "unexpected dict"),
    ({"$c": ["x", 1]}, "two numbers"), (float("inf"), "bare non-finite"),
])
def test_malformed_values_are_refused(bad, match):
    with pytest.raises(wire.Malformed, match=match):
        wire.decode(bad)


def test_budgets_bound_what_a_value_may_cost():
    with pytest.raises(wire.Malformed, match="more elements"):
        wire.decode(wire.encode(np.zeros(1000)), wire.Budget(elements=999))
    with pytest.raises(wire.Malformed, match="more items"):
        wire.decode([0] * 1000, wire.Budget(items=999))
    with pytest.raises(wire.Malformed, match="nested too deeply"):
        wire.decode([[[[1]]]], wire.Budget(depth=2))


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


# --- the hand-off rule, read from the source ---------------------------------------------------------

@pytest.mark.parametrize("cells, function", [
    (["max_pool_da = tc.max_pool_da"], "max_pool_da"),
    (["from textbook_core import max_pool_da as f", "def max_pool_da(*a):\n    return f(*a)"], "max_pool_da"),
    (["import textbook_core.gradient as g\ndef h(x):\n    return g.max_pool_da(x)",
      "def max_pool_da(x):\n    return h(x)"], "max_pool_da"),
    (["def max_pool_da(x):\n    return getattr(tc, 'max_pool_da')(x)"], "max_pool_da"),
    (["from textbook_core import *\ndef max_pool_da(*a):\n    return product_db(*a)"], "max_pool_da"),
    (["%time x = 1\nmax_pool_da = lambda *a: tc.max_pool_da(*a)"], "max_pool_da"),
])
def test_hand_offs_are_seen_in_the_source(cells, function):
    use = grading.LibraryUse(cells)
    assert use.references(function) & {"max_pool_da", "product_db"}


@pytest.mark.parametrize("notebook, part, functions", [
    ("e8_07", "i_answer", {"conv_output_size": "output_size"}),
    ("e8_07", "ii_answer", {"same_padding": "same_padding_reference"}),
    ("e8_08", "fn_answer", {"max_pool_da": "max_pool_da"}),
    ("e8_09", "fns_answer", {"product_dlz": "product_dlz", "product_db": "product_db"}),
])
def test_the_solutions_hand_nothing_off(notebook, part, functions):
    nb = samples.solution_notebook(notebook)
    sources = [samples._source(c) for c in nb["cells"] if c["cell_type"] == "code"]
    use = grading.LibraryUse(sources)
    for function, reference in functions.items():
        assert reference not in use.references(function), function


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
