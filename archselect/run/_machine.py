"""The machine a run used, as ``plan.json`` records it: CPU and GPU models, versions."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pandas as pd

from archselect._common.version import __version__

__all__ = ["cpu_model", "gpu_model", "versions"]

#: Where Linux names the CPU, and where the NVIDIA driver names each GPU (no CUDA context).
_CPUINFO = Path("/proc/cpuinfo")
_NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else :func:`platform.processor`), or ``""``."""
    try:
        for line in _CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_model(*, in_process: bool) -> str:
    """The GPU model when trials can use one (CUDA visible to torch), else ``""``.

    Read from the NVIDIA driver's ``/proc`` entries, which opens no CUDA context in this
    process; failing that, from torch only when trials run in this process (they open one).
    """
    import torch

    if not torch.cuda.is_available():
        return ""
    names: list[str] = []
    for info in sorted(_NVIDIA_GPUS.glob("*/information")):
        try:
            text = info.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model" and value.strip() and value.strip() not in names:
                names.append(value.strip())
    if names:
        return ", ".join(names)
    return torch.cuda.get_device_name(0) if in_process else ""


def versions() -> dict[str, str]:
    """The versions of Python, archselect and the libraries a run depends on."""
    import optuna
    import pytorch_lightning
    import sklearn
    import torch

    return {
        "python": platform.python_version(),
        "archselect": __version__,
        "torch": torch.__version__,
        "pytorch_lightning": pytorch_lightning.__version__,
        "optuna": optuna.__version__,
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }
