"""`layerlab runs`: the listing of runs with their status, and prune, driven as a user would."""

import json
import os
import pty
import signal
import subprocess
import sys

import pytest
from layerlab.core import events, runs

# A writer that holds its run's lock like a training process, until it is killed.
WRITER = """
import sys, time
from layerlab.core import events, runs
writer = runs.RunWriter(runs.Path(sys.argv[1]), None)
(writer.run_dir / runs.SPEC_LESS).write_text("a writer\\n")
writer.write_event(events.RunStarted(sys.argv[1], {"name": "live"}, 10, 5))
writer.history_path.write_text("epoch,loss,val_loss\\n1,0.5,0.6\\n")
writer.write_event(events.EpochEnded(1, {"loss": 0.5, "val_loss": 0.6}, 0.1, 1))
print("ready", flush=True)
time.sleep(120)
"""


def layerlab(*args, stdin=subprocess.DEVNULL, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "layerlab", "runs", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=stdin,
        **kwargs,
    )


def ended_run(root, stamp, name, reason, epochs=3):
    """A run folder as a finished, stopped or NaN-ended run leaves it (model.txt in place of a spec)."""
    folder = root / f"{stamp}-{name}"
    writer = runs.RunWriter(folder, None)
    (folder / runs.SPEC_LESS).write_text("written by a test\n")
    writer.write_event(events.RunStarted(str(folder), {"name": name}, 5, 2))
    rows = ["epoch,loss,val_loss"]
    for epoch in range(1, epochs + 1):
        logs = {"loss": 1.0 / epoch, "val_loss": 1.5 - 0.1 * epoch}
        rows.append(f"{epoch},{logs['loss']},{logs['val_loss']}")
        writer.write_event(events.EpochEnded(epoch, logs, 0.1, epoch))
    (folder / "history.csv").write_text("\n".join(rows) + "\n")
    best = {"loss": 1.0 / epochs, "val_loss": 1.5 - 0.1 * epochs}
    writer.write_event(events.Finished(epochs, epochs, best, str(folder), reason, 1.0))
    writer.close()
    return folder


def start_writer(folder):
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.fixture
def runs_root(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    ended_run(root, "20250101-000001", "first", "completed")
    ended_run(root, "20250101-000002", "early", "early_stopping", epochs=4)
    ended_run(root, "20250101-000003", "stopped", "stopped", epochs=2)
    damaged = root / "20250101-000004-damaged"
    damaged.mkdir()
    (damaged / "history.csv").write_text("not,a,history\n1,2,3\n")
    return root


def listed(root):
    done = layerlab(str(root), "--json")
    assert done.returncode == 0, done.stderr
    return {row["name"].split("-", 2)[2]: row for row in map(json.loads, done.stdout.splitlines())}


def test_runs_json_gives_each_status_and_a_killed_writer_reads_killed(runs_root):
    writer = start_writer(runs_root / "20250101-000005-live")
    try:
        rows = listed(runs_root)
        assert rows["live"]["status"] == "running" and rows["live"]["writer_pid"] == writer.pid
        assert rows["live"]["epochs"] == 1 and rows["live"]["planned_epochs"] == 10
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    rows = listed(runs_root)
    assert list(rows) == ["live", "damaged", "stopped", "early", "first"]  # newest first
    assert {name: (row["status"], row["reason"]) for name, row in rows.items()} == {
        "live": ("killed", None),
        "damaged": ("damaged", None),
        "stopped": ("stopped", "stopped"),
        "early": ("finished", "early_stopping"),
        "first": ("finished", "completed"),
    }
    assert rows["early"]["epochs"] == 4 and rows["early"]["best_epoch"] == 4
    assert rows["early"]["best"]["val_loss"] == pytest.approx(1.1)
    assert rows["live"]["best"] == {"val_loss": 0.6}
    assert "history.csv" in rows["damaged"]["problem"]
    assert all(row["size"] > 0 for row in rows.values())
    assert all(row["spec_less"] for name, row in rows.items() if name != "damaged")


def test_runs_lists_in_words(runs_root):
    done = layerlab(str(runs_root))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["RUN", "STATUS", "EPOCHS", "BEST", "SIZE"]
    early = next(line for line in lines if "-early" in line)
    assert "finished (early stopping)" in early and "val_loss 1.1000" in early and " kB" in early
    assert lines[-1].startswith("4 runs in ")


def test_prune_refuses_off_a_terminal_without_yes(runs_root):
    done = layerlab("prune", str(runs_root), "--keep", "1")
    assert done.returncode == 2
    assert (
        done.stderr.count("\n") == 1 and "--yes" in done.stderr and "not a terminal" in done.stderr
    )
    assert len(list(runs_root.iterdir())) == 4


def test_prune_keeps_the_newest_n_and_never_a_live_run(runs_root):
    writer = start_writer(runs_root / "20240101-000000-old-but-live")
    try:
        done = layerlab("prune", str(runs_root), "--keep", "2", "--yes")
        assert done.returncode == 0, done.stderr
        assert "keeping 20240101-000000-old-but-live" in done.stdout
        left = sorted(p.name for p in runs_root.iterdir())
        assert left == [
            "20240101-000000-old-but-live",
            "20250101-000003-stopped",
            "20250101-000004-damaged",
        ]
        assert runs.writer_pid(runs_root / "20240101-000000-old-but-live") == writer.pid
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()


def test_prune_asks_on_a_terminal(runs_root):
    def prune(answer):
        primary, secondary = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "layerlab", "runs", "prune", str(runs_root), "--keep", "3"],
            stdin=secondary,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(secondary)
        os.write(primary, answer)
        out, err = proc.communicate(timeout=60)
        os.close(primary)
        assert proc.returncode == 0, err
        return out

    out = prune(b"n\n")
    assert "Remove these 1 run" in out and "20250101-000001-first" in out
    assert "nothing removed" in out and len(list(runs_root.iterdir())) == 4
    out = prune(b"y\n")
    assert "removed 20250101-000001-first" in out
    assert not (runs_root / "20250101-000001-first").exists()
    assert len(list(runs_root.iterdir())) == 3


@pytest.mark.parametrize(
    "args, words",
    [
        (["nowhere"], "no such folder"),
        (["prune", "--keep", "-1"], "--keep expects a whole number"),
        (["prune"], "needs --keep N"),
        (["--keep", "2"], "go with 'layerlab runs prune'"),
        (["a", "b"], "expected one RUNS_DIR"),
        (["prune", "--json", "--keep", "1"], "--json lists runs"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    done = layerlab(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and words in done.stderr


def test_one_runs_own_folder_is_refused_with_the_fix(runs_root):
    done = layerlab(str(runs_root / "20250101-000001-first"))
    assert done.returncode == 2 and "give the folder that holds the runs" in done.stderr


def test_no_runs_yet(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAYERLAB_RUNS")
    done = layerlab()
    assert done.returncode == 0 and done.stdout.startswith("no runs in runs")
