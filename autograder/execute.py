"""The one place where a submitted notebook's code runs, and what the feedback may show of it.

`run_notebook` executes a notebook in a fresh kernel (one kernel per notebook, cells in order,
errors recorded and the run going on). During autograding nbgrader calls it through `Executor`,
which `autograder.course.configure` puts in place of nbgrader's own ``Execute``. To run student
code in a sandbox, replace `run_notebook` (``Executor.runner`` names it, so a config line
``c.Executor.runner = "mypackage.run_in_sandbox"`` is enough): it receives the preprocessor, with
its timeout, secret skip tag and kernel arguments, and must return ``(nb, resources)`` with the
outputs filled in.

`HideHiddenTests` cuts the hidden tests out of the graded notebook before it becomes feedback
HTML, leaving a line that says how many points the cell gave.
"""
import subprocess

from nbgrader.preprocessors import ClearHiddenTests, Execute
from traitlets import Unicode
from traitlets.utils.importstring import import_item


def run_notebook(executor, nb, resources):
    """Run every cell of `nb` in one kernel with the settings of `executor` (an `Executor`)."""
    return Execute.preprocess(executor, nb, resources)


class Executor(Execute):
    """nbgrader's Execute preprocessor, running the notebook through a replaceable function."""

    runner = Unicode("autograder.execute.run_notebook",
                     help="Import path of the function (executor, nb, resources) -> (nb, resources) "
                          "that runs the notebook.").tag(config=True)

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
