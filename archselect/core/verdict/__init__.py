"""The verdict in words — one source for the CLI, the report and ``recommendation.json``.

The selection (:mod:`archselect.select`) decides and stores numbers; this package turns a
recommendation into the sentences and figures every reader shows: the headline (what to use,
by how much), how sure, at what cost, which question is still open, the architecture verdict
beside the exported model, the exported model's test figure, the order control and the
learning curves. The CLI headline, the report's first screen, the head-to-head's ★, the
page title and ``recommendation.json``'s ``headline`` and ``reasons`` all come from
:func:`describe`, so they cannot disagree. Every constant of the rule lives here too
(:mod:`._rules`), and every number is printed in its metric's unit (:mod:`._units`).

Torch-free: the report renders a run directory on a machine without the training stack.

Example:
    >>> from archselect.core.verdict import unit_for
    >>> unit_for("accuracy").interval((-0.05, 0.2))
    '95% interval [−5.0, +20.0] points'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from archselect.core.recommendation import Recommendation
from archselect.core.verdict._facts import ALL_ROWS, TESTED_ROWS, TRIAL_WEIGHTS, Facts
from archselect.core.verdict._reasons import ensemble_sentence, reasons, stability_sentence
from archselect.core.verdict._rules import (
    CHANCE_MIN_GAIN,
    CHEAPER_FRACTION,
    CHEAPER_MIN_MS,
    CHEAPER_MIN_S,
    COIN_TOSS_SHARE,
    ENSEMBLE,
    FAIR_SHARE_MIN,
    INTERVAL,
    MEMORY_NOISE_MB,
    SMALLER_FRACTION,
    STABLE_SHARE,
    Z95,
    Compared,
    Costs,
    Finding,
    RecommendationKind,
    cheaper_parts,
    direction_sign,
    label,
    stability_word,
)
from archselect.core.verdict._screen import (
    choice_sentence,
    cost_sentence,
    exported_sentence,
    family_finding,
    findings_sentence,
    headline,
    how_sure,
    open_question,
)
from archselect.core.verdict._structure import curves_sentence, order_sentence
from archselect.core.verdict._units import (
    MINUS,
    PERCENT_METRICS,
    Unit,
    excludes_zero,
    fmt_number,
    parse_number,
    unit_for,
)

__all__ = [
    "ALL_ROWS",
    "CHANCE_MIN_GAIN",
    "CHEAPER_FRACTION",
    "CHEAPER_MIN_MS",
    "CHEAPER_MIN_S",
    "COIN_TOSS_SHARE",
    "ENSEMBLE",
    "FAIR_SHARE_MIN",
    "INTERVAL",
    "MEMORY_NOISE_MB",
    "MINUS",
    "PERCENT_METRICS",
    "SMALLER_FRACTION",
    "STABLE_SHARE",
    "TESTED_ROWS",
    "TRIAL_WEIGHTS",
    "Z95",
    "Compared",
    "Costs",
    "Finding",
    "RecommendationKind",
    "Unit",
    "VerdictText",
    "cheaper_parts",
    "describe",
    "direction_sign",
    "ensemble_text",
    "excludes_zero",
    "family_text",
    "fmt_number",
    "label",
    "parse_number",
    "restate",
    "stability_text",
    "stability_word",
    "unit_for",
]

_Rec = TypeVar("_Rec", bound=Recommendation)


@dataclass(frozen=True)
class VerdictText:
    """The verdict's sentences, each None where there is nothing to say.

    Attributes:
        name: The exported model in words ("MiniRocket", "cnn1d", "the ensemble of 3 models").
        star: The head-to-head row of the recommended model (a family, a reference's name or
            ``ensemble``), which gets the ★.
        title: The report page's title.
        headline: What to use and by how much.
        choice: Top scorer vs recommended vs best deep family, when they differ, with the rule.
        how_sure: The verdict's stability (or the margin's interval).
        cost: What the recommended model costs.
        exported: The exported model's held-out test figure and how it was trained.
        open_question: What this budget could not settle, and what would.
        findings: Families that had their fair share and did not learn.
        order: The order control.
        curves: The learning curves: still rising, crossing, where they would tie.
        reasons: Every "Why" sentence (the stored ones for runs from before the rule record).
    """

    name: str
    star: str | None
    title: str
    headline: str
    choice: str | None = None
    how_sure: str | None = None
    cost: str | None = None
    exported: str | None = None
    open_question: str | None = None
    findings: str | None = None
    order: str | None = None
    curves: str | None = None
    reasons: tuple[str, ...] = ()

    @property
    def full_headline(self) -> str:
        """The headline and the exported model's sentence: ``recommendation.json``'s
        ``headline`` and the CLI's first line."""
        return f"{self.headline} {self.exported}" if self.exported else self.headline

    def lines(self) -> list[tuple[str, str]]:
        """The first screen after the headline, as ``(label, sentence)`` pairs."""
        pairs = (
            ("Which model", self.choice),
            ("How sure", self.how_sure),
            ("Cost", self.cost),
            ("Exported model", self.exported),
            ("Still open", self.open_question),
            ("Finding", self.findings),
            ("Order control", self.order),
        )
        return [(k, v) for k, v in pairs if v]


def describe(
    rec: Recommendation, *, final_model: Mapping[str, Any] | None = None, layout: str | None = None
) -> VerdictText:
    """Every sentence of the verdict from one recommendation.

    Args:
        rec: The recommendation (as stored in ``recommendation.json``).
        final_model: How the exported model was trained (``seeds``, ``trained_on``) when the
            recommendation does not store it (a reference's refit: model/config.json).
        layout: The data's layout, which names what the order control shuffled.

    Example:
        >>> text = describe(rec)  # doctest: +SKIP
        >>> text.title  # doctest: +SKIP
        'archselect report — MiniRocket'
    """
    facts = Facts(rec, final_model, layout)
    order = rec.order_control
    return VerdictText(
        name=facts.name,
        star=facts.star,
        title=f"archselect report — {facts.name}",
        headline=headline(facts),
        choice=choice_sentence(facts),
        how_sure=how_sure(facts),
        cost=cost_sentence(facts),
        exported=exported_sentence(facts),
        open_question=open_question(facts),
        findings=findings_sentence(facts),
        order=order_sentence(order, facts.unit, layout) if order is not None else None,
        curves=curves_sentence(rec.learning_curves, facts.unit, facts.sign),
        reasons=reasons(facts),
    )


def restate(rec: _Rec, *, final_model: Mapping[str, Any] | None = None) -> _Rec:
    """``rec`` with ``headline`` and ``reasons`` rewritten from its fields by
    :func:`describe` (after the selection, the ensemble row or the final test changed them)."""
    text = describe(rec, final_model=final_model)
    if Facts(rec).legacy:
        return rec
    return dataclasses.replace(rec, headline=text.full_headline, reasons=text.reasons)


def family_text(rec: Recommendation, family: str) -> str | None:
    """A chance-level family's finding in words ("rnn did not learn in 25 s (80 epochs): …")."""
    facts = Facts(rec)
    summary = facts.families.get(family)
    return family_finding(summary, facts) if summary is not None else None


def ensemble_text(rec: Recommendation) -> str | None:
    """The ensemble row's sentence (:func:`archselect.core.verdict._reasons.ensemble_sentence`)."""
    return ensemble_sentence(Facts(rec))


def stability_text(rec: Recommendation) -> str | None:
    """The stability sentence of the Why list."""
    return stability_sentence(Facts(rec))
