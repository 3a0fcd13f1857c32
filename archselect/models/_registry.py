"""Registry of network builders, by family name (timm style)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from archselect._errors import UsageError

__all__ = ["create_model", "list_models", "model_layouts", "register_model"]

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class _Entry:
    builder: Builder
    layouts: tuple[str, ...]


_REGISTRY: dict[str, _Entry] = {}


def register_model(name: str, *, layouts: tuple[str, ...]) -> Callable[[Builder], Builder]:
    """Register ``builder(input_shape, n_outputs, **params) -> nn.Module`` under ``name``.

    Example:
        >>> from torch import nn
        >>> @register_model("doc_linear", layouts=("table",))
        ... def _linear(input_shape, n_outputs):
        ...     return nn.Linear(input_shape[0], n_outputs)
        >>> create_model("doc_linear", input_shape=(3,), n_outputs=2).out_features
        2
    """

    def decorate(builder: Builder) -> Builder:
        _REGISTRY[name] = _Entry(builder, layouts)
        return builder

    return decorate


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

    ``layout`` reaches builders that declare a ``layout`` parameter (the recurrent ones
    read the mask channel of ``series_padded``); others take the input as it is.
    """
    if name not in _REGISTRY:
        raise UsageError(f"Unknown family {name!r}; choose from {', '.join(list_models())}.")
    builder = _REGISTRY[name].builder
    if layout is not None and "layout" in inspect.signature(builder).parameters:
        params = {**params, "layout": layout}
    return builder(tuple(input_shape), n_outputs, **params)
