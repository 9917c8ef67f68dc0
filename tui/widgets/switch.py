"""A checkbox that says what it is: "on" when ticked, "off" when not."""

from __future__ import annotations

from typing import Any

from textual.widgets import Checkbox


class OnOff(Checkbox):
    """Textual's Checkbox whose label reads its state; only the X's colour would tell otherwise."""

    def __init__(self, value: bool = False, **kwargs: Any):
        super().__init__(_word(value), value, **kwargs)

    def watch_value(self) -> None:
        self.label = _word(self.value)
        super().watch_value()


def _word(value: bool) -> str:
    return "on" if value else "off"
