"""The layer catalog: every layer a user can stack, its parameters, and the course's words for them.

This is the one source of truth for validating specs and for the builder's forms. It imports
neither keras nor tensorflow, so the app can draw forms before the heavy modules load.
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass, field
from typing import Any

ACTIVATIONS = (
    "linear",
    "relu",
    "elu",
    "selu",
    "gelu",
    "swish",
    "leaky_relu",
    "tanh",
    "sigmoid",
    "softmax",
    "softplus",
)
PADDINGS = ("valid", "same")
PRETRAINED_BASES = ("vgg16", "mobilenet_v2", "resnet50", "efficientnet_b0")
RUN_BASE = "run:"
"""A PretrainedBase's `base` that starts with this names an earlier run's folder (run:RUN_DIR)."""
MAX_SEED = 2**32 - 1
"""NumPy's and Keras' seeds are unsigned 32-bit integers."""


@dataclass(frozen=True)
class Param:
    """One parameter of a layer type.

    Attributes:
        name: The keyword Keras takes.
        kind: "int", "float", "bool", "choice" or "size2" (an int or a pair of ints).
        default: The value used when the spec leaves it out; None means "Keras decides" (optional).
        help: One line in the course's words.
        choices: The allowed values of a "choice" parameter.
        min: The smallest value allowed (ints, floats, sizes).
        max: The largest value allowed.
        min_exclusive: Whether `min` itself is refused.
        max_exclusive: Whether `max` itself is refused.
        prefix: A "choice" parameter also takes any text after this prefix (base = "run:RUN_DIR").
    """

    name: str
    kind: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    prefix: str = ""

    @property
    def optional(self) -> bool:
        return self.default is None

    def allowed(self) -> str:
        """Say in words what values this parameter accepts."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
            return text + (f", or '{self.prefix}' and a folder" if self.prefix else "")
        what = {"int": "an integer", "float": "a number", "size2": "an integer or a pair [h, w]"}[
            self.kind
        ]
        bounds = []
        if self.min is not None:
            bounds.append(f"{'>' if self.min_exclusive else '>='} {_num(self.min)}")
        if self.max is not None:
            bounds.append(f"{'<' if self.max_exclusive else '<='} {_num(self.max)}")
        text = what + (" " + " and ".join(bounds) if bounds else "")
        if self.optional:
            text += " (or leave it out)"
        return text

    def check(self, value: Any) -> tuple[Any, str | None]:
        """Validate one value; return it normalised and None, or the reason it is refused."""
        kind = self.kind
        if kind == "bool":
            if isinstance(value, bool):
                return value, None
            return value, f"expected {self.allowed()}, got {_shown(value)}"
        if kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value, None
            if self.prefix and isinstance(value, str) and value.startswith(self.prefix):
                if value[len(self.prefix) :].strip():
                    return value, None
                return value, f"{value!r} names no folder: expected {self.prefix}RUN_DIR"
            return value, f"expected {self.allowed()}, got {_shown(value)}"
        if kind == "size2":
            if isinstance(value, list | tuple) and len(value) == 2:
                parts = list(value)
            elif isinstance(value, int) and not isinstance(value, bool):
                parts = [value]
            else:
                return value, f"expected {self.allowed()}, got {_shown(value)}"
            for part in parts:
                if not isinstance(part, int) or isinstance(part, bool):
                    return value, f"expected {self.allowed()}, got {_shown(value)}"
                reason = self._range(part)
                if reason:
                    return value, reason
            return (parts[0] if len(parts) == 1 else list(parts)), None
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    return value, f"expected {self.allowed()}, got {_shown(value)}"
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return value, f"expected {self.allowed()}, got {_shown(value)}"
            value = float(value)
            if not math.isfinite(value):  # NaN compares false with every bound: refuse it first
                return value, f"{_num(value)} is not a finite number: expected {self.allowed()}"
        reason = self._range(value)
        return value, reason

    def _range(self, value: float) -> str | None:
        low, high = self.min, self.max
        if low is not None and (value < low or (self.min_exclusive and value == low)):
            return f"{_num(value)} is too small: expected {self.allowed()}"
        if high is not None and (value > high or (self.max_exclusive and value == high)):
            return f"{_num(value)} is too large: expected {self.allowed()}"
        return None

    def parse(self, text: str) -> tuple[Any, str | None]:
        """Turn what a user typed into a value, or say why it cannot be one."""
        text = text.strip()
        if text == "" and self.optional:
            return None, None
        if self.kind == "bool":
            low = text.lower()
            if low in ("true", "yes", "on", "1"):
                return True, None
            if low in ("false", "no", "off", "0"):
                return False, None
            return text, f"expected {self.allowed()}, got {text!r}"
        if self.kind == "choice":
            return self.check(text)
        if self.kind == "size2":
            parts = [p for p in text.replace("[", " ").replace("]", " ").replace(",", " ").split()]
            try:
                ints = [int(p) for p in parts]
            except ValueError:
                return text, f"expected {self.allowed()}, got {text!r}"
            if len(ints) not in (1, 2):
                return text, f"expected {self.allowed()}, got {text!r}"
            return self.check(ints[0] if len(ints) == 1 else ints)
        try:
            number = int(text) if self.kind == "int" else float(text)
        except ValueError:
            return text, f"expected {self.allowed()}, got {text!r}"
        return self.check(number)


def _num(value: float) -> str:
    if isinstance(value, int):  # exact, and no float overflow for a 400-digit integer
        return str(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlist = 3, 80, 80, 8


def _shown(value: Any) -> str:
    """A refused value as a message quotes it: short, however long or deeply nested."""
    return _REPR.repr(value)


@dataclass(frozen=True)
class LayerType:
    """A layer the builder offers.

    Attributes:
        name: The Keras class name, as written in specs.
        help: One line in the course's words.
        lesson: The course lesson that teaches it.
        params: Its parameters, in the order the form shows them.
        key_params: The parameters shown in the layer list.
    """

    name: str
    help: str
    lesson: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    key_params: tuple[str, ...] = ()

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        """The parameters a new layer of this type starts with (optional ones left out)."""
        return {p.name: p.default for p in self.params if p.default is not None}


def _activation(default: str = "linear") -> Param:
    return Param(
        "activation",
        "choice",
        default,
        "Applied to the output; 'relu' (the rectifier) lets a stack leave the world of lines.",
        ACTIVATIONS,
    )


def _pool(name: str, verb: str) -> LayerType:
    return LayerType(
        name,
        f"{verb} each window of the feature map to one value (the Condense step).",
        "Maximum pooling",
        (
            Param("pool_size", "size2", 2, "The window condensed to one value.", min=1),
            Param(
                "strides", "size2", None, "How far the window moves; defaults to pool_size.", min=1
            ),
            Param(
                "padding",
                "choice",
                "valid",
                "'same' pads the edges so no pixel is dropped.",
                PADDINGS,
            ),
        ),
        ("pool_size", "strides", "padding"),
    )


LAYERS: dict[str, LayerType] = {
    layer.name: layer
    for layer in (
        LayerType(
            "Dense",
            "A layer of linear units y = w·x + b, one per unit, optionally followed by an activation.",
            "A single neuron / Deep neural networks",
            (
                Param(
                    "units",
                    "int",
                    32,
                    "How many units (outputs); more units add capacity.",
                    min=1,
                    max=65536,
                ),
                _activation(),
                Param("use_bias", "bool", True, "Give each unit a bias b."),
            ),
            ("units", "activation"),
        ),
        LayerType(
            "Activation",
            "Apply an activation function on its own, e.g. after BatchNormalization.",
            "Deep neural networks",
            (_activation("relu"),),
            ("activation",),
        ),
        LayerType(
            "Dropout",
            "Drop a random fraction of the next layer's inputs while training, against overfitting.",
            "Dropout and batch normalization",
            (
                Param(
                    "rate",
                    "float",
                    0.3,
                    "The fraction of inputs dropped at each step.",
                    min=0.0,
                    max=1.0,
                    max_exclusive=True,
                ),
                Param("seed", "int", None, "Seed of the random drops.", min=0, max=MAX_SEED),
            ),
            ("rate",),
        ),
        LayerType(
            "BatchNormalization",
            "Rescale each batch to mean 0 and spread 1; first (like a standard scaler) or between a layer and its activation.",
            "Dropout and batch normalization",
            (
                Param(
                    "momentum",
                    "float",
                    0.99,
                    "How slowly the running mean and variance move.",
                    min=0.0,
                    max=1.0,
                ),
                Param(
                    "epsilon",
                    "float",
                    0.001,
                    "Added to the variance so it is never zero.",
                    min=0.0,
                    min_exclusive=True,
                ),
            ),
            ("momentum",),
        ),
        LayerType(
            "Conv2D",
            "Slide small kernels over the image; each filter makes one feature map (the Filter step).",
            "Convolution and ReLU",
            (
                Param(
                    "filters",
                    "int",
                    16,
                    "How many kernels, so how many feature maps.",
                    min=1,
                    max=4096,
                ),
                Param(
                    "kernel_size",
                    "size2",
                    3,
                    "The kernel's height and width; mostly odd, like 3.",
                    min=1,
                ),
                Param("strides", "size2", 1, "How far the kernel moves each step.", min=1),
                Param(
                    "padding",
                    "choice",
                    "valid",
                    "'same' pads the edges so the map keeps its size.",
                    PADDINGS,
                ),
                _activation("relu"),
            ),
            ("filters", "kernel_size", "activation"),
        ),
        _pool("MaxPool2D", "Keep the largest of"),
        _pool("AveragePooling2D", "Average"),
        LayerType(
            "GlobalAveragePooling2D",
            "Average each whole feature map to one number: a light head in place of Flatten.",
            "Maximum pooling",
        ),
        LayerType(
            "Flatten",
            "Unroll the feature maps into one vector, between a convolutional base and a dense head.",
            "The convolutional classifier",
        ),
        LayerType(
            "Rescaling",
            "Multiply inputs by scale and add offset, e.g. 1/255 for pixel values.",
            "The convolutional classifier",
            (
                Param("scale", "float", 1.0 / 255.0, "Each input is multiplied by this."),
                Param("offset", "float", 0.0, "Then this is added."),
            ),
            ("scale", "offset"),
        ),
        LayerType(
            "PretrainedBase",
            "A convolutional base trained on ImageNet or in an earlier run (transfer learning); freeze it to train only the head.",
            "The convolutional classifier",
            (
                Param(
                    "base",
                    "choice",
                    "vgg16",
                    "Which published base, or run:RUN_DIR for the convolutional base of an earlier run.",
                    PRETRAINED_BASES,
                    prefix=RUN_BASE,
                ),
                Param(
                    "weights",
                    "choice",
                    "imagenet",
                    "'imagenet' takes the trained kernels (a run's own for run:); 'none' starts random.",
                    ("imagenet", "none"),
                ),
                Param("trainable", "bool", False, "false freezes the base: only the head learns."),
            ),
            ("base", "weights", "trainable"),
        ),
    )
}


def layer_type(name: str) -> LayerType:
    """Look a layer type up by name, accepting Keras' aliases (MaxPooling2D)."""
    return LAYERS[ALIASES.get(name, name)]


ALIASES = {"MaxPooling2D": "MaxPool2D", "AvgPool2D": "AveragePooling2D"}


def describe(type_name: str, params: dict[str, Any]) -> str:
    """The layer's key parameters in one short line, e.g. "512, relu"."""
    kind = LAYERS.get(ALIASES.get(type_name, type_name))
    if kind is None:
        return ""
    parts = []
    for name in kind.key_params:
        value = params.get(name, kind.param(name).default)
        if value is None:
            continue
        if isinstance(value, list):
            value = "×".join(str(v) for v in value)
        parts.append(
            f"{name}={value}" if name not in ("units", "filters", "activation") else str(value)
        )
    return ", ".join(parts)
