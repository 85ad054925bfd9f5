"""Build summary.json and the self-contained HTML report from whatever runs have finished."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
import warnings
import zipfile
from pathlib import Path

import jinja2
import numpy as np

from wall.compiler.plan import Plan
from wall.lang.diagnostics import counted

from . import figures
from .analysis import analyze_all
from .lazy_report import lazy_theory, lazy_time_figure
from .data import TargetFunction
from .measures import stable_rank
from .store import ExperimentStore, read_number

logger = logging.getLogger(__name__)

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.globals.update(zip=zip, inf=math.inf)
TEMPLATES.filters["counted"] = counted  # `3 | counted("run")` is "3 runs", `1 | counted("run")` "1 run"


def collect_results(plan: Plan, store: ExperimentStore) -> dict[str, dict]:
    """Read the result of every finished run; a damaged run is left out with a warning."""
    results = {}
    for run in plan.runs:
        if not store.is_done(run.id):
            continue
        result = store.read_result(run.id)
        damage = _damage(store, run.id, result)
        if damage is not None:
            logger.warning("run %s is left out of the report: %s; delete %s to train it again",
                           run.id, damage, store.run_folder(run.id))
            continue
        results[run.id] = result
    return results


def _damage(store: ExperimentStore, run_id: str, result: dict) -> str | None:
    """Describe what makes a stored run unreadable, or return None when it reads."""
    try:
        store.read_metrics(run_id)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        return f"metrics.npz cannot be read ({exc})"
    for name, value in _numbers(result["measurements"]):
        try:
            float(read_number(value))
        except (TypeError, ValueError):
            return f"measurement `{name}` in result.json is {value!r}, not a number"
    return None


def _numbers(measurements: dict):
    """Yield (name, value) for the scalar measurements, the ones the report reads as numbers."""
    for name, value in measurements.items():
        if isinstance(value, dict):
            if "value" in value:
                yield f"{name}.value", value["value"]
        elif not isinstance(value, (bool, list)):
            yield name, value


def write_summary_and_report(plan: Plan, store: ExperimentStore) -> dict:
    """Analyse finished runs, write summary.json and report.html; return the summary."""
    results = collect_results(plan, store)
    # Diverged runs put NaN into medians and bands. The report states this in its text, so
    # numpy's warnings about it would only be noise on the terminal.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        analyses = analyze_all(plan, results) if results else []
        summary = _summary(plan, results, analyses)
        report = render_report(plan, store, results, analyses, summary)
    store.write_json("summary.json", summary)
    store.write_text("report.html", report)
    return summary


def _summary(plan: Plan, results: dict, analyses: list[dict]) -> dict:
    return {
        "experiment": plan.spec.name,
        "claim": plan.spec.doc,
        "spec_hash": plan.spec_hash,
        "theory": plan.theory_summary(),
        "runs": {"planned": len(plan.runs), "finished": len(results),
                 "diverged": sum(1 for r in results.values() if r["status"] == "diverged"),
                 "missing": [r.id for r in plan.runs if r.id not in results]},
        "analyses": [_analysis_record(a) for a in analyses],
    }


def _analysis_record(analysis: dict) -> dict:
    fit = analysis["result"]
    record = {k: v for k, v in analysis.items() if k != "result"}
    record["result"] = {k: v for k, v in dataclasses.asdict(fit).items() if k not in ("points", "values")}
    record["result"]["runs"] = len(fit.points if hasattr(fit, "points") else fit.values)
    record["result"]["note"] = single_run_note(fit)
    return record


def render_report(plan: Plan, store: ExperimentStore, results: dict, analyses: list[dict], summary: dict) -> str:
    groups = _finished_groups(plan, store, results)
    context = {
        "plan": plan,
        "claim": plan.spec.doc,
        "summary": summary,
        "theory": summary["theory"],
        "analyses": [_analysis_view(a) for a in analyses],
        "overlay_figure": _overlay_figure(analyses),
        "loss_figure": _loss_figure(plan, groups),
        "plateaus_drawn": any(kind == "plateaus" for run in plan.runs for kind, _ in run.config.measures.values()),
        "coefficient_figure": _coefficient_figure(groups),
        "coefficient_rows": _coefficient_rows(groups),
        "weight_figure": _weight_figure(groups),
        "lazy_theory": lazy_theory(plan),
        "lazy_figure": lazy_time_figure(groups),
        "rows": _run_rows(plan, results),
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "spec_source": plan.source,
        "spec_file": _original_spec_file(plan, store),
    }
    return TEMPLATES.get_template("report.html.j2").render(**context)


def _original_spec_file(plan: Plan, store: ExperimentStore) -> str:
    """Name the spec file the user ran. `wallc report` plans again from the stored copy,
    whose path is not meaningful, so the name comes from the plan.json the run wrote."""
    stored = store.read_previous_plan()
    if stored is not None and isinstance(stored.get("spec_file"), str) and stored.get("spec_hash") == plan.spec_hash:
        return stored["spec_file"]
    return plan.spec.file


def _analysis_view(analysis: dict) -> dict:
    result = analysis["result"]
    held = [e["held"] for e in analysis["expectations"]]
    if not held:
        verdict = "no claim"
    elif all(held):
        verdict = "held"
    else:
        verdict = "failed"
    view = {
        **analysis,
        "fit_result": result,
        "kind": "mean" if analysis["function"] in ("mean", "fraction") else "power_law",
        "verdict": verdict,
        "single_run_note": single_run_note(result),
    }
    if view["kind"] == "mean":
        view["figure"] = figures.mean_figure(result.values, result.mean, result.interval, analysis["fit"]) \
            if result.values else ""
    else:
        x_label, y_label = _axis_labels(analysis)
        view["figure"] = figures.power_law_figure(result, analysis["predicted"], x_label, y_label) \
            if result.xs else ""
    return view


def _point_text(point: dict) -> str:
    """Write a sweep point for a title or table: `d=16, scale=31.6`, floats to 4 significant digits."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items())


def single_run_note(fit) -> str | None:
    """Say when the bootstrap had one run to resample per point, so its interval has zero width."""
    if hasattr(fit, "points"):
        per_x: dict[float, int] = {}
        for x, _, _ in fit.points:
            per_x[x] = per_x.get(x, 0) + 1
        if per_x and max(per_x.values()) == 1:
            return ("one run per value of x, so the bootstrap interval has zero width and says nothing "
                    "about the spread; add seeds")
        return None
    if len(fit.values) == 1:
        return "one run, so the interval has zero width and says nothing about the spread; add seeds"
    return None


def _axis_labels(analysis: dict) -> tuple[str, str]:
    """Return the x and y of a fit as the spec wrote them, e.g. `d` and `samples_to_learn`."""
    labels = analysis.get("labels", {})
    return labels.get("x", "d"), labels.get("y", "samples to learn")


def _overlay_figure(analyses: list[dict]) -> str:
    """One plot of every power-law fit, when they all fit the same y against the same x."""
    power_laws = [a for a in analyses if a["function"] == "power_law" and a["result"].xs]
    axes = {_axis_labels(a) for a in power_laws}
    if len(power_laws) < 2 or len(axes) != 1:
        return ""  # slopes of different quantities on one plot would read as comparable
    x_label, y_label = axes.pop()
    return figures.power_law_overlay([(a["name"], a["result"]) for a in power_laws], x_label,
                                     f"{y_label} (median over seeds)")


@dataclasses.dataclass
class Group:
    """The finished runs of one program (one sweep point up to the seed) and their curves."""

    label: str
    point: dict
    config: object
    runs: list
    metrics: list[dict]
    results: list[dict]


def _finished_groups(plan: Plan, store: ExperimentStore, results: dict) -> list[Group]:
    groups = []
    for program in plan.programs:
        finished = [r for r in program.runs if r.id in results]
        if not finished:
            continue
        point = {k: v for k, v in finished[0].point.items() if k != "seed"}
        label = _point_text(point) or program.config.experiment
        groups.append(Group(label, point, program.config, finished, [store.read_metrics(r.id) for r in finished],
                            [results[r.id] for r in finished]))
    return groups


def _stacked(group: Group, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    if not all(name in m for m in group.metrics):
        return None
    length = min(len(m[name]) for m in group.metrics)
    return group.metrics[0]["step"][:length], np.stack([m[name][:length] for m in group.metrics])


def _loss_figure(plan: Plan, groups: list[Group]) -> str:
    # One panel per setting of the axes other than d, one curve per d in it.
    panels: dict[str, dict] = {}
    threshold = None
    for group in groups:
        steps, losses = _stacked(group, "test_loss")
        panel_point = {k: v for k, v in group.point.items() if k != "d"}
        panel_label = _point_text(panel_point) or "all runs"
        curve_label = f"d={group.config.target.domain.d}" if panel_point != group.point or not panel_point \
            else group.label
        curve = {"steps": steps, "losses": losses, "batch": group.config.train.batch,
                 "plateaus": _median_plateaus(group)}
        panels.setdefault(panel_label, {"label": panel_label, "curves": {}})["curves"][curve_label] = curve
        for kind, measure in group.config.measures.values():
            if kind == "samples_to_learn":
                threshold = measure.below
    if not panels:
        return ""
    return figures.grouped_loss_figure(list(panels.values())[:12], threshold)


def _median_plateaus(group: Group) -> list[tuple[int, int, float]]:
    # Draw the plateaus of the first seed only: the median curve has no plateaus of its own.
    for result in group.results[:1]:
        for value in result["measurements"].values():
            if isinstance(value, dict) and "plateaus" in value:
                return [(p["start"], p["end"], read_number(p["level"])) for p in value["plateaus"]]
    return []


def _coefficient_measurements(group: Group) -> list[dict]:
    found = []
    for result in group.results:
        for name, (kind, _) in group.config.measures.items():
            if kind == "coefficients" and name in result["measurements"]:
                found.append(result["measurements"][name])
    return found


def _coefficient_figure(groups: list[Group]) -> str:
    panels = []
    for group in groups[:12]:
        stacked = _stacked(group, "coefficients")
        found = _coefficient_measurements(group)
        if stacked is None or len(found) != len(group.runs):
            continue
        steps, coefficients = stacked
        # The measurement lists terms in staircase order; the curves are in basis order.
        names = TargetFunction.from_expansion(group.config.target.expansion()).term_names()
        order = [names.index(term) for term in found[0]["terms"]]
        learned = np.array([[read_number(t) for t in m["learned_step"]] for m in found])
        panels.append({"label": group.label, "steps": steps, "batch": group.config.train.batch,
                       "coefficients": coefficients[:, :, order], "names": found[0]["terms"],
                       "targets": found[0]["targets"], "learned_step": learned})
    return figures.coefficient_figure(panels) if panels else ""


def _coefficient_rows(groups: list[Group]) -> list[dict]:
    rows = []
    for group in groups:
        found = _coefficient_measurements(group)
        if not found:
            continue
        learned = np.array([[read_number(t) for t in m["learned_step"]] for m in found])
        samples = np.median(learned, axis=0) * group.config.train.batch
        rows.append({
            "label": group.label,
            "terms": ", ".join(f"{term}: {_format_samples(value)}" for term, value in zip(found[0]["terms"], samples)),
            "in_order": f"{sum(bool(m['in_order']) for m in found)} of {len(found)}",
            "ratio": _format_number(float(np.median([read_number(m["ratio"]) for m in found]))),
        })
    return rows


def _format_samples(value: float) -> str:
    return "not learned" if not math.isfinite(value) else f"{value:,.0f}"


def _weight_figure(groups: list[Group]) -> str:
    panels = []
    for group in groups[:8]:
        singular = _stacked(group, "singular_values")
        norms = _stacked(group, "weight_change_norm")
        if singular is None or norms is None:
            continue
        steps, values = singular
        panels.append({"label": group.label, "steps": steps, "batch": group.config.train.batch,
                       "ranks": stable_rank(values, norms[1]), "singular": values})
    return figures.weight_change_figure(panels) if panels else ""


def _run_rows(plan: Plan, results: dict) -> list[dict]:
    rows = []
    for run in plan.runs:
        result = results.get(run.id)
        row = {"id": run.id, "point": _point_text(run.point),
               "lr": f"{run.config.train.lr:.4g}", "status": result["status"] if result else "missing",
               "learned": "", "final": "", "notes": ""}
        if result:
            measurements = result["measurements"]
            lazy_measures = [n for n, (kind, _) in run.config.measures.items() if kind in ("twin_gap", "kernel_drift")]
            row["final"] = _format_number(read_number(measurements["final_test_loss"]))
            notes = []
            for name, value in measurements.items():
                if isinstance(value, dict) and value.get("diverged"):
                    row["learned"] = f"diverged at step {value['diverged_at_step']:,}"
                elif isinstance(value, dict) and "censored" in value:
                    row["learned"] = (f"> {value['lower_bound']:,} (censored)" if value["censored"]
                                      else f"{int(read_number(value['value'])):,}")
                    notes += _relapse_note(name, value, run, read_number(measurements["final_test_loss"]))
                elif isinstance(value, dict) and "plateaus" in value:
                    level = read_number(value["value"])
                    notes.append(f"{name}: " + (f"level {level:.3g} for {value['steps']:,} steps"
                                                if math.isfinite(level) else "none in range"))
                elif isinstance(value, dict) and "in_order" in value:
                    notes.append(f"{name}: {'in' if value['in_order'] else 'not in'} staircase order")
                elif name in lazy_measures:
                    notes.append(f"{name}: {read_number(value['value']):.3g} at T")
                elif isinstance(value, dict) and "stable_rank" in value:
                    notes.append(f"{name}: stable rank {read_number(value['value']):.2f}")
            row["notes"] = "; ".join(notes)
        rows.append(row)
    return rows


def _relapse_note(name: str, value: dict, run, final_loss: float) -> list[str]:
    """Flag a run that crossed the threshold but ended above it: its samples to learn
    count the first crossing, which a reader of the table would take for a stable one."""
    below = run.config.measures[name][1].below
    if value["censored"] or not final_loss > below:
        return []
    return [f"{name}: the loss first fell below {below:g}, then ended above it"]


def _format_number(value: float) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.3g}"
