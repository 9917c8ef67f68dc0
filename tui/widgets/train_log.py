"""The training event log: one line per event (start, each epoch, NaN, pause, stop, the end, errors).

The words are core.words', the same the headless command prints; `TrainLog` is a RichLog that
keeps lines and writes them a few times a second.
"""

from __future__ import annotations

from layerlab.core import events
from layerlab.core.words import Tone, event_line
from rich.text import Text
from textual.widgets import RichLog

MAX_LINES = 5000
QUIET = (events.EpochStarted, events.BatchEnded, events.EpochEnded)
"""Events that come many times a run: their lines may wait; any other's is `urgent`."""
STYLES = {
    Tone.PLAIN: "",
    Tone.START: "bold",
    Tone.GOOD: "bold green",
    Tone.WARN: "bold yellow",
    Tone.STOP: "bold magenta",
    Tone.BAD: "bold red",
}


def event_text(event: events.Event, epochs: int = 0) -> Text | None:
    """The log's line for one event (core.words' words, in the tone's colour), or None."""
    worded = event_line(event, epochs)
    if worded is None:
        return None
    text, tone = worded
    return Text(text, style=STYLES[tone])


class TrainLog(RichLog):
    """Every training event, one line each, scrolling; `feed()` queues, `flush()` writes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=MAX_LINES, min_width=20, wrap=True, markup=False, **kwargs)
        self.epochs = 0
        self._pending: list[Text] = []
        self.urgent = False
        """Whether a queued line should be written at the next flush (not an epoch line)."""
        self.plain: list[str] = []
        """Every line written, unwrapped, as plain text."""
        self.border_title = "events"

    def feed(self, event: events.Event) -> None:
        """Queue the line for a core event (written at the next flush)."""
        if isinstance(event, events.RunStarted):
            self.epochs = event.epochs
        line = event_text(event, self.epochs)
        if line is not None:
            self._pending.append(line)
            self.urgent = self.urgent or not isinstance(event, QUIET)

    def say(self, text: str, style: str = "") -> None:
        """Queue a line of the screen's own (a failed start, a hint), written at the next flush."""
        self._pending.append(Text(text, style=style))
        self.urgent = True

    @property
    def pending(self) -> bool:
        """Whether lines wait for the next flush."""
        return bool(self._pending)

    def flush(self) -> None:
        """Write the queued lines, following them unless the user scrolled up to read."""
        if not self._pending:
            return
        follow = self.is_vertical_scroll_end
        pending, self._pending, self.urgent = self._pending, [], False
        for line in pending:
            self.plain.append(line.plain)
            self.write(line, scroll_end=False)
        del self.plain[:-MAX_LINES]
        if follow:  # now, so the scroll joins this frame instead of making its own
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    @property
    def text(self) -> str:
        """Everything written so far, as plain text, one line per event."""
        return "\n".join(self.plain)
