"""A run directory's study is resumed only by a run with the same settings: another task,
target, input or family list is refused before any file of that run is touched, and
``--force`` starts it over."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import archselect
from archselect.cli import cli
from archselect.errors import UsageError
from tests.conftest import make_series


@pytest.fixture
def series_file(tmp_path: Path) -> Path:
    path = tmp_path / "series.csv"
    make_series(n=60, length=24).to_csv(path, index=False)
    return path


def test_a_study_begun_with_other_settings_is_not_resumed(
    series_file: Path, fast_space: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    archselect.fit(series_file, out=out, trials=1, families=("mlp",), spaces=(fast_space,))
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    with pytest.raises(UsageError, match=r"families mlp, now cnn1d,mlp.*force=True") as err:
        archselect.fit(
            series_file, out=out, trials=2, families=("cnn1d", "mlp"), spaces=(fast_space,)
        )
    assert "holds a search begun with other settings" in str(err.value)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before  # nothing of the earlier run was touched

    res = CliRunner().invoke(
        cli,
        ["fit", str(series_file), "--out", str(out), "--families", "cnn1d", "--trials", "1"],
    )
    assert res.exit_code == 2
    assert "families mlp, now cnn1d" in res.output

    # the same settings resume it; --force starts it over with the new ones
    archselect.fit(series_file, out=out, trials=2, families=("mlp",), spaces=(fast_space,))
    resumed = pd.read_csv(out / "trials.csv")
    assert (resumed["kind"] == "trial").sum() == 2
    archselect.fit(
        series_file,
        out=out,
        trials=2,
        families=("cnn1d", "mlp"),
        spaces=(fast_space,),
        force=True,
    )
    fresh = pd.read_csv(out / "trials.csv")
    trials = fresh[fresh["kind"] == "trial"]
    assert sorted(trials["number"]) == [0, 1]
    assert set(trials["family"]) == {"cnn1d", "mlp"}


def test_force_never_deletes_a_study_in_the_users_own_storage(
    series_file: Path, fast_space: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    options = {"trials": 1, "spaces": (fast_space,), "storage": url}
    archselect.fit(series_file, out=tmp_path / "a", families=("mlp",), **options)  # type: ignore[arg-type]
    with pytest.raises(
        UsageError, match=r"study 'archselect' in storage .* another study_name or out"
    ):
        archselect.fit(
            series_file,
            out=tmp_path / "b",
            families=("cnn1d",),
            force=True,
            **options,  # type: ignore[arg-type]
        )
    assert (tmp_path / "shared.db").exists()
