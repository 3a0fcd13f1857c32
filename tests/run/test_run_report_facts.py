"""The run's final model and machine facts as the report shows them (run internals patched)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

import archselect


@pytest.mark.small_data_rules
def test_small_data_report_says_its_figures_are_cross_validated(
    tmp_path: Path, small_digits_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 rows: small data, so the head-to-head says its figures are cross-validated."""
    import archselect.core.records as records

    monkeypatch.setattr(records, "EXPORTABLE_BASELINES", ())  # a network is exported
    monkeypatch.setattr(importlib.import_module("archselect.run._refit"), "ENSEMBLE_SIZE", 2)
    space = Path(__file__).resolve().parents[1] / "spaces" / "tiny_shared.toml"
    archselect.fit(
        small_digits_csv, out=tmp_path / "run", trials=1, families=("mlp",), spaces=(space,)
    )
    html = (tmp_path / "run" / "report.html").read_text()
    assert 'id="cv-note"' in html and "4-fold cross-validated" in html
    # ... and the final model is the mean of several seeds' refits, as the headline says
    rec = json.loads((tmp_path / "run" / "recommendation.json").read_text())
    config = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert config["ensemble"] == 2 and "mean of 2 refits" in rec["headline"]


def test_machine_models_are_read_without_a_cuda_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CPU model from /proc/cpuinfo; GPU models from the NVIDIA driver's /proc entries."""
    import torch

    import archselect.run._machine as run_module

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Example CPU 9000 @ 3.0GHz\n")
    monkeypatch.setattr(run_module, "_CPUINFO", cpuinfo)
    assert run_module.cpu_model() == "Example CPU 9000 @ 3.0GHz"
    monkeypatch.setattr(run_module, "_CPUINFO", tmp_path / "missing")
    assert run_module.cpu_model() != ""  # platform's answer instead
    gpus = tmp_path / "gpus"
    for bus in ("0000:01:00.0", "0000:02:00.0"):
        (gpus / bus).mkdir(parents=True)
        (gpus / bus / "information").write_text("Model: \t\t NVIDIA H200\nIRQ: 1\n")
    monkeypatch.setattr(run_module, "_NVIDIA_GPUS", gpus)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: pytest.fail("CUDA opened"))
    assert run_module.gpu_model(in_process=False) == "NVIDIA H200"
    monkeypatch.setattr(run_module, "_NVIDIA_GPUS", tmp_path / "none")
    assert run_module.gpu_model(in_process=False) == ""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert run_module.gpu_model(in_process=True) == ""
