"""Run folders on disk: one per training run, written as it goes, read back for the Runs screen.

Imports neither keras nor tensorflow. history.csv is written by Keras' CSVLogger (core.session);
this module writes spec.toml, events.jsonl and summary.txt, and reads everything back.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import spec as specs
from core.events import Event, Finished, from_dict, restore

RUNS_ENV = "LAYERLAB_RUNS"


def runs_root(override: str | os.PathLike | None = None) -> Path:
    """RUNS is --runs-dir, else $LAYERLAB_RUNS, else ./runs."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(RUNS_ENV)
    return Path(env).expanduser() if env else Path("runs")


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")
    return slug[:60] or "run"


def new_run_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    """Create RUNS/<YYYYmmdd-HHMMSS>-<name>/, adding -2, -3… if that second is taken."""
    base = runs_root(root)
    base.mkdir(parents=True, exist_ok=True)
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(name)}"
    candidate = base / stem
    n = 2
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            candidate = base / f"{stem}-{n}"
            n += 1


class RunWriter:
    """Writes one run's files; each event line is flushed as soon as it is written."""

    def __init__(self, run_dir: Path, spec: specs.Spec):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        ran = spec.copy()
        if ran.data_path() is not None:  # the run folder is elsewhere: keep the data findable
            ran.data.path = str(ran.data_path().resolve())
        specs.save(ran, self.spec_path)
        self._events = open(self.events_path, "a", encoding="utf-8")  # noqa: SIM115 - open for the run

    spec_path = property(lambda self: self.run_dir / "spec.toml")
    events_path = property(lambda self: self.run_dir / "events.jsonl")
    history_path = property(lambda self: self.run_dir / "history.csv")
    model_path = property(lambda self: self.run_dir / "model.keras")
    summary_path = property(lambda self: self.run_dir / "summary.txt")
    log_path = property(lambda self: self.run_dir / "log.txt")

    def write_event(self, event: Event) -> None:
        if event.per_batch or self._events.closed:
            return
        self._events.write(event.to_json() + "\n")
        self._events.flush()
        if isinstance(event, Finished):
            self.summary_path.write_text(summary_text(event), encoding="utf-8")

    def close(self) -> None:
        if not self._events.closed:
            self._events.close()


def summary_text(done: Finished) -> str:
    """The closing summary, the same words on screen, in the command's output and summary.txt."""
    why = {
        "completed": "ran every epoch",
        "early_stopping": "early stopping: no improvement within patience",
        "stopped": "stopped by the user",
        "nan": "diverged: the loss became NaN",
    }.get(done.reason, done.reason)
    best = ", ".join(f"{k} {v:.4f}" for k, v in done.best.items()) or "none"
    lines = [
        f"epochs run: {done.epochs_run}",
        f"best epoch: {done.best_epoch}",
        f"best: {best}",
        f"why it stopped: {why}",
        f"time: {done.seconds:.1f} s",
        f"run folder: {done.run_dir}",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class RunRecord:
    """What a finished or unfinished run folder holds, read back."""

    path: Path
    name: str
    started: str
    history: list[dict[str, float]]
    events: list[dict[str, Any]]
    """As stored in events.jsonl (strict JSON: non-finite numbers null, named under non_finite)."""
    problem: str | None = None
    """Why the folder could not be read whole (then status is "damaged"); None when it could."""

    @property
    def finished(self) -> dict[str, Any] | None:
        """The finished event, its non-finite numbers (a NaN best) put back."""
        for event in reversed(self.events):
            if event.get("event") == "finished":
                return restore(event)
        return None

    @property
    def status(self) -> str:
        if self.problem:
            return "damaged"
        done = self.finished
        if done:
            return done.get("reason", "completed")
        if any(e.get("event") == "failed" for e in self.events):
            return "failed"
        return "unfinished"

    @property
    def best(self) -> dict[str, float]:
        done = self.finished
        if done:
            return done.get("best", {})
        if self.history and "val_loss" in self.history[0]:
            row = min(self.history, key=lambda r: r.get("val_loss", float("inf")))
            return {"val_loss": row["val_loss"]}
        return {}


class RunDamaged(ValueError):
    """A run file that is not what layerlab writes (beyond a half-written last line)."""


def read_history(path: Path) -> list[dict[str, float]]:
    """history.csv as rows of floats; a half-written last line (a killed run) is skipped.

    Raises:
        OSError: The file exists but cannot be read.
        UnicodeDecodeError: It is not UTF-8 text.
        RunDamaged: Its first line is not a header of logged names with an epoch column.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return []
    # Every line Keras finishes ends with a newline; text after the last one was cut off mid-write.
    complete = text[: text.rfind("\n") + 1]
    try:
        lines = list(csv.reader(io.StringIO(complete)))
    except csv.Error as exc:
        raise RunDamaged(f"history.csv is not a CSV table ({exc})") from None
    if not lines:
        return []
    header = lines[0]
    if "epoch" not in header or "" in header or len(set(header)) != len(header):
        raise RunDamaged(f"history.csv's first line is not a header with an epoch column: {','.join(header)[:60]!r}")
    rows: list[dict[str, float]] = []
    for line in lines[1:]:
        try:
            if len(line) == len(header):
                rows.append({k: float(v) for k, v in zip(header, line, strict=True)})
        except ValueError:  # Keras' "NA" for a value not logged that epoch
            continue
    return rows


def read_events(path: Path) -> list[dict[str, Any]]:
    """events.jsonl's events as stored; a line that is not a JSON event (half-written) is skipped.

    Raises:
        OSError: The file exists but cannot be read.
        UnicodeDecodeError: It is not UTF-8 text.
    """
    events = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(event, dict) and isinstance(event.get("event"), str):
                    events.append(event)
    except FileNotFoundError:
        pass
    return events


def read_run(path: str | os.PathLike) -> RunRecord:
    """A run folder read back; whatever cannot be read is said in the record's `problem`."""
    path = Path(path)
    match = re.match(r"(\d{8}-\d{6})-(.*)", path.name)
    started, name = (match.group(1), match.group(2)) if match else ("", path.name)
    record = RunRecord(path, name, started, [], [])
    problems = [_read_into(record, path), _spec_problem(path)]
    record.problem = "; ".join(p for p in problems if p) or None
    return record


def _read_into(record: RunRecord, path: Path) -> str | None:
    """Fill in the record's history and events; the reason if a file cannot be read whole."""
    reading = "history.csv"
    try:
        record.history = read_history(path / "history.csv")
        reading = "events.jsonl"
        record.events = read_events(path / "events.jsonl")
        done = record.finished
        if done is not None:
            summary_text(from_dict(done))  # the Runs screen shows it: it must have every field
    except OSError as exc:
        return f"{reading} cannot be read: {exc.strerror or exc}"
    except UnicodeDecodeError as exc:
        return f"{reading} is not UTF-8 text: byte {exc.start} cannot be decoded"
    except RunDamaged as exc:
        return str(exc)
    except (KeyError, TypeError, ValueError) as exc:
        return f"events.jsonl's finished event is not one layerlab writes ({type(exc).__name__}: {str(exc)[:100]})"
    return None


def _spec_problem(path: Path) -> str | None:
    """Why the run's spec.toml cannot be opened again, or None."""
    try:
        specs.load(path / "spec.toml")
    except specs.SpecError as exc:
        return f"spec.toml: {': '.join(p for p in (exc.key, exc.problem) if p)}"
    return None


def list_runs(root: str | os.PathLike | None = None) -> list[RunRecord]:
    """Every run folder under RUNS, newest first, damaged ones included (with their problem).

    A run folder is a folder with a spec.toml, or one named as layerlab names them
    (YYYYmmdd-HHMMSS-name), so that a folder that cannot be read is still listed.

    Raises:
        OSError: RUNS itself exists but cannot be listed.
    """
    base = runs_root(root)
    if not base.is_dir():
        return []
    folders = [p for p in base.iterdir() if _is_run_folder(p)]
    # Newest first; two runs started in the same second are told apart by when their spec was written.
    newest = sorted(folders, key=lambda p: (p.name[:15], _written_ns(p)), reverse=True)
    return [read_run(p) for p in newest]


_RUN_NAME = re.compile(r"\d{8}-\d{6}-")


def _is_run_folder(path: Path) -> bool:
    try:
        return path.is_dir() and (bool(_RUN_NAME.match(path.name)) or (path / "spec.toml").exists())
    except OSError:
        return False


def _written_ns(path: Path) -> int:
    """When the run's spec was written (the folder's own time when it cannot be read)."""
    for candidate in (path / "spec.toml", path):
        try:
            return candidate.stat().st_mtime_ns
        except OSError:
            continue
    return 0
