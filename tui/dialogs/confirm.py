"""A question with a few answers, each on a key: save / discard / cancel, quit / keep training."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


@dataclass(frozen=True)
class Choice:
    """One answer: the key that picks it, the value returned, and the button's words."""

    key: str
    value: str
    label: str


class ChoiceDialog(ModalScreen[str]):
    """Ask a question; dismiss with the chosen answer's value, or "cancel" on escape."""

    DEFAULT_CSS = """
    ChoiceDialog { align: center middle; }
    ChoiceDialog > Vertical {
        width: 64; max-width: 100%; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    ChoiceDialog #question { margin-bottom: 1; }
    ChoiceDialog Horizontal { height: auto; align-horizontal: right; }
    ChoiceDialog Button { margin-left: 1; min-width: 10; }
    """
    BINDINGS = [
        Binding(
            "escape",
            "choose('cancel')",
            "Cancel",
            tooltip="Cancel: do nothing (each answer has its own key)",
        ),
        Binding(
            "left", "app.focus_previous", "Previous", show=False, tooltip="The previous answer"
        ),
        Binding("right", "app.focus_next", "Next", show=False, tooltip="The next answer"),
    ]

    def __init__(self, question: str, choices: list[Choice], title: str = "") -> None:
        super().__init__()
        self.question = question
        self.choices = choices
        self.dialog_title = title

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.dialog_title
            yield Static(self.question, id="question")
            with Horizontal():
                for choice in self.choices:
                    yield Button(
                        f"{choice.label} ({choice.key})", id=f"choice-{choice.value}", compact=True
                    )

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_key(self, event) -> None:
        for choice in self.choices:
            if event.key == choice.key:
                event.stop()
                self.dismiss(choice.value)
                return

    def action_choose(self, value: str) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id.removeprefix("choice-"))


SAVE_DISCARD_CANCEL = [
    Choice("s", "save", "Save"),
    Choice("d", "discard", "Discard"),
    Choice("c", "cancel", "Cancel"),
]
