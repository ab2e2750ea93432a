"""The convolution demo as a student meets it: notebook 03 in a real JupyterLab, in headless Chromium.

Run the notebook, look at the demo, click a pixel, save, stop the server, start a new one and
reopen the notebook: the demo must show its saved picture with the hint to run the cell again,
never "Error displaying widget: model not found". Screenshots of both states are written to
``tests/artifacts/`` (not committed), for a person to look at. The time from the click to the
new picture in the browser is printed, never asserted (it depends on the machine's load;
`bench/widget.py` measures the kernel's side).

Needs Chromium (``apt-get install -y chromium``; `.ci/run` installs it) and playwright's Python
package (the `dev` extra); without them the test fails and says so.
"""
import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03_template_matching.ipynb"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# Two texts of the picture overlapping by more than a pixel both ways, as the browser lays them out.
OVERLAPS_JS = """svg => {
  const boxes = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim())
      .map(t => [t.textContent, t.getBoundingClientRect()]);
  const found = [];
  for (let a = 0; a < boxes.length; a++) for (let b = a + 1; b < boxes.length; b++) {
    const [s, p] = boxes[a], [t, q] = boxes[b];
    const dx = Math.min(p.right, q.right) - Math.max(p.left, q.left);
    const dy = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
    if (dx > 1 && dy > 1) found.push(s + ' / ' + t);
  }
  return found;
}"""


# Click a button, resolve with the milliseconds until the picture's holder gets its new SVG.
CLICK_TO_PICTURE_JS = """(button, holder) => new Promise(resolve => {
  const start = performance.now();
  const watch = new MutationObserver(() => {
    if (holder.querySelector('svg.tc-demo-picture')) { watch.disconnect(); resolve(performance.now() - start); }
  });
  watch.observe(holder, {childList: true, subtree: true});
  button.click();
})"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server of this venv on a folder holding a copy of notebook 03."""

    def __init__(self, folder):
        self.folder = folder
        self.token = secrets.token_hex(16)
        self.env = dict(os.environ, PATH=os.pathsep.join([str(pathlib.Path(sys.executable).parent),
                                                          os.environ.get("PATH", "")]),
                        JUPYTERLAB_SETTINGS_DIR=str(folder / ".settings"),
                        JUPYTERLAB_WORKSPACES_DIR=str(folder / ".workspaces"),
                        JUPYTER_CONFIG_DIR=str(folder / ".config"), JUPYTER_RUNTIME_DIR=str(folder / ".runtime"))
        news = folder / ".settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        news.parent.mkdir(parents=True)
        news.write_text(json.dumps({"fetchNews": "false"}))      # no "official Jupyter news?" toast
        self.process = None

    def start(self):
        self.port = _free_port()
        log = open(self.folder / ".server.log", "a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={self.folder}", "--allow-root"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab stopped: {(self.folder / '.server.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("JupyterLab did not start within 120 s")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/lab/tree/{name}?token={self.token}"


@pytest.fixture(scope="module")
def browser():
    if not pathlib.Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: pip install -e '.[dev]'")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def lab(tmp_path):
    from textbook_core.widgets import lab_settings

    if not lab_settings.installed():
        pytest.fail(f"JupyterLab of {sys.prefix} does not save widget state: run "
                    f"`{sys.executable} -m textbook_core.widgets.lab_settings` (the Makefile does)")
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    server = Lab(tmp_path)
    server.start()
    yield server
    server.stop()


def _open(browser, lab):
    """The notebook open in a new page, its kernel idle (picking Python 3 if JupyterLab asks)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1800})
    page.goto(lab.url(NOTEBOOK.name))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    status = page.locator(".jp-StatusBar-Widget", has_text="Python 3 (ipykernel) | Idle")
    deadline = time.monotonic() + 180
    while not status.count():
        dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
        if dialog.count():                    # a slow start can ask which kernel: a person says Python 3
            dialog.get_by_role("button", name="Select").click()
        if time.monotonic() > deadline:
            raise AssertionError("the notebook's kernel did not become idle within 180 s")
        page.wait_for_timeout(250)
    return page


def _shot(page, locator, name):
    ARTIFACTS.mkdir(exist_ok=True)
    locator.scroll_into_view_if_needed()
    path = ARTIFACTS / name
    locator.screenshot(path=path)
    return path


@pytest.fixture
def pages(browser):
    """New browser pages; each open page is photographed when the test fails."""
    opened = []

    def new(lab):
        page = _open(browser, lab)
        opened.append(page)
        return page

    yield new
    for k, page in enumerate(opened):
        if not page.is_closed():
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"demo_last_page_{k}.png", full_page=True)
            page.close()


def test_demo_runs_redraws_and_survives_save_and_reopen(pages, lab):
    page = pages(lab)
    page.get_by_role("menuitem", name="Run").first.click()
    page.get_by_text("Run All Cells", exact=True).click()
    demo = page.locator(".tc-demo")
    picture = demo.locator("svg.tc-demo-picture")
    picture.wait_for(timeout=180_000)
    print("\nlive demo:", _shot(page, demo, "demo_live.png"))
    assert not demo.locator(".tc-rerun").is_visible()                  # live: no banner
    assert picture.evaluate(OVERLAPS_JS) == []
    assert picture.locator("text.title").all_text_contents()[-1] == "z13,13 = 0"   # the last of 13x13, from 1
    assert page.locator(".jp-OutputArea-output", has_text="Error displaying widget").count() == 0

    # clicks on pixels, timed in the page from the click to the new picture in the document
    buttons = demo.locator(".tc-pixels .widget-toggle-button")
    holder = picture.locator("xpath=..")
    times = [buttons.nth(k).evaluate(CLICK_TO_PICTURE_JS, holder.element_handle()) for k in (16, 32, 48, 64, 0)]
    print(f"click on a pixel -> new picture in the page: {sorted(times)[2]:.0f} ms median of {len(times)} "
          f"({', '.join(f'{t:.0f}' for t in times)})")
    picture = demo.locator("svg.tc-demo-picture")
    assert picture.locator('g[data-panel="input"] text.cell[data-i="0"][data-j="0"]').text_content() == "1"
    assert picture.locator('g[data-panel="input"] text.cell[data-i="1"][data-j="1"]').text_content() == "1"

    # a kernel that does not fit the 5x5 image of E8.4: one error, said once, and no output drawn
    demo.locator("select").first.select_option(label="E8.4 image")
    page.wait_for_function("() => document.querySelectorAll('.tc-demo g[data-panel=input] text.cell').length == 25",
                           timeout=60_000)
    demo.locator(".widget-slider .noUi-handle").first.focus()
    page.keyboard.press("End")                                       # rows r = 7 > 5
    page.wait_for_function("() => document.querySelector('.tc-demo').innerText.includes('does not fit')",
                           timeout=60_000)
    assert demo.inner_text().count("does not fit") == 1
    assert demo.get_by_text("No output: kernel r=7 does not fit input").count() == 1
    assert picture.locator('g[data-panel="output"]').count() == 0
    print("kernel that does not fit:", _shot(page, demo, "demo_does_not_fit.png"))
    page.keyboard.press("Home")                                      # rows r = 1: fits again
    page.wait_for_function("() => !document.querySelector('.tc-demo').innerText.includes('does not fit')",
                           timeout=60_000)
    demo.locator("select").first.select_option(label="diamond (Figure 8.4)")
    page.wait_for_function("() => document.querySelectorAll('.tc-demo g[data-panel=input] text.cell').length == 225",
                           timeout=60_000)
    demo.locator(".tc-pixels .widget-toggle-button").first.click()   # p_{1,1} on again: a new diamond
    page.wait_for_function("() => document.querySelector("
                           "'.tc-demo g[data-panel=input] text.cell[data-i=\"0\"][data-j=\"0\"]').textContent == '1'",
                           timeout=60_000)

    # save, stop the server, start a new one, reopen: the saved picture, the hint, no error
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')", timeout=60_000)
    saved = json.loads((lab.folder / NOTEBOOK.name).read_text())
    state = json.dumps(saved["metadata"]["widgets"][WIDGET_STATE]["state"])
    assert "tc-demo-picture" in state
    page.close()
    lab.stop()
    lab.start()
    page = pages(lab)
    picture = page.locator(".tc-demo svg.tc-demo-picture")
    picture.wait_for(timeout=120_000)
    print("reopened:", _shot(page, page.locator(".tc-demo"), "demo_reopened.png"))
    assert picture.locator('g[data-panel="input"] text.cell[data-i="0"][data-j="0"]').text_content() == "1"
    banner = page.locator(".tc-demo .tc-rerun")
    assert banner.is_visible() and banner.text_content().startswith("▶ Run this cell to start the demo.")
    assert not page.locator(".tc-demo .tc-controls").is_visible()       # no dead controls
    page.wait_for_timeout(2000)                   # let every output render, then look for errors
    assert page.locator(".jp-OutputArea-output", has_text="Error displaying widget").count() == 0
