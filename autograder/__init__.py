"""The Chapter 8 course machinery: nbgrader assignment ch08 (E8.1-E8.10), grading and feedback.

- `autograder.checks`: the grading helpers that every exercise notebook imports;
- `autograder.course`: the nbgrader course configuration, weak defaults set right;
- `autograder.execute`: the one function that runs a notebook's code (a sandbox replaces it);
- `autograder.pipeline`: build the release, validate, grade submissions, feedback, CSV export;
- `autograder.samples`: sample submissions generated from the solutions (blank, typical mistakes);
- ``python -m autograder``: the command line (see ``python -m autograder --help``).

Only `checks` is imported by student notebooks; it needs numpy and textbook_core, not nbgrader.
"""
