"""Reading run folders back: every folder listed, a damaged one with its reason, the rest as usual."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from layerlab.core import runs
from layerlab.core import spec as specs
from layerlab.core.events import Finished, RunStarted

GOOD_HISTORY = b"epoch,loss,val_loss\r\n1,0.9,1.0\r\n2,0.5,0.6\r\n"


def make_run(
    root: Path,
    stamp: str,
    name: str,
    *,
    history: bytes | None = GOOD_HISTORY,
    events: bytes | None = None,
    spec: bool = True,
) -> Path:
    """A run folder as layerlab writes one; pass bytes to put something else in a file."""
    folder = root / f"20240101-{stamp}-{name}"
    folder.mkdir(parents=True)
    if spec:
        specs.save(specs.Spec(name=name), folder / "spec.toml")
    if history is not None:
        (folder / "history.csv").write_bytes(history)
    if events is None:
        lines = [
            RunStarted(str(folder), {"name": name}),
            Finished(2, 2, {"val_loss": 0.6}, str(folder)),
        ]
        events = "".join(e.to_json() + "\n" for e in lines).encode()
    (folder / "events.jsonl").write_bytes(events)
    return folder


def by_name(root: Path) -> dict[str, runs.RunRecord]:
    return {record.name: record for record in runs.list_runs(root)}


def test_a_good_run_reads_whole(tmp_path):
    make_run(tmp_path, "000001", "good")
    record = by_name(tmp_path)["good"]
    assert record.problem is None and record.status == "completed"
    assert record.history == [
        {"epoch": 1.0, "loss": 0.9, "val_loss": 1.0},
        {"epoch": 2.0, "loss": 0.5, "val_loss": 0.6},
    ]
    assert record.best == {"val_loss": 0.6}


DAMAGE = {
    "history not utf8": (
        {"history": b"epoch,loss\n1,0.5\n2,\xff\xfe\n"},
        "history.csv is not UTF-8 text: byte 19 cannot be decoded",
    ),
    "events not utf8": (
        {"events": b'{"event": "run_started", "run_dir": "", "spec": {}}\n\xc3\x28\n'},
        "events.jsonl is not UTF-8 text",
    ),
    "header without epoch": (
        {"history": b"garbage;;\n1;2\n"},
        "history.csv's first line is not a header with an epoch column: 'garbage;;'",
    ),
    "header with a repeated name": (
        {"history": b"epoch,loss,loss\n1,2,3\n"},
        "history.csv's first line is not a header with an epoch column",
    ),
    "finished event missing its fields": (
        {"events": b'{"event": "finished", "reason": "completed"}\n'},
        "events.jsonl's finished event is not one layerlab writes",
    ),
    "spec.toml missing": ({"spec": False}, "spec.toml: no such file"),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_a_damaged_run_is_listed_with_its_reason_beside_the_good_ones(tmp_path, case):
    damage, reason = DAMAGE[case]
    make_run(tmp_path, "000001", "before")
    make_run(tmp_path, "000002", "broken", **damage)
    make_run(tmp_path, "000003", "after")
    records = runs.list_runs(tmp_path)
    assert [r.name for r in records] == ["after", "broken", "before"]
    broken = records[1]
    assert broken.status == "damaged"
    assert broken.problem is not None and broken.problem.startswith(reason)
    assert [r.status for r in (records[0], records[2])] == ["completed", "completed"]
    assert len(records[0].history) == len(records[2].history) == 2


def test_a_spec_toml_that_does_not_load_is_the_reason(tmp_path):
    folder = make_run(tmp_path, "000001", "nanspec")
    (folder / "spec.toml").write_text("[compile]\nlearning_rate = nan\n")
    record = runs.read_run(folder)
    assert record.status == "damaged"
    assert (
        record.problem
        == "spec.toml: compile.learning_rate: nan is not allowed: expected a finite number > 0 and <= 10"
    )
    assert len(record.history) == 2  # what could be read still is


def test_a_file_that_cannot_be_read_is_the_reason(tmp_path):
    folder = make_run(tmp_path, "000001", "dir", history=None)
    (folder / "history.csv").mkdir()  # unreadable as a file, whoever runs the test
    record = runs.read_run(folder)
    assert (
        record.status == "damaged"
        and record.problem == "history.csv cannot be read: Is a directory"
    )


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads folders without permission"
)
def test_a_folder_without_permission_is_listed_as_damaged(tmp_path):
    make_run(tmp_path, "000001", "fine")
    locked = make_run(tmp_path, "000002", "locked")
    locked.chmod(0)
    try:
        records = by_name(tmp_path)
    finally:
        locked.chmod(0o755)
    assert records["locked"].status == "damaged"
    assert "Permission denied" in records["locked"].problem
    assert records["fine"].status == "completed"


def test_a_half_written_last_line_is_skipped_not_damage(tmp_path):
    # Killed mid-write: "3,0.4" lost its last field and its newline; events.jsonl lost its end.
    folder = make_run(
        tmp_path,
        "000001",
        "killed",
        history=GOOD_HISTORY + b"3,0.4",
        events=RunStarted("x", {}).to_json().encode() + b'\n{"event": "epoch_e',
    )
    record = runs.read_run(folder)
    assert record.problem is None
    assert [row["epoch"] for row in record.history] == [1.0, 2.0]
    assert [e["event"] for e in record.events] == ["run_started"]


def test_a_cut_inside_the_last_number_is_not_read_as_a_value(tmp_path):
    folder = make_run(
        tmp_path, "000001", "cut", history=GOOD_HISTORY + b"3,0.4,0.5"
    )  # 0.5 was to be 0.5123
    assert [row["epoch"] for row in runs.read_run(folder).history] == [1.0, 2.0]


def test_a_json_line_that_is_not_an_event_is_skipped(tmp_path):
    folder = make_run(
        tmp_path,
        "000001",
        "odd",
        events=b'3\n["x"]\n{"no_event": 1}\n' + Finished(1, 1, {}, "x").to_json().encode() + b"\n",
    )
    record = runs.read_run(folder)
    assert record.problem is None and record.status == "completed"
    assert [e["event"] for e in record.events] == ["finished"]


def test_other_folders_and_files_in_runs_are_not_runs(tmp_path):
    make_run(tmp_path, "000001", "real")
    (tmp_path / "notes").mkdir()
    (tmp_path / ".layerlab-123.log").write_text("x")
    assert [r.name for r in runs.list_runs(tmp_path)] == ["real"]


def test_a_sweeps_run_carries_its_sweep_and_a_run_of_its_own_none(tmp_path):
    import json

    from layerlab.core.sweeps import SweepTag

    tagged = make_run(tmp_path, "120000", "sgd-learning_rate0.01")
    tag = {"name": "sgd", "settings": {"compile.learning_rate": 0.01, "fit.batch_size": 32}}
    (tagged / "provenance.json").write_text(json.dumps({"sweep": {**tag, "seed": 2}}))
    alone = make_run(tmp_path, "120100", "alone")
    (alone / "provenance.json").write_text(json.dumps({"backend": "jax"}))
    broken = make_run(tmp_path, "120200", "broken")
    (broken / "provenance.json").write_text('{"sweep": ')  # cut mid-write: no sweep, no damage

    read = by_name(tmp_path)
    assert read["sgd-learning_rate0.01"].sweep == SweepTag("sgd", tag["settings"], 2)
    assert read["alone"].sweep is None
    assert read["broken"].sweep is None and read["broken"].problem is None
    assert read["sgd-learning_rate0.01"].sweep.label() == "lr=0.01 bs=32 s2"


def test_sweep_labels_say_only_what_tells_the_runs_apart():
    from layerlab.core.sweeps import SweepTag, short_key, varying

    grid = [
        SweepTag("g", {"compile.learning_rate": lr, "fit.batch_size": bs, "fit.epochs": 9}, 0)
        for lr in (0.0001, 1e-05)
        for bs in (32, 256)
    ]
    keys, seeds = varying(grid)
    assert keys == ["compile.learning_rate", "fit.batch_size"] and not seeds
    assert [t.label(keys, seed=seeds) for t in grid] == [
        "lr=0.0001 bs=32",
        "lr=0.0001 bs=256",
        "lr=1e-05 bs=32",
        "lr=1e-05 bs=256",
    ]
    seeded = [SweepTag("g", {"fit.batch_size": 32}, s) for s in (0, 1)]
    keys, seeds = varying(seeded)  # one setting, two seeds: the seed tells them apart
    assert [t.label(keys, seed=seeds) for t in seeded] == ["s0", "s1"]
    assert short_key("layers[0].units") == "units[0]"


def test_the_headline_is_the_monitored_value_the_course_reads_off_the_curve(tmp_path):
    extreme = {"monitor": "val_accuracy", "kind": "highest", "value": 0.91, "epoch": 2}
    lines = [
        RunStarted("x", {"name": "acc"}),
        Finished(2, 1, {"val_accuracy": 0.9, "val_loss": 0.3}, "x", extreme=extreme),
    ]
    make_run(tmp_path, "120000", "acc", events="".join(e.to_json() + "\n" for e in lines).encode())
    older = [
        RunStarted("y", {"name": "old"}),
        Finished(2, 2, {"val_acc": 0.8, "val_loss": 0.6}, "y"),
    ]
    make_run(tmp_path, "120100", "old", events="".join(e.to_json() + "\n" for e in older).encode())
    make_run(tmp_path, "120200", "live", events=b"")  # no ending yet: the lowest val_loss so far
    read = by_name(tmp_path)
    assert read["acc"].headline == runs.Headline("val_accuracy", 0.91, lowest=False)
    assert read["old"].headline == runs.Headline("val_loss", 0.6, lowest=True)
    assert read["live"].headline == runs.Headline("val_loss", 0.6, lowest=True)
