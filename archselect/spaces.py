"""Declarative search spaces: one TOML file per family plus one shared file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from archselect._errors import UsageError
from archselect._serde import JsonRecord

__all__ = ["SHARED", "ParamSpec", "Space", "load_shared_space", "load_space", "space_dir"]

SHARED = "shared"
PARAM_TYPES = ("int", "float", "categorical")


@dataclass(frozen=True)
class ParamSpec(JsonRecord):
    """One searchable parameter: an int or float range, or a list of choices."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def validate(self, where: str) -> None:
        if self.type not in PARAM_TYPES:
            raise UsageError(
                f"{where}: parameter {self.name!r} has type {self.type!r}; "
                f"use one of {', '.join(PARAM_TYPES)}."
            )
        if self.type == "categorical":
            if not self.choices:
                raise UsageError(f"{where}: parameter {self.name!r} needs a non-empty 'choices'.")
        elif self.low is None or self.high is None or self.low > self.high:
            raise UsageError(f"{where}: parameter {self.name!r} needs 'low' <= 'high'.")

    def admits(self, value: Any) -> bool:
        """Whether ``value`` is one the sampler could draw (a default must be)."""
        if self.type == "categorical":
            return any(value == c and type(value) is type(c) for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        assert self.low is not None and self.high is not None
        if self.type == "int" and (
            not isinstance(value, int) or (value - self.low) % (self.step or 1)
        ):
            return False
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Space(JsonRecord):
    """A named set of parameters (a family's, or the shared training one)."""

    name: str
    params: tuple[ParamSpec, ...]
    layouts: tuple[str, ...] = ()
    description: str = ""
    source: str = ""
    fixed: dict[str, Any] = field(default_factory=dict)
    #: The values of the family's first trial (``[default]`` table): a known-sane point
    #: measured before the sampler explores. Parameters it leaves out are sampled.
    default: dict[str, Any] = field(default_factory=dict)


def _check_default(path: Path, params: list[ParamSpec], default: dict[str, Any]) -> None:
    specs = {p.name: p for p in params}
    for name, value in default.items():
        spec = specs.get(name)
        if spec is None:
            raise UsageError(
                f"{path}: [default] names {name!r}, which is not a parameter; "
                f"choose from {', '.join(specs) or 'none'}."
            )
        if not spec.admits(value):
            allowed = (
                ", ".join(map(repr, spec.choices))
                if spec.type == "categorical"
                else f"{spec.type} in [{spec.low}, {spec.high}]"
            )
            raise UsageError(
                f"{path}: [default] {name} = {value!r} is not in its space ({allowed}); "
                "change the default or the range."
            )


def space_dir() -> Path:
    """The folder of the shipped TOML files (inside the wheel, or the source checkout)."""
    installed = Path(str(resources.files("archselect"))) / "search_spaces"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "search_spaces"


def _parse(path: Path, name: str) -> Space:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML ({exc}); fix the syntax.") from exc
    params = []
    for pname, spec in data.get("params", {}).items():
        if not isinstance(spec, dict):
            raise UsageError(f"{path}: [params.{pname}] must be a table with a 'type'.")
        p = ParamSpec(
            name=pname,
            type=str(spec.get("type", "")),
            low=spec.get("low"),
            high=spec.get("high"),
            log=bool(spec.get("log", False)),
            step=spec.get("step"),
            choices=tuple(spec.get("choices", ())),
        )
        p.validate(str(path))
        params.append(p)
    default = data.get("default", {})
    if not isinstance(default, dict):
        raise UsageError(f"{path}: [default] must be a table of parameter values.")
    _check_default(path, params, default)
    return Space(
        name=str(data.get("name", name)),
        params=tuple(params),
        layouts=tuple(data.get("layouts", ())),
        description=str(data.get("description", "")),
        source=path.name,
        fixed=dict(data.get("fixed", {})),
        default=dict(default),
    )


def load_space(name: str, *, path: str | Path | None = None, layout: str | None = None) -> Space:
    """Load the shipped space of a family, or a user's TOML file.

    A family with a layout-specific space ships it as ``<name>.<layout>.toml`` (text
    families search embedding sizes, for instance); ``layout`` picks it when it exists.

    Example:
        >>> load_space("mlp").name
        'mlp'
    """
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise UsageError(f"Search-space file {p} does not exist; check the --space path.")
        return _parse(p, p.stem)
    specific = space_dir() / f"{name}.{layout}.toml"
    if layout is not None and specific.is_file():
        return _parse(specific, name)
    p = space_dir() / f"{name}.toml"
    if not p.is_file():
        known = sorted(
            f.stem for f in space_dir().glob("*.toml") if f.stem != SHARED and "." not in f.stem
        )
        raise UsageError(
            f"No search space for family {name!r}; known families: {', '.join(known)}."
        )
    return _parse(p, name)


def load_shared_space() -> Space:
    """The optimiser and schedule parameters every family includes."""
    return load_space(SHARED)
