"""The top line of every screen: the app's name, the six screens by key, and the spec's file."""

from __future__ import annotations

from layerlab.tui.registry import PLACES
from layerlab.tui.workspace import Change
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Click
from textual.widgets import Static


class Tab(Static):
    """One screen's tab; a click switches to it, like its number key."""

    def __init__(self, key: str, mode: str, title: str, active: bool) -> None:
        super().__init__(
            f"{key} {title}", classes="tab -active" if active else "tab", id=f"tab-{mode}"
        )
        self.mode = mode

    @on(Click)
    async def _switch(self) -> None:
        await self.app.run_action(f"show('{self.mode}')")


class TabBar(Horizontal):
    """Where am I, where else can I go, and which file am I editing."""

    def __init__(self, mode: str) -> None:
        super().__init__(id="tab-bar")
        self.mode = mode

    def compose(self) -> ComposeResult:
        yield Static("layerlab", id="app-name")
        for place in PLACES:
            yield Tab(place.key, place.mode, place.title, place.mode == self.mode)
        yield Static("", id="file-label")

    def on_mount(self) -> None:
        workspace = self.app.workspace
        workspace.changed.subscribe(self, self._on_change)
        self._show_file()

    def _on_change(self, change: Change) -> None:
        if change.kind in ("file", "spec"):
            self._show_file()

    def _show_file(self) -> None:
        workspace = self.app.workspace
        name = workspace.path.name if workspace.path else f"{workspace.spec.name} (not saved)"
        label = self.query_one("#file-label", Static)
        label.update(("● " if workspace.dirty else "") + name)
        label.set_class(workspace.dirty, "-dirty")
