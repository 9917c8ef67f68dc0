"""The Data screen's source panel: a path with completion and a browser, the built-in and keras:
data sets with their facts, and a download's progress.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from layerlab.core.spec import DataSpec
from layerlab.screens.data_browse import DATA_SUFFIXES, BrowseDialog
from layerlab.tui.dialogs import PathSuggester
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList, ProgressBar
from textual.widgets.option_list import Option, OptionDoesNotExist

KERAS_WORDS = {
    "keras:mnist": "70,000 hand-written digits, 28×28 gray, 10 classes",
    "keras:fashion_mnist": "70,000 clothing pictures, 28×28 gray, 10 classes",
    "keras:cifar10": "60,000 small photos, 32×32 colour, 10 classes",
}
_PROGRESS = re.compile(r"(\d+)/(\d+)")


def entry_text(name: str, task: str, size: str, description: str) -> Text:
    """One data set in the list: its name and task, then its size and description."""
    text = Text(name, style="bold")
    text.append(f" · {task}\n")
    text.append(f"{size}: ", style="italic")
    text.append(description, style="dim")
    return text


class DataSource(Vertical):
    """Where the data comes from: a typed or browsed path, or a named data set."""

    class Chosen(Message):
        """The user chose a source: `source` holds only a path (absolute) or a name."""

        def __init__(self, panel: DataSource, source: DataSpec) -> None:
            super().__init__()
            self.panel, self.source = panel, source

        @property
        def control(self) -> DataSource:
            return self.panel

    class Listed(Message):
        """The data sets' facts were read (from the listing worker)."""

        def __init__(self, entries: list[tuple[str, str, str, str]]) -> None:
            super().__init__()
            self.entries = entries

    def __init__(self) -> None:
        super().__init__(id="data-source")
        self.border_title = "Source"
        self._set_name: str | None = None
        self._capturing = False

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="a CSV/TSV/Parquet file or an image folder",
            suggester=PathSuggester(DATA_SUFFIXES),  # type: ignore[arg-type]  # endswith takes a tuple
            id="data-path",
            compact=True,
            select_on_focus=False,
            tooltip="Type a path (→ takes the completion, enter reads it); ctrl+f browses",
        )
        yield OptionList(id="data-sets")
        with Horizontal(id="data-download"):
            yield Label("", id="data-download-label")
            yield ProgressBar(total=None, show_eta=False, id="data-download-bar")

    def on_mount(self) -> None:
        self.query_one("#data-sets", OptionList).loading = True
        self._list_sets()

    @property
    def path_input(self) -> Input:
        return self.query_one("#data-path", Input)

    def show(self, path: str | None, name: str | None) -> None:
        """Show the source in use: its path typed in, or its name highlighted."""
        with self.prevent(Input.Changed):
            self.path_input.value = path or ""
        self._set_name = name
        self._highlight()

    def browse(self) -> None:
        """Open the folder browser where the typed path points."""
        typed = self.path_input.value.strip()

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.path_input.value = str(path)
                self.post_message(self.Chosen(self, DataSpec(path=str(path))))

        self.app.push_screen(BrowseDialog(Path(typed) if typed else Path.cwd()), chosen)

    @on(Input.Submitted, "#data-path")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self.post_message(
            self.Chosen(
                self, DataSpec(path=str(Path(text).expanduser().absolute()) if text else None)
            )
        )

    @on(OptionList.OptionSelected, "#data-sets")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(self, DataSpec(name=event.option.id)))

    # -- downloads: Keras prints its progress to stdout, which Textual captures ------------------

    def start_download(self, name: str) -> None:
        self.query_one("#data-download-label", Label).update(f"{name} ")
        self.query_one("#data-download-bar", ProgressBar).update(total=None, progress=0)
        self.query_one("#data-download").display = True
        if not self._capturing:
            self.app.begin_capture_print(self, stdout=True, stderr=False)
            self._capturing = True

    def stop_download(self) -> None:
        self.query_one("#data-download").display = False
        if self._capturing:
            self.app.end_capture_print(self)
            self._capturing = False

    def on_print(self, event: events.Print) -> None:
        found = _PROGRESS.findall(event.text)
        if found and self._capturing:
            done, total = (int(n) for n in found[-1])
            self.query_one("#data-download-bar", ProgressBar).update(
                total=total, progress=min(done, total)
            )

    # -- the list of data sets ----------------------------------------------------------------

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="data-sets",
        description="listing the data sets",
    )
    def _list_sets(self) -> None:
        from layerlab.core.data import builtin_names, describe_builtin, keras_names

        entries = []
        for name in builtin_names():
            info = describe_builtin(name)
            shape = "×".join(str(s) for s in info.input_shape)
            entries.append((name, info.task, f"{info.samples:,} × {shape}", info.description))
        for name in keras_names():
            entries.append(
                (name, "multiclass", "downloads", KERAS_WORDS.get(name, "from keras.datasets"))
            )
        self.post_message(self.Listed(entries))

    @on(Listed)
    def _listed(self, message: Listed) -> None:
        sets = self.query_one("#data-sets", OptionList)
        sets.loading = False
        sets.set_options(Option(entry_text(*entry), id=entry[0]) for entry in message.entries)
        self._highlight()

    def _highlight(self) -> None:
        sets = self.query_one("#data-sets", OptionList)
        if self._set_name and sets.option_count:
            with contextlib.suppress(OptionDoesNotExist):  # an unknown name: nothing to highlight
                sets.highlighted = sets.get_option_index(self._set_name)
