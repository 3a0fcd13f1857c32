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


def test_argument_errors_are_answered_before_torch_is_imported(tmp_path) -> None:
    """Issue 33 row 15: "--timeout 0", "--trials 0", "--target nope" waited 6-9 s for torch
    before exit 2. Each command runs in this one process, so the first that imports torch
    fails the check for itself and every later one."""
    data = tmp_path / "d.csv"
    data.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20)))
    run = tmp_path / "run"
    run.mkdir()
    (run / "plan.json").write_text('{"run": {"format_version": 1}}')
    cases = [
        ["fit", str(data), "--timeout", "0"],
        ["fit", str(data), "--trials", "0"],
        ["fit", str(data), "--target", "nope"],
        ["fit", str(data), "--id-col", "idd"],
        ["fit", str(tmp_path / "missing.csv")],
        ["profile", str(data), "--target", "nope"],
        ["predict", str(tmp_path / "nowhere"), str(data)],
        ["predict", str(run), str(data), "-o", str(run / "model" / "config.json")],
        ["predict", str(run), str(tmp_path / "missing.csv")],
        ["worker", "--storage", "sqlite:///x.db", "--threads", "0"],
    ]
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from archselect.cli import cli\n"
        f"for args in {cases!r}:\n"
        "    res = CliRunner().invoke(cli, args)\n"
        "    assert res.exit_code == 2, (args, res.output)\n"
        "    assert res.stderr.startswith('error: '), (args, res.stderr)\n"
        "    assert 'torch' not in sys.modules, args\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "ok", out
