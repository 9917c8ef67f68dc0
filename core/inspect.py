"""Looking inside a built Keras model without a UI: its kernels, dense weights, feature maps and output.

Also the home of the Inspect screen's engine as a whole: the convolution playground
(``core.playground``) and its pictures (``core.pictures``) are re-exported here. Keras is imported
only inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .pictures import (
    PICTURES,
    ChannelPage,
    grid,
    heat_levels,
    load_picture,
    picture,
    picture_names,
)
from .playground import (
    ACTIVATIONS,
    KERNELS,
    Extraction,
    InspectError,
    extract,
    kernel_names,
    parse_kernel,
)

if TYPE_CHECKING:
    import keras

__all__ = [
    "ACTIVATIONS",
    "KERNELS",
    "PICTURES",
    "ChannelPage",
    "DenseView",
    "Extraction",
    "FeatureMapView",
    "InspectError",
    "KernelView",
    "conv_kernels",
    "dense_weights",
    "extract",
    "feature_maps",
    "grid",
    "heat_levels",
    "kernel_names",
    "load_picture",
    "parse_kernel",
    "picture",
    "picture_names",
    "predict",
]

SMALL_UNIT_INPUTS = 8
"""A single-unit Dense layer with at most this many inputs has its w and b read out as numbers."""

# fmt: off
MAP_LAYERS = frozenset((
    "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Activation", "ReLU", "LeakyReLU", "ELU",
    "PReLU", "MaxPooling2D", "AveragePooling2D", "BatchNormalization", "Rescaling",
))
# fmt: on
"""Layer types whose (height, width, channels) output is shown as feature maps; nested models too."""


@dataclass
class KernelView:
    """One Conv2D layer's kernels.

    Attributes:
        name: The layer's name (``base/block1_conv1`` inside a pretrained base).
        index: The position in ``model.layers`` of the layer, or of the base holding it.
        kernel: The weights, shape (kernel height, kernel width, input channels, filters).
        bias: One number per filter, or None when the layer has no bias.
        vmin: The smallest kernel weight.
        vmax: The largest kernel weight.
    """

    name: str
    index: int
    kernel: np.ndarray
    bias: np.ndarray | None
    vmin: float
    vmax: float

    @property
    def filters(self) -> int:
        """How many kernels the layer has, one per output channel."""
        return int(self.kernel.shape[-1])

    def kernel_of(self, number: int, channel: int = 0) -> np.ndarray:
        """The 2-D kernel one filter applies to one input channel."""
        return self.kernel[:, :, channel, number]


@dataclass
class DenseView:
    """One Dense layer's weights.

    Attributes:
        name: The layer's name.
        index: The position in ``model.layers`` of the layer, or of the base holding it.
        weights: Shape (inputs, units).
        bias: Shape (units,), or None when the layer has no bias.
        activation: The activation's name, e.g. ``"linear"`` or ``"relu"``.
        w: For a single unit with few inputs, its weights as plain numbers; otherwise None.
        b: For such a unit, its bias as a plain number; otherwise None.
    """

    name: str
    index: int
    weights: np.ndarray
    bias: np.ndarray | None
    activation: str
    w: list[float] | None = None
    b: float | None = None

    @property
    def units(self) -> int:
        """How many units (outputs) the layer has."""
        return int(self.weights.shape[1])


@dataclass
class FeatureMapView:
    """One layer's output for one sample: a stack of feature maps.

    Attributes:
        name: The layer's name.
        index: The position in ``model.layers``.
        type: The layer's class, e.g. ``"Conv2D"`` or ``"MaxPooling2D"``.
        maps: Shape (height, width, channels).
    """

    name: str
    index: int
    type: str
    maps: np.ndarray

    @property
    def channels(self) -> int:
        """How many feature maps the layer produces."""
        return int(self.maps.shape[-1])

    def channel(self, number: int) -> np.ndarray:
        """One feature map, as a 2-D array."""
        return self.maps[:, :, number]


def _walk(model: keras.Model) -> Iterator[tuple[int, str, object]]:
    """Every layer with weights, descending into nested models such as a pretrained base."""
    import keras

    for index, layer in enumerate(model.layers):
        if isinstance(layer, keras.Model):
            for inner in layer.layers:
                yield index, f"{layer.name}/{inner.name}", inner
        else:
            yield index, layer.name, layer


def _require_built(model: keras.Model) -> None:
    if not model.built:
        raise InspectError("the model is not built yet — build it on the data's input shape first")


def _numpy(value) -> np.ndarray:
    import keras

    return keras.ops.convert_to_numpy(value).astype(np.float32)


def _bias(layer) -> np.ndarray | None:
    return None if layer.bias is None else _numpy(layer.bias)


def conv_kernels(model: keras.Model) -> list[KernelView]:
    """The kernels of every Conv2D layer, in order, including those inside a pretrained base."""
    import keras

    _require_built(model)
    views = []
    for index, name, layer in _walk(model):
        if isinstance(layer, keras.layers.Conv2D) and layer.built:
            kernel = _numpy(layer.kernel)
            low, high = float(kernel.min()), float(kernel.max())
            views.append(KernelView(name, index, kernel, _bias(layer), low, high))
    return views


def dense_weights(model: keras.Model) -> list[DenseView]:
    """The weights and bias of every Dense layer; a small single unit's w and b also as numbers."""
    import keras

    _require_built(model)
    views = []
    for index, name, layer in _walk(model):
        if isinstance(layer, keras.layers.Dense) and layer.built:
            weights, bias = _numpy(layer.kernel), _bias(layer)
            activation = getattr(layer.activation, "__name__", "linear")
            view = DenseView(name, index, weights, bias, activation)
            if weights.shape[1] == 1 and weights.shape[0] <= SMALL_UNIT_INPUTS:
                view.w = [float(v) for v in weights[:, 0]]
                view.b = float(bias[0]) if bias is not None else 0.0
            views.append(view)
    return views


def _batch(model: keras.Model, sample: np.ndarray) -> np.ndarray:
    """One sample as a batch of one, checked against the model's input (and building it if needed)."""
    x = np.asarray(sample, dtype=np.float32)
    inputs = _inputs(model)
    if inputs is None:
        # A Sequential model without an Input learns its input shape from its first call.
        try:
            model(x[None], training=False)
        except Exception as error:
            raise InspectError(
                f"the model cannot take a sample of shape {x.shape}: {error}"
            ) from None
        inputs = _inputs(model)
    if inputs is None or len(inputs) != 1:
        raise InspectError("only models with exactly one input can be inspected")
    expected = tuple(inputs[0].shape[1:])
    if x.ndim + 1 == len(expected) and expected[-1] == 1:
        x = x[..., None]  # a grayscale picture for a one-channel model
    if x.ndim != len(expected) or any(
        e is not None and e != s for e, s in zip(expected, x.shape, strict=False)
    ):
        raise InspectError(
            f"the sample has shape {x.shape} but the model takes {expected} (one sample, no batch)"
        )
    return x[None]


def _inputs(model: keras.Model) -> list | None:
    try:
        return list(model.inputs) or None
    except (AttributeError, ValueError):
        return None


def predict(model: keras.Model, sample: np.ndarray) -> np.ndarray:
    """The model's output for one sample (shape without the batch), as a 1-D array."""
    import keras

    out = model(_batch(model, sample), training=False)
    return keras.ops.convert_to_numpy(out)[0].reshape(-1).astype(np.float32)


def _shows_map(layer) -> bool:
    import keras

    return isinstance(layer, keras.Model) or type(layer).__name__ in MAP_LAYERS


def feature_maps(model: keras.Model, sample: np.ndarray) -> list[FeatureMapView]:
    """The feature maps after every convolution, activation, pooling and normalization layer.

    Only layers whose output is (height, width, channels) are kept. A Sequential model runs layer
    by layer, so a pretrained base shows as one stack of maps; a functional model runs as one
    sub-model from its input to every chosen layer's output (bases nested in it are skipped).

    Args:
        model: A built model, or a Sequential model that will be built by this sample.
        sample: One input, without the batch dimension; a 2-D picture for a one-channel model.
    """
    import keras

    x = _batch(model, sample)
    if isinstance(model, keras.Sequential):
        outputs = []
        for index, layer in enumerate(model.layers):
            x = layer(x, training=False)
            outputs.append((index, layer, x))
    else:
        chosen = [
            (i, layer)
            for i, layer in enumerate(model.layers)
            if _shows_map(layer) and not isinstance(layer, keras.Model)
        ]
        if not chosen:
            return []
        sub = keras.Model(inputs=model.inputs[0], outputs=[layer.output for _, layer in chosen])
        values = sub(x, training=False)
        outputs = [(i, layer, v) for (i, layer), v in zip(chosen, values, strict=True)]
    views = []
    for index, layer, value in outputs:
        array = keras.ops.convert_to_numpy(value)
        if _shows_map(layer) and array.ndim == 4:
            views.append(
                FeatureMapView(layer.name, index, type(layer).__name__, array[0].astype(np.float32))
            )
    return views
