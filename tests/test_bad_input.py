"""Bad input refused with one clear line: non-finite numbers, odd files, caps, names Keras refuses.

Core only (no app, no subprocess): the spec loader, the catalog's form parsing, the data
preparation and the model builder. The command line's side is in test_cli_bad_input.py.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import stat
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from layerlab.core import spec as specs
from layerlab.core.catalog import LAYERS
from layerlab.core.data.base import DataError
from layerlab.core.data.tabular import prepare_frame
from layerlab.core.playground import parse_kernel
from layerlab.core.spec import DataSpec, LayerSpec, SpecError

NON_FINITE = ("nan", "inf", "-inf", "+inf")

# Every float a spec holds outside its layers, by key path; the test below checks none is missing.
SPEC_FLOATS = {
    "compile.learning_rate": "[compile]\nlearning_rate = {}\n",
    "data.valid_fraction": "[data]\nvalid_fraction = {}\n",
    "fit.early_stopping.min_delta": "[fit.early_stopping]\nmin_delta = {}\n",
}


def _float_fields() -> set[str]:
    """Key paths of every float field of the spec's dataclasses."""
    tables = {
        "compile": specs.CompileSpec,
        "data": specs.DataSpec,
        "fit.early_stopping": specs.EarlyStoppingSpec,
        "fit": specs.FitSpec,
        "accelerator": specs.AcceleratorSpec,
    }
    return {
        f"{key}.{f.name}"
        for key, cls in tables.items()
        for f in dataclasses.fields(cls)
        if f.type == "float"
    }


def test_every_spec_float_is_covered():
    assert set(SPEC_FLOATS) == _float_fields()


@pytest.mark.parametrize("word", NON_FINITE)
@pytest.mark.parametrize("key", sorted(SPEC_FLOATS))
def test_non_finite_spec_numbers_are_refused_by_key_path(key, word):
    with pytest.raises(SpecError) as caught:
        specs.loads(SPEC_FLOATS[key].format(word), "exp.toml")
    assert caught.value.key == key
    assert caught.value.message.startswith(f"exp.toml: {key}: ")
    assert "expected a finite number" in caught.value.problem


FLOAT_PARAMS = [
    (layer.name, p.name) for layer in LAYERS.values() for p in layer.params if p.kind == "float"
]


@pytest.mark.parametrize("word", NON_FINITE)
@pytest.mark.parametrize(("layer", "param"), FLOAT_PARAMS)
def test_non_finite_layer_parameters_are_refused_in_specs_and_forms(layer, param, word):
    text = (
        f'[[layers]]\ntype = "Dense"\nunits = 4\n\n[[layers]]\ntype = "{layer}"\n{param} = {word}\n'
    )
    with pytest.raises(SpecError) as caught:
        specs.loads(text, "exp.toml")
    assert caught.value.key == f"layers[1].{param}"
    assert "not a finite number" in caught.value.problem
    # The builder's form parses typed text with the same rule.
    value, reason = LAYERS[layer].param(param).parse(word)
    assert reason is not None and "not a finite number" in reason


def test_finite_numbers_still_pass():
    spec = specs.loads(
        "[compile]\nlearning_rate = 1e-4\n[data]\nvalid_fraction = 0\n"
        '[[layers]]\ntype = "Rescaling"\nscale = 0.00392156862745098\noffset = -1\n'
    )
    assert spec.compile.learning_rate == 1e-4 and spec.data.valid_fraction == 0
    assert spec.layers[0].params == {"scale": 1 / 255, "offset": -1.0}


def test_seeds_beyond_32_bits_are_refused():
    with pytest.raises(
        SpecError, match=r"data\.seed: 4294967296 is too large: expected >= 0 and <= 4294967295"
    ):
        specs.loads("[data]\nseed = 4294967296\n")
    assert specs.loads("[data]\nseed = 4294967295\n").data.seed == 2**32 - 1
    with pytest.raises(SpecError, match=r"layers\[0\]\.seed: .* too large"):
        specs.loads('[[layers]]\ntype = "Dropout"\nseed = 4294967296\n')


def test_an_integer_with_thousands_of_digits_is_a_spec_error():
    with pytest.raises(SpecError, match="thousands of digits"):
        specs.loads("[fit]\nepochs = 1" + "0" * 5000 + "\n", "exp.toml")


# -- files that are not spec files ---------------------------------------------------------------


def _load_in_thread(path, seconds=10.0):
    """specs.load(path) in a thread, so that a loader that blocks fails the test instead of hanging it."""
    outcome: list = []

    def target():
        try:
            outcome.append(specs.load(path))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return thread.is_alive(), outcome


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "exp.toml"
    os.mkfifo(fifo)
    blocked, outcome = _load_in_thread(fifo)
    if blocked:  # let the stuck reader go before failing
        with open(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK), "w"):
            pass
    assert not blocked, "loading a FIFO blocked"
    assert isinstance(outcome[0], SpecError)
    assert outcome[0].message == f"{fifo}: is a named pipe, not a file; expected a .toml spec file"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_a_device_is_refused():
    assert stat.S_ISCHR(os.stat("/dev/zero").st_mode)
    blocked, outcome = _load_in_thread("/dev/zero")
    assert not blocked
    assert isinstance(outcome[0], SpecError) and "is a device" in outcome[0].message


def test_a_file_over_one_mebibyte_is_refused_saying_the_limit(tmp_path):
    big = tmp_path / "exp.toml"
    big.write_text('name = "x"\n' + "# padding\n" * 120_000)
    with pytest.raises(SpecError) as caught:
        specs.load(big)
    assert caught.value.message == f"{big}: is 1.1 MiB; a spec file is at most 1 MiB of TOML"
    # Just under the limit still loads.
    big.write_text('name = "x"\n' + "#" * (specs.MAX_SPEC_BYTES - 20) + "\n")
    assert specs.load(big).name == "x"


def test_deeply_nested_arrays_are_a_spec_error_not_a_recursion_error(tmp_path):
    deep = tmp_path / "exp.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(SpecError, match="levels deep"):
        specs.load(deep)
    # Nesting TOML can parse, where a string is asked: the message quotes it briefly.
    with pytest.raises(SpecError) as caught:
        specs.loads("name = " + "[" * 300 + "]" * 300 + "\n", "exp.toml")
    assert caught.value.message == "exp.toml: name: expected a string, got a list [[[[...]]]]"


def test_a_spec_that_is_not_utf8_text_is_refused(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_bytes(b"name = '\xff\xfe'\n")
    with pytest.raises(SpecError, match="is not a text file"):
        specs.load(path)


# -- layers --------------------------------------------------------------------------------------


def test_too_many_layers_are_refused_before_keras_sees_them():
    dense = '[[layers]]\ntype = "Dense"\nunits = 2\n'
    with pytest.raises(SpecError) as caught:
        specs.loads(dense * 20_000, "exp.toml")
    assert (
        caught.value.message
        == "exp.toml: layers: 20,000 layers are too many: a stack takes at most 200"
    )
    assert len(specs.loads(dense * specs.MAX_LAYERS).layers) == specs.MAX_LAYERS


def test_a_stack_keras_cannot_join_is_a_model_error(monkeypatch):
    """Keras' graph walk recurses once per layer; with little stack left it fails on the whole stack."""
    from layerlab.core import model as models

    spec = specs.Spec(layers=[LayerSpec("Dense", {"units": 2}) for _ in range(150)])
    depth = len(inspect.stack())
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 100)  # each layer builds; joining 150 of them does not
    try:
        with pytest.raises(models.ModelError) as caught:
            models.build(spec, (4,))
    finally:
        sys.setrecursionlimit(limit)
    assert caught.value.index is None
    assert "could not join the 150 layers" in str(caught.value) and "use fewer layers" in str(
        caught.value
    )


# -- names Keras refuses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "keras_name"),
    [
        ("vin rouge é 日本", "vin_rouge"),
        ("(draft) wine", "draft_wine"),
        ("日本", "model"),
        ("2024 run", "model_2024_run"),
        ("red_wine", "red_wine"),
    ],
)
def test_model_names_are_what_keras_takes(name, keras_name):
    from layerlab.core.model import model_name

    assert model_name(name) == keras_name


TINY = """
name = "{name}"
[data]
name = "iris"
[[layers]]
type = "Dense"
units = 4
activation = "relu"
[[layers]]
type = "Dense"
units = 3
activation = "softmax"
[fit]
epochs = 1
"""


@pytest.mark.parametrize("name", ["vin rouge é 日本", "(draft) wine"])
def test_specs_named_beyond_ascii_train_and_keep_their_name(tmp_path, name):
    from layerlab.core.session import TrainingSession

    session = TrainingSession(specs.loads(TINY.format(name=name)), runs_dir=tmp_path / "runs")
    done = session.run()
    assert done.event == "finished", done
    assert done.epochs_run == 1
    run_dir = session.run_dir
    assert run_dir.parent == tmp_path / "runs"
    started = json.loads((run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert started["spec"]["name"] == name
    assert specs.load(run_dir / "spec.toml").name == name


# -- data ----------------------------------------------------------------------------------------


def _table(y, **extra) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = len(y)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), **extra, "y": y})


def _prepare(frame, **data):
    return prepare_frame(
        frame, name="t.csv", where="t.csv", data=DataSpec(target="y", **data), target="y"
    )


@pytest.mark.parametrize("task", ["auto", "regression", "multiclass"])
def test_infinite_targets_are_dropped_like_missing_ones_and_said(task):
    y = np.linspace(0.0, 4.0, 60).round()
    y[[3, 7]] = [np.inf, -np.inf]
    y[9] = np.nan
    dataset = _prepare(_table(y), task=task)
    assert len(dataset.y_train) + len(dataset.y_valid) == 57
    assert np.isfinite(dataset.y_train).all() and np.isfinite(dataset.y_valid).all()
    assert "dropped 3 row(s) whose target 'y' is missing (1) or infinite (2)" in dataset.notes
    if task != "regression":
        assert "inf" not in " ".join(dataset.class_names)


def test_a_target_with_nothing_finite_is_refused():
    with pytest.raises(DataError) as caught:
        _prepare(_table(np.full(20, np.inf)))
    assert caught.value.message.startswith(
        "t.csv: target column 'y' has no finite values: every row is infinite"
    )


def test_infinite_features_are_named_and_treated_as_missing():
    y = np.tile([0.0, 1.0], 20)
    frame = _table(y)
    frame.loc[[2, 5], "b"] = [np.inf, -np.inf]
    dataset = _prepare(frame)
    assert "2 infinite value(s) treated as missing: b (2)" in dataset.notes
    assert np.isfinite(dataset.x_train).all() and np.isfinite(dataset.x_valid).all()


def test_numbers_beyond_float32_are_refused_by_column():
    frame = _table(np.linspace(0, 1, 40))
    frame.loc[4, "a"] = -1e300
    with pytest.raises(DataError, match=r"column 'a' has 1 value\(s\) beyond ±3.4e38"):
        _prepare(frame)
    y = np.linspace(0, 1, 40)
    y[2] = 1e39
    with pytest.raises(DataError, match=r"target 'y' has 1 value\(s\) beyond ±3.4e38"):
        _prepare(_table(y), task="regression")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_as_data_is_refused(tmp_path):
    from layerlab.core.data import read_table

    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="is not a regular file"):
        read_table(fifo)


def test_a_typed_kernel_refuses_nan_and_inf():
    from layerlab.core.playground import InspectError

    for text in ("1 nan; 0 1", "1 0; inf 1"):
        with pytest.raises(InspectError, match="finite numbers"):
            parse_kernel(text)
