"""Render ``report.html`` from the run directory alone (Jinja2, autoescaped; plotly inline)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

__all__ = ["render_report", "report_context"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("archselect.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)


def _json_for_script(data: Any) -> str:
    """JSON safe inside <script>: '<', '>' and '&' escaped so no tag can close the block."""
    text = json.dumps(data, allow_nan=False, default=str)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _fmt(value: Any, metric: str | None = None) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if metric == "accuracy":
        return f"{value:.2%}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def report_context(run_dir: Path) -> dict[str, Any]:
    """Everything the template shows, read from the run directory."""
    from archselect._run import Run

    run = Run(run_dir)
    profile, plan, rec, result = run.profile, run.plan, run.recommendation, run.search_result
    trials = [t.to_dict() for t in result.trials]
    for t in trials:
        t.pop("val_scores_b64", None)
    plots = {
        "metric": plan.metric,
        "direction": plan.direction,
        "trials": [
            {
                "number": t["number"],
                "family": t["family"],
                "state": t["state"],
                "value": t["val_metric"],
                "history": t["history_val"],
            }
            for t in trials
        ],
        "best_trials": [f.best_trial for f in rec.families if f.best_trial is not None],
        "forecast": rec.forecast_plot or None,
        "token_lengths": (profile.evidence.get("text") or {}).get("length_histogram"),
    }
    return {
        "profile": profile,
        "plan": plan,
        "rec": rec,
        "trials": result.trials,
        "baselines": result.baselines,
        "failures": [t for t in result.trials if t.state == "FAIL"],
        "evidence_json": json.dumps(profile.evidence, indent=1, default=str),
        "plot_data": _json_for_script(plots),
        "fmt": _fmt,
        "metric": plan.metric,
        "run": plan.run,
    }


def render_report(run_dir: str | Path) -> Path:
    """Write ``RUN_DIR/report.html`` and return its path."""
    run_dir = Path(run_dir)
    ctx = report_context(run_dir)
    html = _ENV.get_template("report.html.j2").render(**ctx, plotly_js=_plotly_js())
    path = run_dir / "report.html"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
