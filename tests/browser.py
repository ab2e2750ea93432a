"""Pages seen as a person sees them: Debian's Chromium, headless, driven by playwright.

`chromium()` fails the test (never skips it) with the command to run when Chromium or
playwright is missing; `.ci/run` installs Chromium, ``pip install -e ".[dev]"`` playwright.
`page_report` loads a page and says what ran on it: whether the attack's ``window.__pwned``
marker was set, any element with an event handler or a script URL in the live DOM (after
MathJax has typeset), and every request that left the machine.
"""
import contextlib
import os

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

LIVE_DOM_CHECK = """(scope) => {
    const found = [];
    for (const el of document.querySelectorAll(scope + ', ' + scope + ' *')) {
        for (const a of el.attributes) {
            const v = a.value.replace(/[\\x00-\\x20]/g, '').toLowerCase();
            if (a.name.startsWith('on')) found.push(el.tagName + ' ' + a.name);
            if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(a.name)
                && (v.startsWith('javascript:') || v.startsWith('data:text/html'))) found.push(el.tagName + ' ' + a.name + '=' + v);
        }
    }
    return found;
}"""


@contextlib.contextmanager
def chromium():
    """A headless Chromium (playwright Browser); fails the test when it cannot be started."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y chromium` "
                    f"(.ci/run does it) to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail('playwright is not installed: run `.venv/bin/pip install -e ".[dev]"`')
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def mathjax_done(page, timeout=30_000):
    """Wait until MathJax (if the page loaded it) has typeset everything."""
    page.wait_for_function("() => !window.MathJax || (window.MathJax.Hub && window.MathJax.Hub.queue "
                           "&& window.MathJax.Hub.queue.pending === 0 && window.MathJax.Hub.queue.running === 0)",
                           timeout=timeout)


def page_report(page, url, screenshot=None, full_page=True, scope="html"):
    """Open `url`; returns ``{"pwned": ..., "live": [...], "outside": [...], "mathjax": n}``.

    ``live`` lists the elements inside `scope` (a CSS selector: the part of the page that shows
    the notebook) that carry an event handler or a script URL.
    """
    outside = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(("file:", "data:", "about:", "http://127.0.0.1", "http://localhost")) else None)
    page.goto(url)
    page.wait_for_load_state("load")
    mathjax_done(page)
    page.wait_for_timeout(300)
    report = {"pwned": page.evaluate("() => window.__pwned === undefined ? null : String(window.__pwned)"),
              "live": page.evaluate(LIVE_DOM_CHECK, scope), "outside": outside,
              "mathjax": page.evaluate("() => document.querySelectorAll('.MathJax, .MathJax_Display').length")}
    if screenshot:
        page.screenshot(path=str(screenshot), full_page=full_page)
    return report
