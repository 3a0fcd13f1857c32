"""Registry of network builders, by family name (timm style)."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from archselect.core.spaces import FAMILY_PATH_ENV, family_layouts
from archselect.errors import UsageError
from archselect.layouts import plugin_for

__all__ = [
    "check_registry",
    "create_model",
    "list_models",
    "load_family_modules",
    "model_layouts",
    "register_model",
]

Builder = Callable[..., nn.Module]
#: ``sys.modules`` prefix of the builder files loaded from ``$ARCHSELECT_FAMILY_PATH``.
EXTRA_MODULE_PREFIX = "archselect_family_"


@dataclass(frozen=True)
class _Entry:
    """A family's builders, by layout (text models get an embedding front, for instance)."""

    builders: dict[str, Builder]

    @property
    def layouts(self) -> tuple[str, ...]:
        return tuple(self.builders)


_REGISTRY: dict[str, _Entry] = {}


def register_model(name: str, *, layouts: tuple[str, ...]) -> Callable[[Builder], Builder]:
    """Register ``builder(input_shape, n_outputs, **params) -> nn.Module`` under ``name``.

    A family may register several builders, each for its own layouts; the first one
    registered is the default when ``create_model`` is called without a layout.

    Example:
        >>> from torch import nn
        >>> @register_model("doc_linear", layouts=("table",))
        ... def _linear(input_shape, n_outputs):
        ...     return nn.Linear(input_shape[0], n_outputs)
        >>> create_model("doc_linear", input_shape=(3,), n_outputs=2).out_features
        2
    """

    def decorate(builder: Builder) -> Builder:
        entry = _REGISTRY.setdefault(name, _Entry({}))
        for layout in layouts:
            entry.builders[layout] = builder
        return builder

    return decorate


def unregister_model(name: str) -> None:
    """Remove the builder registered as ``name`` (nothing happens when there is none).

    Example:
        >>> _ = register_model("toy_gone", layouts=("table",))(lambda s, n: None)
        >>> unregister_model("toy_gone"); "toy_gone" in list_models()
        False
    """
    _REGISTRY.pop(name, None)


def list_models(layout: str | None = None) -> list[str]:
    """Registered family names, optionally only those that accept ``layout``."""
    return sorted(n for n, e in _REGISTRY.items() if layout is None or layout in e.layouts)


def model_layouts(name: str) -> tuple[str, ...]:
    return _REGISTRY[name].layouts


def create_model(
    name: str,
    *,
    input_shape: tuple[int, ...],
    n_outputs: int,
    layout: str | None = None,
    **params: Any,
) -> nn.Module:
    """Build the family ``name`` for one sample of ``input_shape`` with ``n_outputs`` outputs.

    ``layout`` picks the family's builder for that layout (``text`` builders also take
    ``vocab_size``); without it, the family's first registered builder is used. It also
    reaches builders that declare a ``layout`` parameter (the recurrent ones read the mask
    channel of ``series_padded``). Forecasters are wrapped in
    :class:`~archselect.models.anchor.LastValueAnchored`.
    """
    if name not in _REGISTRY:
        raise UsageError(f"Unknown family {name!r}; choose from {', '.join(list_models())}.")
    builders = _REGISTRY[name].builders
    if layout is None:
        builder = next(iter(builders.values()))
    elif layout in builders:
        builder = builders[layout]
    else:
        raise UsageError(
            f"Family {name!r} does not fit {layout} data; it fits {', '.join(builders)}."
        )
    if layout is not None and "layout" in inspect.signature(builder).parameters:
        params = {**params, "layout": layout}
    net = builder(tuple(input_shape), n_outputs, **params)
    if layout is not None and plugin_for(layout).forecast:
        # every forecaster predicts the change from the last value
        from archselect.models.anchor import LastValueAnchored

        return LastValueAnchored(net)
    return net


def load_family_modules(folders: tuple[Path, ...]) -> list[str]:
    """Import every ``<name>.py`` of ``folders`` (``$ARCHSELECT_FAMILY_PATH``), whose
    ``@register_model`` builders join the registry; returns the module names.

    Raises:
        UsageError: A file fails to import.
    """
    loaded = []
    for folder in folders:
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            module_name = EXTRA_MODULE_PREFIX + path.stem
            if module_name in sys.modules:
                loaded.append(module_name)
                continue
            spec = importlib.util.spec_from_file_location(module_name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[module_name]
                raise UsageError(
                    f"{path} (a family from ${FAMILY_PATH_ENV}) fails to import "
                    f"({type(exc).__name__}: {exc}); fix it or move it out of {folder}."
                ) from exc
            loaded.append(module_name)
    return loaded


def check_registry() -> None:
    """Each family's builders and its search space declare the same layouts.

    Raises:
        UsageError: A family has a builder but no search space, a search space but no
            builder, or different layouts in the two.
    """
    spaces = family_layouts()
    for name in sorted(set(spaces) | set(_REGISTRY)):
        in_toml = spaces.get(name)
        built = _REGISTRY[name].layouts if name in _REGISTRY else None
        if in_toml is None:
            raise UsageError(
                f"Family {name!r} has a builder (layouts {list(built or ())}) but no search "
                f"space; add {name}.toml next to it."
            )
        if built is None:
            raise UsageError(
                f"Family {name!r} has a search space ({name}.toml, layouts {list(in_toml)}) "
                f"but no builder; register one with @register_model({name!r}, layouts=...)."
            )
        if set(in_toml) != set(built):
            raise UsageError(
                f"Family {name!r} fits layouts {sorted(in_toml)} in its search space "
                f"({name}.toml) but {sorted(built)} in its builder (@register_model); make "
                "them the same."
            )
