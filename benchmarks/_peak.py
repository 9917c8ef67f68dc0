"""Running a command as a subprocess while sampling its memory: the shared part of the data
benchmarks (stream_table.py, stream_images.py, table_memory.py).

Peak memory is measured two ways. RssAnon, sampled from /proc every 50 ms over the process and
its children, counts only anonymous pages (heaps, arrays, framework buffers), not pages of
memory-mapped files, which the kernel can drop and read again: the measure for streamed data
kept in a mapped copy on disk. VmHWM (the kernel's own peak resident set, here ru_maxrss from
wait4) also counts mapped file pages that were resident: the measure where nothing is mapped.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_S = 0.05
MIB = 2**20


@dataclass
class Measured:
    """One finished command: its wall time, peak memory and the lines it printed, timestamped."""

    wall: float
    peak_anon: int
    """Largest sampled RssAnon over the process tree, in bytes."""
    hwm: int
    """The process's own peak resident set (VmHWM), in bytes."""
    lines: list[tuple[float, str]] = field(default_factory=list)
    """(seconds since start, line) for each line of stdout."""

    def records(self) -> list[dict]:
        """The stdout lines that are JSON objects."""
        out = []
        for _, line in self.lines:
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    out.append(json.loads(line))
        return out


def env(backend: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def layerlab(spec: Path, runs: Path) -> list[str]:
    """`layerlab train SPEC --epochs 1 --json` with this interpreter."""
    return [sys.executable, "-m", "layerlab", "train", str(spec), "--epochs", "1", "--json",
            "--runs-dir", str(runs)]  # fmt: skip


def run(command: list[str], environment: dict[str, str]) -> Measured:
    """Runs `command` to its end, sampling its RssAnon; exits with its stderr if it fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    )
    lines: list[tuple[float, str]] = []
    errors: list[str] = []

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if '"batch_end"' not in line:
                lines.append((time.perf_counter() - started, line.rstrip("\n")))

    def read_stderr() -> None:
        assert proc.stderr is not None
        errors.extend(proc.stderr)

    readers = [threading.Thread(target=f, daemon=True) for f in (read_stdout, read_stderr)]
    for reader in readers:
        reader.start()
    peak = 0
    while True:
        # wait4 reaps the child itself, so its rusage (ru_maxrss, the VmHWM) is this child's.
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _tree_anon(proc.pid))
        time.sleep(SAMPLE_S)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    if proc.returncode != 0:
        sys.stderr.write("".join(errors[-40:]))
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(command)}")
    return Measured(wall, peak, usage.ru_maxrss * 1024, lines)


def _tree_anon(pid: int) -> int:
    total = 0
    for one in [pid, *_descendants(pid)]:
        try:
            with open(f"/proc/{one}/status") as status:
                for line in status:
                    if line.startswith("RssAnon:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


def _descendants(pid: int) -> list[int]:
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                for child in children.read().split():
                    found += [int(child), *_descendants(int(child))]
        except OSError:
            pass
    return found


def layerlab_epoch(measured: Measured) -> tuple[float, int]:
    """(epoch seconds, training samples) from `layerlab train --json` events."""
    seconds, samples = None, None
    for record in measured.records():
        if record.get("event") == "run_started":
            samples = record["train_samples"]
        elif record.get("event") == "epoch_end":
            seconds = record["seconds"]
    if seconds is None or samples is None:
        raise SystemExit("layerlab printed no run_started/epoch_end event")
    return seconds, samples


def bare_epoch(measured: Measured) -> tuple[float, int]:
    """(epoch seconds, training samples) from the one JSON line a bare script prints."""
    for record in measured.records():
        if "epoch_seconds" in record:
            return record["epoch_seconds"], record["samples"]
    raise SystemExit("the bare script printed no epoch time")


def mib(nbytes: float) -> str:
    return f"{nbytes / MIB:,.0f} MiB"


def median(values: list[float]) -> float:
    return statistics.median(values)


EPOCH_TIMER = r"""
class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.began = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.began
"""
"""A Keras callback timing the epoch as layerlab's epoch_end event does (begin to end)."""
