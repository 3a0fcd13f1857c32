"""Stage 7 — report: one self-contained, offline HTML page rendered from the run directory."""

from archselect.report._ensemble import FORECAST_NOTE, ensemble_view
from archselect.report._render import notebook_html, render_report, report_context

__all__ = [
    "FORECAST_NOTE",
    "ensemble_view",
    "notebook_html",
    "render_report",
    "report_context",
]
