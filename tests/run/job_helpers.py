"""A job for tests/run/test_jobs.py's job server: it holds memory (and imports no more)."""

from __future__ import annotations

import time

import numpy as np


def hold(megabytes: int, seconds: float) -> None:
    """Hold ``megabytes`` of touched memory for ``seconds``."""
    block = np.ones(megabytes * 2**20 // 8)
    time.sleep(seconds)
    del block
