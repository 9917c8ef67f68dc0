"""A thin parent for one process of a multi-process run: JAX's abort becomes one line and exit 1.

When a peer dies, JAX's coordination service ends the others from C++ (SIGABRT), with no chance
for Python to say anything. So `layerlab train` in a cluster runs the real work in a child
process and waits: the child's own exit code passes through; a child killed by a signal becomes
one line naming the coordinator and exit 1. Signals sent to the parent are passed on, and the
child dies with its parent (Linux), so `kill -9` of either ends both.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import Any

from .cluster import Cluster

CHILD_ENV = "LAYERLAB_SUPERVISED"
"""Set in the child's environment: it does the work instead of supervising again."""
EXIT_FAILED = 1
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def supervised() -> bool:
    """True in the child, which trains."""
    return os.environ.get(CHILD_ENV) == "1"


def supervise(argv: list[str], cluster: Cluster) -> int:
    """Run `layerlab ARGV` as a child and turn its abrupt end into a line on stderr and exit 1."""
    env = dict(os.environ, **{CHILD_ENV: "1"})
    # Its own session: a Ctrl-C reaches the child once, through the parent, not twice.
    child = subprocess.Popen(
        [sys.executable, "-m", "layerlab", *argv],
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    for signum in _FORWARDED:
        signal.signal(signum, lambda signum, frame: _forward(child, signum))
    code = child.wait()
    if code >= 0:
        return code
    name = _signal_name(-code)
    print(
        f"layerlab: process {cluster.process_id} of {cluster.processes} ended abruptly ({name}): "
        f"a peer process left the run or the coordinator {cluster.coordinator} went away, so JAX "
        "stopped this one too; the others stop as well (details in this process's log)",
        file=sys.stderr,
        flush=True,
    )
    return EXIT_FAILED


def _forward(child: subprocess.Popen[Any], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(signum)


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when the parent dies (prctl PR_SET_PDEATHSIG, Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
