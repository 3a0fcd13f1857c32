"""Stage 2 — profile: decide from evidence what the table holds.

The decision rests on two signals: column names, and the correlation structure
between columns. In an image a value correlates with its horizontal neighbour
(offset 1) *and* its vertical neighbour (offset W) far more than with a random
column; in a sequence correlation is high at offset 1 and decays with lag; in a
table neighbours are no closer than random pairs. Every threshold is a named
constant and is copied into the profile's evidence so the report can explain it.

Input forms recognised, in the order they are tried (``Profile.form``):

* ``long`` — an id column, an order/time column and value columns, one label per id
  → layout ``series_padded``; found from structure by :mod:`archselect._longformat` (ids in
  runs or groups with one label each, a step column that restarts and increases within
  them or rows smooth in file order), names only raising the prior; a close call between
  long format and a table lowers the confidence and names ``--id-col`` / ``--layout``;
* text and datetime forecasting — the dispatch point :func:`_special_layouts`:
  a free-text column → ``text`` (tokenizer and length chosen here, vocabulary in
  prepare); a date/time column and a numeric target → ``forecast`` (frequency, gaps,
  season, window and horizon chosen here, with the helpers of ``_text``/``_forecast``);
* ``image_paths`` — a column of PNG/JPEG paths relative to the CSV → ``image``;
* ``wide_pixels`` — grayscale ``H×W`` or colour ``H×W×3`` columns, channels interleaved
  (``r,g,b`` per pixel) or planar (one block per channel) → ``image``;
* ``wide_groups`` — prefix groups ``x_0..x_T, y_0..y_T`` → ``series`` with C channels;
* ``wide_series`` — ordered time-step columns → ``series`` with one channel;
* ``table`` — none of the above.

The package splits the profiler by concern: ``_constants`` (thresholds), ``_target``,
``_evidence`` (correlation structure and names), one module per layout detector
(``_wide``, ``_long``, ``_images``, ``_free_text``, ``_forecasting``, ``_table``) and
``_main`` (:func:`profile_table`).
"""

from __future__ import annotations

from archselect._longformat import ID_NAMES, LONG_THRESHOLDS, TIME_NAMES, order_values
from archselect.core.data import Profile
from archselect.profile._constants import (
    COLOUR_MIN_INTERLEAVE,
    IMAGE_EXTENSIONS,
    IMAGE_MIN_BUMP,
    IMAGE_MIN_GAIN,
    IMAGE_MIN_WRAP_DROP,
    IMAGE_PATH_MIN_FRACTION,
    IMAGE_SAMPLE_FILES,
    LAYOUT_MODALITY,
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
from archselect.profile._evidence import structure_evidence
from archselect.profile._images import open_image, parse_shape, resolve_image_path
from archselect.profile._main import profile_frame, profile_table

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
    "open_image",
    "order_values",
    "parse_shape",
    "profile_frame",
    "profile_table",
    "resolve_image_path",
    "structure_evidence",
]
