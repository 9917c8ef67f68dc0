"""The Train screen's learning curves: LearningCurves repainted on the screen's own tick.

LearningCurves repaints on its own timer; on the Train screen the progress panel, the diagnosis
and the log repaint on another. Two timers make two frames where one would do, and every frame
costs the training thread CPU time, so here the screen's tick drives both.
"""

from __future__ import annotations

from layerlab.tui.widgets.curves import LearningCurves


class TrainCurves(LearningCurves):
    """LearningCurves whose new data is drawn when the Train screen calls `repaint()`."""

    def _flush(self) -> None:
        """LearningCurves' own timer tick: nothing; the screen's tick calls `repaint()`."""

    def repaint(self) -> None:
        """Repaint once for everything fed since the last repaint (nothing new: no-op)."""
        LearningCurves._flush(self)
