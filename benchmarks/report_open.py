"""The report's weight and open time: bytes of ``report.html`` and time to its last drawn plot.

Renders the report of a run directory again, opens it from ``file://`` in headless Debian
Chromium (every other request aborted) ``--repeats`` times, each in a fresh page, and prints
the file's size and the median time from navigation to the last drawn plot, as the page
itself measures it (``performance.now()`` when every plotly figure has resolved).
Targets: ≤ 1.5 MB (1,500,000 bytes) and ≤ 1 s on a quiet 2-core machine; it prints each
measure's ratio to its target (≤ 1: met) and the load average, since a loaded machine is
slower by about load ÷ cores.

Usage::

    archselect fit datasets/digits.csv --trials 4 --out /tmp/r
    python benchmarks/report_open.py /tmp/r [--repeats 5]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from archselect.report import render_report

    path = render_report(args.run_dir)
    size = path.stat().st_size
    times, parsed = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        for _ in range(args.repeats):
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.route(
                "**/*",
                lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort(),
            )
            page.goto(path.resolve().as_uri())
            page.wait_for_function(
                "window.archselectReportReady === true", timeout=READY_TIMEOUT_MS
            )
            times.append(page.evaluate("window.archselectDrawnMs") / 1000.0)
            parsed.append(page.evaluate("window.archselectScriptMs") / 1000.0)
            page.close()
        browser.close()
    median = statistics.median(times)
    print(
        f"report size: {size:,} bytes (target <= {TARGET_BYTES:,}; "
        f"ratio {size / TARGET_BYTES:.2f})"
    )
    print(
        f"time to last drawn plot: median {median:.2f} s over "
        f"{len(times)} opens (min {min(times):.2f}, max {max(times):.2f}; "
        f"target <= {TARGET_OPEN_S:.0f} s on a quiet 2-core machine; "
        f"ratio {median / TARGET_OPEN_S:.2f})"
    )
    print(f"of which plotly inflated and parsed: median {statistics.median(parsed):.2f} s")
    print(
        f"load average over 1 min while measured: {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
