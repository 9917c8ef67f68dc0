"""The run handle: one history fed once, a folder followed as it grows, a live run told from a dead one."""

import subprocess
import sys
from pathlib import Path

from layerlab.core import events, runs
from layerlab.core import spec as specs
from layerlab.core.handle import FolderRun, SessionRun
from layerlab.core.session import TrainingSession

ROOT = Path(__file__).resolve().parents[1]
SMALL = '[data]\nname = "iris"\n[[layers]]\ntype = "Dense"\nunits = 3\nactivation = "softmax"\n[fit]\nepochs = 4\n'


def test_a_session_handle_feeds_one_history_and_derives_its_status():
    spec = specs.loads(SMALL)
    run = SessionRun(spec)
    assert run.status == "preparing" and run.live
    run.stop()  # asked before the session exists: kept for it
    session = TrainingSession(spec, write_run=False)
    run.attach(session)
    assert session.control.stop_requested.is_set()
    ended = [events.EpochEnded(1, {"loss": 1.0}, 0.1), events.EpochEnded(2, {"loss": 0.5}, 0.1)]
    run.take([events.RunStarted("", spec.summary(), 4, 2), *ended, ended[0]])  # a repeat is ignored
    assert run.history == [{"loss": 1.0}, {"loss": 0.5}]
    assert run.status == "stopping"
    run.take([events.Finished(2, 2, {"loss": 0.5}, "", "stopped")])
    assert run.status == "stopped" and not run.live


def test_a_folder_handle_follows_what_another_process_appends(tmp_path):
    done = TrainingSession(specs.loads(SMALL), runs_dir=tmp_path).run()
    written = (Path(done.run_dir) / "events.jsonl").read_bytes()
    copy = tmp_path / "20260101-000000-copy"
    copy.mkdir()
    (copy / "spec.toml").write_text(SMALL)
    events_file = copy / "events.jsonl"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from layerlab.core.runs import RunLock; RunLock(sys.argv[1]); print('held', flush=True); time.sleep(60)",
            str(copy),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        run = FolderRun(copy)
        half = len(written) // 2
        events_file.write_bytes(written[:half])  # the writer is in the middle of a line
        first = run.refresh()
        assert run.live and run.status == "running"
        with events_file.open("ab") as handle:
            handle.write(written[half:])
        rest = run.refresh()
        assert [e.event for e in first + rest] == [
            e["event"] for e in runs.read_events(Path(done.run_dir) / "events.jsonl")
        ]
        assert len(run.history) == 4 and run.status == "completed" and not run.live
        assert run.refresh() == []  # nothing new: nothing read twice
    finally:
        holder.kill()
        holder.wait()
    events_file.write_bytes(written[: written.index(b'"finished"') - 20])  # cut before the end
    dead = FolderRun(copy)
    dead.refresh()
    assert dead.status == "killed" and not dead.live  # no writer holds the lock
