"""The Runs screen's list: runs grouped under their sweep, in words and columns that fit the pane.

Pure functions of the run records and a width, so that what the list says is tested without an app.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from layerlab.core import runs, sweeps, words
from rich.text import Text

STATUS_WORDS = {"completed": "done", "early_stopping": "early stop", "nan": "NaN"}
"""Statuses said shorter, so the column fits at 80 columns (the others are short already)."""
STATUS_WIDTH = 10
TROUBLE = ("killed", "damaged", "failed", "nan")

COLORS = ("cyan+", "orange+", "green+", "magenta+", "blue+", "white")
"""The plot's line colours (plotext's names of the terminal's 16 colours), in the order runs are
marked; plotext's "orange+" is the terminal's bright yellow."""
MARK_STYLES = {
    "cyan+": "bright_cyan",
    "orange+": "bright_yellow",
    "green+": "bright_green",
    "magenta+": "bright_magenta",
    "blue+": "bright_blue",
    "white": "bright_white",
}
"""The same colours for the list's marks, so a mark says which curve is its run's."""


@dataclass
class SweepGroup:
    """The runs of one sweep, newest first, shown under one row of the list."""

    name: str
    records: list[runs.RunRecord]
    labels: dict[str, str] = field(default_factory=dict)
    """Each run's settings in a few characters, by folder name: only what differs between runs."""

    @property
    def key(self) -> str:
        return f"sweep:{self.name}"

    @property
    def started(self) -> str:
        return min((r.started for r in self.records if r.started), default="")

    def best(self) -> tuple[runs.RunRecord, runs.Headline] | None:
        """The run with the best monitored value, and that value."""
        scored = [(r, h) for r in self.records if (h := r.headline) is not None]
        if not scored:
            return None
        return min(scored, key=lambda rh: rh[1].value if rh[1].lowest else -rh[1].value)

    def ranked(self) -> list[tuple[runs.RunRecord, runs.Headline]]:
        """The runs with a monitored value, best first (those with another monitor after)."""
        top = self.best()
        if top is None:
            return []
        monitor, lowest = top[1].monitor, top[1].lowest
        scored = [(r, h) for r in self.records if (h := r.headline) is not None]
        same = [rh for rh in scored if rh[1].monitor == monitor]
        same.sort(key=lambda rh: rh[1].value if lowest else -rh[1].value)
        return same + [rh for rh in scored if rh[1].monitor != monitor]


Row = runs.RunRecord | SweepGroup


def arrange(records: list[runs.RunRecord]) -> list[Row]:
    """The list's rows: each sweep's runs together under their group row, where its newest run
    would be (newest first, as `records` are); a run of its own stays where it is.
    """
    members: dict[str, list[runs.RunRecord]] = {}
    for record in records:
        if record.sweep is not None:
            members.setdefault(record.sweep.name, []).append(record)
    rows: list[Row] = []
    for record in records:
        if record.sweep is None:
            rows.append(record)
        elif record is members[record.sweep.name][0]:
            group = SweepGroup(record.sweep.name, members[record.sweep.name])
            tags = [r.sweep for r in group.records if r.sweep is not None]
            keys, seeds = sweeps.varying(tags)
            group.labels = {
                r.path.name: r.sweep.label(keys, seed=seeds) for r in group.records if r.sweep
            }
            rows += [group, *group.records]
    return rows


def row_key(row: Row) -> str:
    return row.key if isinstance(row, SweepGroup) else row.path.name


def status_text(status: str) -> Text:
    """A run's status for the list, at most STATUS_WIDTH characters: a live one stands out."""
    if status == "running":
        return Text("▶ running", style="bold green")
    return Text(STATUS_WORDS.get(status, status), style="red" if status in TROUBLE else "")


def best_label(records: list[runs.RunRecord]) -> str:
    """The best column's header: the monitored value's name, or "best" when runs differ."""
    monitors = Counter(h.monitor for r in records if (h := r.headline) is not None)
    return monitors.most_common(1)[0][0] if len(monitors) == 1 else "best"


def best_text(headline: runs.Headline | None, header: str) -> Text:
    if headline is None:
        return Text("—", justify="right")
    shown = words.number(headline.value)
    if header != headline.monitor:  # runs that monitor different values: say which
        shown = f"{shown} {headline.monitor.removeprefix('val_')[:3]}"
    return Text(shown, justify="right")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int


def plan_columns(width: int, best: str) -> list[Column]:
    """Columns that fit `width` characters of table: the name takes what the others leave.

    The start time goes first when space is short, then "epochs" is said "ep"; every other column
    keeps its whole width, so a status or a value is never cut.
    """
    pad = 2  # the table's cell padding, one each side
    best_width = 11 if best == "best" else max(len(best), 7)  # "best": the value and its name
    fixed = STATUS_WIDTH + pad + best_width + pad + pad  # + the name's own padding
    for started, epochs, least in ((True, "epochs", 20), (False, "epochs", 20), (False, "ep", 0)):
        name = width - fixed - (11 + pad if started else 0) - max(len(epochs), 3) - pad
        if name >= least:
            break
    columns = [Column("name", "name", max(name, 12))]
    if started:
        columns.insert(0, Column("started", "started", 11))
    return [
        *columns,
        Column("status", "status", STATUS_WIDTH),
        Column("epochs", epochs, max(len(epochs), 3)),  # up to 999 epochs whole
        Column("best", best, best_width),
    ]


def ellipsized(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def started_text(started: str) -> str:
    """YYYYmmdd-HHMMSS as mm-dd HH:MM."""
    s = started
    return f"{s[4:6]}-{s[6:8]} {s[9:11]}:{s[11:13]}" if s else ""


def cells(
    row: Row, columns: list[Column], label: str, mark: str | None, header: str
) -> list[Text | str]:
    """A row's cells for `columns`.

    Args:
        row: A run, or a sweep's group row.
        label: What the name column says of a run (its settings, for a run of a sweep).
        mark: The colour of the run's curve when it is marked (a Rich style), else None.
        header: The best column's header (see best_label).
    """
    name_width = next(c.width for c in columns if c.key == "name")
    if isinstance(row, SweepGroup):
        top = row.best()
        by_key: dict[str, Text | str] = {
            "started": started_text(row.started),
            "name": Text(ellipsized(f"▾ {row.name}", name_width), style="bold"),
            "status": Text(f"sweep ({len(row.records)})", style="bold"),
            "epochs": "",
            "best": best_text(top[1] if top else None, header),
        }
    else:
        name = Text("● " if mark else "  ", style=mark or "")
        name.append(ellipsized(label, name_width - 2))
        by_key = {
            "started": started_text(row.started),
            "name": name,
            "status": status_text(row.status),
            "epochs": Text(str(len(row.history)), justify="right"),
            "best": best_text(None if row.problem else row.headline, header),
        }
    return [by_key[c.key] for c in columns]


def sweep_summary(group: SweepGroup) -> str:
    """A sweep in a few lines: its runs, how they ended, and the best three by the monitored value."""
    statuses = Counter(STATUS_WORDS.get(r.status, r.status) for r in group.records)
    ended = ", ".join(f"{n} {status}" for status, n in statuses.most_common())
    lines = [f"sweep {group.name}: {len(group.records)} runs ({ended})"]
    ranked = group.ranked()
    if ranked:
        top = ranked[0][1]
        lines.append(f"{'lowest' if top.lowest else 'highest'} {top.monitor}, best first:")
        lines += [
            f"  {words.number(h.value)}  {group.labels.get(r.path.name, r.name)}"
            for r, h in ranked[:3]
        ]
    lines.append(f"g overlays the curves of all {len(group.records)} runs")
    return "\n".join(lines)
