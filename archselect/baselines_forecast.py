"""The forecasting field's references, measured like the deep families and exported safely.

A forecaster compares against exponential smoothing, ARIMA and Theta, not only the naive
forecasts: :data:`STATS_REFERENCES` are statsforecast's ``Naive``, ``SeasonalNaive``,
``AutoETS``, ``AutoTheta`` and ``AutoARIMA`` (compiled code, no numba compilation; imported
lazily, as the import costs about a second). Each is fitted per series on the steps before
the validation period and forecasts every validation origin of the prepared windows
(:class:`archselect.layouts.ForecastOrigins`) with those fitted parameters applied to the
history up to the origin, and likewise every test origin, as a deep trial's network trained
on the same steps predicts the same windows (the recommended reference is refitted on train +
validation for its held-out test figure, as a network is: :func:`final_test_outputs`). The
forecasts are scored row by row in the windows' units, so the selection compares them with
the deep trials exactly as it compares trials. ``linear
autoregression`` (ridge on the target windows, one model for every series) stays as well.

The export (:func:`fitted_state`, :func:`forecast_state`) is plain JSON, no pickle: per series
the model's structure and fitted parameters (ETS components, smoothing parameters and initial
states; ARIMA orders and coefficients; the Theta variant and its parameters), the training
length and a SHA-256 hash of the training values. On the history it was fitted on (or that
history extended) the stored parameters reproduce statsforecast's own forecast exactly; on
another history the stored structure is fitted again (:func:`refit_state`).
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import Ridge

from archselect.core.metrics import encode_scores, per_sample_scores, score
from archselect.core.records import BaselineResult
from archselect.errors import RunDirError
from archselect.layouts.forecast import FORECAST_BASELINES
from archselect.prepare import Prepared

__all__ = [
    "ARIMA_LIMITS",
    "FORECAST_REFERENCES",
    "STATE_FORMAT",
    "STATS_REFERENCES",
    "FittedSeries",
    "final_reference",
    "final_test_outputs",
    "fit_series",
    "fitted_state",
    "forecast_reference",
    "forecast_state",
    "refit_state",
    "series_hash",
    "statsforecast_version",
]

#: The statsforecast references, cheapest first (a ``--timeout`` stops the later ones).
STATS_REFERENCES = ("naive", "seasonal_naive", "auto_theta", "auto_ets", "auto_arima")
#: Every forecast reference, in the order the plan runs them (AutoARIMA, the slow one, last):
#: the forecast layout's list.
FORECAST_REFERENCES = FORECAST_BASELINES
#: AutoARIMA's search, restricted: at most AR/MA order 2, seasonal order 1, 20 models. On 40
#: M1 quarterly series this cut the time per fit by a third (476 → 319 ms) at the same mean
#: MASE (1.387 vs 1.388) as statsforecast's default (orders 5/2, 94 models).
ARIMA_LIMITS: dict[str, int] = {"max_p": 2, "max_q": 2, "max_P": 1, "max_Q": 1, "nmodels": 20}
#: The version of the exported state's layout (``reference.json``).
STATE_FORMAT = 1
#: A reference's time is checked after this many series; one that would overrun the
#: deadline at its pace so far stops there and is reported as skipped, with its pace.
PACE_CHECK_SERIES = 5
#: The ridge penalty of the linear autoregression.
RIDGE_ALPHA = 1.0


def statsforecast_version() -> str:
    """The installed statsforecast's version (recorded in the export)."""
    from importlib.metadata import version

    return version("statsforecast")


#: Significant digits of the values :func:`series_hash` reads: a CSV written and read again
#: by another tool may change the last bits of a float64, never the 12th digit.
HASH_DIGITS = 12


def series_hash(values: np.ndarray) -> str:
    """SHA-256 of a series' values written with HASH_DIGITS significant digits (how
    ``predict`` knows the training series, whatever parser read the file).

    Example:
        >>> series_hash(np.array([1.0, 2.0])) == series_hash(np.array([1.0, 2.0 + 1e-15]))
        True
    """
    text = ",".join(f"{v:.{HASH_DIGITS}g}" for v in np.asarray(values, dtype=np.float64))
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: float) -> float | None:
    """A float for JSON (NaN, an unused ETS parameter, becomes null)."""
    return float(value) if math.isfinite(float(value)) else None


def _unplain(value: float | None) -> float:
    return float("nan") if value is None else float(value)


# --- one series: fit, forecast, the JSON state ---------------------------------------------


def _model(name: str, season: int) -> Any:
    """A fresh statsforecast model for reference ``name`` (imported lazily)."""
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Naive, SeasonalNaive

    m = max(1, int(season))
    if name == "naive":
        return Naive()
    if name == "seasonal_naive":
        return SeasonalNaive(season_length=m)
    if name == "auto_ets":
        return AutoETS(season_length=m)
    if name == "auto_theta":
        return AutoTheta(season_length=m)
    if name == "auto_arima":
        return AutoARIMA(season_length=m, **ARIMA_LIMITS)
    raise ValueError(f"unknown forecast reference {name!r}")


@dataclass
class FittedSeries:
    """One series' fitted reference: the statsforecast model and how to forecast with it."""

    name: str
    season: int
    model: Any

    def forecast(self, history: np.ndarray, horizon: int) -> np.ndarray:
        """``horizon`` forecasts after ``history`` (which starts where the fitted series
        started) with the fitted parameters; the naive forecasts simply read the history."""
        y = np.asarray(history, dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.name in ("naive", "seasonal_naive"):
                out = _model(self.name, self.season).forecast(y=y, h=horizon)["mean"]
            else:
                out = self.model.forward(y=y, h=horizon)["mean"]
        return np.asarray(out, dtype=np.float64)


def fit_series(name: str, values: np.ndarray, season: int) -> FittedSeries:
    """Fit reference ``name`` on one series (statsforecast's own errors propagate)."""
    model = _model(name, season)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(np.asarray(values, dtype=np.float64))
    return FittedSeries(name, season, model)


def fitted_state(fitted: FittedSeries, values: np.ndarray) -> dict[str, Any]:
    """The JSON state of a fitted series: structure, parameters and the training series' length
    and hash (only str, int, float and null values).

    Example:
        >>> y = np.array([3.0, 4, 6, 5, 7, 8, 7, 9, 10, 12, 11, 13])
        >>> state = fitted_state(fit_series("auto_theta", y, 1), y)
        >>> sorted(state), state["fit"]["n"]
        (['fit', 'params', 'structure'], 12)
    """
    st: dict[str, Any] = getattr(fitted.model, "model_", None) or {}
    name = fitted.name
    structure: dict[str, Any] = {}
    params: dict[str, Any] = {}
    if name == "auto_ets":
        structure = {"components": str(st["components"]), "method": str(st["method"])}
        params = {"par": [_plain(v) for v in st["par"]], "n_params": int(st["n_params"])}
    elif name == "auto_arima":
        p, q, big_p, big_q, period, d, big_d = (int(v) for v in st["arma"])
        structure = {"order": [p, d, q], "seasonal_order": [big_p, big_d, big_q], "period": period}
        params = {"coef": {str(k): float(v) for k, v in st["coef"].items()}}
    elif name == "auto_theta":
        structure = {
            "modeltype": str(st["modeltype"]),
            "decomposition_type": str(fitted.model.decomposition_type),
        }
        params = {str(k): float(v) for k, v in st["par"].items()}
    arr = np.asarray(values, dtype=np.float64)
    return {
        "structure": structure,
        "params": params,
        "fit": {"n": len(arr), "sha256": series_hash(arr)},
    }


def _state_model(name: str, state: dict[str, Any], season: int) -> Any:
    """A statsforecast model carrying the stored parameters, ready for ``forward``."""
    from statsforecast.models import AutoETS

    if name == "auto_ets":
        comp = state["structure"]["components"]
        model = AutoETS(season_length=season, model=comp[:3], damped=comp[3] != "N")
        model.model_ = {
            "m": season,
            "components": comp,
            "par": np.asarray([_unplain(v) for v in state["params"]["par"]], dtype=np.float64),
            "fit": None,
            "n_params": int(state["params"]["n_params"]),
        }
        return model
    raise ValueError(name)


def forecast_state(
    name: str, state: dict[str, Any], season: int, history: np.ndarray, horizon: int
) -> np.ndarray:
    """Forecast ``horizon`` steps after ``history`` with the stored parameters (nothing is
    estimated): right when ``history`` begins with the training series.

    Raises:
        RunDirError: The state does not fit the reference (a damaged or edited file).
    """
    y = np.asarray(history, dtype=np.float64)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _forecast_state(name, state, max(1, int(season)), y, horizon)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise RunDirError(
            f"The exported {name} reference holds parameters that do not fit it ({exc}); the "
            "file was damaged or edited — refit the model."
        ) from exc


def _forecast_state(name: str, state: dict[str, Any], m: int, y: np.ndarray, h: int) -> np.ndarray:
    from statsforecast.models import ARIMA
    from statsforecast.theta import auto_theta, forecast_theta

    if name in ("naive", "seasonal_naive"):
        return np.asarray(_model(name, m).forecast(y=y, h=h)["mean"], dtype=np.float64)
    if name == "auto_ets":
        out = _state_model(name, state, m).forward(y=y, h=h)["mean"]
    elif name == "auto_arima":
        s = state["structure"]
        coef = {str(k): float(v) for k, v in state["params"]["coef"].items()}
        out = ARIMA(
            order=tuple(int(v) for v in s["order"]),
            season_length=int(s["period"]),
            seasonal_order=tuple(int(v) for v in s["seasonal_order"]),
            include_mean="intercept" in coef,
            include_drift="drift" in coef,
            fixed=coef,
        ).forecast(y=y, h=h)["mean"]
    elif name == "auto_theta":
        s, p = state["structure"], state["params"]
        fit = auto_theta(
            y,
            m,
            model=str(s["modeltype"]),
            initial_smoothed=float(p["initial_smoothed"]),
            alpha=float(p["alpha"]),
            theta=float(p["theta"]),
            decomposition_type=str(s["decomposition_type"]),
        )
        out = forecast_theta(fit, h)["mean"]
    else:
        raise ValueError(f"unknown forecast reference {name!r}")
    return np.asarray(out, dtype=np.float64)


def refit_state(
    name: str, state: dict[str, Any] | None, season: int, history: np.ndarray, horizon: int
) -> np.ndarray:
    """Fit the stored structure again on ``history`` (a series that does not begin with the
    training series), or the whole automatic search when there is no state (a new series);
    then forecast ``horizon`` steps."""
    from statsforecast.models import ARIMA, AutoETS
    from statsforecast.theta import auto_theta, forecast_theta

    y = np.asarray(history, dtype=np.float64)
    m = max(1, int(season))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if state is None or name in ("naive", "seasonal_naive"):
            return fit_series(name, y, m).forecast(y, horizon)
        s = state["structure"]
        if name == "auto_ets":
            comp = s["components"]
            model = AutoETS(season_length=m, model=comp[:3], damped=comp[3] != "N")
            out = model.forecast(y=y, h=horizon)["mean"]
        elif name == "auto_arima":
            coef = state["params"]["coef"]
            out = ARIMA(
                order=tuple(s["order"]),
                season_length=int(s["period"]),
                seasonal_order=tuple(s["seasonal_order"]),
                include_mean="intercept" in coef,
                include_drift="drift" in coef,
            ).forecast(y=y, h=horizon)["mean"]
        else:
            fit = auto_theta(
                y, m, model=str(s["modeltype"]), decomposition_type=str(s["decomposition_type"])
            )
            out = forecast_theta(fit, horizon)["mean"]
    return np.asarray(out, dtype=np.float64)


# --- measured on the prepared origins -------------------------------------------------------


def _rolling(
    name: str,
    values: np.ndarray,
    fit_end: int,
    origin_sets: tuple[tuple[int, ...], ...],
    h: int,
    m: int,
) -> tuple[list[np.ndarray], bool]:
    """Forecasts ``(len(origins), h)`` from each origin of each set, with the reference fitted
    once on ``values[:fit_end]``; a series statsforecast cannot fit (too short for the model)
    gets the naive forecast instead (second value True)."""
    try:
        fitted = fit_series(name, values[:fit_end], m)
        outs = [
            np.asarray([fitted.forecast(values[:o], h) for o in origins]).reshape(-1, h)
            for origins in origin_sets
        ]
        if all(np.all(np.isfinite(out)) for out in outs):
            return outs, False
    except Exception:  # statsforecast refuses tiny or degenerate series in many ways
        pass
    naive = [
        np.repeat(np.asarray([values[o - 1] for o in origins], float)[:, None], h, axis=1)
        for origins in origin_sets
    ]
    return naive, True


@dataclass(frozen=True)
class _Measured:
    """One reference's validation and test forecasts (target units) and its costs."""

    val: np.ndarray
    test: np.ndarray
    fit_s: float
    fallbacks: int
    stopped: str | None = None


def _measure(name: str, prepared: Prepared, deadline: float | None) -> _Measured:
    """Per series: fit on the steps before the validation period, then forecast every
    validation and test origin with those parameters (as a deep trial's network, trained on
    the same steps, predicts the same windows); stop early (``stopped`` says why) when the
    deadline cannot be met. The recommended reference's test figure comes from a refit on
    train + validation (:func:`final_test_outputs`), as a network's does."""
    o = prepared.origins
    assert o is not None
    vals: list[np.ndarray] = []
    tests: list[np.ndarray] = []
    fallbacks = 0
    _model(name, o.season)  # the lazy import (about a second) is not the reference's pace
    start = time.perf_counter()
    n = len(o.values)
    for i, values in enumerate(o.values):
        (v, t), fell_back = _rolling(
            name, values, o.val_start[i], (o.val[i], o.test[i]), o.horizon, o.season
        )
        vals.append(v)
        tests.append(t)
        fallbacks += int(fell_back)
        done = i + 1
        if deadline is not None and done < n and (done % PACE_CHECK_SERIES == 0 or done == 1):
            pace = (time.perf_counter() - start) / done
            left = deadline - time.time()
            if pace * (n - done) > left:
                return _Measured(
                    np.zeros(0), np.zeros(0), time.perf_counter() - start, fallbacks,
                    stopped=(
                        f"skipped: at {pace:.2g} s per series the {n} series would take about "
                        f"{pace * n:.0f} s, past the --timeout budget for baselines "
                        f"({max(0.0, left):.0f} s left after {done} series)."
                    ),
                )  # fmt: skip
    return _Measured(
        np.concatenate(vals), np.concatenate(tests), time.perf_counter() - start, fallbacks
    )


def final_test_outputs(prepared: Prepared, name: str) -> np.ndarray:
    """Reference ``name`` refitted per series on its train + validation steps: its outputs on
    the test origins, in the windows' units (the final model's held-out figure)."""
    o = prepared.origins
    if o is None or name not in STATS_REFERENCES:
        raise ValueError(f"{name!r} is not a statsforecast forecast reference")
    rows = [
        _rolling(name, values, o.test_start[i], (o.test[i],), o.horizon, o.season)[0][0]
        for i, values in enumerate(o.values)
    ]
    return o.to_z("test", np.concatenate(rows))


def _linear_autoregression(prepared: Prepared) -> _Measured:
    """Ridge on the target windows (one model for every series), in target units."""
    assert prepared.origins is not None
    start = time.perf_counter()
    model = Ridge(alpha=RIDGE_ALPHA).fit(prepared.x_train[:, :, 0], prepared.y_train)
    outs = [
        prepared.origins.to_units(part, model.predict(x[:, :, 0]))
        for part, x in (("val", prepared.x_val), ("test", prepared.x_test))
    ]
    return _Measured(outs[0], outs[1], time.perf_counter() - start, 0)


def _n_params(name: str, prepared: Prepared) -> int | None:
    """How many numbers the reference stores per series, summed (None: not counted)."""
    o = prepared.origins
    assert o is not None
    per = {"naive": 0, "seasonal_naive": 0}.get(name)
    if name == "linear_autoregression":
        return int(prepared.x_train.shape[1] * o.horizon + o.horizon)
    return None if per is None else per * len(o.values)


def forecast_reference(
    prepared: Prepared, name: str, *, deadline: float | None = None
) -> BaselineResult:
    """Reference ``name`` measured on the prepared forecast origins (validation and test), in
    the windows' units as the deep trials are: RMSE (the selection metric), per-row squared
    errors for the paired comparisons, MAE, MASE and sMAPE, and the plotted test forecast.

    ``deadline`` (a ``time.time()`` value): a statsforecast reference whose pace would take
    it past the deadline stops and is recorded as skipped, saying so.

    Example:
        >>> import pandas as pd
        >>> from archselect.load import load_table
        >>> from archselect.prepare import prepare
        >>> from archselect.profile import profile_table
        >>> y = 10 + np.sin(np.arange(80) * 2 * np.pi / 12)
        >>> table = load_table(pd.DataFrame({"t": np.arange(80), "y": y}))
        >>> res = forecast_reference(prepare(table, profile_table(table, horizon=6)), "naive")
        >>> res.state, sorted(k for k in res.extra_metrics if k.startswith("test"))
        ('COMPLETE', ['test_mae', 'test_mase', 'test_rmse', 'test_smape'])
    """
    o = prepared.origins
    pre = prepared.preprocessing
    if o is None or pre.forecast is None:
        raise ValueError("forecast references need prepared forecast origins")
    if name == "linear_autoregression":
        measured = _linear_autoregression(prepared)
    elif name in STATS_REFERENCES:
        measured = _measure(name, prepared, deadline)
    else:
        raise ValueError(f"unknown forecast reference {name!r}")
    if measured.stopped is not None:
        return BaselineResult(
            name=name,
            val_metric=None,
            test_metric=None,
            train_time_s=measured.fit_s,
            note=measured.stopped,
        )
    val_z, test_z = o.to_z("val", measured.val), o.to_z("test", measured.test)
    extra: dict[str, float] = {}
    for part, z in (("val", val_z), ("test", test_z)):
        extra.update({f"{part}_{k}": v for k, v in o.scores(part, z).items()})
    if measured.fallbacks:
        extra["fallback_series"] = float(measured.fallbacks)
    return BaselineResult(
        name=name,
        val_metric=score(pre.task, val_z, prepared.y_val, pre.target_std),
        test_metric=score(pre.task, test_z, prepared.y_test, pre.target_std),
        train_time_s=measured.fit_s,
        n_params=_n_params(name, prepared),
        extra_metrics=extra,
        test_forecast=tuple(prepared.plot_forecast(test_z)),
        val_scores_b64=encode_scores(per_sample_scores(pre.task, val_z, prepared.y_val)),
    )


# --- the final model: refit, tested, exported ---------------------------------------------


def _fit_state(name: str, values: np.ndarray, season: int) -> dict[str, Any]:
    """One series' exported entry: the fitted state, or the naive fallback the search used
    too (a series too short for the model)."""
    try:
        fitted = fit_series(name, values, season)
        state = fitted_state(fitted, values)
        check = fitted.forecast(values, 1)
        if np.all(np.isfinite(check)):
            return state
    except Exception:  # as in the search: a series statsforecast cannot fit is naive
        pass
    return {"fallback": "naive", "fit": {"n": len(values), "sha256": series_hash(values)}}


def final_reference(prepared: Prepared, name: str) -> dict[str, Any]:
    """Reference ``name`` refitted per series on every step, as the JSON document ``predict``
    reads.

    Raises:
        ValueError: ``name`` is not a statsforecast reference.
    """
    o = prepared.origins
    spec = prepared.preprocessing.forecast
    if name not in STATS_REFERENCES or o is None or spec is None:
        raise ValueError(f"{name!r} is not an exportable forecast reference")
    labelled = spec.id_column is not None
    return {
        "format": STATE_FORMAT,
        "kind": "statsforecast",
        "version": statsforecast_version(),
        "family": name,
        "season_length": int(o.season),
        "horizon": int(o.horizon),
        "series": [
            {"id": label if labelled else None, **_fit_state(name, values, o.season)}
            for label, values in zip(o.labels, o.values, strict=True)
        ],
    }


#: What :func:`forecast_reference` accepts, for callers that dispatch on the name.
is_forecast_reference: Callable[[str], bool] = FORECAST_REFERENCES.__contains__
