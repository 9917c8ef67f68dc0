"""Widgets shared by the screens: tab bar, status bar, builder panels, curves, heatmaps, pictures.

Names load lazily (PEP 562): `from tui.widgets import Heatmap` imports only heatmap's module, so
the shell's first frame does not wait for numpy or textual-image.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Heatmap": "heatmap",
    "KernelGrid": "kernel_grid",
    "LearningCurves": "curves",
    "Picture": "picture",
    "StatusBar": "status_bar",
    "TabBar": "tab_bar",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
