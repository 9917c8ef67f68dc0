"""The builder's compile and fit settings, each field checked by core.spec's own rules.

A field's text is applied when submitted (enter) or left (tab); a choice or switch at once.
A refused value leaves the spec unchanged and says why under the field.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from layerlab.core.spec import LOSSES, OPTIMIZERS, EarlyStoppingSpec, Spec, SpecError, from_dict
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, Select, Static

from .switch import OnOff


@dataclass(frozen=True)
class Field:
    """One setting: its widget id, label, key path in the spec and kind of value."""

    name: str
    label: str
    path: tuple[str, ...]
    kind: str
    """"choice", "int", "float", "list" or "bool"."""
    choices: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return ".".join(self.path)


ES = ("fit", "early_stopping")
FIELDS = (
    Field("optimizer", "optimizer", ("compile", "optimizer"), "choice", OPTIMIZERS),
    Field("learning_rate", "learning rate", ("compile", "learning_rate"), "float"),
    Field("loss", "loss", ("compile", "loss"), "choice", LOSSES),
    Field("metrics", "metrics", ("compile", "metrics"), "list"),
    Field("batch_size", "batch size", ("fit", "batch_size"), "int"),
    Field("epochs", "epochs", ("fit", "epochs"), "int"),
    Field("valid_fraction", "validation", ("data", "valid_fraction"), "float"),
    Field("early_stopping", "early stop", ES, "bool"),
    Field("monitor", "monitor", (*ES, "monitor"), "str"),
    Field("min_delta", "min_delta", (*ES, "min_delta"), "float"),
    Field("patience", "patience", (*ES, "patience"), "int"),
    Field("restore_best_weights", "restore best", (*ES, "restore_best_weights"), "bool"),
)


def read(spec: Spec, field: Field) -> Any:
    """The field's current value in the spec."""
    raw = spec.to_dict()
    if field.path == ES:
        return "early_stopping" in raw["fit"]
    for part in field.path:
        if not isinstance(raw, dict) or part not in raw:
            return None
        raw = raw[part]
    return raw


def parse(field: Field, text: str) -> Any:
    """Typed text as the value to validate: a number where it reads as one, else the text itself."""
    text = text.strip()
    if field.kind == "list":
        return [part for part in text.replace(",", " ").split() if part]
    for kind in (int, float) if field.kind in ("int", "float") else ():
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def apply(spec: Spec, field: Field, value: Any, early: EarlyStoppingSpec | None = None) -> Spec:
    """A new spec with the field set, validated by core.spec.from_dict; raises SpecError."""
    raw = spec.to_dict()
    if field.path == ES:
        if value:
            raw["fit"]["early_stopping"] = copy.deepcopy(vars(early or EarlyStoppingSpec()))
        else:
            raw["fit"].pop("early_stopping", None)
    else:
        table = raw
        for part in field.path[:-1]:
            table = table.setdefault(part, {})
        table[field.path[-1]] = value
    new = from_dict(raw, base_dir=spec.base_dir)
    new.name = spec.name
    return new


def value_text(value: Any) -> str:
    """A value as its field shows it; a float's text reads back as the very same float.

    So leaving a field untouched changes nothing (``f"{1/3:g}"`` would read back as 0.333333,
    an edit and an undo step the user never made).
    """
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return "" if value is None else str(value)


class SettingsPanel(Vertical):
    """Optimizer, learning rate, loss, metrics, batch size, epochs, validation split, early stopping."""

    class Edited(Message):
        """The user changed a setting, core.spec accepted it, and the workspace has it."""

        def __init__(self, panel: SettingsPanel, spec: Spec) -> None:
            super().__init__()
            self.panel, self.spec = panel, spec

        @property
        def control(self) -> SettingsPanel:
            return self.panel

    def __init__(self) -> None:
        super().__init__(id="settings")
        self.border_title = "Compile & fit"
        self.spec = Spec()
        self._early: EarlyStoppingSpec | None = None

    def compose(self) -> ComposeResult:
        for field in FIELDS:
            with Horizontal(classes="setting"):
                yield Label(field.label)
                if field.kind == "choice":
                    options = [(c, c) for c in field.choices]
                    yield Select(options, allow_blank=False, compact=True, id=f"set-{field.name}")
                elif field.kind == "bool":
                    yield OnOff(compact=True, id=f"set-{field.name}")
                else:
                    yield Input(compact=True, id=f"set-{field.name}")
            yield Static("", classes="setting-error", id=f"err-{field.name}")

    def show(self, spec: Spec) -> None:
        """Show the spec's values (after an edit, undo, redo or open), clearing old errors."""
        self.spec = spec
        if spec.fit.early_stopping is not None:
            self._early = copy.deepcopy(spec.fit.early_stopping)
        with self.prevent(Select.Changed, Checkbox.Changed, Input.Changed):
            for field in FIELDS:
                widget = self.query_one(f"#set-{field.name}")
                value = read(spec, field)
                if field.path[:2] == ES and len(field.path) > 2:
                    widget.disabled = spec.fit.early_stopping is None
                    if value is None:
                        value = getattr(self._early or EarlyStoppingSpec(), field.name)
                if isinstance(widget, Input):
                    widget.value = value_text(value)
                else:
                    widget.value = bool(value) if field.kind == "bool" else value
                self._error(field, "")

    def _error(self, field: Field, text: str) -> None:
        label = self.query_one(f"#err-{field.name}", Static)
        label.update(text)
        label.set_class(bool(text), "-shown")

    def submit(self, name: str, value: Any) -> bool:
        """Validate one field's new value; if core.spec accepts it, edit the workspace and post Edited."""
        field = next(f for f in FIELDS if f.name == name)
        if value == read(self.spec, field):
            self._error(field, "")
            return True
        try:
            new = apply(self.spec, field, value, self._early)
        except SpecError as exc:
            self._error(field, exc.problem if exc.key == field.key else exc.message)
            return False
        self._error(field, "")
        self.spec = new
        self.app.workspace.edit(new)
        self.post_message(self.Edited(self, new))
        return True

    def commit(self) -> bool:
        """Apply the text of the field being typed in, as enter would (before a save)."""
        focused = self.screen.focused
        if isinstance(focused, Input) and focused in self.query(Input):
            name = focused.id.removeprefix("set-")
            field = next(f for f in FIELDS if f.name == name)
            return self.submit(name, parse(field, focused.value))
        return True

    @on(Input.Submitted)
    @on(Input.Blurred)
    def _text_done(self, event: Input.Submitted | Input.Blurred) -> None:
        name = event.input.id.removeprefix("set-")
        field = next(f for f in FIELDS if f.name == name)
        self.submit(name, parse(field, event.input.value))

    @on(Select.Changed)
    def _choice(self, event: Select.Changed) -> None:
        self.submit(event.select.id.removeprefix("set-"), event.value)

    @on(Checkbox.Changed)
    def _switch(self, event: Checkbox.Changed) -> None:
        self.submit(event.checkbox.id.removeprefix("set-"), event.value)
