"""The report's first screen in words: what to use, how sure, at what cost, what was not tried.

One number format throughout: accuracy-like metrics as percentages ("97.5 %"),
their differences in percentage points ("+0.8 points"); other metrics (RMSE, …) with four
significant digits. Fields that newer runs add to ``recommendation.json`` (``kind``,
``top_scorer``, ``verdict_stability``, ``phase_seconds``, ``budget_s``) are read from the
raw JSON when the record type does not carry them, and left out when absent.
"""

from __future__ import annotations

import math
import re
from typing import Any

from archselect.core.kinds import describe_data

__all__ = ["first_screen", "in_points", "metric_diff", "metric_value"]

#: Between a number and its unit, so "95.0 %" never breaks across lines.
NBSP = "\u00a0"
ACCURACY_METRICS = ("accuracy", "balanced_accuracy", "f1", "macro_f1")
#: A verdict that holds in fewer resamples than this is called a coin toss …
COIN_TOSS_SHARE = 0.7
#: … and one that holds in at least this many, stable.
STABLE_SHARE = 0.9
#: Peak-memory differences below this many MB are measurement noise on CPU (process RSS
#: moves by a few MB for reasons unrelated to the model; the selection uses the same floor).
MEMORY_NOISE_MB = 32.0
#: A cost ratio is worth stating when one side is at least this many times the other.
MIN_RATIO = 1.1
#: What the profiler's confidence means (archselect.profile: 0.5 a guess … 1.0 certain).
CONFIDENCE_SCALE = "on a scale from 0.5 (a guess) to 1 (certain)"


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def metric_value(value: Any, metric: str) -> str:
    """A metric in the report's one format.

    Example:
        >>> metric_value(0.97512, "accuracy").replace(NBSP, " "), metric_value(0.1234567, "rmse")
        ('97.5 %', '0.1235')
    """
    if not _finite(value):
        return "—"
    if metric in ACCURACY_METRICS:
        return f"{value * 100:.1f}{NBSP}%"
    return f"{value:.4g}"


def metric_diff(value: Any, metric: str) -> str:
    """A difference of the metric: signed percentage points for accuracy-like metrics.

    Example:
        >>> metric_diff(-0.0083, "accuracy").replace(NBSP, " "), metric_diff(0.012, "rmse")
        ('−0.8 points', '+0.012')
    """
    if not _finite(value):
        return "n/a"
    text = f"{value * 100:+.1f}{NBSP}points" if metric in ACCURACY_METRICS else f"{value:+.3g}"
    return text.replace("-", "−")


_SIGNED = re.compile(r"(?<![\w.])([+-]\d*\.\d+)(?![\d%]| %| points)")


def in_points(text: str, metric: str) -> str:
    """Signed fractions in a sentence of the selection as points (accuracy-like metrics).

    Example:
        >>> text = in_points("margin +0.00278 (95% interval -0.006 to +0.014)", "accuracy")
        >>> text.replace(NBSP, " ")
        'margin +0.3 points (95 % interval −0.6 points to +1.4 points)'
    """
    if metric not in ACCURACY_METRICS:
        return text
    text = _SIGNED.sub(lambda m: metric_diff(float(m.group(1)), metric), text)
    return re.sub(r"(\d)%", "\\1" + NBSP + "%", text)


def _ratio(cheap: Any, dear: Any) -> float | None:
    if not (_finite(cheap) and _finite(dear)) or cheap <= 0 or dear <= 0:
        return None
    return float(dear) / float(cheap)


def _times(ratio: float) -> str:
    return f"×{ratio:.0f}" if ratio >= 10 else f"×{ratio:.1f}"


def cost_ratios(cheap: dict[str, Any], dear: dict[str, Any]) -> list[str]:
    """The measured ways ``cheap`` costs less than ``dear``, as ratios with their values
    (each value preceded by its family's name where the dicts carry one).

    Peak memory counts only above :data:`MEMORY_NOISE_MB`.

    Example:
        >>> cheap = {"family": "cnn2d", "latency_b256_ms": 0.05, "n_params": 3000,
        ...          "peak_memory_mb": 3.0}
        >>> dear = {"family": "resnet_small", "latency_b256_ms": 1.0, "n_params": 186000,
        ...         "peak_memory_mb": 20.0}
        >>> for why in cost_ratios(cheap, dear): print(why)
        latency ×20 lower (cnn2d 0.05 ms vs resnet_small 1 ms per sample at batch 256)
        parameters ×62 fewer (cnn2d 3,000 vs resnet_small 186,000)
    """
    name_a = f"{cheap['family']} " if cheap.get("family") else ""
    name_b = f"{dear['family']} " if dear.get("family") else ""
    out = []
    # the selection's own latency figure (batch 256) where both have it, else batch 1
    for key, batch in (("latency_b256_ms", 256), ("latency_b1_ms", 1)):
        lat = _ratio(cheap.get(key), dear.get(key))
        if lat is None:
            continue
        if lat >= MIN_RATIO:
            out.append(
                f"latency {_times(lat)} lower ({name_a}{cheap[key]:.2g} ms vs "
                f"{name_b}{dear[key]:.2g} ms per sample at batch {batch})"
            )
        break
    params = _ratio(cheap.get("n_params"), dear.get("n_params"))
    if params is not None and params >= MIN_RATIO:
        out.append(
            f"parameters {_times(params)} fewer ({name_a}{int(cheap['n_params']):,} vs "
            f"{name_b}{int(dear['n_params']):,})"
        )
    mem_a: Any = cheap.get("peak_memory_mb")
    mem_b: Any = dear.get("peak_memory_mb")
    if _finite(mem_a) and _finite(mem_b) and float(mem_b) - float(mem_a) >= MEMORY_NOISE_MB:
        out.append(f"peak memory {name_a}{mem_a:.0f} MB vs {name_b}{mem_b:.0f} MB")
    return out


def _describe_data(profile: Any) -> str:
    return describe_data(profile.layout, tuple(profile.input_shape))


def not_searched(plan: Any, profile: Any) -> list[str]:
    """Registered families the plan left out, each with why (its layouts, or the user's list).

    Example:
        A run on 8×8 images: ``['cnn1d, gru, lstm, rnn (they fit series, series_padded,
        forecast, text) and tcn (it fits series, forecast): the data is an 8×8 image']``.
    """
    from archselect.core.spaces import family_layouts

    fits = family_layouts()
    planned = set(plan.family_names)
    layout = profile.layout
    by_layouts: dict[tuple[str, ...], list[str]] = {}
    chosen_out = []
    for name, layouts in sorted(fits.items()):
        if name in planned:
            continue
        if layout in layouts:
            chosen_out.append(name)
        else:
            by_layouts.setdefault(layouts, []).append(name)
    lines = []
    if by_layouts:
        parts = []
        for layouts, names in by_layouts.items():
            verb = "they fit" if len(names) > 1 else "it fits"
            parts.append(f"{', '.join(names)} ({verb} {', '.join(layouts)})")
        joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        lines.append(f"{joined}: the data is {_describe_data(profile)}")
    if chosen_out:
        why = "left out by --families" if "--families" in _command(plan) else "not in the plan"
        lines.append(f"{', '.join(chosen_out)}: {why}")
    return lines


def _command(plan: Any) -> str:
    run = getattr(plan, "run", None)
    return str(getattr(run, "command", "") or "")


def _extra(rec: Any, raw: dict[str, Any], name: str) -> Any:
    value = getattr(rec, name, None)
    return value if value not in (None, "", {}) else raw.get(name)


def stability_phrase(stability: Any) -> str | None:
    """``verdict_stability`` in words, or None when absent or empty.

    Example:
        >>> shares = {"cnn2d": 0.58, "mlp": 0.42}
        >>> stability_phrase({"resamples": 1000, "shares": shares}).replace(NBSP, " ")
        'cnn2d in 58 % of 1,000 resamples — a coin toss (mlp 42 %)'
    """
    if not isinstance(stability, dict):
        return None
    shares = {str(k): float(v) for k, v in (stability.get("shares") or {}).items() if _finite(v)}
    n: Any = stability.get("resamples")
    if not shares or not _finite(n):
        return None
    ranked = sorted(shares.items(), key=lambda kv: -kv[1])
    name, top = ranked[0]
    if top < COIN_TOSS_SHARE:
        word = "a coin toss"
    elif top < STABLE_SHARE:
        word = "fairly stable"
    else:
        word = "stable"
    others = ", ".join(f"{k} {v * 100:.0f}{NBSP}%" for k, v in ranked[1:4] if v > 0)
    return f"{name} in {top * 100:.0f}{NBSP}% of {int(n):,} resamples — {word}" + (
        f" ({others})" if others else ""
    )


def _best(rows: list[dict[str, Any]], maximize: bool) -> dict[str, Any] | None:
    scored = [r for r in rows if _finite(r.get("val_metric"))]
    if not scored:
        return None
    return max(scored, key=lambda r: r["val_metric"] if maximize else -r["val_metric"])


#: Phases of ``phase_seconds`` recorded after the report is written (not shown in it), and
#: the prefix of the per-family trial times (parts of ``search``, not added to the total).
AFTER_THE_REPORT = ("report", "total")
FAMILY_PHASE_PREFIX = "trials: "


def first_screen(
    rec: Any, raw: dict[str, Any], profile: Any, plan: Any, test_what: str
) -> dict[str, Any]:
    """The first screen's sentences (None where nothing can be said), by element id."""
    metric = plan.metric
    maximize = plan.direction == "maximize"
    sign = 1.0 if maximize else -1.0
    families = [f.to_dict() for f in rec.families]
    by_name = {f["family"]: f for f in families}
    kind = _extra(rec, raw, "kind") or "family"
    top_name = _extra(rec, raw, "top_scorer")
    top = by_name.get(top_name) if top_name else _best(families, maximize)
    out: dict[str, Any] = dict.fromkeys(
        ("headline", "top_scorer", "recommended", "why", "stability", "cost", "baseline")
    )
    out["not_searched"] = not_searched(plan, profile)
    out["data"] = (
        f"{_describe_data(profile)}, {profile.task}, {profile.n_rows:,} rows; the profiler's "
        f"confidence that it is {profile.layout} data is {profile.confidence:.2f} "
        f"{CONFIDENCE_SCALE}"
    )
    out["stability"] = stability_phrase(_extra(rec, raw, "verdict_stability"))
    phases = _extra(rec, raw, "phase_seconds")
    budget = _extra(rec, raw, "budget_s")
    # the report's own time and the command's total are known only after it is written
    out["phases"] = (
        [
            (str(k), float(v))
            for k, v in (phases or {}).items()
            if _finite(v) and k not in AFTER_THE_REPORT
        ]
        if isinstance(phases, dict)
        else []
    )
    main = [v for k, v in out["phases"] if not k.startswith(FAMILY_PHASE_PREFIX)]
    out["total_s"] = sum(main) if main else None
    out["budget_s"] = float(budget) if _finite(budget) else None
    if rec.family is None and kind != "baseline":
        out["headline"] = rec.headline or (
            "No deep family finished a trial; nothing can be recommended."
        )
        return out
    base_name, base_val = rec.baseline_best, rec.baseline_val_metric
    if kind == "baseline":
        deep = top or _best(families, maximize)
        chosen_name = _extra(rec, raw, "recommended")
        name = (
            chosen_name
            if chosen_name and chosen_name not in by_name
            else rec.family
            if rec.family and rec.family not in by_name
            else base_name
        )
        if deep is not None:
            diff = sign * (deep["val_metric"] - (base_val if _finite(base_val) else math.nan))
            out["headline"] = (
                f"Use {name}: no deep family earns its cost here; best deep family "
                f"{deep['family']} {metric_value(deep['val_metric'], metric)} validation "
                f"{metric} ({metric_diff(diff, metric)} against {name})."
            )
            out["top_scorer"] = (
                f"best deep family {deep['family']}: validation {metric} "
                f"{metric_value(deep['val_metric'], metric)} (trial {deep['best_trial']})"
            )
        else:
            out["headline"] = f"Use {name}: no deep family finished a trial."
        out["recommended"] = (
            f"{name} (non-deep baseline): validation {metric} {metric_value(base_val, metric)}"
            f", test {metric_value(rec.baseline_test_metric, metric)}"
        )
        out["why"] = (
            f"the baseline {name} scores {metric_value(base_val, metric)} against the best deep "
            f"family's {metric_value(deep['val_metric'], metric)}; a deep model is dearer to "
            "train and run, so it must do clearly better to be worth it"
            if deep is not None
            else None
        )
        return out
    chosen = by_name.get(rec.family, {})
    test = rec.final_test_metric if rec.final_test_metric is not None else rec.test_metric
    out["headline"] = (
        f"Use {rec.family}: test {metric} {metric_value(test, metric)} ({test_what})."
    )
    out["recommended"] = (
        f"{rec.family}: validation {metric} {metric_value(rec.val_metric, metric)} "
        f"(trial {rec.trial}), test {metric_value(test, metric)} ({test_what})"
    )
    interval = ""
    if rec.margin_interval:
        lo, hi = rec.margin_interval
        interval = f"; 95 % interval {metric_diff(lo, metric)} to {metric_diff(hi, metric)}" + (
            "" if metric in ACCURACY_METRICS else " on standardised squared error"
        )
    if top is not None and top["family"] != rec.family:
        diff = sign * (top["val_metric"] - (rec.val_metric or 0.0))
        out["top_scorer"] = (
            f"{top['family']}: validation {metric} {metric_value(top['val_metric'], metric)} "
            f"(trial {top['best_trial']}), {metric_diff(diff, metric)} over {rec.family}"
        )
        ratios = cost_ratios(chosen, top)
        noise = "within noise" if rec.within_noise or rec.margin_interval else "close"
        out["why"] = (
            f"{rec.family} scores {metric_diff(-diff, metric)} against the top scorer "
            f"{top['family']} ({noise}{interval}) and is cheaper: "
            + (", ".join(ratios) if ratios else "by the selection's measurements")
        )
    else:
        out["top_scorer"] = f"{rec.family} is also the top scorer"
        if rec.runner_up is not None and rec.margin is not None:
            noise = ", within noise" if rec.within_noise else ""
            out["why"] = (
                f"best validation {metric}: {metric_diff(rec.margin, metric)} over the "
                f"runner-up {rec.runner_up} ({metric_value(rec.runner_up_val_metric, metric)})"
                f"{noise}"
            )
        else:
            out["why"] = "the only family that finished a trial"
    if out["stability"] is None and rec.runner_up is not None and rec.margin_interval:
        lo, hi = rec.margin_interval
        clear = lo > 0 or hi < 0
        out["stability"] = (
            f"margin over {rec.runner_up} {metric_diff(rec.margin, metric)}{interval}: "
            + ("clearly ahead" if clear else "within noise — the two are not separated")
        )
    parts = []
    if _finite(chosen.get("latency_b1_ms")):
        parts.append(f"{chosen['latency_b1_ms']:.2g} ms per sample at batch 1")
    if _finite(chosen.get("n_params")):
        parts.append(f"{int(chosen['n_params']):,} parameters")
    if _finite(chosen.get("train_time_s")):
        parts.append(f"trained in {chosen['train_time_s']:.0f} s")
    out["cost"] = ", ".join(parts) or None
    if base_name is not None and _finite(base_val):
        diff = sign * ((rec.val_metric or 0.0) - base_val)
        verdict = "the baseline wins" if rec.baseline_beats_deep else f"{rec.family} ahead"
        out["baseline"] = (
            f"{base_name}: validation {metric} {metric_value(base_val, metric)} "
            f"({metric_diff(diff, metric)} for {rec.family}; {verdict})"
        )
    return out
