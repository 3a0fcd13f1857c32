"""Property tests: on any DataFrame, load + profile + prepare succeed or raise ArchSelectError.

Hypothesis generates small frames with every awkward column kind (NaN, ±inf, text in
numbers, constants, empty columns, booleans, odd or duplicate names) and feeds them both
as a DataFrame and as a CSV file. Anything but success or the project's own error with a
message is a bug.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from archselect import ArchSelectError
from archselect.layouts import plugin_for
from archselect.load import load_table
from archselect.prepare import prepare
from archselect.profile import profile_table

SETTINGS = settings(
    max_examples=int(os.environ.get("ARCHSELECT_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FLOATS = st.one_of(
    st.floats(-1e6, 1e6),
    st.floats(-1e6, 1e6),
    st.floats(-1e6, 1e6),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e300]),
)
WORDS = st.sampled_from(["a", "b", "c", "", " ", "x,y", 'q"t', "é", "1.5", "nan", "line\nbreak"])
NAMES = st.one_of(
    st.sampled_from(["label", "target", "y", "x0", "x1", "t0", "t1", "", " ", "a,b", "Ünï"]),
    st.text(min_size=0, max_size=6),
)


@st.composite
def columns(draw: st.DrawFn, n_rows: int) -> list[object]:
    kind = draw(
        st.sampled_from(
            ["int", "float", "int", "float", "text", "bool", "numeric_text", "const", "nan"]
        )
    )
    if kind == "int":
        return draw(st.lists(st.integers(-5, 5), min_size=n_rows, max_size=n_rows))
    if kind == "float":
        return draw(st.lists(FLOATS, min_size=n_rows, max_size=n_rows))
    if kind == "text":
        return draw(st.lists(WORDS, min_size=n_rows, max_size=n_rows))
    if kind == "bool":
        return draw(st.lists(st.booleans(), min_size=n_rows, max_size=n_rows))
    if kind == "numeric_text":
        values = draw(st.lists(st.floats(-10, 10), min_size=n_rows, max_size=n_rows))
        out: list[object] = list(values)
        if n_rows:
            out[draw(st.integers(0, n_rows - 1))] = draw(WORDS)
        return out
    if kind == "const":
        return [draw(st.integers(0, 3))] * n_rows
    return [np.nan] * n_rows


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n_rows = draw(st.one_of(st.integers(0, 12), st.integers(12, 60), st.integers(12, 60)))
    n_cols = draw(st.one_of(st.integers(1, 6), st.integers(2, 6), st.integers(2, 6)))
    unique = draw(st.sampled_from([True, True, True, True, False]))
    names = draw(st.lists(NAMES, min_size=n_cols, max_size=n_cols, unique=unique))
    data = [draw(columns(n_rows)) for _ in range(n_cols)]
    if (
        draw(st.booleans()) and "label" not in names[:-1]
    ):  # a usable class target: two or three classes, repeated
        names[-1] = "label"
        data[-1] = [draw(st.sampled_from(["p", "q", "r"])) for _ in range(n_rows)]
        if n_rows >= 6:
            data[-1][:6] = ["p", "q", "p", "q", "p", "q"]
    frame = pd.DataFrame(dict(enumerate(data))) if n_cols else pd.DataFrame()
    frame.columns = names
    return frame


OPTIONS = st.fixed_dictionaries(
    {
        "target": st.one_of(*[st.none()] * 6, NAMES),
        "task": st.sampled_from([None, None, "classification", "regression"]),
        "modality": st.sampled_from([None, None, "tabular", "sequential", "spatial"]),
    }
)


def _pipeline(source: pd.DataFrame | Path, options: dict[str, object]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            table = load_table(source)
            profile = profile_table(table, **options)  # type: ignore[arg-type]
            prepared = prepare(table, profile)
        except ArchSelectError as exc:
            assert str(exc).strip(), "an ArchSelectError needs a message"
            event(f"refused: {str(exc)[-60:]}")
            return
    event(f"prepared: {profile.modality}/{profile.task}")
    assert np.isfinite(prepared.x_train).all()
    samples = len(prepared.x_train) + len(prepared.x_val) + len(prepared.x_test)
    if plugin_for(profile.layout).forecast:  # windows cut from the rows, origins thinned
        assert 0 < samples <= profile.n_rows
    else:
        assert samples == profile.n_rows


@SETTINGS
@given(frame=frames(), options=OPTIONS)
def test_frames_succeed_or_raise_archselect_error(
    frame: pd.DataFrame, options: dict[str, object]
) -> None:
    _pipeline(frame, options)


@SETTINGS
@given(frame=frames(), options=OPTIONS, sep=st.sampled_from([",", ";", "\t"]))
def test_csv_files_succeed_or_raise_archselect_error(
    frame: pd.DataFrame, options: dict[str, object], sep: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        frame.to_csv(path, index=False, sep=sep)
        _pipeline(path, options)
