"""Reading an inbox of submissions without following it: what `collect` and a job may open.

A student's folder is data, never a map of the machine. `read_folder` lists it with ``lstat``
semantics and opens each notebook with ``O_NOFOLLOW``, so:

- a symbolic link (to the instructor's solution, another student's notebook, ``/proc/self/mem``)
  is not followed, and neither is a symlinked student folder: it is refused with a note;
- a device, FIFO or socket is never opened (opening a FIFO alone can block); a folder is ignored;
- a notebook over the size limit is not read, only its size is kept;
- the file is checked again after it is opened (``fstat``), so a swap between the listing and the
  open is caught.

The submission time never comes from the student's files: `submission_time` takes the grader's
clock or the time an LMS export gives (`read_lms_times`), and a ``timestamp.txt`` in the inbox is
ignored with a note.
"""
import csv
import errno
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .course import NOTEBOOKS

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
"""A student id (the folder name): letters, digits and ``._@+-``, not starting with a dot."""

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
"""nbgrader's ``timestamp.txt`` format (UTC)."""


@dataclass(frozen=True)
class TooLarge:
    """A notebook that was not read because it is over the size limit."""

    size: int


@dataclass
class Folder:
    """One student's folder as read: ``files`` maps a notebook's file name to its bytes (or a
    `TooLarge`); ``problems`` lists what was refused, ignored, misnamed or missing."""

    student: str
    files: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)


def _kind(mode):
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def guess_notebook(name):
    """The notebook a misnamed file probably is, or None.

    >>> [guess_notebook(n) for n in ("E8-1.ipynb", "e8_01 (2).ipynb", "e8_10.ipynb.txt", "notes.ipynb")]
    ['e8_01.ipynb', 'e8_01.ipynb', 'e8_10.ipynb', None]
    """
    stem = re.sub(r"\.ipynb$", "", name.strip().lower())
    match = re.fullmatch(r"e8[\W_]*0*(\d{1,2})(?:[\W_].*)?", stem)
    if match and 1 <= int(match.group(1)) <= len(NOTEBOOKS):
        return f"e8_{int(match.group(1)):02d}.ipynb"
    return None


def _read_regular(dir_fd, name, max_bytes):
    """Bytes of the regular file `name` in `dir_fd` (or `TooLarge`); OSError/ValueError if refused."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(name, flags, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{name} is {_kind(info.st_mode)}: not read")
        if info.st_size > max_bytes:
            return TooLarge(info.st_size)
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        return TooLarge(len(data)) if len(data) > max_bytes else data
    finally:
        os.close(fd)


def read_folder(folder, max_bytes, student=None):
    """One student's folder, read safely (see the module docstring); returns a `Folder`.

    ValueError when the folder itself cannot be used: a symbolic link, not a folder, or a name
    that is not a student id.
    """
    folder = Path(folder)
    student = student or folder.name
    if not STUDENT_ID.fullmatch(student):
        raise ValueError(f"{student!r} is not a student id (letters, digits and ._@+- only): folder not read")
    try:
        info = os.lstat(folder)
    except OSError as error:
        raise ValueError(f"{folder} cannot be read: {error.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise ValueError(f"{folder.name} is a symbolic link: a student's folder is never followed")
    if not stat.S_ISDIR(info.st_mode):
        raise ValueError(f"{folder.name} is {_kind(info.st_mode)}, not a folder")
    result = Folder(student)
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise ValueError(f"{folder.name} cannot be opened: {error.strerror}") from None
    try:
        names = sorted(os.listdir(dir_fd))
        wanted = {f"{nb}.ipynb" for nb in NOTEBOOKS}
        present, renamed = set(), set()
        for name in names:
            try:
                mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
            except OSError as error:
                result.problems.append(f"{name} cannot be read ({error.strerror}): ignored")
                continue
            if stat.S_ISDIR(mode):
                result.problems.append(f"folder {name}/ is not part of the assignment: ignored")
                continue
            if not stat.S_ISREG(mode):
                what = f"{name} is {_kind(mode)}: not read"
                result.problems.append(what + (", so it scores 0" if name in wanted else ""))
                present.add(name)
                continue
            present.add(name)
            if name == "timestamp.txt":
                result.problems.append("timestamp.txt is ignored: the submission time is the grader's clock "
                                       "or the LMS export")
            elif name in wanted:
                try:
                    result.files[name] = _read_regular(dir_fd, name, max_bytes)
                except ValueError as error:
                    result.problems.append(f"{error}, so it scores 0")
                except OSError as error:
                    reason = "it is a symbolic link" if error.errno == errno.ELOOP else error.strerror
                    result.problems.append(f"{name} cannot be read ({reason}): not graded, so it scores 0")
            else:
                guess = guess_notebook(name)
                if guess and guess not in names:
                    renamed.add(guess)
                    result.problems.append(f"{name} is not graded: the notebook must be named {guess} "
                                           f"(rename it and grade again)")
                elif guess:
                    result.problems.append(f"{name} looks like a second copy of {guess}: ignored, {guess} is graded")
                else:
                    result.problems.append(f"{name} is not part of the assignment: ignored")
        missing = sorted(wanted - present - renamed)
        if missing:
            result.problems.append(f"missing, so their parts score 0: {', '.join(missing)}")
    finally:
        os.close(dir_fd)
    return result


def student_folders(inbox):
    """``(folders, problems)``: the entries of `inbox` that may be student folders, sorted, and
    ``{name: reason}`` for those refused (symbolic links, files, bad names). Hidden entries are
    skipped."""
    inbox = Path(inbox)
    folders, problems = [], {}
    for entry in sorted(os.scandir(inbox), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            problems[entry.name] = f"{entry.name} is a symbolic link: a student's folder is never followed"
        elif not entry.is_dir(follow_symlinks=False):
            continue
        elif not STUDENT_ID.fullmatch(entry.name):
            problems[entry.name] = (f"{entry.name!r} is not a student id (letters, digits and ._@+- only): "
                                    f"folder not read")
        else:
            folders.append(inbox / entry.name)
    return folders, problems


def now():
    """The grader's clock, UTC, in nbgrader's timestamp format."""
    return datetime.now(timezone.utc).strftime(TIME_FORMAT)


def parse_time(text):
    """A timestamp (nbgrader's format, ISO 8601, with or without zone) as UTC in nbgrader's format."""
    from nbgrader.utils import parse_utc

    try:
        value = parse_utc(str(text).strip())
    except (ValueError, OverflowError, TypeError) as error:
        raise ValueError(f"{text!r} is not a time ({error})") from None
    return value.replace(tzinfo=timezone.utc).strftime(TIME_FORMAT)


def read_lms_times(path):
    """``{student: timestamp}`` from an LMS export: a CSV with a student column (``student_id``,
    ``student``, ``id``, ``username`` or ``login``) and a time column (``timestamp``,
    ``submitted_at``, ``submitted`` or ``time``)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = {c.strip().lower(): c for c in reader.fieldnames or []}
        who = next((columns[c] for c in ("student_id", "student", "id", "username", "login") if c in columns), None)
        when = next((columns[c] for c in ("timestamp", "submitted_at", "submitted", "time") if c in columns), None)
        if who is None or when is None:
            raise ValueError(f"{path}: the LMS export needs a student column and a time column, it has "
                             f"{', '.join(reader.fieldnames or []) or 'none'}")
        times = {}
        for line, row in enumerate(reader, start=2):
            student, value = (row.get(who) or "").strip(), (row.get(when) or "").strip()
            if student and value:
                try:
                    times[student] = parse_time(value)
                except ValueError as error:
                    raise ValueError(f"{path} line {line}: {error}") from None
    return times


def submission_time(student, lms_times=None):
    """``(timestamp, note or None)``: the LMS export's time for `student`, else the grader's clock."""
    if lms_times is None:
        return now(), None
    if student in lms_times:
        return lms_times[student], None
    return now(), "the LMS export has no submission time for this student: the grader's clock is used"
