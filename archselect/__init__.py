"""archselect: measure which neural architecture family fits your data, and why.

The public names are imported on first use (PEP 562), so ``import archselect`` and
``archselect --version`` do not load torch, Lightning or Optuna.

Example:
    >>> import archselect
    >>> run = archselect.fit("datasets/digits.csv", trials=6)  # doctest: +SKIP
    >>> run.recommendation.family  # doctest: +SKIP
    'cnn2d'
"""

from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING, Any

from archselect._common.version import __version__
from archselect.errors import ArchSelectError, DataError, RunDirError, UsageError

if TYPE_CHECKING:
    from archselect.estimator import ArchSelectClassifier, ArchSelectRegressor
    from archselect.load import Table, load_table
    from archselect.plan import Plan, make_plan
    from archselect.prepare import Prepared, prepare
    from archselect.profile import Profile, profile_frame, profile_table
    from archselect.run import Run, fit, load, run_worker
    from archselect.search import SearchResult, run_search
    from archselect.select import Recommendation, select

#: Public name -> the module that defines it (imported when the name is first used).
_LAZY = {
    "run_worker": "archselect.run",
    "Run": "archselect.run",
    "fit": "archselect.run",
    "load": "archselect.run",
    "ArchSelectClassifier": "archselect.estimator",
    "ArchSelectRegressor": "archselect.estimator",
    "Table": "archselect.load",
    "load_table": "archselect.load",
    "Plan": "archselect.plan",
    "make_plan": "archselect.plan",
    "Prepared": "archselect.prepare",
    "prepare": "archselect.prepare",
    "Profile": "archselect.profile",
    "profile_frame": "archselect.profile",
    "profile_table": "archselect.profile",
    "SearchResult": "archselect.search",
    "run_search": "archselect.search",
    "Recommendation": "archselect.select",
    "select": "archselect.select",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'archselect' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _function_over_module(name: str) -> property:
    """``archselect.<name>`` stays the function although a submodule has the same name.

    Importing a submodule binds it on its package; the functions ``load``, ``prepare`` and
    ``select`` share their names with the modules ``load``, ``prepare`` and
    ``select``, so that binding is ignored and the attribute resolves to the function.
    """

    def get(module: types.ModuleType) -> Any:
        return getattr(import_module(_LAZY[name]), name)

    def set_(module: types.ModuleType, value: Any) -> None:
        if not isinstance(value, types.ModuleType):
            raise AttributeError(f"archselect.{name} cannot be replaced")

    return property(get, set_)


class _Package(types.ModuleType):
    load = _function_over_module("load")
    prepare = _function_over_module("prepare")
    select = _function_over_module("select")


sys.modules[__name__].__class__ = _Package


__all__ = [
    "ArchSelectClassifier",
    "ArchSelectError",
    "ArchSelectRegressor",
    "DataError",
    "Plan",
    "Prepared",
    "Profile",
    "Recommendation",
    "Run",
    "RunDirError",
    "SearchResult",
    "Table",
    "UsageError",
    "__version__",
    "fit",
    "load",
    "load_table",
    "make_plan",
    "prepare",
    "profile_frame",
    "profile_table",
    "run_search",
    "run_worker",
    "select",
]
