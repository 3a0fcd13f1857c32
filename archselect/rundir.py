"""The run directory: its file names, the guards that protect it, trials.csv, and ``Run``.

``fit`` (:mod:`archselect.run._fit`) writes a run directory; everything that reads one — the
report, ``archselect.load``, ``predict`` — goes through this module, which imports no
torch, Lightning or optuna (the exported model is loaded on first use of ``Run.model``).

Example:
    >>> from archselect.rundir import OWN_FILES, TRIALS
    >>> TRIALS in OWN_FILES
    True
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from archselect._common.faults import write_atomic
from archselect._common.serde import JsonRecord
from archselect._common.version import RUN_FORMAT
from archselect.core.plan import Plan
from archselect.core.records import (
    BASELINE_DESCRIPTIONS,
    BaselineResult,
    SearchResult,
    TrialRecord,
)
from archselect.core.stored import RunProfile, RunRecommendation
from archselect.errors import RunDirError, UsageError
from archselect.load import Table

__all__ = [
    "MODEL",
    "OWN_FILES",
    "OWN_MODEL_FILES",
    "PLAN",
    "PROFILE",
    "RECOMMENDATION",
    "REPORT",
    "STUDY_DB",
    "TRIALS",
    "TRIAL_COLUMNS",
    "VIRTUAL_FILESYSTEMS",
    "WORK",
    "RunDir",
    "RunInfo",
    "RunPlan",
    "check_output_file",
    "check_run_dir",
    "default_run_dir",
    "read_trials_csv",
    "write_trials_csv",
]

PROFILE = "profile.json"
PLAN = "plan.json"
TRIALS = "trials.csv"
RECOMMENDATION = "recommendation.json"
REPORT = "report.html"
MODEL = "model"
STUDY_DB = "study.db"
#: The run's work folder: the prepared arrays every local trial process memory-maps, and
#: each family's best trial's weights; removed when the run ends.
WORK = ".work"
#: Files archselect writes into a run directory; ``--force`` removes only these.
OWN_FILES = (
    PROFILE,
    PLAN,
    TRIALS,
    RECOMMENDATION,
    REPORT,
    STUDY_DB,
    STUDY_DB + "-wal",
    STUDY_DB + "-shm",
    STUDY_DB + "-journal",
)
OWN_MODEL_FILES = (
    "weights.pt",
    "config.json",
    "preprocessing.json",
    "model.onnx",
    "baseline.skops",
)


@dataclass(frozen=True)
class RunInfo(JsonRecord):
    """How the run was made: enough to reproduce it."""

    format_version: int
    archselect_version: str
    command: str
    seed: int
    storage: str
    study_name: str
    data_path: str | None
    data_sha256: str
    data_size_bytes: int
    versions: dict[str, str] = field(default_factory=dict)
    started: str = ""
    #: The machine: CPU model, GPU model (empty when no GPU is used) and the number of
    #: processes that ran trials (1: in this process).
    cpu_model: str = ""
    gpu_model: str = ""
    processes: int | None = None


# --- trials.csv -------------------------------------------------------------------------------

TRIAL_COLUMNS = (
    "kind",
    "number",
    "family",
    "state",
    "val_metric",
    "test_metric",
    "train_metric",
    "gap",
    "train_time_s",
    "epochs",
    "best_epoch",
    "cv_folds",
    "n_params",
    "peak_memory_mb",
    "latency_b1_ms",
    "latency_b256_ms",
    "device",
    "duration_s",
    "completed_unix",
    "threads",
    "sec_per_epoch_row",
    "cpu_sec_per_epoch_row",
    "share_s",
    "core_s",
    "overhead_s",
    "resolution",
    "seq_len",
    "latency_len1x_ms",
    "latency_len2x_ms",
    "latency_len4x_ms",
    "error",
    "note",
    "params",
    "history_val",
    "history_train",
    "extra_metrics",
)


def write_trials_csv(result: SearchResult, path: Path) -> None:
    """One row per trial, then one per baseline (``kind`` = ``baseline``).

    Columns: ``kind`` (``trial`` or ``baseline``: a non-deep reference, never a
    candidate), the :class:`TrialRecord` measurements, ``seq_len`` and
    ``latency_len{1,2,4}x_ms`` (sequence data, each family's best trial: batch-1 latency
    per sample at lengths T, 2T, 4T), ``note`` (baselines: what the reference is, or why it
    was skipped; trials: why one stopped early, e.g. at the ``--timeout`` deadline),
    ``params``, ``history_val`` and ``history_train`` (JSON: validation and training score
    per epoch). Per-family best-score-versus-trials follows from
    ``number``, ``family``, ``state`` and ``val_metric``. ``cv_folds``: on small data the
    validation figures are out-of-fold over that many folds.
    """
    write_atomic(path, lambda tmp: _write_trial_rows(result, tmp))


def _write_trial_rows(result: SearchResult, tmp: Path) -> None:
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=TRIAL_COLUMNS)
        writer.writeheader()
        for t in result.trials:
            row = {k: getattr(t, k, None) for k in TRIAL_COLUMNS if hasattr(t, k)}
            row.update(
                kind="trial",
                params=json.dumps(t.params),
                history_val=json.dumps(list(t.history_val)),
                history_train=json.dumps(list(t.history_train)),
                extra_metrics=json.dumps(t.extra_metrics),
            )
            writer.writerow(row)
        for b in result.baselines:
            writer.writerow(
                {
                    "kind": "baseline",
                    "family": b.name,
                    "state": b.state,
                    "note": _baseline_note(b),
                    "val_metric": b.val_metric,
                    "test_metric": b.test_metric,
                    "train_time_s": b.train_time_s,
                    "latency_b256_ms": b.latency_b256_ms,
                    "error": b.error,
                    "params": "{}",
                    "history_val": "[]",
                    "history_train": "[]",
                    "extra_metrics": json.dumps(b.extra_metrics),
                }
            )


def _baseline_note(b: BaselineResult) -> str:
    """A reference's ``note`` column: why it was skipped, or what it is (and, after ``; ``,
    what was cut to fit the budget: rows, kernels, a deadline)."""
    if b.state == "SKIPPED" or not b.note:
        return b.note or b.description
    return f"{b.description}; {b.note}"


def _read_baseline_note(name: str, state: str, text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    if state == "SKIPPED":
        return text
    described = BASELINE_DESCRIPTIONS.get(name, name) + "; "
    return text[len(described) :] if text.startswith(described) else None


def read_trials_csv(path: Path, *, metric: str, direction: str) -> SearchResult:
    """Rebuild the :class:`SearchResult` from ``trials.csv`` (no database needed)."""
    frame = pd.read_csv(
        path,
        dtype={"error": "string", "device": "string", "note": "string"},
        keep_default_na=True,
        # every float back exactly as written (pandas 3.0's default parser can be 1 ulp off)
        float_precision="round_trip",
    )
    trials, baselines = [], []

    def val(row: pd.Series, key: str) -> Any:
        v = row.get(key)
        return None if v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v) else v

    def extra(row: pd.Series) -> dict[str, float]:
        text = val(row, "extra_metrics")
        return dict(json.loads(text)) if isinstance(text, str) else {}

    for _, row in frame.iterrows():
        if row["kind"] == "baseline":
            baselines.append(
                BaselineResult(
                    name=str(row["family"]),
                    val_metric=val(row, "val_metric"),
                    test_metric=val(row, "test_metric"),
                    train_time_s=float(row["train_time_s"]),
                    latency_b256_ms=val(row, "latency_b256_ms"),
                    error=val(row, "error"),
                    note=_read_baseline_note(
                        str(row["family"]), str(row["state"]), val(row, "note")
                    ),
                    extra_metrics=extra(row),
                )
            )
            continue
        data = {
            k: val(row, k)
            for k in TRIAL_COLUMNS
            if k not in ("kind", "params", "history_val", "history_train", "extra_metrics")
        }
        data["extra_metrics"] = extra(row)
        data["params"] = json.loads(row["params"])
        data["history_val"] = json.loads(row["history_val"])
        # runs from before the training curve was recorded have no such column
        train_curve = val(row, "history_train")
        data["history_train"] = json.loads(train_curve) if isinstance(train_curve, str) else []
        data = {k: v.item() if hasattr(v, "item") else v for k, v in data.items()}
        for k in (
            "epochs",
            "best_epoch",
            "cv_folds",
            "n_params",
            "seq_len",
            "threads",
            "resolution",
        ):
            if data.get(k) is not None:
                data[k] = int(data[k])
        data["number"], data["family"], data["state"] = (
            int(row["number"]),
            str(row["family"]),
            str(row["state"]),
        )
        trials.append(TrialRecord.from_dict(data))
    return SearchResult(
        study_name="",
        storage="",
        metric=metric,
        direction=direction,
        trials=tuple(trials),
        baselines=tuple(baselines),
    )


# --- the run directory -----------------------------------------------------------------------


#: Compression endings a data file's name loses in its default run directory's name.
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zip")


#: Kernel file systems (top-level folders) no output may be written into.
VIRTUAL_FILESYSTEMS = ("proc", "sys", "dev")


def _run_file(output: Path, run_dir: Path) -> str | None:
    """The file of the run in ``run_dir`` that writing ``output`` would replace (its name
    inside the run), if any: one of :data:`OWN_FILES`, anything under ``model/``, or a hard
    link to one of them."""
    root = run_dir.resolve()
    target = output.resolve()  # a symbolic link is followed to what it would overwrite
    if target.parent == root and target.name in OWN_FILES:
        return target.name
    if target.is_relative_to(root / MODEL):
        return target.relative_to(root).as_posix()
    if target.is_file():
        own = [root / name for name in OWN_FILES]
        if (root / MODEL).is_dir():
            own += [p for p in (root / MODEL).rglob("*")]
        for path in own:
            if path.is_file() and os.path.samefile(target, path):
                return path.relative_to(root).as_posix()
    return None


def check_output_file(
    output: Path,
    option: str,
    *,
    input_path: Path | None = None,
    run_dir: Path | None = None,
    may_replace: tuple[str, ...] = (),
) -> None:
    """Refuse an output path that cannot take a new file, the input data, or one of the
    files of the run in ``run_dir`` (except those named in ``may_replace``, e.g.
    ``model/model.onnx`` for ``export``).

    Raises:
        UsageError: ``output`` is a folder, not a regular file, the input itself or a file
            of the run (a hard or symbolic link included), or its folder is missing or not
            writable.
    """
    if output.is_dir():
        raise UsageError(f"{option} {output} is a directory; give a file name inside it.")
    if (
        input_path is not None
        and output.exists()
        and input_path.exists()
        and os.path.samefile(output, input_path)
    ):
        raise UsageError(f"{option} {output} would overwrite the input data; choose another file.")
    own = _run_file(output, run_dir) if run_dir is not None and run_dir.is_dir() else None
    if own is not None and own not in may_replace:
        raise UsageError(
            f"{option} {output} would overwrite {own}, one of the files of the run in "
            f"{run_dir}; choose another file name."
        )
    if output.exists() and not output.is_file():
        raise UsageError(f"{option} {output} is not a regular file; choose a file to write.")
    folder = output.parent
    if not folder.is_dir():
        raise UsageError(
            f"{option} {output}: the folder {folder} does not exist; create it or choose "
            "another path."
        )
    virtual = output.resolve().parts[1:2] in [(top,) for top in VIRTUAL_FILESYSTEMS]
    if virtual or not os.access(folder, os.W_OK):
        raise UsageError(
            f"{option} {output}: the folder {folder} is not writable; choose another path."
        )


def default_run_dir(table: Table) -> Path:
    """``runs/<data file name>`` without its ending, and without a compression ending first
    (``sales.csv.gz`` → ``runs/sales``, as ``sales.csv``)."""
    if not table.facts.path:
        return Path("runs") / "frame"
    name = Path(table.facts.path)
    if name.suffix.lower() in _COMPRESSED_SUFFIXES and Path(name.stem).suffix:
        name = Path(name.stem)
    return Path("runs") / name.stem


def _check_writable_dir(run_dir: Path) -> None:
    """``--out`` must be (or be creatable in) a writable folder of a real file system."""
    resolved = run_dir.resolve()
    if resolved.parts[1:2] in [(top,) for top in VIRTUAL_FILESYSTEMS]:
        raise UsageError(f"--out {run_dir} is inside a kernel file system; choose a real folder.")
    existing = next(p for p in (resolved, *resolved.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(
            f"--out {run_dir} cannot be written: {existing} is not a writable folder; choose "
            "another --out."
        )


def _check_own_files(run_dir: Path) -> None:
    """archselect's own names in a run directory must be regular files (or absent)."""
    names = [*OWN_FILES, *(f"{MODEL}/{n}" for n in OWN_MODEL_FILES)]
    for name in names:
        path = run_dir / name
        if path.exists() and not path.is_file():
            raise RunDirError(
                f"{path} is not a regular file (a folder?), but archselect writes its {name} "
                "there; move it away and rerun."
            )


def guard_run_dir(run_dir: Path, table: Table, force: bool) -> None:
    """Refuse a directory holding another data set's run (or foreign files) unless forced."""
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"--out {run_dir} is a file; give a directory for the run.")
    _check_writable_dir(run_dir)
    if not run_dir.exists():
        return
    _check_own_files(run_dir)
    profile_path = run_dir / PROFILE
    if profile_path.exists():
        try:
            old = json.loads(profile_path.read_text(encoding="utf-8"))
            source = old.get("source") if isinstance(old, dict) else None
            old_sha = source.get("sha256") if isinstance(source, dict) else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            old_sha = None
        if old_sha == table.facts.sha256:
            _check_format(run_dir)
            return
        if not force:
            raise UsageError(
                f"{run_dir} holds a run on different data; choose another --out or pass --force "
                "to replace that run."
            )
    elif any(run_dir.iterdir()) and not force:
        raise UsageError(
            f"{run_dir} is not empty and holds no archselect run; choose another --out or pass "
            "--force (only archselect's own files are ever removed)."
        )
    if force:
        remove_own_files(run_dir)


def remove_own_files(run_dir: Path) -> None:
    """Remove archselect's own files from ``run_dir`` (nothing else)."""
    for name in OWN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    shutil.rmtree(run_dir / WORK, ignore_errors=True)
    for name in OWN_MODEL_FILES:
        (run_dir / MODEL / name).unlink(missing_ok=True)
    if (run_dir / MODEL).is_dir() and not any((run_dir / MODEL).iterdir()):
        (run_dir / MODEL).rmdir()


def _check_format(run_dir: Path) -> None:
    plan_path = run_dir / PLAN
    if not plan_path.exists():
        return
    damaged = f"{plan_path} is damaged ({{}}); rerun fit with --force."
    try:
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise RunDirError(damaged.format(_why(exc))) from exc
    run = plan.get("run") if isinstance(plan, dict) else None
    if not isinstance(run, dict):
        raise RunDirError(damaged.format("no 'run' record"))
    fmt = run.get("format_version", 1)
    if isinstance(fmt, bool) or not isinstance(fmt, int | float) or not math.isfinite(fmt):
        raise RunDirError(damaged.format(f"format_version {fmt!r} is not a number"))
    if fmt > RUN_FORMAT:
        raise RunDirError(
            f"{run_dir} was written by a newer archselect (run format {fmt} > {RUN_FORMAT}); "
            "upgrade archselect to use it."
        )


@dataclass(frozen=True)
class RunPlan(Plan):
    """The plan as stored in ``plan.json``: the stage's plan plus how the run was made."""

    run: RunInfo | None = None
    #: The chance level on the rows trials are scored on (validation rows, or the pooled
    #: train + validation rows where trials cross-validate): the majority training class's
    #: accuracy, or the RMSE of predicting the training mean (see
    #: :func:`archselect.search.chance_level`); also ``SearchResult.chance_metric``.
    chance_metric: float | None = None


#: Longest reason quoted from a parse error in a "damaged file" message.
MAX_REASON_CHARS = 120


def _why(exc: Exception) -> str:
    """A parse error in a few words: missing fields named plainly, else its first line."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, TypeError) and "required" in text:
        return "fields missing: " + text.split(":", 1)[-1].strip()[:MAX_REASON_CHARS]
    return text[:MAX_REASON_CHARS]


class RunDir:
    """The files of a finished (or interrupted) run, read on first use.

    :class:`archselect.Run` (what ``fit`` returns and ``archselect.load`` opens) adds the
    exported model, ``predict`` and the notebook view on top of this reader.

    Example:
        >>> RunDir("runs/digits").plan.family_names  # doctest: +SKIP
        ('cnn2d', 'resnet_small', 'mlp')
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.run_dir)!r})"

    def _read(self, name: str, cls: type[Any]) -> Any:
        path = self.run_dir / name
        if not path.exists():
            raise RunDirError(f"{self.run_dir} has no {name}; is it an archselect run directory?")
        try:
            return cls.read(path)
        except (json.JSONDecodeError, TypeError, KeyError, ValueError, AttributeError) as exc:
            raise RunDirError(f"{path} is damaged ({_why(exc)}); rerun fit with --force.") from exc

    @cached_property
    def profile(self) -> RunProfile:
        return self._read(PROFILE, RunProfile)  # type: ignore[no-any-return]

    @cached_property
    def plan(self) -> RunPlan:
        return self._read(PLAN, RunPlan)  # type: ignore[no-any-return]

    @cached_property
    def recommendation(self) -> RunRecommendation:
        return self._read(RECOMMENDATION, RunRecommendation)  # type: ignore[no-any-return]

    @cached_property
    def search_result(self) -> SearchResult:
        path = self.run_dir / TRIALS
        if not path.exists():
            raise RunDirError(
                f"{self.run_dir} has no {TRIALS}; is it an archselect run directory?"
            )
        try:
            return read_trials_csv(path, metric=self.plan.metric, direction=self.plan.direction)
        except (KeyError, TypeError, ValueError) as exc:  # pandas' parse errors are ValueErrors
            why = _why(exc)
            raise RunDirError(f"{path} is damaged ({why}); rerun fit to rewrite it.") from exc

    @property
    def report_path(self) -> Path:
        return self.run_dir / REPORT


def check_run_dir(run_dir: str | Path) -> Path:
    """Check that ``run_dir`` is an archselect run directory in a format this version reads.

    Raises:
        RunDirError: Not a directory, a newer or damaged format, or a folder where a file
            belongs.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise RunDirError(f"{path} is not a directory; pass the --out directory of a fit.")
    _check_format(path)
    _check_own_files(path)
    return path
