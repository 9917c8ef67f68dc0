"""Building models from a spec: shapes and parameter counts as Keras computes them, errors located on a layer."""

import pytest
from layerlab.core import model as models
from layerlab.core.spec import CompileSpec, LayerSpec, Spec


def dense(units, activation="linear"):
    return LayerSpec("Dense", {"units": units, "activation": activation})


def test_shapes_and_parameters_of_the_course_red_wine_model():
    report = models.check([dense(512, "relu")] * 3 + [dense(1)], (11,))
    assert report.ok
    assert [r.output_shape for r in report.rows] == [(512,), (512,), (512,), (1,)]
    assert [r.params for r in report.rows] == [
        11 * 512 + 512,
        512 * 512 + 512,
        512 * 512 + 512,
        513,
    ]
    assert report.total_params == report.trainable_params == 531_969
    assert report.model.count_params() == report.total_params


def test_convnet_shapes_and_a_frozen_base_counts_as_untrainable():
    layers = [
        LayerSpec("Rescaling", {"scale": 1 / 16}),
        LayerSpec("Conv2D", {"filters": 4, "kernel_size": 3}),
        LayerSpec("MaxPool2D", {"pool_size": 2, "padding": "same"}),
        LayerSpec("BatchNormalization", {}),
        LayerSpec("Flatten", {}),
        dense(10, "softmax"),
    ]
    report = models.check(layers, (8, 8, 1))
    assert report.ok, report.error
    assert [r.output_shape for r in report.rows] == [
        (8, 8, 1),
        (6, 6, 4),
        (3, 3, 4),
        (3, 3, 4),
        (36,),
        (10,),
    ]
    assert report.rows[1].params == 3 * 3 * 1 * 4 + 4
    # BatchNormalization's moving mean and variance are parameters, but not trainable ones.
    assert report.rows[3].params == 16 and report.rows[3].trainable == 8


def test_pretrained_base_builds_without_download_and_freezes():
    report = models.check(
        [
            LayerSpec("PretrainedBase", {"base": "vgg16", "trainable": False}),
            LayerSpec("Flatten", {}),
            dense(1, "sigmoid"),
        ],
        (32, 32, 3),
    )
    assert report.ok, report.error
    assert report.rows[0].params == 14_714_688 and report.rows[0].trainable == 0
    assert report.rows[2].trainable == 513


def test_pretrained_base_refuses_grey_images():
    report = models.check([LayerSpec("PretrainedBase", {})], (8, 8, 1))
    assert report.error.index == 0 and "colour images" in report.error.problem


def test_dense_after_conv_without_flatten_is_located_with_the_fix():
    report = models.check([LayerSpec("Conv2D", {"filters": 4}), dense(3)], (8, 8, 1))
    assert not report.ok
    assert report.error.index == 1
    assert "Flatten" in report.error.fix
    assert report.rows[0].output_shape == (6, 6, 4)
    assert report.rows[1].output_shape is None


def test_conv_on_a_table_and_a_kernel_larger_than_the_image():
    report = models.check([LayerSpec("Conv2D", {})], (11,))
    assert report.error.index == 0 and "needs images" in report.error.problem
    report = models.check(
        [LayerSpec("Conv2D", {"kernel_size": 5}), LayerSpec("Conv2D", {"kernel_size": 5})],
        (8, 8, 1),
    )
    assert report.error.index == 1
    assert "padding 'same'" in report.error.fix


def test_empty_stack_is_an_error_that_says_what_to_do():
    report = models.check([], (4,))
    assert not report.ok and "add a layer" in report.error.fix


@pytest.mark.parametrize(
    ("task", "classes", "layers", "loss", "expected"),
    [
        ("regression", 0, [dense(1)], "mae", []),
        ("regression", 0, [dense(3)], "mae", ["Dense(1)"]),
        ("binary", 2, [dense(1, "sigmoid")], "binary_crossentropy", []),
        ("binary", 2, [dense(1)], "binary_crossentropy", ["sigmoid"]),
        ("binary", 2, [dense(1, "sigmoid")], "mae", ["regression loss"]),
        ("multiclass", 3, [dense(3, "softmax")], "sparse_categorical_crossentropy", []),
        (
            "multiclass",
            3,
            [dense(2, "softmax")],
            "sparse_categorical_crossentropy",
            ["Dense(3, softmax)"],
        ),
    ],
)
def test_head_warnings_fit_the_task(task, classes, layers, loss, expected):
    report = models.check(layers, (4,))
    warnings = models.head_warnings(layers, report, task, classes, loss)
    assert len(warnings) == len(expected)
    for warning, words in zip(warnings, expected, strict=True):
        assert words in warning


def test_auto_loss_and_metrics_follow_the_task():
    auto = CompileSpec()
    assert models.resolve_loss(auto, "regression", 1) == "mae"
    assert models.resolve_loss(auto, "binary", 1) == "binary_crossentropy"
    assert models.resolve_loss(auto, "multiclass", 3) == "sparse_categorical_crossentropy"
    assert models.resolve_metrics(auto, "regression", 1) == []
    assert models.resolve_metrics(auto, "binary", 1) == ["binary_accuracy"]
    assert models.resolve_metrics(auto, "multiclass", 3) == ["accuracy"]
    assert models.default_head("multiclass", 3).params == {"units": 3, "activation": "softmax"}


def test_build_is_reproducible_with_a_seed():
    spec = Spec(layers=[dense(4, "relu"), dense(1)])
    first = models.build(spec, (3,), seed=7).get_weights()
    second = models.build(spec, (3,), seed=7).get_weights()
    assert all((a == b).all() for a, b in zip(first, second, strict=True))
