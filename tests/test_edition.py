"""The student edition (autograder/edition): built once, installed into a fresh virtual environment
with README's own commands, searched for answers and hidden tests, its notebooks run as a student
would run them, JupyterLab started on them. The rewrites on small sources are in
test_edition_rewrites.py."""
import ast
import json
import os
import re
import socket
import subprocess
import textwrap
import time
import urllib.request
import zipfile

import nbformat
import pytest

from autograder import edition
from autograder.course import HIDDEN_NOTE, REFERENCE_ANSWERS, REPO
from autograder.edition import leaks, library, notebooks

SOLUTIONS = REPO / "solutions" / "ch08"
STUBBED = sorted({name for path, names in REFERENCE_ANSWERS.items() if path.startswith("textbook_core/")
                  for name in names})


# ---------------------------------------------------------------------------------------------
# The build, the fresh environment, the unpacked notebooks (each made once)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return edition.build(tmp_path_factory.mktemp("edition"))


def readme_commands():
    """The two commands of README's "For students" section, as a student would paste them."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## For students", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def student(built):
    """A folder with the handed-out files, after README's commands (JupyterLab not started)."""
    folder = built.wheel.parent
    install, unpack = readme_commands()
    done = subprocess.run(["bash", "-c", install], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    first, start = unpack.split(" && ")
    done = subprocess.run(["bash", "-c", first], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    python = folder / "ch08-env" / "bin" / "python"
    assert start.split()[0] == "ch08-env/bin/jupyter" and start.split()[1] == "lab"
    return {"folder": folder, "python": python, "notebooks": folder / start.split()[2], "start": start}


def run_in(student, source, *args, timeout=600):
    """Run `source` with the student environment's Python in the unpacked folder; its stdout."""
    script = student["folder"] / "driver.py"
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    done = subprocess.run([str(student["python"]), str(script), *map(str, args)], capture_output=True,
                          text=True, cwd=student["notebooks"], timeout=timeout,
                          env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


# ---------------------------------------------------------------------------------------------
# What is in it
# ---------------------------------------------------------------------------------------------

def test_the_wheel_holds_the_library_and_the_visible_checks_only(built):
    names = zipfile.ZipFile(built.wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    stem = built.wheel.name.split("-py3")[0]
    assert tops == {"textbook_core", "autograder", stem + ".dist-info", stem + ".data"}, tops
    # JupyterLab saves the demo's widget state (textbook_core/widgets/lab_settings.py)
    assert f"{stem}.data/data/share/jupyter/lab/settings/overrides.d/textbook-core.json" in names
    assert sorted(n for n in names if n.startswith("autograder/")) == [
        "autograder/__init__.py", "autograder/answer_key.json", "autograder/checks.py", "autograder/recorder.py"]
    assert "textbook_core/gradient.py" in names and "textbook_core/plugged.py" in names
    metadata = zipfile.ZipFile(built.wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    requirements = [line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert any(r.startswith("jupyterlab") for r in requirements)
    assert not any(r.startswith(("nbgrader", "nbconvert")) for r in requirements), requirements


def test_no_answer_and_no_hidden_test_in_the_wheel_or_the_zip(built):
    instructor = notebooks.instructor_cells(SOLUTIONS)
    secrets = leaks.secrets_of(REPO, instructor)
    kinds = {s.what.split(" of ")[0] for s in secrets}
    assert {"solution region", "hidden tests", "body"} <= kinds and len(secrets) > 40
    files = {**leaks.archive_texts(built.wheel), **leaks.archive_texts(built.notebooks)}
    release = [c.source for p in sorted((REPO / "notebooks" / "ch08").glob("*.ipynb"))
               for c in nbformat.read(p, as_version=4).cells]
    assert leaks.find(files, secrets, leaks.public_lines(REPO, release)) == []


def test_the_search_finds_what_is_planted(built):
    """The search of the test above can fail: a reference body, a solution line and a hidden
    test, each planted in an otherwise clean edition, are found."""
    instructor = notebooks.instructor_cells(SOLUTIONS)
    secrets, public = leaks.secrets_of(REPO, instructor), leaks.public_lines(REPO, [])
    files = leaks.archive_texts(built.wheel)
    gradient = (REPO / "textbook_core" / "gradient.py").read_text()
    e8_09 = dict(instructor)["e8_09.ipynb"]
    solution = next(text for kind, text in e8_09 if kind == "solution")
    hidden = next(text for kind, text in e8_09 if kind == "hidden")
    planted = {"gradient.py": gradient, "one line": "x = 1\n" + solution.splitlines()[3] + "\n",
               "hidden": "print()\n" + hidden}
    found = leaks.find({**files, **planted}, secrets, public)
    assert {leak.file for leak in found} == set(planted), found
    bodies = {leak.what for leak in found if leak.file == "gradient.py"}
    assert bodies == {f"body of textbook_core/gradient.py:{n}" for n in REFERENCE_ANSWERS["textbook_core/gradient.py"]}


def test_checks_keep_what_the_release_calls_and_drop_the_grading_helpers(built):
    source = zipfile.ZipFile(built.wheel).read("autograder/checks.py").decode()
    tree = ast.parse(source)
    defined = set().union(*(library._defines(n) for n in tree.body))
    called = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    release = [c.source for p in sorted((REPO / "notebooks" / "ch08").glob("*.ipynb"))
               for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code"]
    hidden = [text for cells in notebooks.instructor_cells(SOLUTIONS).values() for kind, text in cells
              if kind == "hidden"]
    visible, graded = library.used_checks(release), library.used_checks(hidden)
    assert visible and visible <= defined
    grading_only = graded - visible
    assert grading_only and (grading_only & defined) <= called, (grading_only & defined) - called
    assert grading_only - defined, "the grading helpers are in the edition"
    assert not set(REFERENCE_ANSWERS.get("autograder/checks.py", ())) & defined


def test_walkthroughs_leave_out_their_answer_cells(built):
    with zipfile.ZipFile(built.notebooks) as archive:
        for path in sorted((REPO / "notebooks").glob("[0-9]*_*.ipynb")):
            original = nbformat.read(path, as_version=4)
            shipped = nbformat.reads(archive.read(f"walkthroughs/{path.name}").decode(), as_version=4)
            tagged = [c for c in original.cells if notebooks.answer_exercises(c)]
            ids = {c.id for c in shipped.cells}
            assert not any(c.id in ids for c in tagged)
            assert all(c.outputs == [] for c in shipped.cells if c.cell_type == "code")
            text = "\n".join(c.source for c in shipped.cells)
            for cell in tagged:
                for exercise in notebooks.answer_exercises(cell):
                    assert exercise in text, f"{path.name}: the note does not name {exercise}"
                for heading in (line for line in cell.source.splitlines() if line.startswith("#")):
                    assert heading in text
            for name in STUBBED:           # an untagged cell that runs an answer would fail here
                assert not re.search(rf"\b{name}\(", text), f"{path.name} calls {name}"
        assert sorted(archive.namelist()) == sorted(
            ["README.md"] + [f"ch08/{p.name}" for p in (REPO / "notebooks" / "ch08").glob("*.ipynb")]
            + [f"walkthroughs/{p.name}" for p in (REPO / "notebooks").glob("[0-9]*_*.ipynb")])


def test_walkthrough_05_shows_no_max_pooling_or_product_answer():
    """The tags sit where the answers are: the student edition of walkthrough 05 has no cell about
    E8.8 or E8.9 but its note."""
    book = notebooks.student_walkthrough(nbformat.read(REPO / "notebooks" / "05_gradient.ipynb", as_version=4))
    about = [c.source for c in book.cells if re.search(r"E8\.[89]", c.source)]
    assert len(about) == 1 and about[0].startswith("## Pooling") and "Student edition" in about[0]


@pytest.mark.parametrize("where", ["file", "repository", "solutions"])
def test_a_bad_folder_is_a_clear_error(tmp_path, capsys, where):
    out = {"file": tmp_path / "x.whl", "repository": REPO, "solutions": SOLUTIONS / "out"}[where]
    out.parent.mkdir(exist_ok=True)
    if where == "file":
        out.write_text("")
    from autograder.__main__ import main

    assert main(["student-edition", str(out)]) == 2
    assert f"error: {out} is" in capsys.readouterr().err and not (SOLUTIONS / "out").exists()


def test_the_handout_is_readmes_for_students_section(built):
    text = built.readme.read_text()
    assert text == edition.handout() and all(command in text for command in readme_commands())
    assert zipfile.ZipFile(built.notebooks).read("README.md").decode() == text


# ---------------------------------------------------------------------------------------------
# As a student: the fresh environment
# ---------------------------------------------------------------------------------------------

def test_the_stubs_name_their_exercise_until_an_answer_is_plugged_in(student):
    modules = {path.removesuffix(".py").replace("/", "."): names for path, names in REFERENCE_ANSWERS.items()
               if path.startswith("textbook_core/")}
    out = run_in(student, f"""
        import importlib, inspect, json
        import numpy as np
        import textbook_core as tc
        result = {{}}
        for module, names in {modules!r}.items():
            for name in names:
                function = getattr(importlib.import_module(module), name)
                required = [p for p in inspect.signature(function).parameters.values()
                            if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
                try:
                    function(*[None] * len(required))
                    result[module + "." + name] = "ran"
                except NotImplementedError as error:
                    result[module + "." + name] = str(error)
        tc.plug_in({str(SOLUTIONS / "e8_08.ipynb")!r}, {str(SOLUTIONS / "e8_09.ipynb")!r})
        A = np.array([[1., 5., 2., 0.], [3., 4., 2.5, 0.5]])
        result["plugged"] = [tc.max_pool_da(np.array([[10., 20.]]), A, 2).tolist(),
                             tc.max_pool_da(np.ones((2, 2)), np.arange(9.).reshape(3, 3), 2, stride=1).tolist(),
                             float(tc.product_db(np.ones((2, 2)), np.full((2, 2), 3.0)))]
        print(json.dumps(result))
        """)
    result = json.loads(out)
    for module, names in modules.items():
        for name in names:
            message = result[f"{module}.{name}"]
            assert re.search(r"exercise E8\.\d", message) and "tc.plug_in(" in message, message
            if module == "textbook_core.gradient":
                assert f"tc.plug_in({name}={name})" in message
    assert result["plugged"] == [[[0, 10, 0, 0], [0, 0, 20, 0]], [[0, 0, 0], [0, 1, 1], [0, 1, 1]], 12.0]


def test_the_network_asks_for_e8_8_then_trains_with_it(student):
    out = run_in(student, f"""
        import textbook_core as tc
        from textbook_core import network
        try:
            network.train_squares_vs_diamonds(n_train=16, epochs=1)
        except NotImplementedError as error:
            print("without:", error)
        tc.plug_in({str(SOLUTIONS / "e8_08.ipynb")!r})
        net, history, seconds = network.train_squares_vs_diamonds(n_train=16, epochs=2)
        print("with:", len(history), history[-1] < history[0] * 1.5)
        """)
    assert "without: max_pool_da is the answer of exercise E8.8" in out and "with: 2 True" in out


DRIVER = """
    import contextlib, io, json, sys
    from pathlib import Path
    import nbformat

    pasted = json.loads(Path(sys.argv[1]).read_text())
    report = {}
    for path in sorted(Path("ch08").glob("*.ipynb")):
        book = nbformat.read(path, as_version=4)
        namespace, cells = {"__name__": "__main__"}, []
        for cell in book.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code":
                continue
            source = pasted.get(path.name, {}).get(meta.get("grade_id"), cell.source)
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(source, path.name, "exec"), namespace)
                error = None
            except BaseException as exc:
                error = [type(exc).__name__, str(exc), getattr(exc, "name", None)]
            visible = bool(meta.get("grade")) and %(hidden)r not in source
            cells.append({"id": meta.get("grade_id"), "visible": visible, "solution": bool(meta.get("solution")),
                          "error": error, "stdout": out.getvalue()})
        report[path.name] = cells
    print(json.dumps(report))
    """ % {"hidden": HIDDEN_NOTE}


def solution_sources():
    """Notebook -> grade_id -> the solution's answer cell, its markers taken out."""
    pasted = {}
    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("solution"):
                source = re.sub(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", "", cell.source, flags=re.MULTILINE)
                pasted.setdefault(path.name, {})[meta["grade_id"]] = source
    return pasted


@pytest.fixture(scope="module")
def runs(student):
    """The released notebooks run cell by cell in the student environment: blank, and with the
    solution's answers pasted into the answer cells."""
    result = {}
    for mode, pasted in (("blank", {}), ("solved", solution_sources())):
        answers = student["folder"] / f"{mode}.json"
        answers.write_text(json.dumps(pasted))
        result[mode] = json.loads(run_in(student, DRIVER, answers))
    return result


def test_visible_checks_fail_cleanly_on_the_blank_release(runs):
    defined = {nb: "\n".join(cells.values()) for nb, cells in solution_sources().items()}
    assert len(runs["blank"]) == 10
    for notebook, cells in runs["blank"].items():
        visible = [c for c in cells if c["visible"]]
        assert visible, notebook
        for cell in visible:
            assert cell["error"], f"{notebook} {cell['id']} passes blank"
            kind, message, name = cell["error"]
            if kind == "NameError":     # an answer the student has not written yet
                assert name and re.search(rf"\b{name}\b\s*(=|\()", defined[notebook]), (notebook, message)
            else:
                assert kind in ("Wrong", "AssertionError") and message, (notebook, cell["error"])
        others = [c for c in cells if not c["visible"] and not c["solution"] and c["error"]]
        assert others == [], (notebook, others)


def test_visible_checks_pass_with_the_solutions_answers(runs):
    for notebook, cells in runs["solved"].items():
        failed = [(c["id"], c["error"]) for c in cells if c["error"]]
        assert failed == [], notebook
        visible = [c for c in cells if c["visible"]]
        assert visible and all("ok:" in c["stdout"] or "none" in c["stdout"] for c in visible), notebook


def test_the_walkthroughs_run_or_ask_for_the_answer(student):
    """Walkthrough 05 (cells left out) runs top to bottom; walkthrough 04 stops at the training of
    Figure 8.11 and asks for the E8.8 answer."""
    out = run_in(student, """
        import json
        import nbformat
        from nbclient import NotebookClient
        result = {}
        for name in ("04_hierarchy.ipynb", "05_gradient.ipynb"):
            book = nbformat.read(f"walkthroughs/{name}", as_version=4)
            NotebookClient(book, timeout=300, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": "walkthroughs"}}).execute()
            errors = [(k, o["ename"], o["evalue"]) for k, c in enumerate(book.cells) if c.cell_type == "code"
                      for o in c.outputs if o.output_type == "error"]
            result[name] = errors
        print(json.dumps(result))
        """)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["05_gradient.ipynb"] == []
    first = result["04_hierarchy.ipynb"][0]
    assert first[1] == "NotImplementedError" and "exercise E8.8" in first[2] and "tc.plug_in" in first[2]


def test_jupyterlab_opens_the_exercises(student):
    """The second command's JupyterLab, started headless, serves the exercises and the walkthroughs,
    and saves widget state in notebooks (the demo of walkthrough 03 survives a reload)."""
    settings = student["python"].parents[1] / "share/jupyter/lab/settings/overrides.d/textbook-core.json"
    assert json.loads(settings.read_text()) == {"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True}}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = student["start"].split() + ["--no-browser", f"--port={port}", "--ServerApp.token=edition",
                                          "--ServerApp.ip=127.0.0.1", "--allow-root"]
    server = subprocess.Popen(command, cwd=student["folder"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        pages = {}
        for path in ("lab", "api/contents/ch08/e8_01.ipynb", "api/contents/walkthroughs", "api/kernelspecs"):
            for _ in range(120):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}?token=edition", timeout=10) as page:
                        pages[path] = page.read().decode()
                    break
                except OSError:
                    assert server.poll() is None, server.stderr.read().decode()[-2000:]
                    time.sleep(0.5)
        assert "JupyterLab" in pages["lab"]
        assert json.loads(pages["api/contents/ch08/e8_01.ipynb"])["content"]["cells"]
        assert len(json.loads(pages["api/contents/walkthroughs"])["content"]) == 5
        assert "python3" in json.loads(pages["api/kernelspecs"])["kernelspecs"]
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


# ---------------------------------------------------------------------------------------------
