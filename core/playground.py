"""The convolution playground: filter, detect and condense one picture with a kernel, without a model.

The course's feature extraction in three steps, each computed by Keras itself:
Filter (``keras.ops.conv``, a cross-correlation like ``tf.nn.conv2d``), Detect (an activation,
ReLU by default) and Condense (``keras.ops.max_pool``). Keras is imported only when a picture
is extracted, so the kernel presets and the activation names are cheap to read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .errors import LayerlabError


class InspectError(LayerlabError):
    """A picture, kernel, setting or sample that cannot be inspected, with what would be accepted."""


def _kernel(rows: list[list[float]]) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


KERNELS: dict[str, np.ndarray] = {
    "edge": _kernel([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "blur": _kernel([[0.0625, 0.125, 0.0625], [0.125, 0.25, 0.125], [0.0625, 0.125, 0.0625]]),
    "bottom_sobel": _kernel([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "emboss": _kernel([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
    "sharpen": _kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
}
"""The course's 3×3 kernel presets, rows top to bottom."""

ACTIVATIONS: tuple[str, ...] = (
    "relu",
    "linear",
    "sigmoid",
    "tanh",
    "leaky_relu",
    "relu6",
    "elu",
    "selu",
    "gelu",
    "silu",
    "softplus",
    "softsign",
    "mish",
    "hard_sigmoid",
    "exponential",
)
"""Detect-step choices offered in the playground; any other name ``keras.activations`` knows works too."""

PADDINGS = ("same", "valid")


@dataclass
class Extraction:
    """The four panels of the course's extraction figure, each a 2-D float32 array.

    Attributes:
        input: The picture as given.
        filtered: After the kernel (Filter).
        detected: After the activation (Detect).
        condensed: After max pooling (Condense).
    """

    input: np.ndarray
    filtered: np.ndarray
    detected: np.ndarray
    condensed: np.ndarray


def kernel_names() -> list[str]:
    """The preset names, in the course's order."""
    return list(KERNELS)


def parse_kernel(text: str) -> np.ndarray:
    """Read a kernel typed as rows separated by ``;`` or new lines, numbers by spaces or commas.

    Args:
        text: For example ``"-1 -1 -1; -1 8 -1; -1 -1 -1"``.

    Returns:
        The kernel as a 2-D float32 array.

    Raises:
        InspectError: An empty kernel, a word that is not a number, or rows of unequal length.
    """
    rows = [r for r in re.split(r"[;\n]", text) if r.strip()]
    if not rows:
        raise InspectError(
            "the kernel is empty — type rows of numbers, e.g. '0 -1 0; -1 5 -1; 0 -1 0'"
        )
    parsed = []
    for i, row in enumerate(rows, 1):
        words = [w for w in re.split(r"[,\s]+", row.strip().strip("[]")) if w]
        try:
            numbers = [float(w.strip("[]")) for w in words]
        except ValueError:
            raise InspectError(
                f"kernel row {i} ({row.strip()!r}) holds something that is not a number"
            ) from None
        if not all(math.isfinite(n) for n in numbers):  # float() reads "nan" and "inf" too
            raise InspectError(
                f"kernel row {i} ({row.strip()!r}) holds nan or inf; a kernel takes finite numbers"
            )
        parsed.append(numbers)
    widths = {len(r) for r in parsed}
    if len(widths) != 1:
        raise InspectError(
            f"kernel rows have different lengths {sorted(widths)} — every row needs as many numbers"
        )
    return _kernel(parsed)


def _as_image(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2 or 0 in array.shape:
        raise InspectError(
            f"the playground takes one grayscale picture (height, width), not shape {array.shape}"
        )
    return array


def _check(
    kernel: np.ndarray,
    stride: int,
    padding: str,
    pool_size: int,
    pool_stride: int,
    pool_padding: str,
) -> None:
    if kernel.ndim != 2 or 0 in kernel.shape:
        raise InspectError(f"a kernel is a small 2-D array such as 3×3, not shape {kernel.shape}")
    for name, value in (("stride", stride), ("pool_size", pool_size), ("pool_stride", pool_stride)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise InspectError(f"{name} must be a whole number of at least 1, not {value!r}")
    for name, choice in (("padding", padding), ("pool_padding", pool_padding)):
        if choice not in PADDINGS:
            raise InspectError(f"{name} must be 'same' or 'valid', not {choice!r}")


def _activation(name: str):
    import keras

    try:
        return keras.activations.get(name)
    except (ValueError, TypeError):
        raise InspectError(
            f"unknown activation {name!r} — try one of: {', '.join(ACTIVATIONS)}"
        ) from None


def extract(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    stride: int = 1,
    padding: str = "same",
    activation: str = "relu",
    pool_size: int = 2,
    pool_stride: int = 2,
    pool_padding: str = "same",
) -> Extraction:
    """Filter, detect and condense one grayscale picture, as a Conv2D → activation → MaxPool2D base would.

    Args:
        image: A 2-D picture (or height × width × 1).
        kernel: A 2-D kernel, e.g. ``KERNELS["bottom_sobel"]``.
        stride: The convolution's step, in pixels.
        padding: ``"same"`` (zero-padded, output size = input size ÷ stride) or ``"valid"`` (no padding).
        activation: The Detect step, a ``keras.activations`` name such as ``"relu"`` or ``"linear"``.
        pool_size: The max-pooling window's side.
        pool_stride: The pooling window's step.
        pool_padding: ``"same"`` or ``"valid"``, as for the convolution.

    Returns:
        The four panels.

    Raises:
        InspectError: A bad picture, kernel or setting, or a window larger than its input with 'valid' padding.
    """
    picture = _as_image(image)
    kernel = np.asarray(kernel, dtype=np.float32)
    _check(kernel, stride, padding, pool_size, pool_stride, pool_padding)
    if padding == "valid" and (
        kernel.shape[0] > picture.shape[0] or kernel.shape[1] > picture.shape[1]
    ):
        raise InspectError(
            f"the {kernel.shape[0]}×{kernel.shape[1]} kernel is larger than the "
            f"{picture.shape[0]}×{picture.shape[1]} picture — use 'same' padding"
        )
    detect = _activation(activation)

    import keras

    ops = keras.ops
    x = picture[None, :, :, None]
    filtered = ops.conv(x, kernel[:, :, None, None], strides=stride, padding=padding)
    detected = detect(filtered)
    fh, fw = filtered.shape[1:3]
    if pool_padding == "valid" and (pool_size > fh or pool_size > fw):
        raise InspectError(
            f"the {pool_size}×{pool_size} pool is larger than the {fh}×{fw} feature map "
            "— use 'same' pool padding or a smaller pool"
        )
    condensed = ops.max_pool(detected, pool_size, strides=pool_stride, padding=pool_padding)
    panels = (
        ops.convert_to_numpy(t)[0, :, :, 0].astype(np.float32)
        for t in (filtered, detected, condensed)
    )
    return Extraction(picture, *panels)
