"""``python -m autograder``: the instructor's command line for assignment ch08.

Commands (``python -m autograder COMMAND --help`` for the options):

  release     solutions/ch08 -> notebooks/ch08, the student release
  validate    every solution passes its tests, every released notebook fails them
  grade DIR   collect DIR/<student>/e8_XX.ipynb, autograde (here, --workers N, or --scheduler
              tcp://HOST:PORT for a Dask cluster), write feedback and the grade CSV
  bundle OUT  the grading bundle a stateless job needs (release, instructor cells, limits)
  job DIR     grade one student's folder against a bundle into one JSON result (--help)
  merge R...  merge job results into the gradebook (idempotent; the newest submission wins)
  gradescope OUT.zip   the Gradescope autograder (setup.sh, run_autograder, a wheel)
  samples DIR write the sample submissions (solution, blank, typical mistakes, 3 students)
  time        autograde the solution once and print the seconds for one full submission
  demo        the whole pipeline on the sample submissions, with the grade table
  attacks     grade the attack corpus (cheats, hand-offs, harm, broken files, runaway code) and
              print the points each attack got
  student-edition OUT
              the student edition in OUT: the library's wheel without the answers, the
              notebooks' zip and the handout
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

from . import pipeline, samples
from .course import ASSIGNMENT, NOTEBOOKS, REPO, Course
from .sandbox import SandboxUnavailable


def _course(args):
    return Course(work=Path(args.work).resolve()) if args.work else Course()


def _grade_all(course, students, csv, workers=1, problems=None, scheduler=None, tries=3, progress=False):
    """Grade, write the feedback and the CSV; a failure of one student's step stays with that student."""
    run = pipeline.grade(students, course, workers=workers, scheduler=scheduler, tries=tries, progress=progress)
    graded = [s for s in students if s in run.merged]
    pages = {}
    folder = pipeline.feedback(graded, course, failed=pages) if graded else None
    for student, messages in pages.items():
        run.notes.setdefault(student, []).extend(messages)
        run.failed.setdefault(student, "its feedback could not be written: " + "; ".join(messages))
    for student in students:
        lines = list((problems or {}).get(student, [])) + run.notes.get(student, [])
        if lines:
            print(f"-- {student}:\n" + "\n".join(f"   {line}" for line in lines), file=sys.stderr)
    for student, error in run.failed.items():
        print(f"!! {student} needs you: {error[-2000:]}\n   (the submission is kept in "
              f"{course.submitted(student)})", file=sys.stderr)
    path = pipeline.export(csv, course)
    return run, folder, path


def cmd_release(args):
    course = _course(args)
    paths = pipeline.build_release(course)
    print(f"released {len(paths)} notebooks to {paths[0].parent}")


def cmd_validate(args):
    problems = pipeline.validate(_course(args))
    for p in problems:
        print(p)
    print("validation:", "OK" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


def cmd_grade(args):
    from . import inbox

    course = _course(args)
    times = inbox.read_lms_times(args.times) if args.times else None
    students = pipeline.collect(args.submissions, course, times)
    print(f"collected {len(students)} submissions: {', '.join(students)}")
    run, folder, csv = _grade_all(course, students, args.csv or course.path("work") / "grades.csv",
                                  args.workers, students.problems, args.scheduler, args.tries, progress=True)
    for name, why in students.refused.items():
        print(f"!! {name} was not collected: {why}", file=sys.stderr)
    print(pipeline.format_table(pipeline.grade_table(course)))
    print(f"\nfeedback: {folder}\ngrades:   {csv}")
    failed = sorted(set(run.failed) | set(students.refused))
    if failed:
        print(f"\n{len(failed)} of {len(students) + len(students.refused)} submissions need you: "
              f"{', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def cmd_bundle(args):
    from . import bundle

    path = bundle.write(bundle.build(_course(args)), args.out)
    print(f"grading bundle written to {path}")


def cmd_job(args):
    from . import job

    return job.main(args.rest)


def cmd_merge(args):
    from . import merge

    course, failed = _course(args), 0
    for path in args.results:
        try:
            print(f"{path}: {pipeline.record(merge.read_result(path), course)}")
        except merge.MergeError as error:
            failed += 1
            print(f"{path}: not merged: {error}", file=sys.stderr)
    return 1 if failed else 0


def cmd_gradescope(args):
    from . import gradescope

    path = gradescope.build_zip(args.out, _course(args))
    print(f"Gradescope autograder written to {path}: upload it as the assignment's autograder "
          f"(Ubuntu base image)")


def cmd_samples(args):
    folder = samples.write(samples.sample_students() + samples.STUDENTS, args.folder, _course(args))
    print(f"sample submissions written to {folder}")


def cmd_time(args):
    with tempfile.TemporaryDirectory() as tmp:
        course = Course(release=Path(tmp) / "release", work=Path(tmp) / "work")
        pipeline.build_release(course)
        samples.write([samples.Student("solution")], Path(tmp) / "in", course)
        pipeline.collect(Path(tmp) / "in", course)
        start = time.perf_counter()
        run = pipeline.grade(["solution"], course)
        seconds = time.perf_counter() - start
    if run.failed:
        print(run.failed["solution"], file=sys.stderr)
        return 1
    print(f"autograding one full submission ({len(NOTEBOOKS)} notebooks) took {seconds:.1f} s")
    return 0


def cmd_demo(args):
    course = _course(args)
    print("1. Release: solutions/ch08 -> notebooks/ch08")
    pipeline.build_release(course)
    print("2. Sample submissions, generated from the solutions:")
    with tempfile.TemporaryDirectory() as tmp:
        students = samples.sample_students()
        samples.write(students, tmp, course)
        for s in students:
            m = [samples.MISTAKES_BY_NAME[name].why for name in s.mistakes]
            print(f"   {s.id:<40} {'blank release' if s.blank else ' '.join(m) or 'the solution'}")
        ids = pipeline.collect(tmp, course)
    print(f"3. Autograding {len(ids)} submissions (one sandboxed process per notebook) ...")
    start = time.perf_counter()
    run, folder, csv = _grade_all(course, ids, course.path("work") / "grades.csv")
    print(f"   done in {time.perf_counter() - start:.0f} s, "
          f"{sum(run.seconds.values()) / max(len(run.seconds), 1):.1f} s per full submission\n")
    print(pipeline.format_table(pipeline.grade_table(course)))
    print("\n   'manual' = points waiting for the instructor in formgrader (explanations, parts the grader flagged)")
    print(f"\n4. Feedback HTML, one page per notebook: {folder}/<student>/{ASSIGNMENT}/e8_XX.html")
    print(f"   e.g. {folder}/mistake-correlation-for-convolution/{ASSIGNMENT}/e8_06.html")
    print(f"5. Grade CSV (nbgrader format): {csv}")
    print(f"\nTo work on the exercises: cd {REPO} && .venv/bin/jupyter lab notebooks/{ASSIGNMENT}/e8_01.ipynb")
    print("   (or `jupyter notebook` for Notebook 7); pick the kernel 'Python 3 (ipykernel)' of .venv.")
    print(f"To grade by hand or browse submissions: cd {REPO / 'course'} && jupyter lab  (nbgrader's formgrader)")
    return 1 if run.failed else 0


def cmd_attacks(args):
    from . import attacks

    with tempfile.TemporaryDirectory() as tmp:
        course = Course(release=Path(tmp) / "release", work=Path(args.keep or tmp) / "work",
                        limits=attacks.LIMITS)
        pipeline.build_release(course)
        chosen = [a for a in attacks.ATTACKS if not args.only or a.name in args.only]
        start = time.perf_counter()
        result = attacks.run(Path(tmp) / "inbox", course, chosen, workers=args.workers)
        print(attacks.report(result.outcomes))
        print(f"\nthe honest student's grades after the attacks: "
              f"{'unchanged' if result.gradebook_intact else 'CHANGED'}; "
              f"graded in {time.perf_counter() - start:.0f} s with {args.workers} workers")
        if args.keep:
            print(f"course kept in {course.path('work')}")
    return 0 if result.gradebook_intact and all(o.passed for o in result.outcomes) else 1


def cmd_student_edition(args):
    from . import edition

    built = edition.build(Path(args.out), _course(args))
    print(f"student edition written to {Path(args.out).resolve()}:\n"
          f"  {built.wheel.name:<44} the library, answer functions as stubs, visible checks only\n"
          f"  {built.notebooks.name:<44} ch08/ (the release) and walkthroughs/\n"
          f"  {built.readme.name:<44} the handout: two commands from these files to JupyterLab\n"
          f"searched for every answer and hidden test: none found")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", help="course work folder (submitted/, autograded/, feedback/, "
                                       "gradebook.db); default course/")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("release", help="build notebooks/ch08 from solutions/ch08").set_defaults(fn=cmd_release)
    sub.add_parser("validate", help="solutions pass, release fails").set_defaults(fn=cmd_validate)
    g = sub.add_parser("grade", help="collect, autograde, feedback, CSV")
    g.add_argument("submissions", help="folder of <student>/e8_XX.ipynb")
    g.add_argument("--csv", help="where to write the grade CSV (default <work>/grades.csv)")
    g.add_argument("--workers", type=int, default=1,
                   help="students graded in parallel (local processes); the gradebook is written by one")
    g.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="grade on this running Dask cluster (one job per submission) instead of locally; "
                        "its workers need this package and bubblewrap")
    g.add_argument("--tries", type=int, default=3,
                   help="times a failing job is tried before it is reported for its student (default 3)")
    g.add_argument("--times", metavar="LMS.csv",
                   help="submission times from the LMS export (columns student_id, timestamp); default: "
                        "the grader's clock at collection, never the student's files")
    g.set_defaults(fn=cmd_grade)
    b = sub.add_parser("bundle", help="write the grading bundle (the release and the instructor's cells)")
    b.add_argument("out", help="the JSON file to write")
    b.set_defaults(fn=cmd_bundle)
    j = sub.add_parser("job", help="grade one student's folder against a bundle into one JSON result",
                       add_help=False)
    j.add_argument("rest", nargs=argparse.REMAINDER)
    j.set_defaults(fn=cmd_job)
    m = sub.add_parser("merge", help="merge job results (JSON) into the gradebook")
    m.add_argument("results", nargs="+")
    m.set_defaults(fn=cmd_merge)
    gs = sub.add_parser("gradescope", help="build the Gradescope autograder zip")
    gs.add_argument("out", help="the zip file to write, e.g. autograder.zip")
    gs.set_defaults(fn=cmd_gradescope)
    s = sub.add_parser("samples", help="write the sample submissions")
    s.add_argument("folder")
    s.set_defaults(fn=cmd_samples)
    sub.add_parser("time", help="seconds to autograde one full submission").set_defaults(fn=cmd_time)
    sub.add_parser("demo", help="the whole pipeline on the sample submissions").set_defaults(fn=cmd_demo)
    a = sub.add_parser("attacks", help="grade the attack corpus and print the report")
    a.add_argument("only", nargs="*", help="names of attacks (default: all)")
    a.add_argument("--workers", type=int, default=2)
    a.add_argument("--keep", help="keep the graded course (work folder) in this folder")
    a.set_defaults(fn=cmd_attacks)
    e = sub.add_parser("student-edition", help="the library wheel without answers, the notebooks' zip, the handout")
    e.add_argument("out", help="folder to write them to (created if missing)")
    e.set_defaults(fn=cmd_student_edition)
    args = parser.parse_args(argv)
    try:
        return args.fn(args) or 0
    except (ValueError, pipeline.PipelineError, SandboxUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
