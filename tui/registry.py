"""The six screens of the shell and the dialogs the help lists: where each one's module lives.

This is the only way the shell reaches `screens/`: by "module:Class" strings imported on demand.
Screens load lazily (their modules may import plotting or image libraries), so the first screen
paints without them, and `tui` imports no screen module (an import-linter contract says so).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from textual.screen import ModalScreen, Screen


def _load(target: str) -> type:
    """The class a "module:Class" string names, its module imported now."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Place:
    """One screen's place in the shell."""

    key: str
    mode: str
    title: str
    target: str
    """"module:Class" of the screen."""

    def screen_class(self) -> type[Screen]:
        return _load(self.target)

    def make(self) -> Screen:
        return self.screen_class()()


PLACES: tuple[Place, ...] = (
    Place("1", "data", "Data", "layerlab.screens.data:DataScreen"),
    Place("2", "build", "Build", "layerlab.screens.build:BuildScreen"),
    Place("3", "device", "Device", "layerlab.screens.device:DeviceScreen"),
    Place("4", "train", "Train", "layerlab.screens.train:TrainScreen"),
    Place("5", "inspect", "Inspect", "layerlab.screens.inspect:InspectScreen"),
    Place("6", "runs", "Runs", "layerlab.screens.runs:RunsScreen"),
)
FIRST_MODE = "build"


@dataclass(frozen=True)
class Dialog:
    """A dialog whose keys the help lists."""

    title: str
    target: str
    """"module:Class" of the dialog."""

    def dialog_class(self) -> type[ModalScreen]:
        return _load(self.target)


DIALOGS: tuple[Dialog, ...] = (
    Dialog("Layer palette", "layerlab.screens.palette:LayerPalette"),
    Dialog("Layer form", "layerlab.screens.layer_form:LayerForm"),
    Dialog("Open and save", "layerlab.tui.dialogs.files:PathDialog"),
    Dialog("Questions", "layerlab.tui.dialogs.confirm:ChoiceDialog"),
    Dialog("Browse for data", "layerlab.screens.data_browse:BrowseDialog"),
)


def place(mode: str) -> Place:
    for item in PLACES:
        if item.mode == mode:
            return item
    raise KeyError(mode)
