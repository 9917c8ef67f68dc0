"""LayerlabCallback: a plain Keras script's own fit writes a run folder layerlab reads and follows."""

import json
import os
import subprocess
import sys

import keras
import pytest
from layerlab.core import runs
from layerlab.core.handle import FolderRun

SCRIPT = """
import sys
import numpy as np
import keras
from layerlab import LayerlabCallback

keras.utils.set_random_seed(0)
x = np.random.default_rng(0).random((120, 3)).astype("float32")
y = (x @ np.array([1.0, -2.0, 0.5], dtype="float32")).astype("float32")
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
extra = [keras.callbacks.EarlyStopping(patience=0, min_delta=10.0)] if "--early" in sys.argv else []
model.fit(x, y, validation_split=0.25, batch_size=30, epochs=4, verbose=0,
          callbacks=[LayerlabCallback(sys.argv[1], name="plain script"), *extra])
print("tensorflow imported:", "tensorflow" in sys.modules)
"""


def run_script(tmp_path, *args, backend="tensorflow"):
    script = tmp_path / "plain.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "runs"), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (folder,) = runs.list_runs(tmp_path / "runs")
    return folder, done.stdout


def test_a_plain_script_writes_a_run_folder_read_as_finished(tmp_path):
    record, _ = run_script(tmp_path)

    assert record.problem is None and record.status == "completed"
    assert record.name == "plain-script"
    assert [row["epoch"] for row in record.history] == [1, 2, 3, 4]
    assert {"loss", "mae", "val_loss", "val_mae"} <= set(record.history[0])
    assert [e["event"] for e in record.events] == ["run_started"] + ["epoch_end"] * 4 + ["finished"]
    done = record.finished
    assert done["epochs_run"] == 4 and done["run_dir"] == str(record.path.resolve())
    best = min(record.history, key=lambda row: row["val_loss"])
    assert done["best_epoch"] == best["epoch"] and record.best["val_loss"] == best["val_loss"]
    # Spec-less: the summary and compile settings stand in for spec.toml.
    assert not (record.path / "spec.toml").exists()
    text = (record.path / "model.txt").read_text()
    assert "optimizer: SGD" in text and "learning_rate: 0.05" in text and "loss: mse" in text
    assert "metrics: ['mae']" in text and "Dense" in text
    assert "why it stopped" in (record.path / "summary.txt").read_text()
    assert json.loads((record.path / "provenance.json").read_text())["backend"] == "tensorflow"
    # model.keras holds the best epoch and loads in safe mode.
    model = keras.saving.load_model(record.path / "model.keras", safe_mode=True)
    assert model.count_params() == 3 * 4 + 4 + 4 + 1
    # The app's run handle follows the same folder.
    handle = FolderRun(record.path)
    handle.refresh()
    assert handle.spec is None and handle.status == "completed" and len(handle.history) == 4
    assert not handle.live


def test_under_jax_with_early_stopping_it_imports_no_tensorflow(tmp_path):
    pytest.importorskip("jax")
    record, out = run_script(tmp_path, "--early", backend="jax")

    assert "tensorflow imported: False" in out
    assert record.status == "early_stopping" and len(record.history) < 4
    assert json.loads((record.path / "provenance.json").read_text())["backend"] == "jax"
    assert (record.path / "model.keras").is_file()


def test_without_validation_the_loss_is_monitored_and_every_row_read(tmp_path):
    import numpy as np

    from layerlab import LayerlabCallback

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((40, 2)).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    callback = LayerlabCallback(tmp_path / "runs", name="no-valid")
    model.fit(x, x.sum(1), epochs=3, batch_size=20, verbose=0, callbacks=[callback])

    record = runs.read_run(callback.run_dir)
    assert record.status == "completed" and record.problem is None
    assert [row["epoch"] for row in record.history] == [1, 2, 3]  # Keras' NA val_ columns
    assert set(record.best) == {"loss"} and (callback.run_dir / "model.keras").is_file()
    assert not (callback.run_dir / ".lock").exists() or runs.writer_pid(callback.run_dir) is None


async def test_layerlab_watch_follows_a_plain_scripts_run(tmp_path, monkeypatch):
    """The callback's folder, opened with `layerlab watch`: curves and summary as the files say."""
    from layerlab.core.follow import find_run
    from layerlab.tui.app import LayerlabApp
    from layerlab.tui.jobs import EngineInfo

    record, _ = run_script(tmp_path, backend="jax")
    app = LayerlabApp(
        None,
        engine_probe=lambda: EngineInfo("jax", ("CPU",)),
        watch=find_run(str(tmp_path / "runs")),
    )
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(200):
            if app.current_run is not None and app.current_run.ending is not None:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        screen = app.screen
        assert screen.MODE == "train" and app.current_run.status == "completed"
        assert screen.curves.epochs == [1, 2, 3, 4]
        losses = [row["val_loss"] for row in record.history]
        assert screen.curves.series["val_loss"] == pytest.approx(losses)
        assert "from a Keras script (no spec)" in screen.log_view.text
        assert screen.query_one("#train-summary").border_title == "finished"
