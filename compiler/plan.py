"""The plan: every run of a spec with its id, the programs that train them together, and
the theory of each target. Everything that decides the set of jobs is fixed here, before
anything trains."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from wall.lang.diagnostics import Diagnostic, SpecError, counted
from wall.lang.elaborate import RECOVERABLE, ExperimentSpec, elaborate_with_problems
from wall.lang.parser import parse_text, read_spec_text
from wall.lang.overrides import apply_overrides
from wall.lang.values import Reference

from . import theory
from .analyses import check_analyses
from .configure import RunConfig, configure_runs, stable_hash, validate_block
from .lints import spec_warnings
from .scopes import experiment_scope
from .sweep import Point, expand_sweeps_collecting


# Fields that may differ between runs of one compiled program: they become batched
# arrays, while everything else (shapes, step counts, kinds) must match.
BATCHED_FIELDS = (("seed",), ("train", "lr"))


@dataclasses.dataclass
class Run:
    id: str
    point: Point
    config: RunConfig

    def to_json(self) -> dict:
        point = {k: str(v) if isinstance(v, Reference) else v for k, v in self.point.items()}
        return {"id": self.id, "point": point, "config": self.config.normalized()}


@dataclasses.dataclass
class Program:
    """Runs that share array shapes and are trained by one compiled, batched program."""

    id: str
    runs: list[Run]

    @property
    def config(self) -> RunConfig:
        return self.runs[0].config

    def describe(self) -> str:
        return f"d={self.config.target.domain.d}, width={getattr(self.config.model, 'width', '?')}, {counted(len(self.runs), 'run')}"


@dataclasses.dataclass
class Plan:
    spec: ExperimentSpec
    source: str
    spec_hash: str
    runs: list[Run]
    programs: list[Program]
    warnings: list[Diagnostic]

    def theory_summary(self) -> list[dict]:
        """Summarise each distinct target: its expansion, leap, MSP and predicted exponent."""
        summaries, seen = [], set()
        for run in self.runs:
            target = run.config.target
            expansion = target.expansion()
            key = (expansion.basis, expansion.describe())
            if key in seen:
                continue
            seen.add(key)
            result = theory.leap(expansion)
            summaries.append({
                "f": expansion.describe(),
                "basis": expansion.basis,
                "domain": target.domain.kind,
                "leap": result.leap,
                "ordering": theory.format_order(result, expansion.basis),
                "msp": result.leap <= 1,
                "degree": expansion.degree(),
                "variance": expansion.variance(),
                "predicted_sample_exponent": theory.predicted_sample_exponent(expansion),
            })
        return summaries

    def to_json(self) -> dict:
        return {
            "experiment": self.spec.name,
            "spec_file": self.spec.file,
            "spec_hash": self.spec_hash,
            "theory": self.theory_summary(),
            "runs": [run.to_json() for run in self.runs],
            "programs": [{"id": p.id, "runs": [r.id for r in p.runs], "shape": p.describe()}
                         for p in self.programs],
        }


OVERRIDE_MARK = "\n# --set "


def recorded_overrides(source: str) -> list[str]:
    """Return the `--set` overrides that a results folder's spec.wall records at its end."""
    if OVERRIDE_MARK not in source:
        return []
    return [text.strip() for text in source.split(OVERRIDE_MARK)[1:]]


def build_plans(path: str | Path, overrides: list[str] = (), replay_recorded: bool = False) -> list[Plan]:
    """Parse, check and plan every experiment of a spec file, with `--set` overrides applied.

    With `replay_recorded`, the overrides recorded at the end of a stored spec.wall are
    applied again, so a results folder rebuilds the plan that was run.
    """
    source = read_spec_text(path)
    syntax_tree = parse_text(source, str(path))
    if replay_recorded and recorded_overrides(source):
        # The source already carries the override lines, so the spec hash stays the same.
        syntax_tree = apply_overrides(syntax_tree, recorded_overrides(source))
    elif overrides:
        syntax_tree = apply_overrides(syntax_tree, list(overrides))
        # The overrides are part of what was run, so they are part of the spec's identity.
        source += "".join(f"{OVERRIDE_MARK}{text}" for text in overrides)
    specs, problems = elaborate_with_problems(syntax_tree)
    if any(p.code not in RECOVERABLE for p in problems):
        raise SpecError(problems)

    # Plan every experiment even after a problem, so one check reports all of them.
    plans = []
    for spec in specs:
        try:
            plans.append(plan_experiment(spec, source))
        except SpecError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise SpecError(_note_overridden_lets(problems, source, str(path), overrides))
    return plans


def _note_overridden_lets(problems: list[Diagnostic], source: str, file: str, overrides) -> list[Diagnostic]:
    """Add a note to a problem marked on a `let` that an override replaced: the caret is on
    the file's use of the name, but the value came from the command line."""
    lets = {text.partition("=")[0].strip(): text for text in overrides if "." not in text.partition("=")[0]}
    if not lets:
        return problems
    lines = source.split("\n")
    noted = []
    for problem in problems:
        span = problem.span
        if span is not None and span.file == file and span.line == span.end_line and 0 < span.line <= len(lines):
            written = lines[span.line - 1][span.column - 1:span.end_column - 1]
            if written in lets:
                problem = dataclasses.replace(problem, notes=problem.notes + (
                    f"`{written}` is set by --set {lets[written]}",))
        noted.append(problem)
    return noted


def plan_experiment(spec: ExperimentSpec, source: str) -> Plan:
    # Each pass checks what it can even after an earlier one found errors, so that one
    # `wallc check` reports every mistake; any error fails the plan at the end.
    points, warnings, problems = expand_sweeps_collecting(spec)
    configured = []
    try:
        configured = configure_runs(spec, points)
    except SpecError as exc:
        problems.extend(exc.diagnostics)
    if points:
        problems.extend(check_analyses(spec, points))
        _check_resources(spec, points[0], problems)
    if any(p.severity == "error" for p in problems):
        raise SpecError(problems)
    runs = [Run(config.run_id(), point, config) for point, config in configured]
    warnings = warnings + problems + spec_warnings(spec, runs)  # `problems` holds only warnings here
    runs = _drop_identical_runs(runs)
    spec_hash = hashlib.sha256(source.encode()).hexdigest()[:12]
    return Plan(spec, source, spec_hash, runs, group_programs(runs), warnings)


def _check_resources(spec: ExperimentSpec, point: Point, problems: list[Diagnostic]):
    # Jobs read the resources only when they are submitted; checking them here lets
    # `wallc check` catch `cpus = 0` before anything waits in a queue. They apply to the
    # whole sweep, so the first point's scope is the one they are evaluated in.
    block = spec.blocks.get("resources")
    if block is not None:
        validate_block(block, experiment_scope(spec, point), problems)


def _drop_identical_runs(runs: list[Run]) -> list[Run]:
    # Two points can configure the same run (an axis that no field uses); train it once.
    seen, unique = set(), []
    for run in runs:
        if run.id not in seen:
            seen.add(run.id)
            unique.append(run)
    return unique


def group_programs(runs: list[Run]) -> list[Program]:
    """Group runs whose configurations agree on everything but the batched fields."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(program_key(run.config), []).append(run)
    return [Program(key, members) for key, members in groups.items()]


def program_key(config: RunConfig) -> str:
    record = config.normalized()
    for path in BATCHED_FIELDS:
        holder = record
        for part in path[:-1]:
            holder = holder[part]
        holder.pop(path[-1], None)
    return stable_hash(record)
