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
from textual.widget import Widget
from textual.widgets import Static


def _own_bindings(cls: type, stop: type) -> list[Binding]:
    """The bindings a class and its bases up to (not including) `stop` declare, base first."""
    found: list[BindingType] = []
    for klass in reversed(cls.__mro__):
        if issubclass(klass, stop) and klass is not stop:
            found.extend(klass.__dict__.get("BINDINGS", []))
    return [b for b in Binding.make_bindings(found) if not b.system]


def panel_sections(
    screen: Screen | None, focused: Widget | None
) -> Iterator[tuple[str, list[Binding]]]:
    """(title, bindings) of the panels on `screen` that have keys of their own (the learning
    curves' m, l and z, ...), the focused one first."""
    if screen is None:
        return
    chain = []
    node = focused
    while node is not None and node is not screen:
        chain.append(node)
        node = node.parent  # type: ignore[assignment]
    widgets = chain + [w for w in screen.walk_children(Widget) if w not in chain]
    seen: set[type] = set()
    for widget in widgets:
        kind = type(widget)
        if kind in seen or not kind.__module__.startswith("layerlab."):
            continue
        seen.add(kind)
        bindings = _layerlab_bindings(kind)
        if bindings:
            name = str(getattr(widget, "border_title", "") or "") or _words(kind.__name__)
            here = " (focused)" if widget in chain else ""
            yield f"This screen: {name}{here}", bindings


def _layerlab_bindings(kind: type) -> list[Binding]:
    """The keys layerlab's own classes give a panel (Textual's own, such as a table's arrows,
    are under "Moving around")."""
    found: list[BindingType] = []
    for klass in reversed(kind.__mro__):
        if klass.__module__.startswith("layerlab."):
            found.extend(klass.__dict__.get("BINDINGS", []))
    return [b for b in Binding.make_bindings(found) if not b.system]


def _words(name: str) -> str:
    """ "LearningCurves" → "learning curves"."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()


def key_sections(
    app: App, screen: Screen | None = None, focused: Widget | None = None
) -> Iterator[tuple[str, list[Binding]]]:
    """(section title, bindings) for the panels of the screen shown, the app, each of the six
    screens, the dialogs and focus keys."""
    yield from panel_sections(screen, focused)
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

    def __init__(self, under: Screen | None = None, focused: Widget | None = None) -> None:
        """`under`: the screen help was asked on, whose panels' keys come first; `focused`:
        the widget that had the focus there."""
        super().__init__()
        self.under, self.focused_there = under, focused

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Keys"
            with VerticalScroll(id="help-keys"):
                sections = key_sections(self.app, self.under, self.focused_there)
                yield Static(_rows(self.app, sections), id="help-table")
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
