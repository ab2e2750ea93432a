"""The nbgrader assignment ch08: the committed release equals a fresh build, every printed part is
posed, notebooks carry no outputs, hidden tests compare one answer cell each, the course config
fixes nbgrader's weak defaults."""
import ast
import json
import re

import pytest
from traitlets.config.loader import PyFileConfigLoader

from autograder import course as course_module
from autograder import catalogue, pipeline, samples
from autograder.course import ASSIGNMENT, NOTEBOOKS, REPO, Course

SOURCE = REPO / "solutions" / ASSIGNMENT
RELEASE = REPO / "notebooks" / ASSIGNMENT

PARTS = {  # the roman-numeral parts printed in each exercise, each with a hidden test
    "e8_01": ("i", "ii_choice"), "e8_05": ("i", "ii", "iii"),
    "e8_06": ("i", "ii", "ii_choice", "iii", "iv"), "e8_07": ("i", "ii"),
}
EXPLAINED = ("e8_01_ii_explain", "e8_06_ii_explain")  # conceptual parts, graded by hand
BY_HAND = {"e8_06": "correlate_by_hand"}
"""By-hand functions whose part (i) defines them and whose later parts' values must come from them:
those hidden tests read the function's cell too (one library call must not score the later parts)."""


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def cells(path):
    return [(c["metadata"].get("nbgrader", {}), c["cell_type"], "".join(c["source"]), c)
            for c in load(path)["cells"]]


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release")
    course = Course(release=tmp / "release", work=tmp / "work")
    pipeline.build_release(course)
    return course.path("release") / ASSIGNMENT


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_release_is_a_fresh_build(fresh_release, name):
    assert load(RELEASE / f"{name}.ipynb") == load(fresh_release / f"{name}.ipynb"), (
        f"notebooks/{ASSIGNMENT}/{name}.ipynb is stale: run `python -m autograder release`")


def test_release_holds_exactly_the_ten_notebooks(fresh_release):
    assert sorted(p.name for p in RELEASE.iterdir()) == [f"{n}.ipynb" for n in NOTEBOOKS]
    assert sorted(p.name for p in SOURCE.iterdir()) == [f"{n}.ipynb" for n in NOTEBOOKS]


@pytest.mark.parametrize("folder", [SOURCE, RELEASE], ids=["solutions", "release"])
def test_notebooks_are_committed_without_outputs(folder):
    for name in NOTEBOOKS:
        for meta, kind, source, cell in cells(folder / f"{name}.ipynb"):
            if kind == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, (name, meta.get("grade_id"))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_release_hides_solutions_and_hidden_tests(name):
    for meta, kind, source, _ in cells(RELEASE / f"{name}.ipynb"):
        assert "BEGIN SOLUTION" not in source and "HIDDEN TESTS" not in source
        if meta.get("solution") and kind == "code":
            assert source.endswith("# YOUR CODE HERE\nraise NotImplementedError()")
            assert source.startswith("# ✏️"), "answer cells are marked for the student"
        if meta.get("solution") and kind == "markdown":
            assert source == "YOUR ANSWER HERE"
        if meta.get("grade_id", "").endswith("_hidden"):
            assert source.split("\n")[1:] == [course_module.HIDDEN_NOTE], "a hidden cell shows only its note"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_answer_has_visible_and_hidden_tests(name):
    metas = [m for m, *_ in cells(SOURCE / f"{name}.ipynb")]
    ids = [m["grade_id"] for m in metas]
    assert len(ids) == len(set(ids))
    visible = [m for m in metas if m["grade_id"].endswith("_visible")]
    hidden = [m for m in metas if m["grade_id"].endswith("_hidden")]
    assert visible and hidden
    assert all(m["grade"] and m["locked"] for m in visible + hidden)
    assert sum(m["points"] for m in hidden) > sum(m["points"] for m in visible), "hidden tests carry most points"
    for part in PARTS.get(name, ()):
        assert f"{name}_{part}_hidden" in ids


def test_conceptual_parts_are_a_choice_and_a_hand_graded_explanation():
    for grade_id in EXPLAINED:
        name = grade_id[:5]
        meta = {m["grade_id"]: (m, kind) for m, kind, *_ in cells(SOURCE / f"{name}.ipynb")}
        m, kind = meta[grade_id]
        assert kind == "markdown" and m["grade"] and m["solution"] and m["points"] > 0
        assert f"{name}_ii_choice_hidden" in meta


def student_names(source):
    """Names an answer cell defines (assignments, functions)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_hidden_test_reads_one_answer_cell_only(name):
    nb = cells(SOURCE / f"{name}.ipynb")
    setup = student_names(next(s for m, _, s, _ in nb if m["grade_id"].endswith("_setup")))
    answers = {m["grade_id"]: student_names(s) - setup for m, kind, s, _ in nb
               if m.get("solution") and kind == "code"}
    for meta, _, source, _ in nb:
        if meta["grade_id"].endswith("_hidden"):
            hidden = source.split("### BEGIN HIDDEN TESTS")[1]
            used = {n.id for n in ast.walk(ast.parse(hidden)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            tool = BY_HAND.get(name)
            sources = {cell for cell, defined in answers.items() if used & (defined - {tool})}
            sources = sources or {cell for cell, defined in answers.items() if used & defined}
            assert len(sources) == 1, (meta["grade_id"], sources)
            assert re.search(r"^import textbook_core as tc$", hidden, re.M), "references come from textbook_core"


def test_a_mistake_that_no_longer_applies_is_a_clear_error():
    stale = catalogue.Mistake("x", "e8_01", "e8_01_i_answer", (("no such code", "y"),), "hint", ("a",))
    with pytest.raises(ValueError, match="must occur once in e8_01_i_answer, found 0 times"):
        samples.apply_mistake(samples.solution_notebook("e8_01"), stale)
    with pytest.raises(ValueError, match="unknown mistakes"):
        samples.submission(samples.Student("z", mistakes=("typo",)))


def test_collect_refuses_bad_folders(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        pipeline.collect(tmp_path / "nothing", Course(work=tmp_path))
    (tmp_path / "in" / "someone").mkdir(parents=True)
    (tmp_path / "in" / "someone" / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match="holds none of the notebooks"):
        pipeline.collect(tmp_path / "in", Course(work=tmp_path))


def test_course_config_file_sets_the_weak_defaults_right():
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "course"))
    c = loader.load_config()
    assert c.CourseDirectory.root == str(REPO)
    assert c.CourseDirectory.source_directory == str(REPO / "solutions")
    assert c.CourseDirectory.release_directory == str(REPO / "notebooks")
    assert c.CourseDirectory.db_url == f"sqlite:///{REPO / 'course' / 'gradebook.db'}"
    assert c.Execute.timeout == course_module.CELL_TIMEOUT and c.Execute.interrupt_on_timeout
    assert c.Execute.skip_cells_with_tag not in ("skip-execution", "")
    assert "--InteractiveShell.xmode=Minimal" in c.Execute.extra_arguments
    assert c.LimitOutput.max_lines == course_module.MAX_OUTPUT_LINES
    assert c.OverwriteCells.add_missing_cells is True
    assert any(p.__name__ == "Executor" for p in c.Autograde.autograde_preprocessors)
    assert any(p.__name__ == "HideHiddenTests" for p in c.GenerateFeedback.preprocessors)
    assert course_module.config().Execute.skip_cells_with_tag != c.Execute.skip_cells_with_tag, (
        "the skip tag is a new secret in every run")
