"""Render ``report.html`` from the run directory alone (Jinja2, autoescaped; plotly inline).

Every user-supplied string (column names, class labels, file names, parameter names)
reaches the page either through Jinja2's autoescaping or inside the one JSON block, whose
``<``, ``>`` and ``&`` are written as ``\\u003c``-style escapes so no tag can close the
block; the page's script HTML-escapes labels again before plotly sees them (plotly reads a
few tags inside labels). Pictures of image rows are PNG ``data:`` URIs made here; nothing on
the page loads from the network.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import math
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from archselect._common.faults import write_atomic
from archselect._common.secrets import mask_url
from archselect.core.kinds import PreviewKind, layout_traits
from archselect.core.records import ALL_FAMILIES, DEADLINE_NOTE
from archselect.core.verdict import MEMORY_NOISE_MB, Compared, Finding, label, unit_for
from archselect.report._data import (
    evidence_rows,
    finite,
    fmt,
    image_rows,
    num,
    nums,
    preview_plots,
    structure_checks,
)
from archselect.report._ensemble import FORECAST_NOTE, ensemble_view
from archselect.report._verdict import first_screen
from archselect.rundir import MODEL, PLAN, RECOMMENDATION, RunDir

__all__ = ["notebook_html", "render_report", "report_context"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("archselect.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)

#: plotly.js shipped inside the package (see vendor/README.md for its origin and licence).
PLOTLY_BUNDLE = "vendor/plotly-cartesian.min.js"
#: The bundle is embedded gzip-compressed at this level (9: smallest; once per process).
PLOTLY_GZIP_LEVEL = 9
#: Characters at the start of the bundle searched for its version line.
PLOTLY_HEADER_CHARS = 200
#: Sample images are drawn this many CSS pixels wide (nearest-neighbour upscaled).
SAMPLE_IMAGE_PX = 64
#: Parameter importances (fANOVA) of a group with fewer finished trials are not shown:
#: with a handful of trials the ranking is noise.
MIN_IMPORTANCE_TRIALS = 10
#: Parameters shown per leaderboard row at most.
MAX_LEADERBOARD_PARAMS = 12
#: Latency columns of the head-to-head that are always shown; any other ``latency*`` field
#: of a family summary (e.g. latency at sequence lengths T, 2T, 4T) becomes extra columns.
_BASE_LATENCY = ("latency_b1_ms", "latency_b256_ms")
#: Trial states of queued trials that never ran (an interrupted run leaves its queue).
_NOT_STARTED = ("WAITING",)


def _json_for_script(data: Any) -> str:
    """JSON safe inside <script>: '<', '>' and '&' escaped so no tag can close the block."""
    text = json.dumps(data, allow_nan=False, default=str, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _plotly_js() -> str:
    """The vendored cartesian-only plotly.js build (scatter, bar, heatmap; no maps, no 3-D)."""
    return (resources.files("archselect.report") / PLOTLY_BUNDLE).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _plotly_embedded() -> tuple[str, str]:
    """``(version, base64 of the gzip-compressed bundle)`` for the page to inflate.

    Compressed, the 1.5 MB bundle takes 0.66 MB of the page; ``mtime=0`` keeps the bytes,
    and so the page, identical from one render to the next.
    """
    js = _plotly_js()
    found = re.search(r"plotly\.js \(cartesian[^)]*\) v(\S+)", js[:PLOTLY_HEADER_CHARS])
    packed = gzip.compress(js.encode("utf-8"), compresslevel=PLOTLY_GZIP_LEVEL, mtime=0)
    return (found.group(1) if found else "unknown"), base64.b64encode(packed).decode("ascii")


# --- trials, families, plots --------------------------------------------------------------------


_LENGTH_LATENCY = re.compile(r"^latency_len(\d+)x_ms$")


def _latency_columns(families: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    """Extra head-to-head latency columns ``(title, key, subkey)`` found in the summaries.

    ``latency_len{k}x_ms`` (sequence data: batch-1 latency at length k·T) is titled with
    its length; any other ``latency*`` field (or dict of them) is shown under its name.
    """
    columns: list[tuple[str, str, str | None]] = []
    seen: set[tuple[str, str | None]] = set()
    seq_len = next((f["seq_len"] for f in families if f.get("seq_len")), None)
    for fam in families:
        for key, value in fam.items():
            length = _LENGTH_LATENCY.match(key)
            if length and value is not None and (key, None) not in seen:
                seen.add((key, None))
                k = int(length.group(1))
                where = f"{k}T" if k > 1 else "T"
                if seq_len:
                    where += f" = {k * int(seq_len)}"
                columns.append((f"latency b1 at {where} (ms/sample)", key, None))
                continue
            if length:
                continue
            if not key.startswith("latency") or key in _BASE_LATENCY:
                continue
            if isinstance(value, dict):
                for sub, v in value.items():
                    if v is not None and (key, sub) not in seen:
                        seen.add((key, sub))
                        columns.append((f"latency at {sub} (ms/sample)", key, sub))
            elif value is not None and (key, None) not in seen:
                seen.add((key, None))
                title = key.removeprefix("latency_").removesuffix("_ms").replace("_", " ")
                columns.append((f"latency {title} (ms/sample)", key, None))
    return columns


def _cell(row: dict[str, Any], key: str, sub: str | None) -> Any:
    value = row.get(key)
    if sub is not None:
        return value.get(sub) if isinstance(value, dict) else None
    return value


def _pareto(points: list[tuple[float, float, int]], maximize: bool) -> list[int]:
    """Trial numbers on the front of (metric, latency): better metric, lower latency."""
    sign = 1.0 if maximize else -1.0
    front, best = [], -math.inf
    for metric, _latency, number in sorted(points, key=lambda p: (p[1], -sign * p[0])):
        if sign * metric > best:
            front.append(number)
            best = sign * metric
    return front


def _short_params(params: dict[str, Any], family: str) -> str:
    prefix = family + "."
    parts = []
    for k, v in params.items():
        if k == "family":
            continue
        value = f"{v:.3g}" if isinstance(v, float) else str(v)
        parts.append(f"{k.removeprefix(prefix)}={value}")
    return ", ".join(parts[:MAX_LEADERBOARD_PARAMS])


def _memory(value: Any, device: str | None) -> str:
    """Peak memory in MB; on CPU, figures under the noise floor are marked as noise."""
    if not finite(value):
        return "—"
    if (device or "cpu").startswith("cpu") and value < MEMORY_NOISE_MB:
        return f"{value:.0f} (noise)"
    return f"{value:.0f}"


def _wall_time(screen: dict[str, Any], trials: list[Any], baselines: Iterable[Any]) -> str:
    """The run's wall time: its recorded phases, else the sum of its trials and baselines."""
    if screen.get("total_s"):
        search = sum(v for k, v in screen.get("phases", ()) if k == "search")
        of_which = f", of which the search {search:,.0f} s" if search else ""
        return f"{screen['total_s']:,.0f} s in all (recorded phases){of_which}"
    spent = [t.duration_s for t in trials if finite(t.duration_s)]
    spent += [b.train_time_s for b in baselines if finite(getattr(b, "train_time_s", None))]
    if not spent:
        return "not recorded"
    return (
        f"{sum(spent):,.0f} s summed over {len(spent)} trials and baselines "
        "(the run's own wall time is not recorded)"
    )


#: Keys of plan.json's ``run`` record (``RunInfo``) that name the machine.
_MACHINE_KEYS = (("cpu_model", "CPU"), ("gpu_model", "GPU"))


def _machine(run: dict[str, Any], trials: list[Any]) -> dict[str, str]:
    """CPU/GPU model, devices the trials ran on, and the number of processes (if recorded)."""
    models = [f"{label} {run[key]}" for key, label in _MACHINE_KEYS if run.get(key)]
    if run.get("cpu_model") and not run.get("gpu_model"):
        models.append("no GPU used")
    devices = sorted({str(t.device) for t in trials if t.device})
    threads = sorted({int(t.threads) for t in trials if finite(getattr(t, "threads", None))})
    procs = run.get("processes")
    if procs is not None:
        where = "trials ran in the main process" if procs == 1 else "trial processes"
        procs = f"{procs} ({where}" + (
            f"; {', '.join(map(str, threads))} torch thread{'s' if threads != [1] else ''} "
            "per trial)"
            if threads
            else ")"
        )
    return {
        "models": "; ".join(models) or "not recorded by this run",
        "devices": ", ".join(devices) or "—",
        "processes": procs or "not recorded by this run",
    }


def _failure_groups(failures: list[Any]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for t in failures:
        reason = (t.error or "unknown").split("\n")[0]
        counts[reason] = counts.get(reason, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])


def _baseline_state(b: Any) -> str:
    """``failed`` / ``skipped`` / ``1 / 0 / 0`` for the head-to-head's trial-count column."""
    if b.error:
        return "failed"
    if getattr(b, "note", None):
        return "skipped"
    return "1 / 0 / 0"


def _baseline_what(b: Any) -> str:
    return str(getattr(b, "description", "") or "")


#: What the head-to-head's "compared at" column says for each way a family was measured.
_COMPARED: dict[str, str] = {
    Compared.FULL: "full fidelity",
    Compared.REDUCED: "reduced fidelity",
    Compared.INSUFFICIENT: "insufficient: not trained enough",
}


def _compared(fam: dict[str, Any]) -> str:
    """How a family was compared, in the head-to-head's words ("—" in older runs)."""
    text = _COMPARED.get(fam.get("compared") or "", "—")
    if fam.get("finding") == Finding.DID_NOT_LEARN:
        text += "; did not learn (a finding)"
    elif fam.get("at_chance") and fam.get("compared") != Compared.INSUFFICIENT:
        text += "; at chance"
    return text


def _families(rec: Any) -> tuple[list[dict[str, Any]], list[tuple[str, str, str | None]]]:
    families = [f.to_dict() for f in rec.families]
    latency_cols = _latency_columns(families)
    for fam in families:
        fam["extra_latency"] = [_cell(fam, key, sub) for _, key, sub in latency_cols]
        fam["compared_text"] = _compared(fam)
    return families, latency_cols


def _plot_trials(trials: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "n": t.number,
            "f": t.family,
            "s": t.state,
            "v": num(t.val_metric),
            "h": nums(t.history_val),
            "ht": nums(getattr(t, "history_train", ())),
            "lat": num(t.latency_b1_ms),
            "tr": num(t.train_metric),
        }
        for t in trials
    ]


def _front_points(trials: list[Any]) -> list[tuple[float, float, int]]:
    return [
        (float(t.val_metric), float(t.latency_b1_ms), t.number)
        for t in trials
        if t.state == "COMPLETE"
        and t.val_metric is not None
        and t.latency_b1_ms is not None
        and math.isfinite(t.val_metric)
        and math.isfinite(t.latency_b1_ms)
    ]


def _importances(rec: Any, trials: list[Any]) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """Parameter importances of the groups with enough finished trials, and the others."""
    finished = {
        fam: sum(t.state == "COMPLETE" and t.family == fam for t in trials)
        for fam in {t.family for t in trials}
    }
    finished[ALL_FAMILIES] = sum(t.state == "COMPLETE" for t in trials)
    importances, thin = {}, []
    for group, vals in (getattr(rec, "importances", None) or {}).items():
        if finished.get(group, 0) < MIN_IMPORTANCE_TRIALS:
            thin.append((group, finished.get(group, 0)))
            continue
        ranked = sorted(vals.items(), key=lambda kv: -kv[1])
        importances[group] = {k: num(v) for k, v in ranked}
    return importances, thin


def _learning_curves(rec: Any) -> list[dict[str, Any]]:
    """The learning curves' points (rows, metric, interval) for the plot."""
    return [
        {
            "name": label(c.candidate),
            "points": [
                {"rows": p.rows, "m": num(p.metric), "lo": num(p.low), "hi": num(p.high)}
                for p in c.points
            ],
        }
        for c in rec.learning_curves
        if c.points
    ]


def _plots(run: RunDir, rec: Any, trials: list[Any], star: str | None) -> dict[str, Any]:
    profile, plan = run.profile, run.plan
    metric = plan.metric
    importances, _ = _importances(rec, trials)
    stored_front = [p.trial for p in getattr(rec, "pareto_front", ()) or ()]
    evaluation = getattr(rec, "evaluation", None)
    preview = getattr(profile, "preview", None)
    # the recommended trial is starred only when a network is what is exported
    winner = rec.trial if star is not None and star == rec.family else None
    return {
        "metric": metric,
        "pct": unit_for(metric).percent,
        "maximize": plan.direction == "maximize",
        "families": list(plan.family_names),
        "trials": _plot_trials(trials),
        "best_trials": [f.best_trial for f in rec.families if f.best_trial is not None],
        "winner": winner,
        "importances": importances,
        "winner_family": rec.family,
        "pareto": stored_front or _pareto(_front_points(trials), plan.direction == "maximize"),
        "data": preview_plots(preview),
        "evaluation": evaluation.to_dict() if evaluation is not None else None,
        "forecast": getattr(rec, "forecast_plot", None) or None,
        "token_lengths": (profile.evidence.get("text") or {}).get("length_histogram"),
        "learning": _learning_curves(rec),
    }


def _verdict_context(run: RunDir, rec: Any, raw_rec: dict[str, Any]) -> dict[str, Any]:
    """The first screen, the head-to-head (with its ★) and the Why list."""
    plan, result = run.plan, run.search_result
    screen = first_screen(rec, run.profile, plan, run.run_dir)
    families, latency_cols = _families(rec)
    forecast = layout_traits(plan.layout).forecast
    return {
        "verdict": screen["headline"],
        "screen": screen,
        "text": screen["text"],
        "families": families,
        "latency_cols": [title for title, _, _ in latency_cols],
        "baselines": result.baselines,
        "ensemble": ensemble_view(raw_rec, plan.metric),
        "forecast_note": FORECAST_NOTE if forecast else None,
        "reasons": screen["text"].reasons,
    }


def _run_context(run: RunDir, trials: list[Any], screen: dict[str, Any]) -> dict[str, Any]:
    """The reproduce section: command, storage, wall time, machine."""
    plan = run.plan
    info = plan.run
    plan_raw = json.loads((run.run_dir / PLAN).read_text(encoding="utf-8"))
    return {
        "run": info,
        "storage": mask_url(info.storage) if info is not None else "",
        "data_name": Path(info.data_path).name if info is not None and info.data_path else None,
        "wall": _wall_time(screen, trials, run.search_result.baselines),
        "machine": _machine(plan_raw.get("run") or {}, trials),
        "has_model": (run.run_dir / MODEL / "config.json").exists(),
    }


def _data_context(profile: Any) -> dict[str, Any]:
    """The data section: evidence, the profiler's tests, sample pictures."""
    preview = getattr(profile, "preview", None)
    measured, thresholds = evidence_rows(profile.evidence)
    return {
        "profile": profile,
        "evidence_rows": measured,
        "threshold_rows": thresholds,
        "checks": structure_checks(profile.evidence),
        "preview": preview,
        "image_rows": image_rows(preview)
        if preview is not None and preview.kind == PreviewKind.IMAGE
        else [],
    }


def _trial_context(rec: Any, trials: list[Any], failures: list[Any]) -> dict[str, Any]:
    """The leaderboard, failures and importances' notes."""
    states: dict[str, int] = {}
    for t in trials:
        states[t.state] = states.get(t.state, 0) + 1
    _, thin = _importances(rec, trials)
    return {
        "cv_folds": next((t.cv_folds for t in trials if getattr(t, "cv_folds", None)), None),
        "deadline_stops": sum(
            (getattr(t, "note", None) or "").startswith(DEADLINE_NOTE) for t in trials
        ),
        "trials": trials,
        "trial_states": states,
        "failures": failures,
        "failure_groups": _failure_groups(failures),
        "thin_importances": thin,
        "device_of": {t.number: t.device for t in trials},
    }


def report_context(run_dir: Path) -> dict[str, Any]:
    """Everything the template shows, read from the run directory alone.

    Example:
        >>> ctx = report_context(Path("runs/digits"))  # doctest: +SKIP
        >>> ctx["text"].title  # doctest: +SKIP
        'archselect report — cnn2d'
    """
    run = RunDir(run_dir)
    plan, rec, result = run.plan, run.recommendation, run.search_result
    metric = plan.metric
    unit = unit_for(metric)
    raw_rec = json.loads((Path(run_dir) / RECOMMENDATION).read_text(encoding="utf-8"))
    trials = [t for t in result.trials if t.state not in _NOT_STARTED]
    ctx = _verdict_context(run, rec, raw_rec)
    plots = _plots(run, rec, trials, ctx["text"].star)
    ctx.update(_data_context(run.profile))
    ctx.update(_trial_context(rec, trials, [t for t in trials if t.state == "FAIL"]))
    ctx.update(_run_context(run, trials, ctx["screen"]))
    ctx.update(
        plan=plan,
        rec=rec,
        metric=metric,
        objectives=tuple(getattr(rec, "objectives", ()) or getattr(plan, "objectives", ()) or ()),
        baseline_failures=[b for b in result.baselines if b.error or getattr(b, "note", None)],
        plots=plots,
        plot_data=_json_for_script(plots),
        min_importance_trials=MIN_IMPORTANCE_TRIALS,
        noise_note=(
            f"Peak memory on CPU is the process's resident-memory growth; figures under "
            f"{MEMORY_NOISE_MB:.0f} MB are marked (noise): they move with the allocator, not "
            "with the model; the selection counts a memory difference only above that floor."
        ),
        memory=_memory,
        fmt=fmt,
        diff=lambda v: unit.signed(v) if v is not None else "—",
        short_params=_short_params,
        baseline_state=_baseline_state,
        baseline_what=_baseline_what,
        label=label,
        sample_px=SAMPLE_IMAGE_PX,
    )
    return ctx


def render_report(run_dir: str | Path) -> Path:
    """Write ``RUN_DIR/report.html`` and return its path.

    Example:
        >>> render_report("runs/digits")  # doctest: +SKIP
        PosixPath('runs/digits/report.html')
    """
    run_dir = Path(run_dir)
    ctx = report_context(run_dir)
    version, packed = _plotly_embedded()
    html = _ENV.get_template("report.html.j2").render(
        **ctx, plotly_version=version, plotly_gz=packed
    )
    path = run_dir / "report.html"
    write_atomic(path, lambda tmp: tmp.write_text(html, encoding="utf-8"))  # no .tmp left
    return path


def notebook_html(run_dir: str | Path) -> str:
    """The verdict card and the head-to-head table as an HTML fragment (no plotly, no script).

    ``Run._repr_html_`` shows it in Jupyter.

    Example:
        >>> html = notebook_html("runs/digits")  # doctest: +SKIP
        >>> html.startswith('<div class="archselect-run">')  # doctest: +SKIP
        True
    """
    ctx = report_context(Path(run_dir))
    return _ENV.get_template("notebook.html.j2").render(**ctx, run_dir=str(run_dir))
