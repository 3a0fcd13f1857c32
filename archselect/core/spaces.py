"""Declarative search spaces: one TOML file per family plus one shared file."""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from archselect._common.serde import JsonRecord
from archselect.errors import UsageError

__all__ = [
    "FAMILY_PATH_ENV",
    "SHARED",
    "ParamSpec",
    "Space",
    "extra_family_dirs",
    "families_for",
    "family_layouts",
    "family_order",
    "load_shared_space",
    "load_space",
    "space_dir",
]

SHARED = "shared"
#: Folders (separated by ``os.pathsep``) holding families added from outside archselect:
#: ``<family>.toml`` (its search space, ``layouts`` and ``order``) and ``<family>.py`` (its
#: builder, registered with ``@archselect.models.register_model``).
FAMILY_PATH_ENV = "ARCHSELECT_FAMILY_PATH"
#: The TOML key that places a family among those that fit a layout: the plan searches them,
#: and the report lists them, by ascending ``order`` (ties by name).
ORDER_KEY = "order"
#: The place of a family whose TOML names no ``order``: after the shipped ones.
DEFAULT_ORDER = 1000
#: The key of a ``[[portfolio]]`` entry that names the layouts it is meant for.
PORTFOLIO_LAYOUTS = "layouts"
PARAM_TYPES = ("int", "float", "categorical")
#: Parameters that count something (units, layers, steps): each value must be an integer >= 1.
POSITIVE_INT_PARAMS = frozenset(
    {
        "batch_size",
        "blocks",
        "blocks_per_stage",
        "embed_dim",
        "epochs",
        "hidden",
        "kernel",
        "layers",
        "levels",
        "stages",
        "width",
    }
)
#: Parameters with a bounded range: name -> (lowest allowed, highest allowed, high inclusive).
BOUNDED_PARAMS = {
    "dropout": (0.0, 1.0, False),
    "lr": (0.0, math.inf, False),
    "weight_decay": (0.0, math.inf, True),
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_value(name: str, value: Any, where: str) -> None:
    """Refuse a value no model could train with (``width = 0``, ``dropout = 1.5``).

    Example:
        >>> check_value("width", 0, "space.toml")
        Traceback (most recent call last):
        ...
        archselect.errors.UsageError: space.toml: width = 0 must be a whole number >= 1; fix it.
    """
    whole = isinstance(value, int) and not isinstance(value, bool)
    if name in POSITIVE_INT_PARAMS and not (whole and value >= 1):
        raise UsageError(f"{where}: {name} = {value!r} must be a whole number >= 1; fix it.")
    if name in BOUNDED_PARAMS:
        low, high, high_ok = BOUNDED_PARAMS[name]
        inside = _is_number(value) and (
            (low < value if name == "lr" else low <= value)
            and (value <= high if high_ok else value < high)
        )
        if not inside:
            bracket = "]" if high_ok else ")"
            opening = "(" if name == "lr" else "["
            raise UsageError(
                f"{where}: {name} = {value!r} is outside {opening}{low:g}, {high:g}{bracket}; "
                "fix it."
            )


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
            for choice in self.choices:
                check_value(self.name, choice, where)
            return
        bounds = (self.low, self.high)
        if not all(_is_number(b) and math.isfinite(b) for b in bounds):  # type: ignore[arg-type]
            raise UsageError(
                f"{where}: parameter {self.name!r} needs finite numbers 'low' and 'high'."
            )
        assert self.low is not None and self.high is not None
        if self.low > self.high:
            raise UsageError(f"{where}: parameter {self.name!r} needs 'low' <= 'high'.")
        if self.type == "int" and not all(isinstance(b, int) for b in bounds):
            raise UsageError(
                f"{where}: int parameter {self.name!r} needs whole numbers for 'low' and 'high'."
            )
        if self.log and self.low <= 0:
            raise UsageError(
                f"{where}: parameter {self.name!r} has log = true, so 'low' must be above 0, "
                f"not {self.low}."
            )
        if self.step is not None and not (_is_number(self.step) and self.step > 0):
            raise UsageError(f"{where}: parameter {self.name!r} needs a 'step' above 0.")
        if self.step is not None and self.log:
            raise UsageError(
                f"{where}: parameter {self.name!r} cannot have both 'step' and log = true."
            )
        check_value(self.name, self.low, where)
        check_value(self.name, self.high, where)

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
    #: measured before the sampler explores. Parameters it leaves out are sampled; shared
    #: training parameters it names replace the shared ``[default]`` for this family.
    default: dict[str, Any] = field(default_factory=dict)
    #: Warm start (``[[portfolio]]`` tables): configurations that did well across many
    #: public data sets (mined by ``benchmarks/mine_portfolio.py``), tried in this order
    #: after the default and before the sampler. Each may name the family's parameters
    #: and the shared training ones, and ``layouts`` it is meant for (default: all).
    portfolio: tuple[dict[str, Any], ...] = ()

    def portfolio_for(self, layout: str) -> list[dict[str, Any]]:
        """The portfolio entries meant for ``layout``, without their ``layouts`` key.

        Example:
            >>> entries = ({"layouts": ["image"], "width": 8}, {"width": 4})
            >>> space = Space("m", (), portfolio=entries)
            >>> space.portfolio_for("table")
            [{'width': 4}]
        """
        return [
            {k: v for k, v in entry.items() if k != PORTFOLIO_LAYOUTS}
            for entry in self.portfolio
            if layout in entry.get(PORTFOLIO_LAYOUTS, (layout,))
        ]


def _check_default(
    path: Path, params: list[ParamSpec], default: dict[str, Any], family: str
) -> None:
    """A family's ``[default]`` names its parameters, or (as a ``[[portfolio]]`` entry may)
    the shared training ones its first trial overrides, with values in their space."""
    specs = {p.name: p for p in params}
    if family != SHARED and any(name not in specs for name in default):
        shared = {p.name: p for p in load_shared_space().params}
        specs = {**shared, **specs}
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


def _check_portfolio(path: Path, params: list[ParamSpec], entries: Any, name: str) -> None:
    """Every ``[[portfolio]]`` entry names known parameters with values in their space."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsageError(f"{path}: [[portfolio]] must be an array of tables of parameter values.")
    if entries and name == SHARED:
        raise UsageError(f"{path}: the shared space has no [[portfolio]]; put it in a family's.")
    own = {p.name: p for p in params}
    shared = {p.name: p for p in load_shared_space().params} if entries else {}
    for i, entry in enumerate(entries, start=1):
        layouts = entry.get(PORTFOLIO_LAYOUTS, [])
        if not isinstance(layouts, list) or not all(isinstance(x, str) for x in layouts):
            raise UsageError(
                f"{path}: [[portfolio]] entry {i}: 'layouts' must be a list of layout names."
            )
        for key, value in entry.items():
            if key == PORTFOLIO_LAYOUTS:
                continue
            spec = own.get(key) or shared.get(key)
            if spec is None:
                raise UsageError(
                    f"{path}: [[portfolio]] entry {i} names {key!r}, which is not a parameter; "
                    f"choose from {', '.join([*own, *shared])}."
                )
            if not spec.admits(value):
                raise UsageError(
                    f"{path}: [[portfolio]] entry {i}: {key} = {value!r} is not in its space; "
                    "change the entry or the range."
                )


def space_dir() -> Path:
    """The folder of the shipped TOML files (inside the wheel, or the source checkout)."""
    installed = Path(str(resources.files("archselect"))) / "search_spaces"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "search_spaces"


def _parse(path: Path, name: str) -> Space:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML ({exc}); fix the syntax.") from exc
    except UnicodeDecodeError:
        raise UsageError(
            f"{path} is not UTF-8 text; save the search space as UTF-8 TOML."
        ) from None
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
    _check_default(path, params, default, name)
    fixed = data.get("fixed", {})
    if not isinstance(fixed, dict):
        raise UsageError(f"{path}: [fixed] must be a table of parameter values.")
    for fname, value in fixed.items():
        check_value(fname, value, str(path))
    portfolio = data.get("portfolio", [])
    _check_portfolio(path, params, portfolio, str(data.get("name", name)))
    return Space(
        name=str(data.get("name", name)),
        params=tuple(params),
        layouts=tuple(data.get("layouts", ())),
        description=str(data.get("description", "")),
        source=path.name,
        fixed=dict(fixed),
        default=dict(default),
        portfolio=tuple(dict(e) for e in portfolio),
    )


def extra_family_dirs() -> tuple[Path, ...]:
    """The folders named by ``$ARCHSELECT_FAMILY_PATH`` (none when it is unset or empty).

    Raises:
        UsageError: A folder it names does not exist.
    """
    dirs = []
    for entry in os.environ.get(FAMILY_PATH_ENV, "").split(os.pathsep):
        if not entry.strip():
            continue
        folder = Path(entry).expanduser()
        if not folder.is_dir():
            raise UsageError(
                f"${FAMILY_PATH_ENV} names {entry!r}, which is not a folder; point it at the "
                "folders that hold your families' <name>.toml and <name>.py files."
            )
        dirs.append(folder)
    return tuple(dirs)


def _family_files() -> dict[str, list[Path]]:
    """Every family's TOML files (``<name>.toml`` first, then ``<name>.<layout>.toml``),
    shipped ones first; a family lives in exactly one folder."""
    out: dict[str, list[Path]] = {}
    home: dict[str, Path] = {}
    for folder in (space_dir(), *extra_family_dirs()):
        paths = sorted(
            folder.glob("*.toml"), key=lambda p: (p.name.split(".")[0], p.name.count("."))
        )
        for path in paths:
            name = path.name.split(".")[0]
            if name == SHARED:
                continue
            if home.setdefault(name, folder) != folder:
                raise UsageError(
                    f"{path} adds the family {name!r}, which {home[name]} already holds; rename "
                    "the new family (its TOML name and its register_model name)."
                )
            out.setdefault(name, []).append(path)
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML ({exc}); fix the syntax.") from exc


def family_layouts() -> dict[str, tuple[str, ...]]:
    """Every family and the layouts it fits, read from the TOML files alone (the shipped
    ones and those in ``$ARCHSELECT_FAMILY_PATH``).

    ``<name>.toml`` and ``<name>.<layout>.toml`` add their ``layouts`` to ``name``.

    Example:
        >>> family_layouts()["resnet_small"]
        ('image',)
    """
    out: dict[str, tuple[str, ...]] = {}
    for name, paths in _family_files().items():
        for path in paths:
            layouts = _read_toml(path).get("layouts", ())
            known = out.get(name, ())
            out[name] = known + tuple(str(x) for x in layouts if str(x) not in known)
    return out


def family_order() -> dict[str, int]:
    """Every family's ``order`` (where it comes among the families of a layout).

    Raises:
        UsageError: An ``order`` is not a whole number, or two files of a family disagree.

    Example:
        >>> order = family_order()
        >>> order["cnn2d"] < order["resnet_small"] < order["mlp"]
        True
    """
    out: dict[str, int] = {}
    for name, paths in _family_files().items():
        for path in paths:
            value = _read_toml(path).get(ORDER_KEY)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise UsageError(
                    f"{path}: {ORDER_KEY} = {value!r} must be a whole number; fix it."
                )
            if out.setdefault(name, value) != value:
                raise UsageError(
                    f"{path}: {ORDER_KEY} = {value} disagrees with {ORDER_KEY} = {out[name]} in "
                    f"another file of {name!r}; give the family one order."
                )
    return {name: out.get(name, DEFAULT_ORDER) for name in _family_files()}


def families_for(layout: str) -> tuple[str, ...]:
    """The families whose search spaces fit ``layout``, in plan and report order.

    Example:
        >>> families_for("image")
        ('cnn2d', 'resnet_small', 'mlp')
    """
    order = family_order()
    fits = [name for name, layouts in family_layouts().items() if layout in layouts]
    return tuple(sorted(fits, key=lambda name: (order[name], name)))


def _family_folder(name: str) -> Path:
    """The folder that holds the family's TOML files (the shipped one when it has none)."""
    paths = _family_files().get(name)
    return paths[0].parent if paths else space_dir()


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
        if not p.exists():
            raise UsageError(f"Search-space file {p} does not exist; check the --space path.")
        if not p.is_file():
            raise UsageError(
                f"Search-space file {p} is not a regular file (a folder, pipe or device); "
                "pass a TOML file to --space."
            )
        return _parse(p, p.stem)
    folder = space_dir() if name == SHARED else _family_folder(name)
    specific = folder / f"{name}.{layout}.toml"
    if layout is not None and specific.is_file():
        return _parse(specific, name)
    p = folder / f"{name}.toml"
    if not p.is_file():
        known = sorted(
            f.stem
            for d in (space_dir(), *extra_family_dirs())
            for f in d.glob("*.toml")
            if f.stem != SHARED and "." not in f.stem
        )
        raise UsageError(
            f"No search space for family {name!r}; known families: {', '.join(known)}."
        )
    return _parse(p, name)


def load_shared_space() -> Space:
    """The optimiser and schedule parameters every family includes."""
    return load_space(SHARED)
