"""The builder's layer stack: position, type, key parameters, output shape and parameter count."""

from __future__ import annotations

from typing import Any

from layerlab.core.catalog import describe
from layerlab.core.spec import LayerSpec
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable


def shape_text(shape: tuple[int | None, ...] | None) -> str:
    """A shape without its batch axis, as Keras prints it: (26, 26, 16) or (30,)."""
    if shape is None:
        return "?"
    inner = ", ".join("?" if s is None else str(s) for s in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


class LayerTable(DataTable):
    """The stack as rows; the layer Keras refused is marked (component class layer-table--error).

    Columns: position, type, output shape, parameter count, key parameters.
    """

    BINDINGS = [Binding("enter", "select_cursor", "Edit", tooltip="Edit the selected layer")]
    COMPONENT_CLASSES = {"layer-table--error", "layer-table--pending"}
    DEFAULT_CSS = """
    LayerTable > .layer-table--error { color: $text-error; text-style: bold; }
    LayerTable > .layer-table--pending { color: $text-muted; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.error_index: int | None = None
        """The row Keras could not build, or None."""

    def on_mount(self) -> None:
        # Shapes and counts before the key parameters, whose text can be long: at 80 columns
        # what is cut off is the end of "16, kernel_size=3, relu", not the shapes.
        self.add_column("#", key="index")
        self.add_column("layer", key="type")
        self.add_column("output", key="output")
        self.add_column("params", key="params")
        self.add_column("parameters", key="detail")

    def show(
        self,
        layers: list[LayerSpec],
        report: Any,
        pending: bool,
        cursor: int | None = None,
    ) -> None:
        """Redraw every row; `report` is the last BuildReport (None while none fits the stack)."""
        row = self.cursor_row if cursor is None else cursor
        rows = report.rows if report is not None and not pending else []
        error = report.error if report is not None and not pending else None
        self.error_index = error.index if error is not None else None
        error_style = self.get_component_rich_style("layer-table--error", partial=True)
        muted = self.get_component_rich_style("layer-table--pending", partial=True)
        self.clear()
        for i, layer in enumerate(layers):
            output, params, style = "…", "", Style()
            if i < len(rows) and rows[i].output_shape is not None:
                output = shape_text(rows[i].output_shape)
                params = f"{rows[i].params:,}" if rows[i].params is not None else ""
            elif self.error_index == i:
                output, style = "✗", error_style
            elif report is not None and not pending:
                output, style = "—", muted
            marker = "✗" if self.error_index == i else str(i)
            cells = (marker, layer.type, output, params, describe(layer.type, layer.params))
            texts = [Text(cell, style=style) for cell in cells]
            texts[3].justify = "right"
            self.add_row(*texts, key=str(i))
        if layers:
            self.move_cursor(row=max(0, min(row, len(layers) - 1)), animate=False)
