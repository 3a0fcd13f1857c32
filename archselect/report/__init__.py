"""Stage 7 — report: one self-contained, offline HTML page rendered from the run directory."""

from archselect.report._render import render_report, report_context

__all__ = ["render_report", "report_context"]
