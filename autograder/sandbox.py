"""The sandbox that student code runs in while it is graded: bubblewrap, rlimits, seccomp.

`Sandbox` builds the command; `Session` is one sandboxed `autograder.worker` process for one
notebook, spoken to with frames of plain data (`autograder.wire`). What the process sees:

=============================  ===============================================================
``/usr``, the Python install   read-only (the venv too, with its editable-install hooks blanked,
and the venv                   so the repository's path leads nowhere)
``/sandbox/lib``               read-only: a copy of ``textbook_core`` in which the functions
                               that answer an exercise (`autograder.course.REFERENCE_ANSWERS`)
                               are tripwires, and ``autograder``'s ``checks``, ``wire``,
                               ``worker``, ``recorder`` (`autograder.tripwires`)
``/home/student``              the working folder: a fresh in-memory file system of
                               ``Limits.disk_mb``, holding the notebook being graded (without
                               hidden tests) and, under ``release/``, the release notebooks
``/tmp``, ``/dev/shm``          more fresh in-memory file systems of ``Limits.disk_mb`` each
``/`` and the rest             read-only (``/dev`` holds only null, zero, random and the like)
=============================  ===============================================================

Nothing else: no solutions, no course folder, no gradebook, no home directories, no ``/etc``
beyond the loader's cache. Namespaces: user (uid 65534, every capability dropped, no further
user namespaces), network (none: only a private loopback), pid, ipc, uts, mount, cgroup. The
process dies with the grader (``--die-with-parent``). Resource limits (``setrlimit``, inherited
through bwrap): address space, CPU seconds, file size, open files, no core dumps. A cgroup of its
own where the machine allows (`autograder.cgroups`): memory with memfd, tmpfs and page cache
counted, a CPU quota, a limit on processes and threads. A seccomp filter refuses ``fork``,
``vfork`` and any ``clone`` that is not a new thread, so the student's code cannot start
processes (a fork bomb fails with ``PermissionError``); threads are allowed and share the
address-space limit. Time limits are the grader's: it kills the process when a request uses
up its CPU seconds or, long after, its wall-clock backstop (`autograder.timing`).

What the process sends is read within limits (`Session`): every frame's length is checked
before its body is read (`Limits.reply_mb`, a hard limit: the process is stopped), counted
against the notebook's `ByteBudget` (`Limits.output_mb`: past it a cell's outputs are drained
unread and dropped with a note), parsed within bounds (`autograder.wire.loads`) and checked
against the reply schema (`autograder.replies`). A reply that breaks a rule but keeps the
frames in step costs only what it carried: that cell's outputs, those values, that call.
"""
import json
import os
import platform
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import cgroups, replies, timing, wire
from .course import Limits
from .tripwires import SANDBOX_LIB, build_library, library, tripwired_source   # noqa: F401 (also sandbox's API)

HOME = "/home/student"
SANDBOX_UID = 65534

class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create its namespaces on this machine."""


class SessionError(RuntimeError):
    """The sandboxed process cannot be used (it ended, timed out or broke the protocol).

    For a timeout, ``clock`` says which limit ran out: "cpu" (the code used its CPU seconds),
    "idle" (it waited that long without computing) or "wall" (the wall-clock backstop, before
    either); None otherwise.
    """

    def __init__(self, kind, message, clock=None):
        super().__init__(message)
        self.kind = kind   # "timeout", "ended", "protocol", "too-large"
        self.clock = clock


class ByteBudget:
    """What one notebook's process may send, in bytes, over all its sessions (restarts included).

    Every frame counts as it is read. Outputs are kept only while the budget lasts; `dropped`
    counts the bytes of outputs drained unread past it.
    """

    def __init__(self, total):
        self.total, self.used, self.dropped = int(total), 0, 0

    @property
    def left(self):
        return max(0, self.total - self.used)


class BadReply:
    """A reply that was read whole but breaks a rule (`reason`); the process is still in step."""

    def __init__(self, reason):
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# seccomp: no new processes
# ---------------------------------------------------------------------------------------------

_ARCHES = {   # machine: (AUDIT_ARCH, syscall numbers, has the x32 ABI)
    "x86_64": (0xC000003E, {"clone": 56, "fork": 57, "vfork": 58, "clone3": 435}, True),
    "aarch64": (0xC00000B7, {"clone": 220, "clone3": 435}, False),
}
_CLONE_THREAD = 0x00010000


def seccomp_filter(machine=None):
    """A classic-BPF seccomp program (bytes) that refuses new processes, or None on other CPUs.

    fork and vfork fail with EPERM, clone fails with EPERM unless it makes a thread
    (CLONE_THREAD), clone3 fails with ENOSYS (its flags are out of reach of a filter, and the C
    library then falls back to clone); any other ABI of the CPU (x32, i386) is killed.
    """
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine or platform.machine(), machine or platform.machine())
    if machine not in _ARCHES:
        return None
    arch, nr, x32 = _ARCHES[machine]
    allow, kill, errno_ = 0x7FFF0000, 0x80000000, 0x00050000
    eperm, enosys = 1, 38
    code = [("ld", 4), ("jeq", arch, None, "kill"), ("ld", 0)]
    if x32:
        code.append(("jge", 0x40000000, "kill", None))
    for name in ("fork", "vfork"):
        if name in nr:
            code.append(("jeq", nr[name], "deny", None))
    code += [("jeq", nr["clone3"], "nosys", None), ("jeq", nr["clone"], "clone", None), ("ret", allow),
             "clone", ("ld", 16), ("jset", _CLONE_THREAD, "allow", "deny"),
             "allow", ("ret", allow), "deny", ("ret", errno_ | eperm),
             "nosys", ("ret", errno_ | enosys), "kill", ("ret", kill)]
    labels, program = {}, []
    for item in code:
        if isinstance(item, str):
            labels[item] = len(program)
        else:
            program.append(item)
    ops = {"ld": 0x20, "jeq": 0x15, "jge": 0x35, "jset": 0x45, "ret": 0x06}
    out = []
    for index, (op, k, *jumps) in enumerate(program):
        jt, jf = (0, 0) if not jumps else (0 if j is None else labels[j] - index - 1 for j in jumps)
        out.append(struct.pack("=HBBI", ops[op], jt, jf, k))
    return b"".join(out)


# ---------------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------------

_WARNED = []
SMALL_REPLY = 64 * 1024
"""Past the notebook's budget, a cell's reply up to this size is still read (its outputs dropped,
its record of calls kept); a longer one is drained unread."""


def bwrap_path():
    """The bwrap executable, or `SandboxUnavailable` with what to do."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, and student code is only ever run inside it. "
            "Install it (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install "
            "bubblewrap`), then grade again. See docs/course.md, 'Grading integrity'.")
    return path


class Sandbox:
    """How to start a sandboxed process: the bwrap command and its resource limits."""

    def __init__(self, limits=Limits(), release=None):
        self.limits = limits
        self.release = Path(release) if release else None
        self.bwrap = bwrap_path()
        self.library = library()
        self.seccomp = seccomp_filter()
        self.cgroups = cgroups.manager()
        if self.cgroups.version is None:
            if limits.require_cgroups:
                raise SandboxUnavailable(f"cgroups are required (Limits.require_cgroups) but not available: "
                                         f"{self.cgroups.reason}. Grade as root, or in a delegated cgroup v2.")
            if not _WARNED:
                _WARNED.append(True)
                cgroups.warn_unavailable(self.cgroups.reason)

    def describe(self):
        """What confines this sandbox's processes besides namespaces and seccomp (for the record)."""
        return {"cgroups": self.cgroups.describe(self.limits)}

    def _system_binds(self):
        args = ["--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
                     "/etc/fonts"):
            args += ["--ro-bind-try", path, path]
        prefixes = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix}
        for prefix in sorted(prefixes):
            if not prefix.startswith("/usr/"):
                args += ["--ro-bind", prefix, prefix]
        for site in self._site_packages():
            for hook in sorted(site.glob("__editable__*")):   # editable installs point into the repo
                args += ["--ro-bind", "/dev/null", str(hook)]
        return args

    @staticmethod
    def _site_packages():
        import sysconfig

        return [Path(p) for p in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
                if Path(p).is_dir()]

    def command(self, files=(), seccomp_fd=None, label="autograder"):
        """The bwrap command line; `files` are (host path, name) put read-only in the home folder.

        `label` is put in the environment as ``AUTOGRADER_SESSION`` (to find the process from
        outside, e.g. in tests).
        """
        limit = str(self.limits.disk_mb * 2 ** 20)
        args = [self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
                "--new-session", "--cap-drop", "ALL", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
                "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev", "--size", limit, "--tmpfs", "/dev/shm",
                "--size", limit, "--tmpfs", "/tmp", "--size", limit, "--tmpfs", HOME]
        args += self._system_binds()
        args += ["--ro-bind", str(self.library), SANDBOX_LIB]
        if self.release is not None and self.release.is_dir():
            args += ["--ro-bind", str(self.release), f"{HOME}/release"]
        for host, name in files:
            args += ["--ro-bind", str(host), f"{HOME}/{name}"]
        env = {"HOME": HOME, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
               "PYTHONPATH": SANDBOX_LIB, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
               "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython",
               "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NBGRADER_EXECUTION": "autograde",
               "AUTOGRADER_SESSION": label}
        args.append("--clearenv")
        for key, value in env.items():
            args += ["--setenv", key, value]
        if seccomp_fd is not None:
            args += ["--seccomp", str(seccomp_fd)]
        args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", HOME, sys.executable, "-m", "autograder.worker"]
        return args

    def rlimits(self):
        """``(resource, soft and hard limit)`` pairs set in the child before bwrap starts."""
        mib, cpu = 2 ** 20, int(self.limits.cpu_seconds)
        return [(resource.RLIMIT_AS, (self.limits.memory_mb * mib,) * 2),
                (resource.RLIMIT_CPU, (cpu, cpu + 5)),          # SIGXCPU first, SIGKILL 5 s later
                (resource.RLIMIT_FSIZE, (self.limits.file_mb * mib,) * 2),
                (resource.RLIMIT_NOFILE, (256, 256)),
                (resource.RLIMIT_CORE, (0, 0)),
                (resource.RLIMIT_NPROC, (256, 256))]

    def start(self, files=(), label="autograder", budget=None):
        """Start a worker; returns the `Session` once it has said it is ready.

        `budget` is the notebook's `ByteBudget` (shared by its restarts); a fresh one by default.
        """
        return Session(self, files, label, budget)


class Session:
    """One sandboxed worker process: run cells, read values, call functions, with deadlines.

    ``last`` holds what the latest reply said about itself: the library functions the student's
    code entered (``calls``), how that record was tampered with (``untracked``), the tripwires
    reached (``tripped``) and the worker's CPU seconds (``cpu``). ``notes`` collects what the
    grader dropped from this process's replies and why.
    """

    def __init__(self, sandbox, files=(), label="autograder", budget=None):
        self.sandbox, self.limits, self.label = sandbox, sandbox.limits, label
        self.budget = budget if budget is not None else ByteBudget(self.limits.output_mb * 2 ** 20)
        self.last, self.notes, self._id, self.over_budget = {}, [], 0, False
        self.stderr = tempfile.TemporaryFile()
        self.group = sandbox.cgroups.create(self.limits) if sandbox.cgroups.version else None
        seccomp_fd = None
        if sandbox.seccomp is not None:
            seccomp_fd = os.memfd_create("autograder-seccomp", 0)
            os.write(seccomp_fd, sandbox.seccomp)
            os.lseek(seccomp_fd, 0, os.SEEK_SET)
        limits, group = sandbox.rlimits(), self.group

        def child_setup():
            if group is not None:
                group.join()
            for which, value in limits:
                try:
                    resource.setrlimit(which, value)
                except (ValueError, OSError):
                    pass

        try:
            self.process = subprocess.Popen(
                sandbox.command(files, seccomp_fd, label), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self.stderr, pass_fds=() if seccomp_fd is None else (seccomp_fd,),
                preexec_fn=child_setup, start_new_session=True)
        except (OSError, subprocess.SubprocessError) as error:
            self._release()
            raise SandboxUnavailable(f"the sandbox could not be started: {error}") from None
        finally:
            if seccomp_fd is not None:
                os.close(seccomp_fd)
        self.fd_in, self.fd_out = self.process.stdout.fileno(), self.process.stdin.fileno()
        self.alive, self._pids, self.final_cpu, self.idle_seconds = True, None, 0.0, 0.0
        startup = timing.Limit(self.limits.startup_timeout, self.limits.startup_timeout * self.limits.wall_factor)
        try:
            reply = self._await(startup, time.monotonic() + startup.wall, 0.0, "ready")
        except SessionError as error:
            self.close()
            raise SandboxUnavailable(f"the sandbox did not start ({error}). bwrap said:\n{self.diagnostics()}") from None
        if isinstance(reply, BadReply):
            self.close()
            raise SandboxUnavailable(f"the sandbox did not start: {reply.reason}")
        self._pids = timing.descendants(self.process.pid)   # fixed from now on: no new processes

    def cpu_seconds(self):
        """CPU seconds the sandboxed processes have used (read from /proc; final once it ended)."""
        return self.clock()[0]

    def clock(self):
        """``(CPU seconds used, every thread asleep)`` of the sandboxed processes (`timing`)."""
        if not self.alive or self.process.returncode is not None:
            return self.final_cpu, False
        pids = self._pids if self._pids is not None else timing.descendants(self.process.pid)
        return timing.process_cpu(pids), timing.asleep(pids)

    def diagnostics(self):
        self.stderr.seek(0)
        return self.stderr.read()[-4000:].decode("utf-8", "replace")

    def _reply(self, deadline, op):
        """The next reply, checked; `BadReply` if it breaks a rule but the frames are still in step."""
        try:
            size = wire.read_length(self.fd_in, deadline)
            if size > self.limits.reply_mb * 2 ** 20:   # never read: the process is stopped
                self.kill()
                raise SessionError("too-large", f"sent a message of {size} bytes, over the limit of "
                                                f"{self.limits.reply_mb * 2 ** 20}")
            left = self.budget.left
            self.budget.used += size
            self.over_budget = op == "run" and size > left
            if self.over_budget and size > SMALL_REPLY:   # drained unread: its outputs are dropped
                wire.drain(self.fd_in, size, deadline)
                self.budget.dropped += size
                self.last = {"untracked": "the reply was past the notebook's output budget, so it was not read"}
                return BadReply(f"its outputs ({size} bytes) are past the notebook's output budget of "
                                f"{self.budget.total // 2 ** 20} MB")
            data = wire.read_body(self.fd_in, size, deadline)
        except wire.Timeout:
            self.kill()
            raise SessionError("timeout", "did not finish within the time limit") from None
        except wire.Closed:
            self.kill()
            raise SessionError("ended", self._ending()) from None
        try:
            reply = wire.loads(data)
        except wire.Malformed as error:
            return BadReply(str(error))
        del data
        problem = replies.envelope_problem(reply, op, self._id)
        if problem:
            if isinstance(reply, dict) and reply.get("id") not in (None, self._id):
                self.kill()   # out of step: nothing it sends can be matched to a request any more
                raise SessionError("protocol", problem)
            return BadReply(problem)
        self.last = {k: reply[k] for k in ("calls", "untracked", "tripped", "cpu") if k in reply}
        return reply

    def _ending(self):
        code = self.process.poll()
        if code is None:
            try:
                code = self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
        if code is not None and code > 128:   # bwrap passes on a signal death as 128 + signal
            code = 128 - code
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            what = {"SIGXCPU": " (CPU time limit)", "SIGKILL": " (killed, e.g. memory)",
                    "SIGSEGV": " (segmentation fault)", "SIGXFSZ": " (file size limit)"}.get(name, "")
            return f"the Python process ended by signal {name}{what}"
        return f"the Python process ended (exit code {code})"

    def request(self, message, timeout):
        """Send `message` and wait for the reply; `SessionError` on failure.

        `timeout` is a `timing.Limit` (CPU seconds of the sandboxed process, and a wall-clock
        backstop) or a number of seconds for both. Returns the reply (a dict, checked against the
        schema of its ``op``) or a `BadReply`.
        """
        if not self.alive:
            raise SessionError("ended", "the Python process has already ended")
        self._id += 1
        self.last = {}
        limit = timing.Limit.of(timeout)
        deadline, start_cpu = time.monotonic() + limit.wall, self.cpu_seconds()
        data = wire.pack(dict(message, id=self._id))
        try:
            while data:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    self.kill()
                    raise SessionError("timeout", "did not read its input within the time limit",
                                       self._clock(limit, start_cpu))
                _, ready, _ = select.select([], [self.fd_out], [], wait)
                if ready:
                    data = data[os.write(self.fd_out, data):]
        except (BrokenPipeError, OSError):
            self.kill()
            raise SessionError("ended", self._ending()) from None
        return self._await(limit, deadline, start_cpu, message["op"])

    def _await(self, limit, deadline, start_cpu, op):
        """The reply to `op`, waited for under `limit` (CPU since `start_cpu`, wall until `deadline`)."""
        try:
            self.idle_seconds += timing.wait_readable(self.fd_in, limit, self.clock, start_cpu)
        except timing.TimedOut as out:
            self.idle_seconds += out.idle
            self.kill()
            raise SessionError("timeout", str(out), out.clock) from None
        try:
            return self._reply(deadline, op)
        except SessionError as error:   # a reply begun, but not finished before the backstop
            if error.kind == "timeout":
                raise SessionError("timeout", str(error), self._clock(limit, start_cpu)) from None
            raise

    def _clock(self, limit, start_cpu):
        """Which clock ran out for a request stopped at its wall-clock deadline."""
        return "cpu" if self.final_cpu - start_cpu >= limit.cpu else "wall"

    def _room(self):
        """Bytes of values a reply may carry (the frame limit, less room for the envelope)."""
        return self.limits.reply_mb * 2 ** 20 - 4096

    def run(self, source, timeout, quiet=False):
        """Run one cell; returns ``(outputs, success)``.

        With `quiet` (a replay after a restart) no outputs are asked for. An output that breaks
        the schema is dropped, and so are all of them past the notebook's budget, each time
        with a note in the outputs and in `notes`.
        """
        limit = min(self._room(), self.budget.left)
        reply = self.request({"op": "run", "source": source, "limit": limit, "quiet": quiet}, timeout)
        if isinstance(reply, BadReply):
            return self._dropped(f"The grader dropped this cell's outputs: {reply.reason}."), True
        if "ok" not in reply:
            return self._dropped(f"The grader could not run this cell: {reply['error'][0]}: "
                                 f"{reply['error'][1][:300]}."), False
        outputs, bad = [], []
        for output in reply["ok"]["outputs"]:
            problem = replies.output_problem(output)
            if problem:
                bad.append(problem)
            elif not quiet:
                outputs.append(output)
        if self.over_budget and outputs:
            self.budget.dropped += sum(len(json.dumps(o)) for o in outputs)
            outputs = self._dropped(f"The grader dropped this cell's outputs: the notebook's output budget of "
                                    f"{self.budget.total // 2 ** 20} MB is used up.")
        if bad:
            outputs += self._dropped(f"The grader dropped {len(bad)} output(s) of this cell: {bad[0]}.")
        return outputs, bool(reply["ok"]["success"])

    def _dropped(self, message):
        self.notes.append(message)
        return [{"output_type": "stream", "name": "stderr", "text": f"[{message}]\n"}]

    def get(self, names, timeout):
        """The student's values of `names` as plain data (names that are not defined are left out).

        A value that cannot be read is a `wire.Broken` with the reason; a reply that cannot be
        read makes every name `Broken`.
        """
        reply = self.request({"op": "get", "names": sorted(names), "limit": self._room()}, timeout)
        if isinstance(reply, BadReply) or "ok" not in reply:
            reason = reply.reason if isinstance(reply, BadReply) else f"{reply['error'][0]}: {reply['error'][1][:300]}"
            return {name: wire.Broken(f"the reply that carried it could not be read ({reason})") for name in names}
        return {name: wire.decode(encoded) for name, encoded in reply["ok"].items() if name in names}

    def call(self, handle, args, kwargs, timeout):
        """Call the student's function `handle`; returns ``(value, error, tripped)``.

        `error` is ``(type name, message)`` when the function raised, `tripped` the reference
        functions it reached (the sandbox's tripwires); a result that cannot be read is a
        `wire.Broken`. What the function entered is in ``last["calls"]``.
        """
        reply = self.request({"op": "call", "handle": handle, "args": wire.encode(tuple(args)),
                              "kwargs": wire.encode(dict(kwargs)), "limit": self._room()}, timeout)
        if isinstance(reply, BadReply):
            return wire.Broken(f"the reply that carried it could not be read ({reply.reason})"), None, []
        tripped = list(reply.get("tripped", []))
        if "error" in reply:
            return None, tuple(reply["error"]), tripped
        return wire.decode(reply["ok"]), None, tripped

    def kill(self):
        """End the process (and with it everything in the sandbox)."""
        if self.alive and self.process.returncode is None:
            self.final_cpu = self.cpu_seconds()
        self.alive = False
        if self.process.returncode is None:   # not reaped yet, so its pid is still its own
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def _release(self):
        if self.group is not None:
            self.sandbox.cgroups.release(self.group)

    def close(self):
        self.kill()
        self._release()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check(limits=Limits()):
    """Start one sandbox and stop it: None if it works, else `SandboxUnavailable`'s message."""
    try:
        with Sandbox(limits).start():
            return None
    except SandboxUnavailable as error:
        return str(error)
