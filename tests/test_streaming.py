"""Data streamed from disk: the same split and scaling as in memory, Parquet row groups, image
folders decoded per batch with damaged files skipped, shards, and real training on both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from layerlab.core import cluster
from layerlab.core.data import DataError, load_dataset, stream
from layerlab.core.data.rows import ImageRows, TableRows, cache_folder
from layerlab.core.spec import DataSpec, Spec, SpecError, loads

from tests.test_data import make_images


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 700 rows, so a few thousand rows cross several chunks."""
    monkeypatch.setattr(stream, "CHUNK_ROWS", 700)


def mixed_table(path: Path, n: int = 4000) -> Path:
    """Numbers with gaps, an index column, a constant one, a text column and a text target."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(n, 5)) * [1, 10, 100, 0.1, 5], columns=list("abcde"))
    frame.insert(0, "id", np.arange(1, n + 1))
    frame["constant"] = 7.0
    frame.loc[rng.choice(n, 60, replace=False), "b"] = np.nan
    frame["colour"] = rng.choice(["red", "green", "blue"], n)
    frame["label"] = rng.choice(["good", "bad", "bad"], n)
    if path.suffix == ".parquet":
        frame.to_parquet(path, row_group_size=500)
    else:
        frame.to_csv(path, index=False)
    return path


def both(path: Path, **data) -> tuple:
    spec = DataSpec(path=str(path), target="label", **data)
    whole = load_dataset(Spec(data=DataSpec(**{**spec.__dict__, "stream": False})))
    streamed = load_dataset(Spec(data=DataSpec(**{**spec.__dict__, "stream": True})))
    return whole, streamed


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_streamed_table_splits_and_scales_as_in_memory(tmp_path, small_chunks, suffix):
    path = mixed_table(tmp_path / f"mixed{suffix}")
    whole, streamed = both(path, features_scale="minmax")
    assert isinstance(streamed.x_train, TableRows) and isinstance(whole.x_train, np.ndarray)
    assert streamed.notes[0].startswith("streamed from disk (stream = true)")
    assert streamed.notes[1:] == whole.notes  # every step taken, in the same words
    assert streamed.feature_names == whole.feature_names
    assert "id" not in whole.feature_names and "constant" not in whole.feature_names
    assert np.array_equal(streamed.y_train, whole.y_train)
    assert np.array_equal(streamed.y_valid, whole.y_valid)
    # The same rows in the same order, min-max scaled exactly alike.
    assert np.array_equal(streamed.x_train[:], whole.x_train)
    assert np.array_equal(streamed.x_valid[:], whole.x_valid)
    assert any("filled" in note and "b (" in note for note in whole.notes)


def test_standardised_streamed_table_matches_within_rounding(tmp_path, small_chunks):
    whole, streamed = both(mixed_table(tmp_path / "mixed.csv"), features_scale="standard")
    scale_w, scale_s = whole.metadata["feature_scaler"], streamed.metadata["feature_scaler"]
    assert np.allclose(scale_s.offset, scale_w.offset, rtol=1e-6, atol=0)
    assert np.allclose(scale_s.factor, scale_w.factor, rtol=1e-6, atol=0)
    assert np.allclose(streamed.x_train[:], whole.x_train, rtol=1e-5, atol=1e-6)


def test_parquet_with_several_row_groups_streams_in_chunks(tmp_path, monkeypatch):
    path = mixed_table(tmp_path / "groups.parquet", n=3000)
    import pyarrow.parquet as pq

    assert pq.ParquetFile(path).num_row_groups == 6
    seen = []
    real = stream.table_chunks
    monkeypatch.setattr(
        stream, "table_chunks", lambda *a, **k: (seen.append(len(c)) or c for c in real(*a, **k))
    )
    monkeypatch.setattr(stream, "CHUNK_ROWS", 1000)
    data = load_dataset(
        Spec(data=DataSpec(path=str(path), target="label", stream=True)),
        progress=lambda done: seen.append(done),
    )
    assert [s for s in seen if isinstance(s, int)] == [1000, 1000, 1000]
    assert seen[-1] == 1.0
    assert len(data.x_train) + len(data.x_valid) == 3000


def test_auto_streams_what_would_not_fit(tmp_path, monkeypatch):
    path = mixed_table(tmp_path / "mixed.csv", n=500)
    spec = Spec(data=DataSpec(path=str(path), target="label"))
    assert isinstance(load_dataset(spec).x_train, np.ndarray)  # "auto": small, in memory
    monkeypatch.setattr(stream, "available_memory", lambda: 40_000)
    data = load_dataset(spec)
    assert isinstance(data.x_train, TableRows)
    assert "more than" in data.notes[0] and "a quarter of the" in data.notes[0]


def test_stream_setting_is_checked():
    with pytest.raises(SpecError) as caught:
        loads('[data]\nname = "linear"\nstream = "yes"\n[[layers]]\ntype = "Dense"\nunits = 1\n')
    assert 'expected true, false or "auto"' in str(caught.value)
    assert "data.stream" in str(caught.value)


def test_the_streamed_copy_leaves_nothing_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_CACHE", str(tmp_path / "cache"))
    left = tmp_path / "cache" / "stream-999999999-1.f32"  # a killed process's copy
    left.parent.mkdir()
    left.write_bytes(b"\0" * 64)
    _, streamed = both(mixed_table(tmp_path / "mixed.csv", n=300))
    assert cache_folder() == tmp_path / "cache"
    assert list((tmp_path / "cache").iterdir()) == []  # mapped, then its name removed
    assert streamed.x_train[:5].shape == (5, len(streamed.feature_names))


def test_text_later_in_a_number_column_is_refused_with_the_rows(tmp_path, small_chunks):
    path = tmp_path / "late.csv"
    rows = [f"{i},{i % 3}" for i in range(3000)] + ["oops,1"]
    path.write_text("x,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError) as caught:
        load_dataset(Spec(data=DataSpec(path=str(path), target="label", stream=True)))
    assert "column 'x' holds numbers in its first rows but text in rows" in str(caught.value)


# -- image folders --------------------------------------------------------------------------------


def test_image_folder_streams_and_skips_damaged_files(tmp_path):
    make_images(tmp_path / "pets", ("cat", "dog"), 6, (20, 24, 3))
    (tmp_path / "pets" / "cat" / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "pets" / "dog" / "empty.jpg").write_bytes(b"")
    spec = DataSpec(path=str(tmp_path / "pets"), seed=3)
    whole = load_dataset(Spec(data=DataSpec(**{**spec.__dict__, "stream": False})))
    streamed = load_dataset(Spec(data=DataSpec(**{**spec.__dict__, "stream": True})))
    for data in (whole, streamed):
        assert any(n.startswith("skipped 2 file(s) that cannot be read") for n in data.notes)
        assert len(data.x_train) + len(data.x_valid) == 12
    assert isinstance(streamed.x_train, ImageRows)
    assert np.array_equal(streamed.x_train[:], whole.x_train)  # decoded alike, scaled alike
    assert np.array_equal(streamed.raw_x_valid[:], whole.raw_x_valid)
    assert whole.x_train.max() <= 1.0 and whole.raw_x_valid.max() > 1.0


def test_large_images_default_to_128_and_valid_path_is_used(tmp_path):
    make_images(tmp_path / "train", ("car", "truck"), 3, (150, 200, 3))
    make_images(tmp_path / "elsewhere", ("car", "truck"), 2, (150, 200, 3))
    spec = loads(
        '[data]\npath = "train"\nvalid_path = "elsewhere"\nstream = true\n'
        '[[layers]]\ntype = "Flatten"\n[[layers]]\ntype = "Dense"\nunits = 1\n'
        'activation = "sigmoid"\n',
        base_dir=tmp_path,
    )
    data = load_dataset(spec)
    assert data.input_shape == (128, 128, 3)
    assert len(data.x_train) == 6 and len(data.x_valid) == 4 and list(data.y_valid) == [0, 0, 1, 1]
    assert "4 in elsewhere/" in " ".join(data.notes)
    assert "resized to 128×128" in data.notes[0]


# -- shards and training ----------------------------------------------------------------------------


def test_each_process_streams_only_its_shard(tmp_path, small_chunks):
    _, streamed = both(mixed_table(tmp_path / "mixed.csv", n=1000))
    mine, info = cluster.shard(streamed, cluster.Cluster("127.0.0.1:1", 3, 1, 10.0))
    assert isinstance(mine.x_train, TableRows)
    assert list(mine.x_train.index) == list(streamed.x_train.index[1 : 3 * (700 // 3) : 3])
    assert info["train_rows"]["count"] == len(mine.x_train) == 700 // 3
    assert np.array_equal(mine.x_train[:], streamed.x_train[np.arange(1, 3 * 233, 3)])


def test_streamed_runs_train_headless(tmp_path):
    """A streamed table and a streamed image folder train, under TensorFlow and under JAX."""
    mixed_table(tmp_path / "mixed.csv", n=800)
    make_images(tmp_path / "pets", ("cat", "dog"), 8, (16, 16, 3))
    (tmp_path / "table.toml").write_text(
        '[data]\npath = "mixed.csv"\ntarget = "label"\nstream = true\n'
        '[[layers]]\ntype = "Dense"\nunits = 8\nactivation = "relu"\n'
        '[[layers]]\ntype = "Dense"\nunits = 1\nactivation = "sigmoid"\n'
        '[compile]\nloss = "binary_crossentropy"\nmetrics = ["binary_accuracy"]\n'
        "[fit]\nepochs = 3\nbatch_size = 64\n"
    )
    (tmp_path / "images.toml").write_text(
        '[data]\npath = "pets"\nstream = true\n'
        '[[layers]]\ntype = "Conv2D"\nfilters = 4\nkernel_size = 3\nactivation = "relu"\n'
        '[[layers]]\ntype = "Flatten"\n'
        '[[layers]]\ntype = "Dense"\nunits = 1\nactivation = "sigmoid"\n'
        '[compile]\nloss = "binary_crossentropy"\n'
        "[fit]\nepochs = 2\nbatch_size = 4\n"
    )
    for backend, spec in (("jax", "table.toml"), ("tensorflow", "images.toml")):
        env = {**os.environ, "KERAS_BACKEND": backend}
        done = subprocess.run(
            [sys.executable, "-m", "layerlab", "train", spec, "--runs-dir", "runs", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert '"event": "epoch_end"' in done.stdout
        run = sorted((tmp_path / "runs").iterdir())[-1]
        history = pd.read_csv(run / "history.csv")
        assert len(history) >= 2 and history["val_loss"].notna().all()
        assert (run / "model.keras").stat().st_size > 0


def test_a_streamed_jax_run_imports_no_tensorflow(tmp_path):
    mixed_table(tmp_path / "mixed.csv", n=600)
    make_images(tmp_path / "pets", ("cat", "dog"), 4, (16, 16, 3))
    code = """
import sys
from layerlab.core.spec import loads
from layerlab.core.session import TrainingSession
for data in ('path = "mixed.csv"\\ntarget = "label"', 'path = "pets"'):
    spec = loads("[data]\\n" + data + "\\nstream = true\\n[[layers]]\\ntype = \\"Flatten\\"\\n"
                 "[[layers]]\\ntype = \\"Dense\\"\\nunits = 1\\nactivation = \\"sigmoid\\"\\n"
                 "[compile]\\nloss = \\"binary_crossentropy\\"\\n[fit]\\nepochs = 1\\nbatch_size = 8\\n",
                 base_dir=__import__("pathlib").Path("."))
    session = TrainingSession(spec, runs_dir="runs")
    assert session.run().event == "finished"
print(sorted(m for m in sys.modules if m.split(".")[0] == "tensorflow"))
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "KERAS_BACKEND": "jax"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
