"""Contract tests over the registry: every builder, every layout it claims."""

import numpy as np
import pytest
import torch

from archselect.core.spaces import load_space
from archselect.models import create_model, list_models, model_layouts
from archselect.train import TrainConfig, train_network

SHAPES = {
    "image": (1, 8, 8),
    "series": (24, 2),
    "series_padded": (24, 3),
    "table": (7,),
    "forecast": (24, 2),
    "text": (12,),
}
#: Builder arguments that come from the data (a text model's vocabulary size).
DATA_ARGS = {"text": {"vocab_size": 30}}


def _inputs(layout: str, n: int, seed: int = 0) -> np.ndarray:
    """Random input; padded series get a 0/1 mask channel (lengths 1..T, one full)."""
    rng = np.random.default_rng(seed)
    shape = SHAPES[layout]
    if layout == "text":  # token ids, padding (0) at the front
        ids = rng.integers(1, DATA_ARGS["text"]["vocab_size"], size=(n, *shape))
        ids[:, :3] = 0
        return ids.astype(np.int64)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    if layout == "series_padded":
        lengths = rng.integers(1, shape[0] + 1, n)
        lengths[0] = shape[0]
        mask = (np.arange(shape[0])[None, :] < lengths[:, None]).astype(np.float32)
        x[..., :-1] *= mask[..., None]
        x[..., -1] = mask
    return x


CASES = [
    (name, layout)
    for name in list_models()
    if not name.startswith("doc_")
    for layout in model_layouts(name)
]


@pytest.mark.parametrize(("name", "layout"), CASES)
def test_builder_contract(name: str, layout: str) -> None:
    torch.manual_seed(0)
    shape = SHAPES[layout]
    net = create_model(
        name, input_shape=shape, n_outputs=3, layout=layout, **DATA_ARGS.get(layout, {})
    )
    x = torch.from_numpy(_inputs(layout, 5))
    out = net(x)
    assert out.shape == (5, 3)
    assert torch.isfinite(out).all()
    out.sum().backward()
    missing = [
        n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert not missing, f"parameters without gradient: {missing}"


@pytest.mark.parametrize(("name", "layout"), CASES)
def test_one_epoch_lightning_run(name: str, layout: str) -> None:
    shape = SHAPES[layout]
    rng = np.random.default_rng(0)
    x = _inputs(layout, 40)
    y = rng.integers(0, 2, 40)
    net = create_model(
        name, input_shape=shape, n_outputs=2, layout=layout, **DATA_ARGS.get(layout, {})
    )
    result = train_network(net, x, y, x, y, TrainConfig(epochs=1, batch_size=16), device="cpu")
    assert result.epochs >= 1 and 0.0 <= result.val_metric <= 1.0
    assert result.n_params == sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize(("name", "layout"), CASES)
def test_every_family_has_a_space_whose_params_build(name: str, layout: str) -> None:
    space = load_space(name, layout=layout)
    assert layout in space.layouts and set(space.layouts) <= set(model_layouts(name))
    for pick in (0, -1):
        params = {
            p.name: (p.choices[pick] if p.choices else (p.low if pick == 0 else p.high))
            for p in space.params
        }
        params = {
            k: int(v) if isinstance(v, float) and v.is_integer() and k != "dropout" else v
            for k, v in params.items()
        }
        net = create_model(
            name,
            input_shape=SHAPES[layout],
            n_outputs=2,
            layout=layout,
            **DATA_ARGS.get(layout, {}),
            **params,
        )
        assert net(torch.from_numpy(_inputs(layout, 2))).shape == (2, 2)


def test_forecast_models_output_the_horizon() -> None:
    for name in ("cnn1d", "tcn", "lstm", "gru", "rnn", "mlp"):
        net = create_model(name, input_shape=(24, 1), n_outputs=6, layout="forecast")
        assert net(torch.randn(3, 24, 1)).shape == (3, 6)


@pytest.mark.parametrize("name", list_models("forecast"))
def test_forecasters_follow_the_level_of_the_window(name: str) -> None:
    """Anchored on the last value: lifting a window's target by c lifts its forecast by c,
    so a trend that leaves the training range does not leave the model's."""
    torch.manual_seed(0)
    net = create_model(name, input_shape=(24, 2), n_outputs=6, layout="forecast").eval()
    x = torch.randn(3, 24, 2)
    lifted = x.clone()
    lifted[..., 0] += torch.tensor([5.0, -3.0, 40.0])[:, None]
    with torch.no_grad():
        torch.testing.assert_close(
            net(lifted), net(x) + torch.tensor([[5.0], [-3.0], [40.0]]), atol=1e-4, rtol=0
        )


def test_layout_outside_the_family_is_refused() -> None:
    from archselect import UsageError

    with pytest.raises(UsageError, match="does not fit text"):
        create_model("cnn2d", input_shape=(12,), n_outputs=2, layout="text", vocab_size=5)


@pytest.mark.parametrize("name", [n for n in list_models() if not n.startswith("doc_")])
def test_every_family_builds_at_the_top_of_its_space(name: str) -> None:
    """The largest draw of each parameter still builds and runs on the smallest test shape."""
    space = load_space(name)
    params = {p.name: (p.choices[-1] if p.choices else p.high) for p in space.params}
    params = {
        k: int(v) if isinstance(v, float) and v.is_integer() and k != "dropout" else v
        for k, v in params.items()
    }
    for layout in space.layouts:
        net = create_model(name, input_shape=SHAPES[layout], n_outputs=2, **params)
        out = net.eval()(torch.randn(3, *SHAPES[layout]))
        assert out.shape == (3, 2) and torch.isfinite(out).all()


@pytest.mark.parametrize("pool", ["last", "mean"])
def test_tcn_is_causal(pool: str) -> None:
    """Changing the future of a sequence leaves the TCN's features of the past unchanged."""
    torch.manual_seed(0)
    net = create_model("tcn", input_shape=(24, 2), n_outputs=3, levels=3, pool=pool).eval()
    x = torch.randn(2, 24, 2)
    y = x.clone()
    y[:, 12:] += 5.0
    feats = net.blocks  # type: ignore[union-attr]
    hx, hy = feats(x.transpose(1, 2)), feats(y.transpose(1, 2))
    assert torch.allclose(hx[:, :, :12], hy[:, :, :12], atol=1e-5)
    assert not torch.allclose(hx[:, :, 12:], hy[:, :, 12:])
    assert net.receptive_field == 1 + 2 * 2 * 7  # type: ignore[union-attr]


def test_resnet_small_downsamples_only_while_sides_allow() -> None:
    net = create_model("resnet_small", input_shape=(1, 28, 28), n_outputs=10, stages=3)
    feats = net[:-3](torch.zeros(1, 1, 28, 28))  # type: ignore[index]
    assert feats.shape == (1, 128, 7, 7)
    tiny = create_model("resnet_small", input_shape=(1, 3, 3), n_outputs=2, stages=3)
    assert tiny(torch.zeros(2, 1, 3, 3)).shape == (2, 2)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(
    ("layers", "bidirectional", "pool"),
    [(1, False, "last"), (2, True, "last"), (2, False, "mean"), (1, True, "mean")],
)
def test_unpacked_masked_recurrent_matches_packing(
    cell: str, layers: int, bidirectional: bool, pool: str
) -> None:
    """The traceable (ONNX) form of a padded recurrent net gives the packed forward's numbers."""
    from archselect.models.recurrent import UnpackedMaskedRecurrent

    torch.manual_seed(0)
    net = create_model(
        cell,
        input_shape=(12, 3),
        n_outputs=4,
        layout="series_padded",
        hidden=8,
        layers=layers,
        bidirectional=bidirectional,
        pool=pool,
    ).eval()
    lengths = torch.tensor([12, 1, 5, 9, 0])
    mask = (torch.arange(12)[None, :] < lengths[:, None]).float()  # (N, T)
    x = torch.cat([torch.randn(5, 12, 2) * mask[..., None], mask[..., None]], dim=2)
    packed = net(x)
    unpacked = UnpackedMaskedRecurrent(net).eval()(x)
    torch.testing.assert_close(unpacked, packed, atol=1e-5, rtol=1e-5)
    # padding values never matter: fill the padding with noise
    noisy = x.clone()
    padding = (
        torch.arange(12)[None, :] >= lengths.clamp(min=1)[:, None]
    )  # an empty row keeps step 0
    noisy[..., :-1] += torch.randn(5, 12, 2) * padding[..., None]
    torch.testing.assert_close(
        UnpackedMaskedRecurrent(net).eval()(noisy), packed, atol=1e-5, rtol=1e-5
    )


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_mean_ensemble_averages_its_members(task: str) -> None:
    from archselect.models.ensemble import MeanEnsemble

    torch.manual_seed(0)
    members = [create_model("mlp", input_shape=(5,), n_outputs=3).eval() for _ in range(3)]
    x = torch.randn(4, 5)
    with torch.no_grad():
        out = MeanEnsemble(members, task)(x)
        if task == "classification":  # log of the mean probability: softmax gives it back
            want = torch.stack([torch.softmax(m(x), dim=1) for m in members]).mean(dim=0)
            torch.testing.assert_close(torch.softmax(out, dim=1), want)
        else:
            torch.testing.assert_close(out, torch.stack([m(x) for m in members]).mean(dim=0))
