"""One module per screen of the app, and the dialogs they open.

Modules load lazily through tui.registry; import the one you need, e.g. `from screens.build import
BuildScreen`.
"""

__all__ = [
    "build",
    "confirm",
    "data",
    "device",
    "files",
    "help",
    "inspect",
    "layer_form",
    "palette",
    "runs",
    "train",
]
