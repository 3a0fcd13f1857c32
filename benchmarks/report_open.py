"""The report's weight and open time: bytes of ``report.html`` and time to its last drawn plot.

Renders the report of a run directory again, opens it from ``file://`` in headless Debian
Chromium at 1440×900 (every other request aborted) ``--repeats`` times, each in a fresh page,
and prints the file's size, the embedded plotly.js bundle's size, and the median time from
navigation to each step as the page itself marks it (``window.archselectMarks``, also
``performance.mark("archselect:…")``): the page's script starts, plotly.js inflated,
plotly.js evaluated, the figures on the first screen drawn, the last figure drawn.
Targets: ≤ 1.5 MB (1,500,000 bytes) and ≤ 1 s to the last drawn plot on a quiet 2-core
machine; it prints each measure's ratio to its target (≤ 1: met) and the load average
before and after, since a loaded machine is slower by about load ÷ cores.

Usage::

    archselect fit datasets/digits.csv --trials 4 --out /tmp/r
    python benchmarks/report_open.py /tmp/r [--repeats 7]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
TARGET_BYTES = 1_500_000
TARGET_OPEN_S = 1.0
READY_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1440, "height": 900}
#: The page's marks, in the order they happen, with what each one means.
STEPS = (
    ("script", "page script starts"),
    ("inflated", "plotly.js inflated"),
    ("plotly", "plotly.js evaluated"),
    ("first-screen", "first screen's plots drawn"),
    ("drawn", "last plot drawn"),
)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from archselect.report import render_report
    from archselect.report._render import _plotly_embedded, _plotly_js

    path = render_report(args.run_dir)
    size = path.stat().st_size
    version, packed = _plotly_embedded()
    raw = len(_plotly_js().encode("utf-8"))
    load_before = _load()
    runs: list[dict[str, float]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        for _ in range(args.repeats):
            page = browser.new_page(viewport=VIEWPORT)
            page.route(
                "**/*",
                lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort(),
            )
            page.goto(path.resolve().as_uri())
            # an attribute, not a string predicate: the page's CSP forbids eval
            page.wait_for_selector(
                "html[data-report-ready]", state="attached", timeout=READY_TIMEOUT_MS
            )
            runs.append(page.evaluate("window.archselectMarks"))
            page.close()
        browser.close()
    plots = sum(1 for k in runs[0] if k.startswith("plot:"))
    print(
        f"report size: {size:,} bytes (target <= {TARGET_BYTES:,}; "
        f"ratio {size / TARGET_BYTES:.2f})"
    )
    print(
        f"plotly.js {version} bundle: {raw:,} bytes, embedded gzip + base64 "
        f"{len(packed):,} bytes ({len(base64.b64decode(packed)):,} bytes gzip)"
    )
    print(f"median over {len(runs)} opens at {VIEWPORT['width']}x{VIEWPORT['height']}, "
          f"{plots} plots (ms after navigation):")
    for key, what in STEPS:
        values = [r[key] for r in runs]
        print(
            f"  {what:<28} {statistics.median(values):7.0f}  "
            f"(min {min(values):.0f}, max {max(values):.0f})"
        )
    drawn = [r["drawn"] / 1000.0 for r in runs]
    median = statistics.median(drawn)
    print(
        f"time to last drawn plot: median {median:.2f} s (target <= {TARGET_OPEN_S:.0f} s on "
        f"a quiet 2-core machine; ratio {median / TARGET_OPEN_S:.2f})"
    )
    print(f"load average before: {load_before}; after: {_load()}")


if __name__ == "__main__":
    main()
