"""The one-line diagnosis under the curves: improving, underfitting, overfitting, diverged.

The words are core.diagnosis's, worked out again only when an epoch has ended since the last look;
a NaN loss says so at once and keeps saying it for the rest of the run.
"""

from __future__ import annotations

from layerlab.core import events
from layerlab.core.diagnosis import Diagnosis, diagnose
from textual.widgets import Static

KINDS = ("starting", "improving", "underfitting", "overfitting", "diverged", "flat")


class TrainDiagnosis(Static):
    """What the curves say so far, styled by kind (classes -improving, -overfitting, …)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.diagnosis: Diagnosis | None = None
        """The diagnosis shown (None before a run's first epoch)."""
        self.history: list[dict[str, float]] = []
        self._patience: int | None = None
        self._min_delta = 0.0
        self._ended: str | None = None
        self._judged = 0
        self._locked = False

    def begin(self, patience: int | None, history: list[dict[str, float]] | None = None) -> None:
        """A new run: forget the last; `patience` is early stopping's, None when it is off.

        `history` is the run's epoch logs: the run handle's list, which it alone fills.
        """
        self.history = [] if history is None else history
        self._patience, self._judged, self._locked = patience, 0, False
        self._min_delta, self._ended = 0.0, None
        self._show(None)

    def feed(self, event: events.Event) -> None:
        """Take a core event: epochs are judged at the next `flush()`, a NaN at once."""
        match event:
            case events.RunStarted(spec=spec):
                self._min_delta = float(spec.get("min_delta") or 0.0)
            case events.Finished(reason=reason):
                self._ended, self._judged = reason, -1  # judged again, as a finished run
            case events.NanDetected(epoch=epoch, batch=batch):
                self._locked = True
                self._show(
                    Diagnosis(
                        "diverged",
                        f"diverged: the loss became NaN at epoch {epoch}, batch {batch} — "
                        "lower the learning rate",
                    )
                )

    def flush(self) -> bool:
        """Diagnose the epochs that ended since the last flush; True if there were any."""
        if len(self.history) == self._judged:
            return False
        self._judged = len(self.history)
        if not self._locked:
            found = diagnose(
                self.history, patience=self._patience, min_delta=self._min_delta, ended=self._ended
            )
            self._show(found)
        return True

    def _show(self, found: Diagnosis | None) -> None:
        if found == self.diagnosis and found is not None:
            return
        self.diagnosis = found
        self.update(found.text if found else "", layout=False)  # always two lines high
        for kind in KINDS:
            self.set_class(found is not None and found.kind == kind, f"-{kind}")
