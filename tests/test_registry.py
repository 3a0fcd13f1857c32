"""The family registry is the one truth: plan order, layout fit, discovery, extra families."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from archselect.plan import make_plan
from archselect.profile import profile_frame

#: The families planned for each layout, in report order, as shipped (pinned before the
#: order moved from ``plan.FAMILIES_BY_LAYOUT`` into the search spaces' TOML files).
SHIPPED_PLAN_ORDER = {
    "image": ("cnn2d", "resnet_small", "mlp"),
    "series": ("cnn1d", "tcn", "lstm", "gru", "rnn", "mlp"),
    "series_padded": ("cnn1d", "lstm", "gru", "rnn", "mlp"),
    "table": ("mlp",),
    "text": ("cnn1d", "lstm", "gru", "rnn", "mlp"),
    "forecast": ("cnn1d", "tcn", "lstm", "gru", "rnn", "mlp"),
}


def _table_profile() -> object:
    rng = np.random.default_rng(0)
    return profile_frame(pd.DataFrame({"a": rng.normal(size=30), "y": [0, 1, 2] * 10}))


@pytest.mark.parametrize("layout", sorted(SHIPPED_PLAN_ORDER))
def test_plan_order_per_layout_is_unchanged(layout: str) -> None:
    profile = dataclasses.replace(_table_profile(), layout=layout)  # type: ignore[type-var]
    assert make_plan(profile, n_trials=12).family_names == SHIPPED_PLAN_ORDER[layout]
