"""The `wallc` command line.

    wallc SPEC [--out DIR]        check, plan, train what is missing, analyse, report
    wallc check FILE...           report every problem in the specs, train nothing
    wallc plan FILE               print the run table and programs
    wallc report RESULTS_DIR      rebuild summary.json and report.html from stored results
    wallc explain CODE            the long form of a diagnostic code

Exit codes: 0 success; 1 a problem in a spec or its results; 2 wrong command-line usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

from wall.lang.codes import explain
from wall.lang.diagnostics import SpecError, WallError, render_all

logger = logging.getLogger("wall")

COMMANDS = ("run", "check", "plan", "report", "explain")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "run")
    args = _parser().parse_args(argv)
    _configure_logging()
    try:
        return args.handler(args)
    except SpecError as exc:
        _print_diagnostics(exc.diagnostics, args)
        return 1
    except WallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wallc", description="Compile and run .wall experiment specs.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="check, plan, train what is missing, analyse and report (the default)")
    run.add_argument("spec", help="path to a .wall spec file")
    run.add_argument("--out", default="runs", help="output root; results go to OUT/EXPERIMENT (default: runs)")
    _add_format(run)
    run.set_defaults(handler=_run)

    check = commands.add_parser("check", help="report every problem in the specs without training")
    check.add_argument("specs", nargs="+", help="spec files")
    _add_format(check)
    check.set_defaults(handler=_check)

    plan = commands.add_parser("plan", help="print the runs and programs a spec expands to")
    plan.add_argument("spec", help="path to a .wall spec file")
    _add_format(plan)
    plan.set_defaults(handler=_plan)

    report = commands.add_parser("report", help="rebuild the report from the results folder of one experiment")
    report.add_argument("results", help="results folder, e.g. runs/leap2")
    report.set_defaults(handler=_report)

    explain_command = commands.add_parser("explain", help="print the long form of a diagnostic code")
    explain_command.add_argument("code", help="a code such as E0102")
    explain_command.set_defaults(handler=_explain)
    return parser


def _add_format(parser: argparse.ArgumentParser):
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="diagnostics as readable text (default) or JSON records")


def _configure_logging():
    logging.basicConfig(level=logging.INFO, format="wallc: %(message)s", stream=sys.stderr)
    # JAX and absl log compiler internals at INFO; users need only their warnings.
    for name in ("jax", "absl"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _print_diagnostics(diagnostics, args):
    if getattr(args, "format", "text") == "json":
        print(json.dumps([d.to_json() for d in diagnostics], indent=2))
    else:
        errors = sum(1 for d in diagnostics if d.severity == "error")
        print(render_all(diagnostics), file=sys.stderr)
        if errors:
            print(f"\n{errors} error(s); nothing was trained.", file=sys.stderr)


# Commands.


def _check(args) -> int:
    from wall.compiler.plan import build_plans

    problems, checked = [], 0
    for spec in args.specs:
        try:
            plans = build_plans(spec)
        except SpecError as exc:
            problems.extend(exc.diagnostics)
            continue
        checked += 1
        for plan in plans:
            problems.extend(plan.warnings)
            print(f"{spec}: experiment {plan.spec.name}: {len(plan.runs)} runs in {len(plan.programs)} programs, ok")
    if problems:
        _print_diagnostics(problems, args)
    return 1 if any(d.severity == "error" for d in problems) else 0


def _plan(args) -> int:
    from wall.compiler.plan import build_plans

    for plan in build_plans(args.spec):
        if args.format == "json":
            print(json.dumps(plan.to_json(), indent=2))
            continue
        _print_plan(plan)
    return 0


def _print_plan(plan):
    print(f"experiment {plan.spec.name}: {len(plan.runs)} runs in {len(plan.programs)} compiled programs")
    for theory in plan.theory_summary():
        print(f"  target {theory['f']}: leap {theory['leap']}, predicted sample exponent "
              f"{theory['predicted_sample_exponent']}")
    for program in plan.programs:
        train = program.config.train
        print(f"  program {program.id}: {program.describe()}, {train.steps} steps of batch {train.batch}")
        for run in program.runs:
            point = ", ".join(f"{k}={v}" for k, v in run.point.items())
            print(f"    run {run.id}  {point}  lr={run.config.train.lr:.4g}")


def _run(args) -> int:
    from wall.compiler.plan import build_plans

    from .executors.local import run_locally
    from .progress import Progress
    from .report import write_summary_and_report
    from .store import ExperimentStore

    started = time.monotonic()
    plans = build_plans(args.spec)
    for plan in plans:
        for warning in plan.warnings:
            print(render_all([warning]), file=sys.stderr)
        store = ExperimentStore(Path(args.out), plan.spec.name)
        logger.info("experiment %s: %d runs in %d programs; results in %s",
                    plan.spec.name, len(plan.runs), len(plan.programs), store.folder)
        run_locally(plan, store, Progress())
        summary = write_summary_and_report(plan, store)
        _print_summary(summary, store)
    print(f"wall time {time.monotonic() - started:.1f} s")
    return 0


def _report(args) -> int:
    from wall.compiler.plan import build_plans

    from .report import write_summary_and_report
    from .store import ExperimentStore

    folder = Path(args.results)
    spec = folder / "spec.wall"
    if not spec.exists():
        raise WallError(f"{folder} holds no spec.wall, so it is not a results folder of wallc; "
                        "pass the folder of one experiment, e.g. runs/leap2")
    for plan in build_plans(spec):
        summary = write_summary_and_report(plan, ExperimentStore.at(folder))
        _print_summary(summary, ExperimentStore.at(folder))
    return 0


def _explain(args) -> int:
    text = explain(args.code)
    if text is None:
        print(f"error: unknown code `{args.code}`; codes look like E0102 (see docs/errors.md)", file=sys.stderr)
        return 2
    print(text)
    return 0


def _print_summary(summary: dict, store):
    runs = summary["runs"]
    print(f"experiment {summary['experiment']}: {runs['finished']} of {runs['planned']} runs finished")
    for analysis in summary["analyses"]:
        result = analysis["result"]
        if result["undetermined"]:
            print(f"  {analysis['name']}: no fit ({result['undetermined']})")
        else:
            low, high = result["interval"]
            print(f"  {analysis['name']}: exponent {result['exponent']:.3f} "
                  f"({result['level']:.0%} interval {low:.3f} to {high:.3f}, R^2 {result['r2']:.3f})")
        for expectation in analysis["expectations"]:
            mark = "held" if expectation["held"] else "did not hold"
            print(f"    expect {expectation['claim']}: {mark}")
    print(f"report: {os.path.abspath(store.folder / 'report.html')}")


if __name__ == "__main__":
    sys.exit(main())
