"""The SGD lesson's picture: a linear unit's run sends its data and, at a bounded rate, each
minibatch with the line after the step; the panel draws them at a bounded frame rate."""

from __future__ import annotations

import time

import pytest
from layerlab.core import events
from layerlab.core.examples import example_path
from layerlab.core.session import TrainingSession
from layerlab.core.spec import load
from layerlab.tui.widgets.sgd_view import SgdView
from textual.app import App, ComposeResult


def test_a_linear_unit_run_sends_its_data_and_its_minibatches(tmp_path):
    session = TrainingSession(load(example_path("linear_unit")), runs_dir=tmp_path)
    seen: list[events.Event] = []
    session.bus.subscribe(seen.append)
    started = time.monotonic()
    session.run()
    took = time.monotonic() - started
    points = [e for e in seen if isinstance(e, events.LinePoints)]
    batches = [e for e in seen if isinstance(e, events.Minibatch)]
    assert len(points) == 1 and len(points[0].x) == len(session.prep.dataset.x_train)
    assert 1 <= len(batches) <= 10 * took + 2  # at most 10 a second, whatever the batch rate
    assert all(1 <= len(b.x) == len(b.y) <= 16 for b in batches)  # batch_size 16
    # The line moves towards the fit the lesson shows: w ≈ 2.5, b ≈ 1.0 by the end.
    meta = session.prep.dataset.metadata
    assert abs(batches[-1].w - meta["w_model"]) < abs(batches[0].w - meta["w_model"])
    assert batches[-1].w == pytest.approx(meta["w_model"], rel=0.05)


def test_other_models_send_no_minibatch_picture(tmp_path):
    spec = load(example_path("linear_unit"))
    spec.data.name = "diabetes"
    spec.fit.epochs = 1
    session = TrainingSession(spec, runs_dir=tmp_path)
    seen: list[events.Event] = []
    session.bus.subscribe(seen.append)
    session.run()
    assert not [e for e in seen if isinstance(e, events.LinePoints | events.Minibatch)]
    assert [e for e in seen if isinstance(e, events.BatchEnded)]


class ViewApp(App):
    def compose(self) -> ComposeResult:
        yield SgdView(id="sgd")


async def test_the_panel_draws_the_line_and_bounds_its_frames():
    app = ViewApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(SgdView)
        view.feed(events.RunStarted("", {}))
        view.feed(events.LinePoints([0.0, 1.0, 2.0, 3.0], [1.0, 3.5, 6.0, 8.5]))
        for step in range(1, 301):  # far faster than any frame rate
            view.feed(events.BatchEnded(1, step, 300, 0.1))
            view.feed(events.Minibatch(1, step, [1.0, 2.0], [3.5, 6.0], 2.5 * step / 300, 1.0))
        await pilot.pause(0.5)
        assert view.is_line and view.border_title == "SGD: data · minibatch · line"
        assert "epoch 1 batch 300: y = 2.5·x + 1" in str(view.border_subtitle)
        assert 1 <= view.frames <= 5  # a few frames, not 600 redraws
        view.feed(events.RunStarted("", {}))  # another model: the loss per batch
        for step in range(1, 51):
            view.feed(events.BatchEnded(1, step, 50, 1.0 / step))
        await pilot.pause(0.4)
        assert not view.is_line and view.border_title == "batches"
        assert str(view.border_subtitle) == "batch 50: loss 0.02"


async def test_the_train_screen_shows_the_linear_units_line_moving(tmp_path):
    from layerlab.core.examples import example_path as example
    from layerlab.tui.widgets.curves import LearningCurves

    from tests.conftest_app import make_app
    from tests.test_app_train import finish, start

    spec_path = tmp_path / "linear_unit.toml"
    spec_path.write_text(example("linear_unit").read_text())
    app = make_app(spec_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await start(pilot)
        view = screen.query_one(SgdView)
        lines: list[float] = []
        while screen.active:  # the line after each shown minibatch, as training goes
            await pilot.pause(0.1)
            if view.minibatch is not None and (not lines or lines[-1] != view.minibatch.w):
                lines.append(view.minibatch.w)
        await finish(pilot, screen)
        assert view.display and view.is_line and view.frames >= 1
        assert not screen.curves.display  # the lesson's picture in the curves' place
        assert len(view.points[0]) == 160
        assert len(lines) >= 2  # the line moved while the screen looked
        assert abs(lines[-1] - 2.5) < 0.05  # ... to the fit
        await pilot.press("b")  # the curves come back, and the picture again
        assert not view.display and screen.curves.display
        screen.query_one(LearningCurves).focus()
        await pilot.press("b")
        assert view.display and not screen.curves.display
