"""The dialogs the app itself opens: questions, open and save, and the help with every key.

They import nothing from `screens/` (the help reaches the screens' dialogs through tui.registry),
so the shell depends on no screen; the screens use these dialogs from here.
"""

from layerlab.tui.dialogs.confirm import SAVE_DISCARD_CANCEL, Choice, ChoiceDialog
from layerlab.tui.dialogs.files import PathDialog, PathSuggester, open_dialog, save_dialog
from layerlab.tui.dialogs.help import HelpScreen, every_key

__all__ = [
    "SAVE_DISCARD_CANCEL",
    "Choice",
    "ChoiceDialog",
    "HelpScreen",
    "PathDialog",
    "PathSuggester",
    "every_key",
    "open_dialog",
    "save_dialog",
]
