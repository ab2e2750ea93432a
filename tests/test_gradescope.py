"""The Gradescope autograder (autograder/gradescope.py): the zip unpacked into a folder laid out
like /autograder, run_autograder run on the solution and two typical mistakes, results.json
checked against Gradescope's documented fields and against the local grades."""
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import jsonschema
import pytest

from autograder import gradescope, pipeline, samples
from autograder.course import Course

# Gradescope's results.json, as its autograder documentation ("specs") describes it.
RESULTS = {
    "type": "object", "required": ["tests"],
    "properties": {
        "score": {"type": "number"}, "execution_time": {"type": "number"}, "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object", "required": ["score", "max_score", "name", "output", "visibility"],
            "additionalProperties": False,
            "properties": {
                "score": {"type": "number"}, "max_score": {"type": "number"}, "status": {"enum": ["passed", "failed"]},
                "name": {"type": "string"}, "name_format": {"type": "string"}, "number": {"type": "string"},
                "output": {"type": "string"}, "output_format": {"type": "string"},
                "tags": {"type": "array"}, "extra_data": {"type": "object"},
                "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]}}}},
    },
}

MISTAKES = ("stride-ignored", "bias-summed-over-wrong-axes")


@pytest.fixture(scope="session")
def autograder_zip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gradescope")
    course = Course(release=tmp / "release", work=tmp / "work")
    pipeline.build_release(course)
    students = [samples.Student("solution")] + [samples.Student(f"mistake-{m}", mistakes=(m,)) for m in MISTAKES]
    inbox = samples.write(students, tmp / "inbox", course)
    pipeline.grade(pipeline.collect(inbox, course), course)
    return dict(zip=gradescope.build_zip(tmp / "autograder.zip", course), course=course, inbox=inbox, tmp=tmp)


def test_the_zip_holds_setup_run_autograder_the_wheel_and_the_bundle(autograder_zip):
    with zipfile.ZipFile(autograder_zip["zip"]) as archive:
        names = archive.namelist()
        assert {"setup.sh", "run_autograder", "bundle.json"} <= set(names)
        for name in ("setup.sh", "run_autograder"):
            assert stat.S_IMODE(archive.getinfo(name).external_attr >> 16) & 0o111, f"{name} is executable"
        setup = archive.read("setup.sh").decode()
        wheel = [n for n in names if n.endswith(".whl")]
        inside = zipfile.ZipFile(archive.open(wheel[0])).namelist()
    assert "apt-get install" in setup and "bubblewrap" in setup and "textbook_core-*.whl" in setup
    assert len(wheel) == 1 and {"autograder/job.py", "autograder/sandbox.py", "textbook_core/__init__.py"} <= set(inside)


@pytest.mark.parametrize("student", ["solution"] + [f"mistake-{m}" for m in MISTAKES])
def test_run_autograder_writes_gradescopes_results_with_the_local_grades(autograder_zip, student, tmp_path):
    root = tmp_path / "autograder"
    with zipfile.ZipFile(autograder_zip["zip"]) as archive:
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    os.chmod(root / "run_autograder", 0o755)
    shutil.copytree(autograder_zip["inbox"] / student, root / "submission")
    (root / "submission_metadata.json").write_text(json.dumps(
        {"created_at": "2030-07-01T14:22:32.365935-07:00", "users": [{"email": f"{student}@example.com"}]}))
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, RESULTS)
    local = pipeline.cell_scores(student, autograder_zip["course"])
    tests = {t["name"].split()[1]: t for t in results["tests"]}
    assert set(tests) == {g for g, (_, _, manual) in local.items() if not manual}
    for grade_id, test in tests.items():
        assert (test["score"], test["max_score"]) == local[grade_id][:2], grade_id
        assert test["visibility"] == ("after_due_date" if "_hidden" in grade_id else "visible")
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
    assert results["score"] == sum(s for s, _, manual in local.values() if not manual)
    assert "Graded by hand by your instructor" in results["output"] and "e8_01_ii_explain" in results["output"]
    assert results["extra_data"]["timestamp"] == "2030-07-01 21:22:32.365935 UTC"
    if student != "solution":
        failed = [t for t in results["tests"] if t["status"] == "failed"]
        assert failed and all(t["output"] and t["output"] != "passed" for t in failed), "feedback says why"


def test_without_the_sandbox_nothing_is_graded(tmp_path, autograder_zip):
    root = tmp_path / "autograder"
    with zipfile.ZipFile(autograder_zip["zip"]) as archive:
        archive.extractall(root / "source")
    shutil.copytree(autograder_zip["inbox"] / "solution", root / "submission")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable), AUTOGRADER_ROOT=str(root))   # no bwrap on PATH
    done = subprocess.run([sys.executable, "-m", "autograder.gradescope", "run"], cwd=root, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 1 and "bubblewrap" in done.stderr
    assert not (root / "results" / "results.json").exists()
