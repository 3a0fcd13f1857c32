"""``archselect warm``: compile once, after installing, what a first fit would compile."""

from __future__ import annotations

import subprocess
import sys
import time

import click

from archselect.cli._app import _handle_errors, cli

__all__ = ["warm"]

#: One process per MiniRocket kernel set (one channel, several channels), side by side.
KERNEL_CASES = (1, 2)
_COMPILE = "from archselect.baselines import warm_minirocket; warm_minirocket(({},))"


@cli.command()
@_handle_errors
def warm() -> None:
    """Compile MiniRocket's kernels once, so that no budgeted fit pays for it.

    aeon's MiniRocket (a reference on every series) is numba code that is compiled on its
    first use after an install, about 40 s of CPU for its one-channel and many-channel
    kernels, and then kept in aeon's on-disk cache. Without this command the first
    ``fit --timeout`` on a series spends that time out of its budget. Run it once per
    environment; a second call only loads the cache.

    \b
    Example:
      archselect warm
    """
    from archselect.baselines import minirocket_available

    if not minirocket_available():
        click.echo("nothing to compile: aeon (MiniRocket) is not installed (pip install aeon).")
        return
    start = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, "-c", _COMPILE.format(c)], stderr=subprocess.PIPE)
        for c in KERNEL_CASES
    ]
    stderrs = [(p.communicate()[1] or b"").decode(errors="replace").strip() for p in procs]
    for proc, stderr in zip(procs, stderrs, strict=True):
        if proc.returncode:
            last = stderr.splitlines()[-1] if stderr else f"exit code {proc.returncode}"
            raise RuntimeError(f"MiniRocket's kernels could not be compiled: {last}")
    click.echo(
        f"MiniRocket's kernels are compiled and cached ({time.perf_counter() - start:.0f} s)."
    )
