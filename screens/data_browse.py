"""A folder browser for the Data screen: pick a table file, or a folder of images (one sub-folder per class)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Static

DATA_SUFFIXES = (
    ".csv",
    ".tsv",
    ".tab",
    ".txt",
    ".parquet",
    ".pq",
    ".gz",
    ".bz2",
    ".zip",
    ".xz",
    ".zst",
)
"""What core.data reads (core.data.files, kept here so the screen loads without pandas)."""


class DataTree(DirectoryTree):
    """Folders and the files core.data can read; hidden entries left out."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p for p in paths
            if not p.name.startswith(".") and (p.is_dir() or p.name.lower().endswith(DATA_SUFFIXES))
        ]  # fmt: skip


class BrowseDialog(ModalScreen[Path | None]):
    """Browse from a folder; returns the chosen file or image folder, or None."""

    DEFAULT_CSS = """
    BrowseDialog { align: center middle; }
    BrowseDialog > Vertical {
        width: 80; max-width: 100%; height: 80%; padding: 0 1;
        border: thick $primary; background: $surface;
    }
    BrowseDialog DataTree { height: 1fr; }
    BrowseDialog #browse-where { color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    BrowseDialog .hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding(
            "u",
            "use_folder",
            "Use folder",
            tooltip="Use the highlighted folder as an image folder (one sub-folder per class)",
        ),
        Binding("backspace", "up", "Parent", tooltip="Browse from the parent folder"),
        Binding("escape", "cancel", "Cancel", tooltip="Close the browser, choosing nothing"),
    ]

    def __init__(self, start: Path) -> None:
        super().__init__()
        start = start.expanduser()
        self.start = (
            start if start.is_dir() else start.parent if start.parent.is_dir() else Path.cwd()
        )

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Choose a data file or an image folder"
            yield Static(str(self.start.resolve()), id="browse-where")
            yield DataTree(self.start.resolve(), id="browse-tree")
            yield Static(
                "enter: open a folder / choose a file · u: use the folder · backspace: parent · esc: cancel",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one(DataTree).focus()

    @property
    def data_tree(self) -> DataTree:
        return self.query_one(DataTree)

    @on(DirectoryTree.FileSelected)
    def _file(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(event.path)

    def action_use_folder(self) -> None:
        node = self.data_tree.cursor_node
        if node is not None and node.data is not None and node.data.path.is_dir():
            self.dismiss(node.data.path)
        else:
            self.notify("Highlight a folder of class sub-folders first.", severity="warning")

    def action_up(self) -> None:
        root = Path(self.data_tree.path).resolve()
        if root.parent != root:
            self.data_tree.path = root.parent
            self.query_one("#browse-where", Static).update(str(root.parent))

    def action_cancel(self) -> None:
        self.dismiss(None)
