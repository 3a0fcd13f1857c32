"""The command line a person expects, the ONNX export of a real run, the dashboard, README."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console

import archselect
from archselect.cli import cli
from archselect.cli._progress import TrialProgress
from tests.conftest import ROOT

TINY = str(Path(__file__).resolve().parents[1] / "spaces" / "tiny_shared.toml")
#: Every measurement a trial stores for the dashboard.
MEASUREMENTS = (
    "family",
    "val_metric",
    "test_metric",
    "train_metric",
    "gap",
    "train_time_s",
    "epochs",
    "best_epoch",
    "n_params",
    "peak_memory_mb",
    "latency_b1_ms",
    "device",
)


def _invoke(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One two-trial fit through the CLI with --json (progress must stay on stderr)."""
    from tests.conftest import TRAINING as train
    from tests.conftest import make_series

    series_csv = tmp_path_factory.mktemp("data") / "series.csv"
    make_series(n=60, length=24).to_csv(series_csv, index=False)
    out = tmp_path_factory.mktemp("runs") / "series"
    old = train.MIN_STEPS
    train.MIN_STEPS = 4
    try:
        args = [str(series_csv), "--trials", "2", "--families", "cnn1d,gru", "--space", TINY]
        res = _invoke(["fit", *args, "--out", str(out), "--json"])
        quiet = _invoke(["fit", *args, "--out", str(out), "--json", "--quiet"])
    finally:
        train.MIN_STEPS = old
    assert res.exit_code == 0, res.output
    return {"out": out, "result": res, "quiet": quiet, "csv": series_csv}


def test_json_goes_alone_to_stdout_and_progress_to_stderr(run: dict[str, object]) -> None:
    res = run["result"]
    data = json.loads(res.stdout)  # type: ignore[attr-defined]
    assert data["recommendation"]["family"] in ("cnn1d", "gru")
    assert Path(data["run_dir"]) == run["out"]
    stderr = res.stderr  # type: ignore[attr-defined]
    assert "2/2 trials done" in stderr
    assert re.search(r"best (cnn1d|gru) \d", stderr)
    assert "elapsed" in stderr and "left" in stderr
    quiet = run["quiet"]
    assert quiet.exit_code == 0  # type: ignore[attr-defined]
    json.loads(quiet.stdout)  # type: ignore[attr-defined]
    assert "trials done" not in quiet.stderr  # type: ignore[attr-defined]


def test_progress_bar_on_a_terminal() -> None:
    buf = io.StringIO()
    progress = TrialProgress(Console(file=buf, force_terminal=True, width=120))
    plan = archselect.make_plan(
        archselect.profile_frame(pd.DataFrame({"a": np.sin(np.arange(30.0)), "y": [0, 1] * 15})),
        n_trials=3,
    )
    progress.start(plan)
    from archselect.search import TrialRecord

    progress.trial(TrialRecord(number=0, family="mlp", state="COMPLETE", val_metric=0.75))
    progress.trial(TrialRecord(number=1, family="mlp", state="COMPLETE", val_metric=0.5))
    progress.close()
    text = buf.getvalue()
    assert "2/3" in text and "mlp 0.75" in text and "left" in text


def test_every_command_help_shows_examples_and_exit_codes() -> None:
    root = _invoke(["--help"])
    assert "Example" in root.output
    for code in ("0 ", "1 ", "2 ", "130"):
        assert code in root.output.split("Exit codes:")[1]
    assert set(cli.commands) >= {"fit", "profile", "predict", "report", "export"}
    for name in cli.commands:
        res = _invoke([name, "--help"])
        assert res.exit_code == 0 and "Example" in res.output, name
    version = _invoke(["--version"])
    assert archselect.__version__ in version.output


def test_export_cli_onnx_matches_predict(run: dict[str, object], tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    out = run["out"]
    res = _invoke(["export", str(out), "--format", "onnx", "--json"])
    assert res.exit_code == 0, res.output
    path = Path(json.loads(res.stdout)["path"])
    assert path == Path(str(out)) / "model" / "model.onnx" and path.exists()
    frame = pd.read_csv(run["csv"])  # type: ignore[arg-type]
    pred = _invoke(["predict", str(out), str(run["csv"])])
    expected = pd.read_csv(io.StringIO(pred.stdout))
    session = ort.InferenceSession(str(path))
    proba, label = session.run(None, {"x": frame.drop(columns="label").to_numpy("float32")})
    classes = json.loads(session.get_modelmeta().custom_metadata_map["classes"])
    np.testing.assert_allclose(proba, expected[[f"proba_{c}" for c in classes]], atol=1e-4)
    assert list(np.asarray(classes)[label]) == list(expected["prediction"].astype(str))


def test_export_of_a_missing_run_is_bad_input(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["export", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "error:" in res.stderr


def test_study_opens_read_only_with_every_measurement(
    run: dict[str, object], tmp_path: Path
) -> None:
    copy = tmp_path / "study.db"
    shutil.copy(Path(str(run["out"])) / "study.db", copy)
    before = copy.read_bytes()
    url = f"sqlite:///file:{copy}?mode=ro&uri=true"  # a write would fail: read-only
    storage = optuna.storages.RDBStorage(url, skip_table_creation=True)
    study = optuna.load_study(study_name="archselect", storage=storage)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 2
    for t in done:
        missing = [k for k in MEASUREMENTS if k not in t.user_attrs]
        assert not missing, missing
        assert t.user_attrs["family"] == t.params["family"]
    # batch-256 latency is timed once per family's best trial, after the search (on long
    # series it cost more than a trial's training), and kept in the study's attributes
    timed = study.user_attrs["batch_latency"]
    assert timed and all(v["latency_b256_ms"] > 0 for v in timed.values())
    assert copy.read_bytes() == before


def _snippet(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- snippet: {name} -->\n```python\n(.*?)```", text, re.S)
    assert match, f"README lacks the {name} snippet"
    return match.group(1)


def test_readme_onnx_and_dashboard_snippets_run(
    run: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copytree(Path(str(run["out"])), runs / "digits")  # the README's paths, verbatim
    archselect.export.export_onnx(runs / "digits" / "model")
    shutil.copy(run["csv"], tmp_path / "new_rows.csv")  # type: ignore[arg-type]
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(_snippet("onnx"), scope)
    assert scope["proba"].shape == (60, 2)  # type: ignore[attr-defined]
    scope = {}
    exec(_snippet("dashboard"), scope)
    frame = scope["study"].trials_dataframe(attrs=("number", "user_attrs"))  # type: ignore[attr-defined]
    assert "user_attrs_family" in frame.columns


@pytest.mark.slow
def test_readme_sklearn_snippet_runs() -> None:
    scope: dict[str, object] = {}
    exec(_snippet("sklearn"), scope)
    assert scope["clf"].best_family_ in ("cnn2d", "mlp")  # type: ignore[attr-defined]
