"""Feedback pages and graded notebooks: nothing a student wrote runs, a slow Markdown cell costs
only its own rendering, and the page says what a student needs (wrapped lines, "not graded yet").

The first half works on crafted notebooks (no grading); the second on `small_class`, a class
graded once per session (tests/report_course.py), and opens its pages in headless Chromium.
"""
import html
import re
import resource

import nbformat
import pytest
from nbconvert import HTMLExporter

from autograder import pipeline
from autograder.course import ASSIGNMENT, Course
from autograder.intake import release_notebook
from autograder.report import (FeedbackError, FeedbackLimits, active_content, sanitize_html,
                               sanitize_notebook, write_feedback)
from autograder.report.clean import BLOCK_CLASS, ID_PREFIX, markdown_to_html
from autograder.report.limited import map_limited, run_limited
from browser import chromium, page_report
from report_course import PATHOLOGICAL, PWN, RENAMED_ID, small_class  # noqa: F401  (a fixture)

ACTIVE = [
    f"<script>{PWN}=1</script>",
    f"<img src=x onerror={PWN}=1>",
    f"<IMG SRC=x ONERROR='{PWN}=1'>",
    f"<a href='javascript:{PWN}=1'>x</a>",
    f"<a href='  JaVaScRiPt:{PWN}=1'>x</a>",
    f"<a href='&#106;avascript:{PWN}=1'>x</a>",
    f"<svg onload={PWN}=1><circle r=1 /></svg>",
    f"<svg><script>{PWN}=1</script></svg>",
    f"<iframe src='javascript:{PWN}=1'></iframe>",
    f"<iframe srcdoc='<script>{PWN}=1</script>'></iframe>",
    f"<object data='javascript:{PWN}=1'></object>",
    f"<embed src='data:text/html,<script>{PWN}=1</script>'>",
    f"<form action='javascript:{PWN}=1'><button>go</button></form>",
    f"<body onload={PWN}=1>",
    f"<details open ontoggle={PWN}=1>x</details>",
    f"<meta http-equiv=refresh content='0;url=javascript:{PWN}=1'>",
    f"<base href='javascript:{PWN}=1//'>",
    f"<math><a xlink:href='javascript:{PWN}=1'>x</a></math>",
    f"<div style=\"background:url('javascript:{PWN}=1')\">x</div>",
    f"<<script>script>{PWN}=1<</script>/script>",
    f"<img src=\"x\" alt=\"\" onerror=\"{PWN}=1\"/>",
    f"<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
]


@pytest.mark.parametrize("attack", ACTIVE)
def test_the_sanitizer_leaves_nothing_that_runs(attack):
    assert active_content(attack), "the attack itself is active (the check can fail)"
    assert active_content(sanitize_html(attack)) == []


def test_the_sanitizer_keeps_what_a_student_reads():
    text = ('<h2 id="Answer">Answer</h2><p>A <b>plus</b>, <em>not</em> a cross: $x^2 &lt; 3$</p>'
            '<table class="dataframe"><tr><th>a</th><td>1</td></tr></table><pre><code>Z = W * P</code></pre>'
            '<a href="https://example.org/">ref</a><img alt="plot" src="data:image/png;base64,iVBORw0KGgo=">')
    clean = sanitize_html(text)
    for kept in ("<b>plus</b>", "<em>not</em>", "$x^2 &lt; 3$", '<table class="dataframe">', "<th>a</th>",
                 "<code>Z = W * P</code>", 'href="https://example.org/"', 'src="data:image/png;base64,iVBORw0KGgo="'):
        assert kept in clean
    assert f'id="{ID_PREFIX}Answer"' in clean, "ids are prefixed: no student element can take a grade cell's id"


def _notebook(cells):
    return nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "cells": cells, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}}})


def _code(outputs, **metadata):
    return {"cell_type": "code", "id": "c", "source": "x = 1", "metadata": metadata, "execution_count": 1,
            "outputs": outputs}


def _display(data, metadata=None):
    return {"output_type": "display_data", "data": data, "metadata": metadata or {}}


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def crafted_notebook():
    """Every kind of active output and metadata, next to honest content that must survive."""
    return _notebook([
        {"cell_type": "markdown", "id": "m", "metadata": {}, "source": f"Hi <img src=x onerror={PWN}=1> $x^2$ **b**"},
        _code([
            _display({"application/javascript": f"{PWN}='js'", "text/plain": "<JS>"}),
            _display({"text/html": f"<script>{PWN}='html'</script><b>kept</b>"}),
            _display({"application/vnd.jupyter.widget-view+json": {"model_id": "m", "version_major": 2},
                      "text/plain": "slider"}),
            _display({"text/markdown": 5}),
            _display({"text/markdown": f"**md** <img src=\"x\" onerror=\"{PWN}='md'\">"}),
            _display({"image/svg+xml": f"<svg xmlns='http://www.w3.org/2000/svg'><script>{PWN}='svg'</script></svg>"}),
            _display({"image/png": PNG}, {"image/png": {"width": f"1 onerror={PWN}=1", "height": 5}}),
            _display({"image/png": "<script>not base64</script>", "text/latex": "$\\frac{1}{9}$"}),
            _display({"text/html": "<b>isolated</b>"}, {"text/html": {"isolated": True}}),
            {"output_type": "stream", "name": "stdout", "text": "<script>printed</script>\n"},
            {"output_type": "error", "ename": "Wrong", "evalue": "<b>msg</b>", "traceback": ["Wrong: <b>msg</b>"]},
        ], tags=[f'x" onmouseover="{PWN}=1', "fine"]),
        {"cell_type": "raw", "id": "r", "metadata": {"raw_mimetype": "text/html"}, "source": f"<script>{PWN}='raw'</script>ok"},
    ])


def stock_html(nb):
    """The notebook as nbconvert's stock template shows it (formgrader's is built on it)."""
    return HTMLExporter(template_name="basic").from_notebook_node(nb)[0]


def test_stock_nbconvert_would_run_the_crafted_notebook_or_crash_on_it():
    nb = crafted_notebook()
    with pytest.raises(AttributeError):   # Markdown that is a number: the export itself fails
        stock_html(nb)
    del nb.cells[1].outputs[3]
    assert len(active_content(stock_html(nb))) >= 5   # the attacks are real


def test_a_sanitized_notebook_is_inert_and_keeps_its_honest_content():
    notes = []
    nb = sanitize_notebook(crafted_notebook(), notes=notes)
    nbformat.validate(nb)
    assert active_content(stock_html(nb)) == []
    assert "widgets" not in nb.metadata
    outputs = nb.cells[1].outputs
    mimes = {m for o in outputs for m in o.get("data", {})}
    assert mimes <= {"text/plain", "text/html", "text/latex", "image/png"}
    assert outputs[0].data == {"text/plain": "<JS>"}
    assert outputs[1].data["text/html"] == "<b>kept</b>"
    assert "not shown by the grader" in outputs[3].data["text/plain"], "a number as Markdown is not a crash"
    assert "<strong>md</strong>" in outputs[4].data["text/html"] and "onerror" not in outputs[4].data["text/html"]
    assert outputs[5].data["text/html"].startswith('<img alt="SVG image" src="data:image/svg+xml;base64,')
    assert outputs[6].data["image/png"] == PNG and outputs[6].metadata == {"image/png": {"height": 5}}
    assert "image/png" not in outputs[7].data and outputs[7].data["text/latex"] == "$\\frac{1}{9}$"
    assert outputs[8].metadata == {}, "no isolated iframe"
    assert outputs[9].text == "<script>printed</script>\n", "text stays text: the template escapes it"
    assert nb.cells[1].metadata == {"tags": ["fine"]}
    assert nb.cells[2].source == "ok"
    assert "$x^2$" in nb.cells[0].source and "<strong>b</strong>" in nb.cells[0].source
    assert any("application/javascript" in n for n in notes)


def test_markdown_becomes_one_html_block_that_any_renderer_leaves_alone():
    nb = sanitize_notebook(crafted_notebook())
    block = nb.cells[0].source
    assert block.startswith(f'<div class="{BLOCK_CLASS}">') and "\n" not in block
    assert markdown_to_html(block).strip() == block, "formgrader's own renderer shows exactly the cleaned HTML"
    again = sanitize_notebook(nbformat.from_dict(nb))
    assert again == nb, "sanitizing twice is sanitizing once"


def test_the_instructors_markdown_is_left_as_it_is():
    release = release_notebook(Course().path("release"), ASSIGNMENT, "e8_01")
    nb = sanitize_notebook(nbformat.from_dict(release), release=release)
    kept = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert kept == ["".join(c.source) if isinstance(c.source, list) else c.source
                    for c in release.cells if c.cell_type == "markdown"]


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


BRACKETS = "[[" * 60_000   # 120 kB; Markdown's search for links takes about a minute, as text too


@pytest.mark.parametrize("pathological", [PATHOLOGICAL, BRACKETS], ids=["emphasis", "brackets"])
def test_a_pathological_markdown_cell_is_stopped_at_its_cpu_limit_and_shown_as_text(pathological):
    limits = FeedbackLimits(cpu_per_cell=2)
    honest = "An honest explanation with $W * P$ and **bold** words.\n\n" * 2000   # 110 kB, fast
    nb = _notebook([{"cell_type": "markdown", "id": "p", "metadata": {}, "source": pathological},
                    {"cell_type": "markdown", "id": "h", "metadata": {}, "source": honest}])
    notes, before = [], _children_cpu()
    sanitize_notebook(nb, notes=notes, limits=limits)
    spent = _children_cpu() - before
    assert spent < limits.cpu_per_cell + 3, f"rendering used {spent:.1f} s of CPU"
    slow, fine = nb.cells[0].source, nb.cells[1].source
    assert "The grader shows this as plain text: rendering it as Markdown took more than 2 s of CPU time" in slow
    shown_text = slow.split("<pre>", 1)[1].rsplit("</pre>", 1)[0]
    assert html.unescape(shown_text) == pathological and "<" not in shown_text, "the source as escaped text"
    assert "<strong>bold</strong>" in fine and "plain text" not in fine, "the honest cell is rendered as usual"
    assert notes == ["a Markdown cell is shown as plain text: rendering it took more than 2 s of CPU time "
                     "and was stopped"]
    shown = run_limited(lambda _: markdown_to_html(slow), None, cpu=2, memory_mb=512, wall=120)
    assert shown.ok, "formgrader renders the neutralised cell within 2 s of CPU"


def _burn(item):
    if item == "raise":
        raise ValueError("bad item")
    if item == "loop":
        while True:
            pass
    if item == "memory":
        return len(bytearray(2 ** 31))
    return item * 2


def test_each_item_is_limited_on_its_own():
    outcomes = map_limited(_burn, [1, "raise", "loop", "memory", 4], cpu_per_item=1, cpu_total=20,
                           memory_mb=256, wall_per_item=120)
    assert [o.ok for o in outcomes] == [True, False, False, False, True]
    assert outcomes[0].value == 2 and outcomes[4].value == 8
    assert outcomes[1].reason == "failed (ValueError: bad item)"
    assert outcomes[2].reason == "took more than 1 s of CPU time and was stopped"
    assert outcomes[3].reason == "needed more than 256 MB of memory"


def test_items_left_when_the_notebook_budget_is_used_up_are_not_tried():
    outcomes = map_limited(_burn, ["loop", "loop", 3], cpu_per_item=1, cpu_total=1.5, memory_mb=256, wall_per_item=60)
    assert [o.ok for o in outcomes] == [False, False, False]
    assert outcomes[-1].reason.startswith("was not tried")


# --- the graded class --------------------------------------------------------------------------

STUDENTS = ("ada", "cy", "mallory")


def page(small_class, student):
    return small_class["page"](student).read_text(encoding="utf-8")


def test_the_class_was_graded_and_every_page_written(small_class):
    assert small_class["run"].failed == {} and small_class["failed"] == {}
    for student in STUDENTS:
        assert small_class["page"](student).is_file()


@pytest.mark.parametrize("student", STUDENTS)
def test_pages_run_nothing_but_mathjax(small_class, student):
    html = page(small_class, student)
    assert active_content(html) == []
    assert len(re.findall(r"<script\b", html)) == 2, "MathJax and its configuration, nothing else"
    assert re.search(r'<script src="\.\./\.\./_static/mathjax/MathJax\.js\?config=[\w,-]+Safe"', html)
    assert (small_class["course"].path("work") / "feedback" / "_static" / "mathjax" / "MathJax.js").is_file()


def test_graded_copies_that_formgrader_shows_are_inert(small_class):
    nb = nbformat.read(str(small_class["graded"]("mallory")), as_version=4)
    release = release_notebook(small_class["course"].path("release"), ASSIGNMENT, "e8_01")
    trusted = {c.source for c in release.cells if c.cell_type == "markdown"}
    assert active_content(stock_html(nb)) == []
    mimes = {m for c in nb.cells for o in c.get("outputs", []) for m in o.get("data", {})}
    assert mimes <= {"text/plain", "text/html", "image/png", "image/jpeg", "image/gif", "text/latex"}
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source not in trusted:
            assert cell.source.startswith(f'<div class="{BLOCK_CLASS}">') and "\n" not in cell.source


def test_attacks_are_shown_as_text_with_the_reason(small_class):
    html = page(small_class, "mallory")
    assert "&lt;img src=x onerror=window.__pwned='note'&gt;" in html, "the grader's note quotes the id as text"
    assert RENAMED_ID not in html
    assert "rendering it as Markdown took more than 5 s of CPU time and was stopped" in html
    assert "<i>raw text</i>" in html and "bold html" in html
    notes = "\n".join(small_class["run"].notes["mallory"])
    assert "a Markdown cell is shown as plain text" in notes
    # the sandbox's worker keeps the script output from the grader and says so in the cell
    assert re.search(r"output of type [^\]]*application/javascript[^\]]* not shown by the grader", html)


def points_of(grade_id, notebook="e8_01"):
    """The points of one grade cell, as the instructor's notebook gives them."""
    nb = nbformat.read(Course().path("source") / "ch08" / f"{notebook}.ipynb", as_version=4)
    return float(next(c.metadata["nbgrader"]["points"] for c in nb.cells
                      if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id))


def test_a_part_waiting_for_a_hand_grade_says_not_graded_yet(small_class):
    html = page(small_class, "ada")
    assert re.search(r"Score 6(\.0)? / 8(\.0)?\s*<span class=\"pending\">\(2\.0 points not graded yet\)", html)
    item = re.search(r'<a href="#e8_01_ii_explain">Written answer</a>: (.*?)</li>', html, re.S).group(1)
    assert "not graded yet" in item and "Score" not in item
    assert len(re.findall(r"not graded yet", html)) == 3   # summary, list, the cell's heading
    hidden = points_of("e8_01_i_hidden")
    assert f"Score: {hidden:.1f} / {hidden:.1f}" in html, "autograded parts show their score"


def test_a_page_that_cannot_be_rendered_is_written_as_plain_text(small_class, monkeypatch):
    course = small_class["course"]

    def broken(self, nb, resources=None, **kw):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(HTMLExporter, "from_notebook_node", broken)
    with pytest.raises(FeedbackError, match=r"cy/e8_01: rendering the page failed \(RuntimeError: template "
                                            r"exploded\); a plain-text page was written instead"):
        write_feedback("cy", "e8_01", course)
    plain = page(small_class, "cy")
    monkeypatch.undo()
    write_feedback("cy", "e8_01", course)
    assert "This page is shown as plain text: rendering the page failed" in plain
    assert "Score 3 / 8" in plain and "e8_01_ii_explain: not graded yet" in plain
    assert active_content(plain) == []


def test_a_broken_graded_notebook_costs_only_its_own_page(small_class):
    course = small_class["course"]
    broken = course.autograded("zz-broken")
    broken.mkdir(parents=True)
    try:
        (broken / "e8_01.ipynb").write_text("{ not json", encoding="utf-8")
        before = {s: small_class["page"](s).stat().st_mtime_ns for s in STUDENTS}
        failed = {}
        pipeline.feedback(None, course, failed=failed)
        assert list(failed) == ["zz-broken"] and "cannot be read" in failed["zz-broken"][0]
        assert all(small_class["page"](s).stat().st_mtime_ns > before[s] for s in STUDENTS)
    finally:
        (broken / "e8_01.ipynb").unlink()
        broken.rmdir()


def test_pages_in_chromium_run_no_script_and_typeset_math_offline(small_class):
    shots = small_class["shots"]
    shots.mkdir(exist_ok=True)
    with chromium() as browser:
        for student in STUDENTS:
            tab = browser.new_page(viewport={"width": 1000, "height": 900})
            report = page_report(tab, small_class["page"](student).as_uri(), shots / f"feedback-{student}.png")
            assert report["pwned"] is None, f"{student}: a student script ran ({report['pwned']})"
            assert report["live"] == [] and report["outside"] == [], report
            assert report["mathjax"] > 0, "formulas are typeset by the local MathJax"
            tab.close()


def test_a_long_diagnosis_wraps_instead_of_running_off_the_page(small_class):
    assert "`Z` has the right shape (8, 8), but 64 of its 64 entries are wrong" in page(small_class, "cy")
    with chromium() as browser:
        tab = browser.new_page(viewport={"width": 700, "height": 900})
        page_report(tab, small_class["page"]("cy").as_uri(), small_class["shots"] / "feedback-cy-narrow.png")
        unwrapped = tab.evaluate("""() => {
            const pre = Array.from(document.querySelectorAll('pre')).find(p => p.textContent.includes('has the right shape'));
            const line = document.createElement('span');
            line.style.whiteSpace = 'pre';
            line.style.font = getComputedStyle(pre).font;
            line.textContent = pre.textContent.trim();
            document.body.appendChild(line);
            const excess = line.offsetWidth - pre.clientWidth;
            line.remove();
            return excess;
        }""")
        assert unwrapped > 50, "the diagnosis as one line is wider than its box (so wrapping is needed)"
        cut = tab.evaluate("""() => Array.from(document.querySelectorAll('pre'))
                                 .filter(p => p.scrollWidth > p.clientWidth + 1).length""")
        wide = tab.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert cut == 0 and wide <= 0, f"{cut} text blocks cut off, the page is {wide} px too wide"



def test_nbgraders_own_generate_feedback_writes_the_same_inert_page(small_class):
    course = small_class["course"]
    ours = page(small_class, "mallory")
    result = pipeline.nbgrader_api(course).generate_feedback(ASSIGNMENT, "mallory", force=True)
    assert result["success"], result.get("log")
    theirs = page(small_class, "mallory")
    assert active_content(theirs) == [] and "not graded yet" in theirs
    strip = re.compile(r'id="[0-9a-f-]{36}"')   # nbconvert's random ids of output areas
    assert strip.sub("", theirs) == strip.sub("", ours), "formgrader's Generate Feedback button gives the same page"
    assert "var(--jp-" not in ours, "highlighting colours that work outside JupyterLab"


def test_finish_before_anything_is_graded_is_a_clear_error(tmp_path, capsys):
    from autograder.__main__ import main

    assert main(["--work", str(tmp_path), "finish"]) == 2
    assert "nothing is graded in" in capsys.readouterr().err


def test_a_part_the_grader_flagged_says_so_until_it_is_graded_by_hand(small_class):
    course = small_class["course"]

    def flag(value):
        with pipeline.gradebook(course) as gb:
            gb.find_grade("e8_01_i_hidden", "e8_01", ASSIGNMENT, "ada").needs_manual_grade = value
            gb.db.commit()
        write_feedback("ada", "e8_01", course)
        return page(small_class, "ada")

    try:
        html = flag(True)   # as FlagForManualGrading marks a check the grader could not finish
        item = re.search(r'<a href="#e8_01_i_hidden">Test cell e8_01_i_hidden</a>: (.*?)</li>', html, re.S).group(1)
        assert "not graded yet" in item and "flagged for a grade by hand" in item
        hidden, explain = points_of("e8_01_i_hidden"), points_of("e8_01_ii_explain")
        assert f"({hidden + explain:.1f} points not graded yet)" in html
    finally:
        html = flag(False)
    assert f"Score: {hidden:.1f} / {hidden:.1f}" in html and f"({explain:.1f} points not graded yet)" in html
