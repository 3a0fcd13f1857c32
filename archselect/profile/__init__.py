"""Stage 2 — profile: decide from evidence what the table holds.

The decision rests on two signals: column names, and the correlation structure
between columns. In an image a value correlates with its horizontal neighbour
(offset 1) *and* its vertical neighbour (offset W) far more than with a random
column; in a sequence correlation is high at offset 1 and decays with lag; in a
table neighbours are no closer than random pairs. Every threshold is a named
constant and is copied into the profile's evidence so the report can explain it.

The detectors live with their layouts in :mod:`archselect.layouts` (one module per layout)
and run in the one order it declares (:data:`archselect.layouts.DETECTION_ORDER`): several
dated series, long format, free text, one dated series, image paths, the user's forced
image/series, wide columns (image or series from the correlation structure), table. Each
returns the layout's typed spec (:mod:`archselect.core.specs`), kept on the profile for the
stages that follow; the evidence is what the report shows.

The package keeps the orchestration: ``_target`` (the target and the task) and ``_main``
(:func:`profile_table`: the user's overrides, the evidence, the declared order, the
Profile). The thresholds are re-exported here from :mod:`archselect.layouts.constants`.
"""

from __future__ import annotations

from archselect.core.data import Profile
from archselect.core.kinds import LAYOUT_MODALITY
from archselect.layouts import structure_evidence
from archselect.layouts.constants import (
    COLOUR_MIN_INTERLEAVE,
    IMAGE_EXTENSIONS,
    IMAGE_MIN_BUMP,
    IMAGE_MIN_GAIN,
    IMAGE_MIN_WRAP_DROP,
    IMAGE_PATH_MIN_FRACTION,
    IMAGE_SAMPLE_FILES,
    LAYOUTS,
    MAX_ASPECT,
    MAX_CATEGORIES,
    MAX_CLASS_FRACTION,
    MAX_IMAGE_SIDE,
    MAX_INT_CLASSES,
    MAX_MISSING_FRACTION,
    MIN_GROUP_STEPS,
    MIN_IMAGE_SIDE,
    MIN_NAMED_SERIES_COLUMNS,
    MIN_ROWS,
    MIN_ROWS_PER_CLASS_CODE,
    MIN_WIDE_COLUMNS,
    MODALITIES,
    N_COLOUR_CHANNELS,
    NUMERIC_TEXT_FRACTION,
    PAIR_CHUNK,
    RANDOM_PAIRS,
    SAMPLE_ROWS,
    SEQ_MIN_DECAY,
    SEQ_MIN_GAIN,
    SEQ_MIN_RELATIVE_GAIN,
    TARGET_NAMES,
    TASKS,
    TEXT_MIN_DISTINCT_FRACTION,
    TEXT_MIN_MEAN_CHARS,
    TEXT_MIN_MEAN_WORDS,
    TEXT_MIN_NON_ASCII,
    THRESHOLDS,
)
from archselect.layouts.image import open_image, parse_shape, resolve_image_path
from archselect.layouts.long import ID_NAMES, LONG_THRESHOLDS, TIME_NAMES, order_values
from archselect.profile._main import profile_frame, profile_table
from archselect.profile._preview import data_preview

#: The profiler's API (the first group) and its named constants, kept importable here.
__all__ = [
    "COLOUR_MIN_INTERLEAVE",
    "ID_NAMES",
    "IMAGE_EXTENSIONS",
    "IMAGE_MIN_BUMP",
    "IMAGE_MIN_GAIN",
    "IMAGE_MIN_WRAP_DROP",
    "IMAGE_PATH_MIN_FRACTION",
    "IMAGE_SAMPLE_FILES",
    "LAYOUTS",
    "LAYOUT_MODALITY",
    "LONG_THRESHOLDS",
    "MAX_ASPECT",
    "MAX_CATEGORIES",
    "MAX_CLASS_FRACTION",
    "MAX_IMAGE_SIDE",
    "MAX_INT_CLASSES",
    "MAX_MISSING_FRACTION",
    "MIN_GROUP_STEPS",
    "MIN_IMAGE_SIDE",
    "MIN_NAMED_SERIES_COLUMNS",
    "MIN_ROWS",
    "MIN_ROWS_PER_CLASS_CODE",
    "MIN_WIDE_COLUMNS",
    "MODALITIES",
    "NUMERIC_TEXT_FRACTION",
    "N_COLOUR_CHANNELS",
    "PAIR_CHUNK",
    "RANDOM_PAIRS",
    "SAMPLE_ROWS",
    "SEQ_MIN_DECAY",
    "SEQ_MIN_GAIN",
    "SEQ_MIN_RELATIVE_GAIN",
    "TARGET_NAMES",
    "TASKS",
    "TEXT_MIN_DISTINCT_FRACTION",
    "TEXT_MIN_MEAN_CHARS",
    "TEXT_MIN_MEAN_WORDS",
    "TEXT_MIN_NON_ASCII",
    "THRESHOLDS",
    "TIME_NAMES",
    "Profile",
    "data_preview",
    "open_image",
    "order_values",
    "parse_shape",
    "profile_frame",
    "profile_table",
    "resolve_image_path",
    "structure_evidence",
]
