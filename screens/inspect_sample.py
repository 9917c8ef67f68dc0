"""Choosing the input the Feature maps view runs through the model: a sample by number, or a file."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
from layerlab.tui.widgets.heatmap import Heatmap
from textual import events
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input


class SampleInput(Input):
    """A sample number: digits only; + and - (or ↑ and ↓) step to the next and previous sample."""

    STEPS = {"plus": 1, "equals_sign": 1, "up": 1, "minus": -1, "down": -1}

    @dataclass
    class Stepped(Message):
        """+ or - was pressed in the sample box."""

        sample_input: SampleInput
        step: int

        @property
        def control(self) -> SampleInput:
            """The box."""
            return self.sample_input

    async def _on_key(self, event: events.Key) -> None:
        if event.key in self.STEPS:
            event.stop()
            event.prevent_default()
            self.post_message(self.Stepped(self, self.STEPS[event.key]))
            return
        await super()._on_key(event)


def input_panel(id: str) -> Widget:
    """The input's picture: through textual-image when its module was imported before the app ran.

    Importing textual-image asks the terminal about its graphics, which only works before the app
    reads stdin; so it is used only when already loaded, and a heatmap shows the input otherwise.
    """
    module = sys.modules.get("layerlab.tui.widgets.picture")
    if module is not None:
        return module.Picture(title="input", id=id)
    return Heatmap(title="input", cmap="sequential", id=id)


@dataclass
class Source:
    """Which input goes through the model: a validation sample by number, or an image file."""

    sample: int = 0
    path: str = ""


def samples(data: Any) -> tuple[Any, Any, Any]:
    """(inputs, labels, raw pictures) of the validation split, else of the training split."""
    if data is None:
        return None, None, None
    if data.x_valid is not None and len(data.x_valid):
        return data.x_valid, data.y_valid, data.raw_x_valid
    return data.x_train, data.y_train, None


def sample_picture(x: np.ndarray, dataset: Any) -> np.ndarray | None:
    """A sample as a picture to show in [0, 1], or None when it is not an image."""
    if not getattr(dataset, "is_image", False):
        return None
    array = np.asarray(x, dtype=np.float32)
    pixel_max = float((getattr(dataset, "metadata", {}) or {}).get("pixel_max", 0) or 0)
    if pixel_max and array.max() > 1.0:
        array = array / pixel_max
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    elif array.ndim == 3 and array.shape[-1] != 3:
        array = array.mean(axis=-1)
    return np.clip(array, 0.0, 1.0)
