"""Where layerlab keeps what it remembers between sessions: the last experiment and the app log.

The folder is $LAYERLAB_STATE, else $XDG_STATE_HOME/layerlab, else ~/.local/state/layerlab.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_ENV = "LAYERLAB_STATE"
_LAST = "last-spec-path"
_LOG = "app.log"
_LOG_LIMIT = 2_000_000


def state_dir() -> Path:
    """The folder layerlab's own state lives in (not created here)."""
    env = os.environ.get(STATE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "layerlab"


def log_path() -> Path:
    """The app's log file; an old one over 2 MB is moved aside to app.log.1 first."""
    path = state_dir() / _LOG
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > _LOG_LIMIT:
            path.replace(path.with_suffix(".log.1"))
    except OSError:
        pass
    return path


def last_spec_path() -> Path | None:
    """The experiment file opened or saved last, if it still exists."""
    try:
        text = (state_dir() / _LAST).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text:
        return None
    path = Path(text)
    return path if path.is_file() else None


def remember_spec_path(path: str | os.PathLike) -> None:
    """Remember `path` as the experiment to reopen next time; failing to is not worth an error."""
    try:
        folder = state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _LAST).write_text(str(Path(path).resolve()) + "\n", encoding="utf-8")
    except OSError:
        pass
