"""Runs that survive anything: real `layerlab train` processes, real signals, kill -9 and resume.

Every check is the one a user makes afterwards: the exit code, how events.jsonl ends, what
summary.txt says, and model.keras evaluated on the run's own validation split.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest
from layerlab.core import runs
from layerlab.core import spec as specs
from layerlab.core.data import load_dataset

ROOT = Path(__file__).resolve().parents[1]

# About 0.1 s an epoch here: long enough to signal in the middle, short enough to finish.
SPEC = """
name = "survivor"
[data]
name = "digits"
seed = 3
[[layers]]
type = "Flatten"
[[layers]]
type = "Dense"
units = 128
activation = "relu"
[[layers]]
type = "Dense"
units = 10
activation = "softmax"
[compile]
learning_rate = 0.0005
[fit]
batch_size = 16
epochs = {epochs}
"""


def write_spec(folder: Path, epochs: int = 400, early: str = "") -> Path:
    path = folder / "survivor.toml"
    path.write_text(SPEC.format(epochs=epochs) + early)
    return path


def start(*args: str, runs_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "LAYERLAB_RUNS": str(runs_dir), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "layerlab", "train", *args, "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_rows(
    runs_dir: Path, rows: int, proc: subprocess.Popen, timeout: float = 90
) -> tuple[Path, dict[int, float]]:
    """Wait until history.csv has `rows` epochs; return the run folder and when each row was seen."""
    deadline = time.monotonic() + timeout
    seen: dict[int, float] = {}
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        folders = [p for p in runs_dir.glob("2*") if p.is_dir()]
        if folders:
            n = len(runs.read_history(folders[0] / "history.csv"))
            now = time.monotonic()
            for epoch in range(1, n + 1):
                seen.setdefault(epoch, now)
            if n >= rows:
                return folders[0], seen
        time.sleep(0.02)
    raise AssertionError(f"no {rows} epochs within {timeout} s")


def events_of(run_dir: Path) -> list[dict]:
    text = (run_dir / "events.jsonl").read_text()
    return [json.loads(line, parse_constant=_refuse) for line in text.splitlines()]


def _refuse(token: str):
    raise ValueError(f"not strict JSON: {token}")


def evaluate_model(run_dir: Path, name: str = "model.keras") -> float:
    """The saved model's loss on the run's own validation split (the spec and seed it ran with)."""
    spec = specs.load(run_dir / "spec.toml")
    data = load_dataset(spec)
    model = keras.saving.load_model(run_dir / name, safe_mode=True)
    return float(
        model.evaluate(data.x_valid, data.y_valid, verbose=0, batch_size=256, return_dict=True)[
            "loss"
        ]
    )


def leftovers(folder: Path) -> list[str]:
    """Temporary files and stray process logs, anywhere under `folder`."""
    return [
        str(p) for p in folder.rglob("*") if ".tmp-" in p.name or p.name.startswith(".layerlab-")
    ]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_run_stops_after_the_batch_and_keeps_the_best_weights(tmp_path, signum):
    runs_dir = tmp_path / "runs"
    proc = start(str(write_spec(tmp_path)), runs_dir=runs_dir)
    run_dir, _ = wait_for_rows(runs_dir, 6, proc)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert (
        proc.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}[signum]
    ), err
    assert "Traceback" not in err
    lines = [json.loads(line, parse_constant=_refuse) for line in out.splitlines()]
    if signum == signal.SIGHUP:  # the terminal is gone: nothing more is printed to it
        assert [e["event"] for e in lines][-1] == "epoch_end"
    else:
        assert [e["event"] for e in lines][-2:] == ["stopped", "finished"]
    kinds = [e["event"] for e in events_of(run_dir)]
    assert kinds[-2:] == ["stopped", "finished"]
    finished = events_of(run_dir)[-1]
    assert finished["reason"] == "stopped"
    assert "stopped by the user" in (run_dir / "summary.txt").read_text()
    history = runs.read_history(run_dir / "history.csv")
    assert [int(r["epoch"]) for r in history] == list(range(1, finished["epochs_run"] + 1))
    best = min(history, key=lambda r: r["val_loss"])
    assert finished["best_epoch"] == int(best["epoch"])
    assert evaluate_model(run_dir) == pytest.approx(best["val_loss"], rel=1e-4)
    assert not leftovers(tmp_path)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_start_up_exits_with_its_code_and_writes_nothing(tmp_path, signum):
    runs_dir = tmp_path / "runs"
    proc = start(str(write_spec(tmp_path)), runs_dir=runs_dir)
    time.sleep(1.0)  # TensorFlow is being imported
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}[signum]
    assert out == "" and "Traceback" not in err
    assert not list(runs_dir.glob("*")) if runs_dir.exists() else True
    assert not leftovers(tmp_path)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_in_the_first_epoch_leaves_no_run_folder(tmp_path, signum):
    runs_dir = tmp_path / "runs"
    proc = start(str(write_spec(tmp_path)), runs_dir=runs_dir)
    first = json.loads(proc.stdout.readline())
    assert first["event"] == "run_started"
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert (
        proc.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}[signum]
    ), err
    if signum == signal.SIGHUP:  # nothing more reaches the closed terminal: the folder tells
        assert (
            not Path(first["run_dir"]).exists()
            or runs.read_run(Path(first["run_dir"])).status == "stopped"
        )
        assert not leftovers(tmp_path)
        return
    last = json.loads(out.splitlines()[-1])
    if last["epochs_run"] == 0:  # the usual case: stopped inside epoch 1, nothing worth keeping
        assert not Path(first["run_dir"]).exists()
    else:  # the machine was slow to deliver: the finished epochs are kept as usual
        assert evaluate_model(Path(first["run_dir"])) > 0
    assert not leftovers(tmp_path)


def test_a_second_ctrl_c_abandons_at_once_and_says_what_was_kept(tmp_path):
    runs_dir = tmp_path / "runs"
    proc = start(str(write_spec(tmp_path)), runs_dir=runs_dir)
    run_dir, _ = wait_for_rows(runs_dir, 30, proc)
    proc.send_signal(signal.SIGINT)
    assert "stopping after the batch in progress" in proc.stderr.readline()
    proc.send_signal(signal.SIGINT)  # the user's impatient second Ctrl-C, while the stop finishes
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert "abandoned: model.keras in" in err and "holds epoch" in err and "--resume" in err
    assert runs.read_run(run_dir).status == "killed"
    assert keras.saving.load_model(run_dir / "model.keras", safe_mode=True) is not None
    assert not leftovers(run_dir)


def test_a_run_that_ends_without_early_stopping_keeps_the_best_epoch_not_the_last(tmp_path):
    from layerlab.core.session import TrainingSession

    spec = specs.loads(
        SPEC.format(epochs=12).replace("learning_rate = 0.0005", "learning_rate = 0.05")
    )
    done = TrainingSession(spec, runs_dir=tmp_path).run()
    run_dir = Path(done.run_dir)
    history = runs.read_history(run_dir / "history.csv")
    best = min(history, key=lambda r: r["val_loss"])
    assert done.reason == "completed" and done.best_epoch == int(best["epoch"])
    assert evaluate_model(run_dir) == pytest.approx(best["val_loss"], rel=1e-4)
    if done.best_epoch != 12:  # the last epoch's weights are kept beside the best
        assert evaluate_model(run_dir, "last.keras") == pytest.approx(
            history[-1]["val_loss"], rel=1e-4
        )


@pytest.mark.parametrize("attempt", range(10))
def test_kill_9_loses_at_most_two_seconds_of_training(tmp_path, attempt):
    """kill -9 at a random moment: model.keras is at least as good as the best epoch that ended
    two seconds before the kill, it always loads, and no temporary file is left."""
    runs_dir = tmp_path / "runs"
    proc = start(str(write_spec(tmp_path)), runs_dir=runs_dir)
    run_dir, seen = wait_for_rows(runs_dir, 1, proc)
    time.sleep(random.Random(attempt).uniform(0.0, 4.0))
    _, seen_more = wait_for_rows(runs_dir, 1, proc)
    for epoch, when in seen_more.items():
        seen.setdefault(epoch, when)
    killed_at = time.monotonic()
    proc.kill()
    proc.communicate(timeout=30)
    history = runs.read_history(run_dir / "history.csv")
    assert [int(r["epoch"]) for r in history] == list(range(1, len(history) + 1))
    settled = [r for r in history if seen.get(int(r["epoch"]), killed_at) <= killed_at - 2.0]
    assert not leftovers(tmp_path)
    if not settled:
        return
    promised = min(r["val_loss"] for r in settled)
    assert (run_dir / "model.keras").exists()
    assert evaluate_model(run_dir) <= promised * (1 + 1e-4)
    assert runs.read_run(run_dir).status == "killed"


def test_resume_after_kill_9_finishes_the_epochs_without_gaps_or_duplicates(tmp_path):
    runs_dir = tmp_path / "runs"
    proc = start(str(write_spec(tmp_path, epochs=40)), runs_dir=runs_dir)
    run_dir, _ = wait_for_rows(runs_dir, 15, proc)
    proc.kill()
    proc.communicate(timeout=30)
    resumed = start("--resume", str(run_dir), runs_dir=runs_dir)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["event"] == "run_started" and lines[0]["initial_epoch"] >= 1
    history = runs.read_history(run_dir / "history.csv")
    assert [int(r["epoch"]) for r in history] == list(range(1, 41))
    epochs = [e["epoch"] for e in events_of(run_dir) if e["event"] == "epoch_end"]
    assert epochs == list(range(1, 41))
    assert (
        events_of(run_dir)[-1]["event"] == "finished" and events_of(run_dir)[-1]["epochs_run"] == 40
    )
    best = min(history, key=lambda r: r["val_loss"])
    assert evaluate_model(run_dir) == pytest.approx(best["val_loss"], rel=1e-4)
    provenance = json.loads((run_dir / "provenance.json").read_text())
    assert provenance["resumed"] and provenance["data_fingerprint"].startswith("builtin:")
    assert list(run_dir.parent.glob("2*")) == [run_dir]  # the same folder, no new one


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB file system of its own (tmpfs), where the machine lets the tests mount one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_during_training_is_one_line_exit_1_and_no_temporary_file(tmp_path, small_disk):
    filler = small_disk / "filler"
    filler.write_bytes(
        b"\0" * (1024 * 1024 - 96 * 1024)
    )  # leaves room for the folder, not the model
    runs_dir = small_disk / "runs"
    proc = start(str(write_spec(tmp_path, epochs=30)), runs_dir=runs_dir)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in out + err
    failed = json.loads(out.splitlines()[-1])
    assert failed["event"] == "failed"
    assert "No space left on device" in failed["error"] and "kept in memory" in failed["error"]
    assert not leftovers(small_disk)


def test_a_read_only_runs_folder_is_refused_before_training(tmp_path, small_disk):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "layerlab",
            "train",
            str(write_spec(tmp_path)),
            "--runs-dir",
            str(small_disk / "runs"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        == f"layerlab: cannot write in the runs folder {small_disk / 'runs'}: Read-only file system"
    )


def test_resume_is_refused_while_another_process_writes_the_run(tmp_path):
    from layerlab.core.session import ResumeError, TrainingSession

    run_dir = tmp_path / "runs" / "20260101-000000-survivor"
    run_dir.mkdir(parents=True)
    specs.save(specs.loads(SPEC.format(epochs=5)), run_dir / "spec.toml")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from layerlab.core.runs import RunLock; RunLock(sys.argv[1]); print('held', flush=True); time.sleep(60)",
            str(run_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert runs.read_run(run_dir).status == "running"
        with pytest.raises(ResumeError, match=f"still being written by process {holder.pid}"):
            TrainingSession.from_run(run_dir)
    finally:
        holder.kill()
        holder.wait()
    assert runs.read_run(run_dir).status == "killed"  # the kernel dropped the dead writer's lock


def test_resume_is_refused_when_the_data_changed(tmp_path):
    import numpy as np
    from layerlab.core.session import ResumeError, TrainingSession

    x = np.random.default_rng(0).normal(size=(200, 2))
    csv = tmp_path / "numbers.csv"
    csv.write_text("a,b,y\n" + "".join(f"{a:.4f},{b:.4f},{int(a + b > 0)}\n" for a, b in x))
    spec = specs.loads(
        f'name = "csv"\n[data]\npath = "{csv}"\ntarget = "y"\n[[layers]]\ntype = "Dense"\nunits = 1\nactivation = "sigmoid"\n[fit]\nepochs = 4\n'
    )
    run_dir = Path(TrainingSession(spec, runs_dir=tmp_path / "runs").run().run_dir)
    assert TrainingSession.from_run(run_dir, epochs=8).prepare() is not None  # same data: resumable
    with csv.open("a") as handle:
        handle.write("1.0,2.0,1\n")
    with pytest.raises(ResumeError, match="its data changed since the run began"):
        TrainingSession.from_run(run_dir, epochs=8).prepare()
