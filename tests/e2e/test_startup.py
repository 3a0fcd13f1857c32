"""``archselect --version`` and ``import archselect`` stay light (no torch/Lightning/Optuna)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "pytorch_lightning", "lightning", "optuna", "sklearn", "pandas")


def test_version_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from archselect.cli import cli\n"
        "try:\n"
        "    cli(['--version'], prog_name='archselect')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "archselect, version" in out
    assert out.strip().splitlines()[-1] == "[]", out


def test_public_names_resolve_to_functions() -> None:
    import archselect
    import archselect.load
    import archselect.prepare
    import archselect.select

    assert callable(archselect.load) and archselect.load.__name__ == "load"
    assert archselect.select.__name__ == "select"
    assert archselect.prepare.__name__ == "prepare"
    assert {n for n in archselect.__all__ if not hasattr(archselect, n)} == set()


#: Modules that read or decide from results: they must not load the training stack.
LIGHT_MODULES = (
    "archselect.core",
    "archselect.rundir",
    "archselect.report",
    "archselect.select",
    "archselect.plan",
)
TRAINING_STACK = ("torch", "pytorch_lightning", "lightning", "optuna")


def test_report_and_decisions_load_no_training_stack() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in LIGHT_MODULES)
        + f"print(sorted(m for m in {TRAINING_STACK!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]", out


def test_import_report_alone_loads_no_torch() -> None:
    code = (
        "import sys\nimport archselect.report\n"
        f"print(sorted(m for m in {TRAINING_STACK!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]", out
