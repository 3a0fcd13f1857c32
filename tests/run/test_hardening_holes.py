"""Holes a hostile tester found outside the bad-input corpus: each test fails without its fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from archselect.cli import cli
from tests import corpus


def test_image_path_runs_have_a_preview(tmp_path: Path) -> None:
    from archselect.load import load_table
    from archselect.profile import data_preview, profile_table

    table = load_table(corpus.write_png_folder(tmp_path, n=20))
    profile = profile_table(table)
    assert profile.form == "image_paths"
    preview = data_preview(table, profile)
    assert preview.kind == "image"
    c, h, w = profile.input_shape
    assert preview.shape == (h, w, c)
    assert preview.samples and all(len(s.values) == h * w * c for s in preview.samples)
    assert any(max(s.values) > 0 for s in preview.samples)  # real pixels, not zeros


@pytest.fixture
def failing_family() -> Iterator[str]:
    """A family whose builder always refuses, so every trial fails."""
    from archselect.models import register_model, unregister_model

    def build(input_shape: tuple[int, ...], n_outputs: int, *, unit: int = 1) -> object:
        raise ValueError("this family never builds")

    register_model("never_builds", layouts=("table",))(build)
    yield "never_builds"
    unregister_model("never_builds")


def test_fit_without_a_model_exits_3(
    failing_family: str, tmp_path: Path, fast_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archselect.core.records as baselines

    monkeypatch.setattr(baselines, "EXPORTABLE_BASELINES", ())  # no reference to fall back to
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    frame["label"] = np.where(frame["a"] > 0, "yes", "no")
    frame.to_csv(tmp_path / "d.csv", index=False)
    space = tmp_path / "never_builds.toml"
    space.write_text(
        'name = "never_builds"\nlayouts = ["table"]\n'
        '[params.unit]\ntype = "categorical"\nchoices = [1]\n'
    )
    out = tmp_path / "run"
    args = ["fit", str(tmp_path / "d.csv"), "--out", str(out), "--trials", "1", "--quiet"]
    args += ["--families", failing_family, "--space", str(space), "--space", str(fast_space)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 3, res.output
    assert "no model was written" in res.stderr
    assert not (out / "model").exists()
    assert (out / "report.html").exists() and (out / "trials.csv").exists()


@pytest.mark.parametrize("command", ["profile", "predict"])
def test_interrupt_message_fits_the_command(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in profile/predict speaks of neither trials nor a report."""
    import archselect.profile
    import archselect.run

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(archselect.profile, "profile_table", interrupted)
    monkeypatch.setattr(archselect.run, "load", interrupted)
    data = tmp_path / "d.csv"
    data.write_text("a,label\n1,x\n2,y\n")
    args = [command, str(data)] if command == "profile" else [command, str(tmp_path), str(data)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 130, res.output
    assert "interrupted" in res.stderr
    assert "trial" not in res.stderr and "report" not in res.stderr


def test_devices_naming_a_missing_gpu_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--devices 0 on a machine without that GPU never runs silently on the CPU."""
    import archselect.run._workers

    monkeypatch.setattr(archselect.run._workers, "gpu_count", lambda: 0)
    data = tmp_path / "d.csv"
    data.write_text("a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(30)))
    res = CliRunner().invoke(cli, ["fit", str(data), "--devices", "0", "--out", str(tmp_path)])
    assert res.exit_code == 2, res.output
    assert "--devices 0 names GPU 0 but this machine has no CUDA GPU" in res.stderr
    assert not list(tmp_path.glob("*.json"))
