"""One cgroup per sandbox: memory (memfd, tmpfs and page cache included), a CPU quota, a pids limit.

Resource limits of a process (``setrlimit``) miss what a student can hold outside its address
space: memfd files, files in its in-memory folders, page cache. A cgroup counts all of it, and
also caps CPU across all threads and the number of threads. `Manager` finds where this grader
may make cgroups and makes one `Group` per sandboxed process (`autograder.sandbox`):

- **cgroup v2** where it is delegated (a ``cgroup2`` mount whose folder for this process offers
  ``memory``, ``cpu`` and ``pids``, writable): ``memory.max`` (``memory.swap.max`` 0),
  ``cpu.max``, ``pids.max``. v2 does not allow processes in a folder whose controllers are
  handed down, so the grader first moves itself into a leaf folder of its own;
- **cgroup v1** where its controllers are mounted and writable (root on a hybrid layout):
  ``memory.limit_in_bytes`` (and ``memory.memsw.limit_in_bytes``), ``cpu.cfs_quota_us``,
  ``pids.max``, each in its own hierarchy, below this process's own cgroup;
- neither: `Manager.reason` says why, and the sandbox either refuses to start
  (``Limits(require_cgroups=True)``) or warns once and goes on with the rlimits only
  (``CgroupWarning``), which is what a laptop or a Gradescope container usually allows.

A group is named ``<pid namespace>-<grader pid>-<grader start time>-<n>`` inside an
``autograder`` folder, and removed (its processes killed first) when its session closes. A
grader killed outright leaves empty groups behind (its sandboxes die with it, bwrap's
``--die-with-parent``); the next `Manager` in the same pid namespace removes every group whose
grader is gone, and each process removes its own at exit.
"""
import atexit
import itertools
import os
import signal
import time
import warnings
from pathlib import Path

CONTROLLERS = ("memory", "cpu", "pids")
FOLDER = "autograder"
PERIOD_US = 100_000


class CgroupWarning(UserWarning):
    """Sandboxes run without cgroups: memory outside the address space, CPU and threads are not capped."""


def _read(path):
    return Path(path).read_text().strip()


def _write(path, value):
    with open(path, "w") as fh:
        fh.write(str(value))


def mounts(mountinfo):
    """``[(mount point, root, fs type, super options)]`` from the text of ``/proc/self/mountinfo``."""
    found = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 3:
            found.append((fields[4].replace("\\040", " "), fields[3], tail[0], tail[2].split(",")))
    return found


def own_cgroups(text):
    """``{controller: path}`` from the text of ``/proc/self/cgroup``; v2's path is under ``""``."""
    paths = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                paths[controller] = parts[2]
    return paths


def _inside(mount_point, mount_root, path):
    """The folder of cgroup `path` in a hierarchy mounted at `mount_point` (whose root is `mount_root`)."""
    relative = os.path.relpath(path, mount_root) if path.startswith(mount_root) else None
    if relative is None or relative.startswith(".."):
        return None
    return Path(mount_point) / ("" if relative == "." else relative)


def _start_time(pid):
    """The start time of process `pid` (clock ticks since boot), or None if there is no such process."""
    try:
        stat = _read(f"/proc/{pid}/stat")
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


def _pid_namespace():
    try:
        return os.readlink("/proc/self/ns/pid").split("[")[-1].rstrip("]")
    except OSError:
        return "0"


class Group:
    """The cgroup(s) of one sandboxed process: ``paths`` by controller (v2: one folder for all)."""

    def __init__(self, version, paths):
        self.version, self.paths = version, paths

    @property
    def folders(self):
        return list(dict.fromkeys(self.paths.values()))

    def join(self):
        """Move the calling process into the group (the sandbox's child, before it starts bwrap)."""
        for folder in self.folders:
            _write(folder / "cgroup.procs", os.getpid())

    def pids(self):
        found = set()
        for folder in self.folders:
            try:
                found.update(int(p) for p in _read(folder / "cgroup.procs").split())
            except (OSError, ValueError):
                pass
        return found

    def value(self, controller, v1_name, v2_name):
        """A number from the group's files (e.g. the memory peak), or None if it cannot be read."""
        try:
            text = _read(self.paths[controller] / (v2_name if self.version == "v2" else v1_name))
        except (OSError, KeyError):
            return None
        return None if text == "max" else int(text.split()[0])

    def memory_peak(self):
        """Bytes: the most memory the group held (anonymous, memfd, tmpfs, page cache)."""
        return self.value("memory", "memory.max_usage_in_bytes", "memory.peak")

    def memory_limit(self):
        return self.value("memory", "memory.limit_in_bytes", "memory.max")

    def pids_limit(self):
        return self.value("pids", "pids.max", "pids.max")

    def cpu_stat(self):
        """``{name: number}`` of the group's ``cpu.stat`` (``nr_throttled``, ...)."""
        try:
            lines = _read(self.paths["cpu"] / "cpu.stat").splitlines()
        except (OSError, KeyError):
            return {}
        return {k: int(v) for k, v in (line.split() for line in lines if len(line.split()) == 2)}

    def remove(self, wait=2.0):
        """Kill what is left in the group and remove its folders; True when they are gone."""
        deadline = time.monotonic() + wait
        while True:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            for folder in self.folders:
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    continue
            if not any(folder.exists() for folder in self.folders) or time.monotonic() > deadline:
                return not any(folder.exists() for folder in self.folders)
            time.sleep(0.02)


class Manager:
    """Where this process makes its sandboxes' cgroups; ``version`` is "v2", "v1" or None (``reason``).

    Making one removes the groups left by graders that are gone (``removed`` names them).

    `mountinfo` and `cgroup` are the texts of ``/proc/self/mountinfo`` and ``/proc/self/cgroup``
    (read from there by default; tests pass those of a fake tree).
    """

    def __init__(self, mountinfo=None, cgroup=None):
        mountinfo = _read("/proc/self/mountinfo") if mountinfo is None else mountinfo
        cgroup = _read("/proc/self/cgroup") if cgroup is None else cgroup
        self.version, self.parents, self.reason = None, {}, None
        self.owner = f"{_pid_namespace()}-{os.getpid()}-{_start_time(os.getpid())}"
        self._count = itertools.count()
        self._groups, self.removed = [], []
        problems = []
        for attempt in (self._v2, self._v1):
            try:
                attempt(mounts(mountinfo), own_cgroups(cgroup))
                break
            except (OSError, LookupError, ValueError) as error:
                problems.append(str(error))
        else:
            self.reason = "; ".join(problems)
            return
        self.removed = self.remove_stale()
        atexit.register(self.close)

    # -- finding a place -------------------------------------------------------------------

    def _v2(self, found, own):
        mount = next(((point, root) for point, root, fstype, _ in found if fstype == "cgroup2"), None)
        if mount is None or "" not in own:
            raise LookupError("no cgroup v2 hierarchy")
        base = _inside(mount[0], mount[1], own[""])
        if base is None:
            raise LookupError("this process's cgroup v2 folder is not visible")
        if base.name.startswith(f"{FOLDER}-grader-"):   # a grader above this one moved there: use its place
            base = base.parent
        offered = set(_read(base / "cgroup.controllers").split())
        missing = [c for c in CONTROLLERS if c not in offered]
        if missing:
            raise LookupError(f"cgroup v2 at {base} does not delegate {', '.join(missing)}")
        if not os.access(base, os.W_OK):
            raise PermissionError(f"cgroup v2 folder {base} is not writable")
        enabled = set(_read(base / "cgroup.subtree_control").split())
        if not set(CONTROLLERS) <= enabled:
            leaf = base / f"{FOLDER}-grader-{self.owner}"
            leaf.mkdir(exist_ok=True)
            _write(leaf / "cgroup.procs", os.getpid())   # no processes where controllers are handed down
            _write(base / "cgroup.subtree_control", " ".join(f"+{c}" for c in CONTROLLERS))
        parent = base / FOLDER
        parent.mkdir(exist_ok=True)
        _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in CONTROLLERS))
        self.version, self.parents = "v2", {c: parent for c in CONTROLLERS}

    def _v1(self, found, own):
        parents = {}
        for controller in CONTROLLERS:
            mount = next(((point, root) for point, root, fstype, options in found
                          if fstype == "cgroup" and controller in options), None)
            if mount is None or controller not in own:
                raise LookupError(f"no cgroup v1 hierarchy for {controller}")
            base = _inside(mount[0], mount[1], own[controller])
            if base is None or not os.access(base, os.W_OK):
                raise PermissionError(f"cgroup v1 folder {base or own[controller]} ({controller}) is not writable")
            parents[controller] = base / FOLDER
        for folder in parents.values():
            folder.mkdir(exist_ok=True)
        self.version, self.parents = "v1", parents

    # -- groups ------------------------------------------------------------------------------

    def describe(self, limits):
        if self.version is None:
            return f"none ({self.reason})"
        return (f"cgroup {self.version}: memory {limits.memory_mb} MB, CPU {limits.cpu_cores:g} cores, "
                f"{limits.max_pids} processes and threads")

    def create(self, limits):
        """A new `Group` with the limits of `limits` (an `autograder.course.Limits`)."""
        name = f"{self.owner}-{next(self._count)}"
        paths = {c: parent / name for c, parent in self.parents.items()}
        group = Group(self.version, paths)
        try:
            for folder in group.folders:
                folder.mkdir()
            memory, quota = limits.memory_mb * 2 ** 20, max(1000, int(limits.cpu_cores * PERIOD_US))
            if self.version == "v2":
                _write(paths["memory"] / "memory.max", memory)
                _write(paths["memory"] / "memory.swap.max", 0)
                _write(paths["cpu"] / "cpu.max", f"{quota} {PERIOD_US}")
                _write(paths["pids"] / "pids.max", limits.max_pids)
            else:
                _write(paths["memory"] / "memory.limit_in_bytes", memory)
                if (paths["memory"] / "memory.memsw.limit_in_bytes").exists():
                    _write(paths["memory"] / "memory.memsw.limit_in_bytes", memory)
                _write(paths["cpu"] / "cpu.cfs_period_us", PERIOD_US)
                _write(paths["cpu"] / "cpu.cfs_quota_us", quota)
                _write(paths["pids"] / "pids.max", limits.max_pids)
        except OSError:
            group.remove(wait=0.5)
            raise
        self._groups.append(group)
        return group

    def release(self, group):
        """Remove `group` (its session has ended)."""
        if group.remove() and group in self._groups:
            self._groups.remove(group)

    def close(self):
        for group in list(self._groups):
            self.release(group)

    def remove_stale(self):
        """Remove the groups of graders of this pid namespace that are gone; returns their names."""
        namespace = self.owner.split("-")[0]
        removed = []
        for parent in dict.fromkeys(self.parents.values()):
            try:
                children = list(parent.iterdir())
            except OSError:
                continue
            for folder in children:
                parts = folder.name.split("-")
                if not folder.is_dir() or len(parts) != 4 or parts[0] != namespace:
                    continue
                if _start_time(parts[1]) == parts[2]:   # its grader is alive
                    continue
                stale = Group(self.version, {c: p / folder.name for c, p in self.parents.items()})
                if stale.remove(wait=0.5):
                    removed.append(folder.name)
        return sorted(set(removed))


_MANAGER = {}


def manager():
    """This process's `Manager` (made once per process)."""
    if os.getpid() not in _MANAGER:
        _MANAGER.clear()
        _MANAGER[os.getpid()] = Manager()
    return _MANAGER[os.getpid()]


def warn_unavailable(reason):
    warnings.warn(f"the grading sandbox runs without cgroups ({reason}): memfd files, in-memory folders and "
                  f"page cache are not counted in its memory limit, its CPU is not capped and its threads "
                  f"are not limited; only the rlimits apply. Grade as root or with a delegated cgroup v2 to "
                  f"have them, or set Limits(require_cgroups=True) to refuse to grade without.",
                  CgroupWarning, stacklevel=3)
