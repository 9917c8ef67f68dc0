"""Building Keras models from a spec's layers, with every layer's shape and parameters, without training.

Shapes and parameter counts come from Keras itself: the layers are called on a symbolic input,
so an impossible stack fails on the layer that cannot take its input, and that layer is named.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

from .catalog import LAYERS, RUN_BASE, describe
from .errors import LayerlabError
from .spec import CompileSpec, LayerSpec, Spec

Shape = tuple[int | None, ...]

_APPLICATIONS = {
    "vgg16": ("VGG16", 32),
    "mobilenet_v2": ("MobileNetV2", 32),
    "resnet50": ("ResNet50", 32),
    "efficientnet_b0": ("EfficientNetB0", 32),
}


class ModelError(LayerlabError):
    """A stack that cannot be built, located on a layer.

    Attributes:
        index: The offending layer's position (0-based), or None for the stack as a whole.
        problem: What is wrong.
        fix: What would make it work.
        param: The layer's parameter at fault ("base"), or "" for the layer as a whole.
    """

    def __init__(self, problem: str, index: int | None = None, fix: str = "", param: str = ""):
        self.index, self.fix, self.param = index, fix, param
        key = f"layers[{index}]" if index is not None else ""
        super().__init__(problem, f"{key}.{param}" if key and param else key)

    @property
    def message(self) -> str:
        return super().message + (f" — {self.fix}" if self.fix else "")


@dataclass
class LayerRow:
    """One line of the builder's layer list."""

    index: int
    type: str
    detail: str
    output_shape: Shape | None = None
    params: int | None = None
    trainable: int | None = None


@dataclass
class BuildReport:
    """What Keras says about a stack on a given input shape."""

    input_shape: Shape
    rows: list[LayerRow]
    error: ModelError | None = None
    warnings: list[str] = field(default_factory=list)
    model: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def output_shape(self) -> Shape | None:
        shapes = [r.output_shape for r in self.rows if r.output_shape is not None]
        return shapes[-1] if shapes and self.ok else None

    @property
    def total_params(self) -> int:
        return sum(r.params or 0 for r in self.rows)

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable or 0 for r in self.rows)


def make_layer(
    layer: LayerSpec,
    input_shape: Shape,
    name: str | None = None,
    load_weights: bool = True,
    base_dir: Path | None = None,
) -> keras.layers.Layer:
    """One Keras layer from its spec (validated against the catalog), the catalog's defaults filled in.

    With load_weights False a published base starts random: same shapes and parameter counts,
    no download (the builder rechecks after every edit). A `run:` base is read from the run's
    model.keras, its path resolved against `base_dir` (the spec file's folder) when relative.
    """
    params = {**LAYERS[layer.type].defaults(), **layer.params}
    if layer.type == "PretrainedBase":
        _check_frozen_base(params)
        if str(params.get("base", "")).startswith(RUN_BASE):
            from .run_base import run_base

            return run_base(params, input_shape, name, base_dir)
        if not load_weights:
            params["weights"] = "none"
        return _pretrained(params, input_shape, name)
    if "activation" in params and params["activation"] == "linear":
        params["activation"] = None
    cls = getattr(keras.layers, layer.type)
    return cls(**params, name=name)


def _check_frozen_base(params: dict[str, Any]) -> None:
    """A frozen base with random kernels cannot learn anything: refuse it, with the fix."""
    if params.get("weights") == "none" and not params.get("trainable", False):
        raise ModelError(
            "a frozen base with random weights (weights = 'none', trainable = false) cannot learn: "
            "its kernels stay random and the head only sees noise",
            fix="set trainable = true to train the base from scratch, or weights = 'imagenet' for trained kernels",
            param="weights",
        )


def _pretrained(params: dict[str, Any], input_shape: Shape, name: str | None) -> keras.Model:
    base_name = params.get("base", "vgg16")
    cls_name, min_side = _APPLICATIONS[base_name]
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ModelError(
            f"a pretrained {base_name} base needs colour images (height, width, 3); its input is {_fmt(input_shape)}",
            fix="use an image data set with RGB pictures",
        )
    if any(side is not None and side < min_side for side in input_shape[:2]):
        raise ModelError(
            f"{base_name} needs images of at least {min_side}×{min_side}; its input is {_fmt(input_shape)}",
            fix=f"set data.image_size to at least [{min_side}, {min_side}]",
        )
    weights = params.get("weights", "imagenet")
    try:
        base = getattr(keras.applications, cls_name)(
            include_top=False,
            weights=None if weights == "none" else "imagenet",
            input_shape=tuple(input_shape),
        )
    except Exception as exc:  # a download that fails offline surfaces here
        raise ModelError(
            f"could not load the {base_name} ImageNet weights ({type(exc).__name__}: {str(exc)[:120]})",
            fix="connect to the network once so Keras can cache them, or set weights = 'none'",
        ) from None
    base.trainable = bool(params.get("trainable", False))
    if name:
        base.name = name
    return base


def check(
    layers: list[LayerSpec],
    input_shape: Shape,
    load_weights: bool = False,
    base_dir: Path | None = None,
) -> BuildReport:
    """Call each layer on a symbolic input and collect its output shape and parameter count.

    Never raises: a stack that fails is reported with the error on the first layer that failed,
    and the rows after it keep their types so the builder can still show them. Relative paths
    in layers (a `run:` base) resolve against `base_dir`, the spec file's folder.
    """
    input_shape = tuple(input_shape)
    rows = [
        LayerRow(i, layer.type, describe(layer.type, layer.params))
        for i, layer in enumerate(layers)
    ]
    report = BuildReport(input_shape, rows)
    inputs = keras.Input(shape=input_shape)
    x = inputs
    built: list[keras.layers.Layer] = []
    for i, layer in enumerate(layers):
        shape = tuple(x.shape[1:])
        try:
            _check_input(layer, shape)
            keras_layer = make_layer(
                layer, shape, f"{layer.type.lower()}_{i}", load_weights, base_dir
            )
            x = keras_layer(x)
        except ModelError as exc:
            report.error = ModelError(exc.problem, i, exc.fix, exc.param)
            return report
        except Exception as exc:  # Keras' own refusal: say it on this layer, with a fix
            report.error = ModelError(_keras_problem(exc), i, _fix_for(layer, shape))
            return report
        built.append(keras_layer)
        rows[i].output_shape = tuple(x.shape[1:])
        rows[i].params = keras_layer.count_params()
        rows[i].trainable = sum(int(_size(w)) for w in keras_layer.trainable_weights)
    if not layers:
        report.error = ModelError(
            "the model has no layers", None, "add a layer with 'a', e.g. Dense(1)"
        )
        return report
    try:
        report.model = keras.Model(inputs, x)
    except (
        Exception
    ) as exc:  # e.g. Keras' graph walk exceeding the recursion limit on a very deep stack
        report.error = _whole_stack_error(exc, len(layers))
    return report


def _whole_stack_error(exc: Exception, n_layers: int) -> ModelError:
    """Keras' refusal of the stack as a whole (each layer on its own was fine)."""
    return ModelError(
        f"Keras could not join the {n_layers} layers into one model ({type(exc).__name__}: {_keras_problem(exc)})",
        None,
        "use fewer layers: the course's models have a few dozen at most",
    )


def _size(weight) -> int:
    n = 1
    for dim in weight.shape:
        n *= int(dim)
    return n


def _check_input(layer: LayerSpec, shape: Shape) -> None:
    """The mistakes Keras accepts silently but that break a classifier, caught on their layer."""
    rank = len(shape)
    if layer.type == "Dense" and rank >= 3:
        raise ModelError(
            f"Dense gets feature maps {_fmt(shape)}: it would act on each pixel separately",
            fix="insert Flatten or GlobalAveragePooling2D before it (the head goes after the base)",
        )
    if (
        layer.type in ("Conv2D", "MaxPool2D", "AveragePooling2D", "GlobalAveragePooling2D")
        and rank != 3
    ):
        raise ModelError(
            f"{layer.type} needs images (height, width, channels), but its input is {_fmt(shape)}",
            fix="use it on an image data set (digits, stripes, an image folder), before Flatten",
        )


def _keras_problem(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:240] + ("…" if len(text) > 240 else "")


def _fix_for(layer: LayerSpec, shape: Shape) -> str:
    if layer.type in ("Conv2D", "MaxPool2D", "AveragePooling2D"):
        return f"its input is only {_fmt(shape)}: use padding 'same', a smaller kernel or pool, or fewer pooling layers"
    return f"check its parameters against its input {_fmt(shape)}"


def _fmt(shape: Shape) -> str:
    return (
        "("
        + ", ".join("?" if s is None else str(s) for s in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def keep_tensorflow_out() -> None:
    """Under JAX or torch, have Keras take TensorFlow as absent, even where it is installed.

    Keras imports TensorFlow whenever it can: to seed it (`keras.utils.set_random_seed`) and to
    look for TensorShape while serialising (every `model.save`). For a JAX run that is 3 s and
    about 460 MiB more a process, and TensorFlow's log lines; layerlab feeds no tf.data pipeline
    on those backends, so nothing there needs it. Keras' own switch is its lazy module's
    `_available` (keras/src/utils/module_utils.py); if Keras changes it, Keras' behaviour stays.
    """
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        return
    try:
        from keras.src.utils import module_utils
    except ImportError:
        return
    if isinstance(getattr(module_utils, "tensorflow", None), module_utils.LazyModule):
        module_utils.tensorflow._available = False


keep_tensorflow_out()


def build(spec: Spec, input_shape: Shape, seed: int | None = None) -> keras.Model:
    """The spec's model as a Keras Sequential model, or ModelError located on a layer."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    report = check(spec.layers, input_shape, load_weights=True, base_dir=spec.base_dir)
    if report.error:
        raise report.error
    try:
        model = keras.Sequential(
            [keras.Input(shape=tuple(input_shape))], name=model_name(spec.name)
        )
        for layer in report.model.layers[1:]:
            model.add(layer)
    except Exception as exc:  # a stack that built layer by layer but not as a Sequential model
        raise _whole_stack_error(exc, len(spec.layers)) from None
    return model


def model_name(name: str) -> str:
    """The spec's name as Keras takes it: ASCII letters, digits and underscores, from a letter.

    TensorFlow refuses any other name as a scope name, and only when fit starts; the run folder
    and the summaries keep the user's own name ("vin rouge é" → "vin_rouge", "(draft) wine" →
    "draft_wine", "日本" → "model").
    """
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
    if not cleaned[:1].isalpha():
        cleaned = f"model_{cleaned}".rstrip("_")
    return cleaned


# ---------------------------------------------------------------------------------------------
# The head and the loss that fit a task.


def default_head(task: str, n_classes: int) -> LayerSpec:
    """The output layer the course uses for a task."""
    if task == "binary":
        return LayerSpec("Dense", {"units": 1, "activation": "sigmoid"})
    if task == "multiclass":
        return LayerSpec("Dense", {"units": max(n_classes, 2), "activation": "softmax"})
    return LayerSpec("Dense", {"units": 1})


def resolve_loss(compile_spec: CompileSpec, task: str, output_units: int | None) -> str:
    """The loss to train with: the spec's, or for 'auto' the one that fits the task and head."""
    if compile_spec.loss != "auto":
        return compile_spec.loss
    if task == "regression":
        return "mae"
    if task == "binary" and (output_units or 1) == 1:
        return "binary_crossentropy"
    return "sparse_categorical_crossentropy"


def resolve_metrics(compile_spec: CompileSpec, task: str, output_units: int | None) -> list[str]:
    """The metrics to track; 'auto' is accuracy for classification, nothing more for regression."""
    metrics: list[str] = []
    for metric in compile_spec.metrics:
        if metric == "auto":
            if task == "binary" and (output_units or 1) == 1:
                metrics.append("binary_accuracy")
            elif task in ("binary", "multiclass"):
                metrics.append("accuracy")
        elif metric not in metrics:
            metrics.append(metric)
    return metrics


def head_warnings(
    layers: list[LayerSpec], report: BuildReport, task: str, n_classes: int, loss: str
) -> list[str]:
    """Where the head or the loss does not fit the task, in words, with the fix."""
    out_shape = report.output_shape
    if not layers or out_shape is None:
        return []
    units = out_shape[-1] if len(out_shape) == 1 else None
    last = layers[-1]
    activation = (
        last.params.get("activation", LAYERS[last.type].param("activation").default)
        if last.type in ("Dense",)
        else None
    )
    warnings: list[str] = []
    if len(out_shape) != 1:
        warnings.append(
            f"the output is {_fmt(out_shape)}, not one vector: end the stack with Flatten and a Dense head"
        )
        return warnings
    if task == "regression":
        if units != 1:
            warnings.append(
                f"regression predicts one number, but the head has {units} units: end with Dense(1)"
            )
        if activation in ("sigmoid", "softmax"):
            warnings.append(f"a regression head should be linear, not {activation}")
        if loss in (
            "binary_crossentropy",
            "sparse_categorical_crossentropy",
            "categorical_crossentropy",
        ):
            warnings.append(f"{loss} is a classification loss; regression uses mae, mse or huber")
    elif task == "binary":
        if units == 1 and activation != "sigmoid":
            warnings.append(
                "a binary head with one unit needs activation 'sigmoid' (probability of class 1)"
            )
        if units not in (1, 2):
            warnings.append(
                f"binary classification has 2 classes, but the head has {units} units: use Dense(1, sigmoid)"
            )
        if loss in ("mae", "mse", "huber"):
            warnings.append(
                f"{loss} is a regression loss; binary classification uses binary_crossentropy"
            )
        if units == 1 and loss == "sparse_categorical_crossentropy":
            warnings.append(
                "sparse_categorical_crossentropy needs one unit per class; use binary_crossentropy with Dense(1, sigmoid)"
            )
    elif task == "multiclass":
        if units != n_classes:
            warnings.append(
                f"there are {n_classes} classes, but the head has {units} units: use Dense({n_classes}, softmax)"
            )
        if activation not in (None, "softmax"):
            warnings.append(f"a multiclass head needs activation 'softmax', not {activation}")
        if loss in ("mae", "mse", "huber", "binary_crossentropy"):
            warnings.append(
                f"{loss} does not fit {n_classes} classes; use sparse_categorical_crossentropy"
            )
    return warnings


_OPTIMIZERS = {
    "adam": "Adam",
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adamw": "AdamW",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adamax": "Adamax",
    "nadam": "Nadam",
    "lion": "Lion",
}


def make_optimizer(compile_spec: CompileSpec) -> keras.optimizers.Optimizer:
    return getattr(keras.optimizers, _OPTIMIZERS[compile_spec.optimizer])(
        learning_rate=compile_spec.learning_rate
    )


def compile_model(model: keras.Model, spec: Spec, task: str) -> tuple[str, list[str]]:
    """Compile with the spec's optimizer, loss and metrics; return the loss and metrics used."""
    units = model.output_shape[-1] if len(model.output_shape) == 2 else None
    loss = resolve_loss(spec.compile, task, units)
    metrics = resolve_metrics(spec.compile, task, units)
    keras_metrics = [
        keras.metrics.RootMeanSquaredError(name="rmse") if m == "rmse" else m for m in metrics
    ]
    keras_metrics = [keras.metrics.AUC(name="auc") if m == "auc" else m for m in keras_metrics]
    model.compile(optimizer=make_optimizer(spec.compile), loss=loss, metrics=keras_metrics)
    return loss, metrics
