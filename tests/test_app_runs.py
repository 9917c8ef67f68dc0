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
