"""Every diagnostic code with its long explanation, for `wallc explain` and docs/errors.md."""

from __future__ import annotations

CODES: dict[str, tuple[str, str]] = {
    "E0001": ("syntax error",
              "The file does not follow the grammar. The message names what was found and what could "
              "come next. Common slips: a missing `=` between a field and its value, `=` where `==` "
              "was meant in a condition, an unclosed `{`, and `2d` where `2 * d` was meant."),
    "E0003": ("unsupported language version",
              "The `wall X.Y` line names a version of the language that this wallc does not read."),
    "E0002": ("cannot read the spec file",
              "The path does not exist, is a directory, is not readable, or is not UTF-8 text."),
    "E0101": ("unknown block kind",
              "An experiment holds target, model, parametrization, train, sweep, measure, analyze and "
              "resources blocks; a sweep holds grid and zip blocks."),
    "E0102": ("unknown field",
              "The block's schema has no field of that name. Unknown fields are errors, never ignored, "
              "because a misspelt field would otherwise silently keep its default."),
    "E0103": ("missing required field", "The field has no default and must be set in the spec."),
    "E0104": ("missing required block", "Every experiment needs target, model, parametrization and train blocks."),
    "E0105": ("field set twice", "A field may be set once per block."),
    "E0106": ("duplicate block",
              "A second block of a kind that may appear once, two measurements with one name, or two "
              "experiments of one file with one name (each writes the results folder of its name)."),
    "E0107": ("unknown variant",
              "model, parametrization and measure blocks choose their variant with the first label, "
              "e.g. `model mlp2 { ... }`. The note lists the variants."),
    "E0108": ("wrong labels",
              "An experiment takes exactly one name: `experiment leap2 { ... }`. The name becomes its "
              "results folder, so it is made of letters, digits, `_` and `-`."),
    "E0110": ("cannot import",
              "The file named by `import` does not exist or cannot be read. Import paths are relative "
              "to the importing file: `import \"common.wall\"` next to the spec."),
    "E0111": ("misplaced claim", "`assert` belongs in the block it is about; `expect` belongs in an analyze block."),
    "E0112": ("no choice between named blocks",
              "An experiment with several named blocks of one kind (`target staircase { ... }`, "
              "`target parity { ... }`) needs a sweep axis of that kind's name that chooses one per "
              "run: `target = [staircase, parity]`."),
    "E0113": ("import cycle", "Two or more files import each other. Move what they share into a third file."),
    "E0114": ("invalid override",
              "`--set PATH=VALUE` names blocks by kind or name and then a field (`train.lr`, "
              "`model.wide.width`, `sweep.grid.d`), or a top-level `let` that the file declares by "
              "its name; the value is a spec expression. A bare field name such as `width` is an "
              "error rather than a new `let` that nothing would read."),
    "E0115": ("conflicting imports",
              "Two plain imports define the same block or `let`, or two imports use the same alias, so "
              "which one a name means would depend on the order of the imports. Import one of them "
              "`as` a name and refer to its blocks and lets through that name."),
    "E0120": ("unknown base",
              "`extends NAME` names a block of the same kind declared outside the experiment, in the "
              "same experiment, or in an imported file (`extends common.base` after "
              "`import \"common.wall\" as common`)."),
    "E0121": ("override of an undeclared field",
              "A block that extends a base may only override fields the base sets. Otherwise a "
              "misspelt override would add a field and leave the intended one at the base's value. "
              "To add a field, set it in the base."),
    "E0122": ("base of another kind",
              "A block extends a base of its own kind, and for models, parametrizations and "
              "measurements of its own variant: `model mlp2 wide extends base` needs `model mlp2 base`."),
    "E0201": ("invalid type", "The value has the wrong type for the field, e.g. a number where an integer is needed."),
    "E0202": ("out of range", "The value is outside the field's allowed range, e.g. a width of 0."),
    "W0203": ("coordinate letter of the other domain",
              "A target wrote `z1` on a hypercube or `x1` on Gaussian inputs. Both letters name the same "
              "coordinate, so the spec runs, but the domain may not be the intended one; this is a warning."),
    "W0204": ("setting without effect",
              "A field is written that no run of the experiment reads: `momentum` without the momentum "
              "optimizer, `noise` without noisy_gd, `bias_init` in a model without biases. This is a warning."),
    "W0207": ("threshold met before training",
              "A samples_to_learn threshold of 1 or more on a normalised loss is met by a net that predicts "
              "about zero, so runs can count as learned at step 0. This is a warning."),
    "E0301": ("cycle", "A name is defined in terms of itself through other names."),
    "E0302": ("unknown name", "The name is not a sweep axis, `let`, block, coordinate such as x3, or builtin."),
    "E0303": ("unknown function", "Only builtins can be called; the note lists them."),
    "E0304": ("unknown attribute", "The block has no field of that name, set or defaulted."),
    "E0305": ("not callable", "A function name used without arguments, or a call of something that is not a function."),
    "E0306": ("invalid inline object", "An inline `{ ... }` object may contain only `name = value` pairs."),
    "E0307": ("wrong arguments", "A builtin was called with the wrong number or names of arguments."),
    "E0308": ("invalid bounded sum", "Write `sum(i in a..b: expr)` or `prod(i in a..b: expr)`."),
    "E0309": ("not iterable", "The value cannot be iterated or measured."),
    "E0310": ("invalid index", "Coordinates are 1-based (`x[1]` is `x1`); lists are 0-based."),
    "E0311": ("invalid range", "`a .. b step s` needs integer ends and a positive integer step."),
    "E0312": ("invalid Hermite term", "`HeK(...)` takes a single coordinate such as `z1`."),
    "E0313": ("type mismatch", "An operator or builtin got a value of a type it does not accept."),
    "E0314": ("undefined arithmetic", "Division by zero, or a function outside its domain such as log(0)."),
    "E0315": ("invalid count", "linspace and logspace need a positive integer count."),
    "E0401": ("empty sweep", "The sweep, one of its axes, or its `where` filters leave no runs."),
    "E0402": ("unequal zip", "All lists of a `zip` must have the same length."),
    "E0403": ("invalid axis value", "Axis values are numbers, strings, booleans or names of blocks."),
    "E0404": ("axis swept twice", "An axis may appear once in a grid and its nested sub-sweeps."),
    "W0405": ("duplicate sweep points", "Points listed more than once run once; this is a warning."),
    "W0406": ("sweep axis read by nothing",
              "The values of an axis that no field, `let` or target reads configure identical runs, "
              "which train once. The name is most often misspelt; this is a warning."),
    "E0501": ("assertion failed",
              "An `assert` about the spec is false for at least one sweep point. For a leap assertion "
              "the notes show the computed leap and an ordering of the support that achieves it."),
    "E0601": ("invalid analysis", "`fit` must call an analysis function such as power_law(y = ..., x = ...)."),
    "E0602": ("invalid reference", "An argument names a measurement that does not exist or has the wrong kind."),
    "E0603": ("unknown resampling axis",
              "`over` in an analyze block names the sweep axis that the bootstrap resamples, usually "
              "`seed`. The note lists the axes of the sweep."),
    "W0605": ("analysis selects no run",
              "The `where` of a fit, written in sweep axes only, is false at every planned point, so the "
              "analysis will have no runs. This is a warning."),
    "E0604": ("lazy training setup",
              "The `lazy` parametrization trains by full-batch gradient descent on a fixed training set "
              "(`samples` and `batch` equal) with the mean squared error, and its measurements "
              "(`twin_gap`, `kernel_drift`) are logged at the interval of `measure test_loss`. "
              "`twin_gap` needs `twin = true`; both need the lazy parametrization."),
}


def explain(code: str) -> str | None:
    entry = CODES.get(code.upper())
    if entry is None:
        return None
    title, text = entry
    return f"{code.upper()}: {title}\n\n{text}"
