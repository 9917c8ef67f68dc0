"""Training in several processes or hosts under JAX: who they are, joining them, their shards.

A `Cluster` names the coordinator (HOST:PORT, where process 0 runs), the number of processes and
this one's id, from `layerlab train --coordinator --num-processes --process-id` or from TF_CONFIG.
`join()` first meets the others on the coordinator's port with a short handshake of its own, so
that a peer that never comes is named in words (JAX's runtime would abort from C++ instead), and
then starts JAX's multi-process runtime with gloo collectives on the CPU. Each process trains on
its own equal-sized shard (`shard()`); process 0 writes the run folder and tells the others where
it is through JAX's key-value store (`share_run_dir`, `await_run_dir`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import socket
import time
from dataclasses import dataclass
from typing import Any

from .strategy import AcceleratorError, Machine

DEFAULT_PEER_TIMEOUT_S = 60.0
_RUN_DIR_KEY = "layerlab/run_dir"
_ADDRESS = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):(?P<port>[0-9]{1,5})$"
)


class ClusterError(AcceleratorError):
    """The processes could not form a cluster, or one left it; the message names who and where."""


@dataclass(frozen=True)
class Cluster:
    """The processes that train together as one.

    Attributes:
        coordinator: HOST:PORT where process 0 listens, reachable from every process.
        processes: How many processes train together (2 or more).
        process_id: This process's id, from 0 (the coordinator, which writes the run folder).
        peer_timeout: Seconds to wait for the others to come, and to notice one that went away.
        source: "flags" or "TF_CONFIG", for messages.
    """

    coordinator: str
    processes: int
    process_id: int
    peer_timeout: float = DEFAULT_PEER_TIMEOUT_S
    source: str = "flags"

    @property
    def address(self) -> tuple[str, int]:
        return parse_address(self.coordinator)

    def tf_config(self) -> dict[str, Any]:
        """The same cluster as TF_CONFIG would say it (only the coordinator's address matters to JAX)."""
        others = [f"process-{i}" for i in range(1, self.processes)]
        return {
            "cluster": {"worker": [self.coordinator, *others]},
            "task": {"type": "worker", "index": self.process_id},
        }


@dataclass
class _Settings:
    cluster: Cluster | None = None
    """Given on the command line; None means TF_CONFIG decides."""
    peer_timeout: float = DEFAULT_PEER_TIMEOUT_S


_settings = _Settings()


def configure(cluster: Cluster | None = None, peer_timeout: float | None = None) -> None:
    """Set this process's cluster (from the command line) and how long to wait for peers."""
    _settings.cluster = cluster
    if peer_timeout is not None:
        _settings.peer_timeout = peer_timeout


def configured() -> Cluster | None:
    """The cluster the command line gave, if any."""
    return _settings.cluster


def from_workers(workers: list[str], index: int) -> Cluster:
    """The cluster TF_CONFIG describes: the first worker listed is the coordinator."""
    given = _settings.cluster
    if given is not None:
        return given
    return Cluster(workers[0], len(workers), index, _settings.peer_timeout, "TF_CONFIG")


def from_tf_config(
    config: dict[str, Any] | None, peer_timeout: float = DEFAULT_PEER_TIMEOUT_S
) -> Cluster | None:
    """The cluster a parsed TF_CONFIG lists, or None when it lists fewer than two workers."""
    machine = Machine("jax", tf_config=config)
    workers = machine.workers
    if len(workers) < 2:
        return None
    return Cluster(workers[0], len(workers), machine.worker_index, peer_timeout, "TF_CONFIG")


def parse_address(text: str) -> tuple[str, int]:
    """HOST:PORT (or [IPv6]:PORT) as (host, port).

    Raises:
        ValueError: Not of that form, or a port outside 1 to 65535; the message says which.
    """
    match = _ADDRESS.match(text.strip())
    if not match:
        raise ValueError(f"expected HOST:PORT (e.g. 10.0.0.1:12355), got {text!r}")
    port = int(match["port"])
    if not 1 <= port <= 65535:
        raise ValueError(f"the port must be from 1 to 65535, got {port}")
    return match["v6"] or match["host"], port


# ---------------------------------------------------------------------------------------------
# Joining


def join(cluster: Cluster) -> None:
    """Meet every peer, then start JAX's multi-process runtime (once per process).

    Raises:
        ClusterError: A peer did not come within the peer timeout, or JAX could not start.
    """
    import jax

    if jax.distributed.is_initialized():
        return
    try:
        parse_address(cluster.coordinator)
    except ValueError as exc:
        raise ClusterError(f"the coordinator's address ({cluster.source}): {exc}") from None
    _meet(cluster)
    # JAX's CPU client needs a collectives implementation to run one computation across processes.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    timeout = max(3, math.ceil(cluster.peer_timeout))
    try:
        jax.distributed.initialize(
            cluster.coordinator,
            cluster.processes,
            cluster.process_id,
            initialization_timeout=timeout + 10,  # everyone is here already: this is a margin
            heartbeat_timeout_seconds=timeout,
        )
    except Exception as exc:
        raise ClusterError(
            f"JAX could not start its runtime with the coordinator {cluster.coordinator}: {exc}"
        ) from exc


def _meet(cluster: Cluster) -> None:
    """Process 0 waits on the coordinator's port for a hello from every other id, then says go."""
    host, port = cluster.address
    deadline = time.monotonic() + cluster.peer_timeout
    if cluster.process_id == 0:
        _host_meeting(cluster, port, deadline)
    else:
        _attend_meeting(cluster, host, port, deadline)


def _host_meeting(cluster: Cluster, port: int, deadline: float) -> None:
    try:
        server = (
            socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True)
            if socket.has_dualstack_ipv6()
            else socket.create_server(("", port))
        )
    except OSError as exc:
        raise ClusterError(
            f"the coordinator cannot listen on port {port} ({exc.strerror}); choose a free port for --coordinator"
        ) from None
    arrived: dict[int, socket.socket] = {}
    try:
        with server:
            while len(arrived) < cluster.processes - 1:
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = [i for i in range(1, cluster.processes) if i not in arrived]
                    _tell(arrived.values(), f"missing {','.join(map(str, missing))}")
                    raise ClusterError(_missing_line(cluster, missing))
                server.settimeout(left)
                with contextlib.suppress(TimeoutError, OSError):
                    conn, _ = server.accept()
                    _greet(cluster, conn, arrived)
        _tell(arrived.values(), "go")
    finally:
        for conn in arrived.values():
            conn.close()


def _greet(cluster: Cluster, conn: socket.socket, arrived: dict[int, socket.socket]) -> None:
    """Read one hello ("layerlab N I"); a peer of another cluster or a repeated id is turned away."""
    conn.settimeout(5)
    try:
        words = conn.recv(64).decode("ascii", "replace").split()
    except OSError:
        conn.close()
        return
    ok = (
        len(words) == 3
        and words[0] == "layerlab"
        and words[1] == str(cluster.processes)
        and words[2].isdigit()
    )
    pid = int(words[2]) if ok else -1
    if not ok or pid == 0 or pid >= cluster.processes or pid in arrived:
        why = f"process 0 expects {cluster.processes} processes with distinct ids 1 to {cluster.processes - 1}; got {' '.join(words[1:]) or 'nothing'}"
        _tell([conn], "refused " + why)
        conn.close()
        return
    arrived[pid] = conn


def _attend_meeting(cluster: Cluster, host: str, port: int, deadline: float) -> None:
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ClusterError(_missing_line(cluster, [0]))
        try:
            with socket.create_connection((host, port), timeout=min(left, 5)) as conn:
                conn.sendall(f"layerlab {cluster.processes} {cluster.process_id}\n".encode())
                conn.settimeout(left + 5)  # process 0 answers by its own deadline
                answer = conn.recv(256).decode("ascii", "replace").strip()
        except OSError:
            time.sleep(0.2)  # process 0 is not listening yet
            continue
        if answer == "go":
            return
        if answer.startswith("missing "):
            raise ClusterError(
                _missing_line(cluster, [int(i) for i in answer.split()[1].split(",")])
            )
        if answer.startswith("refused "):
            raise ClusterError(
                f"the coordinator {cluster.coordinator} turned this process away: {answer[8:]}"
            )
        time.sleep(0.2)  # an empty answer: process 0 went away; try again until the deadline


def _tell(conns: Any, line: str) -> None:
    for conn in conns:
        with contextlib.suppress(OSError):
            conn.sendall(line.encode() + b"\n")


def _missing_line(cluster: Cluster, missing: list[int]) -> str:
    ids = ", ".join(map(str, missing))
    who = f"process {ids}" if len(missing) == 1 else f"processes {ids}"
    came = f"did not come to the coordinator {cluster.coordinator}"
    if missing == [0]:
        who, came = "process 0", f"(the coordinator) did not answer at {cluster.coordinator}"
    return (
        f"{who} {came} within {cluster.peer_timeout:g} s (this is process {cluster.process_id} of "
        f"{cluster.processes}); start every process with the same --coordinator and --num-processes, "
        "or give more time with --peer-timeout SECONDS"
    )


# ---------------------------------------------------------------------------------------------
# Shards and the shared run folder


def shard(data: Any, cluster: Cluster) -> tuple[Any, dict[str, Any]]:
    """This process's rows of the training and validation splits, and what it took, for the event.

    Rows i::n of each split, the remainder dropped, so every process has as many rows and runs as
    many steps. Validation is sharded too: metrics are computed over the global batch, so every
    process sees the same val_loss (early stopping decides alike everywhere), each row counts once.

    Raises:
        ClusterError: A split has fewer rows than there are processes.
    """
    import numpy as np

    from .data.rows import is_streamed, take

    n, i = cluster.processes, cluster.process_id
    changes: dict[str, Any] = {}
    info: dict[str, Any] = {"coordinator": cluster.coordinator, "processes": n, "process_id": i}
    for split in ("train", "valid"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if x is None or len(x) == 0:
            continue
        per = len(x) // n
        if per == 0:
            raise ClusterError(
                f"the {split} split has {len(x)} rows, fewer than the {n} processes; use more data or fewer processes"
            )
        rows = np.arange(i, per * n, n)
        part = take(x, rows)  # streamed rows stay on disk: only their numbers are taken
        changes[f"x_{split}"], changes[f"y_{split}"] = part, y[rows]
        info[f"{split}_rows"] = {
            "of": len(x),
            "count": per,
            "start": i,
            "step": n,
            "checksum": _checksum(part.index if is_streamed(part) else part),
        }
    note = f"Process {i} of {n} trains on rows {i}::{n} of each split ({info['train_rows']['count']} training rows)."
    return dataclasses.replace(data, **changes, notes=[*data.notes, note]), info


def _checksum(array: Any) -> str:
    import hashlib

    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def weights_checksum(weights: list[Any]) -> str:
    """A short digest of a model's weights: equal in every process that trained in step."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for w in weights:
        digest.update(np.ascontiguousarray(np.asarray(w, dtype=np.float32)).tobytes())
    return digest.hexdigest()[:16]


def share_run_dir(run_dir: str) -> None:
    """Process 0: tell the others where the run folder is."""
    _client().key_value_set(_RUN_DIR_KEY, str(run_dir))


def await_run_dir(timeout_s: float) -> str:
    """The others: the run folder process 0 made.

    Raises:
        ClusterError: Process 0 did not say within `timeout_s`.
    """
    try:
        return str(_client().blocking_key_value_get(_RUN_DIR_KEY, int(timeout_s * 1000)))
    except Exception as exc:
        raise ClusterError(
            f"process 0 did not make the run folder within {timeout_s:g} s: {exc}"
        ) from exc


def _client() -> Any:
    from jax._src import distributed  # the coordination service's key-value store

    client = distributed.global_state.client
    if client is None:
        raise ClusterError("JAX's multi-process runtime is not started")
    return client
