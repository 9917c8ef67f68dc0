"""Unsaved specs kept when a signal ends the app, and the note that tells the user at the next start.

They go to the state folder's recovered/ (see tui.state), one file each, never over the user's own.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from layerlab.core import spec as specs
from layerlab.core.spec import Spec
from layerlab.tui import state

log = logging.getLogger("layerlab")
_FOLDER = "recovered"
_NOTE = "recovered-note.txt"


def keep(spec: Spec, path: Path | None) -> Path | None:
    """Write `spec` (unsaved changes to the file at `path`, if any) to recovered/; return where."""
    spec = spec.copy()
    data = spec.data_path()
    if data is not None:  # the copy lives elsewhere: keep its data findable
        spec.data.path = str(data.resolve())
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem if path else spec.name).strip("-.") or "spec"
    folder = state.state_dir() / _FOLDER
    target = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}.toml"
    try:
        specs.save(spec, target)
        with open(folder.parent / _NOTE, "a", encoding="utf-8") as note:
            note.write(f"{target}\t{path or ''}\n")
    except OSError:
        log.exception("could not keep the unsaved spec in %s", folder)
        return None
    log.warning("unsaved changes to %s kept in %s", path or spec.name, target)
    return target


def take_note() -> str | None:
    """What was kept since the last start, in words (None: nothing); the note is read once."""
    note = state.state_dir() / _NOTE
    try:
        lines = note.read_text(encoding="utf-8").splitlines()
        note.unlink()
    except (OSError, UnicodeDecodeError):
        return None
    kept = []
    for line in lines:
        target, _, original = line.partition("\t")
        if target:
            kept.append(f"{target}" + (f" (changes to {original})" if original else ""))
    if not kept:
        return None
    return "The app was ended with unsaved changes; they were kept in " + "; ".join(kept) + "."
