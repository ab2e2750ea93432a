"""The student edition's rewrites (autograder/edition) on small sources: stubs that pass on what
was given, visible checks kept as written, exercise derivations and answer data left out, answer
cells of a walkthrough turned into one note."""
import textwrap

import nbformat
import pytest

from autograder.course import REPO
from autograder.edition import library, notebooks
from autograder.sandbox import tripwired_source

SOLUTIONS = REPO / "solutions" / "ch08"

SOURCE = '''
import numpy as np

LIMIT = 3
"""A constant."""


def helper(x):
    # a comment that stays
    return np.asarray(x) + LIMIT


def answer(dLZ, A, size, *, stride=None, flag=False, scale=2.0):
    """E8.8: the answer itself."""
    return np.where(A > 0, dLZ, 0) * scale


def hidden_only(x):
    return x * 7
'''


def test_a_stub_passes_on_exactly_what_was_given():
    source = tripwired_source(SOURCE, ["answer"], "m", body=library.stub_body("E8.8", "e8_08.ipynb"))
    assert "np.where" not in source and "# a comment" not in source     # the sandbox's rewrite, unparsed
    stub = library.stub_answers("x.py", SOURCE, {}, present_only=True)  # x.py has no answers: unchanged
    assert stub == SOURCE
    namespace = {}
    exec(source, namespace)
    from textbook_core import plugged

    calls = []
    plugged.plug_in(answer=lambda *a, **k: calls.append((a, k)) or "mine")
    try:
        assert namespace["answer"](1, 2, 3) == "mine" and calls[-1] == ((1, 2, 3), {"scale": 2.0})
        namespace["answer"](1, 2, 3, stride=2, flag=True)
        assert calls[-1] == ((1, 2, 3), {"stride": 2, "flag": True, "scale": 2.0})
        plugged.plug_in(answer=lambda dLZ, A, size, stride=None: 0)
        with pytest.raises(TypeError, match="plugged in for E8.8, does not take what the library passes"):
            namespace["answer"](1, 2, 3)
    finally:
        plugged.unplug("answer")
    with pytest.raises(NotImplementedError, match=r"answer is the answer of exercise E8\.8"):
        namespace["answer"](1, 2, 3)


def test_visible_checks_keep_what_is_used_as_written():
    kept = library.visible_checks(SOURCE, {"helper"}, {})
    assert "# a comment that stays" in kept and '"""A constant."""' in kept and "import numpy" in kept
    assert "def answer" not in kept and "hidden_only" not in kept and "__all__ = ['helper']" in kept
    with pytest.raises(library.EditionError, match="checks.missing"):
        library.visible_checks(SOURCE, {"missing"}, {})
    grading = SOURCE.replace("import numpy as np", "import numpy as np\nfrom . import grading") + \
        "\n\ndef uses_grading():\n    return grading.run()\n"
    with pytest.raises(library.EditionError, match="need `from . import grading`"):
        library.visible_checks(grading, {"helper", "uses_grading"}, {})


def test_exercise_derivations_and_answer_data_are_left_out():
    derivations = textwrap.dedent('''
        @check("8.1", "s", "l")
        def _8_1():
            tc.correlate(1, 2)  # stays


        @check("E8.8", "s", "l")
        def _e8_8():
            pass


        @check("core", "s", "l")
        def _core():
            tc.product_db(1, 2)
        ''')
    kept = library.drop_exercise_derivations(derivations, ["product_db"])
    assert "# stays" in kept and "_e8_8" not in kept and "_core" not in kept
    data = textwrap.dedent('''
        """Data: `A`, `SECRET` -- things."""
        __all__ = ["A", "SECRET", "B"]
        A = 1
        """E8.1: a value.

        It gives 5 at (2, 2), the answer."""
        SECRET = "plus"
        """E8.1 (ii): the answer."""
        B = 2
        ''')
    library.ANSWER_DATA["x/data.py"] = ("SECRET",)
    try:
        trimmed = library.trim_data("x/data.py", data)
    finally:
        del library.ANSWER_DATA["x/data.py"]
    assert "SECRET" not in trimmed and "B = 2" in trimmed and '__all__ = ["A", "B"]' in trimmed
    assert "It gives 5" in trimmed          # x/data.py is not among TRIMMED_DOCSTRINGS
    library.TRIMMED_DOCSTRINGS += ("x/data.py",)
    try:
        trimmed = library.trim_data("x/data.py", data)
    finally:
        library.TRIMMED_DOCSTRINGS = library.TRIMMED_DOCSTRINGS[:-1]
    assert '"""E8.1: a value."""' in trimmed and "It gives 5" not in trimmed


def test_an_answer_no_exercise_asks_for_is_an_error():
    with pytest.raises(library.EditionError, match="no exercise of ch08 defines or tests nothing_like_it"):
        library.exercise_of("nothing_like_it", notebooks.instructor_cells(SOLUTIONS))
    cells = notebooks.instructor_cells(SOLUTIONS)
    assert library.exercise_of("max_pool_da", cells) == ("E8.8", "e8_08.ipynb")
    assert library.exercise_of("where_maxima_are", cells, "Each window's maximum (E8.8).") == ("E8.8", "e8_08.ipynb")
    assert library.asked_for("e8_08.ipynb", cells) == ("max_pool_da",)
    from textbook_core import plugged

    with pytest.raises(NotImplementedError, match=r"part of the answer of exercise E8\.8.*tc\.plug_in\(max_pool_da="):
        plugged.answer("where_maxima_are", "E8.8", "e8_08.ipynb", ("max_pool_da",))


def test_a_run_of_answer_cells_becomes_one_note():
    book = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_markdown_cell("## Pooling (E8.8)\n\ntext", metadata={"tags": ["answer-E8.8"]}),
        nbformat.v4.new_code_cell("tc.max_pool_da(x)", metadata={"tags": ["answer-E8.8", "answer-E8.9"]}),
        nbformat.v4.new_code_cell("print(1)", outputs=[nbformat.v4.new_output("stream", text="1")],
                                  execution_count=3)])
    shipped = notebooks.student_walkthrough(book)
    assert [c.cell_type for c in shipped.cells] == ["markdown", "markdown", "code"]
    assert shipped.cells[1].source.startswith("## Pooling (E8.8)\n\n> **Student edition.** 2 cells")
    assert "the answers of E8.8 and E8.9" in shipped.cells[1].source
    assert shipped.cells[2].outputs == [] and shipped.cells[2].execution_count is None
    nbformat.validate(shipped)
