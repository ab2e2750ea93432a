"""`make demo` on a machine without bubblewrap (.ci/bubblewrap): installed as root with apt-get,
otherwise a stop before anything is built, with the command to run. The machine is faked by a
PATH without bwrap, an `id` that says who we are and package managers that log what they are
asked."""
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder.course import REPO


def fake_machine(tmp_path, uid, tools=("apt-get",), apt_works=True):
    """A PATH without bwrap: the shell's basics, `id` printing `uid`, and fake package managers
    that log their arguments (apt-get "installs" bwrap when `apt_works`)."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for name in ("sh", "bash", "uname", "cat", "chmod", "make", "mkdir", "touch", "rm", "env"):
        real = shutil.which(name)
        if real:
            (bin_ / name).symlink_to(real)
    (bin_ / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    for tool in tools:
        install = f'\nprintf "#!/bin/sh\\necho bubblewrap 0.8.0\\n" > "{bin_}/bwrap"; chmod +x "{bin_}/bwrap"' \
            if tool == "apt-get" and apt_works else ""
        fail = "" if apt_works else "\nexit 100"
        (bin_ / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{tmp_path}/log"{install}{fail}\n')
    for path in bin_.iterdir():
        if not path.is_symlink():
            path.chmod(0o755)
    return {"PATH": str(bin_), "HOME": str(tmp_path)}


def bubblewrap(env):
    return subprocess.run(["/bin/sh", str(REPO / ".ci" / "bubblewrap")], env=env, capture_output=True, text=True)


def test_bubblewrap_present_is_left_alone(tmp_path):
    env = fake_machine(tmp_path, 1000)
    (Path(env["PATH"]) / "bwrap").symlink_to("/bin/true")
    done = bubblewrap(env)
    assert done.returncode == 0 and done.stderr == "" and not (tmp_path / "log").exists()


def test_a_bubblewrap_that_cannot_start_the_sandbox_says_so(tmp_path):
    env = fake_machine(tmp_path, 1000)
    (Path(env["PATH"]) / "bwrap").write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\n"
                                            "exit 1\n")
    (Path(env["PATH"]) / "bwrap").chmod(0o755)
    done = bubblewrap(env)
    assert done.returncode == 1 and "cannot start the grading sandbox" in done.stderr
    assert "setting up uid map: Permission denied" in done.stderr


def test_as_root_with_apt_bubblewrap_is_installed(tmp_path):
    done = bubblewrap(fake_machine(tmp_path, 0))
    assert done.returncode == 0, done.stderr
    assert "apt-get install -y -qq bubblewrap" in (tmp_path / "log").read_text()


@pytest.mark.parametrize("uid, tools, apt_works, command", [
    (1000, ("apt-get",), True, "sudo apt-get update && sudo apt-get install -y bubblewrap"),
    (1000, ("dnf",), True, "sudo dnf install -y bubblewrap"),
    (0, ("apt-get",), False, "apt-get update && apt-get install -y bubblewrap"),
    (1000, (), True, "Install the package 'bubblewrap'"),
])
def test_otherwise_it_stops_with_the_command_to_run(tmp_path, uid, tools, apt_works, command):
    done = bubblewrap(fake_machine(tmp_path, uid, tools, apt_works))
    assert done.returncode == 1 and command in done.stderr, done.stderr
    if uid != 0:
        assert not (tmp_path / "log").exists()        # nothing run as an ordinary user


def test_make_demo_stops_before_building_anything(tmp_path):
    clone = tmp_path / "clone"
    (clone / ".ci").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", ".ci/bubblewrap"):
        shutil.copy(REPO / name, clone / name)
    env = fake_machine(tmp_path, 1000)
    done = subprocess.run(["make", "-C", str(clone), "demo", "PYTHON=python3"], env=env, capture_output=True,
                          text=True)
    assert done.returncode != 0
    assert "sudo apt-get update && sudo apt-get install -y bubblewrap" in done.stderr
    assert not (clone / ".venv").exists()
