"""A labelled corpus of tables for the profiler: real bundled data and adversarial synthetics.

Each case builds a table (a DataFrame, or a CSV path for cases that need files) and states
the modality, layout and input form the profiler must find. Synthetic cases are seeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as skd

from archselect.load import load_table
from archselect.profile import Profile, profile_table

DATASETS = Path(__file__).resolve().parent.parent / "datasets"


_PROFILES: dict[str, Profile] = {}


def profile_case(case: Case, built: pd.DataFrame | Path) -> Profile:
    """The profile of a case's table, computed once per test session (the corpus test and its
    anonymised twin both need it)."""
    if case.name not in _PROFILES:
        _PROFILES[case.name] = profile_table(load_table(built), **dict(case.options))
    return _PROFILES[case.name]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], pd.DataFrame | Path]
    modality: str
    layout: str
    form: str
    input_shape: tuple[int, ...] | None = None
    options: tuple[tuple[str, str], ...] = ()
    #: The profile's two readings when it must be unsure (empty: sure).
    readings: tuple[str, ...] = ()


# --- generators ------------------------------------------------------------------------------


def blob_images(n: int, h: int, w: int, seed: int, channels: int = 1) -> np.ndarray:
    """Smooth images (sums of Gaussian blobs): (n, channels, h, w), channels partly shared."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]

    def field() -> np.ndarray:
        out = np.zeros((n, h, w))
        for _ in range(3):
            cy = rng.uniform(0, h, n)[:, None, None]
            cx = rng.uniform(0, w, n)[:, None, None]
            s = rng.uniform(h / 8, h / 4, n)[:, None, None]
            out += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s**2))
        return out

    shared = field()
    chans = [0.5 * shared + field() if channels > 1 else shared for _ in range(channels)]
    return np.stack(chans, axis=1) + 0.02 * rng.normal(size=(n, channels, h, w))


def image_frame(imgs: np.ndarray, names: list[str], seed: int = 0) -> pd.DataFrame:
    n = len(imgs)
    flat = imgs.reshape(n, -1) if len(names) == imgs[0].size else imgs
    frame = pd.DataFrame(np.round(flat * 100, 2), columns=names)
    frame.insert(
        0, "label", (imgs.reshape(n, -1).mean(axis=1) > np.median(imgs.mean())).astype(int)
    )
    return frame


def smooth_series(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random-walk-smoothed series and a label from their trend."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(size=(n, length)), axis=1)
    kernel = np.ones(5) / 5
    smooth = np.array([np.convolve(r, kernel, mode="same") for r in walk])
    labels = (smooth[:, -1] > smooth[:, 0]).astype(int)
    return smooth, labels


def offset_spectra(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Spectra: three Gaussian bands on a random per-row offset (sd 5) and slope (sd 2 over
    the range), band heights about 1; the target is the middle band's height (a
    concentration). Every column correlates with every other at about 0.99."""
    rng = np.random.default_rng(seed)
    w = np.linspace(0.0, 1.0, length)
    conc = rng.uniform(0.0, 1.0, n)
    heights = np.stack([rng.uniform(0.5, 1.5, n), conc, rng.uniform(0.2, 1.0, n)], axis=1)
    bands = sum(
        heights[:, [k]] * np.exp(-((w - centre) ** 2) / (2 * width**2))
        for k, (centre, width) in enumerate(((0.25, 0.04), (0.5, 0.06), (0.72, 0.03)))
    )
    offset, slope = rng.normal(0, 5, (n, 1)), rng.normal(0, 2, (n, 1))
    values = offset + slope * w + bands + 0.01 * rng.normal(size=(n, length))
    return values, conc


def growth_curves(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Optical density every half hour: a logistic rise of height 0.2-0.5 on a per-row
    baseline (sd 0.8) that dominates every column; two strains growing at different rates."""
    rng = np.random.default_rng(seed)
    hours = np.arange(length) * 0.5
    strain = rng.integers(0, 2, n)
    rate = np.where(strain == 1, 0.9, 0.6)[:, None] * rng.uniform(0.8, 1.2, (n, 1))
    height, midpoint = rng.uniform(0.2, 0.5, (n, 1)), rng.uniform(6, 14, (n, 1))
    baseline = rng.normal(1.0, 0.8, (n, 1))
    rise = height / (1 + np.exp(-rate * (hours - midpoint)))
    return baseline + rise + 0.005 * rng.normal(size=(n, length)), strain


def series_frame(values: np.ndarray, labels: np.ndarray, names: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(np.round(values, 4), columns=names)
    frame["label"] = labels
    return frame


def long_frame(n_ids: int, seed: int, equal: bool = False) -> pd.DataFrame:
    """Long format: id, step, two value columns, one label per id, lengths 20..40."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n_ids):
        length = 30 if equal else int(rng.integers(20, 41))
        lab = int(rng.integers(0, 2))
        t = np.arange(length)
        x = np.sin(t * (0.2 + 0.3 * lab) + rng.uniform(0, 6)) + 0.1 * rng.normal(size=length)
        y = np.cumsum(rng.normal(size=length)) * 0.1 + lab
        parts.append(
            pd.DataFrame(
                {
                    "series_id": f"s{i:03d}",
                    "step": t,
                    "x": x.round(4),
                    "y": y.round(4),
                    "label": lab,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def write_png_folder(root: Path, n: int = 40, size: int = 12, seed: int = 0) -> Path:
    """A CSV of PNG paths (relative to the CSV) with labels; images in root/img/."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "img").mkdir(parents=True, exist_ok=True)
    imgs = blob_images(n, size, size, seed)[:, 0]
    rows = []
    for i, img in enumerate(imgs):
        arr = np.clip(img / img.max() * 255, 0, 255).astype(np.uint8)
        # sizes differ a little: the profiler resizes to a common size
        side = size + int(rng.integers(0, 3))
        Image.fromarray(arr).resize((side, side)).save(root / "img" / f"im{i}.png")
        rows.append(
            {"file": f"img/im{i}.png", "label": int(img[:, : size // 2].sum() > img.sum() / 2)}
        )
    path = root / "images.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


# --- cases -----------------------------------------------------------------------------------


def _sk(loader: Callable[..., object]) -> Callable[[Path], pd.DataFrame]:
    return lambda _tmp: loader(as_frame=True).frame  # type: ignore[attr-defined, no-any-return]


def _csv(name: str) -> Callable[[Path], Path]:
    return lambda _tmp: DATASETS / name


def _permuted_pixels(_tmp: Path) -> pd.DataFrame:
    digits = pd.read_csv(DATASETS / "digits.csv")
    rng = np.random.default_rng(0)
    pixels = digits.drop(columns="label")
    shuffled = pixels.iloc[:, rng.permutation(64)].copy()
    shuffled.columns = [f"c{i}" for i in range(64)]
    shuffled["label"] = digits["label"]
    return shuffled


def _shuffled_series(_tmp: Path) -> pd.DataFrame:
    values, labels = smooth_series(300, 144, 1)
    order = np.random.default_rng(2).permutation(144)
    return series_frame(values[:, order], labels, [f"t{i}" for i in order])


def _unrelated16(_tmp: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 16)), columns=[f"f{i}" for i in range(16)])
    frame["y"] = rng.integers(0, 2, 300)
    return frame


def _smooth144(_tmp: Path) -> pd.DataFrame:
    values, labels = smooth_series(300, 144, 3)
    return series_frame(values, labels, [f"t{i}" for i in range(144)])


def _image12(_tmp: Path) -> pd.DataFrame:
    return image_frame(blob_images(300, 12, 12, 4), [f"p{i}" for i in range(144)])


def _periodic(_tmp: Path) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    t = np.arange(120)
    labels = rng.integers(0, 2, 300)
    phase = rng.uniform(0, 2 * np.pi, (300, 1))
    values = np.sin(2 * np.pi * t / 12 + phase) * (1 + labels[:, None]) + 0.2 * rng.normal(
        size=(300, 120)
    )
    return series_frame(values, labels, [f"m{i}" for i in range(120)])


def _bordered_nan_images(_tmp: Path) -> pd.DataFrame:
    imgs = blob_images(300, 24, 24, 6)[:, 0]
    framed = np.zeros((300, 28, 28))
    framed[:, 2:26, 2:26] = imgs  # constant (blank) border
    flat = framed.reshape(300, -1)
    rng = np.random.default_rng(6)
    flat[rng.integers(0, 300, 40), rng.integers(0, 784, 40)] = np.nan
    frame = pd.DataFrame(np.round(flat * 100, 1), columns=[f"pixel{i}" for i in range(784)])
    frame["label"] = (imgs[:, :, :12].sum(axis=(1, 2)) > imgs.sum(axis=(1, 2)) / 2).astype(int)
    return frame


def _colour_interleaved(_tmp: Path) -> pd.DataFrame:
    imgs = blob_images(300, 16, 16, 7, channels=3)  # (n, 3, h, w)
    flat = imgs.transpose(0, 2, 3, 1).reshape(300, -1)  # r,g,b per pixel
    return image_frame(flat, [f"v{i}" for i in range(768)])


def _colour_planar(_tmp: Path) -> pd.DataFrame:
    imgs = blob_images(300, 16, 16, 8, channels=3)
    return image_frame(imgs.reshape(300, -1), [f"v{i}" for i in range(768)])


def _colour_named(_tmp: Path) -> pd.DataFrame:
    imgs = blob_images(300, 12, 12, 9, channels=3)
    flat = imgs.transpose(0, 2, 3, 1).reshape(300, -1)
    names = [f"{c}_{p}" for p in range(144) for c in "rgb"]
    return image_frame(flat, names)


def _groups(_tmp: Path) -> pd.DataFrame:
    parts, labels = [], None
    for k, prefix in enumerate("xyz"):
        values, lab = smooth_series(300, 30, 10 + k)
        labels = lab if labels is None else labels
        parts.append(pd.DataFrame(values.round(4), columns=[f"{prefix}_{i}" for i in range(30)]))
    frame = pd.concat(parts, axis=1)
    frame["label"] = labels
    return frame


def _dated(_tmp: Path) -> pd.DataFrame:
    values, labels = smooth_series(300, 60, 11)
    days = pd.date_range("2021-01-01", periods=60, freq="D").strftime("%Y-%m-%d")
    return series_frame(values, labels, list(days))


def _hourly(_tmp: Path) -> pd.DataFrame:
    rng = np.random.default_rng(12)
    h = np.arange(24)
    kind = rng.integers(0, 2, 300)
    base = np.where(kind[:, None] == 1, np.sin(np.pi * h / 24), np.cos(np.pi * h / 24) ** 2)
    values = base * rng.uniform(0.5, 2, (300, 1)) + 0.05 * rng.normal(size=(300, 24))
    return series_frame(values, kind, [f"h{i:02d}" for i in range(1, 25)])


def _numbered(_tmp: Path) -> pd.DataFrame:
    values, labels = smooth_series(300, 64, 13)
    return series_frame(values, labels, [str(i) for i in range(64)])


def _anonymous(_tmp: Path) -> pd.DataFrame:
    values, labels = smooth_series(300, 50, 14)
    names = ["".join(np.random.default_rng(i).choice(list("abcdefgh"), 5)) for i in range(50)]
    return series_frame(values, labels, names)


def _short_hours(_tmp: Path) -> pd.DataFrame:
    values, labels = smooth_series(300, 12, 15)
    return series_frame(values, labels, [f"h{i:02d}" for i in range(1, 13)])


def _long(_tmp: Path) -> pd.DataFrame:
    return long_frame(60, 16)


def _long_csv(tmp: Path) -> Path:
    path = tmp / "long.csv"
    long_frame(50, 17).rename(columns={"series_id": "subject", "step": "time"}).to_csv(
        path, index=False
    )
    return path


def _sktime_long(_tmp: Path) -> pd.DataFrame:
    # the layout sktime/aeon call "long": instance, timepoint, dims, class per instance
    frame = long_frame(30, 26, equal=True)
    return frame.rename(
        columns={"series_id": "instance", "step": "timepoint", "x": "dim_0", "y": "dim_1"}
    ).rename(columns={"label": "class_val"})[
        ["instance", "timepoint", "dim_0", "dim_1", "class_val"]
    ]


def _vowels(_tmp: Path) -> pd.DataFrame:
    return vowels_frame()


def _long_interleaved(_tmp: Path) -> pd.DataFrame:
    # rows sorted by step, then id (ids are groups, not runs); no column named like an id
    frame = long_frame(30, 28, equal=True).rename(columns={"series_id": "who", "step": "k"})
    return frame.sort_values(["k", "who"], kind="stable").reset_index(drop=True)


def _names_and_tickets(_tmp: Path) -> pd.DataFrame:
    # Titanic-like: a unique name column is not free text; the table stays tabular
    rng = np.random.default_rng(27)
    n = 200
    first = rng.choice(["Owen", "John", "Mary", "Anna", "Karl", "Lina", "Omar", "Rosa"], n)
    last = rng.choice(["Braund", "Cumings", "Heikkinen", "Futrelle", "Allen", "Moran"], n)
    title = rng.choice(["Mr.", "Mrs.", "Miss.", "Master."], n)
    return pd.DataFrame(
        {
            "name": [
                f"{b}, {t} {a} {i}"
                for i, (a, b, t) in enumerate(zip(first, last, title, strict=True))
            ],
            "ticket": [f"A/{rng.integers(1000, 99999)}" for _ in range(n)],
            "pclass": rng.integers(1, 4, n),
            "sex": rng.choice(["male", "female"], n),
            "fare": rng.gamma(2, 15, n).round(2),
            "survived": rng.integers(0, 2, n),
        }
    )


def _mixed(_tmp: Path) -> pd.DataFrame:
    rng = np.random.default_rng(18)
    n = 200
    return pd.DataFrame(
        {
            "row_id": np.arange(n),
            "code": [f"C{i:04d}" for i in range(n)],
            "age": rng.integers(18, 80, n),
            "city": rng.choice(["north", "south", "east"], n),
            "constant": 1.0,
            "income": rng.normal(50, 10, n),
            "target": rng.integers(0, 2, n),
        }
    )


def _pngs(tmp: Path) -> Path:
    return write_png_folder(tmp / "pngs")


def _image_as_groups(_tmp: Path) -> pd.DataFrame:
    # scikit-learn's own digits frame: pixel_0_0 .. pixel_7_7 look like prefix groups
    return skd.load_digits(as_frame=True).frame


def _spectra(_tmp: Path) -> pd.DataFrame:
    values, conc = offset_spectra(200, 150, 20)
    frame = pd.DataFrame(np.round(values, 4), columns=[f"nm{900 + 4 * i}" for i in range(150)])
    frame["concentration"] = conc.round(4)
    return frame


def _shuffled_spectra(tmp: Path) -> pd.DataFrame:
    frame = _spectra(tmp)
    order = np.random.default_rng(21).permutation(150)
    return frame.iloc[:, [*order, 150]]


def _growth(_tmp: Path) -> pd.DataFrame:
    values, strain = growth_curves(200, 48, 22)
    return series_frame(values, strain, [f"od_{i * 30}min" for i in range(48)])


def _shuffled_growth(tmp: Path) -> pd.DataFrame:
    frame = _growth(tmp)
    order = np.random.default_rng(23).permutation(48)
    return frame.iloc[:, [*order, 48]]


def _digits_three_classes(_tmp: Path) -> pd.DataFrame:
    # issue 33, row 17: with 3 classes the class drives every pixel, so random pairs correlate
    # in absolute value about as much as neighbours (the signed gain tells them apart)
    digits = pd.read_csv(DATASETS / "digits.csv")
    return digits[digits["label"] < 3].groupby("label").head(40).reset_index(drop=True)


def _digits_three_classes_shuffled(tmp: Path) -> pd.DataFrame:
    frame = _digits_three_classes(tmp)
    pixels = [c for c in frame.columns if c != "label"]
    order = np.random.default_rng(24).permutation(len(pixels))
    return frame[["label", *(pixels[i] for i in order)]]


def noisy_series(sigma: float, seed: int = 3) -> pd.DataFrame:
    """Smooth series of 64 steps under white noise of ``sigma`` (the smooth part's steps vary
    by about 1): the more noise, the fainter the order."""
    values, labels = smooth_series(300, 64, seed)
    noise = sigma * np.random.default_rng(seed + 1).normal(size=values.shape)
    return series_frame(values + noise, labels, [f"s{i}" for i in range(64)])


def _wide_random(_tmp: Path) -> pd.DataFrame:
    rng = np.random.default_rng(19)
    frame = pd.DataFrame(rng.normal(size=(300, 100)), columns=[f"t{i}" for i in range(100)])
    frame["label"] = rng.integers(0, 3, 300)
    return frame


CORPUS: tuple[Case, ...] = (
    Case("sklearn_digits", _image_as_groups, "spatial", "image", "wide_pixels", (1, 8, 8)),
    Case("sklearn_breast_cancer", _sk(skd.load_breast_cancer), "tabular", "table", "table"),
    Case("sklearn_wine", _sk(skd.load_wine), "tabular", "table", "table"),
    Case("sklearn_iris", _sk(skd.load_iris), "tabular", "table", "table"),
    Case("sklearn_diabetes", _sk(skd.load_diabetes), "tabular", "table", "table"),
    Case("sklearn_linnerud", _sk(skd.load_linnerud), "tabular", "table", "table"),
    Case("datasets_digits", _csv("digits.csv"), "spatial", "image", "wide_pixels", (1, 8, 8)),
    Case("datasets_gunpoint", _csv("gunpoint_train.csv"), "sequential", "series", "wide_series"),
    Case("datasets_breast_cancer", _csv("breast_cancer.csv"), "tabular", "table", "table"),
    Case("datasets_movie_reviews", _csv("movie_reviews_en.csv"), "sequential", "text", "text"),
    Case("datasets_reviews_zh", _csv("reviews_zh.csv"), "sequential", "text", "text"),
    Case("permuted_pixels", _permuted_pixels, "tabular", "table", "table"),
    Case("shuffled_series", _shuffled_series, "tabular", "table", "table"),
    Case("unrelated_16", _unrelated16, "tabular", "table", "table", (16,)),
    Case("wide_random_named_t", _wide_random, "tabular", "table", "table"),
    Case("smooth_144_series", _smooth144, "sequential", "series", "wide_series", (144, 1)),
    Case("image_12x12", _image12, "spatial", "image", "wide_pixels", (1, 12, 12)),
    Case("periodic_series", _periodic, "sequential", "series", "wide_series", (120, 1)),
    Case(
        "border_nan_images", _bordered_nan_images, "spatial", "image", "wide_pixels", (1, 28, 28)
    ),
    Case(
        "colour_interleaved", _colour_interleaved, "spatial", "image", "wide_pixels", (3, 16, 16)
    ),
    Case("colour_planar", _colour_planar, "spatial", "image", "wide_pixels", (3, 16, 16)),
    Case("colour_named_rgb", _colour_named, "spatial", "image", "wide_pixels", (3, 12, 12)),
    Case("multivariate_groups", _groups, "sequential", "series", "wide_groups", (30, 3)),
    Case("dated_headers", _dated, "sequential", "series", "wide_series", (60, 1)),
    Case("hourly_h01_h24", _hourly, "sequential", "series", "wide_series", (24, 1)),
    Case("short_hours_h01_h12", _short_hours, "sequential", "series", "wide_series", (12, 1)),
    Case("numbered_0_63", _numbered, "sequential", "series", "wide_series", (64, 1)),
    Case("anonymous_ordered", _anonymous, "sequential", "series", "wide_series", (50, 1)),
    Case("long_format", _long, "sequential", "series_padded", "long"),
    Case("long_format_csv", _long_csv, "sequential", "series_padded", "long"),
    Case("long_sktime_names", _sktime_long, "sequential", "series_padded", "long", (30, 3)),
    Case("long_vowels_integers", _vowels, "sequential", "series_padded", "long", (26, 13)),
    Case("long_interleaved_rows", _long_interleaved, "sequential", "series_padded", "long"),
    Case("datasets_co2", _csv("co2_monthly.csv"), "sequential", "forecast", "dated_series"),
    Case("names_not_text", _names_and_tickets, "tabular", "table", "table"),
    Case("mixed_tabular_ids", _mixed, "tabular", "table", "table", (5,)),
    Case("png_paths", _pngs, "spatial", "image", "image_paths"),
    Case(
        "spectra_offsets_slopes", _spectra, "sequential", "series", "wide_series", (150, 1),
        (("target", "concentration"),),
    ),
    Case(
        "spectra_shuffled", _shuffled_spectra, "tabular", "table", "table", (150,),
        (("target", "concentration"),),
    ),
    Case("growth_curves", _growth, "sequential", "series", "wide_series", (48, 1)),
    Case("growth_curves_shuffled", _shuffled_growth, "tabular", "table", "table", (48,)),
    Case(
        "digits_three_classes_120", _digits_three_classes, "spatial", "image", "wide_pixels",
        (1, 8, 8),
    ),
    Case(
        "faint_sequence_unsure", lambda _tmp: noisy_series(3.0), "sequential", "series",
        "wide_series", (64, 1), readings=("series", "table"),
    ),
    Case(
        "fainter_order_table_unsure", lambda _tmp: noisy_series(4.0), "sequential", "series",
        "wide_series", (64, 1), readings=("table", "series"),
    ),
    Case(
        "digits_three_classes_shuffled", _digits_three_classes_shuffled, "tabular", "table",
        "table",
    ),
)  # fmt: skip


def vowels_frame(seed: int = 0, n_ids: int = 270, n_speakers: int = 9) -> pd.DataFrame:
    """The shape of UEA JapaneseVowels in long format: ``utterance, frame, lpc0..lpc11,
    speaker``, all of utterance, frame and speaker integers; 7-26 frames per utterance, the
    file sorted by speaker (as the UEA file is). Values: a speaker's mean LPC vector plus a
    smooth (AR(1)) trajectory per utterance.
    """
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(n_speakers, 12))
    parts = []
    for i in range(n_ids):
        speaker = 1 + i * n_speakers // n_ids
        length = int(rng.integers(7, 27))
        walk = np.zeros((length, 12))
        walk[0] = rng.normal(scale=0.5, size=12)
        for t in range(1, length):
            walk[t] = 0.9 * walk[t - 1] + rng.normal(scale=0.2, size=12)
        values = means[speaker - 1] + walk
        part = pd.DataFrame(values.round(5), columns=[f"lpc{k}" for k in range(12)])
        part.insert(0, "frame", np.arange(1, length + 1))
        part.insert(0, "utterance", i + 1)
        part["speaker"] = speaker
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
