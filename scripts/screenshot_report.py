"""Screenshot a run's report.html for the README (headless Debian chromium, network blocked).

python scripts/screenshot_report.py runs/digits/report.html docs/report.png
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 1100}


def main(report: str, png: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport=VIEWPORT)
        page.route("http*://**", lambda route: route.abort())  # the report needs no network
        page.goto(Path(report).resolve().as_uri())
        # the page sets this once every plot is drawn
        page.wait_for_function("window.archselectReportReady === true", timeout=120_000)
        page.screenshot(path=png, full_page=False)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
