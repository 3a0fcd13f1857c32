"""An exported statistical forecast reference: ``reference.json``, plain JSON, no pickle.

The document (:func:`archselect.baselines_forecast.final_reference`) holds, per series, the
fitted model's structure and parameters, the training length and a SHA-256 hash of the
training values. ``predict`` forecasts each series of the history it is given:

- a history that begins with the training series (the same series, possibly extended):
  the stored parameters, exactly the forecasts the run measured;
- any other history of a known series: the stored structure fitted again on it;
- a series unseen in training: the reference's automatic search on its history.

The last two are said in the result's ``attrs["notes"]`` (``archselect predict`` prints them).
Loading accepts only the statsforecast references, and values that are text, numbers, null or
lists and objects of them: a damaged or edited file is refused, never executed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archselect.baselines_forecast import (
    STATE_FORMAT,
    STATS_REFERENCES,
    forecast_state,
    refit_state,
    series_hash,
)
from archselect.errors import RunDirError
from archselect.export._files import (
    BASELINE_FILE,
    CONFIG,
    ONNX_FILE,
    PREPROCESSING,
    REFERENCE_FILE,
    WEIGHTS,
    ModelConfig,
    forecast_frame,
)
from archselect.layouts import Preprocessing
from archselect.layouts import forecast as _forecast

__all__ = [
    "ForecastReferenceModel",
    "export_forecast_reference",
    "load_forecast_reference",
]

#: JSON value types the document may hold (nested in lists and objects).
_PLAIN = (str, int, float, bool, type(None))
#: How deep the document's objects may nest.
MAX_DEPTH = 6


@dataclass(frozen=True)
class ForecastReferenceModel:
    """A loaded statistical forecast reference: the document, preprocessing and config."""

    document: dict[str, Any]
    preprocessing: Preprocessing
    config: ModelConfig

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The next ``horizon`` steps of every series of the history ``frame`` (columns as a
        network's forecast: the id with several series, the time column, ``prediction``);
        ``attrs["notes"]`` says which series were fitted again and why."""
        spec = self.preprocessing.forecast
        assert spec is not None
        doc = self.document
        family, season, h = doc["family"], int(doc["season_length"]), spec.horizon
        entries = {e["id"]: e for e in doc["series"]}
        series = spec.panel(frame, (self.preprocessing.target,))
        notes: list[str] = []
        values = []
        for s in series:
            label = None if spec.id_column is None else _forecast.series_label(s.series_id)
            y = s.values[:, 0]
            values.append(_forecast_one(family, season, entries.get(label), y, h, label, notes))
        result = forecast_frame(spec, series, np.asarray(values))
        result.attrs["notes"] = notes
        return result


def _forecast_one(
    family: str,
    season: int,
    entry: dict[str, Any] | None,
    y: np.ndarray,
    h: int,
    label: str | None,
    notes: list[str],
) -> np.ndarray:
    """One series' forecast: stored parameters, the structure refitted, or a fresh fit."""
    which = "the history" if label is None else f"series {label!r}"
    if entry is not None and entry.get("fallback") == "naive":
        return _naive(y, h)
    if entry is not None:
        n, digest = int(entry["fit"]["n"]), str(entry["fit"]["sha256"])
        if len(y) >= n and series_hash(y[:n]) == digest:
            return forecast_state(family, entry, season, y, h)
        why = (
            f"{which} does not begin with the {n} training values: the stored {family} "
            "structure was fitted again on the history given"
        )
    else:
        why = f"{which} was not in training: {family} fitted afresh on its history"
    try:
        out = refit_state(family, entry, season, y, h)
        if np.all(np.isfinite(out)):
            notes.append(why)
            return out
    except Exception:  # statsforecast refuses tiny or degenerate series in many ways
        pass
    notes.append(f"{which} ({len(y)} steps) is too short for {family}: the naive forecast")
    return _naive(y, h)


def _naive(y: np.ndarray, h: int) -> np.ndarray:
    """The last value repeated (what the search used where statsforecast could not fit)."""
    return np.repeat(np.asarray(y[-1:], dtype=np.float64), h)


def export_forecast_reference(
    model_dir: Path, document: dict[str, Any], preprocessing: Preprocessing, config: ModelConfig
) -> None:
    """Write ``reference.json``, ``config.json`` (``kind`` = ``baseline``) and
    ``preprocessing.json`` into ``model_dir``; another model's files there are removed."""
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = model_dir / (REFERENCE_FILE + ".tmp")
    tmp.write_text(json.dumps(document, indent=1, allow_nan=False), encoding="utf-8")
    tmp.replace(model_dir / REFERENCE_FILE)
    for stale in (WEIGHTS, ONNX_FILE, BASELINE_FILE):
        (model_dir / stale).unlink(missing_ok=True)
    config.save(model_dir / CONFIG)
    preprocessing.save(model_dir / PREPROCESSING)


def _plain(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` holds only JSON text, numbers, null and flags (nested)."""
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v, depth + 1) for v in value)
    return isinstance(value, _PLAIN)


def _problem(doc: Any, config: ModelConfig, pre: Preprocessing) -> str | None:
    """Why the document cannot be this run's reference (None if it can)."""
    if not isinstance(doc, dict) or not _plain(doc):
        return "it holds values other than text, numbers and lists of them"
    if doc.get("format") != STATE_FORMAT or doc.get("kind") != "statsforecast":
        return f"format {doc.get('format')!r} of kind {doc.get('kind')!r}"
    if doc.get("family") not in STATS_REFERENCES or doc.get("family") != config.family:
        return f"reference {doc.get('family')!r} for config {config.family!r}"
    if pre.forecast is None or doc.get("horizon") != pre.forecast.horizon:
        return "its horizon is not the run's"
    series = doc.get("series")
    if not isinstance(series, list) or not series:
        return "no series"
    for e in series:
        fit = e.get("fit") if isinstance(e, dict) else None
        if not isinstance(fit, dict) or not isinstance(fit.get("n"), int):
            return "a series without its training length"
        if not isinstance(fit.get("sha256"), str) or (
            e.get("id") is not None and (not isinstance(e.get("id"), str))
        ):
            return "a series without its training hash or with a bad id"
    return None


def load_forecast_reference(
    model_dir: Path, config: ModelConfig, pre: Preprocessing
) -> ForecastReferenceModel:
    """Read ``reference.json`` and check it field by field.

    Raises:
        RunDirError: The file is missing, not JSON, or not this run's reference.
    """
    path = model_dir / REFERENCE_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RunDirError(f"{model_dir} lacks {REFERENCE_FILE}; refit the model.") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirError(
            f"{path} cannot be read ({type(exc).__name__}); it is damaged — refit the model."
        ) from exc
    why = _problem(doc, config, pre)
    if why is not None:
        raise RunDirError(
            f"{path} is not a forecast reference archselect wrote ({why}); it was damaged or "
            "edited — refit the model."
        )
    return ForecastReferenceModel(document=doc, preprocessing=pre, config=config)
