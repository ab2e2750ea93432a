"""Grading a notebook without trusting it: student code in the sandbox, tests in the grader.

nbgrader's usual way runs the hidden tests inside the student's kernel, where the student's code
can replace ``numpy.allclose``, hide cells with an input transformer or skip them with a tag. Here
(`run_notebook`, the `autograder.execute.Executor`'s runner) the two never share a process:

1. The student's cells (setup, answers, their own cells) run in order in a sandboxed
   `autograder.worker` (`autograder.sandbox`), which records their outputs. A cell that runs
   over its time limit, ends the process or floods the output is stopped; the process is then
   started again and the cells before it replayed, so one bad cell costs only what depends on it.
2. Every test cell (visible and hidden) is run by the grader instead, at its place in the
   notebook, with the instructor's source from the gradebook (never the submitted copy). Its free
   names are read from the student's process as plain data (`autograder.wire`); a function comes
   back as a `RemoteFunction` that calls the student's code in the sandbox on the grader's probes
   and returns plain data. The test itself runs in a child of the grader's process (fork), with
   the grader's numpy, textbook_core and checks, a time limit and a memory limit, and its outcome
   becomes the cell's output (an error output fails the cell, as nbgrader expects).
3. A function that hands its work to the library's own answer scores 0 on the parts whose hidden
   test names that answer in ``forbidden=``: seen in the source (`LibraryUse`: the function and
   every function of the student it uses, through aliases, imports and ``getattr`` strings) or at
   run time (the sandbox's tripwires, `autograder.course.REFERENCE_ANSWERS`).
4. When the grader cannot decide (its own check ran out of time or memory on the student's
   data), the cell scores 0 for now and is flagged for a manual grade, with the reason
   (`autograder.intake.FlagForManualGrading`).

The stateless grading job (`autograder.job`) runs this through nbgrader's own steps, with the
instructor's cells from its grading bundle instead of the gradebook (``resources["autograder"]["cells"]``).

The stages have their own modules: `autograder.notebook_run` (steps 1-4 for one notebook),
`autograder.student_values` (the student's values in the grader), `autograder.check_process`
(a test cell's check in a forked child) and `autograder.grader_memory` (what grading costs the
grader's memory).
"""
import copy
import os
import tempfile
from dataclasses import asdict

import nbformat

from .course import Limits
from .grader_memory import memory, record_memory, reset_peak
from .handoff import LibraryUse
from .intake import note
from .notebook_run import NotebookRun, grader_namespace
from .sandbox import Sandbox

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"



# ---------------------------------------------------------------------------------------------
# What the gradebook says about a notebook
# ---------------------------------------------------------------------------------------------

def gradebook_cells(db_url, assignment, notebook):
    """``(sources, grade_cells)``: instructor sources by grade id, and the grade ids of test cells."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        nb = gb.find_notebook(notebook, assignment)
        sources = {c.name: (c.cell_type, c.source, bool(c.locked)) for c in nb.source_cells}
        solutions = {c.name for c in nb.solution_cells}
        tests = {c.name for c in nb.grade_cells if c.cell_type == "code" and c.name not in solutions}
    return sources, tests


def strip_hidden(source):
    """A test cell's source as the student sees it: the hidden region cut out."""
    kept, hidden = [], False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            hidden = True
        elif HIDDEN_END in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def _meta(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_notebook(nb, resources, limits, release=None):
    """Steps 1-4 for the sanitized notebook `nb`.

    Returns plain data: ``{"outputs": {index: [...]}, "manual": {grade_id: reason}, "seeds":
    {grade_id: [seed, ...]}, "calls": {index: [...]}, "notes": [...], "restarts", "sent_bytes",
    "dropped_bytes", "sandbox": {...}, "grader_memory": {...}}``: the outputs and manual flags go
    into the graded notebook (`apply_results`); the seeds are those each test cell's random
    probes came from (`checks.random_seed`), so that a regrade or an instructor can replay them;
    ``calls`` are the library functions each cell entered (a test cell: while its values were
    read and its probes ran); ``grader_memory`` is this process's resident memory when the
    notebook started and its peak while it was graded (MiB).
    """
    reset_peak()
    start = memory()
    info = resources["nbgrader"]
    given = resources.get("autograder", {}).get("cells")   # a stateless job's cells, from its bundle
    sources, tests = given if given else gradebook_cells(info["db_url"], info["assignment"], info["notebook"])
    is_test = [c.cell_type == "code" and _meta(c).get("grade") and not _meta(c).get("solution")
               and _meta(c).get("grade_id") in tests for c in nb.cells]
    setup = [sources[_meta(c)["grade_id"]][1] for c, test in zip(nb.cells, is_test)
             if c.cell_type == "code" and not test and _meta(c).get("locked") and _meta(c).get("grade_id") in sources]
    student_view = copy.deepcopy(nb)
    for cell, test in zip(student_view.cells, is_test):
        if test:
            cell.source = strip_hidden(sources[_meta(cell)["grade_id"]][1])
    use = LibraryUse([c.source for c, test in zip(nb.cells, is_test) if c.cell_type == "code" and not test])
    namespace = grader_namespace(setup)
    results = {"outputs": {}, "manual": {}, "calls": {}}
    with tempfile.TemporaryDirectory(prefix="autograder-nb-") as tmp:
        path = os.path.join(tmp, f"{info['notebook']}.ipynb")
        with open(path, "w", encoding="utf-8") as fh:
            nbformat.write(student_view, fh)
        os.chmod(tmp, 0o755)
        os.chmod(path, 0o644)
        release_folder = os.path.join(release, info["assignment"]) if release else None
        sandbox = Sandbox(limits, release_folder)
        run = NotebookRun(sandbox, [(path, f"{info['notebook']}.ipynb")], limits, use,
                          (info["assignment"], info["student"]))
        try:
            for index, (cell, test) in enumerate(zip(nb.cells, is_test)):
                if cell.cell_type != "code":
                    continue
                if test:
                    grade_id = _meta(cell)["grade_id"]
                    outputs, manual = run.run_test_cell(grade_id, sources[grade_id][1], dict(namespace))
                    if manual:
                        results["manual"][grade_id] = manual
                else:
                    outputs = run.run_student_cell(cell.source, _meta(cell).get("grade_id"))
                results["outputs"][index] = outputs
                results["calls"][index] = run.calls
        finally:
            run.close()
    results.update(restarts=run.restarts, seeds=run.seeds, notes=run.notes, sent_bytes=run.budget.used,
                   dropped_bytes=run.budget.dropped, sandbox=sandbox.describe(),
                   grader_memory={"start_mb": start.get("rss_mb"), "peak_mb": memory().get("peak_mb")})
    return results


def apply_results(nb, resources, results):
    """Put `results` (from `grade_notebook`) into `nb` and the manual flags into `resources`."""
    count = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        count += 1
        cell.outputs = [nbformat.from_dict(o) for o in results["outputs"].get(index, [])]
        for output in cell.outputs:
            if output.get("output_type") == "execute_result":
                output["execution_count"] = count
        cell.execution_count = count
        seeds = results.get("seeds", {}).get(_meta(cell).get("grade_id"))
        if seeds:   # for a replay: `checks.grading_context(seeds=...)`
            cell.metadata.setdefault("autograder", {})["seeds"] = list(seeds)
    resources.setdefault("autograder", {})["seeds"] = dict(results.get("seeds", {}))
    flags = resources["autograder"].setdefault("manual", {})
    for grade_id, reason in results["manual"].items():
        flags[grade_id] = reason
        note(resources, f"{grade_id} needs a manual grade: {reason}")
    for message in results.get("notes", []):
        note(resources, message)
    record_memory(resources, results)
    return nb, resources


def limits_of(executor):
    """The `Limits` configured on the `Executor` (``c.Executor.limits``), defaults otherwise."""
    values = dict(getattr(executor, "limits", {}) or {})
    known = set(asdict(Limits()))
    return Limits(**{k: v for k, v in values.items() if k in known})


def run_notebook(executor, nb, resources):
    """The `Executor` runner: grade `nb` as described above."""
    results = grade_notebook(nb, resources, limits_of(executor), getattr(executor, "release_directory", None))
    return apply_results(nb, resources, results)
