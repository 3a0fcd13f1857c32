"""The report: built from the run directory alone, escaped, small, and checked in Chromium."""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import archselect
from archselect.core.stored import RunProfile, evaluate_outputs
from archselect.load import load_table
from archselect.profile import data_preview, profile_table
from archselect.report import render_report
from archselect.report._render import _json_for_script, _plotly_js
from tests.conftest import DATASETS, FAST_SHARED, make_series
from tests.conftest import TRAINING as train

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HOSTILE_TARGET = "<script>alert(1)</script>"
HOSTILE_COLUMN = "</script><img src=x onerror=alert(1)>"
HOSTILE_LABELS = ("<b>bold</b>", "</script><img src=x onerror=alert(2)>", "a&b")
#: Seconds the report may take to open and draw every plot: a generous bound that only
#: catches a page that hangs. The target (1 s on a quiet 2-core machine) is measured by
#: benchmarks/report_open.py; the tests print their figure (shared, loaded test machines
#: have taken up to 28 s).
OPEN_LIMIT_S = 60.0
READY_TIMEOUT_MS = int(OPEN_LIMIT_S * 1000)
#: The bound the digits report's time to its last drawn plot is asserted against: five
#: times the 1 s target, scaled by the machine's load (1-minute load average per core) so
#: that a shared, busy machine does not make it a flaky timed test.
OPEN_BOUND_S = 5.0
#: The issue's target for a small run's report: 1.5 MB (plotly's cartesian build travels
#: gzip-compressed, ~0.66 MB, plus the page and its data).
REPORT_TARGET_BYTES = 1_500_000
#: A 100-trial report: the same page with a hundred trials' learning curves and rows.
REPORT_SIZE_LIMIT = 2 * 1024 * 1024
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
#: Milliseconds a resized page may take to redraw its plots at the new width.
RESIZE_SETTLE_MS = 20_000
#: Milliseconds between two checks of a condition the test waits for.
POLL_MS = 100


def _fit(data: Any, out: Path, space: Path, trials: int, **options: Any) -> archselect.Run:
    old = train.MIN_STEPS, train.MIN_PATIENCE_STEPS
    train.MIN_STEPS, train.MIN_PATIENCE_STEPS = 20, 10
    try:
        return archselect.fit(data, out=out, trials=trials, spaces=(space,), **options)
    finally:
        train.MIN_STEPS, train.MIN_PATIENCE_STEPS = old


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spaces") / "shared.toml"
    path.write_text(FAST_SHARED)
    return path


@pytest.fixture(scope="module")
def gunpoint_run(tmp_path_factory: pytest.TempPathFactory, space: Path) -> Path:
    out = tmp_path_factory.mktemp("runs") / "gunpoint"
    _fit(DATASETS / "gunpoint_train.csv", out, space, 2, families=("cnn1d", "mlp"))
    return out


def _hostile_frame(n: int = 90, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return pd.DataFrame(
        {
            HOSTILE_COLUMN: y + rng.normal(0, 0.3, n),
            "plain": rng.normal(size=n),
            HOSTILE_TARGET: np.asarray(HOSTILE_LABELS, dtype=object)[y],
        }
    )


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory, space: Path) -> Path:
    out = tmp_path_factory.mktemp("runs") / "hostile"
    _fit(_hostile_frame(), out, space, 2, target=HOSTILE_TARGET)
    return out


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory, space: Path) -> Iterator[Path]:
    """A sequence run in which every deep trial fails: its one family's builder raises."""
    import archselect.core.records as baselines
    from archselect.models import register_model, unregister_model

    def broken(input_shape: tuple[int, ...], n_outputs: int, *, unit: int = 1) -> Any:
        raise RuntimeError("builder exploded <on purpose>")

    folder = tmp_path_factory.mktemp("exploding")
    (folder / "exploding.toml").write_text(
        'name = "exploding"\nlayouts = ["series"]\n'
        '[params.unit]\ntype = "categorical"\nchoices = [1]\n'
    )
    out = tmp_path_factory.mktemp("runs") / "failed"
    register_model("exploding", layouts=("series",))(broken)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(baselines, "EXPORTABLE_BASELINES", ())  # no reference exported either
            archselect.fit(
                make_series(n=80),
                out=out,
                trials=3,
                families=("exploding",),
                spaces=(space, folder / "exploding.toml"),
            )
    finally:
        unregister_model("exploding")
    yield out


# --- without a browser -------------------------------------------------------------------------


def test_json_for_script_cannot_close_the_script_block() -> None:
    data = {"label": HOSTILE_COLUMN, "x": [HOSTILE_TARGET, "a&b", "\u2028"]}
    text = _json_for_script(data)
    assert "</" not in text and "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == data


def test_digits_report_shows_every_section(digits_run: Path) -> None:
    html = (digits_run / "report.html").read_text(encoding="utf-8")
    rec = archselect.load(digits_run).recommendation
    assert rec.family in html and "Use " + str(rec.family) in html
    assert f"<title>archselect report — {rec.family}</title>" in html
    for anchor in (
        "plot-history",
        "plot-family-best",
        "plot-curves",
        "plot-confusion",
        "plot-target",
        "sample-images",
        "leaderboard",
        "head-to-head",
        "reproduce",
    ):
        assert f'id="{anchor}"' in html, anchor
    # ten classes pictured, each with PNG samples decoded from the run directory
    assert html.count('alt="sample of') >= 10
    assert html.count("data:image/png;base64,") >= 10
    profile = json.loads((digits_run / "profile.json").read_text())
    assert profile["preview"]["kind"] == "image" and profile["preview"]["shape"] == [8, 8, 1]
    stored = json.loads((digits_run / "recommendation.json").read_text())
    confusion = np.asarray(stored["evaluation"]["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == stored["evaluation"]["n_rows"]
    assert np.trace(confusion) / confusion.sum() == pytest.approx(rec.final_test_metric)
    assert "all families" in stored["importances"]
    # plotly once (compressed, not run as such), the plot data, the page's code once
    assert html.count("<script") == 3 and html.count("<script>") == 1
    # the shared run is fitted without the small-data CV (tests/conftest.py), so no CV note
    assert 'id="cv-note"' not in html


def test_digits_report_is_within_the_size_target(digits_run: Path) -> None:
    """The issue's weight target, and the compressed bundle is the vendored file unchanged."""
    size = (digits_run / "report.html").stat().st_size
    print(f"digits report: {size:,} bytes (target {REPORT_TARGET_BYTES:,})")
    assert size <= REPORT_TARGET_BYTES
    html = (digits_run / "report.html").read_text(encoding="utf-8")
    block = re.search(r'<script type="application/octet-stream" id="plotly-gz">([^<]*)<', html)
    assert block is not None
    bundle = gzip.decompress(base64.b64decode(block.group(1)))
    assert bundle == _plotly_js().encode("utf-8")
    assert "plotly.js 4.1.1, cartesian build (MIT licence" in html


def test_training_curve_is_recorded_and_plotted(digits_run: Path, tmp_path: Path) -> None:
    """Each trial keeps its training score per epoch beside the validation score."""
    trials = [t for t in archselect.load(digits_run).search_result.trials if t.state == "COMPLETE"]
    assert trials
    for t in trials:
        assert len(t.history_train) == len(t.history_val) >= 1, t
        assert all(0.0 <= v <= 1.0 for v in t.history_train)
    html = (digits_run / "report.html").read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="plot-data">(.*?)</script>', html, re.S)
    assert block is not None
    plotted = {p["n"]: p["ht"] for p in json.loads(block.group(1))["trials"]}
    assert plotted[trials[0].number] == pytest.approx(list(trials[0].history_train), rel=1e-4)
    # a run directory from before the training curve: no column, the end marker instead
    copy = tmp_path / "old"
    shutil.copytree(digits_run, copy)
    frame = pd.read_csv(copy / "trials.csv").drop(columns=["history_train"])
    frame.to_csv(copy / "trials.csv", index=False)
    old = archselect.load(copy).search_result.trials
    assert all(t.history_train == () for t in old)
    assert 'id="plot-curves"' in render_report(copy).read_text(encoding="utf-8")


def test_reproduce_names_the_machine_and_processes(digits_run: Path) -> None:
    """plan.json records CPU, GPU and processes; the reproduce section shows them."""
    run = json.loads((digits_run / "plan.json").read_text())["run"]
    assert run["cpu_model"] and run["processes"] == 1
    import torch

    assert bool(run["gpu_model"]) == torch.cuda.is_available()
    html = (digits_run / "report.html").read_text(encoding="utf-8")
    machine = re.search(r'id="machine">([^<]*)<', html)
    assert machine is not None and machine.group(1).startswith(f"CPU {run['cpu_model']}")
    procs = re.search(r'id="processes">([^<]*)<', html)
    assert procs is not None and procs.group(1).startswith("1 (trials ran in the main process")
    assert "of which the search" in html


def test_report_rerenders_identically_from_a_copy(digits_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "run"
    shutil.copytree(digits_run, copy)
    (copy / "study.db").unlink()  # the report needs no database
    before = (copy / "report.html").read_text(encoding="utf-8")
    (copy / "report.html").unlink()
    html = render_report(copy).read_text(encoding="utf-8")
    assert html == before


def test_storage_password_is_masked(digits_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(digits_run, copy)
    plan = json.loads((copy / "plan.json").read_text())
    plan["run"]["storage"] = "postgresql://alice:s3cret@db.example/studies"
    (copy / "plan.json").write_text(json.dumps(plan))
    html = render_report(copy).read_text(encoding="utf-8")
    assert "s3cret" not in html and "postgresql://alice:***@db.example/studies" in html


def _synthetic_trials(run_dir: Path, n: int, epochs: int) -> None:
    """Replace trials.csv with ``n`` trials of ``epochs`` epochs each (a long search)."""
    frame = pd.read_csv(run_dir / "trials.csv")
    template = frame[(frame["kind"] == "trial") & (frame["state"] == "COMPLETE")].iloc[0]
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        row = template.copy()
        row["number"] = i
        row["family"] = ("cnn2d", "mlp")[i % 2]
        row["state"] = ("COMPLETE", "COMPLETE", "PRUNED", "FAIL")[i % 4]
        row["val_metric"] = rng.uniform(0.5, 1.0)
        row["error"] = "RuntimeError: " + "x" * 400 if row["state"] == "FAIL" else None
        hist = np.sort(rng.uniform(0.3, 1.0, epochs)).tolist()
        row["history_val"] = json.dumps(hist)
        params = json.loads(template["params"])
        params = {
            k: (v * rng.uniform(0.5, 2) if isinstance(v, float) else v) for k, v in params.items()
        }
        params["family"] = row["family"]
        row["params"] = json.dumps(params)
        rows.append(row)
    trials = pd.DataFrame(rows)
    pd.concat([trials, frame[frame["kind"] == "baseline"]]).to_csv(
        run_dir / "trials.csv", index=False
    )


def test_a_100_trial_report_stays_under_2_mb(digits_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(digits_run, copy)
    _synthetic_trials(copy, 100, 60)
    start = time.perf_counter()
    size = render_report(copy).stat().st_size
    elapsed = time.perf_counter() - start
    print(f"100-trial report: {size / 1e6:.2f} MB, rendered in {elapsed:.2f} s")
    assert size < REPORT_SIZE_LIMIT
    html = (copy / "report.html").read_text(encoding="utf-8")
    assert html.count('<tr class="') >= 100  # every trial is in the leaderboard


def test_hostile_names_are_escaped_in_html_and_json(hostile_run: Path) -> None:
    html = (hostile_run / "report.html").read_text(encoding="utf-8")
    for raw in (HOSTILE_TARGET, HOSTILE_COLUMN, *HOSTILE_LABELS[:2]):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == 3  # plotly, the JSON block, the page's code
    block = re.search(r'<script type="application/json" id="plot-data">(.*?)</script>', html, re.S)
    assert block is not None
    data = json.loads(block.group(1))
    assert set(data["data"]["classes"]["labels"]) == set(HOSTILE_LABELS)
    assert data["evaluation"]["labels"] == sorted(HOSTILE_LABELS)


def test_every_deep_trial_failing_still_renders(failed_run: Path) -> None:
    run = archselect.load(failed_run)
    assert run.recommendation.family is None
    assert all(t.state == "FAIL" for t in run.search_result.trials)
    html = (failed_run / "report.html").read_text(encoding="utf-8")
    assert 'id="no-winner"' in html and 'id="failures"' in html
    assert "builder exploded &lt;on purpose&gt;" in html
    assert 'id="plot-series-0"' in html  # the data is still pictured


def test_an_interrupted_run_renders_what_finished(
    tmp_path: Path, space: Path, series_csv: Path
) -> None:
    def stop(trial: Any) -> None:
        raise KeyboardInterrupt

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        _fit(series_csv, out, space, 6, families=("cnn1d", "mlp"), on_trial=stop)
    assert not (out / "model").exists()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="interrupted"' in html
    states = [t.state for t in archselect.load(out).search_result.trials]
    # the queued trial slots never ran: they are not trials in trials.csv
    assert states == ["COMPLETE"]
    assert html.count("<td>WAITING</td>") == 0  # queued trials never ran: not in the table
    (out / "report.html").unlink()
    assert render_report(out).exists()


def test_regression_preview_and_evaluation() -> None:
    rng = np.random.default_rng(0)
    t = np.linspace(0, 6, 40)
    amp = rng.uniform(0.5, 3.0, 60)
    frame = pd.DataFrame([a * np.sin(t) for a in amp], columns=[f"t{i}" for i in range(40)])
    frame["target"] = amp
    table = load_table(frame)
    profile = profile_table(table, modality="sequential")
    preview = data_preview(table, profile)
    assert preview.kind == "series" and preview.task == "regression"
    assert preview.target_hist is not None and sum(preview.target_hist.counts) == 60
    labels = [float(s.label) for s in preview.samples]
    assert labels == sorted(labels) and labels[0] == pytest.approx(amp.min(), rel=1e-3)
    ev = evaluate_outputs(
        "regression",
        np.array([[0.0], [1.0]]),
        np.array([0.5, 1.0]),
        target_mean=10.0,
        target_std=2.0,
    )
    assert ev.actual == (11.0, 12.0) and ev.predicted == (10.0, 12.0)


def test_preview_of_a_large_image_set_stays_small() -> None:
    rng = np.random.default_rng(0)
    n, side = 60, 96
    yy, xx = np.mgrid[0:side, 0:side]
    imgs = [
        np.sin(xx / (3 + i % 3)) + np.cos(yy / 5) + rng.normal(0, 0.1, (side, side))
        for i in range(n)
    ]
    frame = pd.DataFrame(
        [im.ravel() for im in imgs], columns=[f"pixel{i}" for i in range(side * side)]
    )
    frame["label"] = [f"c{i % 3}" for i in range(n)]
    table = load_table(frame)
    preview = data_preview(table, profile_table(table, shape=f"{side}x{side}"))
    assert preview.kind == "image" and preview.stride == 2 and preview.shape == (48, 48, 1)
    assert len(preview.samples) == 12
    assert len(json.dumps(preview.to_dict())) < 400_000


def test_text_and_unknown_layouts_render(digits_run: Path, tmp_path: Path) -> None:
    """Layouts added later (text, forecasting) render: text as length histograms, others plain."""
    frame = pd.DataFrame(
        {
            "review": ["good film " * (i % 7 + 1) for i in range(40)] + [HOSTILE_COLUMN] * 2,
            "label": ["pos", "neg"] * 21,
        }
    )
    table = load_table(frame)
    base = profile_table(table)
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
    text_profile = RunProfile(**{**fields, "layout": "text", "modality": "sequential"})
    preview = data_preview(table, text_profile)
    assert preview.kind == "text" and preview.text_unit == "tokens"
    assert sum(sum(h.counts) for h in preview.text_lengths.values()) == 42
    for layout, stored, marker in (
        ("text", preview, 'id="plot-text"'),
        ("window", None, 'id="no-samples"'),
    ):
        copy = tmp_path / layout
        shutil.copytree(digits_run, copy)
        data = json.loads((copy / "profile.json").read_text())
        data["layout"] = layout
        data["preview"] = stored.to_dict() if stored is not None else None
        (copy / "profile.json").write_text(json.dumps(data))
        html = render_report(copy).read_text(encoding="utf-8")
        assert marker in html, layout
        assert HOSTILE_COLUMN not in html


# --- in Chromium -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not at {CHROMIUM}; run scripts/install_browser.sh")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(
    browser: Any, report: Path, name: str, viewport: dict[str, int] | None = None
) -> tuple[Any, dict[str, Any]]:
    """Load ``report`` from file:// with every other request aborted; check the basics."""
    page = browser.new_page(viewport=viewport or {"width": 1280, "height": 900})
    seen: dict[str, Any] = {"errors": [], "blocked": [], "dialogs": []}
    page.on(
        "console",
        lambda m: seen["errors"].append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))

    def route(r: Any) -> None:
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            seen["blocked"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    start = time.perf_counter()
    page.goto(report.resolve().as_uri())
    # the page marks <html data-report-ready> once every plot is drawn (a selector, not a
    # string predicate: the page's content security policy forbids eval)
    page.wait_for_selector("html[data-report-ready]", state="attached", timeout=READY_TIMEOUT_MS)
    seen["open_s"] = time.perf_counter() - start
    seen["drawn_s"] = page.evaluate("window.archselectDrawnMs") / 1000.0
    seen["parsed_s"] = page.evaluate("window.archselectScriptMs") / 1000.0
    ARTIFACTS.mkdir(exist_ok=True)
    # the open time is recorded, not asserted against the 1 s target (shared test machines
    # are loaded; benchmarks/report_open.py measures the target on a quiet one)
    record = {
        "report": name,
        "bytes": report.stat().st_size,
        "viewport": viewport or {"width": 1280, "height": 900},
        "drawn_s": round(seen["drawn_s"], 3),
        "plotly_ready_s": round(seen["parsed_s"], 3),
        "load_1min": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
    }
    with open(ARTIFACTS / "report-open-times.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    page.screenshot(path=str(ARTIFACTS / f"report-{name}.png"), full_page=True)
    containers = page.locator(".plot").count()
    rendered = page.evaluate(
        "Array.from(document.querySelectorAll('.plot'))"
        ".filter(d => d.querySelector('.main-svg')).length"
    )
    print(
        f"{name}: opened in {seen['open_s']:.2f} s, last of {containers} plots drawn "
        f"{seen['drawn_s']:.2f} s after navigation (load {record['load_1min']})"
    )
    assert seen["errors"] == [], seen["errors"]
    assert seen["blocked"] == [], seen["blocked"]
    assert seen["dialogs"] == [], seen["dialogs"]
    assert containers >= 1 and rendered == containers
    assert seen["open_s"] < OPEN_LIMIT_S and 0 < seen["drawn_s"] < OPEN_LIMIT_S
    assert page.locator("#verdict").inner_text().strip()
    return page, seen


@pytest.mark.browser
def test_browser_digits_report(browser: Any, digits_run: Path) -> None:
    page, _ = _open(browser, digits_run / "report.html", "digits", {"width": 1440, "height": 900})
    rec = archselect.load(digits_run).recommendation
    assert page.locator("#verdict").inner_text().startswith(f"Use {rec.family}:")
    assert page.locator("#sample-images img").count() >= 10
    assert page.locator("#plot-confusion .main-svg").count() >= 1
    # every plot has a one-line summary for screen readers
    labels = page.locator(".plot").evaluate_all(
        "ps => ps.map(p => [p.getAttribute('role'), p.getAttribute('aria-label') || ''])"
    )
    assert labels and all(role == "img" and len(text) > 20 for role, text in labels), labels
    assert "recommended trial" in page.locator("#plot-history").get_attribute("aria-label")
    # learning curves: each best trial's validation line solid, its training line dashed
    curves = page.evaluate(
        "document.getElementById('plot-curves')._fullData"
        ".map(t => [t.name, t.line ? t.line.dash : null, t.y.length])"
    )
    validation = [c for c in curves if c[0].endswith(", validation")]
    training = [c for c in curves if c[0].endswith(", training")]
    assert validation and len(training) == len(validation), curves
    assert all(c[1] == "dash" and c[2] >= 1 for c in training), curves
    assert "training " in page.locator("#plot-curves").get_attribute("aria-label")
    # the recommended trial is starred in the history and trade-off plots
    for plot in ("#plot-history", "#plot-family-best", "#plot-pareto"):
        legend = page.locator(f"{plot} .legendtext").all_text_contents()
        assert f"recommended (trial {rec.trial})" in legend, (plot, legend)
    # the history's y-axis spans the finished trials only
    done = [
        t.val_metric
        for t in archselect.load(digits_run).search_result.trials
        if t.state == "COMPLETE" and t.val_metric is not None
    ]
    lo, hi = page.evaluate("document.getElementById('plot-history')._fullLayout.yaxis.range")
    assert lo <= min(done) and hi >= max(done) and hi - lo <= 1.3 * (max(done) - min(done)) + 0.03
    # the log latency axis reads real values
    ticks = page.locator("#plot-pareto .xtick text").all_text_contents()
    assert ticks and all(re.fullmatch(r"\d+(\.\d+)?", t) for t in ticks), ticks
    # 4 trials: too few for parameter importances, which say so instead of plotting noise
    assert page.locator("#plot-importances").count() == 0
    assert "below 10 finished trials" in page.locator("#no-importances").inner_text()
    # leaderboard: no vertical scroll box of its own, text left, numbers right, params in view
    box = page.locator("#leaderboard").evaluate(
        "t => [t.parentElement.scrollHeight - t.parentElement.clientHeight,"
        " getComputedStyle(t.tBodies[0].rows[0].cells[1]).textAlign,"
        " getComputedStyle(t.tBodies[0].rows[0].cells[3]).textAlign,"
        " t.tBodies[0].rows[0].querySelector('.params').getBoundingClientRect().right]"
    )
    assert box[0] <= 20 and box[1] == "left" and box[2] == "right", box  # 20: a scrollbar
    assert box[3] <= 1440, box
    # the leaderboard sorts by validation metric from the keyboard: Space, then Enter
    header = page.locator("#leaderboard th", has_text="val accuracy")
    header.focus()
    page.keyboard.press("Space")
    assert header.get_attribute("aria-sort") == "ascending"
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "descending"
    first = page.locator("#leaderboard tbody tr").first.locator("td").nth(3)
    values = [
        float(v)
        for v in page.locator("#leaderboard tbody tr td:nth-child(4)").evaluate_all(
            "cells => cells.map(c => c.dataset.v).filter(v => v !== '')"
        )
    ]
    assert float(first.get_attribute("data-v") or "nan") == max(values)
    page.close()


_FOCUSABLE_BEFORE = """(target) => Array.from(document.querySelectorAll(
    'a[href], button, input, select, textarea, [tabindex]'))
  .filter(e => e.tabIndex >= 0 && !e.disabled
    && (e.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING))
  .map(e => (e.closest('.modebar') ? 'modebar ' : '') + e.tagName)"""


@pytest.mark.browser
def test_browser_report_is_private_light_and_ordered(browser: Any, digits_run: Path) -> None:
    """No cloud control, a light page, toolbars out of the tab order, headings in order."""
    report = digits_run / "report.html"
    size = report.stat().st_size
    print(f"digits report: {size:,} bytes")
    assert size <= REPORT_TARGET_BYTES
    html = report.read_text(encoding="utf-8")
    assert "showSendToCloud: false" in html
    page, seen = _open(browser, report, "digits-desktop", {"width": 1440, "height": 900})
    load = os.getloadavg()[0]
    bound = OPEN_BOUND_S * max(1.0, load / (os.cpu_count() or 1))
    marks = page.evaluate("window.archselectMarks")
    print(
        f"digits report at 1440x900: last plot drawn {seen['drawn_s']:.2f} s after navigation "
        f"(plotly ready {marks['plotly'] / 1000:.2f} s; target 1 s on a quiet 2-core machine; "
        f"asserted <= {bound:.1f} s at load {load:.1f} on {os.cpu_count()} cores)"
    )
    assert seen["drawn_s"] <= bound
    assert marks["script"] <= marks["plotly"] <= marks["first-screen"] <= marks["drawn"]
    page.locator("#plot-history").hover()
    titles = page.locator("#plot-history .modebar-btn").evaluate_all(
        "bs => bs.map(b => b.getAttribute('data-title') || '')"
    )
    assert titles and any("png" in t.lower() for t in titles), titles
    assert not any(re.search("cloud|studio|share", t, re.I) for t in titles), titles
    assert page.locator("[data-title*='Cloud' i], [data-title*='Studio' i]").count() == 0
    before = page.locator("#leaderboard").evaluate(_FOCUSABLE_BEFORE)
    assert not [e for e in before if e.startswith("modebar")], before
    levels = page.locator("h1, h2, h3, h4, h5, h6").evaluate_all(
        "hs => hs.map(h => Number(h.tagName[1]))"
    )
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    assert page.locator("h2", has_text="Why").count() == 1
    page.close()
    phone, _ = _open(browser, report, "digits-phone", PHONE)
    phone.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    widths = phone.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= PHONE["width"] and widths[0] <= widths[1], widths
    phone.close()


def _wait_until(page: Any, predicate: str, timeout_ms: int = RESIZE_SETTLE_MS) -> bool:
    """Poll the JavaScript function ``predicate`` until it returns true (or time runs out).

    ``page.wait_for_function`` compiles its predicate inside the page, which the report's
    content security policy forbids (no eval): it would fail at once, unnoticed under a
    ``suppress``. ``page.evaluate`` runs through the debugging protocol instead.
    """
    deadline = time.perf_counter() + timeout_ms / 1000.0
    while time.perf_counter() < deadline:
        if page.evaluate(predicate):
            return True
        page.wait_for_timeout(POLL_MS)
    return False


_PLOTS_FIT = """() => {
  const plots = Array.from(document.querySelectorAll('.plot'));
  return plots.length > 0 && plots.every(p => {
    const svg = p.querySelector('.main-svg');
    return svg && svg.getBoundingClientRect().width <= p.clientWidth + 1
      && p._fullLayout && Math.abs(p._fullLayout.width - p.clientWidth) <= 1;
  }) && document.documentElement.scrollWidth <= window.innerWidth;
}"""


@pytest.mark.browser
def test_browser_report_narrowed_after_drawing_fits_a_phone(
    browser: Any, digits_run: Path
) -> None:
    """Drawn at desktop width, then narrowed to a phone's without a reload: the plots follow
    the window and nothing widens the page."""
    page, seen = _open(browser, digits_run / "report.html", "digits-narrowed", DESKTOP)
    wide = page.locator(".plot").evaluate_all("ps => ps.map(p => p._fullLayout.width)")
    assert wide and max(wide) > PHONE["width"], wide
    page.set_viewport_size(PHONE)
    _wait_until(page, _PLOTS_FIT)  # measured and asserted below either way
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth,"
        " Array.from(document.querySelectorAll('.plot')).map(p => [p.id, p.clientWidth,"
        " p.querySelector('.main-svg').getBoundingClientRect().width, p._fullLayout.width])]"
    )
    print(f"narrowed to {PHONE['width']} px: page {widths[0]} px wide, plots {widths[2]}")
    assert widths[0] <= widths[1] == PHONE["width"], widths
    # every plot was redrawn at its new width, not merely cut off
    assert all(svg <= box + 1 and abs(full - box) <= 1 for _, box, svg, full in widths[2])
    assert page.evaluate(_PLOTS_FIT)
    assert seen["errors"] == [], seen["errors"]
    page.close()


def _fits_a_phone(page: Any) -> None:
    """At 390 px, with every details box open, nothing widens the page.

    The plots follow the narrower window (plotly redraws them on its resize event, a moment
    later), so the check waits for the page to settle before it measures.
    """
    page.set_viewport_size(PHONE)
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    _wait_until(page, _PLOTS_FIT)  # measured and asserted below either way
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= PHONE["width"] and widths[0] <= widths[1], widths


@pytest.mark.browser
def test_browser_gunpoint_report(browser: Any, gunpoint_run: Path) -> None:
    page, _ = _open(browser, gunpoint_run / "report.html", "gunpoint")
    assert page.locator("#plot-series-0 .main-svg").count() >= 1
    legend = page.locator("#plot-series-0 .legendtext").all_text_contents()
    assert sorted(legend) == ["1", "2"]
    rows = page.locator("#head-to-head tbody tr").all_inner_texts()
    assert any(r.startswith("cnn1d") for r in rows) and any("(baseline)" in r for r in rows)
    page.close()


@pytest.mark.browser
def test_browser_hostile_names_show_as_text(browser: Any, hostile_run: Path) -> None:
    page, _ = _open(browser, hostile_run / "report.html", "hostile")
    text = page.locator("body").inner_text()
    assert HOSTILE_TARGET in text and HOSTILE_COLUMN in text
    assert page.locator("img[src='x']").count() == 0
    ticks = page.locator("#plot-confusion .xtick text").all_text_contents()
    assert sorted(ticks) == sorted(HOSTILE_LABELS)
    page.close()


@pytest.mark.browser
def test_browser_failed_run(browser: Any, failed_run: Path) -> None:
    page, _ = _open(browser, failed_run / "report.html", "all-failed")
    assert "No deep family finished" in page.locator("#verdict").inner_text()
    assert page.locator("#failures tbody tr").count() >= 3
    page.close()


def test_param_importances_per_family_and_overall(tmp_path: Path) -> None:
    import optuna

    from archselect.search import ALL_FAMILIES, param_importances

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(study_name="s", storage=url, direction="maximize")
    rng = np.random.default_rng(0)
    fam = optuna.distributions.CategoricalDistribution(["a", "b"])
    lr = optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
    width = optuna.distributions.IntDistribution(8, 64)
    for i in range(12):
        family = "ab"[i % 2]
        params = {
            "family": family,
            "lr": float(10 ** rng.uniform(-4, -1)),
            f"{family}.width": int(rng.integers(8, 65)),
        }
        value = (0.9 if family == "a" else 0.5) + 0.01 * params[f"{family}.width"] / 64
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions={"family": fam, "lr": lr, f"{family}.width": width},
            value=value,
        ))  # fmt: skip
    result = param_importances(url, study_name="s")
    assert set(result) == {ALL_FAMILIES, "a", "b"}
    assert max(result[ALL_FAMILIES], key=result[ALL_FAMILIES].get) == "family"
    assert set(result["a"]) == {"lr", "a.width"} and sum(result["a"].values()) == pytest.approx(1)
    assert param_importances(url, study_name="missing") == {}


# --- the first screen --------------------------------------------------------------------------


def _synthetic_run(kind: str, tmp_path: Path, **fields: Any) -> Path:
    """A synthetic verdict of ``kind`` (tests/report/verdicts.py) as a rendered run directory,
    its stored recommendation carrying ``fields`` too."""
    import dataclasses

    from tests.report.verdicts import VERDICTS, write_run

    built = VERDICTS[kind]()
    built = dataclasses.replace(built, rec=dataclasses.replace(built.rec, **fields))
    run = write_run(built, tmp_path / kind)
    render_report(run)
    return run


@pytest.mark.browser
def test_browser_first_screen_reference_over_a_cheaper_family(
    browser: Any, tmp_path: Path
) -> None:
    """The issue's long-series verdict: the top deep scorer, the cheaper architecture verdict
    and the exported reference said apart, with the rule; how sure; what is still open;
    where the time went."""
    phases = {"profile": 1.5, "search": 40.0, "final model": 8.5}
    run = _synthetic_run("reference", tmp_path, phase_seconds=phases, budget_s=300.0)
    page, _ = _open(browser, run / "report.html", "first-screen-reference")
    text = {
        key: page.locator(f"#{key}").inner_text()
        for key in ("verdict", "which-model", "how-sure", "cost", "exported-model", "still-open")
    }
    assert text["verdict"].startswith("Use MiniRocket: no deep family earns its cost here")
    assert "+30.5 points (95% interval [" in text["verdict"]
    assert text["which-model"].startswith("cnn1d scored highest among deep families (57.5%)")
    assert "(×400 faster)), so mlp is the architecture verdict" in text["which-model"]
    assert text["how-sure"] == "MiniRocket in 100% of 1,000 resamples of the rows — stable"
    assert text["cost"].startswith("0.01 ms per sample at batch 256, 10,000 stored numbers")
    assert (
        "the model MiniRocket refit on train + validation scores test accuracy 85.0%"
        in (text["exported-model"])
    )
    assert text["still-open"].startswith("lstm was not trained enough at this budget")
    assert page.title() == "archselect report — MiniRocket"
    starred = [r for r in page.locator("#head-to-head tbody tr").all_inner_texts() if "★" in r]
    assert len(starred) == 1 and starred[0].startswith("MiniRocket (baseline) ★")
    rows = page.locator("#phases tbody tr").all_inner_texts()
    assert [r.split("\t")[:2] for r in rows] == [
        ["profile", "1.5"],
        ["search", "40.0"],
        ["final model", "8.5"],
        ["total", "50.0"],
    ]
    assert "17 % of the budget" in rows[-1]
    assert page.locator("#no-winner").count() == 0
    assert page.locator("h2", has_text="Why").count() == 1
    _fits_a_phone(page)
    page.close()


@pytest.mark.browser
def test_browser_first_screen_order_control_and_learning_curves(
    browser: Any, tmp_path: Path
) -> None:
    """A deep winner: the order control beside the verdict, and the learning curves drawn
    with their intervals and said in words."""
    run = _synthetic_run("deep", tmp_path)
    page, _ = _open(browser, run / "report.html", "first-screen-deep")
    assert page.locator("#verdict").inner_text().startswith("Use cnn1d: validation accuracy 95.0%")
    order = page.locator("#order-control").inner_text()
    assert order.startswith("cnn1d in order 95.0%, steps shuffled 60.0%: order is worth +35.0")
    traces = page.evaluate(
        "document.getElementById('plot-learning')._fullData"
        ".map(t => [t.name, t.x.length, t.error_y.array.length])"
    )
    assert traces == [["cnn1d", 3, 3], ["mlp", 2, 2]]
    assert "still rising" in page.locator("#curves-line").inner_text()
    # real training curves: every epoch's training and validation figure of the best trials
    curves = page.evaluate(
        "document.getElementById('plot-curves')._fullData"
        ".map(t => [t.name, t.line ? t.line.dash : null, t.y.length])"
    )
    assert ["cnn1d #0 (recommended), validation", "solid", 3] in curves
    assert ["cnn1d #0, training", "dash", 3] in curves and [
        "mlp #1, training",
        "dash",
        3,
    ] in curves
    page.close()


def test_first_screen_of_a_run_from_before_the_rule_record(
    digits_run: Path, tmp_path: Path
) -> None:
    """A run directory from before the verdict's rule record shows its stored sentences."""
    from archselect.report import report_context

    old = tmp_path / "old"
    shutil.copytree(digits_run, old)
    data = json.loads((old / "recommendation.json").read_text())
    newer = ("kind", "recommended", "top_scorer", "verdict_stability", "phase_seconds", "rule")
    for key in (*newer, "budget_s", "first_result_s", "final_model", "paired", "brier_check"):
        data.pop(key, None)
    data.pop("interval_unit", None)
    (old / "recommendation.json").write_text(json.dumps(data))
    ctx = report_context(old)
    assert ctx["screen"]["headline"] == data["headline"]
    assert list(ctx["reasons"]) == data["reasons"]
    assert ctx["screen"]["phases"] == [] and ctx["screen"]["budget_s"] is None
    assert ctx["text"].star == data["family"]  # the exported network, as then
    html = render_report(old).read_text(encoding="utf-8")
    assert f"<title>archselect report — {data['family']}</title>" in html


def test_run_shows_its_verdict_in_a_notebook(digits_run: Path) -> None:
    run = archselect.load(digits_run)
    html = run._repr_html_()
    rec = run.recommendation
    assert html.startswith('<div class="archselect-run">')
    assert "<script" not in html and "Plotly" not in html and len(html) < 30_000
    assert f"Use {rec.family}: " in html and 'id="head-to-head"' in html
    assert 'id="how-sure"' in html  # the first screen's answers, as in the report
    for fam in rec.families:
        assert f"<td>{fam.family}" in html, fam.family
    assert 'id="not-searched"' in html and "lstm" in html


def test_cpu_memory_noise_and_reproduce_rows(digits_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(digits_run, copy)
    frame = pd.read_csv(copy / "trials.csv")
    trials = frame.index[frame["kind"] == "trial"]
    frame.loc[trials, "device"] = "cpu"
    frame.loc[trials[0], "peak_memory_mb"] = 3.2
    frame.loc[trials[1], "peak_memory_mb"] = 212.0
    frame.to_csv(copy / "trials.csv", index=False)
    timed = render_report(copy).read_text(encoding="utf-8")
    phases = json.loads((copy / "recommendation.json").read_text())["phase_seconds"]
    main = sum(v for k, v in phases.items() if k not in ("report", "total") and ":" not in k)
    search = f", of which the search {phases['search']:,.0f} s" if phases.get("search") else ""
    assert re.search(rf'id="wall-time">{main:,.0f} s in all \(recorded phases\){search}<', timed)
    rec = json.loads((copy / "recommendation.json").read_text())
    rec.pop("phase_seconds")  # a run from before the phases were recorded
    (copy / "recommendation.json").write_text(json.dumps(rec))
    html = render_report(copy).read_text(encoding="utf-8")
    board = html[html.index('id="leaderboard"') :]
    assert ">3 (noise)</td>" in board and ">212</td>" in board
    wall = re.search(r'id="wall-time">([^<]*)<', html)
    assert wall is not None and "summed over" in wall.group(1)
    seconds = (
        frame["duration_s"].dropna().sum()
        + frame.loc[frame["kind"] == "baseline", "train_time_s"].dropna().sum()
    )
    assert wall.group(1).startswith(f"{seconds:,.0f} s")
    assert re.search(r'id="machine">[^<]*trials ran on cpu', html)


def test_rendering_a_report_loads_no_training_stack(digits_run: Path, tmp_path: Path) -> None:
    """The report reads the run directory through the core and rundir alone."""
    import shutil
    import subprocess
    import sys

    run = tmp_path / "run"
    shutil.copytree(digits_run, run)
    code = (
        "import sys\nfrom archselect.report import render_report\n"
        f"render_report({str(run)!r})\n"
        "print(sorted(m for m in ('torch', 'pytorch_lightning', 'lightning', 'optuna') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]", out
    assert "<html" in (run / "report.html").read_text(encoding="utf-8")[:200].lower()
