"""Placeholder for the Device screen, until its own issue replaces this module."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.screen import ShellScreen


class DeviceScreen(ShellScreen):
    """The Device screen (placeholder): the shell's place for it."""

    MODE = "device"
    TITLE = "Device"

    def compose_body(self) -> ComposeResult:
        yield Static(
            "[b]Device[/b]\n\nChoose the accelerator (CPU, GPU, TPU), the distribution strategy and mixed precision.\n\nThis screen is not built yet.",
            classes="placeholder",
        )
