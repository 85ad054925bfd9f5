"""Warnings about a planned experiment: things a spec sets or sweeps that no run uses.

Each pass looks at the elaborated spec and the configured runs after the plan has no
errors, so it can tell what the runs actually read.
"""

from __future__ import annotations

import re

from wall.lang import syntax as ast
from wall.lang.diagnostics import Diagnostic
from wall.lang.elaborate import ExperimentSpec

COORDINATE_NAME = re.compile(r"^[xz]([1-9][0-9]*)?$")


def spec_warnings(spec: ExperimentSpec, runs: list) -> list[Diagnostic]:
    """Run every warning pass over the configured runs of one experiment."""
    return (_unread_axes(spec, runs) + _coordinate_letters(spec, runs) + _unused_settings(spec, runs)
            + _thresholds_met_untrained(spec, runs))


def _thresholds_met_untrained(spec: ExperimentSpec, runs: list) -> list[Diagnostic]:
    """Warn about a samples_to_learn threshold at or above 1 on a normalised loss: the zero
    predictor scores 1, so a run near it counts as learned before it has trained."""
    if not runs:
        return []
    measures = runs[0].config.measures
    warnings = []
    for block in spec.measures:
        kind, config = measures.get(spec.measure_name(block), (None, None))
        if kind != "samples_to_learn" or config.below < 1:
            continue
        source = measures.get(config.of)
        if source is None or source[0] != "test_loss" or not source[1].normalized:
            continue
        span = next((a.value.span for a in block.attributes() if a.name == "below"), block.kind_span)
        warnings.append(Diagnostic("W0207", f"`below = {config.below:g}` is not below 1, the normalised loss of the "
                                            "zero predictor, so runs can count as learned at step 0", span,
                                   severity="warning", hint="use a threshold under 1, such as 0.1"))
    return warnings


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
    in_analyses = {node.name for node in ast.names_in(spec.analyses)}
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
    return {node.name for node in ast.names_in(roots)}


def _coordinate_names(node) -> list[ast.Name]:
    """Collect every `x1`, `z3`, `x` or `z` written inside a syntax node, in source order."""
    return [name for name in ast.names_in(node) if COORDINATE_NAME.match(name.name)]


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
