"""The selection's output: the head-to-head rows, the Pareto front and the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archselect._common.serde import JsonRecord

__all__ = [
    "CurvePoint",
    "FamilySummary",
    "LearningCurve",
    "OrderControl",
    "ParetoPoint",
    "Recommendation",
    "curves_crossed",
    "curves_tie_multiple",
]


@dataclass(frozen=True)
class FamilySummary(JsonRecord):
    """One row of the head-to-head table: a family's best trial and its trial counts.

    The measurements (``val_metric`` … ``gap``) are those of the family's best trial.
    Sequence data adds, for that trial, ``seq_len`` (T) and ``latency_len1x_ms`` /
    ``latency_len2x_ms`` / ``latency_len4x_ms``: batch-1 inference latency per sample of
    the same architecture on sequences of length T, 2T and 4T (how latency grows with
    length). ``best_val_by_trial`` is the best validation metric so far after each of the
    family's trials (in trial order, ``trial_numbers``), i.e. best-score-versus-trials;
    entries are ``None`` until the family's first finished trial.
    """

    family: str
    best_trial: int | None
    val_metric: float | None
    test_metric: float | None
    train_time_s: float | None
    n_params: int | None
    peak_memory_mb: float | None
    latency_b1_ms: float | None
    latency_b256_ms: float | None
    gap: float | None
    trials: int
    completed: int
    pruned: int
    failed: int
    seq_len: int | None = None
    latency_len1x_ms: float | None = None
    latency_len2x_ms: float | None = None
    latency_len4x_ms: float | None = None
    trial_numbers: tuple[int, ...] = ()
    best_val_by_trial: tuple[float | None, ...] = ()
    #: Forecasts: MAE and MASE of the best trial (validation and test).
    extra_metrics: dict[str, float] = field(default_factory=dict)
    #: How the family was compared (:class:`archselect.core.verdict.Compared`): ``full``
    #: (its whole schedule), ``reduced`` (fewer epochs, rows, folds or steps) or
    #: ``insufficient`` (less than its fair share, and within noise of chance); "" unknown.
    compared: str = ""
    #: Its best figure is within noise of the chance level: not a measurement, left out of
    #: the verdict, the stability resampling and the ensemble; ``finding`` says why
    #: (:class:`archselect.core.verdict.Finding`: ``not trained enough``, ``did not learn``).
    at_chance: bool = False
    finding: str = ""
    #: The best trial's epochs and training seconds, and about how many seconds its whole
    #: schedule would take (a family not trained enough; None when unknown).
    epochs: int | None = None
    trained_s: float | None = None
    needed_s: float | None = None


@dataclass(frozen=True)
class ParetoPoint(JsonRecord):
    """A trial on the accuracy–latency Pareto front (no other trial is at least as good
    on both and better on one). ``latency_b1_ms``: inference ms per sample at batch 1."""

    trial: int
    family: str
    val_metric: float
    latency_b1_ms: float


@dataclass(frozen=True)
class OrderControl(JsonRecord):
    """The order control: one configuration trained on the steps (or pixels) in order and on
    one fixed permutation of them (channels and target untouched), scored on the same rows.

    ``diff`` is ``in_order - shuffled`` in the metric's unit (+: order helps for accuracy;
    for an error metric the sign is flipped so + still means order helps), ``interval`` its
    paired 95 % bootstrap interval; ``uses_order`` when that interval lies above 0.
    """

    family: str
    metric: str
    in_order: float
    shuffled: float
    diff: float
    interval: tuple[float, float] | None
    uses_order: bool
    rows: int
    epochs: int
    seconds: float
    #: The seed of the permutation (recorded so the control can be repeated).
    permutation_seed: int = 0
    note: str | None = None


@dataclass(frozen=True)
class CurvePoint(JsonRecord):
    """One point of a learning curve: the metric at ``rows`` training rows, with its 95 %
    interval (bootstrap over the scored rows)."""

    fraction: float
    rows: int
    metric: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class LearningCurve(JsonRecord):
    """A candidate (family or reference) trained on growing shares of the training rows."""

    candidate: str
    points: tuple[CurvePoint, ...] = ()
    #: Change of the metric per doubling of the rows over the last two points.
    slope_per_doubling: float | None = None


def curves_crossed(a: LearningCurve, b: LearningCurve) -> bool:
    """Whether two learning curves (same shares of the rows) swap places between their first
    and last points.

    Example:
        >>> pts = lambda *m: tuple(CurvePoint(f, 0, v) for f, v in zip((0.25, 0.5, 1.0), m))
        >>> a, b = LearningCurve("a", pts(0.9, 0.9, 0.9)), LearningCurve("b", pts(0.8, 0.9, 0.95))
        >>> curves_crossed(a, b)
        True
    """
    if len(a.points) < 2 or len(b.points) < 2:
        return False
    first = a.points[0].metric - b.points[0].metric
    last = a.points[-1].metric - b.points[-1].metric
    return first * last < 0


def curves_tie_multiple(a: LearningCurve, b: LearningCurve) -> float | None:
    """At about how many times the training rows two curves would tie, each extended from
    its last point by its slope per doubling (1.0: tied now; None: they do not converge).

    Example:
        >>> a = LearningCurve("mlp", (CurvePoint(1.0, 100, 0.80),), slope_per_doubling=0.04)
        >>> b = LearningCurve("cnn1d", (CurvePoint(1.0, 100, 0.84),), slope_per_doubling=0.01)
        >>> round(curves_tie_multiple(a, b), 2)  # 4 points closed at 3 per doubling
        2.52
    """
    if not a.points or not b.points:
        return None
    if a.slope_per_doubling is None or b.slope_per_doubling is None:
        return None
    gap = b.points[-1].metric - a.points[-1].metric
    closing = a.slope_per_doubling - b.slope_per_doubling
    if gap == 0:
        return 1.0
    if closing == 0 or gap / closing <= 0:
        return None
    return float(2.0 ** (gap / closing))


@dataclass(frozen=True)
class Recommendation(JsonRecord):
    """The verdict: which family, how much better, and why."""

    family: str | None
    trial: int | None
    params: dict[str, Any]
    metric: str
    direction: str
    val_metric: float | None
    test_metric: float | None
    runner_up: str | None
    runner_up_val_metric: float | None
    margin: float | None
    margin_interval: tuple[float, float] | None
    within_noise: bool
    baseline_best: str | None
    baseline_val_metric: float | None
    baseline_test_metric: float | None
    baseline_beats_deep: bool
    profile_confidence: float
    families: tuple[FamilySummary, ...] = ()
    reasons: tuple[str, ...] = ()
    final_test_metric: float | None = None
    headline: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: The study's objectives, e.g. ``("accuracy",)`` or ``("accuracy", "latency")``.
    objectives: tuple[str, ...] = ()
    #: Multi-objective runs only: the Pareto front, most accurate first.
    pareto_front: tuple[ParetoPoint, ...] = ()
    #: Forecasts: the test period's truth and each family's (and baseline's) best forecast,
    #: for the report's plot: ``times``, ``truth``, ``history_times``, ``history``,
    #: ``forecasts`` {name: values}, ``baselines`` (names among them).
    forecast_plot: dict[str, Any] = field(default_factory=dict)
    #: What is recommended and exported: ``family`` (the deep family above), ``baseline``
    #: (the non-deep reference ``recommended``; ``family`` then stays the best deep family,
    #: the architecture verdict) or ``ensemble`` (the row ``ensemble``, when it wins clearly).
    kind: str = "family"
    #: The recommended candidate's name (a family or a reference).
    recommended: str | None = None
    #: The candidate (family or reference) with the best validation / out-of-fold metric.
    top_scorer: str | None = None
    #: How often the selection rule picks each candidate over bootstrap resamples of the
    #: validation rows: ``{"resamples": R, "rows": n, "shares": {name: fraction}}``.
    verdict_stability: dict[str, Any] = field(default_factory=dict)
    #: The recommendation against its closest rival on the same rows: ``a``, ``b``,
    #: ``margin`` and its ``interval`` (metric difference, + favours ``a``) and, for
    #: classification, ``only_a`` / ``only_b`` (rows only one gets right) with the exact
    #: McNemar ``p_value``.
    paired: dict[str, Any] = field(default_factory=dict)
    #: Classification: the Brier check of the same pair: ``interval`` of the mean per-row
    #: Brier difference (+ : ``a`` surer), and ``fired`` (the interval excludes 0).
    brier_check: dict[str, Any] = field(default_factory=dict)
    #: How the selection chose, for :mod:`archselect.core.verdict` to word (one source for
    #: the CLI, the report and ``headline``/``reasons``): ``deep_top`` (the deep family that
    #: scored highest), ``architecture_by`` (``score``, ``cheaper``, ``brier`` or ``only``),
    #: ``recommended_by`` (``score``, ``cheaper``, ``ensemble``, ``not exportable`` or ``no
    #: deep measurement``), ``values`` / ``tests`` / ``costs`` of every candidate named,
    #: ``architecture_interval`` / ``architecture_brier`` (the family step's intervals),
    #: ``settle_budget_s`` (a budget that would train every family enough) and ``notes``
    #: (the selection's other sentences). Empty in runs written before it existed.
    rule: dict[str, Any] = field(default_factory=dict)
    #: The chance level the families were checked against (the majority class's accuracy,
    #: or the mean predictor's RMSE); None when unknown.
    chance_metric: float | None = None
    #: ``metric``: every stored interval (``margin_interval``, ``paired``, ``ensemble``) is of
    #: the metric itself, in its unit; "" in older runs, whose regression intervals were of
    #: the standardised mean squared error.
    interval_unit: str = ""
    #: Classification and regression (not forecasts): the ensemble of the best trials as one
    #: more candidate row (:func:`archselect.select._ensemble.ensemble_row`): ``members`` (name,
    #: kind, family, trial, weight), its cross-fitted ``val_metric`` beside the
    #: ``best_single`` candidate's on the same ``rows``, the paired ``interval``, whether it
    #: was ``chosen``, and the searched models' ``test_metric`` / ``best_single_test_metric``;
    #: empty when not formed.
    ensemble: dict[str, Any] = field(default_factory=dict)
    #: The order control of the recommended deep family (None: not measured).
    order_control: OrderControl | None = None
    #: The top candidates' learning curves (25 %, 50 %, 100 % of the training rows).
    learning_curves: tuple[LearningCurve, ...] = ()
