"""Screenshot the first screen of a run's report.html for the README (docs/report.png).

Opens the page in headless Debian Chromium at 1440×900 with every request but file://
aborted (the report needs none), waits until every plot is drawn, and saves the first
screen as a PNG reduced to a 128-colour palette (a text page loses nothing visible and the
file stays well under 300 KB).

    archselect fit datasets/digits.csv --trials 6 --out /tmp/report_demo --seed 0
    python scripts/screenshot_report.py /tmp/report_demo/report.html docs/report.png
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1440, "height": 900}
READY_TIMEOUT_MS = 120_000
#: Colours of the saved PNG's palette.
PALETTE_COLOURS = 128


def main(report: str, png: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport=VIEWPORT)
        page.route(
            "**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort()
        )
        page.goto(Path(report).resolve().as_uri())
        # the page marks <html data-report-ready> once every plot is drawn
        page.wait_for_selector(
            "html[data-report-ready]", state="attached", timeout=READY_TIMEOUT_MS
        )
        shot = page.screenshot(full_page=False)
        browser.close()
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    image.quantize(colors=PALETTE_COLOURS).save(png, optimize=True)
    print(f"{png}: {image.width}x{image.height}, {Path(png).stat().st_size:,} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python scripts/screenshot_report.py RUN_DIR/report.html OUT.png")
    main(sys.argv[1], sys.argv[2])
