"""The bottom line above the footer: what the engine is doing and what the last check found."""

from __future__ import annotations

from layerlab.tui.workspace import Change
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Static


class StatusBar(Horizontal):
    """The engine's state ("loading Keras…", then backend and devices) and the workspace's activity."""

    engine: reactive[str] = reactive("")
    """The app's engine_status, mirrored."""
    activity: reactive[str] = reactive("")
    """What the workspace is doing or found: loading data, checking shapes, the stack's state."""

    def __init__(self) -> None:
        super().__init__(id="status-bar")

    def compose(self) -> ComposeResult:
        yield Static(id="activity")
        yield Static(id="engine")

    def on_mount(self) -> None:
        self.watch(self.app, "engine_status", self._engine_changed)
        self.app.workspace.changed.subscribe(self, self._workspace_changed)
        self._workspace_changed(Change("check"))

    def _engine_changed(self, text: str) -> None:
        self.engine = text

    def watch_engine(self, text: str) -> None:
        engine = self.query_one("#engine", Static)
        engine.update(text)
        engine.set_class(text.startswith("loading"), "-loading")

    def watch_activity(self, text: str) -> None:
        self.query_one("#activity", Static).update(text)

    def _workspace_changed(self, change: Change) -> None:
        self.activity = self.app.workspace.status.words
