"""Command line: ``archselect fit | worker | profile | predict | report | export | warm``.

Exit codes: 0 ok, 1 internal error, 2 bad input (one sentence, no traceback),
3 no model written (no trial finished: trials.csv and the report say why),
130 interrupted by SIGINT (Ctrl-C), 143 stopped by SIGTERM. ``--json`` prints only JSON
on stdout; logs go to stderr.
"""

from __future__ import annotations

from archselect._common import signals as _signals
from archselect.cli import _runs, _search, _warm  # noqa: F401  (each adds its commands)
from archselect.cli._app import cli, parse_duration
from archselect.cli._search import echo_verdict

__all__ = ["cli", "echo_verdict", "main", "parse_duration"]


def main() -> None:
    _signals.install()
    from archselect._common import budget as _budget

    _budget.mark_command_start()
    cli(prog_name="archselect")
