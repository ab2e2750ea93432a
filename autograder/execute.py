"""The one place where a submitted notebook's code runs, and what the feedback may show of it.

During autograding nbgrader calls `Executor`, which `autograder.course.configure` puts in place
of nbgrader's own ``Execute``; it hands the notebook to its ``runner`` function, which receives
the preprocessor (with its timeout, secret skip tag, kernel arguments, `Executor.limits` and
`Executor.release_directory`) and must return ``(nb, resources)`` with the outputs filled in.

- ``autograder.grading.run_notebook`` (the default): student code in the bubblewrap sandbox,
  every test cell run by the grader on plain data (see `autograder.grading`);
- `run_notebook` here: nbgrader's own execution, every cell in one ordinary kernel with the
  instructor's rights. It is kept for the instructor's trusted notebooks and as the baseline of
  ``bench/grading_throughput.py``; never grade students with it (``c.Executor.runner =
  "autograder.execute.run_notebook"``).

`HideHiddenTests` cuts the hidden tests out of the graded notebook before it becomes feedback
HTML, leaving a line that says how many points the cell gave.
"""
import subprocess

from nbgrader.preprocessors import ClearHiddenTests, Execute
from traitlets import Dict, Unicode
from traitlets.utils.importstring import import_item


def run_notebook(executor, nb, resources):
    """Run every cell of `nb` in one ordinary kernel with the settings of `executor` (unsandboxed)."""
    return Execute.preprocess(executor, nb, resources)


class Executor(Execute):
    """nbgrader's Execute preprocessor, running the notebook through a replaceable function."""

    runner = Unicode("autograder.grading.run_notebook",
                     help="Import path of the function (executor, nb, resources) -> (nb, resources) "
                          "that runs the notebook.").tag(config=True)
    limits = Dict({}, help="Fields of autograder.course.Limits (time, memory, output limits).").tag(config=True)
    release_directory = Unicode("", help="Parent folder of the release, shown to the sandbox read-only."
                                ).tag(config=True)

    def preprocess(self, nb, resources, km=None):
        return import_item(self.runner)(self, nb, resources)

    async def async_start_new_kernel(self, **kwargs):
        # The kernel's own stderr (start-up chatter) is not the student's output: cell outputs
        # and errors come over the kernel protocol and are kept.
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        return await super().async_start_new_kernel(**kwargs)


class HideHiddenTests(ClearHiddenTests):
    """Feedback: replace each hidden-test region by a one-line note (the outputs stay)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and self.begin_test_delimeter in cell.source:
            lines, kept, hidden = cell.source.split("\n"), [], False
            for line in lines:
                if self.begin_test_delimeter in line:
                    hidden = True
                    kept.append("# (hidden tests: not shown; their result is below)")
                elif self.end_test_delimeter in line:
                    hidden = False
                elif not hidden:
                    kept.append(line)
            cell.source = "\n".join(kept)
        return cell, resources
