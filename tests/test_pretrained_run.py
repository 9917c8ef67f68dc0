"""Transfer learning offline: a PretrainedBase taken from an earlier run (base = "run:RUN_DIR")."""

import subprocess
import sys

import keras
import numpy as np
import pytest
from layerlab.core import spec as specs
from layerlab.core.model import ModelError, build, check
from layerlab.core.session import TrainingSession
from layerlab.core.spec import LayerSpec

CONV_RUN = """
name = "digits_conv"
[data]
name = "digits"
valid_fraction = 0.2
seed = 0
[[layers]]
type = "Conv2D"
filters = 4
kernel_size = 3
activation = "relu"
[[layers]]
type = "MaxPool2D"
[[layers]]
type = "Flatten"
[[layers]]
type = "Dense"
units = 10
activation = "softmax"
[compile]
learning_rate = 0.01
[fit]
batch_size = 64
epochs = 2
"""

HEAD_ON_RUN = """
name = "digits_head"
[data]
name = "digits"
valid_fraction = 0.2
seed = 1
[[layers]]
type = "PretrainedBase"
base = "run:{base}"
trainable = false
[[layers]]
type = "Flatten"
[[layers]]
type = "Dense"
units = 10
activation = "softmax"
[compile]
learning_rate = 0.01
[fit]
batch_size = 64
epochs = 2
"""


@pytest.fixture(scope="module")
def conv_run(tmp_path_factory):
    """The folder of a tiny convolutional run on the digits, trained once for the module."""
    root = tmp_path_factory.mktemp("earlier")
    session = TrainingSession(specs.loads(CONV_RUN), runs_dir=root / "runs")
    done = session.run()
    assert done.event == "finished", done
    return session.run_dir


def conv_kernels(model):
    return [w for w in model.weights if "kernel" in w.path and "conv" in w.path]


def test_a_head_trains_on_a_frozen_base_from_an_earlier_run(conv_run, tmp_path):
    # The spec sits beside the runs folder and names the run by a relative path.
    spec_file = tmp_path / "head.toml"
    relative = f"../{conv_run.parent.parent.name}/runs/{conv_run.name}"
    spec_file.write_text(HEAD_ON_RUN.format(base=relative))
    spec = specs.load(spec_file)
    session = TrainingSession(spec, runs_dir=tmp_path / "runs")
    model = session.prepare().model
    base, head = model.layers[0], model.layers[-1]
    assert isinstance(base, keras.Model) and not base.trainable
    assert [type(layer).__name__ for layer in base.layers[1:]] == ["Conv2D", "MaxPooling2D"]
    earlier = keras.saving.load_model(conv_run / "model.keras", safe_mode=True)
    trained = [np.array(w) for w in conv_kernels(earlier)]
    head_before = [np.array(w) for w in head.get_weights()]

    done = session.run()

    assert done.event == "finished" and done.epochs_run == 2
    kept = [np.array(w) for w in conv_kernels(model)]
    assert len(kept) == 1 and np.array_equal(kept[0], trained[0])  # the base did not change
    assert not np.allclose(head.get_weights()[0], head_before[0])  # the head learned
    # The run's own spec.toml names the base by an absolute path, so it loads from anywhere.
    ran = specs.load(session.run_dir / "spec.toml")
    assert ran.layers[0].params["base"] == f"run:{conv_run.resolve()}"
    build(ran, (8, 8, 1))


def test_weights_none_starts_the_same_base_from_random_kernels(conv_run):
    layers = [
        LayerSpec(
            "PretrainedBase", {"base": f"run:{conv_run}", "weights": "none", "trainable": True}
        ),
        LayerSpec("Flatten"),
        LayerSpec("Dense", {"units": 10}),
    ]
    report = check(layers, (8, 8, 1))
    assert report.ok, report.error
    earlier = keras.saving.load_model(conv_run / "model.keras", safe_mode=True)
    fresh = conv_kernels(report.model.layers[1])
    assert fresh[0].shape == conv_kernels(earlier)[0].shape
    assert not np.allclose(np.array(fresh[0]), np.array(conv_kernels(earlier)[0]))


def located(layers, shape=(8, 8, 1)) -> ModelError:
    report = check(layers, shape)
    assert report.error is not None
    return report.error


def test_run_base_errors_are_located_on_the_layers_base(conv_run, tmp_path):
    def base(value):
        return [LayerSpec("Dense", {"units": 3}), LayerSpec("PretrainedBase", {"base": value})]

    missing = located(base(f"run:{tmp_path / 'nowhere'}")[1:])
    assert missing.key == "layers[0].base" and "no run folder" in missing.problem

    (tmp_path / "empty").mkdir()
    empty = located([LayerSpec("PretrainedBase", {"base": f"run:{tmp_path / 'empty'}"})])
    assert empty.key == "layers[0].base" and "no model.keras" in empty.problem

    dense_only = tmp_path / "dense"
    dense_only.mkdir()
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    model.save(dense_only / "model.keras")
    no_base = located([LayerSpec("PretrainedBase", {"base": f"run:{dense_only}"})])
    assert no_base.key == "layers[0].base" and "no convolutional base" in no_base.problem

    colour = located([LayerSpec("PretrainedBase", {"base": f"run:{conv_run}"})], (8, 8, 3))
    assert colour.key == "layers[0].base" and "(8, 8, 1)" in colour.problem


def test_a_frozen_random_base_is_refused_in_the_builder_check():
    error = located(
        [LayerSpec("PretrainedBase", {"base": "vgg16", "weights": "none"}), LayerSpec("Flatten")],
        (32, 32, 3),
    )
    assert error.key == "layers[0].weights"
    assert "cannot learn" in error.problem and "trainable = true" in error.fix


def test_a_run_base_that_names_no_folder_is_refused_by_the_spec():
    with pytest.raises(specs.SpecError) as caught:
        specs.loads('[[layers]]\ntype = "PretrainedBase"\nbase = "run:"\n')
    assert caught.value.key == "layers[0].base"
    with pytest.raises(specs.SpecError) as caught:
        specs.loads('[[layers]]\ntype = "PretrainedBase"\nbase = "vgg99"\n')
    assert "run:" in caught.value.problem


def test_headless_train_refuses_a_frozen_random_base_with_one_line(tmp_path):
    spec = tmp_path / "frozen.toml"
    spec.write_text(
        HEAD_ON_RUN.format(base="x")
        .replace('base = "run:x"', 'base = "vgg16"\nweights = "none"')
        .replace('name = "digits"', 'name = "stripes"\nimage_size = [32, 32]')
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "layerlab",
            "train",
            str(spec),
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "layers[0].weights" in lines[0] and "cannot learn" in lines[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


async def test_the_layer_form_takes_a_typed_run_base(tmp_path):
    from layerlab.screens.layer_form import LayerForm
    from textual.widgets import Input

    from tests.conftest_app import make_app, write_spec

    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        chosen = []
        form = LayerForm(LayerSpec("PretrainedBase", {"base": "run:runs/old"}), 0)
        await app.push_screen(form, chosen.append)
        await pilot.pause()
        field = form.query_one("#param-base", Input)
        assert field.value == "run:runs/old"
        field.value = "run:"
        form.submit()
        assert app.screen is form and "names no folder" in str(
            form.query_one("#error-base").render()
        )
        field.value = "run:runs/20250101-000000-conv"
        form.query_one("#param-trainable").value = True
        form.submit()
        await pilot.pause()
        assert chosen[0].params == {"base": "run:runs/20250101-000000-conv", "trainable": True}
