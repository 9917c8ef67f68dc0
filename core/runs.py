"""Run folders on disk: one per training run, written as it goes, read back for the Runs screen.

Imports neither keras nor tensorflow. history.csv is written by Keras' CSVLogger (core.session);
this module writes spec.toml, events.jsonl and summary.txt, and reads everything back.
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import spec as specs
from core.events import Event, Finished

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

    @property
    def finished(self) -> dict[str, Any] | None:
        for event in reversed(self.events):
            if event.get("event") == "finished":
                return event
        return None

    @property
    def status(self) -> str:
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


def read_history(path: Path) -> list[dict[str, float]]:
    """history.csv as rows of floats; a half-written last line (a killed run) is skipped."""
    rows: list[dict[str, float]] = []
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                try:
                    rows.append({k: float(v) for k, v in row.items() if k is not None})
                except (TypeError, ValueError):
                    continue
    except FileNotFoundError:
        pass
    return rows


def read_events(path: Path) -> list[dict[str, Any]]:
    events = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    except FileNotFoundError:
        pass
    return events


def read_run(path: str | os.PathLike) -> RunRecord:
    path = Path(path)
    match = re.match(r"(\d{8}-\d{6})-(.*)", path.name)
    started, name = (match.group(1), match.group(2)) if match else ("", path.name)
    return RunRecord(path, name, started, read_history(path / "history.csv"), read_events(path / "events.jsonl"))


def list_runs(root: str | os.PathLike | None = None) -> list[RunRecord]:
    """Every run folder under RUNS, newest first."""
    base = runs_root(root)
    if not base.is_dir():
        return []
    folders = [p for p in base.iterdir() if p.is_dir() and (p / "spec.toml").exists()]
    # Newest first; two runs started in the same second are told apart by when their spec was written.
    newest = sorted(folders, key=lambda p: (p.name[:15], (p / "spec.toml").stat().st_mtime_ns), reverse=True)
    return [read_run(p) for p in newest]
