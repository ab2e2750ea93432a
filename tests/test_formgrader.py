"""The instructor's loop in a real browser: formgrader shows the graded notebooks inert and with
local MathJax, a hand grade given there reaches ``grades.csv`` and the feedback page after
``python -m autograder finish``, and formgrader does not warn about the exchange.

A Jupyter server (with nbgrader's formgrader and jupyter-server-mathjax, as ``jupyter lab``
loads them) is started on loopback in the graded course's work folder, as the demo tells the
instructor to; headless Chromium drives it (tests/browser.py).
"""
import csv
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autograder import pipeline
from autograder.course import ASSIGNMENT
from browser import chromium, page_report
from report_course import small_class  # noqa: F401  (a fixture)

JUPYTER = Path(sys.executable).parent / "jupyter"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def formgrader(small_class):
    work = small_class["course"].path("work")
    port, token = _free_port(), secrets.token_hex(16)
    log = open(work / "jupyter-server.log", "w")
    args = [str(JUPYTER), "server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    server = subprocess.Popen(args, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if server.poll() is not None:
                pytest.fail(f"the Jupyter server ended: {(work / 'jupyter-server.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        yield dict(base=base, token=token, work=work, course=small_class["course"])
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def submission_id(course, student):
    with pipeline.gradebook(course) as gb:
        return gb.find_submission_notebook("e8_01", ASSIGNMENT, student).id


def logged_in(browser, fg, width=1200):
    tab = browser.new_page(viewport={"width": width, "height": 1000})
    tab.goto(f"{fg['base']}/formgrader/?token={fg['token']}")
    return tab


def csv_score(path, student):
    with open(path, newline="") as fh:
        return next(float(row["score"]) for row in csv.DictReader(fh) if row["student_id"] == student)


def test_formgrader_shows_an_attack_inert_with_local_mathjax(formgrader, small_class):
    shots = small_class["shots"]
    shots.mkdir(exist_ok=True)
    with chromium() as browser:
        tab = logged_in(browser, formgrader)
        url = f"{formgrader['base']}/formgrader/submissions/{submission_id(formgrader['course'], 'mallory')}/"
        report = page_report(tab, url, shots / "formgrader-mallory.png", full_page=False,
                             scope="#notebook-container")   # formgrader's own buttons have handlers
        assert report["pwned"] is None, f"a student script ran in formgrader ({report['pwned']})"
        assert report["live"] == [] and report["outside"] == [], report
        sources = tab.evaluate("() => Array.from(document.querySelectorAll('script[src]')).map(s => s.src)")
        assert [s for s in sources if "MathJax" in s] == [
            f"{formgrader['base']}/static/jupyter_server_mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"]
        assert report["mathjax"] > 0, "formulas typeset by the server's own MathJax"
        assert tab.get_by_text("The grader shows this as plain text", exact=False).count() == 1
        assert tab.get_by_text("cell id \"<img src=x onerror=window.__pwned='note'>\"", exact=False).count() == 1


def test_formgrader_does_not_warn_about_the_exchange(formgrader, small_class):
    with chromium() as browser:
        tab = logged_in(browser, formgrader)
        tab.goto(f"{formgrader['base']}/formgrader/manage_assignments")
        tab.get_by_role("link", name="ch08", exact=True).first.wait_for()
        tab.screenshot(path=str(small_class["shots"] / "formgrader-assignments.png"))
        assert tab.locator("#warning-exchange").count() == 0
        assert tab.locator("#warning-course-id").count() == 0


def test_a_hand_grade_reaches_the_csv_and_the_feedback_page(formgrader, small_class):
    course, student = formgrader["course"], "cy"
    before = csv_score(small_class["csv"], student)
    page = course.feedback(student) / "e8_01.html"
    assert "not graded yet" in page.read_text(encoding="utf-8")
    with chromium() as browser:
        tab = logged_in(browser, formgrader)
        tab.goto(f"{formgrader['base']}/formgrader/submissions/{submission_id(course, student)}/")
        tab.wait_for_load_state("networkidle")
        cut = tab.evaluate("""() => Array.from(document.querySelectorAll('#notebook-container pre'))
                                 .filter(p => p.scrollWidth > p.clientWidth + 1).length""")
        assert cut == 0, "the failed check's diagnosis wraps in formgrader too"
        score = tab.locator("input.score#e8_01_ii_explain")
        score.scroll_into_view_if_needed()
        with tab.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
            score.fill("1.5")
            score.press("Tab")
        assert saved.value.status == 200 and saved.value.json()["manual_score"] == 1.5
        tab.screenshot(path=str(small_class["shots"] / "formgrader-hand-grade.png"))
    finished = subprocess.run([sys.executable, "-m", "autograder", "--work", str(formgrader["work"]), "finish"],
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert "feedback:" in finished.stdout and "grades:" in finished.stdout
    assert csv_score(formgrader["work"] / "grades.csv", student) == before + 1.5
    html = page.read_text(encoding="utf-8")
    assert "not graded yet" not in html
    assert '<a href="#e8_01_ii_explain">Written answer</a>: Score: 1.5 / 2.0</li>' in html
