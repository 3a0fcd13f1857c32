"""The first screen's sentences: what to use, by how much, how sure, at what cost, what is
still open, and the exported model's test figure.

Each builder reads :class:`~archselect.core.verdict._facts.Facts` and returns one sentence (or
None when there is nothing to say); :func:`archselect.core.verdict.describe` gathers them.
"""

from __future__ import annotations

import math
from typing import Any

from archselect.core.recommendation import FamilySummary
from archselect.core.verdict._facts import ALL_ROWS, TRIAL_WEIGHTS, Facts, finite
from archselect.core.verdict._rules import (
    Finding,
    RecommendationKind,
    cheaper_parts,
    label,
    stability_word,
)

__all__ = [
    "choice_sentence",
    "cost_sentence",
    "exported_sentence",
    "family_finding",
    "findings_sentence",
    "headline",
    "how_sure",
    "open_question",
]

#: Seconds in a minute, for the budget that would settle an open question.
_MINUTE = 60.0
#: Other candidates named beside the recommended one in the stability line, and the share
#: (0.5 %, which rounds to 1 %) below which one is not named.
_STABILITY_OTHERS = 3
_SHOWN_SHARE = 0.005


def _cheaper(facts: Facts, a: str | None, b: str | None, *, training: bool = True) -> str:
    ca, cb = facts.costs(a), facts.costs(b)
    if ca is None or cb is None:
        return ""
    return ", ".join(cheaper_parts(ca, cb, training=training))


def _ensemble_head(facts: Facts) -> str:
    row: dict[str, Any] = dict(facts.rec.ensemble or {})
    unit, m = facts.unit, facts.metric
    members = ", ".join(f"{label(x['name'])} ×{float(x['weight']):.2f}" for x in row["members"])
    where = "out-of-fold" if row.get("cv") else "validation"
    text = (
        f"Use the ensemble of {len(row['members'])} models ({members}): {where} {m} "
        f"{unit.value(row.get('val_metric'))} (weights chosen on other rows) vs "
        f"{unit.value(row.get('best_single_val_metric'))} for the best single candidate, "
        f"{label(row.get('best_single'))}: "
        f"{facts.versus(row.get('best_single'), row.get('margin'), row.get('interval'))}."
    )
    if facts.rec.family is not None:
        text += (
            f" The best single family is {facts.rec.family} (validation {m} "
            f"{facts.value_text(facts.rec.family)})"
            + (
                f"; the best single model is {label(facts.rule.get('single'))}."
                if facts.rule.get("single") and facts.rule.get("single") != facts.rec.family
                else "."
            )
        )
    return text


def _reference_head(facts: Facts) -> str:
    rec, m = facts.rec, facts.metric
    ref, fam = facts.recommended, rec.family
    p = facts.paired
    lead = facts.lead(p.get("margin"), p.get("interval"))
    figures = f"validation {m} {facts.value_text(ref)} vs {facts.value_text(fam)}, {lead}"
    if facts.rule.get("recommended_by") == "cheaper":
        why = (
            f"it is within noise of the best deep family, {fam} ({figures}), and cheaper: "
            f"{_cheaper(facts, ref, fam)}"
        )
    else:
        why = f"it scores higher than the best deep family, {fam}: {figures}"
    return f"Use {label(ref)}: no deep family earns its cost here; {why}."


def _family_head(facts: Facts) -> str:
    rec, m = facts.rec, facts.metric
    name, top = facts.recommended, rec.top_scorer or facts.recommended
    p = facts.paired
    if top == name or not top:
        if not p:
            return f"Use {name}: validation {m} {facts.value_text(name)}; no other candidate."
        lead = facts.versus(p.get("b"), p.get("margin"), p.get("interval"))
        return f"Use {name}: validation {m} {facts.value_text(name)}, {lead}."
    if facts.rule.get("recommended_by") == "not exportable" or top not in facts.families:
        return (
            f"Use {name}: validation {m} {facts.value_text(name)}; the top scorer, "
            f"{label(top)} ({facts.value_text(top)}), is a reference archselect cannot export "
            "(see the notes)."
        )
    cheaper = _cheaper(facts, name, top, training=False) or _cheaper(facts, name, top)
    span = f", {facts.lead(p.get('margin'), p.get('interval'))}" if p.get("b") == top else ""
    return (
        f"Use {name}: within noise of the top scorer {top} (validation {m} "
        f"{facts.value_text(name)} vs {facts.value_text(top)}{span})"
        + (f" and cheaper ({cheaper})." if cheaper else ".")
    )


def _no_deep_head(facts: Facts) -> str:
    m = facts.metric
    stuck = facts.at_chance()
    why = (
        f"No deep family learned beyond chance level ({facts.chance_text}) at this budget"
        if stuck
        else "No deep family finished a trial"
    )
    if facts.recommended is None:
        return f"{why}; no architecture can be recommended."
    text = (
        f"{why}: use {label(facts.recommended)}, the best reference (validation {m} "
        f"{facts.value_text(facts.recommended)}), which is exported."
    )
    if not facts.beats_chance(facts.value(facts.recommended)):
        text += (
            " It does no better than chance either: nothing measured here predicts the target "
            "better than " + ("its most frequent class." if facts.unit.percent else "its mean.")
        )
    return text


def headline(facts: Facts) -> str:
    """What to use and by how much (the first sentence of the report and of the CLI)."""
    if facts.legacy and facts.rec.headline:
        return facts.rec.headline
    kind, rec = facts.kind, facts.rec
    if kind is RecommendationKind.ENSEMBLE and (rec.ensemble or {}).get("members"):
        return _ensemble_head(facts)
    if rec.family is None:
        return _no_deep_head(facts)
    if kind is RecommendationKind.BASELINE:
        return _reference_head(facts)
    return _family_head(facts)


def _architecture_part(facts: Facts) -> str | None:
    rec, deep_top = facts.rec, facts.deep_top
    fam = rec.family
    if fam is None:
        return None
    if deep_top and deep_top != fam:
        cheaper = _cheaper(facts, fam, deep_top, training=False)
        return (
            f"{deep_top} scored highest among deep families ({facts.value_text(deep_top)}); "
            f"{fam} ({facts.value_text(fam)}) is within noise and cheaper"
            + (f" ({cheaper})" if cheaper else "")
            + f", so {fam} is the architecture verdict"
        )
    if facts.kind is not RecommendationKind.FAMILY:
        return f"{fam} is the best deep family ({facts.value_text(fam)}): the architecture verdict"
    return None


def choice_sentence(facts: Facts) -> str | None:
    """Top scorer vs recommended vs best deep family, when they differ, and the rule that
    chose (e.g. "cnn1d scored highest among deep families; mlp is within noise and cheaper,
    so mlp is the architecture verdict; MiniRocket beats both and is exported")."""
    if facts.legacy:
        return None
    parts = [p for p in (_architecture_part(facts),) if p]
    rec, kind, name = facts.rec, facts.kind, facts.recommended
    by = facts.rule.get("recommended_by")
    if kind is RecommendationKind.BASELINE and rec.family is not None:
        ref = f"{label(name)} ({facts.value_text(name)})"
        if by == "cheaper":
            parts.append(f"{ref} is within noise of {rec.family} and cheaper, so it is exported")
        else:
            whom = "both" if facts.deep_top != rec.family else rec.family
            parts.append(f"{ref} beats {whom} and is exported")
    elif kind is RecommendationKind.ENSEMBLE:
        best = (rec.ensemble or {}).get("best_single")
        parts.append(
            f"the ensemble of the best trials beats the best single candidate, {label(best)}, "
            "clearly, and is exported"
        )
    top = rec.top_scorer
    if top and top not in (name, rec.family, facts.deep_top) and by == "not exportable":
        parts.append(f"the top scorer {label(top)} ({facts.value_text(top)}) cannot be exported")
    if not parts:
        return None
    return "; ".join(parts) + "."


def how_sure(facts: Facts) -> str | None:
    """The verdict's stability over resamples of the rows, or the margin's interval."""
    rec = facts.rec
    if facts.kind is RecommendationKind.ENSEMBLE and rec.ensemble:
        row = rec.ensemble
        return (
            f"the ensemble's lead over {label(row.get('best_single'))}: "
            f"{facts.versus(row.get('best_single'), row.get('margin'), row.get('interval'))}"
        )
    stab = rec.verdict_stability or {}
    shares = {str(k): float(v) for k, v in (stab.get("shares") or {}).items() if finite(v)}
    name = facts.recommended
    if shares and finite(stab.get("resamples")) and name is not None:
        share = shares.get(name, 0.0)
        others = [(k, v) for k, v in shares.items() if k != name and v >= _SHOWN_SHARE]
        listed = ", ".join(f"{label(k)} {v:.0%}" for k, v in others[:_STABILITY_OTHERS])
        return (
            f"{label(name)} in {share:.0%} of {int(stab['resamples']):,} resamples of the rows "
            f"— {stability_word(share)}" + (f" ({listed})" if listed else "")
        )
    if rec.runner_up is not None and rec.margin_interval is not None:
        return f"margin over {rec.runner_up}: " + facts.versus(
            rec.runner_up, rec.margin, rec.margin_interval
        )
    return None


def cost_sentence(facts: Facts) -> str | None:
    """What the recommended model costs, as measured."""
    if facts.kind is RecommendationKind.ENSEMBLE:
        members = len((facts.rec.ensemble or {}).get("members", ()))
        return f"{members} models to run for every prediction (their costs in the head-to-head)"
    costs = facts.costs(facts.recommended)
    if costs is None:
        return None
    parts = []
    if finite(costs.latency_ms):
        parts.append(f"{costs.latency_ms:.2g} ms per sample at batch 256")
    if finite(costs.n_params) and costs.n_params:
        parts.append(f"{int(costs.n_params):,} stored numbers")  # type: ignore[arg-type]
    if finite(costs.train_time_s):
        parts.append(f"trained in {costs.train_time_s:.2g} s")
    if finite(costs.memory_mb):
        parts.append(f"peak training memory {costs.memory_mb:.3g} MB")
    return ", ".join(parts) or None


def exported_sentence(facts: Facts) -> str | None:
    """The exported model's held-out test figure, saying how it was trained."""
    rec = facts.rec
    test = rec.final_test_metric
    if not finite(test):
        return None
    figure = f"test {facts.metric} {facts.unit.value(test)}"
    head = "On the held-out test rows (never used for choosing), "
    if facts.kind is RecommendationKind.ENSEMBLE:
        return (
            f"{head}the exported ensemble, each member refit on train + validation, scores "
            f"{figure}."
        )
    name = label(facts.recommended)
    seeds = int(facts.final_model.get("seeds") or facts.final_model.get("ensemble") or 1)
    trained_on = facts.final_model.get("trained_on")
    what = (
        f"{name} refit on train + validation"
        if seeds == 1
        else f"{name}, the mean of {seeds} refits on train + validation with different seeds"
    )
    if trained_on == TRIAL_WEIGHTS:
        what = f"{name}, the best trial's own weights (trained on the training rows)"
    if trained_on == ALL_ROWS:
        return (
            f"{head}the model {what} scores {figure}; the exported model is the same refit on "
            "every labelled row (the test rows too), which has no held-out figure of its own."
        )
    return f"{head}the exported model, {what}, scores {figure}."


def _seconds(s: float | None) -> str:
    """Training seconds in words: "4 s", "0.3 s", "under 0.1 s" (never "0 s")."""
    s = float(s or 0.0)
    if s >= 1:
        return f"{s:.0f} s"
    return f"{s:.1f} s" if s >= 0.1 else "under 0.1 s"


def _spent(f: FamilySummary) -> str:
    """What a family's best trial trained: "1 epoch in 4 s"."""
    parts = []
    if f.epochs is not None:
        parts.append(f"{f.epochs} epoch{'s' if f.epochs != 1 else ''}")
    if finite(f.trained_s):
        parts.append(_seconds(f.trained_s))
    return " in ".join(parts) or "no result"


def family_finding(f: FamilySummary, facts: Facts) -> str | None:
    """A chance-level family in words: not a measurement, and why."""
    if not getattr(f, "at_chance", False):
        return None
    spent = []
    if f.epochs is not None:
        spent.append(f"{f.epochs} epoch{'s' if f.epochs != 1 else ''}")
    if finite(f.trained_s):
        spent.append(_seconds(f.trained_s))
    if f.finding == Finding.DID_NOT_LEARN:
        where = f" in {spent[1]}" if len(spent) > 1 else ""
        return (
            f"{f.family} did not learn{where}"
            + (f" ({spent[0]})" if spent else "")
            + f": validation {facts.metric} {facts.unit.value(f.val_metric)}, within noise of "
            f"{facts.chance_owner}"
        )
    need = f"; about {f.needed_s:.0f} s would be needed" if finite(f.needed_s) else ""
    return (
        f"{f.family} was not trained enough at this budget ({', '.join(spent) or 'too little'}"
        f"{need})"
    )


#: Families listed one by one in the open question; beyond, their range of needs.
_DETAILED = 2


def _short_details(short: list[FamilySummary]) -> str:
    """What the families not trained enough got, and about what they would need."""
    if len(short) > _DETAILED:
        needs = [f.needed_s for f in short if finite(f.needed_s)]
        if not needs:
            return "no whole schedule trained"
        low, high = min(needs), max(needs)  # type: ignore[type-var]
        return f"about {low:.0f} to {high:.0f} s of training each would be needed"
    return "; ".join(
        (f"{f.family}: " if len(short) > 1 else "")
        + _spent(f)
        + (f", about {f.needed_s:.0f} s needed" if f.needed_s else "")
        for f in short
    )


def _budget(seconds: float) -> str:
    minutes = math.ceil(seconds / _MINUTE)
    return f"--timeout {minutes}m" if minutes >= 1 else f"--timeout {seconds:.0f}s"


def open_question(facts: Facts) -> str | None:
    """The question this run could not settle, and what would settle it."""
    parts = []
    short = facts.insufficient()
    if short:
        names = [f.family for f in short]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        verb = "was" if len(names) == 1 else "were"
        details = _short_details(short)
        text = f"{listed} {verb} not trained enough at this budget to compare ({details})"
        settle: Any = facts.rule.get("settle_budget_s")
        if finite(settle):
            text += f"; about {_budget(float(settle))} would settle it"
        parts.append(text)
    stab = facts.rec.verdict_stability or {}
    share: Any = (stab.get("shares") or {}).get(facts.recommended or "")
    if finite(share) and stability_word(float(share)) == "a coin toss":
        parts.append(
            f"the verdict for {label(facts.recommended)} is a coin toss on these rows: more "
            "labelled rows would settle it"
        )
    return "; ".join(parts) or None


def findings_sentence(facts: Facts) -> str | None:
    """Families that got their fair share and still sit at chance: a finding."""
    stuck = facts.did_not_learn()
    if len(stuck) > _DETAILED:
        names = ", ".join(f.family for f in stuck[:-1]) + " and " + stuck[-1].family
        return (
            f"{names} did not learn in their share of the budget: validation {facts.metric} "
            f"within noise of {facts.chance_owner} (each in the head-to-head)"
        )
    found = [family_finding(f, facts) for f in stuck]
    return "; ".join(s for s in found if s) or None
