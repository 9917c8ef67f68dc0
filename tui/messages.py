"""Messages the shell sends to the screens that others write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from layerlab.core.spec import Spec
from textual.message import Message


@dataclass
class TrainRequested(Message):
    """The user pressed `t`: train this spec.

    The app switches to the Train screen, then posts this to it. A Train screen that handles it
    calls `message.stop()`; one that does not lets it bubble up to the app, which says so.
    """

    spec: Spec
    """A copy of the workspace's spec at the moment `t` was pressed."""
    path: Path | None
    """The spec's file, or None while it is unsaved."""
    resume: Path | None = None
    """A run folder to continue from its last saved epoch (its own spec.toml), instead of a new run."""


@dataclass
class FollowRequested(Message):
    """Show a run folder on the Train screen, following it while another process writes it.

    As TrainRequested: the app switches to the Train screen, then posts this to it.
    """

    run_dir: Path
