"""The help screen: every key of the app, generated from the bindings so it stays true."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from layerlab.core.errors import log_failure
from layerlab.tui.registry import DIALOGS, PLACES
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def _own_bindings(cls: type, stop: type) -> list[Binding]:
    """The bindings a class and its bases up to (not including) `stop` declare, base first."""
    found: list[BindingType] = []
    for klass in reversed(cls.__mro__):
        if issubclass(klass, stop) and klass is not stop:
            found.extend(klass.__dict__.get("BINDINGS", []))
    return [b for b in Binding.make_bindings(found) if not b.system]


def key_sections(app: App) -> Iterator[tuple[str, list[Binding]]]:
    """(section title, bindings) for the app, each of the six screens, the dialogs and focus keys."""
    yield "Everywhere", _own_bindings(type(app), App) + _own_bindings(App, object)
    for place in PLACES:
        try:
            screen = place.screen_class()
        except Exception as exc:  # a screen that fails to import still leaves the others listed
            log_failure(f"importing the {place.title} screen for the key list", exc)
            continue
        yield f"{place.key} {place.title}", _own_bindings(screen, Screen)
    for dialog in DIALOGS:
        yield dialog.title, _own_bindings(dialog.dialog_class(), ModalScreen)
    yield "Moving around", _own_bindings(Screen, object)


def _rows(app: App, sections: Iterable[tuple[str, list[Binding]]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold", min_width=9)
    table.add_column()
    for title, bindings in sections:
        if not bindings:
            continue
        table.add_row(Text(title, style="bold underline"), "")
        seen: set[str] = set()
        for binding in bindings:
            key = app.get_key_display(Binding(binding.key, binding.action))
            if key in seen:
                continue
            seen.add(key)
            table.add_row(key, binding.tooltip or binding.description or binding.action)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    """Every key, by where it works; escape, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 76; max-width: 100%; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen .hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding(
            "escape,q,question_mark", "close", "Close", key_display="esc", tooltip="Close the help"
        ),
        Binding("j", "scroll(1)", "Scroll down", show=False),
        Binding("k", "scroll(-1)", "Scroll up", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Keys"
            with VerticalScroll(id="help-keys"):
                yield Static(_rows(self.app, key_sections(self.app)), id="help-table")
            yield Static("↑↓ scroll · escape, q or ? closes · the mouse works too", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#help-keys").focus()

    def action_scroll(self, lines: int) -> None:
        self.query_one("#help-keys", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)


def every_key(app: App) -> set[str]:
    """Every key the help screen lists, as displayed (for tests and the footer's honesty)."""
    keys: set[str] = set()
    for _title, bindings in key_sections(app):
        keys.update(app.get_key_display(Binding(b.key, b.action)) for b in bindings)
    return keys
