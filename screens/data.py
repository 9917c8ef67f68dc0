"""The Data screen: choose a built-in, keras: or file data set, preview it, and prepare it.

A source is read in a thread worker and previewed; a choice is tried in a worker before it
reaches the spec (workspace.set_data, undoable), so a choice that cannot load leaves the spec
as it was and says why on the screen.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList, ProgressBar, SelectionList, Static
from textual.widgets.option_list import Option

from core import spec as specs
from core.spec import DataSpec, Spec
from screens.data_browse import DATA_SUFFIXES, BrowseDialog
from screens.data_choices import DataChoices
from screens.data_preview import DataPreview
from screens.files import PathSuggester
from tui.screen import ShellScreen
from tui.workspace import Change

KERAS_WORDS = {
    "keras:mnist": "70,000 hand-written digits, 28×28 gray, 10 classes; downloaded once",
    "keras:fashion_mnist": "70,000 clothing pictures, 28×28 gray, 10 classes; downloaded once",
    "keras:cifar10": "60,000 small photos, 32×32 colour, 10 classes; downloaded once",
}
_PROGRESS = re.compile(r"(\d+)/(\d+)")


def source_of(data: DataSpec) -> DataSpec:
    """Only where the data comes from (path or name)."""
    return DataSpec(path=data.path, name=data.name)


class DataScreen(ShellScreen):
    """Choose the data, see what it holds, and how it is prepared for training."""

    MODE = "data"
    TITLE = "Data"
    BINDINGS = [
        Binding("ctrl+f", "browse", "Browse", tooltip="Browse the folders for a data file or an image folder"),
        Binding("slash", "focus_path", "Path", show=False, key_display="/", tooltip="Type the path of a data file or image folder"),
        Binding("f5", "reload", "Reload", tooltip="Read the data again (after a failed download or an edited file)"),
    ]

    class SetsListed(Message):
        """The built-in and keras: data sets, with their facts (from the listing worker)."""

        def __init__(self, entries: list[tuple[str, str]]) -> None:
            super().__init__()
            self.entries = entries

    class Previewed(Message):
        """A source was read for the preview, or failed to be (from the preview worker)."""

        def __init__(self, generation: int, data: DataSpec, preview: Any, error: str | None, apply: bool) -> None:
            super().__init__()
            self.generation, self.data, self.preview, self.error, self.apply = generation, data, preview, error, apply

    class Tried(Message):
        """A choice was loaded in trial, or refused (from the trial worker)."""

        def __init__(self, generation: int, data: DataSpec, error: str | None) -> None:
            super().__init__()
            self.generation, self.data, self.error = generation, data, error

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="data-main"):
            with Vertical(id="data-left"):
                with Vertical(id="data-source") as source:
                    source.border_title = "Source"
                    yield Input(
                        placeholder="path of a CSV/TSV/Parquet file or image folder",
                        suggester=PathSuggester(DATA_SUFFIXES),  # type: ignore[arg-type]  # endswith takes a tuple
                        id="data-path",
                    )
                    yield OptionList(id="data-sets")
                    with Horizontal(id="data-download"):
                        yield Label("downloading", id="data-download-label")
                        yield ProgressBar(total=None, show_eta=False, id="data-download-bar")
                yield DataChoices()
            with Vertical(id="data-right"):
                yield DataPreview()
                yield Static("", id="data-message")

    def on_mount(self) -> None:
        self._generation = 0
        self._synced: DataSpec | None = None
        self._source = DataSpec()
        self._capturing = False
        self._loaded: tuple[DataSpec, Any] | None = None
        self.query_one("#data-sets", OptionList).loading = True
        self._list_sets()
        self.workspace.changed.subscribe(self, self._changed)
        self._sync()
        self.query_one("#data-path", Input).focus()

    # -- the workspace ------------------------------------------------------------------------

    def _changed(self, change: Change) -> None:
        if change.kind == "spec" and self.workspace.spec.data != self._synced:
            self._sync()
        elif change.kind == "data":
            self._show_in_use()

    def _sync(self) -> None:
        """Show the spec's data: its source in the path or list, its choices, its preview."""
        spec = self.workspace.spec
        self._synced = copy.deepcopy(spec.data)
        path = spec.data_path()
        with self.prevent(Input.Changed):
            self.query_one("#data-path", Input).value = str(path) if path else ""
        self.query_one(DataChoices).show(spec.data)
        self._highlight(spec.data.name)
        self._read(DataSpec(path=str(path) if path else None, name=spec.data.name), apply=False)
        self._show_in_use()

    def _show_in_use(self) -> None:
        workspace = self.workspace
        if workspace.data_loading:
            self._say(f"loading {workspace.spec.data.source()}…")
        elif workspace.data_error:
            self._say(f"The data in the spec could not be loaded: {workspace.data_error}", "error")
        elif workspace.dataset is not None and workspace.spec.data == self._synced:
            ds = workspace.dataset
            valid = f" / {len(ds.x_valid):,} validation" if ds.has_valid else ", no validation split"
            classes = f", {ds.n_classes} classes" if ds.n_classes else ""
            self._say(f"✓ in use: {ds.name} · {ds.task}{classes} · input {tuple(ds.input_shape)} · {len(ds.x_train):,} training{valid}", "ok")
            self.query_one(DataPreview).show_notes(ds.notes)
            self.query_one(DataChoices).set_reason(f"task: {ds.task_reason}")

    def _say(self, text: str, kind: str = "") -> None:
        message = self.query_one("#data-message", Static)
        message.update(Text(text))
        message.set_class(kind == "error", "-error")
        message.set_class(kind == "ok", "-ok")

    # -- choosing a source ----------------------------------------------------------------------

    @on(Input.Submitted, "#data-path")
    def _path_typed(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self._say("Type the path of a CSV/TSV/Parquet file or an image folder, or pick a data set from the list.", "error")
            return
        self._read(DataSpec(path=str(Path(text).expanduser().absolute())), apply=True)

    @on(OptionList.OptionSelected, "#data-sets")
    def _set_chosen(self, event: OptionList.OptionSelected) -> None:
        self._read(DataSpec(name=event.option.id), apply=True)

    def action_browse(self) -> None:
        typed = self.query_one("#data-path", Input).value.strip()

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.query_one("#data-path", Input).value = str(path)
                self._read(DataSpec(path=str(path)), apply=True)

        self.app.push_screen(BrowseDialog(Path(typed) if typed else Path.cwd()), chosen)

    def action_focus_path(self) -> None:
        self.query_one("#data-path", Input).focus()

    def action_reload(self) -> None:
        self._read(self._source, apply=True)

    def _read(self, source: DataSpec, apply: bool) -> None:
        """Preview `source` in a worker; with `apply`, use it once it has been read."""
        self._generation += 1
        self._source = source
        if not source.path and not source.name:
            self.query_one(DataPreview).clear("No data chosen yet: type a path, browse (ctrl+f), or pick a data set.")
            return
        self.query_one(DataPreview).clear(f"reading {source.source()}…")
        if source.name and source.name.startswith("keras:"):
            self._start_download(source.name)
        data = source
        if source.name:  # built-in and keras: sets load with the current choices
            try:
                data = self._draft()
            except specs.SpecError:
                pass
        self._preview_job(self._generation, data, apply)

    @work(thread=True, exclusive=True, exit_on_error=False, group="data-preview", description="reading data for the preview")
    def _preview_job(self, generation: int, data: DataSpec, apply: bool) -> None:
        from core.data import DataError
        from screens.data_facts import preview_source

        try:
            self.post_message(self.Previewed(generation, data, preview_source(data), None, apply))
        except DataError as exc:
            self.post_message(self.Previewed(generation, data, None, exc.message, apply))
        except Exception as exc:  # any failure is words on the screen, never a traceback
            error = f"could not read {data.source()}: {type(exc).__name__}: {exc}"
            self.post_message(self.Previewed(generation, data, None, error, apply))

    @on(Previewed)
    def _previewed(self, message: Previewed) -> None:
        if message.generation != self._generation:
            return
        self._stop_download()
        preview, view, choices = message.preview, self.query_one(DataPreview), self.query_one(DataChoices)
        self._loaded = (message.data, preview.dataset) if preview is not None and preview.dataset is not None else None
        if preview is None:
            view.clear("Nothing to preview.")
            self._say(message.error or "", "error")
            return
        synced = self._synced if source_of(self._synced or DataSpec()) == source_of(self._source) else None
        target = preview.fixed_target or choices.target or (synced.target if synced else None)
        columns = [c.name for c in preview.columns]
        target = target if target in columns else None
        choices.set_targets(columns, target, fixed=preview.fixed_target is not None)
        choices.set_images(preview.kind == "images")
        view.show(preview, target, synced.drop if synced else [])
        self._explain()
        if message.apply:
            self._apply()
        elif synced is not None:
            self._show_in_use()

    # -- applying ---------------------------------------------------------------------------------

    def _draft(self) -> DataSpec:
        """The source with the screen's choices, checked by core.spec; raises SpecError."""
        preview = self.query_one(DataPreview).preview
        raw: dict[str, Any] = {"path": self._source.path, "name": self._source.name, **self.query_one(DataChoices).raw()}
        raw["drop"] = self.query_one(DataPreview).dropped()
        if self._source.name or (preview is not None and preview.kind == "images"):
            raw["target"] = None
        if preview is None or preview.kind != "images" or self._source.name:
            raw["image_size"] = None
        raw = {k: v for k, v in raw.items() if v is not None}
        current = self.workspace.spec
        return specs.from_dict({**current.to_dict(), "data": raw}, base_dir=current.base_dir).data

    def _apply(self) -> None:
        """Try the screen's choice in a worker; the spec takes it only if it loads."""
        try:
            draft = self._draft()
        except specs.SpecError as exc:
            self._say(exc.message, "error")
            return
        preview = self.query_one(DataPreview).preview
        if preview is None:
            return
        if draft == self.workspace.spec.data:
            self._show_in_use()
            return
        if draft.path and preview.kind == "table" and not draft.target:
            self._say("Choose the target: the column to predict (the target list, under Choices).", "error")
            return
        self._generation += 1
        self._say(f"trying {draft.source()}…")
        loaded = self._loaded is not None and self._loaded[0] == draft
        self._trial_job(self._generation, draft, loaded)

    @work(thread=True, exclusive=True, exit_on_error=False, group="data-trial", description="trying the data choice")
    def _trial_job(self, generation: int, data: DataSpec, loaded: bool) -> None:
        from core.data import DataError, load_dataset

        try:
            if not loaded:  # a preview that loaded these very choices was the trial
                load_dataset(Spec(data=data))
            self.post_message(self.Tried(generation, data, None))
        except DataError as exc:
            self.post_message(self.Tried(generation, data, exc.message))
        except Exception as exc:
            self.post_message(self.Tried(generation, data, f"could not load {data.source()}: {type(exc).__name__}: {exc}"))

    @on(Tried)
    def _tried(self, message: Tried) -> None:
        if message.generation != self._generation:
            return
        if message.error:
            self._say(f"Not applied; the spec keeps {self.workspace.spec.data.source()}. {message.error}", "error")
            return
        self._synced = copy.deepcopy(message.data)
        self.workspace.set_data(message.data)

    @on(DataChoices.Changed)
    def _choice_changed(self) -> None:
        self.query_one(DataPreview).show_target(self.query_one(DataChoices).target, self._task())
        self._explain()
        self._apply()

    @on(SelectionList.SelectedChanged, "#data-columns")
    def _features_changed(self, event: SelectionList.SelectedChanged) -> None:
        if event.selection_list.has_focus:
            self._apply()

    def _task(self) -> str | None:
        task = self.query_one(DataChoices).raw()["task"]
        return None if task == "auto" else str(task)

    def _explain(self) -> None:
        """The task line: what auto infers for the chosen target, and why."""
        preview, choices = self.query_one(DataPreview).preview, self.query_one(DataChoices)
        if preview is None:
            return
        if preview.kind == "images" or preview.fixed_target:
            k = len(preview.classes)
            reason = preview.reason or f"{k} class folders → {'binary' if k == 2 else 'multiclass'}"
            choices.set_reason(f"task: {reason}")
            return
        facts = preview.column(choices.target)
        if facts is None:
            choices.set_reason("Choose the target: the column to predict.", problem=True)
        elif facts.task is None:
            choices.set_reason(f"{facts.name} cannot be the target: {facts.reason}", problem=True)
        else:
            chosen = self._task()
            head = f"auto → {facts.task}" if chosen is None else f"{chosen} (auto would say {facts.task})"
            choices.set_reason(f"task: {head}: {facts.reason}")

    # -- downloads ----------------------------------------------------------------------------------

    def _start_download(self, name: str) -> None:
        """Show a progress bar while Keras downloads (it prints its progress to stdout)."""
        self.query_one("#data-download-label", Label).update(f"{name}: ")
        self.query_one("#data-download-bar", ProgressBar).update(total=None, progress=0)
        self.query_one("#data-download").display = True
        if not self._capturing:
            self.app.begin_capture_print(self, stdout=True, stderr=False)
            self._capturing = True

    def _stop_download(self) -> None:
        self.query_one("#data-download").display = False
        if self._capturing:
            self.app.end_capture_print(self)
            self._capturing = False

    def on_print(self, event: events.Print) -> None:
        found = _PROGRESS.findall(event.text)
        if found and self._capturing:
            done, total = (int(n) for n in found[-1])
            self.query_one("#data-download-bar", ProgressBar).update(total=total, progress=min(done, total))

    # -- the list of data sets ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="data-sets", description="listing the built-in data sets")
    def _list_sets(self) -> None:
        from core.data import builtin_names, describe_builtin, keras_names

        entries = []
        for name in builtin_names():
            info = describe_builtin(name)
            shape = "×".join(str(s) for s in info.input_shape)
            entries.append((name, f"{info.task} · {info.samples:,} samples · input {shape}\n{info.description}"))
        entries += [(name, f"images · downloads\n{KERAS_WORDS.get(name, 'from keras.datasets; downloaded once')}") for name in keras_names()]
        self.post_message(self.SetsListed(entries))

    @on(SetsListed)
    def _sets_listed(self, message: SetsListed) -> None:
        sets = self.query_one("#data-sets", OptionList)
        sets.loading = False
        sets.set_options(Option(_entry(name, words), id=name) for name, words in message.entries)
        self._highlight(self.workspace.spec.data.name)

    def _highlight(self, name: str | None) -> None:
        sets = self.query_one("#data-sets", OptionList)
        if name and sets.option_count:
            try:
                sets.highlighted = sets.get_option_index(name)
            except Exception:  # an unknown name in the spec: nothing to highlight
                pass


def _entry(name: str, words: str) -> Text:
    facts, _, description = words.partition("\n")
    text = Text(name, style="bold")
    text.append(f"  {facts}\n", style="")
    text.append(description, style="dim")
    return text
