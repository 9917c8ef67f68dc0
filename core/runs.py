"""Run folders on disk: one per training run, written as it goes, read back for the Runs screen.

Imports neither keras nor tensorflow. history.csv is written by Keras' CSVLogger (core.session);
this module writes spec.toml, events.jsonl and summary.txt, and reads everything back.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, cast

from . import spec as specs
from .events import Event, Finished, from_dict, restore
from .files import replace_text, sweep_temporary
from .sweeps import SweepTag
from .words import summary_text

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


class RunBusy(OSError):
    """Another process is writing this run folder."""

    def __init__(self, run_dir: Path, pid: int | None):
        self.pid = pid
        who = f"process {pid}" if pid else "another process"
        super().__init__(
            f"{run_dir} is being written by {who}; wait for it to end or stop it first"
        )


class RunLock:
    """An OS file lock on a run folder, held while a process writes it.

    The kernel releases it when the writer dies, however it dies, so a reader can tell a live run
    from a killed one: `writer_pid` answers without taking the lock.
    """

    NAME = ".lock"

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / self.NAME
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise RunBusy(Path(run_dir), writer_pid(run_dir)) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{os.getpid()}\n".encode())

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing drops the lock; the file stays, unlocked
            self._fd = -1


def writer_pid(run_dir: str | os.PathLike) -> int | None:
    """The pid of the live process writing `run_dir`, or None when nobody holds its lock."""
    path = Path(run_dir) / RunLock.NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.read(fd, 32).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class RunWriter:
    """Writes one run's files; each event line is flushed as soon as it is written.

    Holds the folder's lock from creation to `close`. A write that fails (a full disk) is kept in
    `error` instead of raised, so that training decides what to do and the events still reach
    the screen.
    """

    def __init__(
        self,
        run_dir: Path,
        spec: specs.Spec | None,
        provenance: dict[str, Any] | None = None,
        *,
        resume_epoch: int | None = None,
    ):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.error: OSError | None = None
        self.lock = RunLock(self.run_dir)
        try:
            sweep_temporary(self.run_dir)
            if spec is not None:  # None: a Keras script's run, which writes model.txt instead
                specs.save(spec.with_paths_resolved(), self.spec_path)
            if resume_epoch is not None:
                keep_epochs(self.run_dir, resume_epoch)
            if provenance is not None:
                self._provenance(provenance, resumed=resume_epoch is not None)
            self._events = open(self.events_path, "a", encoding="utf-8")  # noqa: SIM115 - open for the run
        except BaseException:
            self.lock.release()
            raise

    spec_path = property(lambda self: self.run_dir / "spec.toml")
    events_path = property(lambda self: self.run_dir / "events.jsonl")
    history_path = property(lambda self: self.run_dir / "history.csv")
    model_path = property(lambda self: self.run_dir / "model.keras")
    summary_path = property(lambda self: self.run_dir / "summary.txt")
    log_path = property(lambda self: self.run_dir / "log.txt")
    provenance_path = property(lambda self: self.run_dir / "provenance.json")

    def _provenance(self, info: dict[str, Any], resumed: bool) -> None:
        """provenance.json: what ran, where and on which data; a resume adds itself to the list."""
        record = read_provenance(self.run_dir) if resumed else {}
        if resumed:
            record.setdefault("resumed", []).append(info)
        else:
            record = dict(info)
        replace_text(self.provenance_path, json.dumps(record, indent=2) + "\n")

    def write_event(self, event: Event) -> None:
        if event.per_batch or self._events.closed or self.error is not None:
            return
        try:
            self._events.write(event.to_json() + "\n")
            self._events.flush()
            if isinstance(event, Finished):
                replace_text(self.summary_path, summary_text(event))
        except OSError as exc:
            self.error = exc

    def close(self) -> None:
        if not self._events.closed:
            with contextlib.suppress(OSError):
                self._events.close()
        self.lock.release()


def read_provenance(run_dir: str | os.PathLike) -> dict[str, Any]:
    try:
        data = json.loads(Path(run_dir, "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def data_fingerprint(path: Path | None, name: str | None) -> str:
    """sha256 of a data file; of the names and sizes of a folder's files; or the built-in name."""
    if path is None:
        return f"builtin:{name}"
    digest = hashlib.sha256()
    if path.is_dir():
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(f"{item.relative_to(path)}\0{item.stat().st_size}\n".encode())
        return f"sha256-listing:{digest.hexdigest()}"
    with open(path, "rb") as handle:
        return f"sha256:{hashlib.file_digest(handle, 'sha256').hexdigest()}"


def keep_epochs(run_dir: Path, epochs: int) -> None:
    """Cut history.csv and events.jsonl back to the first `epochs` epochs, for a resume.

    Rows of epochs after the resume point, half-written lines, and the ending of the earlier try
    (stopped, finished) go: the resumed run writes them again, so no epoch appears twice.
    """
    history = run_dir / "history.csv"
    if history.exists():
        lines = history.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        kept = lines[: 1 + epochs] if lines else []
        if kept and not kept[-1].endswith("\n"):
            kept = kept[:-1]
        replace_text(history, "".join(kept) if epochs else "")
    events_file = run_dir / "events.jsonl"
    if events_file.exists():
        kept_events = []
        for line in events_file.read_text(encoding="utf-8", errors="replace").splitlines(
            keepends=True
        ):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # half-written when the writer died
            if not line.endswith("\n") or not isinstance(record, dict):
                continue
            if record.get("event") == "epoch_end" and record.get("epoch", 0) > epochs:
                break
            if record.get("event") not in (
                "stopped",
                "finished",
                "failed",
                "early_stopping",
                "nan_detected",
            ):
                kept_events.append(line)  # as written: strict JSON stays strict
        replace_text(events_file, "".join(kept_events))
    for stale in ("summary.txt", "last.keras"):
        with contextlib.suppress(FileNotFoundError):
            (run_dir / stale).unlink()


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
    sweep: SweepTag | None = None
    """The sweep the run belongs to (provenance.json's "sweep"); None for a run of its own."""

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
        # Nobody holds the folder's lock: the writer died without saying how it ended.
        return "running" if writer_pid(self.path) else "killed"

    @property
    def best(self) -> dict[str, float]:
        done = self.finished
        if done:
            return done.get("best", {})
        if self.history and "val_loss" in self.history[0]:
            row = min(self.history, key=lambda r: r.get("val_loss", float("inf")))
            return {"val_loss": row["val_loss"]}
        return {}

    @property
    def headline(self) -> Headline | None:
        """The one number that ranks the run: the monitored validation value at its best, as the
        course reads it off the curve (the finished event's extreme), else the lowest val_loss so far.
        """
        done = self.finished
        extreme = done.get("extreme") if done else None
        if isinstance(extreme, dict) and isinstance(extreme.get("value"), int | float):
            return Headline(
                str(extreme.get("monitor", "")),
                float(extreme["value"]),
                extreme.get("kind") != "highest",
            )
        best = self.best  # a run written before extremes were recorded: val_loss, as Keras' default
        names = sorted((k for k in best if k.startswith("val_")), key=lambda k: k != "val_loss")
        for name in names:
            if isinstance(best[name], int | float):
                return Headline(name, float(best[name]), "loss" in name or "error" in name)
        return None


class Headline(NamedTuple):
    """A run's best monitored value: which, how much, and whether lower is better."""

    monitor: str
    value: float
    lowest: bool


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
        raise RunDamaged(
            f"history.csv's first line is not a header with an epoch column: {','.join(header)[:60]!r}"
        )
    rows: list[dict[str, float]] = []
    for line in lines[1:]:
        try:
            if len(line) == len(header):
                # Keras writes "NA" for a value not logged that epoch (val_ columns without
                # validation, or between validation_freq epochs): the row keeps the others.
                rows.append({k: float(v) for k, v in zip(header, line, strict=True) if v != "NA"})
        except ValueError:
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
    record = RunRecord(
        path, name, started, [], [], sweep=SweepTag.from_provenance(read_provenance(path))
    )
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
            summary_text(
                cast(Finished, from_dict(done))
            )  # the Runs screen shows it: it must have every field
    except OSError as exc:
        return f"{reading} cannot be read: {exc.strerror or exc}"
    except UnicodeDecodeError as exc:
        return f"{reading} is not UTF-8 text: byte {exc.start} cannot be decoded"
    except RunDamaged as exc:
        return str(exc)
    except (KeyError, TypeError, ValueError) as exc:
        return f"events.jsonl's finished event is not one layerlab writes ({type(exc).__name__}: {str(exc)[:100]})"
    return None


SPEC_LESS = "model.txt"
"""A run a Keras script wrote (core.keras_callback) has no spec: its model summary and compile
settings are in this file instead."""


def spec_less(path: str | os.PathLike) -> bool:
    """Whether a run folder was written by a Keras script, without a spec."""
    path = Path(path)
    return not (path / "spec.toml").exists() and (path / SPEC_LESS).exists()


def _spec_problem(path: Path) -> str | None:
    """Why the run's spec.toml cannot be opened again, or None (a spec-less run has none)."""
    if spec_less(path):
        return None
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
