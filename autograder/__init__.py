"""The Chapter 8 course machinery: nbgrader assignment ch08 (E8.1-E8.10), grading and feedback.

- `autograder.checks`: the grading helpers that every exercise notebook imports;
- `autograder.course`: the nbgrader course configuration, weak defaults set right;
- `autograder.execute`: nbgrader's execute step, whose runner is the sandboxed grader;
- `autograder.grading`: student cells in the sandbox, every test cell in the grader on plain data;
- `autograder.sandbox`: bubblewrap, rlimits and seccomp around one student process per notebook;
- `autograder.worker`, `autograder.wire`: that process's side, and the plain-data frames between;
- `autograder.intake`: any submitted file read safely and put back in the release's shape;
- `autograder.pipeline`: build the release, validate, grade submissions, feedback, CSV export;
- `autograder.samples`: sample submissions generated from the solutions (blank, typical mistakes);
- `autograder.attacks`: the attack corpus, generated from the solutions, and its report;
- `autograder.edition`: the student edition, the library without the answers and the notebooks;
- ``python -m autograder``: the command line (see ``python -m autograder --help``).

Only `checks` is imported by student notebooks; it needs numpy and textbook_core, not nbgrader.
The sandbox holds `checks`, `wire` and `worker` only.
"""
