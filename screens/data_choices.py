"""The Data screen's choices: target, task, scaling, validation split, seed and image size.

A choice from a list counts at once; typed text when submitted (enter) or left (tab). Values are
checked by core.spec's own rules when the screen applies them.
"""

from __future__ import annotations

import re
from typing import Any

from layerlab.core.spec import FEATURE_SCALES, TARGET_SCALES, TASKS, DataSpec
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

_SIZE = re.compile(r"^\s*(\d+)\s*(?:[x×,\s]\s*(\d+))?\s*$")


def parse_number(text: str, kind: type) -> Any:
    """Typed text as an int or float where it reads as one, else the text (core.spec says why not)."""
    try:
        return kind(text.strip())
    except ValueError:
        return text.strip()


def _float_text(value: float) -> str:
    """Short, yet read back as the very same number (so an untouched field changes nothing)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def parse_size(text: str) -> Any:
    """ "64", "64x48", "64, 48" → [h, w]; empty → None; anything else as typed (refused later)."""
    if not text.strip():
        return None
    match = _SIZE.match(text)
    if not match:
        return text.strip()
    height = int(match.group(1))
    return [height, int(match.group(2) or height)]


class DataChoices(Vertical):
    """How the data is prepared: the [data] table's choices other than its source."""

    class Changed(Message):
        """The user changed a choice (a list at once, text on enter or when leaving the field)."""

        def __init__(self, choices: DataChoices) -> None:
            super().__init__()
            self.choices = choices

        @property
        def control(self) -> DataChoices:
            return self.choices

    def __init__(self) -> None:
        super().__init__(id="data-choices")
        self.border_title = "Choices"
        self._shown: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield from self._row(
            "target", Select([], prompt="(choose)", compact=True, id="data-target")
        )
        yield from self._row(
            "task", Select([(t, t) for t in TASKS], allow_blank=False, compact=True, id="data-task")
        )
        yield Static("", id="data-reason")
        yield from self._row(
            "scale features",
            Select(
                [(s, s) for s in FEATURE_SCALES], allow_blank=False, compact=True, id="data-xscale"
            ),
        )
        yield from self._row(
            "scale target",
            Select(
                [(s, s) for s in TARGET_SCALES], allow_blank=False, compact=True, id="data-yscale"
            ),
        )
        yield from self._row(
            "validation",
            Input(
                compact=True,
                id="data-valid",
                tooltip="The fraction of rows kept aside to validate, 0 to 0.9",
            ),
        )
        yield from self._row(
            "seed",
            Input(compact=True, id="data-seed", tooltip="The same seed gives the same split"),
        )
        yield from self._row(
            "image size", Input(compact=True, placeholder="as found (e.g. 64x64)", id="data-size")
        )

    @staticmethod
    def _row(label: str, widget) -> ComposeResult:
        with Horizontal(classes="data-choice"):
            yield Label(label)
            yield widget

    def show(self, data: DataSpec) -> None:
        """Show the spec's choices (the target list is set by `set_targets`)."""
        with self.prevent(Select.Changed, Input.Changed):
            self.query_one("#data-task", Select).value = data.task
            self.query_one("#data-xscale", Select).value = data.features_scale
            self.query_one("#data-yscale", Select).value = data.target_scale
            self.query_one("#data-valid", Input).value = _float_text(data.valid_fraction)
            self.query_one("#data-seed", Input).value = str(data.seed)
            size = data.image_size
            self.query_one("#data-size", Input).value = f"{size[0]}x{size[1]}" if size else ""
        self._shown = self._texts()

    def set_targets(self, columns: list[str], target: str | None, fixed: bool) -> None:
        """Offer `columns` as targets, `target` chosen; a built-in's fixed target cannot change."""
        select = self.query_one("#data-target", Select)
        with self.prevent(Select.Changed):
            select.set_options([(c, c) for c in columns])
            if target in columns:
                select.value = target
            else:
                select.clear()
        select.disabled = fixed or not columns
        self._shown = self._texts()

    def set_images(self, images: bool) -> None:
        """Images have no target column or target scaling, and may be resized."""
        self.query_one("#data-size", Input).disabled = not images
        yscale = self.query_one("#data-yscale", Select)
        yscale.disabled = images
        target = self.query_one("#data-target", Select)
        target.prompt = "(each image's class)" if images else "(choose)"
        if images:
            target.disabled = True
            with self.prevent(Select.Changed):
                yscale.value = "none"

    def set_reason(self, text: str, problem: bool = False) -> None:
        """The task line: what auto inferred and why, or why the chosen target cannot work."""
        reason = self.query_one("#data-reason", Static)
        reason.update(text)
        reason.set_class(problem, "-problem")

    @property
    def target(self) -> str | None:
        select = self.query_one("#data-target", Select)
        return None if select.is_blank() else str(select.value)

    def raw(self) -> dict[str, Any]:
        """The choices as [data] values, typed text parsed where it reads as a value."""
        return {
            "target": self.target,
            "task": self.query_one("#data-task", Select).value,
            "features_scale": self.query_one("#data-xscale", Select).value,
            "target_scale": self.query_one("#data-yscale", Select).value,
            "valid_fraction": parse_number(self.query_one("#data-valid", Input).value, float),
            "seed": parse_number(self.query_one("#data-seed", Input).value, int),
            "image_size": parse_size(self.query_one("#data-size", Input).value),
        }

    def _texts(self) -> dict[str, str]:
        return {i.id or "": i.value for i in self.query(Input)}

    @on(Select.Changed)
    def _chosen(self, event: Select.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self))

    @on(Input.Submitted)
    @on(Input.Blurred)
    def _typed(self, event: Input.Submitted | Input.Blurred) -> None:
        event.stop()
        texts = self._texts()
        if isinstance(event, Input.Submitted) or texts != self._shown:
            self._shown = texts
            self.post_message(self.Changed(self))
