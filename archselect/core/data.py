"""What the data is: the source's facts (stage 1) and the profile (stage 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archselect._common.serde import JsonRecord
from archselect.core.kinds import layout_traits
from archselect.core.specs import ForecastSpec, LayoutSpec

__all__ = ["Profile", "SourceFacts"]


@dataclass(frozen=True)
class SourceFacts(JsonRecord):
    """Where the data came from and what it looked like on arrival."""

    path: str | None
    sha256: str
    n_rows: int
    n_columns: int
    columns: tuple[str, ...]
    dtypes: tuple[str, ...]
    separator: str = ","
    encoding: str = "utf-8"
    size_bytes: int = 0
    notes: tuple[str, ...] = ()
    #: How the data arrived: ``csv``, ``csv.gz`` (and ``.bz2``, ``.xz``, ``.zip``),
    #: ``parquet``, ``feather`` or ``dataframe`` (older runs recorded none: ``csv``).
    format: str = "csv"


@dataclass(frozen=True)
class Profile(JsonRecord):
    """What the data is, how it will reach the models, and why.

    Attributes:
        modality: ``spatial``, ``sequential`` or ``tabular``.
        layout: The tensor layout the models get (a :class:`~archselect.core.kinds.LayoutName`:
            ``image``, ``series``, ``series_padded``, ``table``, ``text``, ``forecast``).
        task: ``classification`` or ``regression``.
        target: Name of the target column.
        target_rule: Which rule chose the target.
        feature_columns: Columns that feed the model, in model order (colour pixels
            interleaved ``r,g,b`` per pixel; series channel groups one after another;
            long format: the value columns, one channel each; image paths: the path column).
        categorical_columns: Feature columns one-hot encoded (tabular only).
        input_shape: Shape of one prepared sample: ``(C, H, W)``, ``(T, C)``, ``(T, C+1)``
            (padded series, last channel the mask) or ``(F,)``.
        classes: Class labels as strings (empty for regression).
        n_rows: Samples with a target (rows, or ids in long format).
        confidence: 0.5 (a guess) … 1.0 (certain) for the modality decision.
        decision: The rule that decided the modality, in words.
        evidence: Every number and threshold behind the decision.
        notes: Things done to the data that the user should know.
        dropped_columns: Columns left out, with the reason in ``notes``.
        form: How the data arrived: ``wide_pixels``, ``image_paths``, ``wide_series``,
            ``wide_groups``, ``long``, ``text``, ``dated_series``, ``dated_long`` or ``table``
            (a :class:`~archselect.core.kinds.Form`).
        id_column: Long format: the column naming each sequence.
        time_column: Long format: the column ordering the steps (None: file order).
        spec: The layout's typed spec (:mod:`archselect.core.specs`), what the stages after
            the profile read; None in a profile.json written before it existed.
        readings: Empty when the profile is sure; else the reading it prefers, then the
            other one it could not rule out (layout names, e.g. ``("table", "series")``):
            the plan searches the families and references of both, under ``layout`` (the
            reading whose tensors both can use), and ``decision`` says why.
    """

    modality: str
    layout: str
    task: str
    target: str
    target_rule: str
    feature_columns: tuple[str, ...]
    input_shape: tuple[int, ...]
    classes: tuple[str, ...] = ()
    categorical_columns: tuple[str, ...] = ()
    n_rows: int = 0
    confidence: float = 1.0
    decision: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    dropped_columns: tuple[str, ...] = ()
    source: SourceFacts | None = None
    form: str = "table"
    id_column: str | None = None
    time_column: str | None = None
    spec: LayoutSpec | None = None
    readings: tuple[str, ...] = ()

    @property
    def n_outputs(self) -> int:
        """Width of the model's output layer (the horizon, for a forecast)."""
        if isinstance(self.spec, ForecastSpec):
            return self.spec.horizon
        if layout_traits(self.layout).forecast:  # a profile.json from before the spec
            return int(self.evidence["forecast"]["horizon"])
        return len(self.classes) if self.task == "classification" else 1
