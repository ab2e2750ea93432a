"""nbgrader settings of the Chapter 8 course: run ``nbgrader`` commands from this folder.

Every setting lives in `autograder.course.configure`, shared with ``python -m autograder``:
the repository is nbgrader's root, ``solutions/`` the source, ``notebooks/`` the release, and
``course/`` holds submitted/, autograded/, feedback/ and the SQLite gradebook ``gradebook.db``.
"""
from autograder.course import configure

configure(get_config())  # noqa: F821 -- traitlets provides get_config() in config files
