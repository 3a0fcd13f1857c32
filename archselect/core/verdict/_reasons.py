"""The "Why" sentences: the family ranking, the paired comparison, the Brier check, the
verdict's stability, the families left out at chance level and the ensemble row.

Every difference is printed with its interval in the same unit
(:meth:`archselect.core.verdict._facts.Facts.versus`), from the recommendation's fields.
"""

from __future__ import annotations

from typing import Any

from archselect.core.verdict._facts import Facts, finite
from archselect.core.verdict._rules import (
    RecommendationKind,
    cheaper_parts,
    label,
    stability_word,
)
from archselect.core.verdict._screen import family_finding
from archselect.core.verdict._units import excludes_zero, unit_for

__all__ = ["ensemble_sentence", "reasons", "stability_sentence"]

#: Candidates named in the stability sentence at most, and the share below which one is not
#: (it would read "0%").
_LISTED = 3
_SHOWN = 0.005


def _family_lead(facts: Facts) -> str | None:
    rec = facts.rec
    fam = facts.families.get(rec.family or "")
    if fam is None:
        return None
    best = "" if facts.rule.get("architecture_by") == "cheaper" else "the best "
    return (
        f"{fam.family} reached {best}validation {facts.metric} {facts.unit.value(fam.val_metric)} "
        f"among deep families (trial {fam.best_trial}, {fam.completed} of {fam.trials} trials "
        "finished)."
    )


def _architecture(facts: Facts) -> str | None:
    rec = facts.rec
    if rec.family is None or facts.kind is RecommendationKind.FAMILY:
        return None
    return (
        f"Architecture verdict: the best deep family is {rec.family} (validation "
        f"{facts.metric} {facts.value_text(rec.family)}); {facts.name} is recommended and "
        "exported instead."
    )


def _family_step(facts: Facts) -> str | None:
    rec, m = facts.rec, facts.metric
    fam, runner = rec.family, rec.runner_up
    if fam is None or runner is None:
        return None
    versus = facts.versus(runner, rec.margin, rec.margin_interval)
    by = facts.rule.get("architecture_by")
    if by == "cheaper":
        mine, theirs = facts.costs(fam), facts.costs(runner)
        why = ""
        if mine is not None and theirs is not None:
            why = ", ".join(cheaper_parts(mine, theirs, training=False))
        return (
            f"{runner} and {fam} are within noise ({fam} {versus}), so the cheaper {fam} is "
            f"preferred ({why or 'by the measured costs'})."
        )
    brier = facts.rule.get("architecture_brier")
    if by == "brier" and brier:
        return (
            f"Their validation {m} alone cannot separate {fam} and {runner} ({fam} {versus}), "
            f"but the per-row Brier score does: {fam} is surer where it is right "
            f"({unit_for('brier').interval(brier)} of the Brier difference, + favours {fam}), "
            "so it stays ahead."
        )
    return f"Next deep family {runner}: {facts.value_text(runner)}; {fam} {versus}."


def _paired(facts: Facts) -> str | None:
    p = facts.paired
    if not p or "b" not in p:
        return None
    a, b = p["a"], p["b"]
    where = " on the same validation rows" if p.get("interval") else ""
    text = (
        f"{label(a)} vs {label(b)}{where}: {label(a)} "
        f"{facts.versus(b, p.get('margin'), p.get('interval'))}"
    )
    if "only_a" in p:
        text += (
            f"; rows only {label(a)} gets right: {p['only_a']}, only {label(b)}: {p['only_b']} "
            f"(exact McNemar {_p_value(p['p_value'])})"
        )
    return text + "."


#: p-values below this are stored as 0 (rounded to six decimals) and said as "p < …".
_SMALLEST_P = 1e-6


def _p_value(p: float) -> str:
    return f"p < {_SMALLEST_P:g}" if p < _SMALLEST_P else f"p = {p:.3g}"


def _brier(facts: Facts) -> str | None:
    b = facts.rec.brier_check or {}
    iv = b.get("interval")
    if not iv:
        return None
    a_name, b_name = label(b.get("a")), label(b.get("b"))
    if iv[0] > 0:
        verdict = f"{a_name} is surer where it is right"
    elif iv[1] < 0:
        verdict = f"{b_name} is surer where it is right"
    else:
        verdict = "neither is measurably surer"
    where = "excludes" if excludes_zero(iv) else "includes"
    return (
        f"Brier check ({a_name} vs {b_name}): {unit_for('brier').interval(iv)} of the mean "
        f"per-row Brier difference (+ : {a_name} surer) {where} 0: {verdict}."
    )


def stability_sentence(facts: Facts) -> str | None:
    """The verdict's stability in words, saying plainly when it is a coin toss."""
    stab: dict[str, Any] = dict(facts.rec.verdict_stability or {})
    shares = {str(k): float(v) for k, v in (stab.get("shares") or {}).items() if finite(v)}
    name = facts.recommended
    if not shares or name is None or facts.kind is RecommendationKind.ENSEMBLE:
        return None
    listed = ", ".join(
        f"{label(k)} in {v:.0%}" for k, v in list(shares.items())[:_LISTED] if v >= _SHOWN
    )
    head = (
        f"Re-applying the selection rule to {int(stab.get('resamples', 0)):,} bootstrap "
        f"resamples of the {int(stab.get('rows', 0)):,} validation rows recommends {listed}"
    )
    word = stability_word(shares.get(name, 0.0))
    if word == "stable":
        return head + ": the verdict is stable."
    if word == "a coin toss":
        return (
            head + f": the verdict ({label(name)}) is a coin toss on this data. More labelled "
            "rows would settle it (the intervals narrow with the square root of the rows); "
            "more trials help only if the candidates' best settings are not yet found."
        )
    return (
        head
        + ": the verdict leans one way but is not settled; more labelled rows would firm it up."
    )


def _reference(facts: Facts) -> str | None:
    """The architecture verdict against the best non-deep reference, when a family is
    recommended (a tie earns the deep model nothing; a lead is said with its size)."""
    rec = facts.rec
    base, value = rec.baseline_best, rec.baseline_val_metric
    fam = facts.families.get(rec.family or "")
    if base is None or fam is None or facts.kind is not RecommendationKind.FAMILY:
        return None
    if not finite(value) or not finite(fam.val_metric):
        return None
    ref = f"{label(base)} ({facts.unit.value(value)})"
    lead = facts.sign * (float(fam.val_metric) - float(value))  # type: ignore[arg-type]
    if lead < 0:
        return (
            f"The non-deep reference {ref} beats every deep family ({fam.family}: "
            f"{facts.unit.value(fam.val_metric)}), but archselect cannot export it: a deep model "
            "may not be worth it on this data."
        )
    if lead == 0:
        return (
            f"{fam.family} only ties with the best non-deep reference, {ref}: on this "
            "validation data the deep model earns nothing over it."
        )
    return f"{fam.family} beats the best non-deep reference, {ref}, by {facts.unit.amount(lead)}."


def _left_out(facts: Facts) -> str | None:
    found = [s for s in (family_finding(f, facts) for f in facts.at_chance()) if s]
    if not found:
        return None
    return (
        f"Within noise of chance ({facts.chance_text}), so not a "
        "measurement and left out of the verdict, the stability resampling and the ensemble: "
        + "; ".join(found)
        + "."
    )


def _not_measured(facts: Facts) -> str | None:
    """Families the budget stopped before a first result (too slow for their share)."""
    stopped = [f for f in facts.insufficient() if f.val_metric is None]
    if not stopped:
        return None
    parts = [
        f.family + (f" (about {f.needed_s:.0f} s of training needed)" if f.needed_s else "")
        for f in stopped
    ]
    return (
        "Stopped by the budget before a first result, so not compared: " + ", ".join(parts) + "."
    )


def ensemble_sentence(facts: Facts) -> str | None:
    """The ensemble row in words: what it is, how it was scored, and whether it won."""
    row: dict[str, Any] = dict(facts.rec.ensemble or {})
    if not row.get("members"):
        return None
    unit, m = facts.unit, facts.metric
    where = "out-of-fold" if row.get("cv") else "validation"
    members = ", ".join(f"{label(x['name'])} ×{float(x['weight']):.2f}" for x in row["members"])
    text = (
        f"Ensemble of the best trials (greedy selection with replacement, {row.get('rounds')} "
        f"rounds, over {len(row.get('pool', ()))} models: {len(row['members'])} chosen: "
        f"{members}): {where} {m} {unit.value(row.get('val_metric'))} with weights chosen on "
        f"the other half of the {int(row.get('rows', 0)):,} rows "
        f"({unit.value(row.get('in_sample_val_metric'))} on the rows that chose them), vs "
        f"{unit.value(row.get('best_single_val_metric'))} for the best single candidate, "
        f"{label(row.get('best_single'))}: the ensemble "
        f"{facts.versus(row.get('best_single'), row.get('margin'), row.get('interval'))}"
    )
    if "test_metric" in row:
        text += (
            f"; test {m} of the searched models {unit.value(row['test_metric'])} vs "
            f"{unit.value(row.get('best_single_test_metric'))} on the same "
            f"{int(row.get('test_rows', 0)):,} rows"
        )
    if row.get("chosen"):
        return text + ": it wins clearly, so it is recommended and exported."
    if row.get("clear"):
        return text + ": it wins clearly but cannot be exported here, so it is not chosen."
    return text + ": not clearly better, so a single model is recommended."


def reasons(facts: Facts) -> tuple[str, ...]:
    """Every "Why" sentence of the verdict, then the selection's own notes."""
    if facts.legacy:
        return tuple(facts.rec.reasons)
    built = (
        _architecture(facts),
        _family_lead(facts),
        _family_step(facts),
        _paired(facts),
        _brier(facts),
        stability_sentence(facts),
        _reference(facts),
        _left_out(facts),
        _not_measured(facts),
        ensemble_sentence(facts),
    )
    notes = tuple(str(n) for n in facts.rule.get("notes", ()))
    return tuple(s for s in built if s) + notes
