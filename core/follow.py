"""Following run folders that another process writes, without a UI: which run `layerlab watch`
means, what a run's events file gained, and waiting for files to change without busy polling.

Imports neither keras nor tensorflow. Everything here blocks: it runs in a thread of its own (the
app's thread workers) and stops when its `stop` event is set. Files change as the writer flushes
them; the OS tells (watchfiles, inotify on Linux), so an epoch shows within DEBOUNCE_MS of its
line. A killed writer changes no file, so with no news its lock is looked at every LIVENESS_S.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import events, runs
from .errors import LayerlabError
from .events import Event

log = logging.getLogger("layerlab")

DEBOUNCE_MS = 200
"""Changes that come together are handed over together, at most this long after the first."""
STEP_MS = 50
"""How long a quiet spell ends a group of changes."""
LIVENESS_S = 1.0
"""With nothing changing, how often the writer's lock is looked at (a killed writer says nothing)."""
POLL_S = (0.1, 1.0)
"""Where the OS cannot tell about changes: the first and the longest wait between two looks."""

_RUN_NAME = re.compile(r"\d{8}-\d{6}-")
RUN_FILES = ("events.jsonl", "spec.toml", "history.csv")


class NoRun(LayerlabError):
    """`layerlab watch` was given something that is not a run, nor a folder of runs."""


# -- which run ---------------------------------------------------------------------------------


def is_run_folder(path: Path) -> bool:
    """A folder layerlab (or its Keras callback) writes a run into."""
    try:
        return path.is_dir() and (
            bool(_RUN_NAME.match(path.name)) or any((path / f).is_file() for f in RUN_FILES)
        )
    except OSError:
        return False


def newest_run(root: Path) -> Path | None:
    """The run folder in `root` started last (by its name's time, then by its files'), or None.

    Raises:
        OSError: `root` cannot be listed.
    """
    found = [p for p in root.iterdir() if not p.name.startswith(".") and is_run_folder(p)]
    if not found:
        return None
    return max(found, key=lambda p: (p.name[:15] if _RUN_NAME.match(p.name) else "", _born_ns(p)))


def _born_ns(path: Path) -> int:
    for candidate in (path / "spec.toml", path / "events.jsonl", path):
        with contextlib.suppress(OSError):
            return candidate.stat().st_mtime_ns
    return 0


def find_run(given: str | os.PathLike | None) -> Path:
    """The run folder `layerlab watch [RUN_DIR | RUNS_DIR]` follows.

    A run folder is followed itself; a folder of runs, its newest run; nothing, the newest run
    in RUNS ($LAYERLAB_RUNS or ./runs).

    Raises:
        NoRun: in words for the user, naming the path and what would be accepted.
    """
    folder = Path(given).expanduser() if given else runs.runs_root()
    said = str(given) if given else f"{folder} (the runs folder: $LAYERLAB_RUNS or ./runs)"
    if not folder.exists() and not given:
        raise NoRun(f"no runs yet in {said}; start one with: layerlab train SPEC")
    if not folder.exists():
        raise NoRun(f"no such folder: {folder}; give a run folder or a folder of runs")
    if not folder.is_dir():
        raise NoRun(f"{folder} is a file, not a run folder; give a run folder or a folder of runs")
    if is_run_folder(folder):
        return folder
    try:
        newest = newest_run(folder)
    except OSError as exc:
        raise NoRun(f"cannot read the folder {folder}: {exc.strerror or exc}") from None
    if newest is None:
        raise NoRun(f"no runs in {said}; start one with: layerlab train SPEC --runs-dir {folder}")
    return newest


# -- what a run's events file gained -----------------------------------------------------------


class EventsTail:
    """A run's events.jsonl read as it grows: each `read` returns the events appended since the last.

    A line still being written waits for its end. A file replaced or cut back (a resumed run
    rewrites it, keeping its first epochs) is read again from its start, and `restarted` says so.
    """

    def __init__(self, folder: Path):
        self.path = Path(folder) / "events.jsonl"
        self._offset = 0
        self._partial = b""
        self._identity: tuple[int, int] | None = None
        self.restarted = False
        """Whether the last `read` began again at the start of a new file."""
        self.problem: str | None = None
        """Why the file cannot be read, if it cannot."""

    def read(self) -> list[Event]:
        self.restarted = False
        try:
            with open(self.path, "rb") as handle:
                info = os.fstat(handle.fileno())
                identity = (info.st_dev, info.st_ino)
                if self._identity is not None and (
                    identity != self._identity or info.st_size < self._offset
                ):
                    self._offset, self._partial, self.restarted = 0, b"", True
                self._identity = identity
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.problem = f"events.jsonl cannot be read: {exc.strerror or exc}"
            return []
        self.problem = None
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        return [event for event in map(read_event, lines) if event is not None]


def read_event(line: bytes) -> Event | None:
    """One line of events.jsonl as an event; None for a line that is not one (half-written)."""
    try:
        return events.from_dict(json.loads(line))
    except (ValueError, KeyError, TypeError):
        return None


def file_stamp(path: Path) -> tuple[int, int] | None:
    """(modification time in ns, size) of a file, None when there is none: it changed if this did."""
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


# -- waiting for changes -----------------------------------------------------------------------


def changes(path: Path, stop: threading.Event, timeout: float = LIVENESS_S) -> Iterator[set[Path]]:
    """Yield at once, then the paths changed under `path` each time some do, until `stop` is set.

    With nothing changing, an empty set every `timeout` seconds. The OS's file notifications
    (watchfiles) are waited on; where they cannot be had (no watchfiles, no inotify watches left,
    a folder that does not exist yet), files are looked at less and less often while nothing
    changes (POLL_S).
    """
    yield set()
    try:
        import watchfiles
    except ImportError:  # an install without it still follows, by looking
        watchfiles = None  # type: ignore[assignment]
    if watchfiles is not None and path.is_dir():
        try:
            for found in watchfiles.watch(
                path,
                stop_event=stop,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                rust_timeout=max(1, int(timeout * 1000)),
                yield_on_timeout=True,
                watch_filter=None,
                raise_interrupt=False,
            ):
                yield {Path(p) for _, p in found}
            return
        except (OSError, RuntimeError) as exc:  # the folder went, or no watches left
            log.info("following %s by looking at its files: %s", path, exc)
    yield from _polled(path, stop, timeout)


def _polled(path: Path, stop: threading.Event, timeout: float) -> Iterator[set[Path]]:
    seen = _listing(path)
    wait, quiet = POLL_S[0], 0.0
    while not stop.wait(wait):
        now = _listing(path)
        changed = {p for p in seen.keys() | now.keys() if seen.get(p) != now.get(p)}
        seen = now
        if changed:
            wait, quiet = POLL_S[0], 0.0
            yield changed
            continue
        quiet += wait
        wait = min(wait * 2, POLL_S[1])
        if quiet >= timeout:
            quiet = 0.0
            yield set()


def _listing(path: Path, depth: int = 2) -> dict[Path, tuple[int, int] | None]:
    """Every file under `path` (two levels: a runs folder's runs' files) and its stamp."""
    found: dict[Path, tuple[int, int] | None] = {}
    try:
        entries = list(os.scandir(path))
    except OSError:
        return found
    for entry in entries:
        child = Path(entry.path)
        try:
            if entry.is_dir() and depth > 1:
                found[child] = None
                found.update(_listing(child, depth - 1))
            elif entry.is_file():
                info = entry.stat()
                found[child] = (info.st_mtime_ns, info.st_size)
        except OSError:
            continue
    return found


# -- following one run, or a folder of runs ----------------------------------------------------


@dataclass(frozen=True)
class RunNews:
    """What changed in a followed run folder since the last news."""

    events: tuple[Event, ...]
    """Events appended to events.jsonl (all of them in the first news, or after a restart)."""
    writer: int | None
    """The pid of the process writing the run now; None when nobody does (it ended, or died)."""
    model: tuple[int, int] | None
    """model.keras's stamp (file_stamp): it was saved again when this changed."""
    restarted: bool = False
    """events.jsonl was written anew (a resume): `events` are the new file's, from its start."""


def follow_run(folder: Path, stop: threading.Event) -> Iterator[RunNews]:
    """Yield the run's news, everything at first, then each time something changed, until `stop`."""
    tail = EventsTail(folder)
    first, writer, model = True, None, None
    for _ in changes(folder, stop):
        alive = runs.writer_pid(folder)  # first: a writer that ends writes its ending before
        fresh = tail.read()
        stamp = file_stamp(folder / "model.keras")
        if first or fresh or tail.restarted or alive != writer or stamp != model:
            yield RunNews(tuple(fresh), alive, stamp, tail.restarted)
        first, writer, model = False, alive, stamp


def follow_runs(root: Path, stop: threading.Event) -> Iterator[list[runs.RunRecord]]:
    """Yield every run under `root` (as list_runs: newest first), at once, then each time a run
    changes, appears, goes, or its writer dies, until `stop` is set.

    Only the runs whose files changed are read again. A change the OS did not tell about (made
    before the watch began, or where it cannot watch) is found at the next quiet tick, by the
    list of folders and the stamps of the unfinished runs' files.

    Raises:
        OSError: `root` exists but cannot be listed.
    """
    records: dict[str, runs.RunRecord] = {}
    order: list[str] = []
    live: set[str] = set()
    folders: set[str] = set()
    stamps: dict[str, tuple[object, ...]] = {}
    base = root.resolve() if root.exists() else root.absolute()
    first = True
    for changed in changes(root, stop):
        if first:
            touched: set[str | None] = {None}
        elif changed:
            touched = {_top(base, p) for p in changed}
        else:
            touched = _quietly_changed(root, folders, records, stamps)
        if None in touched or any(_came_or_went(records, base, t) for t in touched if t):
            folders = _folders(root)
            stamps = {}
            listed = runs.list_runs(root)
            order = [r.path.name for r in listed]
            records = {r.path.name: r for r in listed}
            stamps = {name: _stamps(r.path) for name, r in records.items()}
            read = True
        else:
            again = {name for name in touched if name in records}
            for name in again:
                stamps[name] = _stamps(records[name].path)  # first: a later write is seen again
                records[name] = runs.read_run(records[name].path)
            read = bool(again)
        now_live = {name for name, record in records.items() if record.status == "running"}
        if read or now_live != live:
            yield [records[name] for name in order]
        first, live = False, now_live


def _folders(root: Path) -> set[str]:
    try:
        return {e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith(".")}
    except OSError:
        return set()


def _stamps(run_dir: Path) -> tuple[object, ...]:
    return tuple(file_stamp(run_dir / name) for name in RUN_FILES)


def _quietly_changed(
    root: Path,
    folders: set[str],
    records: dict[str, runs.RunRecord],
    stamps: dict[str, tuple[object, ...]],
) -> set[str | None]:
    """What changed without a word from the OS: None when the folders did, else the unfinished
    runs whose files did."""
    if _folders(root) != folders:
        return {None}
    return {
        name
        for name, record in records.items()
        if not _ended(record) and _stamps(record.path) != stamps.get(name)
    }


def _ended(record: runs.RunRecord) -> bool:
    return any(e.get("event") in ("finished", "failed") for e in record.events)


def _top(base: Path, path: Path) -> str | None:
    """The name of the folder right under `base` that `path` is in ("" for hidden files, which are
    no runs); None when `path` is `base` itself or outside it (then everything is listed again)."""
    try:
        parts = path.relative_to(base).parts
    except ValueError:
        return None
    if not parts:
        return None
    return "" if parts[0].startswith(".") else parts[0]


def _came_or_went(records: dict[str, runs.RunRecord], base: Path, name: str) -> bool:
    """Whether a folder appeared under RUNS, or a listed run went."""
    if name in records:
        return not (base / name).exists()
    return (base / name).is_dir()
