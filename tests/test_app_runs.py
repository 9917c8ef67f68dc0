"""The Runs screen: real run folders listed, summarised, compared on one plot, and reopened."""

from layerlab.core import spec as specs
from layerlab.core.session import TrainingSession

from tests.conftest_app import make_app, settle, text_of, write_spec

TINY = """
name = "{name}"
[data]
name = "iris"
[[layers]]
type = "Dense"
units = {units}
activation = "relu"
[[layers]]
type = "Dense"
units = 3
activation = "softmax"
[fit]
batch_size = 32
epochs = {epochs}
"""


def train(name, units, epochs):
    session = TrainingSession(specs.loads(TINY.format(name=name, units=units, epochs=epochs)))
    return session.run()


async def test_runs_are_listed_compared_and_reopened(tmp_path):
    train("wide", 64, 3)
    deep = train("deep", 4, 2)
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        screen = app.screen
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = screen.query_one("#runs-table")
        assert table.row_count == 2
        # Newest first: the deep run was trained last.
        assert [r.name for r in screen.records] == ["deep", "wide"]
        assert [len(r.history) for r in screen.records] == [2, 3]
        summary = text_of(screen.query_one("#runs-summary"))
        assert f"best epoch: {deep.best_epoch}" in summary and "ran every epoch" in summary

        await pilot.press("space", "down", "space")
        assert len(screen.marked) == 2
        assert "compared" in screen.query_one("#runs-plot").border_title

        await pilot.press("m")
        assert screen.metric != "val_loss"

        await pilot.press("o")
        await pilot.pause()
        assert app.workspace.spec.name == "wide"
        assert app.workspace.spec.layers[0].params["units"] == 64


async def test_no_runs_says_how_to_make_one(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "No runs yet" in text_of(app.screen.query_one("#runs-summary"))


async def test_a_stopped_run_is_resumed_from_the_runs_screen_to_its_last_epoch(tmp_path):
    from pathlib import Path

    from layerlab.core import events, runs

    session = TrainingSession(specs.loads(TINY.format(name="cut", units=8, epochs=8)))
    session.subscribe(
        lambda e: session.stop() if isinstance(e, events.EpochEnded) and e.epoch == 3 else None
    )
    cut = session.run()
    assert cut.reason == "stopped" and cut.epochs_run < 8  # the epoch in progress at the stop ends
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.records[0].status == "stopped"
        await pilot.press("R")
        await pilot.pause()
        assert app.screen.MODE == "train"
        screen = app.screen
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert f"resuming after epoch {cut.epochs_run}" in screen.log_view.text
    run_dir = Path(cut.run_dir)
    history = runs.read_history(run_dir / "history.csv")
    assert [int(r["epoch"]) for r in history] == list(range(1, 9))
    record = runs.read_run(run_dir)
    assert record.status == "completed" and record.finished["epochs_run"] == 8
    assert list(run_dir.parent.glob("2*")) == [run_dir]


def train_in_sweep(name, learning_rate, batch_size):
    """A real run of sweep `name`, tagged in provenance.json as `layerlab sweep` tags its runs."""
    spec = specs.loads(TINY.format(name="sgd", units=8, epochs=2))
    spec.compile.learning_rate, spec.fit.batch_size = learning_rate, batch_size
    session = TrainingSession(spec)
    settings = {"compile.learning_rate": learning_rate, "fit.batch_size": batch_size}
    session.sweep = {"name": name, "settings": settings, "seed": 0}
    return session.run()


def plot_text(screen) -> str:
    return screen.query_one("#runs-plot").render().plain


async def test_a_sweeps_runs_are_grouped_and_g_overlays_all_their_curves(tmp_path):
    from layerlab.screens.runs_table import SweepGroup

    train_in_sweep("lr-bs", 0.01, 16)
    train("alone", 8, 2)  # trained between the sweep's runs: listed apart from them
    for lr, bs in ((0.01, 64), (0.1, 16), (0.1, 64)):
        train_in_sweep("lr-bs", lr, bs)
    labels = {"lr=0.1 bs=64", "lr=0.1 bs=16", "lr=0.01 bs=64", "lr=0.01 bs=16"}
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        screen = app.screen
        await app.workers.wait_for_complete()
        await pilot.pause()
        group, *members, alone = screen.rows
        assert isinstance(group, SweepGroup) and group.name == "lr-bs"
        assert [r.sweep.name for r in members] == ["lr-bs"] * 4 and alone.name == "alone"
        assert [group.labels[r.path.name] for r in members] == [
            "lr=0.1 bs=64",
            "lr=0.1 bs=16",
            "lr=0.01 bs=64",
            "lr=0.01 bs=16",
        ]
        table = screen.query_one("#runs-table")
        assert "sweep (4)" in str(table.get_row(group.key)[1])
        assert "lr=0.1 bs=64" in str(table.get_row(members[0].path.name)[0])
        assert "sweep lr-bs: 4 runs (4 done)" in text_of(screen.query_one("#runs-summary"))

        await pilot.press("down", "down", "g")  # on one of the sweep's runs
        assert set(screen.marked) == {r.path.name for r in members}
        assert [r.path.name for r in screen._shown()] == [r.path.name for r in members]
        assert all(label in plot_text(screen) for label in labels)  # the legend: their settings
        assert "compared" in screen.query_one("#runs-plot").border_title

        await pilot.press("g")
        assert screen.marked == []
        await pilot.press("down", "down", "down", "g")  # a run of its own: no sweep to mark
        assert screen._current() is alone
        assert screen.marked == []
        await pilot.press(*["up"] * 5, "enter")  # enter on the sweep's row overlays it too
        assert len(screen.marked) == 4 and app.screen is screen


async def test_at_80x24_every_column_is_whole(tmp_path):
    import json

    from layerlab.core import words
    from layerlab.core.runs import runs_root

    from tests.test_snapshots import wide_spec, write_run, write_runs

    write_runs()  # ran every epoch, early stopping, stopped, killed
    for i, lr in enumerate((0.0001, 0.001)):
        folder = f"20260102-0900{i:02d}-sgd-learning_rate{lr}"
        write_run(folder, wide_spec("sgd", 16), 8, 0.01 * i, "early_stopping")
        tag = {"name": "sgd-20260102-090000", "settings": {"compile.learning_rate": lr}, "seed": 0}
        (runs_root() / folder / "provenance.json").write_text(json.dumps({"sweep": tag}))
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        screen = app.screen
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = screen.query_one("#runs-table")
        assert table.virtual_size.width <= table.scrollable_content_region.width  # none hidden
        lines = ["".join(s.text for s in table.render_line(y)) for y in range(len(screen.rows) + 1)]
        assert lines[0].split() == ["name", "status", "ep", "val_loss"]
        shown = {"completed": "done", "early_stopping": "early stop"}
        for row, line in zip(screen.rows, lines[1:], strict=True):
            if hasattr(row, "headline"):
                status = shown.get(row.status, row.status)
                assert f" {status} " in line, (status, line)
                assert line.rstrip().endswith(words.number(row.headline.value)), line
        assert {r.status for r in screen.records} >= {"killed", "stopped", "early_stopping"}
