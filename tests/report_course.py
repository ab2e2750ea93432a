"""One small class graded once per test session, for the feedback and formgrader tests.

Three students hand in E8.1 only (the cheapest notebook, so the sandboxed grading takes
seconds): ada the solution; cy the solution with every entry of ``Z`` off by one, so a hidden
check fails with a long one-line diagnosis; mallory the solution plus the attacks of issue 10
that reach a page: script in HTML, JavaScript, Markdown and SVG outputs, an ``onerror`` image,
a ``javascript:`` link and a MathJax ``\\href`` in the hand-graded explanation, a script in a
renamed cell's grade id (quoted by the grader's notes), a raw cell with script, and a 120 kB
Markdown cell of a pathological pattern (nested emphasis, quadratic or worse in the renderer).
"""
import copy
import json

import pytest

from autograder import pipeline, samples
from autograder.course import Course

PWN = "window.__pwned"
OUTPUT_ATTACKS = f"""
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML("<script>{PWN}='html'</script><img src=x onerror=\\"{PWN}='img'\\"><b>bold html</b>"))
display(Javascript("{PWN}='js'"))
display(Markdown("**md** <img src=x onerror={PWN}='md'> <a href='javascript:{PWN}=1'>a</a>"))
display(SVG("<svg xmlns='http://www.w3.org/2000/svg' width='20' height='20'><script>{PWN}='svg'</script>"
            "<rect width='20' height='20' fill='red' onload=\\"{PWN}='rect'\\"/></svg>"))
"""
EXPLANATION = (f"A plus-shaped kernel <img src=x onerror=\"{PWN}='explain'\"> "
               f"[click](javascript:{PWN}='link') $\\href{{javascript:{PWN}='tex'}}{{x}}$ and $x^2$.")
RENAMED_ID = f"<img src=x onerror={PWN}='note'>"
PATHOLOGICAL = "*a **a " * 8500 + "b" + " a** a*" * 8500   # 120 kB; minutes to render as Markdown
WRONG_ENTRIES = "\nZ = Z + 1"


def _edit(nb, grade_id, change):
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            change(cell)
    return nb


def attack_notebook(course):
    nb = samples.solution_notebook("e8_01", course)
    _edit(nb, "e8_01_i_answer", lambda c: c.update(source=c["source"] + "\n" + OUTPUT_ATTACKS))
    _edit(nb, "e8_01_ii_explain", lambda c: c.update(source=EXPLANATION))
    nb["cells"].append({"cell_type": "code", "metadata": {"nbgrader": {"grade_id": RENAMED_ID, "solution": True,
                                                                       "grade": False, "locked": False}},
                        "source": "renamed = 1", "outputs": [], "execution_count": None})
    nb["cells"].append({"cell_type": "raw", "metadata": {"raw_mimetype": "text/html"},
                        "source": f"<script>{PWN}='raw'</script><i>raw text</i>"})
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": PATHOLOGICAL})
    return nb


_GRADED = {}
"""The class of this session: test modules that import the fixture each get their own copy of
it, and this keeps them from grading the class once each."""


@pytest.fixture(scope="session")
def small_class(tmp_path_factory):
    key = tmp_path_factory.getbasetemp()
    if key not in _GRADED:
        _GRADED[key] = _grade_small_class(tmp_path_factory.mktemp("report"))
    return _GRADED[key]


def _grade_small_class(tmp):
    course = Course(release=tmp / "release", work=tmp / "work")
    pipeline.build_release(course)
    solution = samples.solution_notebook("e8_01", course)
    notebooks = {"ada": solution,
                 "cy": _edit(copy.deepcopy(solution), "e8_01_i_answer",
                             lambda c: c.update(source=c["source"] + WRONG_ENTRIES)),
                 "mallory": attack_notebook(course)}
    for student, nb in notebooks.items():
        (tmp / "inbox" / student).mkdir(parents=True)
        (tmp / "inbox" / student / "e8_01.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    students = pipeline.collect(tmp / "inbox", course)
    run = pipeline.grade(students, course)
    failed = {}
    pipeline.feedback(students, course, failed=failed)
    csv = pipeline.export(course.path("work") / "grades.csv", course)
    return dict(course=course, run=run, failed=failed, csv=csv, shots=tmp / "screenshots",
                page=lambda s: course.feedback(s) / "e8_01.html",
                graded=lambda s: course.autograded(s) / "e8_01.ipynb")
