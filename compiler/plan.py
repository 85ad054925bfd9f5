"""The plan: every run of a spec with its id, the programs that train them together, and
the theory of each target. Everything that decides the set of jobs is fixed here, before
anything trains."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

from wall.lang import syntax as ast
from wall.lang.diagnostics import Diagnostic, SpecError, counted
from wall.lang.elaborate import RECOVERABLE, ExperimentSpec, elaborate, elaborate_with_problems
from wall.lang.parser import parse_text, read_spec_text
from wall.lang.overrides import apply_overrides
from wall.lang.values import Reference

from . import theory
from .analyses import check_analyses
from .configure import RunConfig, configure_runs, stable_hash, validate_block
from .scopes import experiment_scope
from .sweep import Point, expand_sweeps_collecting

COORDINATE_NAME = re.compile(r"^[xz]([1-9][0-9]*)?$")

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
        raise SpecError(problems)
    return plans


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
    warnings = warnings + problems + _unread_axes(spec, runs) + _coordinate_letters(spec, runs) + \
        _unused_settings(spec, runs)  # `problems` holds only warnings here
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


def _unread_axes(spec: ExperimentSpec, runs: list[Run]) -> list[Diagnostic]:
    """Warn about sweep axes whose values configure identical runs: no field reads them,
    which is most often a misspelt name (`--set sweep.grid.dd=[1, 2]`)."""
    by_id: dict[str, list[Run]] = {}
    for run in runs:
        by_id.setdefault(run.id, []).append(run)
    unread = set()
    for same in by_id.values():
        for axis in same[0].point:
            if len({repr(run.point.get(axis)) for run in same}) > 1:
                unread.add(axis)

    # An axis of one value makes no identical runs, so also look for axes that no
    # expression of the spec names. The seed and axes that choose blocks are read anyway.
    mentioned = _mentioned_names(spec)
    implicit = {"seed"} | set(spec.blocks) | set(spec.choices)
    unread |= {axis for run in runs[:1] for axis in run.point if axis not in mentioned and axis not in implicit}
    sweep = spec.blocks.get("sweep")
    in_analyses = {node.name for node in _names_in(spec.analyses)}
    return [Diagnostic("W0406", f"the sweep axis `{axis}` changes no run, because no field reads it",
                       _axis_span(sweep, axis), severity="warning", hint=_unread_hint(axis, axis in in_analyses))
            for axis in sorted(unread)]


def _unread_hint(axis: str, read_by_analysis: bool) -> str:
    if read_by_analysis:
        # `over = rep` with `rep = 0..3`: the replicates are one run, so the bootstrap has one per point.
        return f"an analysis reads `{axis}`, but runs that differ only in it are one run; use `seed` to repeat runs"
    return f"use `{axis}` in a field, or remove the axis if its name is misspelt"


# Fields that only some configurations read: (block kind, field, whether a run reads it, when it is read).
SETTINGS_READ_WHEN = (
    ("train", "momentum", lambda config: config.train.optimizer == "momentum", 'with optimizer = "momentum"'),
    ("train", "noise", lambda config: config.train.optimizer == "noisy_gd", 'with optimizer = "noisy_gd"'),
    ("parametrization", "bias_init", lambda config: getattr(config.model, "bias", True),
     "when the model has biases (bias = true)"),
)


def _unused_settings(spec: ExperimentSpec, runs: list[Run]) -> list[Diagnostic]:
    """Warn about fields written in a block that no run of the experiment reads, such as
    `momentum = 0.9` with plain SGD. A sweep that reaches the setting in some runs is fine."""
    warnings = []
    for kind, field, read, when in SETTINGS_READ_WHEN:
        if any(read(run.config) for run in runs):
            continue
        blocks = {id(block): block for block in (spec.block_for(kind, run.point) for run in runs)}
        for block in blocks.values():
            written = next((a for a in block.attributes() if a.name == field), None)
            if written is not None:
                warnings.append(Diagnostic("W0204", f"`{field}` has no effect in this experiment: it is read only "
                                                    f"{when}", written.name_span, severity="warning",
                                           hint=f"remove `{field}`, or change the setting it depends on"))
    return warnings


def _coordinate_letters(spec: ExperimentSpec, runs: list[Run]) -> list[Diagnostic]:
    """Warn where a target names a coordinate with the other domain's letter.

    `z1` on a hypercube is read as x1, and `x1` on Gaussian inputs as z1. The compiler
    ignores the letter, but a mismatch often means the domain is not the intended one.
    """
    warnings, seen = [], set()
    for run in runs:
        block = spec.block_for("target", run.point)
        expected = "z" if run.config.target.domain.kind == "gaussian" else "x"
        if (id(block), expected) in seen:
            continue
        seen.add((id(block), expected))
        named = set()
        for name in _coordinate_names(block):
            if name.name[0] != expected and name.name not in named:
                named.add(name.name)  # once per name: the first place it is written
                letter_of = "Gaussian" if name.name[0] == "z" else "hypercube"
                warnings.append(Diagnostic(
                    "W0203", f"`{name.name}` uses the letter of {letter_of} coordinates, but the domain is "
                             f"{run.config.target.domain}", name.span, severity="warning",
                    hint=f"write `{expected}{name.name[1:]}`, which is how it is read, or change the domain"))
    return warnings


def _mentioned_names(spec: ExperimentSpec) -> set[str]:
    """Collect every name that an expression of the spec, or of a file it imports, reads."""
    roots = [spec.block, list(spec.blocks.values()), spec.file_lets]
    roots += [list(named.values()) for named in spec.choices.values()]
    modules, seen = [spec.module] if spec.module is not None else [], set()
    while modules:
        module = modules.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        roots.append(module.lets)
        modules.extend(module.aliases.values())
    return {node.name for node in _names_in(roots)}


def _names_in(node) -> list[ast.Name]:
    """Collect every name node inside a syntax node, in source order."""
    if isinstance(node, ast.Name):
        return [node]
    found = []
    if isinstance(node, (list, tuple)):
        for item in node:
            found += _names_in(item)
    elif dataclasses.is_dataclass(node):
        for field in dataclasses.fields(node):
            found += _names_in(getattr(node, field.name))
    return found


def _coordinate_names(node) -> list[ast.Name]:
    """Collect every `x1`, `z3`, `x` or `z` written inside a syntax node, in source order."""
    if isinstance(node, ast.Name):
        return [node] if COORDINATE_NAME.match(node.name) else []
    found = []
    if isinstance(node, (list, tuple)):
        for item in node:
            found += _coordinate_names(item)
    elif dataclasses.is_dataclass(node):
        for field in dataclasses.fields(node):
            found += _coordinate_names(getattr(node, field.name))
    return found


def _axis_span(block: ast.Block, axis: str):
    """Return the span of the axis's name in the sweep block, else the block's keyword."""
    found = _find_axis(block, axis)
    return found if found is not None else block.kind_span


def _find_axis(block: ast.Block, axis: str):
    for member in block.members:
        if isinstance(member, ast.Attribute) and member.name == axis:
            return member.name_span
        if isinstance(member, ast.Block):
            inner = _find_axis(member, axis)
            if inner is not None:
                return inner
    return None


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
