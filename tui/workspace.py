"""The one experiment every screen works on: its spec, file, undo history, data set and shape check.

Screens read the state from `app.workspace` (what it is doing or found: `workspace.status`) and
subscribe to `workspace.changed` (a Textual Signal, published on the UI thread) to hear about
changes. Slow work (loading data, checking shapes through Keras) runs in exclusive thread workers
whose results the workspace takes back on the UI thread; only the latest request's result counts
(tui.latest).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layerlab.core import spec as specs
from layerlab.core.spec import DataSpec, LayerSpec, Spec
from layerlab.tui import jobs, state
from layerlab.tui.latest import Latest
from layerlab.tui.layer_edits import LayerEdits
from layerlab.tui.workspace_status import CheckState, DataState, Status
from textual.signal import Signal
from textual.worker import get_current_worker

if TYPE_CHECKING:
    from textual.app import App

HISTORY_LIMIT = 200


@dataclass(frozen=True)
class Change:
    """What changed, published on `Workspace.changed`.

    kind is "spec" (any edit, undo, redo or open), "file" (path or saved state), "data" (a data set
    loaded or failed), "check" (a shape check started or finished) or "engine" (Keras is ready).
    """

    kind: str


class Workspace(LayerEdits):
    """The shared model of the experiment, owned by the app (`app.workspace`)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.changed: Signal[Change] = Signal(app, "workspace-changed")
        self.spec = Spec()
        self.path: Path | None = None
        self._saved = self.spec.to_dict()
        self._undo: list[Spec] = []
        self._redo: list[Spec] = []
        self._keras = False
        self._data = DataState()
        self._check = CheckState()
        self._data_requests = Latest()
        self._check_requests = Latest()
        self._adapt_head = False

    # -- state -----------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        """Whether the spec differs from the file it came from (or was last saved to)."""
        return self.spec.to_dict() != self._saved

    @property
    def status(self) -> Status:
        """What the workspace is doing or found: the one status every widget shows."""
        return Status(self._data, self._check, self._keras, self.spec.data.source())

    @property
    def dataset(self) -> Any:
        """The loaded core.data Dataset, or None (none asked for, loading or failed)."""
        return self._data.dataset

    @property
    def check(self) -> jobs.CheckResult | None:
        """The finished shape check of the current spec (None before one, or while one runs)."""
        return self._check.result

    @property
    def report(self) -> Any:
        """The finished check's core.model BuildReport, or None."""
        return self.status.report

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def _publish(self, *kinds: str) -> None:
        for kind in kinds:
            self.changed.publish(Change(kind))

    # -- files -----------------------------------------------------------------------------

    def replace(
        self, spec: Spec, path: Path | None, *, saved: bool = True, load: bool = True
    ) -> None:
        """Start over on another spec: history cleared, data reloaded (unless `load` is False).

        With saved False the spec counts as unsaved (a new experiment the user has not written).
        """
        self.spec = spec
        self.path = Path(path) if path else None
        self._saved = spec.to_dict() if saved else {}
        self._undo.clear()
        self._redo.clear()
        self._publish("spec", "file")
        if load:
            self.reload_data()

    def open(self, path: str | os.PathLike) -> None:
        """Load a spec file and work on it; raises SpecError and keeps the current spec if it fails."""
        spec = specs.load(path)
        self.replace(spec, Path(path))
        state.remember_spec_path(path)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the spec as TOML atomically; raises OSError. Relative data paths follow the file."""
        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("the spec has no file yet; give a path")
        spec = self.spec.copy()
        if self.path is None or (spec.name == self.path.stem and target != self.path):
            spec.name = target.stem  # a new file names the experiment, unless it was renamed
        data_path = spec.data_path()
        if data_path is not None and not Path(spec.data.path).is_absolute():
            folder = target.resolve().parent
            spec.data.path = os.path.relpath(data_path.resolve(), folder)
        specs.save(spec, target)
        spec.base_dir = target.resolve().parent
        self.spec = spec
        self.path = target
        self._saved = spec.to_dict()
        state.remember_spec_path(target)
        self._publish("file")
        return target

    # -- edits -----------------------------------------------------------------------------

    def edit(self, spec: Spec) -> bool:
        """Make `spec` the current spec, undoably; False when it changes nothing."""
        if spec.to_dict() == self.spec.to_dict():
            return False
        self._undo.append(self.spec)
        del self._undo[:-HISTORY_LIMIT]
        self._redo.clear()
        self._become(spec)
        return True

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.spec)
        self._become(self._undo.pop())
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.spec)
        self._become(self._redo.pop())
        return True

    def _become(self, spec: Spec) -> None:
        data_changed = spec.data != self.spec.data or spec.base_dir != self.spec.base_dir
        self.spec = spec
        self._publish("spec", "file")
        if data_changed:
            self.reload_data()
        else:
            self.recheck()

    def set_data(self, data: DataSpec) -> None:
        """Use another data set (the Data screen calls this); once loaded, the head follows its task."""
        spec = self.spec.copy()
        spec.data = copy.deepcopy(data)
        self._adapt_head = True
        if not self.edit(spec):
            self.reload_data()

    # -- engine, data and checks -----------------------------------------------------------

    def set_engine_ready(self) -> None:
        """Keras has loaded (the app calls this): the first shape check can run."""
        self._keras = True
        self._publish("engine")
        self.recheck()

    def reload_data(self) -> None:
        """Load the spec's data set in a thread worker; the newest request wins."""
        token = self._data_requests.next()
        self._data = DataState("loading")
        self._check = CheckState()
        self._check_requests.forget()  # a check of the old data must not land on the new
        self._publish("data")
        self.app.run_worker(
            partial(self._data_job, token, self.spec.copy()),
            name="load-data",
            group="data",
            description=f"loading data {self.spec.data.source()}",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _data_job(self, token: int, spec: Spec) -> None:
        result = jobs.load_data(spec)
        # call_later posts a Callback event with post_message, which is thread-safe; unlike
        # call_from_thread it does not block this thread, and a closing app drops it.
        self.app.call_later(self._data_loaded, token, result)

    def _data_loaded(self, token: int, result: jobs.DataResult) -> None:
        """Take a data worker's result (on the UI thread), unless a newer request replaced it."""
        if not self._data_requests.is_current(token):
            return
        if result.dataset is None:
            self._data = DataState("failed", error=result.error)
        else:
            self._data = DataState("loaded", result.dataset)
        self._publish("data")
        if self._adapt_head and result.dataset is not None and result.head is not None:
            self._adapt_head = False
            if self._fit_head(result.head):
                return
        self.recheck()

    def _fit_head(self, head: LayerSpec) -> bool:
        """Give the stack the head the new data's task calls for; True if that was an edit."""
        spec = self.spec.copy()
        last = spec.layers[-1] if spec.layers else None
        if last is None or last.type != "Dense":
            spec.layers.append(head)
        else:
            fitted = {**last.params, **head.params}
            if "activation" not in head.params:  # a regression head is linear
                fitted.pop("activation", None)
            if fitted != last.params:
                spec.layers[-1] = LayerSpec("Dense", fitted)
        spec.compile.loss, spec.compile.metrics = "auto", ["auto"]
        if not self.edit(spec):
            return False
        self.app.notify(
            f"The head now fits the {self.dataset.task} task; the loss and metrics follow it (u undoes).",
            title="Head changed",
        )
        return True

    def recheck(self) -> None:
        """Check the stack's shapes through Keras in a thread worker; only the latest check counts."""
        if not self._keras or self.dataset is None:
            return
        token = self._check_requests.next()
        self._check = CheckState("pending")
        self._publish("check")
        self.app.run_worker(
            partial(self._check_job, token, self.spec.copy(), self.dataset),
            name="check-shapes",
            group="check",
            description="checking shapes through Keras",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _check_job(self, token: int, spec: Spec, dataset: Any) -> None:
        worker = get_current_worker()
        result = jobs.check_stack(spec, dataset, cancelled=lambda: worker.is_cancelled)
        if not result.skipped:
            self.app.call_later(self._checked, token, result)  # thread-safe, as in _data_job

    def _checked(self, token: int, result: jobs.CheckResult) -> None:
        """Take a check worker's result (on the UI thread), unless a newer edit replaced it."""
        if not self._check_requests.is_current(token):
            return
        self._check = CheckState("failed" if result.error else "checked", result)
        self._publish("check")
