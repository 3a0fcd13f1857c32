"""The options of a ``fit``: one frozen, validated value shared by every face.

``archselect.fit(data, **options)``, ``archselect fit DATA --flags`` and the scikit-learn
estimators all build their :class:`FitOptions` with :meth:`FitOptions.of`, so every
check runs once, in one place, before anything heavy is imported. A message names an
option the way its caller wrote it: the command line prints ``--study``, a Python caller
reads ``study_name=`` (:func:`for_python` turns one spelling into the other).

Example:
    >>> FitOptions.of(trials=4, families="cnn1d, lstm").families
    ('cnn1d', 'lstm')
    >>> FitOptions.of(trials=0)
    Traceback (most recent call last):
    ...
    archselect.errors.UsageError: --trials must be a positive number of trials, not 0.
    >>> for_python("--trials must be a positive number of trials, not 0.")
    'trials must be a positive number of trials, not 0.'
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archselect.errors import UsageError

__all__ = [
    "MAX_SEED",
    "MAX_STUDY_NAME",
    "STUDY_NAME",
    "FitOptions",
    "check_study_name",
    "flag_of",
    "for_python",
]

#: Seeds feed numpy, scikit-learn and torch, which all accept 0 … 2**32 - 1.
MAX_SEED = 2**32 - 1
#: Longest study name Optuna's storages hold (its ``studies.study_name`` column).
MAX_STUDY_NAME = 512
#: The study's name when none is given.
STUDY_NAME = "archselect"
#: Options whose command-line flag is not ``--`` + the keyword with dashes.
_FLAGS = {"study_name": "--study", "spaces": "--space"}
#: Flags that are switches: a Python caller passes ``True`` (or ``False`` for ``--no-…``).
_SWITCHES = {"--force": "force=True", "--no-pruning": "pruning=False", "--pruning": "pruning=True"}


def flag_of(option: str) -> str:
    """The command-line flag of the keyword ``option`` (``study_name`` → ``--study``)."""
    return _FLAGS.get(option, "--" + option.replace("_", "-"))


#: Every flag of fit's options, and the keyword it stands for.
_KEYWORDS: dict[str, str] = {}
_FLAG = re.compile(r"--([a-z][a-z-]*)(?: (?=['\"\d.-]))?")


def for_python(message: str) -> str:
    """``message`` with each flag of a ``fit`` option spelt as the keyword a Python caller
    passes: ``--id-col`` → ``id_col``, ``--timeout '0s'`` → ``timeout='0s'``, ``--force`` →
    ``force=True``. Other text (and unknown flags) stays as it is.

    Example:
        >>> for_python("pass --force, or --id-col with --shape 28x28")
        'pass force=True, or id_col with shape=28x28'
    """

    def keyword(m: re.Match[str]) -> str:
        flag = f"--{m.group(1)}"
        if flag in _SWITCHES:
            return _SWITCHES[flag]
        name = _KEYWORDS.get(flag)
        if name is None:
            return m.group(0)
        return f"{name}=" if m.group(0).endswith(" ") else name

    return _FLAG.sub(keyword, message)


def _split(value: str | tuple[str, ...] | list[str] | None, option: str) -> tuple[str, ...] | None:
    """``"a, b"`` or ``["a", "b"]`` → ``("a", "b")``; None stays None; nothing is refused."""
    if value is None:
        return None
    text = value if isinstance(value, str) else ",".join(map(str, value))
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    if not items:
        raise UsageError(
            f"{flag_of(option)} {text!r} names nothing; write e.g. {flag_of(option)} mlp,lstm."
        )
    return items


def check_study_name(name: str) -> None:
    """Refuse a study name Optuna's storages cannot hold (empty, or too long)."""
    if not name.strip() or len(name) > MAX_STUDY_NAME:
        raise UsageError(
            f"--study must be 1 to {MAX_STUDY_NAME} characters, not {len(name)}; "
            "choose a shorter name."
        )


def _positive(value: int | None, option: str, what: str) -> None:
    if value is not None and (isinstance(value, bool) or value < 1):
        raise UsageError(f"{flag_of(option)} must be {what}, not {value}.")


@dataclass(frozen=True)
class FitOptions:
    """Everything a ``fit`` can be told besides its data (see :func:`archselect.fit`)."""

    target: str | None = None
    out: Path | None = None
    trials: int | None = None
    timeout: float | None = None
    seed: int = 0
    storage: str | None = None
    study_name: str = STUDY_NAME
    families: tuple[str, ...] | None = None
    objectives: tuple[str, ...] | None = None
    pruning: bool = True
    task: str | None = None
    modality: str | None = None
    shape: str | None = None
    layout: str | None = None
    id_col: str | None = None
    time_col: str | None = None
    spaces: tuple[Path, ...] = ()
    force: bool = False
    max_failures: int | None = None
    tokenizer: str | None = None
    horizon: int | None = None
    window: int | None = None
    jobs: int | None = None
    devices: str | None = None
    trials_per_device: int | None = None
    #: The command line as the run directory records it (``archselect.fit(...)`` if None).
    command: str | None = None

    @classmethod
    def of(cls, **options: Any) -> FitOptions:
        """The options from keyword values as a caller writes them (``families="a,b"``, a
        single ``spaces`` path, a numeric ``target``), normalised and checked.

        Raises:
            UsageError: A value no stage could use, named by its flag (see :func:`for_python`).
            TypeError: An option that does not exist.
        """
        for name in ("target", "id_col", "time_col"):
            if options.get(name) is not None:
                options[name] = str(options[name])
        for name in ("families", "objectives"):
            options[name] = _split(options.get(name), name)
        spaces = options.get("spaces", ())
        spaces = (spaces,) if isinstance(spaces, str | Path) else spaces
        options["spaces"] = tuple(Path(p) for p in spaces)
        if options.get("out") is not None:
            options["out"] = Path(options["out"])
        if "study_name" in options:
            options["study_name"] = str(options["study_name"])
        opts = cls(**options)
        opts._check()
        return opts

    def _check(self) -> None:
        _positive(self.trials, "trials", "a positive number of trials")
        if self.timeout is not None and not self.timeout > 0:
            raise UsageError(f"--timeout must be longer than zero, not {self.timeout}.")
        if isinstance(self.seed, bool) or not 0 <= self.seed <= MAX_SEED:
            raise UsageError(f"--seed must be between 0 and {MAX_SEED}, not {self.seed}.")
        _positive(self.max_failures, "max_failures", "at least 1 (leave it out for no limit)")
        _positive(self.jobs, "jobs", "at least 1")
        _positive(self.trials_per_device, "trials_per_device", "at least 1")
        _positive(self.horizon, "horizon", "a positive number of steps")
        _positive(self.window, "window", "a positive number of steps")
        check_study_name(self.study_name)
        if self.devices is not None:
            names = [d.strip() for d in str(self.devices).split(",") if d.strip()]
            if not names or not all(d.isdigit() for d in names):
                raise UsageError(
                    f"--devices {self.devices!r} is not a list of GPU indices; write e.g. "
                    "--devices 0,1."
                )


_KEYWORDS.update({flag_of(f.name): f.name for f in dataclasses.fields(FitOptions)})
