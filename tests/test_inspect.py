"""The Inspect screen's engine: the playground against numpy, pictures, and a real model's insides."""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from layerlab.core.inspect import (
    KERNELS,
    FeatureMapView,
    InspectError,
    conv_kernels,
    dense_weights,
    extract,
    feature_maps,
    grid,
    heat_levels,
    load_picture,
    parse_kernel,
    picture,
    picture_names,
    predict,
)
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image


def _pads(size: int, window: int, stride: int, padding: str) -> tuple[int, int, int]:
    """Output size and the padding before and after, as TensorFlow's 'same' and 'valid' define them."""
    if padding == "valid":
        return (size - window) // stride + 1, 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return out, total // 2, total - total // 2


def _windows(image, window, stride, padding, fill):
    (oh, top, bottom), (ow, left, right) = (
        _pads(image.shape[0], window[0], stride, padding),
        _pads(image.shape[1], window[1], stride, padding),
    )
    padded = np.pad(image, ((top, bottom), (left, right)), constant_values=fill)
    return sliding_window_view(padded, window)[::stride, ::stride][:oh, :ow]


def correlate(image, kernel, stride=1, padding="same"):
    """The course's convolution (a cross-correlation, like tf.nn.conv2d), zero-padded."""
    return np.einsum("ijkl,kl->ij", _windows(image, kernel.shape, stride, padding, 0.0), kernel)


def max_pool(image, size=2, stride=2, padding="same"):
    """Max pooling whose 'same' padding never wins the max."""
    return _windows(image, (size, size), stride, padding, -np.inf).max(axis=(2, 3))


# A 7×7 black picture with a white square: odd-sized, so 'same' and 'valid' differ at stride 2.
SQUARE = np.zeros((7, 7), np.float32)
SQUARE[2:5, 1:4] = 1.0


def test_presets_are_the_courses_kernels():
    assert set(KERNELS) == {"edge", "blur", "bottom_sobel", "emboss", "sharpen"}
    assert all(k.dtype == np.float32 and k.shape == (3, 3) for k in KERNELS.values())
    np.testing.assert_array_equal(KERNELS["bottom_sobel"], [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    np.testing.assert_array_equal(KERNELS["emboss"], [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    np.testing.assert_array_equal(KERNELS["edge"][1], [-1, 8, -1])
    np.testing.assert_array_equal(KERNELS["sharpen"][1], [-1, 5, -1])
    assert KERNELS["blur"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("name", list(KERNELS))
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("stride", [1, 2])
def test_filter_detect_condense_match_numpy(name, padding, stride):
    kernel = KERNELS[name]
    result = extract(SQUARE, kernel, stride=stride, padding=padding)
    expected = correlate(SQUARE, kernel, stride, padding)
    np.testing.assert_array_equal(result.input, SQUARE)
    assert result.filtered.shape == expected.shape
    np.testing.assert_allclose(result.filtered, expected, atol=1e-5)
    np.testing.assert_allclose(result.detected, np.maximum(expected, 0), atol=1e-5)
    np.testing.assert_allclose(result.condensed, max_pool(np.maximum(expected, 0)), atol=1e-5)


def test_same_and_valid_padding_give_the_courses_sizes():
    assert extract(SQUARE, KERNELS["edge"], padding="same").filtered.shape == (7, 7)
    assert extract(SQUARE, KERNELS["edge"], padding="valid").filtered.shape == (5, 5)
    assert extract(SQUARE, KERNELS["edge"], stride=2, padding="same").filtered.shape == (4, 4)
    assert extract(SQUARE, KERNELS["edge"], stride=2, padding="valid").filtered.shape == (3, 3)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize(("size", "stride"), [(2, 2), (3, 2), (3, 1)])
def test_max_pooling_matches_numpy_even_on_negative_values(padding, size, stride):
    values = np.random.default_rng(0).normal(size=(7, 7)).astype(np.float32) - 3.0  # all negative
    identity = np.ones((1, 1), np.float32)
    result = extract(
        values,
        identity,
        activation="linear",
        pool_size=size,
        pool_stride=stride,
        pool_padding=padding,
    )
    expected = max_pool(values, size, stride, padding)
    assert result.condensed.shape == expected.shape
    np.testing.assert_allclose(result.condensed, expected, atol=1e-6)
    assert (result.condensed < 0).all(), "'same' padding must not add zeros to the max"


@pytest.mark.parametrize(
    ("activation", "detect"),
    [("sigmoid", lambda v: 1 / (1 + np.exp(-v))), ("tanh", np.tanh), ("linear", lambda v: v)],
)
def test_detect_uses_the_chosen_activation(activation, detect):
    result = extract(SQUARE, KERNELS["edge"], activation=activation)
    np.testing.assert_allclose(result.detected, detect(result.filtered), atol=1e-5)


def test_bottom_sobel_on_the_courses_circle():
    circle = picture("circle")
    assert circle.shape == (64, 64) and set(np.unique(circle)) == {0.0, 1.0}
    result = extract(
        circle, KERNELS["bottom_sobel"], pool_size=2, pool_stride=2, pool_padding="same"
    )
    assert result.filtered.shape == (64, 64)
    assert result.condensed.shape == (32, 32)
    assert result.filtered.min() < 0 < result.filtered.max()
    assert result.detected.min() == 0.0
    assert result.condensed.max() > 0


def test_bottom_sobel_lights_a_disks_top_edge_and_darkens_its_bottom_edge():
    # Cross-correlation reads (row below − row above): black above white is positive.
    filtered = extract(picture("disk"), KERNELS["bottom_sobel"]).filtered
    top, bottom = filtered[:32], filtered[32:]
    assert top.max() > 0 and top.min() == 0
    assert bottom.min() < 0 and bottom.max() == 0
    assert extract(picture("disk"), KERNELS["bottom_sobel"]).detected[32:].max() == 0


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"padding": "full"}, "'same' or 'valid'"),
        ({"stride": 0}, "stride"),
        ({"pool_size": 1.5}, "pool_size"),
        ({"activation": "nope"}, "unknown activation"),
    ],
)
def test_bad_settings_say_what_is_accepted(kwargs, words):
    with pytest.raises(InspectError, match=words):
        extract(SQUARE, KERNELS["edge"], **kwargs)


def test_a_kernel_larger_than_the_picture_needs_same_padding():
    with pytest.raises(InspectError, match="larger than"):
        extract(np.zeros((2, 2)), KERNELS["edge"], padding="valid")
    with pytest.raises(InspectError, match="grayscale"):
        extract(np.zeros((4, 4, 3)), KERNELS["edge"])


def test_parse_kernel():
    np.testing.assert_array_equal(parse_kernel("-1 -2 -1; 0 0 0\n1, 2, 1"), KERNELS["bottom_sobel"])
    for text, words in [
        ("", "empty"),
        ("1 x; 2 3", "not a number"),
        ("1 2; 3", "different lengths"),
    ]:
        with pytest.raises(InspectError, match=words):
            parse_kernel(text)


@pytest.mark.parametrize("name", picture_names())
def test_built_in_pictures_are_grayscale_in_0_1(name):
    image = picture(name)
    assert image.ndim == 2 and image.dtype == np.float32
    assert 0.0 <= image.min() < image.max() <= 1.0


def test_built_in_picture_sizes_and_names():
    assert picture_names()[0] == "circle"
    assert picture("china").shape[1] == 96
    assert picture("digit").shape == (64, 64)
    with pytest.raises(InspectError, match="circle"):
        picture("moon")


def test_load_picture_reads_grayscale_and_resizes(tmp_path):
    path = tmp_path / "stripes.png"
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, ::2] = 255
    Image.fromarray(pixels).save(path)
    image = load_picture(path)
    assert image.shape == (20, 40) and image.dtype == np.float32
    assert image.max() == 1.0 and image.min() == 0.0
    assert load_picture(path, size=20).shape == (10, 20)
    assert load_picture(str(path), size=(8, 12)).shape == (8, 12)


def test_load_picture_errors_name_the_file(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    for path, words in [
        (tmp_path / "gone.png", "no such file"),
        (tmp_path, "folder"),
        (tmp_path / "notes.png", "not an image"),
    ]:
        with pytest.raises(ValueError, match=words) as caught:
            load_picture(path)
        assert isinstance(caught.value, InspectError) and str(path) in str(caught.value)


def _convnet() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPool2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


SAMPLE = np.random.default_rng(1).uniform(size=(8, 8, 1)).astype(np.float32)


def test_conv_kernels_of_a_convnet():
    model = _convnet()
    (view,) = conv_kernels(model)
    kernel, bias = model.layers[0].get_weights()
    assert (view.name, view.index, view.filters) == (model.layers[0].name, 0, 4)
    assert view.kernel.shape == (3, 3, 1, 4) and view.bias.shape == (4,)
    np.testing.assert_array_equal(view.kernel, kernel)
    assert (view.vmin, view.vmax) == (pytest.approx(kernel.min()), pytest.approx(kernel.max()))
    np.testing.assert_array_equal(view.kernel_of(2), kernel[:, :, 0, 2])


def test_feature_maps_are_the_filtered_detected_condensed_sample():
    model = _convnet()
    conv, pool = feature_maps(model, SAMPLE)
    assert (conv.type, conv.index, conv.maps.shape) == ("Conv2D", 0, (6, 6, 4))
    assert (pool.type, pool.index, pool.maps.shape) == ("MaxPooling2D", 1, (3, 3, 4))
    kernel, bias = model.layers[0].get_weights()
    for c in range(4):
        expected = np.maximum(
            correlate(SAMPLE[:, :, 0], kernel[:, :, 0, c], padding="valid") + bias[c], 0
        )
        np.testing.assert_allclose(conv.channel(c), expected, atol=1e-5)
        np.testing.assert_allclose(pool.channel(c), max_pool(expected, padding="valid"), atol=1e-6)


def test_predict_gives_the_models_probabilities():
    model = _convnet()
    out = predict(model, SAMPLE[:, :, 0])  # a 2-D picture is taken as one channel
    assert out.shape == (3,) and out.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(model(SAMPLE[None]))[0], atol=1e-6)
    with pytest.raises(InspectError, match=r"\(8, 8, 1\)"):
        predict(model, np.zeros((9, 9, 1)))


def test_sequential_built_with_build_or_by_its_first_call():
    for build in (True, False):
        model = keras.Sequential(
            [
                keras.layers.Conv2D(2, 3),
                keras.layers.Activation("relu"),
                keras.layers.AveragePooling2D(2),
            ]
        )
        if build:
            model.build((None, 8, 8, 1))
        maps = feature_maps(model, SAMPLE)
        assert [(m.type, m.maps.shape) for m in maps] == [
            ("Conv2D", (6, 6, 2)),
            ("Activation", (6, 6, 2)),
            ("AveragePooling2D", (3, 3, 2)),
        ]
        assert maps[1].maps.min() >= 0


def test_functional_model_and_a_nested_base():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(3, 3, use_bias=False, name="filter")(inputs)
    x = keras.layers.BatchNormalization(name="norm")(x)
    x = keras.layers.Activation("relu", name="detect")(x)
    base = keras.Model(inputs, keras.layers.MaxPool2D(name="condense")(x), name="base")
    maps = feature_maps(base, SAMPLE)
    assert [m.name for m in maps] == ["filter", "norm", "detect", "condense"]
    assert maps[-1].maps.shape == (3, 3, 3)

    model = keras.Sequential(
        [keras.Input((8, 8, 1)), base, keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    assert [(v.name, v.index, v.bias) for v in conv_kernels(model)] == [("base/filter", 0, None)]
    (nested,) = feature_maps(model, SAMPLE)
    np.testing.assert_allclose(nested.maps, maps[-1].maps, atol=1e-6)


def test_a_linear_unit_reads_as_w_and_b():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.layers[0].set_weights([np.array([[2.5]]), np.array([-0.75])])
    (unit,) = dense_weights(model)
    assert unit.w == [2.5] and unit.b == -0.75
    assert isinstance(unit.w[0], float) and isinstance(unit.b, float)
    assert unit.activation == "linear" and unit.units == 1
    wide = dense_weights(_convnet())[0]
    assert wide.weights.shape == (36, 3) and wide.w is None and wide.b is None


def test_an_unbuilt_model_is_refused_clearly():
    with pytest.raises(InspectError, match="not built"):
        conv_kernels(keras.Sequential([keras.layers.Conv2D(2, 3)]))


def test_grid_pages_through_channels():
    assert grid(10, page=0, per_page=4) == grid(np.zeros((2, 2, 10)), 0, 4)
    page = grid(10, page=2, per_page=4)
    assert (page.channels, page.page, page.pages) == ([8, 9], 2, 3)
    assert grid(10, page=9, per_page=4).page == 2 and grid(10, page=-1, per_page=4).channels == [
        0,
        1,
        2,
        3,
    ]
    maps = FeatureMapView("conv", 0, "Conv2D", np.zeros((4, 4, 3)))
    assert (grid(maps, 0, 16).channels, grid(maps, 0, 16).pages) == ([0, 1, 2], 1)
    with pytest.raises(InspectError):
        grid(10, 0, per_page=0)


def test_heat_levels():
    np.testing.assert_array_equal(heat_levels(np.array([0.0, 0.5, 1.0, 0.24]), 4), [0, 2, 3, 0])
    np.testing.assert_array_equal(heat_levels(np.full((2, 2), 7.0), 8), np.zeros((2, 2)))
    np.testing.assert_array_equal(heat_levels(np.array([np.nan, 1.0, 3.0]), 2), [0, 0, 1])
    np.testing.assert_array_equal(
        heat_levels(np.array([-2.0, 0.0, 1.0]), 3, centered=True), [0, 1, 2]
    )
    with pytest.raises(InspectError):
        heat_levels(np.zeros(3), 0)


def test_importing_the_inspect_engine_loads_no_keras_and_no_ui():
    code = (
        "import sys, layerlab.core.inspect; bad = [m for m in ('keras', 'tensorflow', 'textual', 'plotext', 'layerlab.tui', 'layerlab.screens')"
        " if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root
    )
    assert done.returncode == 0, done.stdout + done.stderr
