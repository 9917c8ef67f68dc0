"""The headless commands beyond ``train``: one module each, found by name.

A module here defines ``HELP`` (one line for ``layerlab --help``), ``add_arguments(parser)`` and
``run(args) -> int`` (the exit code); ``layerlab NAME`` runs it. Modules load only when their
command is asked for, so listing them imports nothing heavy.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def names() -> list[str]:
    """The command names, one per module in this package (sorted)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name: str) -> ModuleType:
    """The module of command `name`."""
    return importlib.import_module(f"{__name__}.{name}")
