"""The report's first screen: the verdict's sentences from :mod:`archselect.core.verdict`.

The words (headline, which model and why, how sure, cost, the exported model's test figure,
what is still open, the order control) come from :func:`archselect.core.verdict.describe`, the
same function that wrote ``recommendation.json``'s ``headline`` and the CLI's lines; this
module adds what only the report shows: the data in one line, the families not searched and
where the time went.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from archselect.core.kinds import describe_data
from archselect.core.verdict import VerdictText, describe, unit_for
from archselect.rundir import MODEL

__all__ = ["exported_by", "first_screen", "not_searched"]

#: What the profiler's confidence means (archselect.profile: 0.5 a guess … 1.0 certain).
CONFIDENCE_SCALE = "on a scale from 0.5 (a guess) to 1 (certain)"
#: Phases of ``phase_seconds`` recorded after the report is written (not shown in it), and
#: the prefix of the per-family trial times (parts of ``search``, not added to the total).
AFTER_THE_REPORT = ("report", "total")
FAMILY_PHASE_PREFIX = "trials: "


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


def exported_by(run_dir: Path, rec: Any) -> dict[str, Any]:
    """How the exported model was trained: the stored ``final_model`` record, else
    model/config.json's ``ensemble`` (seeds) and ``trained_on``; also its ``family`` (the
    model config.json names), or ``{}`` when there is no exported model."""
    out: dict[str, Any] = dict(getattr(rec, "final_model", None) or {})
    path = Path(run_dir) / MODEL / "config.json"
    if path.exists():
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            config = {}
        if isinstance(config, dict):
            out.setdefault("seeds", config.get("ensemble"))
            out.setdefault("trained_on", config.get("trained_on"))
            out["exported_name"] = config.get("family")
    return out


def _phases(rec: Any) -> tuple[list[tuple[str, float]], float | None]:
    phases = getattr(rec, "phase_seconds", None) or {}
    shown = [
        (str(k), float(v))
        for k, v in phases.items()
        if isinstance(v, int | float) and k not in AFTER_THE_REPORT
    ]
    main = [v for k, v in shown if not k.startswith(FAMILY_PHASE_PREFIX)]
    return shown, (sum(main) if main else None)


def first_screen(rec: Any, profile: Any, plan: Any, run_dir: Path) -> dict[str, Any]:
    """The first screen, by element: ``text`` (the :class:`VerdictText`), ``lines`` (its
    sentences after the headline), the data in one line, the families not searched, and
    where the time went (``phases``, ``total_s``, ``budget_s``)."""
    text: VerdictText = describe(
        rec, final_model=exported_by(run_dir, rec), layout=getattr(plan, "layout", None)
    )
    phases, total = _phases(rec)
    budget = getattr(rec, "budget_s", None)
    return {
        "text": text,
        "headline": text.headline,
        "lines": text.lines(),
        "data": (
            f"{_describe_data(profile)}, {profile.task}, {profile.n_rows:,} rows; the "
            f"profiler's confidence that it is {profile.layout} data is "
            f"{profile.confidence:.2f} {CONFIDENCE_SCALE}"
        ),
        "not_searched": not_searched(plan, profile),
        "phases": phases,
        "total_s": total,
        "budget_s": float(budget) if isinstance(budget, int | float) else None,
        "unit": unit_for(rec.metric),
    }
