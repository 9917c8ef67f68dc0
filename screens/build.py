"""The builder: the layer stack, its summary and problems, and the compile and fit settings."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from layerlab.core.catalog import LAYERS
from layerlab.core.errors import LayerlabError, log_failure
from layerlab.core.spec import LayerSpec, Spec
from layerlab.screens.layer_form import LayerForm
from layerlab.screens.palette import LayerPalette
from layerlab.tui.screen import ShellScreen
from layerlab.tui.widgets.layer_table import LayerTable
from layerlab.tui.widgets.problems import ProblemPanel
from layerlab.tui.widgets.settings import SettingsPanel
from layerlab.tui.widgets.summary import SummaryPanel
from layerlab.tui.workspace import Change
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable

LAYER_ACTIONS = {"edit", "remove", "move", "duplicate"}


def new_layer(type_name: str) -> LayerSpec:
    """A fresh layer: its key parameters at the catalog's defaults, the rest left to Keras."""
    kind = LAYERS[type_name]
    defaults = kind.defaults()
    return LayerSpec(
        type_name, {name: defaults[name] for name in kind.key_params if name in defaults}
    )


class BuildScreen(ShellScreen):
    """Stack layers with the keyboard; every edit is checked through Keras in the background."""

    MODE = "build"
    TITLE = "Build"
    BINDINGS = [
        Binding("a", "add", "Add", tooltip="Add a layer from the palette, below the cursor"),
        Binding("enter", "edit", "Edit", tooltip="Edit the selected layer's parameters"),
        Binding(
            "x,delete", "remove", "Delete", key_display="x", tooltip="Delete the selected layer"
        ),
        Binding("K,shift+up", "move(-1)", "Up", show=False, tooltip="Move the selected layer up"),
        Binding(
            "J,shift+down", "move(1)", "Down", show=False, tooltip="Move the selected layer down"
        ),
        Binding("y", "duplicate", "Duplicate", tooltip="Duplicate the selected layer below itself"),
        Binding("u", "undo", "Undo", tooltip="Undo the last change to the spec"),
        Binding("ctrl+r", "redo", "Redo", tooltip="Redo what was undone"),
        Binding(
            "e",
            "export",
            "Export",
            tooltip="Write the experiment as a plain Keras script, <name>_keras.py beside the spec",
        ),
        Binding(
            "escape",
            "focus_layers",
            "Layers",
            show=False,
            tooltip="Leave a setting for the layer list",
        ),
    ]

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="build-main"):
            with Vertical(id="stack"):
                table = LayerTable(id="layers")
                table.border_title = "Layers"
                yield table
                yield ProblemPanel()
            with VerticalScroll(id="side", can_focus=False):
                yield SummaryPanel()
                yield SettingsPanel()

    def on_mount(self) -> None:
        self._cursor: int | None = None
        self.workspace.changed.subscribe(self, self._changed)
        self.query_one(SettingsPanel).show(self.workspace.spec)
        self._show_results()
        self.query_one(LayerTable).focus()

    @property
    def table(self) -> LayerTable:
        return self.query_one(LayerTable)

    @property
    def selected(self) -> int | None:
        """The position of the layer under the cursor, or None for an empty stack."""
        layers = self.workspace.spec.layers
        if not layers:
            return None
        row = self._cursor if self._cursor is not None else self.table.cursor_row
        return max(0, min(row, len(layers) - 1))

    def _changed(self, change: Change) -> None:
        if change.kind == "spec":
            self.query_one(SettingsPanel).show(self.workspace.spec)
        if change.kind in ("spec", "data", "check", "engine"):
            self._show_results()

    def _show_results(self) -> None:
        workspace, status = self.workspace, self.workspace.status
        self.table.show(workspace.spec.layers, status.report, status.pending, self._cursor)
        self._cursor = None
        self.query_one(SummaryPanel).refresh_from(workspace)
        if status.check.phase != "pending":  # the last problems stay until the new check says
            self.query_one(ProblemPanel).refresh_from(workspace)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in LAYER_ACTIONS:
            if not self.table.has_focus:
                return False
            return bool(self.workspace.spec.layers) or None
        if action == "undo":
            return self.workspace.can_undo or None
        if action == "redo":
            return self.workspace.can_redo or None
        return True

    def _edited(self, cursor: int | None) -> None:
        self._cursor = cursor
        self.refresh_bindings()

    # -- actions -------------------------------------------------------------------------

    def action_add(self) -> None:
        def insert(type_name: str | None) -> None:
            if type_name is None:
                return
            at = (self.selected + 1) if self.selected is not None else 0
            self._edited(at)
            self.workspace.insert_layer(at, new_layer(type_name))
            self.table.focus()

        self.app.push_screen(LayerPalette(), insert)

    @on(DataTable.RowSelected)
    def action_edit(self) -> None:
        index = self.selected
        if index is None:
            return
        layer = self.workspace.spec.layers[index]

        def replace(new: LayerSpec | None) -> None:
            if new is not None and new != layer:
                self._edited(index)
                self.workspace.replace_layer(index, new)

        self.app.push_screen(LayerForm(layer, index), replace)

    def action_remove(self) -> None:
        index = self.selected
        if index is not None:
            self._edited(index)
            self.workspace.remove_layer(index)

    def action_move(self, offset: int) -> None:
        index = self.selected
        if index is not None:
            target = index + offset
            if not 0 <= target < len(self.workspace.spec.layers):
                self.app.bell()
                return
            self._edited(target)
            self.workspace.move_layer(index, offset)

    def action_duplicate(self) -> None:
        index = self.selected
        if index is not None:
            self._edited(index + 1)
            self.workspace.duplicate_layer(index)

    def action_focus_layers(self) -> None:
        self.table.focus()

    def action_undo(self) -> None:
        if not self.workspace.undo():
            self.notify("Nothing to undo.")
        self.refresh_bindings()

    def action_redo(self) -> None:
        if not self.workspace.redo():
            self.notify("Nothing to redo.")
        self.refresh_bindings()

    def action_export(self) -> None:
        spec = self.workspace.spec.copy()
        path = self.workspace.path
        folder = path.resolve().parent if path is not None else Path.cwd()
        self.run_worker(
            partial(self._export, spec, folder),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group="export",
            description="export the experiment as a Keras script",
        )

    def _export(self, spec: Spec, folder: Path) -> None:
        """Writes the script (in a thread: the data is read and the stack checked through Keras)."""
        from layerlab.core import export

        try:
            done = export.export(spec, export.default_path(spec, folder))
        except LayerlabError as exc:
            self.app.call_from_thread(
                self.notify, exc.message, title="Not exported", severity="error"
            )
            return
        except Exception as exc:
            log_failure("exporting the experiment", exc)
            self.app.call_from_thread(
                self.notify, f"{type(exc).__name__}: {exc}", title="Not exported", severity="error"
            )
            return
        beside = f" (and {', '.join(p.name for p in done.files)})" if done.files else ""
        self.app.call_from_thread(self.notify, f"Wrote {done.script}{beside}", title="Exported")

    @on(SettingsPanel.Edited)
    def _settings_edited(self) -> None:
        self.refresh_bindings()
