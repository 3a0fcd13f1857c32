"""``prepare``: split the samples and fit the layout's preprocessing on the training split.

What differs between layouts — the rows' checks, how a sample's rows are grouped, the fitted
preprocessing and the arrays — is asked of the layout's plugin
(:func:`archselect.layouts.plugin_for`); forecasts are split in time
(:mod:`._forecasting`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from archselect.errors import DataError
from archselect.layouts import Preprocessing, plugin_for, transform
from archselect.layouts import samples as samples_of
from archselect.load import Table
from archselect.prepare._constants import SUPPORTED_LAYOUTS
from archselect.prepare._forecasting import _prepare_forecast
from archselect.prepare._splits import Prepared, _split
from archselect.profile import Profile


def fit_preprocessing(profile: Profile, train: pd.DataFrame) -> tuple[Preprocessing, list[str]]:
    """Fit the layout's preprocessing (imputation, one-hot categories, scaling, the target's
    encoding; a vocabulary for text) on the training rows (a forecast: its whole history)."""
    return plugin_for(profile.layout).fit_preprocessing(train, profile)


def prepare(table: Table, profile: Profile, *, seed: int = 0) -> Prepared:
    """Split rows (stratified for classification) and fit preprocessing on train only.

    Args:
        table: The loaded data.
        profile: Its profile.
        seed: Seed of the split (the same seed feeds the sampler and training).

    Returns:
        The :class:`Prepared` tensors and preprocessing.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from archselect.load import load_table
        >>> from archselect.profile import profile_table
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(40, 2))
        >>> frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": [0, 1] * 20})
        >>> table = load_table(frame)
        >>> prepare(table, profile_table(table)).x_train.shape[1]
        2
    """
    if profile.layout not in SUPPORTED_LAYOUTS:
        raise DataError(
            f"The {profile.layout} layout is not prepared by this version of archselect; "
            "choose another layout with --layout or remove the column it came from."
        )
    plugin = plugin_for(profile.layout)
    if plugin.forecast:  # windows split in time
        return _prepare_forecast(table, profile, seed)
    frame = table.frame
    if plugin.grouped:  # one sample per id: the ids with a target, all their rows
        assert profile.id_column is not None
        ids = frame[profile.id_column]
        with_target = frame.loc[frame[profile.target].notna(), profile.id_column].unique()
        frame = frame[ids.isin(with_target)]
        samples = frame.drop_duplicates(profile.id_column)
    else:
        frame = frame[frame[profile.target].notna()]  # index kept: row numbers in messages
        samples = frame
    plugin.check_rows(frame, profile)  # e.g. the first non-numeric cell, in file order
    y = samples[profile.target]
    split = _split(y, profile.task, seed)

    def rows(idx: tuple[int, ...]) -> pd.DataFrame:
        if not plugin.grouped:
            return frame.iloc[list(idx)]
        assert profile.id_column is not None
        return frame[frame[profile.id_column].isin(samples[profile.id_column].iloc[list(idx)])]

    pre, fit_notes = plugin.fit_preprocessing(rows(split.train), profile)

    def xy(idx: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        part = rows(idx)
        return transform(pre, part), pre.encode_target(samples_of(pre, part)[profile.target])

    x_train, y_train = xy(split.train)
    x_val, y_val = xy(split.val)
    x_test, y_test = xy(split.test)
    notes = (*fit_notes, *plugin.split_notes(pre, x_train, x_val))
    return Prepared(pre, split, x_train, y_train, x_val, y_val, x_test, y_test, notes)
