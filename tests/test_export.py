"""layerlab export: a plain Keras script that runs without layerlab and reproduces its split,
its preparation and (within noise) its best validation loss; bad input refused in one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from layerlab.core import export
from layerlab.core import spec as specs
from layerlab.core.cli import main
from layerlab.core.data import load_dataset
from layerlab.core.session import TrainingSession
from layerlab.screens.build import BuildScreen

from tests.conftest import ROOT
from tests.conftest_app import make_app, settle, write_spec

EPOCHS = 6

ION = """
name = "ion"
[data]
path = "ion.csv"
target = "Class"
[[layers]]
type = "Dense"
units = 16
activation = "relu"
[[layers]]
type = "Dropout"
rate = 0.2
[[layers]]
type = "Dense"
units = 1
activation = "sigmoid"
[compile]
metrics = ["auto"]
[fit]
batch_size = 32
epochs = 100
[fit.early_stopping]
patience = 5
"""

MIXED = """
name = "mixed"
[data]
path = "mixed.csv"
target = "label"
features_scale = "standard"
[[layers]]
type = "Dense"
units = 3
activation = "softmax"
"""


def _bare_python(script: Path, epochs: int) -> subprocess.CompletedProcess:
    """Runs `script` where layerlab cannot be imported: no site processing (so the editable
    install's hook is not loaded), only site-packages on the path, the cwd a folder of its own."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "EPOCHS": str(epochs),
    }
    no_layerlab = subprocess.run(
        [sys.executable, "-S", "-c", "import layerlab"],
        env=env,
        cwd=script.parent,
        capture_output=True,
    )
    assert no_layerlab.returncode != 0, "layerlab must not be importable where the script runs"
    done = subprocess.run(
        [sys.executable, "-S", script.name],
        env=env,
        cwd=script.parent,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _layerlab_best(spec_path: Path, epochs: int, tmp_path: Path) -> tuple[float, int, int]:
    spec = specs.load(spec_path)
    spec.fit.epochs = epochs
    session = TrainingSession(spec, runs_dir=tmp_path / "runs")
    done = session.run()
    data = session.prep.dataset
    return float(done.best["val_loss"]), len(data.x_train), len(data.x_valid)


def _script_numbers(output: str) -> tuple[float, int, int]:
    rows = re.search(r"(\d+) training rows, (\d+) validation rows", output)
    best = re.search(r"Best validation loss: ([0-9.eE+-]+)", output)
    assert rows and best, output[-2000:]
    return float(best.group(1)), int(rows.group(1)), int(rows.group(2))


def _prepared(script: Path) -> dict:
    """The script's own data, split and preparation (everything before the model), run here."""
    text = script.read_text().split("# The model:")[0]
    scope = {"__file__": str(script), "__name__": "exported"}
    exec(compile(text, str(script), "exec"), scope)
    return scope


@pytest.mark.parametrize("spec_name", ["red_wine", "ion"])
def test_the_script_runs_without_layerlab_and_matches_a_layerlab_run(spec_name, tmp_path):
    folder = tmp_path / "spec"
    folder.mkdir()
    if spec_name == "red_wine":
        spec_path = ROOT / "examples" / "red_wine.toml"
    else:
        spec_path = folder / "ion.toml"
        spec_path.write_text(ION)
        (folder / "ion.csv").write_bytes((ROOT / "examples" / "ion.csv").read_bytes())
    out = tmp_path / "bare" / f"{spec_name}_keras.py"
    assert main(["export", str(spec_path), "-o", str(out)]) == 0
    text = out.read_text()
    assert "import layerlab" not in text and "from layerlab" not in text
    assert "keras.Sequential" in text and "keras.callbacks.EarlyStopping" in text
    ran = _script_numbers(_bare_python(out, EPOCHS).stdout)
    best, n_train, n_valid = _layerlab_best(spec_path, EPOCHS, tmp_path)
    assert ran[1:] == (n_train, n_valid)  # the same split
    assert ran[0] == pytest.approx(best, rel=0.15)  # the same kind of result, within noise


def _mixed_table(path: Path) -> None:
    rng = np.random.default_rng(1)
    lines = ["id,colour,size,flag,constant,label"]
    for i in range(90):
        colour = rng.choice(["red", "blue", " green", ""])
        size = "" if i % 7 == 0 else f'"{rng.uniform(0, 10):.2f}"'.replace(".", ",")
        lines.append(
            f"{i},{colour},{size},{rng.choice(['True', 'False'])},5,{rng.choice(['cat', 'dog', 'eel'])}"
        )
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("kind", ["mixed", "breast_cancer", "spiral", "diabetes"])
def test_the_script_prepares_exactly_the_arrays_layerlab_trains_on(kind, tmp_path):
    if kind == "mixed":  # an index, text numbers with decimal commas, gaps, text, a constant column
        _mixed_table(tmp_path / "mixed.csv")
        spec_path = tmp_path / "mixed.toml"
        spec_path.write_text(MIXED)
        spec = specs.load(spec_path)
    else:
        spec = specs.loads(ION.replace('path = "ion.csv"', f'name = "{kind}"'))
        if kind == "spiral":
            spec.data.valid_fraction = 0.0
        if kind == "diabetes":
            spec.layers[-1].params.pop("activation")
            spec.data.features_scale, spec.data.target_scale = "minmax", "standard"
    script = export.export(spec, tmp_path / "out" / "script_keras.py").script
    data = load_dataset(spec)
    found = _prepared(script)
    np.testing.assert_allclose(found["X_train"], data.x_train, atol=1e-5)
    np.testing.assert_array_almost_equal(found["y_train"], data.y_train, decimal=5)
    if data.x_valid is not None:
        np.testing.assert_allclose(found["X_valid"], data.x_valid, atol=1e-5)
        np.testing.assert_array_almost_equal(found["y_valid"], data.y_valid, decimal=5)
    text = script.read_text()
    if kind == "mixed":
        assert "pd.get_dummies" in text and "as_number" in text and "median" in text
        assert "split_rows" in text  # stratified, as layerlab split it
    if kind == "breast_cancer":
        assert "load_breast_cancer(as_frame=True)" in text and "get_dummies" not in text
        assert "median" not in text and "as_number" not in text
    if kind == "spiral":
        assert (script.parent / "spiral.csv").is_file()
        assert "validation_data" not in text


def test_a_run_folder_exports_with_its_model_and_history(tmp_path, monkeypatch):
    spec = specs.loads(ION.replace('path = "ion.csv"', 'name = "breast_cancer"'))
    spec.fit.epochs = 2
    session = TrainingSession(spec, runs_dir=tmp_path / "runs")
    session.run()
    run_dir = session.run_dir
    assert run_dir is not None
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(run_dir), "--with-model"]) == 0
    assert (tmp_path / "ion_keras.py").is_file()
    assert (tmp_path / "ion_model.keras").is_file() and (tmp_path / "ion_history.csv").is_file()
    assert "ion_model.keras" in (tmp_path / "ion_keras.py").read_text()


@pytest.mark.parametrize(
    "case, words",
    [
        ("missing", "no such file"),
        ("folder", "neither a spec file nor a run folder"),
        ("images", "image data set"),
        ("with_model", "give a run folder"),
        ("not_toml", "not valid TOML"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(case, words, tmp_path, capsys):
    target = tmp_path / "x.toml"
    args: list[str] = []
    if case == "folder":
        target = tmp_path
    elif case == "images":
        target.write_text('name = "d"\n[data]\nname = "digits"\n[[layers]]\ntype = "Flatten"\n')
    elif case == "with_model":
        target = ROOT / "examples" / "red_wine.toml"
        args = ["--with-model", "-o", str(tmp_path / "w.py")]
    elif case == "not_toml":
        target.write_text("this is = = not toml")
    assert main(["export", str(target), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err


async def test_the_builder_key_writes_the_script_beside_the_spec(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, BuildScreen)
        assert any(b.action == "export" for b in app.screen.BINDINGS)
        await pilot.press("e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        script = tmp_path / "three_dense_keras.py"
        assert script.is_file()
        assert "keras.Sequential" in script.read_text()
        assert any(str(script) in str(n.message) for n in app._notifications)
