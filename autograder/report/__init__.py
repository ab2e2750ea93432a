"""What a person sees of a graded submission: inert graded notebooks and feedback pages.

The stage "report" of the grader (STYLE.md): plain data in, HTML out, nothing a student wrote
ever live in it.

- `sanitize_notebook` (`autograder.report.notebook`): a graded notebook made inert before it is
  written (formgrader shows it) or turned into a page; `SanitizeGraded` is the same step as an
  nbgrader preprocessor. Its HTML policy is `sanitize_html` (`autograder.report.clean`, nh3);
- `write_feedback` (`autograder.report.page`): one notebook's feedback page, rendered within CPU
  and memory limits (`autograder.report.limited`), with a plain-text page when that fails
  (`FeedbackError` is raised then, for the caller to note and go on);
- `finish` (`autograder.report.finish`): after grading by hand, every page again and the CSV
  (the per-notebook loop is `autograder.pipeline.feedback`, which calls `write_feedback`);
- `active_content` (`autograder.report.audit`): what in a page could run, for tests and checks.
"""
from .audit import active_content
from .clean import sanitize_html
from .finish import finish
from .limited import FeedbackLimits
from .notebook import SanitizeGraded, sanitize_notebook
from .page import FeedbackError, FeedbackExporter, PendingGrades, write_feedback

__all__ = ["FeedbackError", "FeedbackExporter", "FeedbackLimits", "PendingGrades", "SanitizeGraded",
           "active_content", "finish", "sanitize_html", "sanitize_notebook", "write_feedback"]
