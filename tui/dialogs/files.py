"""The open and save dialogs: a path typed (with completion), checked before the dialog closes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from layerlab.core import spec as specs
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static


class PathSuggester(Suggester):
    """Complete a path from what is on disk: the first entry that starts with what was typed."""

    def __init__(self, suffix: str = ".toml") -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.suffix = suffix

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        typed = Path(os.path.expanduser(value))
        folder, stem = (typed, "") if value.endswith(os.sep) else (typed.parent, typed.name)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: (not e.is_dir(), e.name))
        except OSError:
            return None
        for entry in entries:
            wanted = entry.is_dir() or entry.name.endswith(self.suffix)
            if (
                wanted
                and entry.name.startswith(stem)
                and entry.name != stem
                and entry.name[:1] != "."
            ):
                tail = entry.name[len(stem) :] + (os.sep if entry.is_dir() else "")
                return value + tail
        return None


class PathDialog(ModalScreen[Path | None]):
    """Ask for a file path; `validate` may refuse it with a reason shown under the input."""

    DEFAULT_CSS = """
    PathDialog { align: center middle; }
    PathDialog > Vertical {
        width: 76; max-width: 100%; height: auto; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    PathDialog Input { margin: 1 0 0 0; }
    PathDialog #path-error { color: $error; height: auto; display: none; }
    PathDialog #path-error.-shown { display: block; }
    PathDialog .hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding(
            "enter", "ok", "OK", tooltip="Open or save at the path typed (→ takes the completion)"
        ),
        Binding("escape", "cancel", "Cancel", tooltip="Close the dialog, doing nothing"),
    ]

    def __init__(
        self,
        title: str,
        prompt: str,
        value: str = "",
        validate: Callable[[Path], str | None] | None = None,
    ) -> None:
        super().__init__()
        self.dialog_title, self.prompt, self.value = title, prompt, value
        self.validate = validate

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.dialog_title
            yield Static(self.prompt)
            yield Input(self.value, suggester=PathSuggester(), id="path")
            yield Static("", id="path-error")
            yield Static("enter: ok · → accepts the completion · escape: cancel", classes="hint")

    @on(Input.Submitted)
    def action_ok(self) -> None:
        text = self.query_one(Input).value.strip()
        problem = "type a file path" if not text else None
        path = Path(os.path.expanduser(text)) if text else None
        if problem is None and self.validate is not None:
            problem = self.validate(path)
        error = self.query_one("#path-error", Static)
        if problem:
            error.update(problem)
            error.add_class("-shown")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)


def check_spec_file(path: Path) -> str | None:
    """Why `path` cannot be opened as a spec (the SpecError's words), or None."""
    try:
        specs.load(path)
    except specs.SpecError as exc:
        return exc.message
    return None


def check_save_target(path: Path) -> str | None:
    """Why the spec cannot be written to `path`, or None."""
    if path.is_dir():
        return f"{path} is a folder; add a file name such as {path / 'experiment.toml'}"
    if path.suffix != ".toml":
        return "a spec file ends in .toml"
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not os.access(parent, os.W_OK):
        return f"cannot write in {parent}"
    return None


def open_dialog(start: Path | None) -> PathDialog:
    folder = (start.parent if start else Path.cwd()).resolve()
    return PathDialog(
        "Open a spec", "The experiment spec (.toml) to open:", f"{folder}{os.sep}", check_spec_file
    )


def save_dialog(default: str) -> PathDialog:
    return PathDialog(
        "Save the spec", "Write the experiment spec (TOML) to:", default, check_save_target
    )
