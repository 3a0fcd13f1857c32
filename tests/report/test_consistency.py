"""The report tells one story: on every kind of verdict, the page title, the head-to-head's ★,
the first screen, the "exported model" sentence, model/config.json and the CLI's headline
name the same model, and every interval printed matches recommendation.json in value and
unit. Checked on the rendered HTML (not the template), for six synthetic verdicts and two
small real fits."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from archselect.cli import cli, echo_verdict
from archselect.core.stored import RunRecommendation
from archselect.core.verdict import describe, label, parse_number, unit_for
from archselect.report import render_report
from tests.report.verdicts import VERDICTS, write_run

TINY = str(Path(__file__).resolve().parents[1] / "spaces" / "tiny_shared.toml")
#: "95% interval [lo, hi] unit" as the verdict prints it (the unit word once, after it).
INTERVAL_RE = re.compile(
    r"95% interval(?: of the reduction)? \[([^\],\[]+), ([^\],\[]+)\]"
    r"(?: (points|RMSE|MAE|MAPE|MASE|sMAPE))?"
)


def _text(fragment: str) -> str:
    """Visible text of an HTML fragment (tags dropped, entities decoded, spaces joined)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def _by_id(page: str, element: str) -> str:
    found = re.search(rf'<[a-z]+[^>]* id="{element}"[^>]*>(.*?)</(?:p|dd)>', page, re.S)
    assert found is not None, f"no #{element} on the page"
    return _text(found.group(1))


def _starred_rows(page: str) -> list[str]:
    table = page[page.index('<table id="head-to-head"') :]
    table = table[: table.index("</table>")]
    rows = [_text(r) for r in re.findall(r"<tr[^>]*>.*?</tr>", table, re.S)]
    return [r for r in rows if "★" in r]


def _stored_intervals(rec: dict[str, Any]) -> list[tuple[str, tuple[float, float]]]:
    """Every interval recommendation.json stores, with the unit it is printed in."""
    metric_unit = unit_for(rec["metric"]).word
    found: list[tuple[str, Any]] = [
        (metric_unit, rec.get("margin_interval")),
        (metric_unit, (rec.get("paired") or {}).get("interval")),
        (metric_unit, (rec.get("ensemble") or {}).get("interval")),
        (metric_unit, (rec.get("order_control") or {}).get("interval")),
        ("", (rec.get("brier_check") or {}).get("interval")),
        ("", (rec.get("rule") or {}).get("architecture_brier")),
    ]
    return [(u, (float(iv[0]), float(iv[1]))) for u, iv in found if iv]


def _close(printed: float, stored: float, unit: str) -> bool:
    if unit == "points":
        return abs(printed - 100.0 * stored) <= 0.05 + 1e-9
    digits = 3  # significant digits of a difference (core.verdict._units.DIFF_DIGITS)
    if stored == 0:
        return printed == 0
    step = 10 ** (math.floor(math.log10(abs(stored))) - digits + 1)
    return abs(printed - stored) <= step / 2 + 1e-12


def _check_intervals(page_text: str, rec: dict[str, Any]) -> int:
    """Every printed interval is one recommendation.json stores, in its unit; returns how
    many were printed."""
    stored = _stored_intervals(rec)
    printed = INTERVAL_RE.findall(page_text)
    for lo, hi, unit in printed:
        values = parse_number(lo), parse_number(hi)
        match = [
            iv
            for u, iv in stored
            if u == (unit or "") and _close(values[0], iv[0], u) and _close(values[1], iv[1], u)
        ]
        assert match, f"printed [{lo}, {hi}] {unit} matches no stored interval: {stored}"
    # the unit word once: never inside the brackets, never twice after them
    assert not re.search(r"\[[^\]]*(points|RMSE|MASE)[^\]]*\]", page_text), "a unit in brackets"
    assert "points points" not in page_text and "RMSE RMSE" not in page_text
    assert "MASE MASE" not in page_text
    # no interval on another scale than the figure beside it (the RMSE run)
    assert not re.search(r"interval[^.;]*squared error", page_text)
    return len(printed)


def _check_one_story(run_dir: Path, cli_lines: list[str]) -> str:
    """The assertions of the module docstring on one rendered run; returns the name."""
    page = render_report(run_dir).read_text(encoding="utf-8")
    stored = json.loads((run_dir / "recommendation.json").read_text(encoding="utf-8"))
    config = json.loads((run_dir / "model" / "config.json").read_text(encoding="utf-8"))
    rec = RunRecommendation.read(run_dir / "recommendation.json")
    text = describe(rec)
    name = text.name
    exported = (
        "the ensemble"
        if config["kind"] == "ensemble"
        else label(config["family"])  # what fit exported, in the verdict's words
    )
    assert name.startswith(exported), (name, config)
    title = re.search(r"<title>(.*?)</title>", page)
    assert title is not None and html.unescape(title.group(1)) == f"archselect report — {name}"
    starred = _starred_rows(page)
    assert len(starred) == 1, starred
    star_name = "ensemble" if config["kind"] == "ensemble" else label(config["family"])
    assert starred[0].startswith(star_name), (starred, star_name)
    verdict = _by_id(page, "verdict")
    use = "Use the ensemble" if config["kind"] == "ensemble" else f"Use {exported}:"
    assert verdict.startswith(use) or "use " + exported in verdict, verdict
    sentence = _by_id(page, "exported-model")
    said = "the exported ensemble" if config["kind"] == "ensemble" else f" {exported}"
    assert said in sentence and "refit" in sentence, sentence
    assert sentence == _by_id(page, "exported-model-note")
    # the CLI says what the page says: the same headline, then the same answers
    assert cli_lines[0] == f"{verdict} {sentence}" == stored["headline"]
    for key, line in text.lines():
        if key in ("Which model", "How sure", "Still open"):
            assert f"{key.lower()}: {line}" in cli_lines, (key, cli_lines)
    body = _text(page[page.index("<body") : page.index('<script type="application/octet')])
    assert _check_intervals(body, stored) >= 1
    assert _check_intervals("\n".join(cli_lines), stored) >= 1
    return name


@pytest.mark.parametrize("kind", list(VERDICTS))
def test_every_kind_of_verdict_tells_one_story(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = VERDICTS[kind]()
    run_dir = write_run(built, tmp_path / kind)
    echo_verdict(built.rec, built.plan.layout)
    lines = capsys.readouterr().out.splitlines()
    name = _check_one_story(run_dir, lines)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    if kind == "reference":  # the long-series run, said plainly
        choice = _by_id(page, "which-model")
        assert choice.startswith("cnn1d scored highest among deep families")
        assert "so mlp is the architecture verdict; MiniRocket (85.0%) beats both" in choice
        assert "(architecture verdict)" in _text(page[page.index('id="head-to-head"') :])
        assert "lstm was not trained enough at this budget" in _by_id(page, "still-open")
    if kind == "regression":  # an RMSE margin with its interval in RMSE
        assert "RMSE higher (95% interval of the reduction [" in _by_id(page, "verdict")
    if kind == "deep":
        order = _by_id(page, "order-control")
        assert order.startswith("cnn1d in order 95.0%, steps shuffled 60.0%")
        assert "this model uses the order of the steps" in order
        assert '<div id="plot-learning"' in page
        assert "still rising" in _by_id(page, "curves-line")
    assert name


def _fit_and_check(frame: pd.DataFrame, tmp_path: Path, *extra: str) -> str:
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "run"
    args = ["fit", str(data), "--trials", "1", "--out", str(out), "--space", TINY, "-q", *extra]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return _check_one_story(out, res.stdout.splitlines())


@pytest.mark.small_data_rules  # 90 rows: the tie is decided out-of-fold, as a user's would be
def test_a_real_fit_where_a_reference_ties_tells_one_story(tmp_path: Path) -> None:
    """A table where logistic regression ties the network and is exported: the CLI's real
    output against its real report and model/config.json."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 3))
    x[:, 0] += np.where(x[:, 0] > 0, 1.0, -1.0)
    table = pd.DataFrame(x, columns=["a", "b", "c"])
    table["label"] = np.where(x[:, 0] > 0, "yes", "no")
    assert _fit_and_check(table, tmp_path) == "logistic regression"


@pytest.mark.small_data_rules  # 90 rows: scored out-of-fold, as a user's would be
def test_a_real_regression_fit_tells_one_story(tmp_path: Path) -> None:
    """A small regression series set: RMSE intervals in the target's unit, everywhere."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 6, 30)
    amp = rng.uniform(0.5, 3.0, 90)
    series = pd.DataFrame([a * np.sin(t) for a in amp], columns=[f"t{i}" for i in range(30)])
    series["target"] = amp
    # mlp: the one family that learns this in the tests' few epochs (a family at chance
    # prints no interval, which is what this test reads)
    assert _fit_and_check(series, tmp_path, "--families", "mlp")
