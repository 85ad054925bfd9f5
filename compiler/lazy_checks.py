"""Plan-time checks of specs that use the `lazy` parametrization or its measurements."""

from __future__ import annotations

from wall.lang import syntax as ast
from wall.lang.diagnostics import Diagnostic
from wall.lang.elaborate import ExperimentSpec

LAZY_MEASURES = ("twin_gap", "kernel_drift")

# Training settings that full-batch gradient descent on the lazy loss does not use, with
# the value each must keep.
UNSUPPORTED_TRAIN = {"optimizer": "sgd", "loss": "mse", "noise": 0.0, "weight_decay": 0.0,
                     "halve_every": None, "layer_steps": None, "layer_order": None}


def check_lazy(spec: ExperimentSpec, parametrization_kind: str, parametrization, train, measures) -> list[Diagnostic]:
    """List the problems of one run configuration. `parametrization` and `train` are None when invalid."""
    problems = []
    lazy = parametrization_kind == "lazy"
    for block in spec.measures:
        kind = block.labels[0] if block.labels else block.kind
        if kind not in LAZY_MEASURES:
            continue
        if not lazy:
            problems.append(Diagnostic("E0604", f"`measure {kind}` needs the `lazy` parametrization", block.kind_span,
                                       hint="use `parametrization lazy { alpha = ... }`"))
        elif kind == "twin_gap" and parametrization is not None and not parametrization.twin:
            problems.append(Diagnostic("E0604", "`measure twin_gap` needs the linearized twin", block.kind_span,
                                       hint="set `twin = true` in `parametrization lazy`"))
    if lazy and train is not None:
        problems.extend(_check_train(spec.blocks["train"], train))
    if lazy and not any(kind == "test_loss" for kind, _ in measures.values()):
        problems.append(Diagnostic("E0604", "a lazy experiment needs `measure test_loss`", spec.block.kind_span,
                                   hint="add `measure test_loss { every = ... }`; the lazy measurements are logged at its interval"))
    return problems


def _check_train(block: ast.Block, train) -> list[Diagnostic]:
    spans = {a.name: a.value.span for a in block.attributes()}
    problems = []
    if train.samples is None or train.batch != train.samples:
        problems.append(Diagnostic(
            "E0604", "lazy training is full-batch gradient descent on a fixed training set",
            spans.get("batch", block.kind_span),
            hint="set `samples = N` and `batch = N` to the same number in the train block"))
    for name, default in UNSUPPORTED_TRAIN.items():
        if getattr(train, name, default) != default:
            problems.append(Diagnostic("E0604", f"`{name}` is not supported with the lazy parametrization",
                                       spans.get(name, block.kind_span), hint=f"remove `{name}` from the train block"))
    return problems
