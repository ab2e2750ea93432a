"""What recording library calls costs honest grading (autograder/recorder.py), measured in one run.

The sandboxed worker runs every student cell of the ten solution notebooks, then calls E8.8's
``max_pool_da`` on 200 probes, once with the recorder as graded and once with it switched off
(its ``start`` made a no-op in the sandbox's library copy), alternately, three rounds. The
worker's own CPU seconds (the ``cpu`` of its replies) are compared, so the ratio does not depend
on what else the machine is doing.

    .venv/bin/python -m bench.recorder
"""
import statistics
from pathlib import Path

import numpy as np

from autograder import samples, tripwires
from autograder.course import NOTEBOOKS, REPO, Limits
from autograder.sandbox import Sandbox

_BUILD = tripwires.build_library


def _without_recorder(target):
    folder = _BUILD(target)
    path = Path(folder) / "autograder" / "recorder.py"
    text = path.read_text(encoding="utf-8")
    marker = '        """Begin a record (the previous one is dropped)."""'
    assert marker in text, "the recorder's start() changed: update bench/recorder.py"
    path.write_text(text.replace(marker, marker + "\n        return"), encoding="utf-8")
    return folder


def _student_cells(notebook):
    cells = samples.solution_notebook(notebook)["cells"]
    return [samples._source(c) for c in cells if c["cell_type"] == "code" and not
            (c["metadata"].get("nbgrader", {}).get("grade") and not c["metadata"]["nbgrader"].get("solution"))]


def measure(recording):
    """``(CPU seconds of the cells, CPU seconds of 200 probe calls)`` in fresh sandboxes."""
    tripwires._LIBRARY.clear()
    tripwires.build_library = _BUILD if recording else _without_recorder
    try:
        box = Sandbox(Limits(cell_timeout=120), REPO / "notebooks" / "ch08")
        cells = 0.0
        for notebook in NOTEBOOKS:
            with box.start() as session:
                session.run("pass", 10)
                start = session.last["cpu"]
                for source in _student_cells(notebook):
                    session.run(source, 120)
                cells += session.last["cpu"] - start
                if notebook == "e8_08":
                    handle = session.get({"max_pool_da"}, 10)["max_pool_da"].handle
                    rng = np.random.default_rng(0)
                    start = session.last["cpu"]
                    for _ in range(200):
                        A = rng.random((2, 6, 6))
                        session.call(handle, (rng.random((2, 3, 3)), A, 2), {}, 10)
                    calls = session.last["cpu"] - start
        return cells, calls
    finally:
        tripwires.build_library = _BUILD
        tripwires._LIBRARY.clear()


def main():
    rows = {True: [], False: []}
    for _ in range(3):
        for recording in (True, False):
            rows[recording].append(measure(recording))
    for index, what in enumerate(("student cells of the ten solutions", "200 calls of E8.8's max_pool_da")):
        on = statistics.median(r[index] for r in rows[True])
        off = statistics.median(r[index] for r in rows[False])
        print(f"{what}: {on:.3f} s CPU recorded, {off:.3f} s not recorded, ratio {on / off:.2f}")


if __name__ == "__main__":
    main()
