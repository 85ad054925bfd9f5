"""The `wallc` command line.

    wallc SPEC [--out DIR]        check, plan, train what is missing, analyse, report
    wallc SPEC --submit [--wait]  submit what is missing as SLURM jobs and return
    wallc status RESULTS_DIR      per-run states: done, pending, running, failed with reason
    wallc check FILE...           report every problem in the specs, train nothing
    wallc plan FILE               print the run table and programs
    wallc report RESULTS_DIR      rebuild summary.json and report.html from stored results
    wallc explain CODE            the long form of a diagnostic code
    wallc fmt [--check] FILE...   rewrite specs in the canonical layout, keeping comments

`--set PATH=VALUE` (run, check, plan; repeatable) changes a field before planning, e.g.
`--set train.lr=0.1/d`; the value is a spec expression.

Exit codes: 0 success (warnings allowed); 1 a problem in a spec or its results, or
`fmt --check` found a file that is not formatted; 2 wrong command-line usage or an
unknown code for `explain`; 3 (run and report) everything ran but at least one `expect`
did not hold, so scripts and CI can tell a failed prediction from a success (with runs
still missing, expectations are a preview and leave the status alone); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from wall.lang.codes import explain
from wall.lang.diagnostics import SpecError, WallError, counted, render_all

logger = logging.getLogger("wall")

EXPECTATION_FAILED = 3

COMMANDS = ("run", "check", "plan", "report", "status", "explain", "fmt")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "run")
    args = _parser().parse_args(argv)
    _configure_logging()
    try:
        if args.command == "run":
            _configure_devices(args.devices)
        return args.handler(args)
    except SpecError as exc:
        _print_diagnostics(exc.diagnostics, args)
        return 1
    except WallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RecursionError:
        print("error: an expression of the spec nests too deeply to process; split long sums and "
              "products into `let` bindings", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Each run's results are written when its program ends, so nothing finished is lost.
        print("\nwallc: interrupted; results written so far are kept, and the same command continues "
              "from them", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (e.g. `wallc plan ... | head`); that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _installed_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("wall")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wallc", description="Compile and run .wall experiment specs.",
        usage="wallc SPEC [--out DIR] [--submit] ...\n       wallc {run,check,plan,status,report,explain,fmt} ...",
        epilog="`wallc SPEC` is short for `wallc run SPEC`: check, plan, train, analyse and report.")
    parser.add_argument("--version", action="version", version=f"wallc {_installed_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="check, plan, train what is missing, analyse and report (the default)")
    run.add_argument("spec", help="path to a .wall spec file")
    run.add_argument("--out", default="runs", help="output root; results go to OUT/EXPERIMENT (default: runs)")
    run.add_argument("--devices", type=int, metavar="N",
                     help="CPU host devices to split each program's runs across "
                          "(default: $WALL_DEVICES, else the usable cores; ignored when XLA_FLAGS sets it)")
    run.add_argument("--submit", action="store_true", help="submit the runs without results as SLURM jobs and return")
    run.add_argument("--wait", action="store_true", help="with --submit: wait for the jobs, then write the report")
    run.add_argument("--executor", choices=("local", "slurm", "debug"),
                     help="where to train (default: the spec's or profile's setting, else local)")
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

    status = commands.add_parser("status", help="per-run states of an experiment from its results folder")
    status.add_argument("results", help="results folder, e.g. runs/leap2")
    status.set_defaults(handler=_status)

    fmt = commands.add_parser("fmt", help="rewrite spec files in the canonical layout, keeping comments")
    fmt.add_argument("specs", nargs="+", help="spec files")
    fmt.add_argument("--check", action="store_true",
                     help="change no file; exit 1 if any file is not formatted")
    fmt.set_defaults(handler=_fmt)

    explain_command = commands.add_parser("explain", help="print the long form of a diagnostic code")
    explain_command.add_argument("code", help="a code such as E0102")
    explain_command.set_defaults(handler=_explain)
    return parser


def _add_format(parser: argparse.ArgumentParser):
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="diagnostics as readable text (default) or JSON records")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                        help="override a field before planning, e.g. --set train.lr=0.1/d (repeatable)")


def _configure_logging():
    logging.basicConfig(level=logging.INFO, format="wallc: %(message)s", stream=sys.stderr)
    # JAX and absl log compiler internals at INFO; users need only their warnings.
    for name in ("jax", "absl"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _configure_devices(count: int | None):
    # XLA reads its flags once, when jax is imported, so this comes before any import of jax.
    from .devices import configure_host_devices, enable_compilation_cache

    configure_host_devices(count)
    enable_compilation_cache()


def _print_diagnostics(diagnostics, args):
    if getattr(args, "format", "text") == "json":
        print(json.dumps([d.to_json() for d in diagnostics], indent=2))
    else:
        errors = sum(1 for d in diagnostics if d.severity == "error")
        from wall.lang.overrides import override_sources

        sys.stdout.flush()  # so that a shared pipe shows the lines in the order they were printed
        print(render_all(diagnostics, override_sources(getattr(args, "overrides", []))), file=sys.stderr)
        if errors:
            outcome = {"fmt": "nothing was changed", "plan": "nothing was planned",
                       "report": "no report was written"}.get(args.command, "nothing was trained")
            if getattr(args, "trained", False):
                outcome = "the trained results are kept; fix the spec, then run `wallc report` on the results folder"
            print(f"\n{counted(errors, 'error')}; {outcome}.", file=sys.stderr)


# Commands.


def _check(args) -> int:
    from wall.compiler.plan import build_plans

    problems, checked = [], 0
    for spec in args.specs:
        try:
            plans = build_plans(spec, args.overrides)
        except SpecError as exc:
            problems.extend(exc.diagnostics)
            continue
        checked += 1
        for plan in plans:
            problems.extend(plan.warnings)
            print(f"{spec}: experiment {plan.spec.name}: {counted(len(plan.runs), 'run')} in {counted(len(plan.programs), 'program')}, ok")
    if problems:
        _print_diagnostics(problems, args)
    return 1 if any(d.severity == "error" for d in problems) else 0


def _plan(args) -> int:
    from wall.compiler.plan import build_plans

    for plan in build_plans(args.spec, args.overrides):
        if args.format == "json":
            print(json.dumps(plan.to_json(), indent=2))
            continue
        if plan.warnings:
            _print_diagnostics(plan.warnings, args)
        _print_plan(plan)
    return 0


def _print_plan(plan):
    from wall.compiler.estimate import estimate_compute, estimate_program

    from .devices import planned_device_count, split_for_cpu, usable_cores

    print(f"experiment {plan.spec.name}: {counted(len(plan.runs), 'run')} in "
          f"{counted(len(plan.programs), 'compiled program')}")
    compute = estimate_compute(plan.runs, planned_device_count(), cores=usable_cores())
    print(f"  {compute.describe()}")
    for theory in plan.theory_summary():
        print(f"  target {theory['f']}: leap {theory['leap']}, predicted sample exponent "
              f"{theory['predicted_sample_exponent']}")
    for program in plan.programs:
        train = program.config.train
        estimate = estimate_program(program, compute.peak_gflops, compute.devices, compute.cores)
        print(f"  program {program.id}: {program.describe()}, {train.steps} steps of batch {train.batch}, "
              f"{estimate.describe()}")
        parts = split_for_cpu(program, compute.devices)
        if len(parts) > 1:
            size = len(parts[0].runs)
            print(f"    trained on CPUs as {len(parts)} programs of at most {counted(size, 'run')} each, "
                  "so each device's step activations stay in cache")
        for run in program.runs:
            point = ", ".join(f"{k}={v}" for k, v in run.point.items())
            print(f"    run {run.id}  {point}  lr={run.config.train.lr:.4g}")


def _run(args) -> int:
    from wall.compiler.plan import build_plans

    from .executors.debug import run_debug
    from .executors.local import run_locally
    from .progress import Progress
    from .resources import choose_executor, load_profile, resolve_resources
    from .report import write_summary_and_report
    from .store import ExperimentStore
    from .timings import PhaseTimes, listen_to_compiles

    started = time.monotonic()
    listen_to_compiles()
    times = PhaseTimes()
    with times.phase("parse_plan"):
        plans = build_plans(args.spec, args.overrides)
    all_held = True
    for plan in plans:
        for warning in plan.warnings:
            print(render_all([warning]), file=sys.stderr)
        store = ExperimentStore(Path(args.out), plan.spec.name)
        logger.info("experiment %s: %d runs in %d programs; results in %s",
                    plan.spec.name, len(plan.runs), len(plan.programs), store.folder)
        profile = load_profile()
        resources = resolve_resources(plan, profile)
        executor = choose_executor(args.executor, args.submit, resources, profile)
        if args.wait and executor != "slurm":
            raise WallError(f"--wait applies to SLURM submissions only, but the executor is {executor}; "
                            "add --submit")
        if executor == "slurm":
            if not _submit(plan, store, resources, args.wait):
                continue
        elif executor == "debug":
            run_debug(plan, store, resources)
        else:
            with times.phase("train"):
                run_locally(plan, store, Progress())
        args.trained = True  # from here on, an error leaves trained results behind
        with times.phase("report"):
            summary = write_summary_and_report(plan, store)
        all_held = _print_summary(summary, store) and all_held
    print(f"wall time {time.monotonic() - started:.1f} s ({times.describe()})")
    return 0 if all_held else EXPECTATION_FAILED


def _submit(plan, store, resources, wait: bool) -> bool:
    """Submit; with `wait`, block until the jobs end. True when a report is due now."""
    from .executors.slurm import submit, wait as wait_for

    folder, jobs = submit(plan, store, resources)
    if folder is None:
        return True
    ids = sorted({job.job_id.split("_")[0] for job in jobs})
    print(f"submitted {len(jobs)} tasks of experiment {plan.spec.name} as SLURM job {', '.join(ids)}")
    print(f"results: {os.path.abspath(store.folder)}")
    if not wait:
        print(f"follow with: wallc status {store.folder}; when done: wallc report {store.folder}")
        return False
    wait_for(jobs)
    return True


def _require_folder(folder: Path):
    if folder.is_file():
        raise WallError(f"{folder} is a file, not a results folder; to run a spec, write `wallc {folder}`, "
                        "and pass `wallc status` or `wallc report` the folder it writes, e.g. runs/leap2")
    if not folder.is_dir():
        raise WallError(f"results folder {folder} not found; pass the folder of one experiment, "
                        "e.g. runs/leap2 (wallc SPEC writes it under --out, default runs)")


def _status(args) -> int:
    from .status import format_states, run_states

    folder = Path(args.results)
    _require_folder(folder)
    if not (folder / "plan.json").exists():
        raise WallError(f"{folder} contains no plan.json, so it is not a results folder of wallc; "
                        "pass the folder of one experiment, e.g. runs/leap2")
    states = run_states(folder)
    print(format_states(folder.name, states))
    return 1 if any(record["state"] == "failed" for record in states) else 0


def _report(args) -> int:
    from wall.compiler.plan import build_plans

    from .report import write_summary_and_report
    from .store import ExperimentStore

    folder = Path(args.results)
    _require_folder(folder)
    spec = folder / "spec.wall"
    if not spec.exists():
        raise WallError(f"{folder} contains no spec.wall, so it is not a wallc results folder; "
                        "pass the folder of one experiment, e.g. runs/leap2")
    all_held = True
    for plan in build_plans(spec, replay_recorded=True):
        summary = write_summary_and_report(plan, ExperimentStore.at(folder))
        all_held = _print_summary(summary, ExperimentStore.at(folder)) and all_held
    return 0 if all_held else EXPECTATION_FAILED


def _fmt(args) -> int:
    from wall.lang.format import format_text
    from wall.lang.parser import read_spec_text

    unformatted = []
    for spec in args.specs:
        text = read_spec_text(spec)
        formatted = format_text(text, spec)
        if formatted == text:
            continue
        unformatted.append(spec)
        if not args.check:
            Path(spec).write_text(formatted)
            print(f"formatted {spec}")
    if args.check and unformatted:
        for spec in unformatted:
            print(f"{spec}: not formatted; run `wallc fmt {spec}`", file=sys.stderr)
        return 1
    return 0


def _explain(args) -> int:
    text = explain(args.code)
    if text is None:
        print(f"error: unknown code `{args.code}`; codes look like E0102 (see docs/errors.md)", file=sys.stderr)
        return 2
    print(text)
    return 0


def _print_summary(summary: dict, store) -> bool:
    """Print the analyses' results; return whether every expectation held."""
    all_held = True
    runs = summary["runs"]
    missing = runs["planned"] - runs["finished"]
    print(f"experiment {summary['experiment']}: {runs['finished']} of {runs['planned']} runs finished")
    if missing:
        # A verdict on part of the runs is a preview: it neither passes nor fails the experiment.
        print(f"  {counted(missing, 'run')} without results, so the expectations below are a preview "
              "and do not set the exit status")
    for analysis in summary["analyses"]:
        result = analysis["result"]
        if result["undetermined"]:
            print(f"  {analysis['name']}: no fit ({result['undetermined']})")
        elif "mean" in result:
            low, high = result["interval"]
            # Three significant digits, as the report prints them: a mean loss of 2e-6 is not 0.000.
            print(f"  {analysis['name']}: {analysis['function']} {result['mean']:.3g} "
                  f"({result['level']:.0%} interval {low:.3g} to {high:.3g})")
        else:
            low, high = result["interval"]
            print(f"  {analysis['name']}: exponent {result['exponent']:.3f} "
                  f"({result['level']:.0%} interval {low:.3f} to {high:.3f}, R^2 {result['r2']:.3f})")
            distinct_x = len(set(result["xs"]))
            if distinct_x < 3:
                print(f"    warning: only {counted(distinct_x, 'value')} of x, so R^2 = 1 by construction; "
                      "sweep at least three values before trusting the exponent")
        if result.get("note") and not result["undetermined"]:
            print(f"    warning: {result['note']}")
        for expectation in analysis["expectations"]:
            mark = "held" if expectation["held"] else "did not hold"
            if missing:
                mark += f" so far ({runs['finished']} of {runs['planned']} runs)"
            else:
                all_held = all_held and expectation["held"]
            values = ", ".join(f"{name} = {value:.3g}" for name, value in expectation.get("values", {}).items())
            print(f"    expect {expectation['claim']}: {mark}" + (f" ({values})" if values else ""))
    print(f"report: {os.path.abspath(store.folder / 'report.html')}")
    return all_held


if __name__ == "__main__":
    sys.exit(main())
