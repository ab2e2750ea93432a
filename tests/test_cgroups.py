"""Each sandbox in its own cgroup (autograder/cgroups.py): what a submission holds outside its address
space (memfd files, its in-memory folders, page cache) counts against its memory limit, its threads
share a CPU quota, it cannot start more than its share of threads, and no cgroup outlives its
session or its grader. These tests need cgroups this machine lets the grader make (root on a
cgroup v1 or hybrid layout, or a delegated cgroup v2): without them they fail and say why."""
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from autograder import cgroups, sandbox
from autograder.course import REPO, Limits
from autograder.sandbox import Sandbox, SandboxUnavailable, SessionError


def manager():
    found = cgroups.manager()
    assert found.version, (f"the grader cannot make cgroups on this machine ({found.reason}); run the tests as "
                           f"root (cgroup v1 or hybrid) or in a delegated cgroup v2")
    return found


def run(session, source, timeout=60):
    outputs, _ = session.run(textwrap.dedent(source), timeout)
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")


def test_every_sandbox_gets_a_cgroup_with_the_limits():
    manager()
    limits = Limits(memory_mb=300, cpu_cores=0.5, max_pids=40)
    with Sandbox(limits).start() as s:
        group = s.group
        assert group.memory_limit() == 300 * 2 ** 20 and group.pids_limit() == 40
        assert len(group.pids()) >= 2          # bwrap and the worker are inside
        folders = group.folders
        assert all(folder.is_dir() for folder in folders)
        assert "cgroup" in Sandbox(limits).describe()["cgroups"]
    assert not any(folder.exists() for folder in folders)    # removed with its session


def killed_by_memory(limits, source):
    """Run `source` in a sandbox with `limits`; returns (what it printed or the error, group's peak)."""
    with Sandbox(limits).start() as s:
        try:
            text = run(s, source)
        except SessionError as error:
            text = f"ended: {error}"
        return text, s.group.memory_peak()


def test_memfd_files_count_against_the_memory_limit():
    manager()
    limits = Limits(memory_mb=200)
    text, peak = killed_by_memory(limits, """
        import os
        fds = []
        for k in range(200):
            fd = os.memfd_create(f"hoard{k}")
            os.write(fd, b"x" * (4 * 2 ** 20))
            fds.append(fd)
        print("held", 4 * len(fds), "MB")
        """)
    assert "held 800 MB" not in text and "SIGKILL" in text, text
    assert peak <= limits.memory_mb * 2 ** 20


def test_in_memory_folders_count_against_the_memory_limit():
    manager()
    limits = Limits(memory_mb=160, disk_mb=120, file_mb=120)
    text, peak = killed_by_memory(limits, """
        written = 0
        for folder in ("/tmp", "/home/student", "/dev/shm"):
            with open(folder + "/fill", "wb") as fh:
                for _ in range(110):
                    fh.write(b"x" * 2 ** 20)
                    written += 1
        print("wrote", written, "MB")
        """)
    assert "wrote 330 MB" not in text and "SIGKILL" in text, text
    assert peak <= limits.memory_mb * 2 ** 20


def test_page_cache_is_counted_and_kept_within_the_limit(tmp_path):
    manager()
    data = tmp_path / "big.bin"
    with open(data, "wb") as fh:
        for _ in range(240):
            fh.write(os.urandom(2 ** 20))
        fh.flush()
        os.fsync(fh.fileno())
    fd = os.open(data, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)   # not in the page cache: the sandbox's reads bring it in
    os.close(fd)
    os.chmod(tmp_path, 0o755)
    os.chmod(data, 0o644)
    limits = Limits(memory_mb=128)
    with Sandbox(limits).start(files=[(data, "big.bin")]) as s:
        text = run(s, """
            total = 0
            for _ in range(2):
                with open("big.bin", "rb", buffering=0) as fh:
                    while chunk := fh.read(2 ** 20):
                        total += len(chunk)
            print("read", total // 2 ** 20, "MB")
            """)
        peak = s.group.memory_peak()
    assert "read 480 MB" in text                       # page cache is reclaimed, not a reason to die
    assert 32 * 2 ** 20 < peak <= limits.memory_mb * 2 ** 20, peak / 2 ** 20


def test_busy_threads_get_at_most_the_cpu_quota():
    manager()
    limits = Limits(cpu_cores=0.5, max_pids=200)
    with Sandbox(limits).start() as s:
        text = run(s, """
            import hashlib, threading, time
            threading.stack_size(256 * 1024)        # small stacks: 150 threads fit the address space
            data = b"x" * 2 ** 20
            stop = time.monotonic() + 3
            def burn():
                while time.monotonic() < stop:
                    hashlib.sha256(data).digest()   # hashing releases the GIL: threads can use every core
            threads = [threading.Thread(target=burn) for _ in range(150)]
            start, cpu = time.monotonic(), time.process_time()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            print("cores", (time.process_time() - cpu) / (time.monotonic() - start))
            """)
        stat = s.group.cpu_stat()
    cores = float(text.split()[-1])
    assert cores <= limits.cpu_cores * 1.2 + 0.05, cores
    assert stat.get("nr_throttled", 0) > 0, stat         # the quota, not a busy machine, held it back


def test_a_thread_bomb_hits_the_pids_limit():
    manager()
    limits = Limits(max_pids=32)
    with Sandbox(limits).start() as s:
        text = run(s, """
            import threading, time
            threading.stack_size(256 * 1024)
            threads = []
            try:
                for _ in range(1000):
                    t = threading.Thread(target=time.sleep, args=(3,))
                    t.start()
                    threads.append(t)
            except RuntimeError as error:
                print("stopped at", len(threads), type(error).__name__)
            """)
    started = int(text.split()[2])
    assert "stopped at" in text and 10 < started < limits.max_pids, text


def test_cgroups_of_a_killed_grader_are_removed_by_the_next_one(tmp_path):
    manager()
    script = tmp_path / "grader.py"
    script.write_text(textwrap.dedent("""
        import time
        from autograder.sandbox import Sandbox
        from autograder.course import Limits
        s = Sandbox(Limits()).start()
        print(*s.group.folders, flush=True)
        time.sleep(60)
        """))
    grader = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        folders = [Path(p) for p in grader.stdout.readline().split()]
        assert folders and all(f.is_dir() for f in folders)
        grader.send_signal(signal.SIGKILL)
        grader.wait()
        time.sleep(0.5)                                  # its sandbox dies with it (--die-with-parent)
        assert all(f.is_dir() for f in folders)          # ... but a killed grader cannot remove its cgroups
        assert folders[0].name in cgroups.Manager().removed
        assert not any(f.exists() for f in folders)
    finally:
        grader.kill()


def test_v2_is_used_where_it_is_delegated(tmp_path):
    base = tmp_path / "unified" / "user.slice" / "grader.scope"
    base.mkdir(parents=True)
    (base / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (base / "cgroup.subtree_control").write_text("\n")
    (base / "cgroup.procs").write_text(f"{os.getpid()}\n")
    mountinfo = f"30 25 0:26 / {tmp_path / 'unified'} rw,nosuid - cgroup2 cgroup2 rw\n"
    found = cgroups.Manager(mountinfo, "0::/user.slice/grader.scope\n")
    try:
        assert found.version == "v2", found.reason
        leaf = base / f"autograder-grader-{found.owner}"
        assert (leaf / "cgroup.procs").read_text() == str(os.getpid())      # the grader moved out of the way
        assert (base / "cgroup.subtree_control").read_text() == "+memory +cpu +pids"
        group = found.create(Limits(memory_mb=256, cpu_cores=0.5, max_pids=50))
        folder = group.paths["memory"]
        assert folder.parent == base / "autograder" and group.folders == [folder]
        assert (folder / "memory.max").read_text() == str(256 * 2 ** 20)
        assert (folder / "memory.swap.max").read_text() == "0"
        assert (folder / "cpu.max").read_text() == "50000 100000"
        assert (folder / "pids.max").read_text() == "50"
    finally:
        found._groups.clear()


def test_without_cgroups_the_sandbox_warns_or_refuses(monkeypatch, tmp_path):
    nothing = cgroups.Manager("", "")
    assert nothing.version is None and "no cgroup v2" in nothing.reason and "no cgroup v1" in nothing.reason
    monkeypatch.setattr(cgroups, "manager", lambda: nothing)
    monkeypatch.setattr(sandbox, "_WARNED", [])
    with pytest.warns(cgroups.CgroupWarning, match="runs without cgroups"):
        box = Sandbox(Limits())
    assert box.describe()["cgroups"].startswith("none (")
    with pytest.raises(SandboxUnavailable, match="cgroups are required"):
        Sandbox(Limits(require_cgroups=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with box.start() as s:                          # still grades, with the rlimits only
            assert s.group is None and run(s, "print(6 * 7)") == "42\n"
