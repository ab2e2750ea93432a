"""Reading the inbox (autograder/inbox.py, pipeline.collect): nothing is followed, nothing but a
regular file is opened, and the submission time never comes from the student."""
import os
import socket
import stat

import pytest

from autograder import inbox, pipeline
from autograder.course import Course

NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def folder_with(tmp_path, name="eve"):
    folder = tmp_path / "in" / name
    folder.mkdir(parents=True)
    (folder / "e8_05.ipynb").write_bytes(NOTEBOOK)
    return folder


def test_links_devices_fifos_and_sockets_are_refused_without_being_opened(tmp_path):
    folder = folder_with(tmp_path)
    secret = tmp_path / "solution.ipynb"
    secret.write_bytes(b"the instructor's solution")
    os.symlink(secret, folder / "e8_01.ipynb")
    os.symlink("/proc/self/mem", folder / "e8_02.ipynb")
    os.mkfifo(folder / "e8_03.ipynb")          # opening it would block
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(folder / "e8_04.ipynb"))
    os.symlink("/dev/zero", folder / "e8_06.ipynb")
    read = inbox.read_folder(folder, 2 ** 20)
    assert sorted(read.files) == ["e8_05.ipynb"] and read.files["e8_05.ipynb"] == NOTEBOOK
    problems = "\n".join(read.problems)
    for name, kind in (("e8_01", "a symbolic link"), ("e8_02", "a symbolic link"), ("e8_03", "a FIFO"),
                       ("e8_04", "a socket"), ("e8_06", "a symbolic link")):
        assert f"{name}.ipynb is {kind}: not read, so it scores 0" in problems
    listener.close()


def test_a_character_device_is_refused(tmp_path):
    folder = folder_with(tmp_path)
    os.mknod(folder / "e8_01.ipynb", 0o600 | stat.S_IFCHR, os.makedev(1, 3))   # /dev/null (we are root in CI)
    read = inbox.read_folder(folder, 2 ** 20)
    assert "e8_01.ipynb is a character device: not read, so it scores 0" in read.problems
    assert "e8_01.ipynb" not in read.files


def test_a_file_swapped_for_a_link_after_the_listing_is_not_followed(tmp_path, monkeypatch):
    folder = folder_with(tmp_path)
    target = tmp_path / "other.ipynb"
    target.write_bytes(b"someone else's")
    real_stat = os.stat

    def swap(name, *args, **kwargs):   # the listing sees a file, then it becomes a link
        result = real_stat(name, *args, **kwargs)
        if name == "e8_05.ipynb":
            os.unlink(folder / name)
            os.symlink(target, folder / name)
        return result

    monkeypatch.setattr(os, "stat", swap)
    read = inbox.read_folder(folder, 2 ** 20)
    monkeypatch.undo()
    assert read.files == {}
    assert any(p.startswith("e8_05.ipynb cannot be read (it is a symbolic link)") for p in read.problems)


def test_an_oversized_notebook_is_not_read_only_measured(tmp_path):
    folder = folder_with(tmp_path)
    with open(folder / "e8_07.ipynb", "wb") as fh:
        fh.truncate(5000)
    read = inbox.read_folder(folder, 4096)
    assert read.files["e8_07.ipynb"] == inbox.TooLarge(5000)


def test_a_symlinked_student_folder_and_bad_names_are_refused_the_others_collected(tmp_path):
    folder_with(tmp_path, "ada")
    os.symlink(tmp_path / "in" / "ada", tmp_path / "in" / "zed")
    folder_with(tmp_path, "bad name")
    (tmp_path / "in" / "empty").mkdir()
    (tmp_path / "in" / "empty" / "notes.txt").write_text("hi")
    collected = pipeline.collect(tmp_path / "in", Course(work=tmp_path / "work"))
    assert list(collected) == ["ada", "empty"]
    assert collected.refused["zed"] == "zed is a symbolic link: a student's folder is never followed"
    assert "is not a student id" in collected.refused["bad name"]
    assert collected.problems["empty"][0].startswith("none of the assignment's notebooks could be collected")
    with pytest.raises(ValueError, match="is a symbolic link"):
        inbox.read_folder(tmp_path / "in" / "zed", 2 ** 20)


def test_the_submission_time_is_the_graders_or_the_lms_never_the_students(tmp_path):
    folder = folder_with(tmp_path, "eve")
    (folder / "timestamp.txt").write_text("2001-01-01 00:00:00.000000 UTC")
    folder_with(tmp_path, "ada")
    course = Course(work=tmp_path / "work")
    before = inbox.parse_time(inbox.now())
    collected = pipeline.collect(tmp_path / "in", course)
    stamp = (course.submitted("eve") / "timestamp.txt").read_text()
    assert before <= stamp <= inbox.now() and not stamp.startswith("2001")
    assert any(p.startswith("timestamp.txt is ignored") for p in collected.problems["eve"])
    lms = tmp_path / "lms.csv"
    lms.write_text("Student_ID,Submitted_At\neve,2030-03-04T05:06:07+02:00\n")
    collected = pipeline.collect(tmp_path / "in", course, inbox.read_lms_times(lms))
    assert (course.submitted("eve") / "timestamp.txt").read_text() == "2030-03-04 03:06:07.000000 UTC"
    assert "the LMS export has no submission time for this student: the grader's clock is used" in \
        collected.problems["ada"]
    lms.write_text("who,when\n")
    with pytest.raises(ValueError, match="needs a student column and a time column"):
        inbox.read_lms_times(lms)
    lms.write_text("student_id,timestamp\neve,yesterday-ish\n")
    with pytest.raises(ValueError, match="line 2"):
        inbox.read_lms_times(lms)
