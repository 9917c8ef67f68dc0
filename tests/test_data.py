"""Data loading: built-in sets, table files and their rough edges, image folders, Keras' sets offline."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from layerlab.core.data import (
    DataError,
    Dataset,
    builtin_names,
    describe_builtin,
    infer_task,
    load_dataset,
    read_table,
)
from layerlab.core.spec import DataSpec, Spec


def load(**data) -> Dataset:
    return load_dataset(Spec(data=DataSpec(**data)))


def table(tmp_path, text: str, name: str = "t.csv", **data):
    """Writes `text` to a file and loads it (target "y" unless given)."""
    path = tmp_path / name
    path.write_text(text)
    data.setdefault("target", "y")
    return load(path=str(path), **data)


def error(**data) -> str:
    with pytest.raises(DataError) as caught:
        load(**data)
    message = str(caught.value)
    assert "\n" not in message
    return message


# -- built-in sets ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", builtin_names())
def test_each_builtin_loads_as_described(name):
    info = describe_builtin(name)
    data = load(name=name)
    assert data.task == info.task and data.input_shape == info.input_shape
    assert data.x_train.shape[1:] == info.input_shape == data.x_valid.shape[1:]
    assert len(data.x_train) + len(data.x_valid) == info.samples
    assert len(data.y_train) == len(data.x_train) and len(data.y_valid) == len(data.x_valid)
    assert data.x_train.dtype == np.float32 and not np.isnan(data.x_train).any()
    assert data.is_image == (len(info.input_shape) == 3)
    if info.task == "regression":
        assert data.y_train.dtype == np.float32 and data.n_classes == 0
    else:
        assert data.y_train.dtype == np.int32 and data.n_classes == len(data.class_names) >= 2
        assert set(np.unique(data.y_train)) == set(range(data.n_classes))
    if data.is_image:
        assert data.x_train.min() >= 0 and data.x_train.max() <= 1
        assert np.allclose(data.raw_x_valid, data.metadata["pixel_max"] * data.x_valid)
    else:
        assert len(data.feature_names) == info.input_shape[0] and data.frame is not None


def test_builtin_classes_keep_their_names():
    assert load(name="breast_cancer").class_names == ["malignant", "benign"]
    assert load(name="iris").class_names == ["setosa", "versicolor", "virginica"]
    assert load(name="digits").class_names == [str(d) for d in range(10)]
    assert load(name="stripes").class_names == ["horizontal", "vertical"]


def test_linear_gives_back_w_and_b():
    raw = load(name="linear", features_scale="none")
    w, b = np.polyfit(raw.x_train[:, 0], raw.y_train, 1)
    assert abs(w - 2.5) < 0.02 and abs(b - 1.0) < 0.02
    assert (raw.metadata["w"], raw.metadata["b"]) == (2.5, 1.0)
    assert "w ≈ 2.5, b ≈ 1.0" in raw.notes[0]
    # Scaled, the notes say which w and b a Dense(1) will find instead.
    scaled = load(name="linear", features_scale="standard", target_scale="minmax")
    w, b = np.polyfit(scaled.x_train[:, 0], scaled.y_train, 1)
    assert abs(w - scaled.metadata["w_model"]) < 0.01 and abs(b - scaled.metadata["b_model"]) < 0.01
    assert f"w ≈ {scaled.metadata['w_model']:.4g}" in scaled.notes[0]


def test_unknown_builtin_lists_the_names():
    message = error(name="mnist")
    assert "'mnist'" in message and "breast_cancer" in message and "keras:mnist" in message


def test_same_seed_same_split_other_seed_another():
    first, again, other = (load(name="breast_cancer", seed=s) for s in (0, 0, 1))
    assert np.array_equal(first.x_valid, again.x_valid) and np.array_equal(
        first.y_train, again.y_train
    )
    assert not np.array_equal(first.y_valid, other.y_valid)


def test_no_validation_split_at_valid_fraction_zero():
    data = load(name="iris", valid_fraction=0.0)
    assert data.x_valid is None and data.y_valid is None and len(data.x_train) == 150
    assert "valid_fraction = 0" in " ".join(data.notes)


# -- the course's red wine ----------------------------------------------------------------------


def test_red_wine_is_regression_scaled_on_the_training_split(red_wine):
    data = load(
        path=str(red_wine), target="quality", features_scale="minmax", target_scale="minmax"
    )
    assert (
        data.task == "regression"
        and data.input_shape == (11,)
        and "quality" not in data.feature_names
    )
    assert "6 integer values (3–8)" in data.task_reason
    assert len(data.x_train) == 1119 and len(data.x_valid) == 480
    assert np.allclose(data.x_train.min(axis=0), 0) and np.allclose(data.x_train.max(axis=0), 1)
    # Fitted on training rows only: some validation values fall outside 0–1.
    assert data.x_valid.min() < 0 or data.x_valid.max() > 1
    assert data.y_train.min() == 0 and data.y_train.max() == 1
    restored = data.target_scaler.inverse_transform(data.y_valid.reshape(-1, 1))
    assert set(np.round(restored).ravel()) <= {3, 4, 5, 6, 7, 8}
    assert len(data.frame) == 1599 and "quality" in data.frame


def test_red_wine_quality_as_classes_when_asked(red_wine):
    data = load(path=str(red_wine), target="quality", task="multiclass")
    assert data.n_classes == 6 and data.class_names == ["3", "4", "5", "6", "7", "8"]
    assert "task set in the spec" in data.task_reason
    assert "binary" in error(path=str(red_wine), target="quality", task="binary")


# -- table files and their rough edges ----------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "task", "words"),
    [
        ([0.5, 1.25, 2.0, 3.5], "regression", "non-integer"),
        ([3, 4, 5, 6, 7, 8], "regression", "6 integer values (3–8)"),
        ([0, 1, 2, 1, 0], "multiclass", "class codes"),
        ([2, 4, 2, 4], "binary", "2 values"),
        (["cat", "dog", "cat"], "binary", "2 text labels"),
        (["a", "b", "c"], "multiclass", "3 text labels"),
        (["1.5", "2.5", "7.25"], "regression", "non-integer"),
    ],
)
def test_infer_task_says_why(values, task, words):
    inferred, reason = infer_task(pd.Series(values, name="target"))
    assert inferred == task and words in reason and reason.startswith("target")


def test_quoted_numbers_are_numbers(tmp_path):
    data = table(
        tmp_path,
        '"a","b","y"\n"1.5","2",0.5\n"2.5","4",1.5\n"3.5","8",2.5\n"4.5","9",3.5\n',
        features_scale="none",
        valid_fraction=0.0,
    )
    assert data.feature_names == ["a", "b"] and data.task == "regression"
    assert sorted(data.x_train[:, 0]) == [1.5, 2.5, 3.5, 4.5]


def test_semicolons_and_decimal_commas(tmp_path):
    data = table(
        tmp_path,
        "a;b;y\n1,5;2;x\n2,5;4;z\n3,5;8;x\n4,5;9;z\n",
        features_scale="none",
        valid_fraction=0.0,
    )
    assert data.feature_names == ["a", "b"] and sorted(data.x_train[:, 0]) == [1.5, 2.5, 3.5, 4.5]
    assert "numbers written as text (quoted, or with decimal commas) in: a" in " ".join(data.notes)
    assert data.class_names == ["x", "z"] and data.task == "binary"


def test_index_and_constant_columns_are_dropped(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"id": range(1, 41), "same": 7, "a": rng.normal(size=40), "y": rng.normal(size=40)}
    )
    frame.to_csv(tmp_path / "t.csv")  # writes the index as an unnamed first column too
    data = load(path=str(tmp_path / "t.csv"), target="y")
    assert data.feature_names == ["a"]
    notes = " ".join(data.notes)
    assert "'Unnamed: 0'" in notes and "'id'" in notes and "constant" in notes and "same" in notes


def test_a_counting_column_is_kept_when_it_is_the_only_feature(tmp_path):
    data = table(tmp_path, "x,y\n1,2\n2,4\n3,6\n4,8\n", features_scale="none", valid_fraction=0.0)
    assert data.feature_names == ["x"] and sorted(data.x_train[:, 0]) == [1, 2, 3, 4]
    assert "kept index-like" in " ".join(data.notes)


def test_string_labels_are_encoded_and_named(tmp_path):
    rows = "\n".join(
        f"{i},{i % 7},{s}"
        for i, s in zip(range(30), ["setosa", "virginica", "versicolor"] * 10, strict=True)
    )
    data = table(tmp_path, "a,b,y\n" + rows + "\n", valid_fraction=0.0)
    assert data.task == "multiclass" and data.class_names == ["setosa", "versicolor", "virginica"]
    assert list(data.y_train[:3]) == [0, 2, 1]
    assert "setosa → 0" in " ".join(data.notes)


def test_text_features_are_one_hot_encoded(tmp_path):
    rows = "\n".join(f"{c},{i % 4},{i % 2}" for i, c in enumerate(["red", "green", "blue"] * 6))
    data = table(tmp_path, "colour,n,y\n" + rows + "\n", features_scale="none", valid_fraction=0.0)
    assert data.feature_names == ["n", "colour_blue", "colour_green", "colour_red"]
    assert data.x_train[:, 1:].sum(axis=1).tolist() == [1.0] * 18
    assert "one-hot" in " ".join(data.notes)


def test_free_text_feature_is_refused_by_name(tmp_path):
    rows = "\n".join(f"person {i},{i % 9},{i % 2}" for i in range(80))
    path = tmp_path / "people.csv"
    path.write_text("name,n,y\n" + rows + "\n")
    message = error(path=str(path), target="y")
    assert (
        "people.csv" in message
        and "'name'" in message
        and "80 different values" in message
        and "drop" in message
    )
    assert table(tmp_path, "name,n,y\n" + rows + "\n", drop=["name"]).feature_names == ["n"]


def test_missing_values_are_filled_with_the_training_median_and_reported(tmp_path):
    a = [str(float(i * i % 17)) for i in range(20)]
    a[3] = a[11] = ""
    y = [str(i % 5 + 0.5) for i in range(20)]
    y[5] = ""
    rows = [
        f"{100 - i},{p},{q}" for i, (p, q) in enumerate(zip(a, y, strict=True))
    ]  # k names the row
    data = table(tmp_path, "k,a,y\n" + "\n".join(rows) + "\n", features_scale="none")
    assert len(data.x_train) + len(data.x_valid) == 19
    notes = " ".join(data.notes)
    assert "dropped 1 row(s) whose target 'y' is missing" in notes
    assert "filled 2 missing value(s) with the training split's median: a (2)" in notes
    gaps = {100 - 3, 100 - 11}
    known = [a_ for k, a_ in data.x_train if k not in gaps]
    for k, a_ in np.concatenate([data.x_train, data.x_valid]):
        if k in gaps:
            assert a_ == np.median(known)
    assert np.median(known) != np.median(
        [float(v) for v in a if v]
    )  # the training split's own median


def test_tsv_and_parquet(tmp_path):
    frame = pd.DataFrame({"a": np.arange(10.0) * 1.5, "b": np.arange(10.0) ** 2, "y": [0, 1] * 5})
    frame.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    for name in ("t.tsv", "t.parquet"):
        data = load(path=str(tmp_path / name), target="y", valid_fraction=0.2)
        assert data.feature_names == ["a", "b"] and data.task == "binary" and data.name == name
        assert read_table(tmp_path / name).shape == (10, 3)


@pytest.mark.parametrize(
    ("name", "text", "target", "words"),
    [
        ("empty.csv", "", "y", "empty.csv: is empty"),
        ("header.csv", "a,y\n", "y", "no rows"),
        ("t.csv", "a,quality\n1,2\n3,4\n", "qualty", "did you mean 'quality'?"),
        ("t.csv", "a,quality\n1,2\n3,4\n", None, "the columns are: a, quality"),
        ("t.csv", "a,y\n1,2\n3,2\n5,2\n", "y", "single value (2)"),
        ("t.xlsx", "a,y\n1,2\n", "y", "unsupported file type .xlsx"),
    ],
)
def test_bad_table_files_say_what_and_where(tmp_path, name, text, target, words):
    path = tmp_path / name
    path.write_text(text)
    message = error(path=str(path), target=target)
    assert words in message and name in message


def test_missing_file_and_unknown_drop(tmp_path):
    assert "no such file" in error(path=str(tmp_path / "nope.csv"), target="y")
    path = tmp_path / "t.csv"
    path.write_text("a,y\n1,2\n3,4\n")
    assert "data.drop names 'b'" in error(path=str(path), target="y", drop=["b"])


# -- images -------------------------------------------------------------------------------------


def make_images(folder, classes, count, shape):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in classes:
        (folder / label).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, shape(i) if callable(shape) else shape, dtype=np.uint8)
            Image.fromarray(pixels).save(folder / label / f"{i}.png")


def test_image_folder_loads_with_class_names(tmp_path):
    make_images(tmp_path / "pets", ("cat", "dog"), 4, (20, 24, 3))
    data = load(path=str(tmp_path / "pets"), valid_fraction=0.25)
    assert data.is_image and data.class_names == ["cat", "dog"] and data.task == "binary"
    assert data.x_train.shape == (6, 20, 24, 3) and data.x_valid.shape == (2, 20, 24, 3)
    assert data.input_shape == (20, 24, 3) and data.x_train.min() >= 0 and data.x_train.max() <= 1
    assert (
        data.raw_x_valid.max() > 1
        and sorted(np.concatenate([data.y_train, data.y_valid])) == [0] * 4 + [1] * 4
    )
    smaller = load(path=str(tmp_path / "pets"), image_size=[8, 10], features_scale="none")
    assert smaller.input_shape == (8, 10, 3) and smaller.x_train.max() > 1
    assert "resized to 8×10" in smaller.notes[0]


def test_image_folder_with_its_own_train_and_valid_split(tmp_path):
    make_images(tmp_path / "cars" / "train", ("car", "truck", "van"), 3, lambda i: (30 + i, 40))
    make_images(tmp_path / "cars" / "valid", ("car", "truck", "van"), 1, (30, 40))
    data = load(path=str(tmp_path / "cars"))
    assert data.task == "multiclass" and data.class_names == ["car", "truck", "van"]
    assert data.x_train.shape == (9, 32, 40, 1) and data.x_valid.shape == (3, 32, 40, 1)
    assert list(data.y_valid) == [0, 1, 2] and "differ in size" in data.notes[0]


def test_bad_image_folders(tmp_path):
    (tmp_path / "flat").mkdir()
    assert "no class sub-folders" in error(path=str(tmp_path / "flat"))
    (tmp_path / "two" / "a").mkdir(parents=True)
    (tmp_path / "two" / "b").mkdir()
    (tmp_path / "two" / "a" / "x.png").write_bytes(b"not a png")
    message = error(path=str(tmp_path / "two"))
    assert message.endswith("b: has no images; expected .png, .jpg, .jpeg, .bmp, .gif, .webp files")
    (tmp_path / "two" / "b" / "y.png").write_bytes(b"not a png either")
    message = error(path=str(tmp_path / "two"))
    assert "x.png" in message and "none of the 2 files can be read as an image" in message


# -- Keras' sets, without a network -------------------------------------------------------------


def test_keras_mnist_offline_is_a_clear_error(monkeypatch):
    import keras

    def offline():
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/mnist.npz: None -- [Errno -3] Temporary failure in name resolution"
        )

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    message = error(name="keras:mnist")
    assert message.startswith("could not download mnist: no network?") and "digits" in message


def test_keras_set_uses_its_test_images_for_validation(monkeypatch):
    import keras

    fake = (
        (np.full((6, 28, 28), 255, np.uint8), np.arange(6) % 10),
        (np.zeros((4, 28, 28), np.uint8), np.arange(4)),
    )
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: fake)
    data = load(name="keras:mnist")
    assert data.input_shape == (28, 28, 1) and data.x_train.max() == 1 and len(data.x_valid) == 4
    assert data.n_classes == 10 and data.task == "multiclass"
    assert "unknown Keras data set" in error(name="keras:imagenet")


def test_importing_core_data_loads_no_keras_and_no_ui():
    code = "import sys, layerlab.core.data; print(sorted({m.split('.')[0] for m in sys.modules} & {'keras', 'tensorflow', 'textual', 'plotext', 'sklearn'}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
