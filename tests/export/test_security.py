"""Nothing untrusted runs: no pickle in a run directory, tampered runs fail safely, the
report escapes every user string, storage passwords never leave the command line."""

from __future__ import annotations

import io
import json
import os
import pickle
import pickletools
import shutil
import sqlite3
import sys
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import archselect
from archselect import RunDirError
from archselect.cli import cli

XSS_COLUMNS = ("<script>alert(1)</script>", "</script><img src=x onerror=alert(1)>")
XSS_CLASS = "<b onmouseover=alert(2)>yes</b>"
#: Modules whose globals a weights file may name (torch's own tensor rebuilders).
ALLOWED_PICKLE_MODULES = ("torch", "collections")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".npy", ".npz")


def _frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Features f1, f2; an identifier column and the target carry the hostile names."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    frame = pd.DataFrame(x, columns=["f1", "f2"])
    frame[XSS_COLUMNS[0]] = [f"id-{seed}-{i}" for i in range(n)]  # dropped, with a note
    frame[XSS_COLUMNS[1]] = np.where(x[:, 0] > 0, XSS_CLASS, "no")
    return frame


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import FAST_SHARED
    from tests.conftest import TRAINING as train

    folder = tmp_path_factory.mktemp("secure")
    data = folder / "data.csv"
    _frame().to_csv(data, index=False)
    space = folder / "shared.toml"
    space.write_text(FAST_SHARED)
    import archselect.core.records as baselines

    old = train.MIN_STEPS
    old_exportable = baselines.EXPORTABLE_BASELINES
    train.MIN_STEPS = 20
    # these rows are linearly separable, so logistic regression would be recommended and
    # exported; the network's files are what this module tampers with (the exported
    # reference's allow-list is tested in test_verdict.py)
    baselines.EXPORTABLE_BASELINES = ()
    try:
        res = CliRunner().invoke(
            cli,
            [
                "fit",
                str(data),
                "--trials",
                "1",
                "--out",
                str(folder / "run"),
                "--space",
                str(space),
                "--quiet",
                "--target",
                XSS_COLUMNS[1],
            ],
        )
    finally:
        train.MIN_STEPS = old
        baselines.EXPORTABLE_BASELINES = old_exportable
    assert res.exit_code == 0, res.output
    return folder / "run"


@pytest.fixture
def run_copy(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


# --- no pickle in the run directory ------------------------------------------------------------


def _pickle_globals(data: bytes) -> list[str]:
    """Every global a pickle would import, as ``module.name``."""
    names: list[str] = []
    strings: list[str] = []
    for op, arg, _ in pickletools.genops(io.BytesIO(data)):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(str(arg))
        elif op.name == "GLOBAL":
            names.append(str(arg).replace(" ", "."))
        elif op.name == "STACK_GLOBAL":
            names.append(f"{strings[-2]}.{strings[-1]}")
    return names


def _looks_like_pickle(data: bytes) -> bool:
    return len(data) > 2 and data[0] == 0x80 and 2 <= data[1] <= 5


def test_run_directory_holds_no_pickle(run_dir: Path) -> None:
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {"weights.pt", "study.db", "report.html"} <= {p.name for p in files}
    for path in files:
        assert path.suffix not in PICKLE_SUFFIXES, path
        raw = path.read_bytes()
        if zipfile.is_zipfile(path):
            assert path.name == "weights.pt", path
            with zipfile.ZipFile(path) as zf:
                for member in zf.namelist():
                    body = zf.read(member)
                    if member.endswith(".pkl"):
                        # torch's zip format keeps its tensor index as a pickle: it may name
                        # torch's rebuild functions only, which weights_only=True allows
                        modules = {g.split(".")[0] for g in _pickle_globals(body)}
                        assert modules <= set(ALLOWED_PICKLE_MODULES), modules
                    else:
                        assert not _looks_like_pickle(body), member
        else:
            assert not _looks_like_pickle(raw), path
    state = torch.load(run_dir / "model" / "weights.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_study_db_holds_json_not_pickle(run_dir: Path) -> None:
    con = sqlite3.connect(run_dir / "study.db")
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        n_values = 0
        for table in tables:
            for row in con.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        assert not _looks_like_pickle(value), table
                    n_values += 1
        attrs = con.execute("SELECT key, value_json FROM trial_user_attributes").fetchall()
        study_attrs = con.execute("SELECT key, value_json FROM study_user_attributes").fetchall()
    finally:
        con.close()
    assert n_values > 0 and attrs and study_attrs
    for _, value in attrs + study_attrs:
        json.loads(value)


def test_every_torch_load_is_weights_only() -> None:
    """Scan the package's syntax trees: each ``torch.load`` call passes weights_only=True."""
    import ast

    package = Path(archselect.__file__).parent
    calls = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "torch"
            ):
                kw = {k.arg: k.value for k in node.keywords}
                value = kw.get("weights_only")
                calls.append((path.name, isinstance(value, ast.Constant) and value.value is True))
        assert "import pickle" not in path.read_text(encoding="utf-8"), path
    assert calls, "no torch.load call found"
    assert all(ok for _, ok in calls), calls


# --- tampered run directories ------------------------------------------------------------------


class _Evil:
    """Unpickling this would run a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., int], tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _raw_pickle(model: Path, marker: Path) -> None:
    (model / "weights.pt").write_bytes(pickle.dumps({"net.0.weight": _Evil(marker)}))


def _torch_zip(model: Path, marker: Path) -> None:
    torch.save({"net.0.weight": _Evil(marker)}, model / "weights.pt")


def _edit(name: str, change: Callable[[dict], object]) -> Callable[[Path, Path], None]:
    def tamper(model: Path, marker: Path) -> None:
        data = json.loads((model / name).read_text())
        change(data)
        (model / name).write_text(json.dumps(data))

    return tamper


def _set(key: str, value: object) -> Callable[[dict], object]:
    return lambda d: d.__setitem__(key, value)


def _truncate(model: Path, marker: Path) -> None:
    data = (model / "weights.pt").read_bytes()
    (model / "weights.pt").write_bytes(data[: len(data) // 2])


def _tensor_list(model: Path, marker: Path) -> None:
    torch.save([torch.zeros(3)], model / "weights.pt")


#: What a weights file that archselect did not write is called (torch's own message, which
#: advises ``weights_only=False``, is never quoted).
NOT_OURS = "is not a weights file written by archselect"

TAMPERING = {
    "weights_raw_pickle": (_raw_pickle, NOT_OURS),
    "weights_torch_zip_with_object": (_torch_zip, NOT_OURS),
    "weights_garbage": (
        lambda m, _: (m / "weights.pt").write_bytes(b"not a weights file"),
        NOT_OURS,
    ),
    "weights_truncated": (_truncate, NOT_OURS),
    "weights_not_a_table": (_tensor_list, NOT_OURS),
    "config_other_width": (
        _edit("config.json", lambda d: d["params"].update(width=d["params"]["width"] + 1)),
        "config.json does not match weights.pt (tensor ",
    ),
    "config_more_layers": (
        _edit("config.json", lambda d: d["params"].update(layers=d["params"]["layers"] + 1)),
        "config.json does not match weights.pt",
    ),
    "config_unknown_family": (_edit("config.json", _set("family", "os.system")), "refit"),
    "config_injected_params": (
        _edit(
            "config.json",
            lambda d: d["params"].update(width="__import__('os').system('touch {marker}')"),
        ),
        "refit",
    ),
    "config_nested_param": (
        _edit("config.json", lambda d: d["params"].update(layers={"__class__": "os.system"})),
        "is not a plain number, text or flag",
    ),
    "preprocessing_short_mean": (
        _edit("preprocessing.json", lambda d: d.__setitem__("mean", d["mean"][:1])),
        "1 means for 2 scales",
    ),
    "preprocessing_short_scaling": (
        _edit(
            "preprocessing.json",
            lambda d: d.update(mean=d["mean"][:1], std=d["std"][:1]),
        ),
        "1 means and 1 scales for 2 inputs",
    ),
    "preprocessing_short_impute": (
        _edit("preprocessing.json", lambda d: d.__setitem__("impute", [])),
        "0 imputation values for 2 numeric columns",
    ),
    "preprocessing_shape": (
        _edit("preprocessing.json", _set("input_shape", [7])),
        "input shape",
    ),
    "preprocessing_zero_scale": (
        _edit("preprocessing.json", lambda d: d.__setitem__("std", [0.0] * len(d["std"]))),
        "scales must be positive",
    ),
    "preprocessing_not_an_object": (
        lambda m, _: (m / "preprocessing.json").write_text("[1, 2, 3]"),
        "damaged model description",
    ),
    "config_not_json": (
        lambda m, _: (m / "config.json").write_text("{'family': 'mlp'"),
        "damaged model description",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_predict_on_a_tampered_run_fails_safely(case: str, run_copy: Path, tmp_path: Path) -> None:
    tamper, message = TAMPERING[case]
    marker = tmp_path / "pwned"
    tamper(run_copy / "model", marker)
    data = tmp_path / "new.csv"
    _frame(10, seed=1).to_csv(data, index=False)
    res = CliRunner().invoke(cli, ["predict", str(run_copy), str(data)])
    assert res.exit_code == 2, res.output
    assert message in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr  # one sentence, no warning
    assert "weights_only" not in res.stderr  # torch's advice to load it unsafely
    assert "Traceback" not in res.output
    assert not marker.exists(), "a payload ran"
    with pytest.raises(RunDirError):
        archselect.load(run_copy).predict(data)
    assert not marker.exists(), "a payload ran"


#: Address space a predict may use in the test below: torch and the model fit easily; the
#: network an edited width of 10**9 describes (12 GB of float32 weights) does not.
PREDICT_ADDRESS_SPACE = 6 << 30


def test_an_edited_width_is_refused_before_any_memory_is_spent(
    run_copy: Path, tmp_path: Path
) -> None:
    """A width of 10**9 in config.json built the network (tens of GB, initialised) before
    any check; run under an address-space limit so that a regression fails this test, not
    the machine."""
    import resource
    import subprocess

    _edit("config.json", lambda d: d["params"].update(width=10**9))(run_copy / "model", tmp_path)
    data = tmp_path / "new.csv"
    _frame(10, seed=1).to_csv(data, index=False)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (PREDICT_ADDRESS_SPACE, PREDICT_ADDRESS_SPACE))

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "archselect", "predict", str(run_copy), str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 2, done.stderr
    assert "config.json sets width = 1000000000, more than the" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_untampered_copy_predicts(run_copy: Path, tmp_path: Path) -> None:
    data = tmp_path / "new.csv"
    _frame(10, seed=1).to_csv(data, index=False)
    res = CliRunner().invoke(cli, ["predict", str(run_copy), str(data)])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(io.StringIO(res.stdout))) == 10


# --- the report escapes every user string ---------------------------------------------------


def test_report_escapes_column_names_and_labels(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    for raw in (*XSS_COLUMNS, XSS_CLASS):
        assert raw not in page, raw
    assert "<img src=x" not in page
    assert "onerror=alert(1)>" not in page.replace("onerror=alert(1)&gt;", "")
    assert "<b onmouseover" not in page
    # the names are shown (escaped), so the checks above are not vacuous
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the dropped column's note
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page  # the target
    assert "&lt;b onmouseover=alert(2)&gt;yes&lt;/b&gt;" in page  # a class label


# --- storage passwords -------------------------------------------------------------------------

PASSWORD = "Pw4harden-s3cret"


@pytest.fixture
def postgres_db() -> Iterator[str]:
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        con = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", connect_timeout=3)
    except psycopg2.OperationalError:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    con.autocommit = True
    name = f"archselect_harden_{uuid.uuid4().hex[:8]}"
    con.cursor().execute(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        con.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        con.close()


@pytest.mark.db
@pytest.mark.slow
def test_storage_password_never_reaches_the_run_directory(
    postgres_db: str, tmp_path: Path, fast_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data.csv"
    _frame(40).to_csv(data, index=False)
    url = f"postgresql+psycopg2://postgres:{PASSWORD}@127.0.0.1:5432/{postgres_db}"
    args = [
        "fit",
        str(data),
        "--trials",
        "1",
        "--out",
        str(tmp_path / "run"),
        "--storage",
        url,
        "--space",
        str(fast_space),
        "--target",
        XSS_COLUMNS[1],
    ]
    monkeypatch.setattr(sys, "argv", ["archselect", *args])
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert PASSWORD not in res.output
    plan = json.loads((tmp_path / "run" / "plan.json").read_text())
    assert "--storage postgresql+psycopg2://postgres:***@" in plan["run"]["command"]
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


# --- masking every spelling of a storage secret ------------------------------------------------

HOSTILE_URLS = (
    # password in a query parameter
    ("postgresql+psycopg2://postgres@127.0.0.1:9/none?password=Qp4ss-w0rd", ("Qp4ss-w0rd",)),
    ("postgresql://postgres@127.0.0.1:9/none?sslmode=require&sslpassword=Kx9key", ("Kx9key",)),
    # an unencoded @ in the password, and a space
    ("postgresql://postgres:p@ss9@127.0.0.1:9/none", ("p@ss9", "@ss9@")),
    ("postgresql://postgres:pa ss9@127.0.0.1:9/none", ("pa ss9",)),
)


@pytest.mark.parametrize("url, secrets", HOSTILE_URLS)
def test_mask_url_hides_every_form_of_password(url: str, secrets: tuple[str, ...]) -> None:
    from archselect._common.secrets import mask_url, redact, remember_url

    masked = mask_url(url)
    assert "***" in masked
    for secret in secrets:
        assert secret not in masked, masked
    remember_url(url)
    text = redact(f"archselect fit data.csv --storage {url} --trials 1")
    for secret in secrets:
        assert secret not in text, text
    assert "data.csv" in text and "--trials 1" in text


@pytest.mark.parametrize("url, secrets", HOSTILE_URLS)
def test_refused_storage_never_prints_the_password(
    url: str, secrets: tuple[str, ...], tmp_path: Path
) -> None:
    data = tmp_path / "data.csv"
    _frame(40).to_csv(data, index=False)
    res = CliRunner().invoke(
        cli, ["fit", str(data), "--storage", url, "--out", str(tmp_path / "run")]
    )
    assert res.exit_code == 2, res.output
    assert "cannot open the study storage" in res.stderr
    for secret in secrets:
        assert secret not in res.output, res.output


@pytest.mark.db
def test_plain_postgresql_url_works_and_query_password_is_masked(
    postgres_db: str, tmp_path: Path, fast_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's ``postgresql://`` form (psycopg 3) runs; ``?password=`` never lands."""
    data = tmp_path / "data.csv"
    _frame(40).to_csv(data, index=False)
    url = f"postgresql://postgres@127.0.0.1:5432/{postgres_db}?password={PASSWORD}"
    args = ["fit", str(data), "--trials", "1", "--out", str(tmp_path / "run"), "--quiet"]
    args += ["--storage", url, "--space", str(fast_space), "--target", XSS_COLUMNS[1]]
    monkeypatch.setattr(sys, "argv", ["archselect", *args])
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert PASSWORD not in res.output
    plan = json.loads((tmp_path / "run" / "plan.json").read_text())
    assert "?password=***" in plan["run"]["command"], plan["run"]["command"]
    assert (tmp_path / "run" / "report.html").exists()
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
