"""The form that edits one layer, generated from the catalog: typed inputs, selects, switches."""

from __future__ import annotations

from typing import Any

from layerlab.core.catalog import LAYERS, Param
from layerlab.core.spec import LayerSpec, SpecError, check_layer
from layerlab.tui.widgets.switch import OnOff
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static


def _text(value: Any) -> str:
    """A parameter as its field shows it; a float's text reads back as the very same float
    (Rescaling's 1/255 as 0.00392157 would change the layer when the form is applied untouched)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)


class LayerForm(ModalScreen[LayerSpec | None]):
    """Edit a layer's parameters; dismisses with the new LayerSpec, or None when cancelled.

    Values are checked with the catalog's own rules when submitted (enter in a field, or Apply);
    a refused value keeps the form open with the reason under its field.
    """

    DEFAULT_CSS = """
    LayerForm { align: center middle; }
    LayerForm > Vertical {
        width: 80; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    LayerForm #layer-help { color: $text-muted; margin-bottom: 1; }
    LayerForm VerticalScroll { height: auto; max-height: 16; }
    LayerForm .field { height: auto; }
    LayerForm .field Horizontal { height: auto; }
    LayerForm .field Label { width: 14; }
    LayerForm .field Input, LayerForm .field Select { width: 1fr; }
    LayerForm .param-help { color: $text-muted; padding-left: 14; }
    LayerForm .param-error { color: $error; padding-left: 14; display: none; }
    LayerForm .param-error.-shown { display: block; }
    LayerForm #buttons { height: auto; align-horizontal: right; margin-top: 1; }
    LayerForm Button { margin-left: 1; }
    """
    BINDINGS = [
        Binding(
            "enter", "apply", "Apply", tooltip="Check the values and apply them (from any field)"
        ),
        Binding("escape", "cancel", "Cancel", tooltip="Close the form, changing nothing"),
    ]

    def __init__(self, layer: LayerSpec, index: int) -> None:
        super().__init__()
        self.original = layer
        self.index = index
        self.kind = LAYERS[layer.type]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"layers[{self.index}]: {self.kind.name}"
            box.border_subtitle = self.kind.lesson
            yield Static(self.kind.help, id="layer-help")
            with VerticalScroll():
                if not self.kind.params:
                    yield Static(f"{self.kind.name} has no parameters to set.")
                for param in self.kind.params:
                    yield from self._field(param)
            with Horizontal(id="buttons"):
                yield Button("Apply", id="apply", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def _field(self, param: Param) -> ComposeResult:
        value = self.original.params.get(param.name, param.default)
        with Vertical(classes="field"):
            with Horizontal():
                yield Label(param.name)
                widget_id = f"param-{param.name}"
                if param.kind == "choice" and not param.prefix:
                    options = [(choice, choice) for choice in param.choices]
                    yield Select(
                        options, value=value, allow_blank=False, compact=True, id=widget_id
                    )
                elif param.kind == "bool":
                    yield OnOff(bool(value), compact=True, id=widget_id)
                else:  # numbers, sizes, and a choice that also takes a path (base = "run:RUN_DIR")
                    placeholder = param.allowed()
                    yield Input(_text(value), placeholder=placeholder, compact=True, id=widget_id)
            yield Static(param.help, classes="param-help")
            yield Static("", classes="param-error", id=f"error-{param.name}")

    def on_mount(self) -> None:
        fields = self.query(".field Input, .field Select, .field Checkbox")
        (fields.first() if fields else self.query_one("#apply")).focus()

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The parameters as typed, and the reason each refused one is refused."""
        params: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for param in self.kind.params:
            widget = self.query_one(f"#param-{param.name}")
            if isinstance(widget, Input):
                value, reason = param.parse(widget.value)
                if reason:
                    errors[param.name] = reason
                    continue
            else:
                value = widget.value
            if value is None:
                continue
            if param.name in self.original.params or value != param.default:
                params[param.name] = value
        return params, errors

    def submit(self) -> bool:
        """Check every field; dismiss with the layer if all are accepted, else show why not."""
        params, errors = self.values()
        if not errors:
            try:
                layer = check_layer({"type": self.kind.name, **params}, f"layers[{self.index}]")
            except SpecError as exc:
                errors[exc.key.rsplit(".", 1)[-1]] = exc.problem
        for param in self.kind.params:
            label = self.query_one(f"#error-{param.name}", Static)
            label.update(errors.get(param.name, ""))
            label.set_class(param.name in errors, "-shown")
        if errors:
            first = next(iter(errors))
            if self.query(f"#param-{first}"):
                self.query_one(f"#param-{first}").focus()
            return False
        self.dismiss(layer)
        return True

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.submit()

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        self.submit()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
