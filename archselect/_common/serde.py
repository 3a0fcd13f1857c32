"""JSON round trip for the frozen dataclasses that stages exchange."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, Self, TypeVar

from archselect._common.faults import write_atomic

__all__ = ["JsonRecord", "to_jsonable"]

T = TypeVar("T", bound="JsonRecord")


def to_jsonable(value: Any) -> Any:
    """Convert dataclasses, tuples, enums, numpy scalars and non-finite floats to plain JSON
    values."""
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if hasattr(value, "tolist") and callable(value.tolist):
        return to_jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _from_jsonable(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _from_jsonable(non_none[0], value)
        chosen = _by_kind(non_none, value)
        return value if chosen is None else _build(chosen, value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, value)  # type: ignore[type-var]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_jsonable(args[0], v) for v in value)
        if args:
            return tuple(_from_jsonable(a, v) for a, v in zip(args, value, strict=True))
        return tuple(value)
    if origin is dict and args:
        return {k: _from_jsonable(args[1], v) for k, v in value.items()}
    if origin is list and args:
        return [_from_jsonable(args[0], v) for v in value]
    if tp is float and isinstance(value, int):
        return float(value)
    return value


def _by_kind(options: list[Any], value: Any) -> Any:
    """The dataclass of a discriminated union whose ``kind`` default matches the value's."""
    if not isinstance(value, dict) or "kind" not in value:
        return None
    for option in options:
        if isinstance(option, type) and dataclasses.is_dataclass(option):
            kinds = [f.default for f in dataclasses.fields(option) if f.name == "kind"]
            if kinds and kinds[0] == value["kind"]:
                return option
    return None


def _build(cls: type[T], data: dict[str, Any]) -> T:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = _from_jsonable(hints[f.name], data[f.name])
    return cls(**kwargs)


class JsonRecord:
    """Mixin for frozen dataclasses: ``to_dict``/``from_dict`` and file helpers."""

    def to_dict(self) -> dict[str, Any]:
        result = to_jsonable(self)
        assert isinstance(result, dict)
        return result

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return _build(cls, data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Self:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        """Write the record atomically (temporary file, then rename; none left on failure)."""
        text = self.to_json()
        write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    @classmethod
    def read(cls, path: str | Path) -> Self:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))
