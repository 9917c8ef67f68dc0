"""The convolutional base of an earlier run, for transfer learning offline (base = "run:RUN_DIR").

The base is the run's model up to its head: every layer before the first Flatten, global pooling
or Dense that follows its convolutions. It is read from the run's model.keras (its best epoch)
with Keras' safe mode, so a file can hold no code that would run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras

from .catalog import RUN_BASE
from .model import ModelError, Shape, _fmt

HEAD_STARTS = ("Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Dense")
"""Where a convolutional classifier's head begins."""
CONVOLUTIONS = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose")

_FIX = "give run:RUN_DIR, the folder of an earlier run whose model starts with convolutions (see 'layerlab runs')"


def run_folder(base: str, base_dir: Path | None) -> Path:
    """The run folder a `run:` base names, relative paths resolved against `base_dir`."""
    path = Path(base.removeprefix(RUN_BASE).strip()).expanduser()
    return base_dir / path if not path.is_absolute() and base_dir is not None else path


def run_base(
    params: dict[str, Any], input_shape: Shape, name: str | None, base_dir: Path | None
) -> keras.Model:
    """The base as one Keras model taking `input_shape`, frozen unless `trainable` is set.

    With weights = "none" its layers start from new random kernels (the same architecture).

    Raises:
        ModelError: On the layer's `base`: no such folder, no model.keras, a file that does not
            load, a model with no convolutional base, or images it cannot take.
    """
    folder = run_folder(str(params["base"]), base_dir)
    model = _load(folder)
    layers = base_layers(model)
    if not layers:
        kinds = ", ".join(type(layer).__name__ for layer in model.layers[:6]) or "none"
        raise ModelError(
            f"the model of run {folder.name} has no convolutional base (its layers: {kinds})",
            fix=_FIX,
            param="base",
        )
    trained_on = tuple(model.input_shape[1:])
    if len(input_shape) != len(trained_on) or input_shape[-1] != trained_on[-1]:
        raise ModelError(
            f"the base of run {folder.name} takes images shaped like {_fmt(trained_on)}; its input here is {_fmt(input_shape)}",
            fix="use data with as many channels as that run's (data.image_size may differ)",
            param="base",
        )
    inputs = keras.Input(shape=tuple(input_shape))
    x = inputs
    try:
        for layer in layers:
            x = layer(x)
        base = keras.Model(inputs, x, name=name or "run_base")
        if params.get("weights") == "none":
            base = keras.models.clone_model(base)  # new layers, new random kernels
            base.name = name or "run_base"
    except Exception as exc:  # images too small for its pooling, say
        raise ModelError(
            f"the base of run {folder.name} cannot take {_fmt(input_shape)} ({type(exc).__name__}: {str(exc)[:160]})",
            fix="use larger images (data.image_size), like the ones that run trained on",
            param="base",
        ) from None
    base.trainable = bool(params.get("trainable", False))
    return base


def _load(folder: Path) -> keras.Model:
    if not folder.is_dir():
        raise ModelError(f"no run folder {folder}", fix=_FIX, param="base")
    path = folder / "model.keras"
    if not path.is_file():
        raise ModelError(
            f"the run {folder.name} has no model.keras (it ended before an epoch was saved)",
            fix=_FIX,
            param="base",
        )
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:
        raise ModelError(
            f"{path} does not load as a Keras model ({type(exc).__name__}: {str(exc)[:160]})",
            fix=_FIX,
            param="base",
        ) from None
    if not isinstance(model, keras.Model):
        raise ModelError(f"{path} holds no Keras model", fix=_FIX, param="base")
    return model


def base_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers before its head: [] when no convolution comes before the head starts.

    A nested model (a published base the run used) counts as convolutions.
    """
    layers: list[keras.layers.Layer] = []
    convolved = False
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        if kind in HEAD_STARTS:
            break
        convolved = convolved or kind in CONVOLUTIONS or isinstance(layer, keras.Model)
        layers.append(layer)
    return layers if convolved else []
