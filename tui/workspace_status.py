"""Where the workspace's data set and shape check stand, and the one status every widget reads.

The workspace (tui.workspace) holds a DataState and a CheckState and replaces them whole; a
`Status` bundles both with whether Keras has loaded, and derives the words and flags that the
status bar, the builder's panels, the Data screen and the `t` key show or act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from layerlab.tui.jobs import CheckResult

DataPhase = Literal["none", "loading", "loaded", "failed"]
CheckPhase = Literal["none", "pending", "checked", "failed"]


@dataclass(frozen=True)
class DataState:
    """The spec's data set: none asked for yet, loading, loaded or failed."""

    phase: DataPhase = "none"
    dataset: Any = None
    """The core.data Dataset, when loaded."""
    error: str | None = None
    """Why it could not be loaded, when failed."""


@dataclass(frozen=True)
class CheckState:
    """The current spec's shape check: none yet, pending (a worker is on it), checked or failed.

    Checked means Keras answered, whether or not the stack builds (`result.report.ok`); failed
    means the check itself could not run (`result.error`).
    """

    phase: CheckPhase = "none"
    result: CheckResult | None = None
    """Keras' answer, when checked or failed."""


@dataclass(frozen=True)
class Status:
    """What the workspace is doing or found (`Workspace.status`), in the words the screens show."""

    data: DataState
    check: CheckState
    keras: bool
    """Whether Keras has loaded: shape checks wait for it."""
    source: str
    """Where the spec's data comes from, in words (core.spec DataSpec.source)."""

    @property
    def busy(self) -> bool:
        """Whether data or a shape check is on its way."""
        return self.data.phase == "loading" or self.check.phase == "pending"

    @property
    def settled(self) -> bool:
        """Whether Keras has loaded and nothing is on its way."""
        return self.keras and not self.busy

    @property
    def pending(self) -> bool:
        """Whether shapes may still come: something is on its way, or Keras is still loading."""
        return self.busy or not self.keras

    @property
    def report(self) -> Any:
        """The last check's core.model BuildReport (None while none is known)."""
        return self.check.result.report if self.check.result is not None else None

    @property
    def builds(self) -> bool | None:
        """Whether the stack builds: None until a check says, False if it failed or found an error."""
        result = self.check.result
        if result is None:
            return None
        return result.error is None and result.report is not None and result.report.ok

    @property
    def words(self) -> str:
        """The status bar's line: loading, a failure, checking, or what the check found."""
        if self.data.phase == "loading":
            return f"loading {self.source}…"
        if self.data.phase == "failed":
            return "✗ data not loaded"
        if self.check.phase == "pending":
            return "checking shapes…"
        if self.check.result is None:
            return "shapes: waiting for Keras" if self.data.phase == "loaded" else ""
        if not self.builds:
            return "✗ the model cannot be built"
        if self.check.result.warnings:
            return f"⚠ {len(self.check.result.warnings)} warning(s) about the head"
        return "✓ the model builds"

    @property
    def data_words(self) -> str:
        """The data set's state when none is loaded: "loading…" or "not loaded"."""
        return "loading…" if self.data.phase == "loading" else "not loaded"
