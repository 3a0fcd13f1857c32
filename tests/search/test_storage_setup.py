"""The study storage: what making one changes in the process (and what importing does not)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_importing_search_changes_nothing_process_wide(tmp_path: Path) -> None:
    """Optuna's log level, the warnings filters and SQLAlchemy's hooks change only when a
    study storage is made."""
    code = (
        "import warnings, optuna, sqlalchemy\n"
        "from sqlalchemy.engine import Engine\n"
        "level = optuna.logging.get_verbosity()\n"
        "exp = optuna.exceptions.ExperimentalWarning\n"
        "import archselect.search as s\n"
        "from archselect.search._storage import _begin_immediate\n"
        "assert optuna.logging.get_verbosity() == level\n"
        "assert not any(f[2] is exp for f in warnings.filters)\n"
        "assert not sqlalchemy.event.contains(Engine, 'begin', _begin_immediate)\n"
        f"s.make_storage({'sqlite:///' + str(tmp_path / 'study.db')!r})\n"
        "assert optuna.logging.get_verbosity() == optuna.logging.WARNING\n"
        "assert any(f[0] == 'ignore' and f[2] is exp for f in warnings.filters)\n"
        "assert sqlalchemy.event.contains(Engine, 'begin', _begin_immediate)\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "ok", out
