"""Several processes that train together under JAX: real processes on 127.0.0.1, started and stopped here."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from layerlab.core import cli, cluster
from layerlab.core import spec as specs
from layerlab.core.data import load_dataset

pytest.importorskip("jax")

SPEC = """
[data]
name = "breast_cancer"
valid_fraction = 0.25

[[layers]]
type = "Dense"
units = 16
activation = "relu"

[[layers]]
type = "Dense"
units = 1
activation = "sigmoid"

[compile]
optimizer = "adam"
learning_rate = 0.01
loss = "binary_crossentropy"
metrics = ["binary_accuracy"]

[fit]
batch_size = 32
epochs = {epochs}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(
    tmp_path: Path, port: int, process_id: int, *extra: str, epochs: int = 3
) -> subprocess.Popen[str]:
    spec = tmp_path / "small.toml"
    if not spec.exists():
        spec.write_text(SPEC.format(epochs=epochs))
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    command = [
        sys.executable,
        "-m",
        "layerlab",
        "train",
        str(spec),
        "--runs-dir",
        str(tmp_path / "runs"),
    ]
    command += [
        "--coordinator",
        f"127.0.0.1:{port}",
        "--num-processes",
        "2",
        "--process-id",
        str(process_id),
        *extra,
    ]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(*procs: subprocess.Popen[str], timeout: float = 90) -> list[tuple[int, str, str]]:
    try:
        outputs = [p.communicate(timeout=timeout) for p in procs]
        return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


def checksum_in(log: Path) -> str:
    found = re.findall(r"weights checksum ([0-9a-f]{16})", log.read_text(errors="replace"))
    assert len(found) == 1, log.read_text(errors="replace")[-2000:]
    return found[0]


def test_two_processes_train_as_one_with_disjoint_shards_and_one_run_folder(tmp_path):
    port = free_port()
    done = finish(start(tmp_path, port, 0, "--json"), start(tmp_path, port, 1, "--json"))
    lines = {}
    for i, (code, out, err) in enumerate(done):
        assert code == 0, err
        lines[i] = [
            json.loads(line) for line in out.splitlines()
        ]  # nothing but JSON, no [Gloo] line
        assert "Gloo" not in out + err
    shards = {i: lines[i][0]["cluster"] for i in lines}
    assert [shards[i]["process_id"] for i in (0, 1)] == [0, 1]
    assert shards[0]["global_batch"] == 64 and shards[0]["replicas"] == 2

    # The shards each process reports are rows i::2 of the split, equal in size, disjoint.
    data = load_dataset(specs.load(tmp_path / "small.toml"))
    for split in ("train", "valid"):
        x = getattr(data, f"x_{split}")
        rows = [set(range(s[f"{split}_rows"]["start"], len(x), 2)) for s in shards.values()]
        per = len(x) // 2
        assert all(s[f"{split}_rows"]["count"] == per for s in shards.values())
        assert not rows[0] & rows[1]
        for i, s in shards.items():
            assert s[f"{split}_rows"]["checksum"] == cluster._checksum(x[i::2][:per])
    assert lines[0][0]["train_samples"] == lines[1][0]["train_samples"] == len(data.x_train) // 2

    # One run folder, written by process 0; process 1 only logs there.
    folders = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert len(folders) == 1
    run = folders[0]
    assert lines[0][-1]["run_dir"] == lines[1][-1]["run_dir"] == str(run)
    assert (run / "model.keras").is_file() and (run / "history.csv").is_file()
    assert sorted(p.name for p in (run / "workers").iterdir()) == ["1.log"]

    # In step: the same metrics (computed over both shards) and the same final weights.
    assert lines[0][-1]["best"] == lines[1][-1]["best"]
    assert checksum_in(run / "log.txt") == checksum_in(run / "workers" / "1.log")


def test_a_peer_that_never_comes_is_named_within_the_timeout(tmp_path):
    port = free_port()
    began = time.monotonic()
    [(code, out, err)] = finish(start(tmp_path, port, 0, "--peer-timeout", "5"), timeout=30)
    took = time.monotonic() - began
    assert code == 2 and out == ""
    assert err.count("\n") == 1, err
    assert f"process 1 did not come to the coordinator 127.0.0.1:{port} within 5 s" in err
    assert 5 <= took < 15
    assert not [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]


def test_a_killed_peer_stops_the_other_with_a_message(tmp_path):
    port = free_port()
    first = start(tmp_path, port, 0, "--json", "--peer-timeout", "5", epochs=5000)
    second = start(tmp_path, port, 1, "--json", "--peer-timeout", "5", epochs=5000)
    try:
        assert first.stdout is not None
        for line in first.stdout:  # mid-run: two epochs done
            if json.loads(line).get("epoch") == 2:
                break
        second.send_signal(signal.SIGKILL)  # its training child dies with it
        killed = time.monotonic()
        code = first.wait(timeout=20)
        took = time.monotonic() - killed
        err = first.stderr.read() if first.stderr else ""
    finally:
        finish(first, second, timeout=5)
    assert code == 1
    assert re.search(
        r"process 0 of 2 (stopped: another process left the run|ended abruptly)", err
    ), err
    assert f"127.0.0.1:{port}" in err
    assert took < 10


@pytest.mark.parametrize(
    "args, words",
    [
        (["--coordinator", "127.0.0.1:5000"], "go together"),
        (
            ["--coordinator", "127.0.0.1", "--num-processes", "2", "--process-id", "0"],
            "expected HOST:PORT",
        ),
        (
            ["--coordinator", "h:70000", "--num-processes", "2", "--process-id", "0"],
            "port must be from 1 to 65535",
        ),
        (["--coordinator", "h:5000", "--num-processes", "1", "--process-id", "0"], "from 2 to"),
        (
            ["--coordinator", "h:5000", "--num-processes", "2", "--process-id", "2"],
            "--process-id must be from 0 to 1",
        ),
        (["--peer-timeout", "-1"], "--peer-timeout"),
    ],
)
def test_bad_cluster_flags_are_one_line_and_exit_2(args, words, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "spec.toml", *args])
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert err.count("\n") == 1 and words in err and "layerlab train --help" in err


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10.0.0.1:12355", ("10.0.0.1", 12355)),
        ("[::1]:80", ("::1", 80)),
        ("node-1.local:1", ("node-1.local", 1)),
    ],
)
def test_coordinator_addresses(text, expected):
    assert cluster.parse_address(text) == expected
