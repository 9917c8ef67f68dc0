"""The six screens of the shell: their keys, names and where each one's module lives.

Screens load lazily (their modules may import plotting or image libraries), so the first
screen paints without them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from textual.screen import Screen


@dataclass(frozen=True)
class Place:
    """One screen's place in the shell."""

    key: str
    mode: str
    title: str
    target: str
    """"module:Class" of the screen."""

    def screen_class(self) -> type[Screen]:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)

    def make(self) -> Screen:
        return self.screen_class()()


PLACES: tuple[Place, ...] = (
    Place("1", "data", "Data", "screens.data:DataScreen"),
    Place("2", "build", "Build", "screens.build:BuildScreen"),
    Place("3", "device", "Device", "screens.device:DeviceScreen"),
    Place("4", "train", "Train", "screens.train:TrainScreen"),
    Place("5", "inspect", "Inspect", "screens.inspect:InspectScreen"),
    Place("6", "runs", "Runs", "screens.runs:RunsScreen"),
)
FIRST_MODE = "build"


def place(mode: str) -> Place:
    for item in PLACES:
        if item.mode == mode:
            return item
    raise KeyError(mode)
