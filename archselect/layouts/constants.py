"""The detectors' named thresholds (copied into every profile's evidence), and the names of
the modalities, tasks and layouts."""

from __future__ import annotations

import re

from archselect.core.kinds import LayoutName, Modality, Task
from archselect.layouts._long_find import LONG_THRESHOLDS

MODALITIES = tuple(str(m) for m in Modality)
TASKS = tuple(str(t) for t in Task)
#: Tensor layouts the models consume (the modality of each: ``core.kinds.LAYOUT_MODALITY``).
LAYOUTS = tuple(str(name) for name in LayoutName)

#: Column names that mark the target, in order of preference (case-insensitive).
TARGET_NAMES = ("label", "target", "class", "y", "labels", "category", "outcome")
#: Rows sampled for the correlation statistics, so profiling cost does not grow with N.
SAMPLE_ROWS = 2000
#: Random column pairs drawn for the baseline correlation, evaluated this many at a time.
RANDOM_PAIRS = 2000
PAIR_CHUNK = 128
#: Fewest feature columns for a wide image or sequence …
MIN_WIDE_COLUMNS = 16
#: … or for a sequence whose headers are ordered numbers (``h01..h12``) or dates.
MIN_NAMED_SERIES_COLUMNS = 8
#: Fewest steps in each prefix group of a wide multivariate series.
MIN_GROUP_STEPS = 4
#: Smallest image side considered, and the largest aspect ratio.
MIN_IMAGE_SIDE = 4
MAX_ASPECT = 4.0
#: Image: offset-1 and offset-W correlation must each exceed random pairs by this much …
IMAGE_MIN_GAIN = 0.15
#: … and offset W must beat offset W/2 by this much (a vertical neighbour, not a decay).
IMAGE_MIN_BUMP = 0.10
#: … and offset-1 pairs inside a row must correlate more than pairs that wrap from one row's
#: end to the next row's start (in a sequence those are ordinary neighbours).
IMAGE_MIN_WRAP_DROP = 0.10
#: Colour, interleaved: the same channel one pixel on (lag 3) must correlate more than the
#: mean of lags 2 and 4 (other channels) by this much; smooth grayscale decays instead.
COLOUR_MIN_INTERLEAVE = 0.05
#: Colour, planar: the same pixel in the next channel block (lag H*W) must beat random pairs
#: by IMAGE_MIN_GAIN and lag H*W/2 by IMAGE_MIN_BUMP, or vertical neighbours must correlate
#: less (by IMAGE_MIN_WRAP_DROP) across the seams between channel blocks than inside them.
N_COLOUR_CHANNELS = 3
#: Sequence: offset-1 correlation must exceed random pairs by this much …
SEQ_MIN_GAIN = 0.20
#: … (or close this share of the gap between random pairs and 1: strongly trending series) …
SEQ_MIN_RELATIVE_GAIN = 0.5
#: … and must exceed the smallest correlation at longer lags by this much (a decay; the
#: minimum, not the far lag, so periodic series count).
SEQ_MIN_DECAY = 0.05
#: Offset-dominated curves (spectra, growth and dose-response curves): when random column
#: pairs correlate (signed) at least this much, a per-row offset dominates every column, and
#: the sequence test is repeated on each row's deviations from its own mean (the ``row``
#: view); the ``diff`` view (first differences, signed gain only) is always measured.
OFFSET_MIN_CORR = 0.5
#: A wide table read with a confidence below this (its deciding margin within about 0.05 of
#: its threshold) is searched under both readings: the decided one and the closest other
#: (table or sequence; table or image), each with its own families and references.
READINGS_MIN_CONFIDENCE = 0.75
#: Periodic sequence (neighbours need not correlate: a mains signal sampled four times a
#: cycle): the strongest lag from 2 to SEQ_MAX_PERIOD, and twice that lag, must each exceed
#: random pairs by SEQ_MIN_PERIODIC_GAIN (images, decided first, are not affected).
SEQ_MAX_PERIOD = 8
SEQ_MIN_PERIODIC_GAIN = 0.40
#: Integer targets with at most this many distinct values are classes.
MAX_INT_CLASSES = 50
#: Fraction of rows above which distinct integer values make a target a regression target …
MAX_CLASS_FRACTION = 0.05
#: … unless the values are class codes, exactly 0…K-1 or 1…K, with at least this many rows per
#: code on average (small labelled sets: 36 rows of classes 0, 1, 2 are classes, not values).
MIN_ROWS_PER_CLASS_CODE = 3
#: Non-numeric feature columns with at most this many values are one-hot encoded.
MAX_CATEGORIES = 50
#: Refuse a feature column with a larger fraction of missing or non-finite values (fewer are
#: imputed with the training median, with a note).
MAX_MISSING_FRACTION = 0.5
#: Standard deviations below this are treated as constant (scale 1).
MIN_STD = 1e-8
#: A text column whose non-empty values parse as numbers in at least this fraction of rows
#: is a numeric column with typos: it is refused, naming the first bad cell.
NUMERIC_TEXT_FRACTION = 0.9
#: Fewest rows with a target that can be split into train, validation and test.
MIN_ROWS = 10
#: Image paths: at least this fraction of a text column's values end in an image extension.
IMAGE_PATH_MIN_FRACTION = 0.9
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: Image files opened while profiling to choose the common size and channel count.
IMAGE_SAMPLE_FILES = 32
#: Image files are resized to the median sampled size, capped at this side.
MAX_IMAGE_SIDE = 64
#: Free text: a non-numeric column, mostly distinct, with this many words per value on
#: average (a name has 2-4) …
TEXT_MIN_MEAN_WORDS = 5
#: … or, mostly non-ASCII (scripts without spaces), this many characters per value.
TEXT_MIN_NON_ASCII = 0.5
TEXT_MIN_MEAN_CHARS = 20
TEXT_MIN_DISTINCT_FRACTION = 0.5

THRESHOLDS: dict[str, float] = {
    "sample_rows": SAMPLE_ROWS,
    "min_wide_columns": MIN_WIDE_COLUMNS,
    "min_named_series_columns": MIN_NAMED_SERIES_COLUMNS,
    "min_group_steps": MIN_GROUP_STEPS,
    "min_image_side": MIN_IMAGE_SIDE,
    "max_aspect": MAX_ASPECT,
    "image_min_gain": IMAGE_MIN_GAIN,
    "image_min_bump": IMAGE_MIN_BUMP,
    "image_min_wrap_drop": IMAGE_MIN_WRAP_DROP,
    "colour_min_interleave": COLOUR_MIN_INTERLEAVE,
    "seq_min_gain": SEQ_MIN_GAIN,
    "seq_min_relative_gain": SEQ_MIN_RELATIVE_GAIN,
    "seq_min_decay": SEQ_MIN_DECAY,
    "offset_min_corr": OFFSET_MIN_CORR,
    "readings_min_confidence": READINGS_MIN_CONFIDENCE,
    "seq_max_period": SEQ_MAX_PERIOD,
    "seq_min_periodic_gain": SEQ_MIN_PERIODIC_GAIN,
    "max_int_classes": MAX_INT_CLASSES,
    "max_class_fraction": MAX_CLASS_FRACTION,
    "min_rows_per_class_code": MIN_ROWS_PER_CLASS_CODE,
    "max_categories": MAX_CATEGORIES,
    **LONG_THRESHOLDS,
    "image_path_min_fraction": IMAGE_PATH_MIN_FRACTION,
    "max_image_side": MAX_IMAGE_SIDE,
    "text_min_mean_words": TEXT_MIN_MEAN_WORDS,
    "text_min_non_ascii": TEXT_MIN_NON_ASCII,
    "text_min_mean_chars": TEXT_MIN_MEAN_CHARS,
    "text_min_distinct_fraction": TEXT_MIN_DISTINCT_FRACTION,
}

_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_COLOUR_PREFIXES = (("r", "g", "b"), ("red", "green", "blue"))
