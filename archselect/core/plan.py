"""The plan (stage 4): the candidate families, their spaces, the shared space and the budget."""

from __future__ import annotations

from dataclasses import dataclass

from archselect._common.serde import JsonRecord
from archselect.core.spaces import Space

__all__ = ["Plan"]


@dataclass(frozen=True)
class Plan(JsonRecord):
    """The candidate families, their spaces, the shared space and the budget."""

    modality: str
    layout: str
    task: str
    metric: str
    direction: str
    families: tuple[Space, ...]
    shared: Space
    baselines: tuple[str, ...]
    n_trials: int | None
    timeout_s: float | None
    share_per_family: int
    seed: int
    #: What the study optimises: ``(metric,)`` (one objective, the default) or
    #: ``(metric, "latency")`` (a multi-objective study whose Pareto front is reported;
    #: latency is milliseconds per sample at batch 1, minimised).
    objectives: tuple[str, ...] = ()
    #: Median pruning of unpromising trials (off: every trial trains to its end).
    pruning: bool = True
    #: When the profile was unsure (:attr:`archselect.core.data.Profile.readings`): the two
    #: readings whose families and references are all searched here, the profile's
    #: preferred one first; empty when it was sure.
    readings: tuple[str, ...] = ()

    @property
    def multi_objective(self) -> bool:
        """Whether the study has more than one objective (then it has a Pareto front)."""
        return len(self.objectives) > 1

    @property
    def family_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.families)

    def space(self, family: str) -> Space:
        return next(f for f in self.families if f.name == family)
