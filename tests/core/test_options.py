"""FitOptions: one check of every option, named the way each caller wrote it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import archselect
from archselect.cli import cli
from archselect.core.options import MAX_STUDY_NAME, FitOptions, flag_of, for_python
from archselect.errors import UsageError


def test_lists_and_paths_are_normalised_once() -> None:
    opts = FitOptions.of(families="cnn1d, lstm", objectives=["accuracy"], spaces="a.toml")
    assert opts.families == ("cnn1d", "lstm")
    assert opts.objectives == ("accuracy",)
    assert opts.spaces == (Path("a.toml"),)
    assert FitOptions.of(families="mlp").families == ("mlp",)  # never split into letters
    assert FitOptions.of(target=3, out="runs/x").target == "3"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"trials": 0}, "--trials must be a positive number of trials, not 0."),
        ({"timeout": -1.0}, "--timeout must be longer than zero, not -1.0."),
        ({"seed": -1}, "--seed must be between 0 and"),
        ({"jobs": 0}, "--jobs must be at least 1, not 0."),
        ({"max_failures": 0}, "--max-failures must be at least 1"),
        ({"study_name": "x" * (MAX_STUDY_NAME + 1)}, "--study must be 1 to 512 characters"),
        ({"devices": "gpu0"}, "--devices 'gpu0' is not a list of GPU indices"),
        ({"families": " , "}, "--families ' , ' names nothing"),
    ],
)
def test_each_bad_value_is_refused_with_its_flag(options: dict, says: str) -> None:
    with pytest.raises(UsageError) as err:
        FitOptions.of(**options)
    assert str(err.value).startswith(says)


def test_python_callers_read_their_keywords() -> None:
    assert flag_of("study_name") == "--study" and flag_of("id_col") == "--id-col"
    said = for_python("--study must be 1 to 512 characters; pass --force or --id-col 'id'")
    assert said == "study_name must be 1 to 512 characters; pass force=True or id_col='id'"
    assert for_python("--no-pruning, --unknown-flag") == "pruning=False, --unknown-flag"


def test_fit_checks_options_before_any_work_and_names_keywords(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": range(30), "label": [0, 1] * 15})
    out = tmp_path / "run"
    with pytest.raises(UsageError, match=r"^study_name must be 1 to 512 characters"):
        archselect.fit(frame, out=out, study_name="x" * 600)
    with pytest.raises(UsageError, match=r"^fit\(\) got options it does not know .*horizon"):
        archselect.fit(frame, out=out, space_file="x.toml")
    assert not out.exists()


def test_the_command_line_names_flags(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(30)))
    res = CliRunner().invoke(
        cli, ["fit", str(data), "--trials", "0", "--out", str(tmp_path / "r")]
    )
    assert res.exit_code == 2
    assert res.stderr.strip() == "error: --trials must be a positive number of trials, not 0."
    assert not (tmp_path / "r").exists()
