"""The frame every one of the six screens sits in: tab bar on top, status bar and footer below.

A screen subclasses ShellScreen, sets MODE (its name in tui.registry) and TITLE, and yields its
own widgets from compose_body(). `self.workspace` is the shared experiment (tui.workspace).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from layerlab.tui.widgets.keys_footer import KeysFooter
from layerlab.tui.widgets.status_bar import StatusBar
from layerlab.tui.widgets.tab_bar import TabBar
from textual.app import ComposeResult
from textual.screen import Screen

if TYPE_CHECKING:
    from layerlab.tui.workspace import Workspace


class ShellScreen(Screen[None]):
    """One of the six screens."""

    MODE: ClassVar[str] = ""
    """The screen's mode name: data, build, device, train, inspect or runs."""

    def compose(self) -> ComposeResult:
        yield TabBar(self.MODE)
        yield from self.compose_body()
        yield StatusBar()
        yield KeysFooter(compact=True)

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the tab bar and the status bar."""
        yield from ()

    @property
    def workspace(self) -> Workspace:
        return self.app.workspace  # type: ignore[attr-defined]
