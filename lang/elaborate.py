"""From a syntax tree to experiment specs, with every structural problem reported at once.

This pass checks what can be checked without evaluating expressions: block kinds, their
labels, field names, required fields and blocks. Values are checked per run later,
because fields may depend on sweep axes.
"""

from __future__ import annotations

import dataclasses
import difflib
import re

from . import schema
from . import syntax as ast
from .diagnostics import Diagnostic, SpecError, did_you_mean
from .modules import Module, load_module, resolve_extends

# Kinds of which an experiment may declare several named blocks, one chosen per run by a
# sweep axis of the same name: `target = [staircase, parity]`.
SELECTABLE_KINDS = ("target", "model", "parametrization")


@dataclasses.dataclass
class ExperimentSpec:
    name: str
    file: str
    block: ast.Block
    file_lets: list[ast.Let]
    blocks: dict[str, ast.Block]
    measures: list[ast.Block]
    analyses: list[ast.Block]
    module: Module | None = None
    # For SELECTABLE_KINDS: every block of the kind by name; `blocks` holds the first.
    choices: dict[str, dict[str, ast.Block]] = dataclasses.field(default_factory=dict)

    def block_for(self, kind: str, point: dict) -> ast.Block:
        """The block of a kind that a sweep point uses: chosen by an axis, else the only one."""
        chosen = point.get(kind)
        named = self.choices.get(kind, {})
        if chosen is not None and str(chosen) in named:
            return named[str(chosen)]
        return self.blocks[kind]

    @property
    def doc(self) -> str:
        # NOTE: only a plain string literal is returned; an interpolated `doc` ("${...}") is
        # accepted by the checker but returns "", because it is not evaluated here.
        for attribute in self.block.attributes():
            if attribute.name == "doc" and isinstance(attribute.value, ast.Literal):
                return str(attribute.value.value)
        return ""

    def measure_name(self, block: ast.Block) -> str:
        return block.labels[-1] if block.labels else block.kind


# Structural problems after which the later passes still see a well-formed experiment,
# so `wallc check` can go on and report value errors of the same run too.
RECOVERABLE = {"E0102", "E0105", "E0111", "E0121"}

# The characters allowed in an experiment name, which becomes the name of its results folder.
EXPERIMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def elaborate(file: ast.File) -> list[ExperimentSpec]:
    """Check the structure of every experiment in a file; raise SpecError listing all problems."""
    experiments, problems = elaborate_with_problems(file)
    if problems:
        raise SpecError(problems)
    return experiments


def elaborate_with_problems(file: ast.File) -> tuple[list[ExperimentSpec], list[Diagnostic]]:
    """The experiments of a file and every structural problem found, without raising."""
    problems: list[Diagnostic] = []
    module = load_module(file, problems)
    experiments = []
    for item in file.items:
        if isinstance(item, ast.Block) and item.kind == "experiment":
            experiment = _elaborate_experiment(item, module, problems)
            _check_unique_name(experiment, experiments, problems)
            experiments.append(experiment)
        elif isinstance(item, ast.Block):
            _check_definition(item, module, problems)
    if not experiments and not problems:
        problems.append(Diagnostic("E0104", "the file declares no experiment", file.span,
                                   hint="add `experiment NAME { ... }`"))
    # A base shared by several blocks is resolved once per block; report it once.
    return experiments, list({(d.code, d.span, d.message): d for d in problems}.values())


def _check_unique_name(experiment: ExperimentSpec, earlier: list[ExperimentSpec], problems: list[Diagnostic]):
    # Each experiment writes its results folder under its name, so a second one of the
    # same name would overwrite the first one's plan and report.
    first = next((e for e in earlier if e.name == experiment.name), None)
    if first is not None:
        block = experiment.block
        problems.append(Diagnostic("E0106", f"two experiments are named `{experiment.name}`", block.label_span,
                                   hint="give each experiment of a file its own name",
                                   notes=(f"the first is at {first.block.span.file}:{first.block.span.line}",)))


def _check_definition(block: ast.Block, module: Module, problems: list[Diagnostic]):
    """A named block outside any experiment, to be extended: `model mlp2 base { ... }`."""
    known = sorted(set(schema.SINGLE_BLOCKS) | set(schema.REPEATED_BLOCKS))
    if block.kind not in known:
        problems.append(Diagnostic("E0101", f"unknown top-level block `{block.kind}`", block.kind_span,
                                   hint=did_you_mean(block.kind, ["experiment", *known]),
                                   notes=("a file holds `experiment NAME { ... }` blocks, `let` bindings, "
                                          "imports, and named blocks for `extends`",)))
        return
    if not block.labels:
        problems.append(Diagnostic("E0108", f"a `{block.kind}` block outside an experiment needs a name",
                                   block.kind_span, hint=f"write e.g. `{block.kind} base {{ ... }}`"))
        return
    resolved = resolve_extends(block, {}, module, problems)
    if block.kind != "sweep" and block.kind != "analyze":
        _check_fields(resolved, schema_for(resolved, problems), problems, require=False)


def _elaborate_experiment(block: ast.Block, module: Module, problems: list[Diagnostic]) -> ExperimentSpec:
    name = block.labels[0] if block.labels else "experiment"
    if len(block.labels) != 1:
        problems.append(Diagnostic("E0108", "an experiment needs exactly one name", block.kind_span,
                                   hint="write `experiment leap2 { ... }`"))
    elif not EXPERIMENT_NAME.fullmatch(name):
        # The name becomes the results folder under --out, so `..` or `/` would write elsewhere.
        problems.append(Diagnostic("E0108", f"invalid experiment name `{name}`", block.label_span,
                                   hint="use letters, digits, `_` and `-`, starting with a letter or digit"))

    siblings = {(m.kind, m.name): m for m in block.members if isinstance(m, ast.Block) and m.labels}
    singles: dict[str, ast.Block] = {}
    choices: dict[str, dict[str, ast.Block]] = {}
    measures, analyses = [], []
    for member in block.members:
        if isinstance(member, ast.Attribute):
            _check_experiment_attribute(member, problems)
        elif isinstance(member, ast.Claim):
            problems.append(Diagnostic("E0111", f"`{member.keyword}` does not belong directly in an experiment",
                                       member.span, hint="put `assert` in the block it is about and `expect` in an `analyze` block"))
        elif isinstance(member, ast.Block):
            resolved = resolve_extends(member, siblings, module, problems)
            _sort_block(resolved, singles, choices, measures, analyses, problems)

    # A misspelt required block (`modle`) is reported once, as unknown with "did you mean".
    misspelt = {d.hint for d in problems if d.code == "E0101" and d.hint}
    for kind in schema.REQUIRED_BLOCKS:
        if kind not in singles and f"did you mean `{kind}`?" not in misspelt:
            title = f"experiment `{name}`" if block.labels else "the experiment"
            problems.append(Diagnostic("E0104", f"{title} has no `{kind}` block", block.kind_span,
                                       hint=f"add a `{kind} {{ ... }}` block"))
    _check_measure_names(measures, problems)
    return ExperimentSpec(name, block.span.file, block, list(module.lets), singles, measures, analyses,
                          module, {k: v for k, v in choices.items() if len(v) > 1})


def _check_experiment_attribute(attribute: ast.Attribute, problems: list[Diagnostic]):
    if attribute.name not in schema.EXPERIMENT_FIELDS:
        problems.append(Diagnostic("E0102", f"unknown field `{attribute.name}` in an experiment",
                                   attribute.name_span, hint=did_you_mean(attribute.name, schema.EXPERIMENT_FIELDS),
                                   notes=("an experiment accepts: doc, and blocks",)))


def _sort_block(block, singles, choices, measures, analyses, problems):
    known = sorted(set(schema.SINGLE_BLOCKS) | set(schema.REPEATED_BLOCKS))
    if block.kind in SELECTABLE_KINDS and _add_choice(block, singles, choices, problems):
        _check_fields(block, schema_for(block, problems), problems)
    elif block.kind in schema.SINGLE_BLOCKS:
        if block.kind in singles:
            problems.append(Diagnostic("E0106", f"second `{block.kind}` block in one experiment", block.kind_span,
                                       notes=(f"the first is at {singles[block.kind].span}",)))
            return
        singles[block.kind] = block
        if block.kind == "sweep":
            _check_sweep(block, problems)
        else:
            _check_fields(block, schema_for(block, problems), problems)
    elif block.kind == "measure":
        measures.append(block)
        _check_fields(block, schema_for(block, problems), problems)
    elif block.kind == "analyze":
        analyses.append(block)
        _check_analysis(block, problems)
    else:
        problems.append(Diagnostic("E0101", f"unknown block `{block.kind}`", block.kind_span,
                                   hint=did_you_mean(block.kind, known),
                                   notes=("an experiment accepts: " + ", ".join(known),)))


def _add_choice(block: ast.Block, singles, choices, problems: list[Diagnostic]) -> bool:
    """Record one of possibly several named blocks of a selectable kind; False if invalid."""
    most_labels = 1 if block.kind == "target" else 2
    if len(block.labels) > most_labels:
        form = "target NAME" if block.kind == "target" else f"{block.kind} KIND NAME"
        problems.append(Diagnostic("E0108", f"too many labels on `{' '.join((block.kind,) + block.labels)}`",
                                   block.kind_span, hint=f"write `{form} {{ ... }}`"))
        return False
    named = choices.setdefault(block.kind, {})
    first = singles.get(block.kind)
    if first is not None and (block.name in named or not _is_named(first) or not _is_named(block)):
        problems.append(Diagnostic(
            "E0106", f"second `{block.kind}` block named `{block.name}`" if block.name in named
            else f"second `{block.kind}` block in one experiment", block.kind_span,
            hint=f"give each a distinct name and choose with a sweep axis `{block.kind} = [...]`",
            notes=(f"the first is at {first.span}",)))
        return False
    singles.setdefault(block.kind, block)
    named[block.name] = block
    return True


def _is_named(block: ast.Block) -> bool:
    # A target is named by its one label; models and parametrizations by a second one.
    return len(block.labels) >= (1 if block.kind == "target" else 2)


def schema_for(block: ast.Block, problems: list[Diagnostic] | None = None):
    """The pydantic model for a block, choosing the variant by the first label."""
    registry = schema.SINGLE_BLOCKS.get(block.kind) or schema.REPEATED_BLOCKS.get(block.kind)
    if not isinstance(registry, dict):
        return registry
    variant = block.labels[0] if block.labels else None
    if variant in registry:
        return registry[variant]
    if problems is not None:
        choices = ", ".join(sorted(registry))
        what = f"unknown {block.kind} `{variant}`" if variant else f"`{block.kind}` needs a kind"
        span = block.label_span if variant else block.kind_span
        problems.append(Diagnostic("E0107", what, span,
                                   hint=did_you_mean(variant, registry) if variant else f"write `{block.kind} {sorted(registry)[0]} {{ ... }}`",
                                   notes=(f"{block.kind} kinds: {choices}",)))
    return None


def _check_fields(block: ast.Block, model, problems: list[Diagnostic], require: bool = True):
    if model is None:
        return
    fields = model.model_fields
    seen: dict[str, ast.Attribute] = {}
    for attribute in block.attributes():
        if attribute.name in seen:
            problems.append(Diagnostic("E0105", f"field `{attribute.name}` is set twice", attribute.name_span,
                                       notes=(f"first set at {seen[attribute.name].span}",)))
        seen[attribute.name] = attribute
        if attribute.name not in fields:
            problems.append(_unknown_field(block, attribute, fields))
    # A misspelt required field is reported once, as unknown with "did you mean".
    misspelt = {_closest(a.name, fields) for a in block.attributes() if a.name not in fields}
    # A block whose base was not found lacks the base's fields. The E0120 or E0122 on its
    # header line gives the cause, so a "missing field" error for each field is left out.
    base_missing = block.extends is not None and any(
        p.code in ("E0120", "E0122") and p.span is not None and (p.span.file, p.span.line) ==
        (block.kind_span.file, block.kind_span.line) for p in problems)
    for name, field in fields.items():
        if require and not base_missing and field.is_required() and name not in seen and name not in misspelt:
            problems.append(Diagnostic("E0103", f"`{_block_title(block)}` is missing the required field `{name}`",
                                       block.kind_span, hint=f"add `{name} = ...`",
                                       notes=(f"{name}: {field.description}",) if field.description else ()))
    for nested in block.blocks():
        problems.append(Diagnostic("E0101", f"`{_block_title(block)}` cannot contain a `{nested.kind}` block",
                                   nested.kind_span))
    for keyword in ("where", "expect"):
        for claim in block.claims(keyword):
            home = "a sweep, grid or zip block" if keyword == "where" else "an `analyze` block"
            problems.append(Diagnostic("E0111", f"`{keyword}` does not belong in `{_block_title(block)}`",
                                       claim.span, hint=f"`{keyword}` belongs in {home}; use `assert` for a "
                                       "claim checked before training"))


def _closest(name: str, choices) -> str | None:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _unknown_field(block: ast.Block, attribute: ast.Attribute, fields) -> Diagnostic:
    return Diagnostic("E0102", f"unknown field `{attribute.name}` in `{_block_title(block)}`",
                      attribute.name_span, hint=did_you_mean(attribute.name, fields),
                      notes=(f"`{_block_title(block)}` accepts: {', '.join(sorted(fields)) or 'no fields'}",))


def _block_title(block: ast.Block) -> str:
    return " ".join((block.kind,) + block.labels)


SWEEP_KINDS = ("grid", "zip")


def _check_sweep(block: ast.Block, problems: list[Diagnostic]):
    for member in block.members:
        if isinstance(member, ast.Block) and member.kind not in SWEEP_KINDS:
            problems.append(Diagnostic("E0101", f"unknown sweep block `{member.kind}`", member.kind_span,
                                       hint=did_you_mean(member.kind, SWEEP_KINDS),
                                       notes=("a sweep holds `grid { ... }` and `zip { ... }` blocks",)))
        elif isinstance(member, ast.Block):
            _check_sweep(member, problems)


def _check_analysis(block: ast.Block, problems: list[Diagnostic]):
    title = _block_title(block)
    fit = None
    for attribute in block.attributes():
        if attribute.name == "fit":
            fit = attribute
        elif attribute.name not in schema.AnalyzeConfig.model_fields:
            problems.append(_unknown_field(block, attribute, set(schema.AnalyzeConfig.model_fields) | {"fit"}))
    if fit is None:
        problems.append(Diagnostic("E0103", f"`{title}` is missing the required field `fit`", block.kind_span,
                                   hint="add e.g. `fit = power_law(y = samples_to_learn, x = d)`"))
        return
    _check_fit_call(fit, problems)


def _check_fit_call(fit: ast.Attribute, problems: list[Diagnostic]):
    call = fit.value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        problems.append(Diagnostic("E0601", "`fit` must call an analysis function", fit.value.span,
                                   hint="write e.g. `fit = power_law(y = samples_to_learn, x = d)`"))
        return
    function = call.func.name
    if function not in schema.ANALYSIS_FUNCTIONS:
        problems.append(Diagnostic("E0601", f"unknown analysis function `{function}`", call.func.span,
                                   hint=did_you_mean(function, schema.ANALYSIS_FUNCTIONS),
                                   notes=("analysis functions: " + ", ".join(schema.ANALYSIS_FUNCTIONS),)))
        return
    needs = schema.ANALYSIS_FUNCTIONS[function]
    if call.args:
        # The arguments are named, so that `x` and `y` cannot be swapped by mistake.
        named = ", ".join(f"{name} = ..." for name in needs)
        problems.append(Diagnostic("E0602", f"`{function}` takes its arguments by name", call.args[0].span,
                                   hint=f"write `{function}({named})`"))
        return
    given = {name for name, _ in call.kwargs}
    for needed in needs:
        if needed not in given:
            problems.append(Diagnostic("E0602", f"`{function}` needs the argument `{needed}`", call.span,
                                       hint=f"write `{function}(y = ..., x = ...)`"))


def _check_measure_names(measures: list[ast.Block], problems: list[Diagnostic]):
    seen: dict[str, ast.Block] = {}
    for block in measures:
        name = block.labels[-1] if block.labels else block.kind
        if name in seen:
            problems.append(Diagnostic("E0106", f"two measurements are named `{name}`", block.kind_span,
                                       hint="give the second a name: `measure KIND NAME { ... }`",
                                       notes=(f"the first is at {seen[name].span}",)))
        seen[name] = block
