"""The whole path through the CLI (click's runner) and the Python API."""

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import archselect
from archselect.cli import cli, parse_duration
from archselect.core.spaces import families_for

TINY = str(Path(__file__).resolve().parents[1] / "spaces" / "tiny_shared.toml")


def _fit(args: list[str]):
    return CliRunner().invoke(cli, ["fit", *args], catch_exceptions=False)


def test_run_directory_is_complete(digits_run: Path) -> None:
    for name in (
        "profile.json",
        "plan.json",
        "study.db",
        "trials.csv",
        "recommendation.json",
        "report.html",
        "model/weights.pt",
        "model/config.json",
        "model/preprocessing.json",
    ):
        assert (digits_run / name).exists(), name
    trials = pd.read_csv(digits_run / "trials.csv")
    # logistic regression, gradient boosting, k-nearest neighbours, RBF SVM
    assert (trials["kind"] == "baseline").sum() == 4
    assert set(trials.loc[trials["kind"] == "trial", "family"]) == set(families_for("image"))
    rec = json.loads((digits_run / "recommendation.json").read_text())
    exported = f"scores test accuracy {rec['final_test_metric']:.1%}"
    assert rec["final_test_metric"] is not None and exported in rec["headline"]
    config = json.loads((digits_run / "model" / "config.json").read_text())
    assert config["ensemble"] == 1 and "mean of" not in rec["headline"]  # rules off here


def test_fit_json_output_is_parseable(tmp_path: Path, small_digits_csv: Path) -> None:
    # one trial of one family in the tiny space: the output's form does not depend on the search
    res = CliRunner().invoke(
        cli,
        [
            "fit",
            str(small_digits_csv),
            "--trials",
            "1",
            "--families",
            "mlp",
            "--out",
            str(tmp_path / "r"),
            "--space",
            TINY,
            "--json",
            "--quiet",
        ],
    )
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["recommendation"]["family"] in families_for("image")


def test_predict_cli_keeps_row_order_and_ignores_target(
    digits_run: Path, small_digits_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pred.csv"
    res = CliRunner().invoke(
        cli, ["predict", str(digits_run), str(small_digits_csv), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    pred = pd.read_csv(out)
    truth = pd.read_csv(small_digits_csv)
    assert len(pred) == len(truth)
    assert {f"proba_{i}" for i in range(10)} <= set(pred.columns)
    assert (pred["prediction"] == truth["label"]).mean() > 0.5
    no_target = truth.drop(columns="label")
    again = archselect.load(digits_run).predict(no_target)
    assert list(again["prediction"]) == list(pred["prediction"])


def test_rerun_resumes_without_new_trials(
    digits_run: Path, small_digits_csv: Path, tmp_path: Path
) -> None:
    run = tmp_path / "digits"  # a copy: the shared run stays as the other tests expect it
    shutil.copytree(digits_run, run)
    before = pd.read_csv(run / "trials.csv")
    res = CliRunner().invoke(
        cli, ["fit", str(small_digits_csv), "--trials", "4", "--out", str(run), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    after = pd.read_csv(run / "trials.csv")
    assert len(after) == len(before)
    assert list(after["val_metric"].fillna(-1)) == list(before["val_metric"].fillna(-1))


def test_other_data_in_out_dir_is_refused(digits_run: Path, series_csv: Path) -> None:
    res = CliRunner().invoke(
        cli, ["fit", str(series_csv), "--trials", "1", "--out", str(digits_run)]
    )
    assert res.exit_code == 2
    assert "holds a run on different data" in res.output


def test_profile_cli_json(small_digits_csv: Path) -> None:
    res = CliRunner().invoke(cli, ["profile", str(small_digits_csv), "--json"])
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    for key in ("modality", "layout", "task", "target", "input_shape", "confidence", "evidence"):
        assert key in data
    assert data["modality"] == "spatial" and data["input_shape"] == [1, 8, 8]


def test_report_rerenders_from_a_copied_directory(digits_run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(digits_run, copy)
    (copy / "report.html").unlink()
    res = CliRunner().invoke(cli, ["report", str(copy)])
    assert res.exit_code == 0, res.output
    html = (copy / "report.html").read_text()
    assert "archselect recommendation" in html and "Plotly" in html
    assert "http://" not in html.split("<script>")[0].replace("http://www.w3.org", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "missing.csv"], "does not exist"),
        (["fit", "{digits}", "--trials", "0"], "--trials must be a positive"),
        (["fit", "{digits}", "--timeout", "soon"], "is not a duration"),
        (["fit", "{digits}", "--families", "transformer"], "Unknown family 'transformer'"),
        (["fit", "{digits}", "--families", "lstm"], "does not fit image data"),
        (["fit", "{digits}", "--target", "lable"], "closest names are 'label'"),
        (["predict", "/nonexistent_run", "{digits}"], "not a directory"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(
    args: list[str], message: str, small_digits_csv: Path, tmp_path: Path
) -> None:
    args = [a.replace("{digits}", str(small_digits_csv)) for a in args]
    if args[0] == "fit":
        args += ["--out", str(tmp_path / "r")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output


def test_parse_duration() -> None:
    assert parse_duration("90") == 90.0
    assert parse_duration("15m") == 900.0
    assert parse_duration("1h30m") == 5400.0


def test_version_flag() -> None:
    res = CliRunner().invoke(cli, ["--version"])
    assert archselect.__version__ in res.output


# --- issue 33: the formats data scientists hold, rows that end in a comma, infinite targets -----


def _table(n: int = 80, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=n).round(3), "x2": rng.normal(size=n).round(3)})
    frame.insert(0, "label", np.where(frame["x1"] + frame["x2"] > 0, "cat", "dog"))
    return frame


def test_a_fit_on_rows_ending_in_a_comma_predicts_labels_from_any_format(
    tmp_path: Path,
) -> None:
    """Each row of ``label,x1,x2`` ending with a comma shifted every column: the fit learnt
    a regression of x1 and predict returned floats instead of cat/dog."""
    import gzip

    frame = _table()
    text = frame.to_csv(index=False).splitlines()
    data = tmp_path / "rows.csv"
    data.write_text("\n".join([text[0], *(f"{row}," for row in text[1:])]) + "\n")
    res = _fit([str(data), "--trials", "1", "--families", "mlp", "--out", str(tmp_path / "r"),
                "--space", TINY, "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    profile = json.loads((tmp_path / "r" / "profile.json").read_text())
    assert profile["task"] == "classification" and profile["target"] == "label"
    new = frame.drop(columns="label").head(10)
    new.to_parquet(tmp_path / "new.parquet")
    (tmp_path / "new.csv.gz").write_bytes(gzip.compress(new.to_csv(index=False).encode()))
    outputs = []
    for name in ("new.parquet", "new.csv.gz"):
        pred = CliRunner().invoke(cli, ["predict", str(tmp_path / "r"), str(tmp_path / name)])
        assert pred.exit_code == 0, pred.output
        outputs.append(pred.stdout)
    assert outputs[0] == outputs[1]
    assert set(pd.read_csv(io.StringIO(outputs[0]))["prediction"]) <= {"cat", "dog"}


def test_a_fit_on_parquet_with_infinite_targets_records_the_file(tmp_path: Path) -> None:
    """A regression target holding inf and NaN ended in exit 1 (a NaN training loss in the
    final refit); the run records the Parquet file's format and sha256."""
    import numpy as np

    from archselect.load import file_sha256

    frame = _table().drop(columns="label")
    frame["y"] = frame["x1"] * 2 - frame["x2"]
    frame.loc[[5, 9], "y"] = [np.inf, np.nan]
    data = tmp_path / "rows.parquet"
    frame.to_parquet(data)
    res = _fit([str(data), "--trials", "1", "--families", "mlp", "--out", str(tmp_path / "r"),
                "--space", TINY])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "2 rows without a target are left out" in res.stderr
    source = json.loads((tmp_path / "r" / "profile.json").read_text())["source"]
    assert source["format"] == "parquet" and source["sha256"] == file_sha256(data)
    assert (tmp_path / "r" / "model" / "config.json").exists()
