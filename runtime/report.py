"""Build summary.json and the self-contained HTML report from whatever runs have finished."""

from __future__ import annotations

import dataclasses
import datetime
import math
from pathlib import Path

import jinja2
import numpy as np

from wall.compiler.plan import Plan

from . import figures
from .analysis import analyze_all
from .store import ExperimentStore, read_number

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.globals.update(zip=zip, inf=math.inf)


def collect_results(plan: Plan, store: ExperimentStore) -> dict[str, dict]:
    results = {}
    for run in plan.runs:
        if store.is_done(run.id):
            results[run.id] = store.read_result(run.id)
    return results


def write_summary_and_report(plan: Plan, store: ExperimentStore) -> dict:
    """Analyse finished runs, write summary.json and report.html; return the summary."""
    results = collect_results(plan, store)
    analyses = analyze_all(plan, results) if results else []
    summary = _summary(plan, results, analyses)
    store.write_json("summary.json", summary)
    store.write_text("report.html", render_report(plan, store, results, analyses, summary))
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
    record["result"] = {k: v for k, v in dataclasses.asdict(fit).items() if k != "points"}
    return record


def render_report(plan: Plan, store: ExperimentStore, results: dict, analyses: list[dict], summary: dict) -> str:
    theory = summary["theory"]
    predicted = theory[0]["predicted_sample_exponent"] if len(theory) == 1 else None
    context = {
        "plan": plan,
        "claim": plan.spec.doc,
        "summary": summary,
        "theory": theory,
        "analyses": [_analysis_view(a, predicted) for a in analyses],
        "loss_figure": _loss_figure(plan, store, results),
        "rows": _run_rows(plan, results),
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "spec_source": plan.source,
    }
    return TEMPLATES.get_template("report.html.j2").render(**context)


def _analysis_view(analysis: dict, predicted) -> dict:
    fit = analysis["result"]
    held = [e["held"] for e in analysis["expectations"]]
    return {
        **analysis,
        "fit_result": fit,
        "verdict": "held" if held and all(held) else ("failed" if held else "no claim"),
        "figure": figures.power_law_figure(fit, predicted, "d", "samples to learn") if fit.xs else "",
    }


def _loss_figure(plan: Plan, store: ExperimentStore, results: dict) -> str:
    curves, threshold, batch = {}, None, 1
    for program in plan.programs:
        finished = [r for r in program.runs if r.id in results]
        if not finished:
            continue
        loaded = [store.read_metrics(r.id) for r in finished]
        length = min(len(m["test_loss"]) for m in loaded)
        losses = np.stack([m["test_loss"][:length] for m in loaded])
        curves[f"d={program.config.target.domain.d}"] = (loaded[0]["step"][:length], losses)
        batch = program.config.train.batch
        for kind, measure in program.config.measures.values():
            if kind == "samples_to_learn":
                threshold = measure.below
    if not curves:
        return ""
    return figures.loss_curves_figure(curves, threshold, batch)


def _run_rows(plan: Plan, results: dict) -> list[dict]:
    rows = []
    for run in plan.runs:
        result = results.get(run.id)
        row = {"id": run.id, "point": ", ".join(f"{k}={v}" for k, v in run.point.items()),
               "lr": f"{run.config.train.lr:.4g}", "status": result["status"] if result else "missing",
               "learned": "", "final": ""}
        if result:
            measurements = result["measurements"]
            row["final"] = _format_number(read_number(measurements["final_test_loss"]))
            for name, value in measurements.items():
                if isinstance(value, dict) and "censored" in value:
                    row["learned"] = (f"> {value['lower_bound']:,} (censored)" if value["censored"]
                                      else f"{int(read_number(value['value'])):,}")
        rows.append(row)
    return rows


def _format_number(value: float) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.3g}"
