"""The facts of one verdict, read once from a recommendation (``recommendation.json``).

:class:`Facts` gives the sentence builders plain accessors: each candidate's validation and
test figure and costs (families from the head-to-head rows, references and the rest from the
selection's ``rule`` record), the paired comparison, and how the exported model was trained.
Runs written before the ``rule`` record existed fall back on the fields they have.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from archselect.core.recommendation import FamilySummary, Recommendation
from archselect.core.verdict._rules import (
    ENSEMBLE,
    Compared,
    Costs,
    Finding,
    RecommendationKind,
    direction_sign,
    label,
)
from archselect.core.verdict._units import Unit, excludes_zero, unit_for

__all__ = ["ALL_ROWS", "TESTED_ROWS", "TRIAL_WEIGHTS", "Facts", "finite"]

#: ``final_model.trained_on`` values (:class:`archselect.run.FinalModel`): the tested refit,
#: the same refit on every labelled row, or the best trial's own weights.
TESTED_ROWS = "train+validation"
ALL_ROWS = "train+validation+test"
TRIAL_WEIGHTS = "train"


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class Facts:
    """Read-only accessors over one recommendation.

    Args:
        rec: The recommendation (``RunRecommendation`` read from a run directory, or the
            selection's ``Recommendation``).
        final_model: How the exported model was trained (``seeds``, ``trained_on``); the
            stored ``final_model`` record, else model/config.json's ``ensemble`` and
            ``trained_on``; empty when unknown.
        layout: The data's layout (what the order control shuffled).
    """

    def __init__(
        self,
        rec: Recommendation,
        final_model: Mapping[str, Any] | None = None,
        layout: str | None = None,
    ) -> None:
        self.rec = rec
        self.unit: Unit = unit_for(rec.metric)
        self.metric = self.unit.name  # the metric as sentences name it
        self.sign = direction_sign(rec.direction)
        self.rule: dict[str, Any] = dict(rec.rule or {}) if hasattr(rec, "rule") else {}
        stored = getattr(rec, "final_model", None) or {}
        self.final_model: dict[str, Any] = {**stored, **(final_model or {})}
        self.layout = layout
        self.families: dict[str, FamilySummary] = {f.family: f for f in rec.families}

    # --- who is who ----------------------------------------------------------------------

    @property
    def kind(self) -> RecommendationKind:
        try:
            return RecommendationKind(self.rec.kind or RecommendationKind.FAMILY)
        except ValueError:
            return RecommendationKind.FAMILY

    @property
    def recommended(self) -> str | None:
        """The exported candidate's name (a family, a reference or ``ensemble``)."""
        if self.rec.recommended:
            return self.rec.recommended
        if self.kind is RecommendationKind.BASELINE:
            return self.rec.baseline_best
        return self.rec.family

    @property
    def name(self) -> str:
        """The exported model in words: "MiniRocket", "cnn1d", "the ensemble of 3 models"."""
        if self.kind is RecommendationKind.ENSEMBLE:
            members = len((self.rec.ensemble or {}).get("members", ()))
            return f"the ensemble of {members} models" if members else "the ensemble"
        return label(self.recommended) if self.recommended else "no recommendation"

    @property
    def star(self) -> str | None:
        """The head-to-head row that gets the ★: a family, a reference or ``ensemble``."""
        return self.recommended

    @property
    def deep_top(self) -> str | None:
        """The deep family that scored highest (before the cheaper-within-noise rule)."""
        return self.rule.get("deep_top") or self.rec.family

    @property
    def legacy(self) -> bool:
        """A run written before the selection recorded its rule (sentences stored only)."""
        return not self.rule

    @property
    def metric_intervals(self) -> bool:
        """Whether the stored intervals are in the metric's unit (older regression runs
        stored them in standardised squared error)."""
        return self.unit.percent or getattr(self.rec, "interval_unit", "") == "metric"

    # --- figures -------------------------------------------------------------------------

    def value(self, name: str | None) -> float | None:
        """A candidate's validation (or out-of-fold) figure."""
        if name is None:
            return None
        values = self.rule.get("values") or {}
        if name in values:
            return values[name]
        if name in self.families:
            return self.families[name].val_metric
        if name == self.rec.baseline_best:
            return self.rec.baseline_val_metric
        if name == ENSEMBLE:
            return (self.rec.ensemble or {}).get("val_metric")
        return None

    def value_text(self, name: str | None) -> str:
        return self.unit.value(self.value(name))

    def costs(self, name: str | None) -> Costs | None:
        stored = (self.rule.get("costs") or {}).get(name or "")
        if stored:
            return Costs.from_dict(stored)
        fam = self.families.get(name or "")
        if fam is None:
            return None
        return Costs(
            fam.family,
            latency_ms=fam.latency_b256_ms,
            memory_mb=fam.peak_memory_mb,
            train_time_s=fam.train_time_s,
            n_params=fam.n_params,
        )

    @property
    def paired(self) -> dict[str, Any]:
        return dict(self.rec.paired or {})

    def interval(self, iv: Any) -> tuple[float, float] | None:
        """A stored interval as a pair, or None (absent, or not in the metric's unit)."""
        if not iv or len(iv) != 2 or not self.metric_intervals:
            return None
        return float(iv[0]), float(iv[1])

    # --- sentences shared by the headline and the reasons --------------------------------

    def versus(self, other: str | None, margin: Any, iv: Any) -> str:
        """A lead over ``other`` with its interval, in the metric's unit: "+22.5 points over
        cnn1d (95% interval [+10.0, +35.0] points)", or for an error "0.0123 RMSE lower than
        lstm (95% interval of the reduction [+0.0050, +0.0200] RMSE)"."""
        return self.lead(margin, iv, other)

    def lead(self, margin: Any, iv: Any, other: str | None = None) -> str:
        """A lead with its interval: "+22.5 points (95% interval [+10.0, +35.0] points)" or
        "0.0123 RMSE lower (95% interval of the reduction [+0.0050, +0.0200] RMSE)"; with
        ``other``, naming whom it is over."""
        if not finite(margin):
            return f"vs {label(other)}" if other else "n/a"
        pair = self.interval(iv)
        noise = ", within noise" if pair is not None and not excludes_zero(pair) else ""
        if self.unit.percent or self.sign > 0:
            word = ("over" if margin >= 0 else "against") if other else ""
            number = self.unit.signed(margin)
            span = self.unit.interval(pair)
        else:
            word = ("lower than" if margin >= 0 else "higher than") if other else ""
            number = f"{self.unit.amount(margin)} {'lower' if margin >= 0 else 'higher'}"
            if other:
                number = self.unit.amount(margin)
            span = self.unit.interval(pair).replace("interval", "interval of the reduction", 1)
        whom = f" {word} {label(other)}" if other else ""
        return f"{number}{whom} ({span}{noise})"

    @property
    def chance_text(self) -> str:
        """The chance level in words: "10.0%, the majority class" or "RMSE 0.0406, the mean
        predictor"."""
        value = self.unit.value(self.rec.chance_metric)
        if self.unit.percent:
            return f"{value}, the majority class"
        return f"{self.metric} {value}, the mean predictor"

    @property
    def chance_owner(self) -> str:
        """Whose figure chance is: "the majority class's 10.0%", "the mean predictor's 0.0406"."""
        what = "the majority class's" if self.unit.percent else "the mean predictor's"
        return f"{what} {self.unit.value(self.rec.chance_metric)}"

    def beats_chance(self, value: Any) -> bool:
        """Whether ``value`` is better than the chance level (True when it is unknown)."""
        chance = self.rec.chance_metric
        if not finite(value) or not finite(chance):
            return True
        return self.sign * (float(value) - float(chance)) > 0  # type: ignore[arg-type]

    def at_chance(self) -> list[FamilySummary]:
        return [f for f in self.rec.families if getattr(f, "at_chance", False)]

    def insufficient(self) -> list[FamilySummary]:
        return [
            f
            for f in self.rec.families
            if getattr(f, "compared", "") == Compared.INSUFFICIENT
            or getattr(f, "finding", "") == Finding.NOT_TRAINED_ENOUGH
        ]

    def did_not_learn(self) -> list[FamilySummary]:
        return [f for f in self.rec.families if getattr(f, "finding", "") == Finding.DID_NOT_LEARN]
