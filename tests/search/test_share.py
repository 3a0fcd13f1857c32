"""A trial's share and the fidelity it trained at (issue 29)."""

from __future__ import annotations


def test_a_trial_capped_by_its_probe_records_the_epochs_its_share_paid_for() -> None:
    """The probe's cap is a plan: the run trains while its share lasts (cross-validated or
    not), and the trial's fidelity is what it trained, full when that was its schedule."""
    from types import SimpleNamespace

    from archselect._common.budget import Fidelity
    from archselect.search._objective import _trained_fidelity
    from archselect.train import TrainConfig

    config = TrainConfig(epochs=40, batch_size=32)
    capped = Fidelity(epochs=5, epoch_s=2.0, allowance_s=10.0)

    def outcome(epochs: int, folds: int | None = None) -> SimpleNamespace:
        return SimpleNamespace(result=SimpleNamespace(epochs=epochs), rows=3200, cv_folds=folds)

    assert _trained_fidelity(capped, outcome(9), config).epochs == 9  # type: ignore[arg-type]
    assert _trained_fidelity(capped, outcome(7, 4), config).epochs == 7  # type: ignore[arg-type]
    full = _trained_fidelity(capped, outcome(40), config)  # type: ignore[arg-type]
    assert full.epochs is None and full.note() is None
    whole = Fidelity()
    assert _trained_fidelity(whole, outcome(12), config) == whole  # type: ignore[arg-type]
