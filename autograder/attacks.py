"""The attack corpus: what a student might submit to cheat, hang the grader or harm the gradebook.

Each `Attack` is generated from the solution notebooks by code (never a hand-copied notebook): a
small documented edit of one notebook (code appended to an answer cell, a tag, changed metadata,
a deleted cell), or of the file itself (bytes that are not JSON, a wrong name, a huge file).
The attacked submission holds the edited notebook and, for file-level attacks, one honest
notebook next to it. ``targets`` are the grade cells the attack aims at: each must score 0 or be
flagged for a manual grade; every other grade cell of the submission must score exactly what
the solution scores ("the honest parts keep their points"). ``targets = ALL`` means every grade
cell of the attacked notebook.

``kind`` is "cheat" (earns points out of the box with nbgrader: the issue's four cheats and
their cousins), "rule" (hands a function to the library's answer), "harm" (reaches for the
course files, the gradebook, the network), "robust" (what real submissions do: deleted,
edited, duplicated, renamed cells, bad files, endless loops, crashes), and, aimed at what
surrounds the sandbox (`autograder.attack_hostile`), "grader" (replies and metadata the grader
must read without harm), "inbox" (links, pipes, a student's own timestamp), "browser" (script
for the instructor's browser), "resource" (memory outside the address space, CPU, threads,
output floods) and "rubric" (answers of the wrong kind that used to score).

Besides the points, `judge` checks for every attack that the grading process's memory grew by
at most `autograder.grader_memory.GRADER_MEMORY_MB` while it graded the attacked notebooks, and runs
the attack's own ``verify``. Attacks whose files are links are collected one by one, so that a
collect that fails on one costs only that one.

``python -m autograder attacks`` grades the whole corpus and prints the report;
``tests/test_attacks.py`` checks every line of it.
"""
import json
import os
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from . import samples
from .attack_corpus import CLASSIC
from .attack_hostile import HOSTILE
from .attack_kit import ALL, LINK_TARGETS, MARKER, SCRIPT_MARKER, Attack   # noqa: F401 (the corpus's names)
from .course import Course, Limits

LIMITS = Limits(cell_timeout=5, call_timeout=2, notebook_timeout=120, notebook_mb=2)
"""Limits the corpus is graded with: short time limits (endless loops cost 5 s, not 60) and a
2 MB notebook limit (the huge file is 3 MB)."""

ATTACKS = CLASSIC + HOSTILE
"""Every attack, in report order."""
ATTACKS_BY_NAME = {a.name: a for a in ATTACKS}


def student_id(attack):
    return f"attack-{attack.name}"


def write(attacks, folder, course=Course(), honest=True, honest_folder=None):
    """Write each attack's submission to ``<folder>/attack-<name>/`` (and the honest solution).

    Links point at the instructor's solution, at ``/proc/self/mem`` or at the honest student's
    folder (``honest_folder``, by default the one written here).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if honest:
        samples.write([samples.Student("honest")], folder, course)
    honest_folder = Path(honest_folder or folder / "honest").resolve()
    for attack in attacks:
        target = folder / student_id(attack)
        if any(kind == "folder" for _, kind in attack.links):
            target.symlink_to(honest_folder, target_is_directory=True)
            continue
        target.mkdir(parents=True, exist_ok=True)
        for name, data in attack.files(course).items():
            (target / name).write_bytes(data)
        for name, kind in attack.links:
            if kind == "fifo":
                os.mkfifo(target / name)
            else:
                (target / name).symlink_to({"proc-mem": Path("/proc/self/mem"),
                                            "solution": course.path("source") / "ch08" / name,
                                            "other-student": honest_folder / name}[kind])
    return folder


# ---------------------------------------------------------------------------------------------
# Grading the corpus and the report
# ---------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one attack got: points on its targets and on the honest parts, and what went wrong."""

    attack: Attack
    target_points: float = 0.0
    target_max: float = 0.0
    flagged: tuple = ()
    honest_points: float = 0.0
    honest_max: float = 0.0
    problems: list = field(default_factory=list)

    @property
    def passed(self):
        return not self.problems


def grade_ids(notebook, course=Course()):
    """The grade cells of `notebook` in the release."""
    nb = samples.blank_notebook(notebook, course)
    return [samples._grade_id(c) for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def judge(attack, scores, solution, notes, course=Course(), student=None):
    """Check one attack's cell scores against the rules; returns its `Outcome`.

    With `student`, also the grader's memory while it graded the attack's notebooks and the
    attack's own ``verify``.
    """
    from .grader_memory import GRADER_MEMORY_MB, MEMORY

    outcome = Outcome(attack)
    targets = set(grade_ids(attack.notebook, course)) if attack.targets == ALL else set(attack.targets)
    unknown = targets - set(grade_ids(attack.notebook, course))
    if unknown:
        outcome.problems.append(f"targets not in {attack.notebook}: {sorted(unknown)}")
    flagged = []
    for notebook in attack.graded_notebooks:
        for grade_id in grade_ids(notebook, course):
            got, expected = scores.get(grade_id), solution.get(grade_id)
            if got is None or expected is None:
                outcome.problems.append(f"{grade_id}: no grade in the gradebook")
                continue
            score, max_score, manual = got
            if grade_id in targets:
                outcome.target_points += score
                outcome.target_max += max_score
                if manual:
                    flagged.append(grade_id)
                    if not attack.manual:
                        outcome.problems.append(f"{grade_id}: flagged for a manual grade, expected 0")
                elif score != 0:
                    outcome.problems.append(f"{grade_id}: targeted, but scored {score:g}/{max_score:g}")
                elif attack.manual:
                    outcome.problems.append(f"{grade_id}: scored 0 but the attack should be flagged")
            else:
                outcome.honest_points += score if not expected[2] else 0
                outcome.honest_max += expected[0] if not expected[2] else 0
                if got != expected:
                    outcome.problems.append(f"{grade_id}: honest part scored {got}, the solution {expected}")
    outcome.flagged = tuple(flagged)
    if student is not None:
        for notebook in attack.graded_notebooks:
            memory = MEMORY.get((student, notebook), {})
            if memory.get("peak_mb") and memory["peak_mb"] - memory["start_mb"] > GRADER_MEMORY_MB:
                outcome.problems.append(f"{notebook}: the grading process grew by "
                                        f"{memory['peak_mb'] - memory['start_mb']:.0f} MB, over {GRADER_MEMORY_MB} MB")
        if attack.verify is not None:
            outcome.problems.extend(attack.verify(course, student))
    if attack.expect_note and not any(attack.expect_note in n for n in notes):
        outcome.problems.append(f"no note saying {attack.expect_note!r} (notes: {notes[:4]})")
    return outcome


def report(outcomes):
    """The attack report: one line per attack with the points it got."""
    width = max(len(o.attack.name) for o in outcomes) + 2
    head = (f"{'attack':<{width}}{'kind':<8}{'notebook':<10}{'targeted parts':>16}{'honest parts':>14}"
            f"  result")
    lines = [head, "-" * (len(head) + 30)]
    for o in outcomes:
        target = f"{o.target_points:g}/{o.target_max:g}" if o.target_max else "-"
        if o.flagged:
            target += " manual"
        honest = f"{o.honest_points:g}/{o.honest_max:g}" if o.honest_max else "-"
        result = "ok" if o.passed else "FAILED: " + "; ".join(o.problems)
        lines.append(f"{o.attack.name:<{width}}{o.attack.kind:<8}{o.attack.notebook:<10}{target:>16}"
                     f"{honest:>14}  {result}")
    passed = sum(o.passed for o in outcomes)
    lines.append(f"\n{passed} of {len(outcomes)} attacks handled: targeted parts 0 (or flagged 'manual' "
                 f"for the instructor), honest parts as the solution.")
    return "\n".join(lines)


def memory_report():
    """One line: the most the grading processes grew while grading one notebook, against the bound."""
    from .grader_memory import GRADER_MEMORY_MB, MEMORY

    if not MEMORY:
        return "grading memory: not measured"
    growth = {key: m["peak_mb"] - m["start_mb"] for key, m in MEMORY.items() if m.get("peak_mb")}
    (student, notebook), most = max(growth.items(), key=lambda item: item[1])
    sent = max(m.get("sent_bytes") or 0 for m in MEMORY.values())
    return (f"grading memory: at most {most:.0f} MB of growth per notebook ({student}/{notebook}; the bound is "
            f"{GRADER_MEMORY_MB} MB); the most a notebook's process sent: {sent / 2 ** 20:.0f} MB")


@dataclass
class CorpusRun:
    """`run`'s result: one `Outcome` per attack, the grading run, the honest student's grades
    before and after the attacks were graded, the attacks whose inbox could not be collected
    (``collect_failed``: ``{student: error}``) and the students graded."""

    outcomes: list
    grading: object
    honest_before: dict
    honest_after: dict
    collect_failed: dict = field(default_factory=dict)
    students: list = field(default_factory=list)

    @property
    def gradebook_intact(self):
        return self.honest_before == self.honest_after


def run(folder, course, attacks=ATTACKS, workers=2):
    """Grade `attacks` in `course`, after an honest student graded alone; returns a `CorpusRun`.

    The grading processes' memory per notebook is collected into `autograder.grader_memory.MEMORY`.
    """
    from . import grader_memory, pipeline

    folder = Path(folder)
    linked = [a for a in attacks if a.links]
    inbox = write([a for a in attacks if not a.links], folder, course)
    collected = pipeline.collect(inbox, course)
    failed = {}
    for attack in linked:   # one at a time: a collect that fails costs this attack only
        sid = student_id(attack)
        own = write([attack], folder.parent / f"{folder.name}-{attack.name}", course, honest=False,
                    honest_folder=inbox / "honest")
        try:
            more = pipeline.collect(own, course)
        except ValueError as error:   # nothing in this inbox could be collected: refused as a whole
            collected.refused[sid] = str(error)
            continue
        except Exception as error:   # noqa: BLE001 - the outcome says what went wrong
            failed[sid] = f"{type(error).__name__}: {error}"
            continue
        collected.extend(more)
        collected.problems.update(more.problems)
        collected.refused.update(getattr(more, "refused", {}))
    pipeline.grade(["honest"], course)
    solution = pipeline.cell_scores("honest", course)
    ids = [student_id(a) for a in attacks if student_id(a) in collected]
    log = folder.parent / f"{folder.name}-memory.jsonl"
    log.unlink(missing_ok=True)
    grader_memory.MEMORY.clear()
    os.environ[grader_memory.MEMORY_LOG] = str(log)
    try:
        graded = pipeline.grade(ids, course, workers=workers)
    finally:
        del os.environ[grader_memory.MEMORY_LOG]
    grader_memory.MEMORY.update(grader_memory.read_memory_log(log))
    outcomes = []
    for attack in attacks:
        sid = student_id(attack)
        notes = list(collected.problems.get(sid, [])) + graded.notes.get(sid, [])
        if sid in failed:
            outcomes.append(Outcome(attack, problems=[f"collecting the inbox failed: {failed[sid][-300:]}"]))
        elif sid not in collected:
            outcomes.append(_refused(attack, solution, course))
        elif sid in graded.failed and not _graded(sid, course):
            outcomes.append(Outcome(attack, problems=[f"grading failed: {graded.failed[sid][-300:]}"]))
        else:
            outcomes.append(judge(attack, pipeline.cell_scores(sid, course), solution, notes, course, sid))
    return CorpusRun(outcomes, graded, solution, pipeline.cell_scores("honest", course), failed, ids)


def _graded(student, course):
    """Whether `student` has grades in the gradebook (a failed notebook is graded 0 and flagged)."""
    from . import pipeline

    try:
        return bool(pipeline.cell_scores(student, course))
    except Exception:   # noqa: BLE001 - no submission
        return False


def _refused(attack, solution, course):
    """The outcome of an attack whose whole submission the inbox refused: 0 on everything."""
    outcome = Outcome(attack)
    outcome.target_max = sum(solution[g][1] for g in grade_ids(attack.notebook, course) if g in solution)
    if attack.targets != ALL or attack.honest:
        outcome.problems.append("the submission was refused, but the attack's honest parts should be graded")
    return outcome


# ---------------------------------------------------------------------------------------------
# Live script in a page
# ---------------------------------------------------------------------------------------------

class _Script(HTMLParser):
    URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "data", "srcdoc", "content")

    def __init__(self, marker):
        super().__init__(convert_charrefs=True)
        self.marker, self.found, self.in_script = marker, [], 0

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if self.marker not in value:
                continue
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            elif name in self.URL_ATTRIBUTES and (value.strip().lower().startswith("javascript:") or name == "srcdoc"
                                                  or "<script" in value.lower()):
                self.found.append(f"<{tag} {name}=...>")
        if tag == "script":
            self.in_script += 1

    def handle_endtag(self, tag):
        if tag == "script" and self.in_script:
            self.in_script -= 1

    def handle_data(self, data):
        if self.in_script and self.marker in data:
            self.found.append("<script> with the marker")


def live_script(html, marker=SCRIPT_MARKER):
    """Where `html` would run the attacks' script (``window.<marker> = 1``): a list, empty if nowhere.

    Script that shows as text is fine; a ``<script>`` element, an event handler, a
    ``javascript:`` URL or an ``srcdoc`` carrying the marker is not.

    >>> live_script('<p>&lt;script&gt;window.AUTOGRADER_PWNED = 1&lt;/script&gt;</p>')
    []
    >>> live_script('<img src="x" onerror="window.AUTOGRADER_PWNED = 1"><script>window.AUTOGRADER_PWNED = 1</script>')
    ['<img onerror=...>', '<script> with the marker']
    """
    parser = _Script(marker)
    parser.feed(html)
    parser.close()
    return parser.found
