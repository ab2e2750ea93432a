"""The walkthrough notebooks (notebooks/*.ipynb, one per section of the chapter): committed without
outputs, drawing nothing themselves, and executing headless top to bottom with their figures, all
five within two minutes of their kernels' CPU time (CPU, not wall-clock, so a busy machine cannot
fail the test)."""
import base64
import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
FOLDER = ROOT / "notebooks"

SECTIONS = {          # notebook -> (section of the chapter, the least number of PNG figures)
    "01_why_convolution.ipynb": ("Why Use Convolution?", 7),
    "02_details.ipynb": ("Details of the Convolution Operation", 6),
    "03_template_matching.ipynb": ("Template Matching", 5),
    "04_hierarchy.ipynb": ("Hierarchical Template Matching", 9),
    "05_gradient.ipynb": ("Gradient Calculation", 2),
}
BUDGET_SECONDS = 120          # CPU seconds of the five kernels together
CPU_MARK = "walkthrough kernel CPU seconds:"
CPU_CELL = ("import resource as _r\n_u = _r.getrusage(_r.RUSAGE_SELF)\n"
            f"print({CPU_MARK!r}, _u.ru_utime + _u.ru_stime)")

# Figure code belongs in textbook_core.plotting; a notebook only calls it.
FIGURE_CODE = re.compile(r"\bplt\.|pyplot|imshow|matshow|subplots?\(|add_subplot|savefig|\.plot\(|"
                         r"\bFigure\(|\bax\.|\baxes\[|FuncAnimation")


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_one_walkthrough_per_section():
    assert sorted(p.name for p in FOLDER.glob("*.ipynb")) == sorted(SECTIONS)


@pytest.mark.parametrize("name", SECTIONS)
def test_committed_without_outputs(name):
    book = nbformat.read(FOLDER / name, as_version=4)
    nbformat.validate(book)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: strip the outputs"
    assert book.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("name", SECTIONS)
def test_figures_come_from_plotting(name):
    sources = [c.source for c in code_cells(FOLDER / name)]
    for source in sources:
        assert not FIGURE_CODE.search(source), f"{name} draws a figure itself:\n{source}"
    assert sum("plotting." in s for s in sources) >= 2


@pytest.fixture(scope="module")
def executed():
    """Every walkthrough executed headless once: name -> (notebook, kernel CPU seconds, error or None).

    A last cell, added to the copy that runs, prints the kernel's CPU time and is removed again.
    """
    results = {}
    for name in SECTIONS:
        book = nbformat.read(FOLDER / name, as_version=4)
        book.cells.append(nbformat.v4.new_code_cell(CPU_CELL))
        client = NotebookClient(book, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(FOLDER)}})
        try:
            client.execute()
            error = None
        except Exception as err:          # reported by the test of that notebook
            error = err
        last = book.cells.pop()
        text = "".join(o.get("text", "") for o in last.get("outputs", []))
        seconds = float(text.split(CPU_MARK)[1]) if CPU_MARK in text else float("nan")
        results[name] = (book, seconds, error)
    return results


def outputs(book):
    return [o for c in book.cells if c.cell_type == "code" for o in c.outputs]


@pytest.mark.parametrize("name", SECTIONS)
def test_runs_top_to_bottom_and_draws_its_figures(executed, name):
    book, seconds, error = executed[name]
    assert error is None, f"{name} failed:\n{error}"
    pngs = [o["data"]["image/png"] for o in outputs(book) if "image/png" in o.get("data", {})]
    assert len(pngs) >= SECTIONS[name][1]
    for png in pngs:
        raw = base64.b64decode(png)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 2000
    stderr = [o["text"] for o in outputs(book) if o.get("name") == "stderr"]
    assert stderr == [], f"{name} wrote to stderr: {stderr}"


def test_all_walkthroughs_run_within_two_minutes_of_cpu(executed):
    times = {name: round(seconds, 1) for name, (_, seconds, _) in executed.items()}
    assert sum(times.values()) < BUDGET_SECONDS, times        # NaN (no CPU time read) fails too


def test_details_animates_the_slides_example(executed):
    book = executed["02_details.ipynb"][0]
    html = [o["data"]["text/html"] for o in outputs(book) if "text/html" in o.get("data", {})]
    assert len(html) == 1 and html[0].count("data:image/png;base64") == 25


def test_template_matching_shows_the_demo_with_a_static_fallback(executed):
    book = executed["03_template_matching.ipynb"][0]
    demo = [o["data"] for o in outputs(book)
            if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(demo) == 1 and demo[0]["image/svg+xml"].startswith("<svg")
    assert "\nz_{13,13} = " in demo[0]["text/plain"]          # the last of 13x13 outputs, from 1


def test_hierarchy_trains_the_network(executed):
    book = executed["04_hierarchy.ipynb"][0]
    text = "".join(o["text"] for o in outputs(book) if o.get("name") == "stdout")
    accuracy = float(re.search(r"accuracy on 300 new shapes: ([\d.]+)%", text).group(1))
    assert accuracy >= 95


def test_gradient_renders_derivations_that_hold(executed):
    book = executed["05_gradient.ipynb"][0]
    markdown = [o["data"]["text/markdown"] for o in outputs(book) if "text/markdown" in o.get("data", {})]
    labels = re.findall(r"\*\*\(([^)]+)\)\*\*", "".join(markdown))
    for label in ("8.35", "8.37", "8.45", "8.48", "8.53", "P8.3", "E8.8"):
        assert label in labels
    assert "".join(markdown).count("✓ holds") == len(labels) and "✗" not in "".join(markdown)
