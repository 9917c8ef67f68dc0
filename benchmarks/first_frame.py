"""Launch to first painted frame of the app, in a real pseudo-terminal, against the 0.6 s budget.

Each run starts `layerlab` (the console script beside this Python, else `python -m tui`) on a
fresh pty of 100×30 and times from the spawn until the first frame's text ("Layers", the
builder's border title) comes out of the terminal. Bare `python -c pass` is timed the same way,
to show what the interpreter alone costs. State goes to a temporary folder, so every run opens
the first-use example. Prints the figures; asserts nothing.

    python benchmarks/first_frame.py [--runs 7] [--size 100x30]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 0.6
MARKER = b"Layers"


def command() -> list[str]:
    script = Path(sys.executable).with_name("layerlab")
    return [str(script)] if script.exists() else [sys.executable, "-m", "layerlab"]


def _controlling_tty() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def time_to(
    cmd: list[str], marker: bytes | None, size: tuple[int, int], env: dict, timeout: float = 30.0
) -> float:
    """Seconds from spawning `cmd` on a new pty until `marker` appears (or the process exits)."""
    master, slave = os.openpty()
    cols, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, preexec_fn=_controlling_tty
    )
    os.close(slave)
    seen = b""
    elapsed = float("nan")
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([master], [], [], 0.02)
            if not ready:
                if proc.poll() is not None and marker is None:
                    elapsed = time.perf_counter() - started
                    break
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the child closed the pty
                if marker is None:
                    elapsed = time.perf_counter() - started
                break
            seen += chunk
            if marker is not None and marker in seen:
                elapsed = time.perf_counter() - started
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        os.close(master)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--size", default="100x30", help="terminal columns x rows")
    args = parser.parse_args()
    size = tuple(int(n) for n in args.size.split("x"))
    cmd = command()
    with tempfile.TemporaryDirectory() as state:
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "LAYERLAB_STATE": state,
            "PYTHONPATH": str(ROOT),
        }
        time_to(cmd, MARKER, size, env)  # warm the file cache
        bare, app = [], []
        for _ in range(args.runs):
            bare.append(time_to([sys.executable, "-c", "pass"], None, size, env))
            app.append(time_to(cmd, MARKER, size, env))
    median = statistics.median(app)
    print(f"command: {' '.join(cmd)}  ({args.runs} runs, {size[0]}×{size[1]} pty)")
    print(
        f"launch → first frame: median {median:.3f} s  min {min(app):.3f} s  max {max(app):.3f} s"
    )
    print(f"bare python -c pass:  median {statistics.median(bare):.3f} s")
    print(f"budget {BUDGET:.1f} s: median / budget = {median / BUDGET:.2f}")


if __name__ == "__main__":
    main()
