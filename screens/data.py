"""The Data screen: choose a built-in, keras: or file data set, preview it, and prepare it.

A source is read in a thread worker and previewed; a choice is tried in a worker before it
reaches the spec (workspace.set_data, undoable), so a choice that cannot load leaves the spec
as it was and says why on the screen. A big table is previewed from its first rows, and a third
worker reads it whole, in chunks, for the exact statistics, which replace the estimates.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layerlab.core import spec as specs
from layerlab.core.errors import LayerlabError, log_failure
from layerlab.core.spec import DataSpec, Spec
from layerlab.screens.data_choices import DataChoices
from layerlab.screens.data_preview import DataPreview
from layerlab.screens.data_source import DataSource
from layerlab.tui.latest import Latest
from layerlab.tui.screen import ShellScreen
from layerlab.tui.workspace import Change
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import SelectionList, Static
from textual.worker import get_current_worker


def source_of(data: DataSpec) -> DataSpec:
    """Only where the data comes from (path or name)."""
    return DataSpec(path=data.path, name=data.name)


class DataScreen(ShellScreen):
    """Choose the data, see what it holds, and how it is prepared for training."""

    MODE = "data"
    TITLE = "Data"
    BINDINGS = [
        Binding(
            "ctrl+f",
            "browse",
            "Browse",
            tooltip="Browse the folders for a data file or an image folder",
        ),
        Binding(
            "slash",
            "focus_path",
            "Path",
            show=False,
            key_display="/",
            tooltip="Type the path of a data file or image folder",
        ),
        Binding(
            "f5",
            "reload",
            "Reload",
            tooltip="Read the data again (after a failed download or an edited file)",
        ),
        Binding(
            "ctrl+z",
            "undo",
            "Undo",
            tooltip="Undo the last change to the spec (choices apply at once)",
        ),
    ]

    class Previewed(Message):
        """A source was read for the preview, or failed to be (from the preview worker)."""

        def __init__(
            self, token: int, data: DataSpec, preview: Any, error: str | None, apply: bool
        ) -> None:
            super().__init__()
            self.token, self.data, self.preview, self.error, self.apply = (
                token,
                data,
                preview,
                error,
                apply,
            )

    class Progressed(Message):
        """A worker read this fraction of its data (for the statistics, or for a trial)."""

        def __init__(self, token: int, fraction: float, trial: bool = False) -> None:
            super().__init__()
            self.token, self.fraction, self.trial = token, fraction, trial

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, type(self)) and message.trial == self.trial

    class Counted(Message):
        """A big table was read whole for its exact statistics, or failed to be (stats worker)."""

        def __init__(self, token: int, stats: Any, error: str | None) -> None:
            super().__init__()
            self.token, self.stats, self.error = token, stats, error

    class Tried(Message):
        """A choice was loaded in trial, or refused (from the trial worker)."""

        def __init__(self, token: int, data: DataSpec, error: str | None) -> None:
            super().__init__()
            self.token, self.data, self.error = token, data, error

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="data-main"):
            with Vertical(id="data-left"):
                yield DataSource()
                yield DataChoices()
            with Vertical(id="data-right"):
                yield DataPreview()
                yield Static("", id="data-message")

    def on_mount(self) -> None:
        self._latest = Latest()
        self._counting = Latest()  # apart from _latest: trying a choice keeps the count going
        self._trying = ""
        self._synced: DataSpec | None = None
        self._source = DataSpec()
        self._loaded: tuple[DataSpec, Any] | None = None
        self.workspace.changed.subscribe(self, self._changed)
        self._sync()
        # The list, not the path: number keys keep switching screens until / or tab reaches the path.
        self.query_one("#data-sets").focus()

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
        self.query_one(DataSource).show(str(path) if path else None, spec.data.name)
        self.query_one(DataChoices).show(spec.data)
        self._read(DataSpec(path=str(path) if path else None, name=spec.data.name), apply=False)
        self._show_in_use()

    def _show_in_use(self) -> None:
        workspace, data = self.workspace, self.workspace.status.data
        if data.phase == "loading":
            self._say(f"loading {workspace.spec.data.source()}…")
        elif data.phase == "failed":
            self._say(f"The data in the spec could not be loaded: {data.error}", "error")
        elif workspace.dataset is not None and workspace.spec.data == self._synced:
            ds = workspace.dataset
            valid = (
                f" / {len(ds.x_valid):,} validation" if ds.has_valid else ", no validation split"
            )
            classes = f", {ds.n_classes} classes" if ds.n_classes else ""
            self._say(
                f"✓ in use: {ds.name} · {ds.task}{classes} · input {tuple(ds.input_shape)} · {len(ds.x_train):,} training{valid}",
                "ok",
            )
            self.query_one(DataPreview).show_notes(ds.notes)
            auto = " (auto)" if workspace.spec.data.task == "auto" else ""
            self.query_one(DataChoices).set_reason(f"task{auto}: {ds.task_reason}")

    def _say(self, text: str, kind: str = "") -> None:
        message = self.query_one("#data-message", Static)
        message.update(Text(text))
        message.set_class(kind == "error", "-error")
        message.set_class(kind == "ok", "-ok")

    # -- choosing a source ----------------------------------------------------------------------

    @on(DataSource.Chosen)
    def _chosen(self, message: DataSource.Chosen) -> None:
        if not message.source.path and not message.source.name:
            self._say(
                "Type the path of a CSV/TSV/Parquet file or an image folder, or pick a data set from the list.",
                "error",
            )
            return
        self._read(message.source, apply=True)

    def action_browse(self) -> None:
        self.query_one(DataSource).browse()

    def action_focus_path(self) -> None:
        # At once, not after a refresh as focus() does: the keys typed next belong to the path.
        self.set_focus(self.query_one(DataSource).path_input)

    def action_undo(self) -> None:
        if not self.workspace.undo():
            self.notify("Nothing to undo.")

    def action_reload(self) -> None:
        self._read(self._source, apply=True)

    def _read(self, source: DataSpec, apply: bool) -> None:
        """Preview `source` in a worker; with `apply`, use it once it has been read."""
        token = self._latest.next()  # also when there is nothing to read: no older read counts
        self._counting.forget()
        self.workers.cancel_group(self, "data-stats")
        self._source = source
        if not source.path and not source.name:
            self.query_one(DataPreview).clear(
                "No data chosen yet: type a path, browse (ctrl+f), or pick a data set."
            )
            return
        self.query_one(DataPreview).clear(f"reading {source.source()}…")
        if source.name and source.name.startswith("keras:"):
            self.query_one(DataSource).start_download(source.name)
        data = source
        if source.name:  # built-in and keras: sets load with the current choices
            with contextlib.suppress(specs.SpecError):
                data = self._draft()
        self._preview_job(token, data, apply)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="data-preview",
        description="reading data for the preview",
    )
    def _preview_job(self, token: int, data: DataSpec, apply: bool) -> None:
        from layerlab.screens.data_facts import preview_source

        try:
            self.post_message(self.Previewed(token, data, preview_source(data), None, apply))
        except LayerlabError as exc:
            log_failure(f"reading {data.source()} for the preview", exc)
            self.post_message(self.Previewed(token, data, None, exc.message, apply))
        except Exception as exc:  # any failure is words on the screen, never a traceback
            log_failure(f"reading {data.source()} for the preview", exc)
            error = f"could not read {data.source()}: {type(exc).__name__}: {exc}"
            self.post_message(self.Previewed(token, data, None, error, apply))

    @on(Previewed)
    def _previewed(self, message: Previewed) -> None:
        if not self._latest.is_current(message.token):
            return
        self.query_one(DataSource).stop_download()
        preview, view, choices = (
            message.preview,
            self.query_one(DataPreview),
            self.query_one(DataChoices),
        )
        self._loaded = (
            (message.data, preview.dataset)
            if preview is not None and preview.dataset is not None
            else None
        )
        if preview is None:
            view.clear(
                f"Nothing to preview: {self._source.source()} could not be read (below); f5 tries again."
            )
            self._say(message.error or "", "error")
            return
        synced = (
            self._synced if source_of(self._synced or DataSpec()) == self._spec_source() else None
        )
        target = preview.fixed_target or choices.target or (synced.target if synced else None)
        columns = [c.name for c in preview.columns]
        target = target if target in columns else None
        choices.set_targets(columns, target, fixed=preview.fixed_target is not None)
        choices.set_images(preview.kind == "images")
        view.show(preview, target, synced.drop if synced else [])
        if preview.estimated and preview.path is not None:
            view.reading = 0.0
            self._stats_job(self._counting.next(), preview.path)
        self._explain()
        if message.apply:
            self._apply()
        elif synced is not None:
            self._show_in_use()

    # -- a big table's exact statistics ------------------------------------------------------------

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="data-stats",
        description="reading the whole table for its statistics",
    )
    def _stats_job(self, token: int, path: Path) -> None:
        from layerlab.screens.data_stats import read_stats

        worker = get_current_worker()
        try:
            stats = read_stats(
                path,
                lambda fraction: self.post_message(self.Progressed(token, fraction)),
                cancelled=lambda: worker.is_cancelled,
            )
            if stats is not None:
                self.post_message(self.Counted(token, stats, None))
        except LayerlabError as exc:
            log_failure(f"reading {path} for its statistics", exc)
            self.post_message(self.Counted(token, None, exc.message))
        except Exception as exc:  # any failure is words on the screen, never a traceback
            log_failure(f"reading {path} for its statistics", exc)
            self.post_message(self.Counted(token, None, f"{type(exc).__name__}: {exc}"))

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        if message.trial:
            if self._latest.is_current(message.token):
                self._say(f"{self._trying} {message.fraction:.0%}")
        elif self._counting.is_current(message.token):
            self.query_one(DataPreview).reading = message.fraction

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        if not self._counting.is_current(message.token):
            return
        view = self.query_one(DataPreview)
        view.reading = None
        if view.preview is None:
            return
        if message.error:
            view.show_unfinished(message.error)
            return
        from layerlab.screens.data_stats import with_stats

        view.show_exact(with_stats(view.preview, message.stats))
        view.show_target(self.query_one(DataChoices).target, self._chosen_task())
        self._explain()

    # -- applying ---------------------------------------------------------------------------------

    def _spec_source(self) -> DataSpec:
        """The source shown, its path written as the spec writes it when it is the same file."""
        source, current = self._source, self.workspace.spec
        if (
            source.path
            and current.data_path() is not None
            and Path(source.path) == current.data_path().absolute()
        ):
            return DataSpec(path=current.data.path)
        return source_of(source)

    def _draft(self) -> DataSpec:
        """The source with the screen's choices, checked by core.spec; raises SpecError."""
        preview = self.query_one(DataPreview).preview
        source = self._spec_source()
        raw: dict[str, Any] = {
            "path": source.path,
            "name": source.name,
            **self.query_one(DataChoices).raw(),
        }
        raw["drop"] = self.query_one(DataPreview).dropped()
        if self._source.name or (preview is not None and preview.kind == "images"):
            raw["target"] = None
        if preview is None or preview.kind != "images" or self._source.name:
            raw["image_size"] = None
        if preview is not None and preview.kind == "images":
            raw["target_scale"] = "none"  # images are classified: there is no target to scale
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
            self._say(
                "Choose the target: the column to predict (the target list, under Choices).",
                "error",
            )
            return
        self._trying = f"trying {draft.source()}…"
        self._say(self._trying)
        loaded = self._loaded is not None and self._loaded[0] == draft
        self._trial_job(self._latest.next(), draft, loaded, self.workspace.spec.base_dir)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="data-trial",
        description="trying the data choice",
    )
    def _trial_job(self, token: int, data: DataSpec, loaded: bool, base_dir: Path | None) -> None:
        from layerlab.core.data import load_dataset

        def progress(fraction: float) -> None:
            self.post_message(self.Progressed(token, fraction, trial=True))

        try:
            if not loaded:  # a preview that loaded these very choices was the trial
                _load(load_dataset, Spec(data=data, base_dir=base_dir), progress)
            self.post_message(self.Tried(token, data, None))
        except LayerlabError as exc:
            log_failure(f"loading {data.source()}", exc)
            self.post_message(self.Tried(token, data, exc.message))
        except Exception as exc:  # any failure is words on the screen, never a traceback
            log_failure(f"loading {data.source()}", exc)
            self.post_message(
                self.Tried(
                    token, data, f"could not load {data.source()}: {type(exc).__name__}: {exc}"
                )
            )

    @on(Tried)
    def _tried(self, message: Tried) -> None:
        if not self._latest.is_current(message.token):
            return
        if message.error:
            self._say(
                f"Not applied; the spec keeps {self.workspace.spec.data.source()}. {message.error}",
                "error",
            )
            return
        self._synced = copy.deepcopy(message.data)
        self.workspace.set_data(message.data)

    @on(DataChoices.Changed)
    def _choice_changed(self) -> None:
        self.query_one(DataPreview).show_target(
            self.query_one(DataChoices).target, self._chosen_task()
        )
        self._explain()
        self._apply()

    @on(SelectionList.SelectedChanged, "#data-columns")
    def _features_changed(self, event: SelectionList.SelectedChanged) -> None:
        if event.selection_list.has_focus:
            self._apply()

    def _chosen_task(self) -> str | None:
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
            choices.set_reason(
                f"task (auto): {reason}" if self._chosen_task() is None else f"task: {reason}"
            )
            return
        facts = preview.column(choices.target)
        if facts is None:
            choices.set_reason("Choose the target: the column to predict.", problem=True)
        elif facts.task is None:
            choices.set_reason(f"{facts.name} cannot be the target: {facts.reason}", problem=True)
        else:
            chosen = self._chosen_task()
            head = (
                "task (auto)"
                if chosen is None
                else f"task {chosen} (auto would infer {facts.task})"
            )
            choices.set_reason(f"{head}: {facts.reason}")


def _load(load_dataset: Callable[..., Any], spec: Spec, progress: Callable[[float], None]) -> Any:
    """load_dataset(spec), told to report its progress where it can."""
    if "progress" in inspect.signature(load_dataset).parameters:
        return load_dataset(spec, progress=progress)
    return load_dataset(spec)
