"""Keeping TensorFlow's, absl's and XLA's own log lines off the user's terminal.

They print from C++ straight to file descriptor 2, whatever TF_CPP_MIN_LOG_LEVEL says, so the only
sure way is to point descriptor 2 at a log file before TensorFlow is imported, and to keep a
duplicate of the real terminal for what the user should see.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO


def quiet_environment() -> None:
    """Ask the libraries to be quiet too (they only partly listen)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


def divert_stderr(log_path: str | os.PathLike) -> TextIO:
    """Point fd 2 (and sys.stderr) at `log_path`; return a stream writing to the real terminal."""
    quiet_environment()
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    # Python-level warnings follow fd 2 into the log as well.
    sys.stderr = os.fdopen(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    return terminal
