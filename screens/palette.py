"""The layer palette: every catalog layer, filtered as you type; enter picks one."""

from __future__ import annotations

from layerlab.core.catalog import LAYERS, LayerType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option


def matches(layer: LayerType, words: str) -> bool:
    """Whether every typed word appears in the layer's name, help or lesson."""
    haystack = f"{layer.name} {layer.help} {layer.lesson}".lower()
    return all(word in haystack for word in words.lower().split())


def ranked(words: str) -> list[LayerType]:
    """The layers that match, those whose name matches first (the catalog's order otherwise)."""
    typed = words.lower().replace(" ", "")

    def rank(layer: LayerType) -> int:
        name = layer.name.lower()
        return 0 if name == typed else 1 if name.startswith(typed) else 2 if typed in name else 3

    return sorted((layer for layer in LAYERS.values() if matches(layer, words)), key=rank)


class LayerPalette(ModalScreen[str | None]):
    """Pick a layer type to insert; dismisses with its name, or None on escape."""

    DEFAULT_CSS = """
    LayerPalette { align: center middle; }
    LayerPalette > Vertical {
        width: 90; max-width: 100%; height: 80%; max-height: 24;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    LayerPalette OptionList { height: 1fr; border: none; padding: 0; }
    LayerPalette .hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("enter", "pick", "Insert", tooltip="Insert the highlighted layer below the cursor"),
        Binding("escape", "cancel", "Cancel", tooltip="Close the palette, adding nothing"),
        Binding(
            "down",
            "move(1)",
            "Next",
            show=False,
            tooltip="Highlight the next layer (typing filters)",
        ),
        Binding("up", "move(-1)", "Previous", show=False, tooltip="Highlight the previous layer"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Add a layer"
            yield Input(placeholder="type to filter: conv, pool, dropout…", id="filter")
            yield OptionList(id="layers")
            yield Static(
                "↑↓ choose · enter inserts below the cursor · escape cancels", classes="hint"
            )

    def on_mount(self) -> None:
        self._fill("")

    def _fill(self, words: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        for layer in ranked(words):
            line = Text.assemble((layer.name, "bold"), "  ", (layer.help, "dim"))
            options.add_option(Option(line, id=layer.name))
        if options.option_count:
            options.highlighted = 0

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def action_pick(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            self.app.bell()
            return
        self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted if options.highlighted is not None else -1
            options.highlighted = (current + step) % options.option_count

    def action_cancel(self) -> None:
        self.dismiss(None)
