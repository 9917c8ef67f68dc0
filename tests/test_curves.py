"""The learning-curves widget in a small app: what it holds, what it draws, and how often it redraws."""

import math
import re
import time

from layerlab.core import events
from layerlab.tui.widgets.curves import COLORS, REDRAWS_PER_SECOND, LearningCurves, decimate
from textual.app import App, ComposeResult
from textual.geometry import Region


class CurvesApp(App):
    def compose(self) -> ComposeResult:
        yield LearningCurves()


def _logs(epoch: int) -> dict[str, float]:
    return {
        "loss": 1 / epoch,
        "val_loss": 1 / epoch + 0.02 * epoch**0.5,
        "accuracy": 1 - 0.5 / epoch,
        "val_accuracy": 0.9 - 0.5 / epoch,
    }


async def _app_with(pilot_app: App, epochs: int) -> LearningCurves:
    curves = pilot_app.query_one(LearningCurves)
    curves.focus()
    for epoch in range(1, epochs + 1):
        curves.add_epoch(epoch, _logs(epoch))
    return curves


def _text(curves: LearningCurves) -> list[str]:
    """The widget as it is on screen, border and all, one string a row."""
    return [strip.text for strip in curves.render_lines(Region(0, 0, *curves.outer_size))]


def _y_labels(rows: list[str]) -> list[float]:
    return [float(m.group(1)) for row in rows if (m := re.search(r"(-?[\d.]+)┤", row))]


def _x_tick_columns(rows: list[str]) -> dict[int, int]:
    """Each x tick label's epoch and the column of its last digit."""
    tick_row = next(i for i, row in enumerate(rows) if "└" in row) + 1
    return {int(m.group()): m.end() - 1 for m in re.finditer(r"\d+", rows[tick_row])}


async def test_every_epoch_is_held_and_drawn_with_title_legend_and_axis_label():
    app = CurvesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        curves = await _app_with(app, 30)
        await pilot.pause(0.3)
        assert curves.epochs == list(range(1, 31))
        assert curves.series["loss"] == [1 / e for e in range(1, 31)]
        assert len(curves.series["val_accuracy"]) == 30
        screen = "\n".join(_text(curves))
        assert "loss · val_loss" in screen.splitlines()[0]
        assert "val_loss" in screen and "epoch" in screen
        assert "accuracy" not in screen.split("\n", 1)[1]  # one pair at a time


async def test_batches_draw_a_partial_line_that_the_finished_epoch_replaces():
    app = CurvesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        curves = await _app_with(app, 3)
        for batch in range(1, 6):
            curves.add_batch(4, batch, 10, 0.3)
        await pilot.pause(0.3)
        view = curves.view(curves.size.width)
        partial = [line for line in view.lines if line[0] == ""]
        assert partial and partial[0][1] == [3, 3.1, 3.2, 3.3, 3.4, 3.5]
        assert partial[0][2][0] == curves.series["loss"][-1]  # joined to epoch 3's loss
        assert view.xlim == (1.0, 3.5)
        curves.add_epoch(4, _logs(4))
        await pilot.pause(0.3)
        view = curves.view(curves.size.width)
        assert [line[0] for line in view.lines] == ["loss", "val_loss"]
        assert view.lines[0][1][-1] == 4 and view.xlim == (1.0, 4.0)


async def test_the_first_epochs_batches_show_before_any_epoch_has_finished():
    app = CurvesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        curves = app.query_one(LearningCurves)
        curves.feed(events.BatchEnded(epoch=1, batch=1, steps=4, loss=0.9))
        curves.feed(events.BatchEnded(epoch=1, batch=2, steps=4, loss=0.7))
        await pilot.pause(0.3)
        view = curves.view(curves.size.width)
        assert view.lines == (("", [0.25, 0.5], [0.9, 0.7], COLORS["partial"]),)
        assert view.xlim == (0.0, 1.0)


async def test_best_and_stop_marks_sit_at_their_epochs():
    app = CurvesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        curves = await _app_with(app, 40)
        curves.feed(events.EarlyStopped(stopped_epoch=40, best_epoch=20, restored=True))
        await pilot.pause(0.3)
        rows = _text(curves)
        best_row = next(row for row in rows if "best 20" in row)
        assert any("stop 40" in row for row in rows)
        ticks = _x_tick_columns(rows)
        # "best 20" starts on the vertical line, under which tick 20 ends.
        assert abs(best_row.index("best 20") - ticks[20]) <= 1
        assert ticks[10] < best_row.index("best 20") < ticks[30]


async def test_a_mark_outside_the_zoomed_range_is_not_drawn():
    app = CurvesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        curves = await _app_with(app, 120)
        curves.mark_best(30)
        await pilot.press("z")
        assert curves.zoom == 50
        assert all("best 30" not in row for row in _text(curves))
        assert curves.view(curves.size.width).markers == ()


async def test_zoom_cycles_and_limits_the_epochs_shown():
    app = CurvesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        curves = await _app_with(app, 120)
        await pilot.pause(0.3)
        assert min(_x_tick_columns(_text(curves))) <= 20
        expected = [(50, 70.0), (20, 100.0), (0, 1.0)]
        for zoom, lo in expected:
            await pilot.press("z")
            await pilot.pause()
            view = curves.view(curves.size.width)
            assert curves.zoom == zoom and view.xlim == (lo, 120.0)
            assert min(view.lines[0][1]) >= lo
            assert min(_x_tick_columns(_text(curves))) >= lo
            assert (f"last {zoom}" in _text(curves)[-1]) == bool(zoom)


async def test_log_toggle_turns_the_y_axis_logarithmic_and_back():
    app = CurvesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        curves = await _app_with(app, 100)
        await pilot.pause(0.3)
        linear = _y_labels(_text(curves))
        steps = [b - a for a, b in zip(linear[1:], linear[:-1], strict=False)]
        assert max(steps) - min(steps) < 0.02  # evenly spaced values
        before = curves.redraws
        await pilot.press("l")
        await pilot.pause()
        assert curves.log_y and curves.redraws == before + 1  # a key repaints at once
        logs = _y_labels(_text(curves))
        ratios = [a / b for a, b in zip(logs[:-1], logs[1:], strict=False)]
        assert max(ratios) - min(ratios) < 0.3 and min(ratios) > 1.2  # evenly spaced powers
        assert "log y" in _text(curves)[-1]
        await pilot.press("l")
        await pilot.pause()
        assert not curves.log_y and _y_labels(_text(curves)) == linear


async def test_log_axis_leaves_out_zero_and_nan_instead_of_failing():
    app = CurvesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        curves = app.query_one(LearningCurves)
        for epoch, loss in enumerate([1.0, 0.5, 0.0, math.nan, 0.2], start=1):
            curves.add_epoch(epoch, {"loss": loss})
        curves.log_y = True
        await pilot.pause(0.3)
        assert curves.view(curves.size.width).lines[0][1] == [1, 2, 5]
        assert "epoch" in "\n".join(_text(curves))


async def test_m_switches_to_the_next_metric_pair():
    app = CurvesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        curves = await _app_with(app, 10)
        curves.add_batch(11, 1, 4, 0.1)
        assert curves.metrics == ["loss", "accuracy"]
        await pilot.press("m")
        await pilot.pause()
        rows = _text(curves)
        assert "accuracy · val_accuracy" in rows[0] and "m 2/2" in rows[-1]
        assert [line[0] for line in curves.view(curves.size.width).lines] == [
            "accuracy",
            "val_accuracy",
        ]
        await pilot.press("m")
        assert curves.metric == "loss"


async def test_many_events_within_a_tick_cause_few_redraws():
    app = CurvesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        curves = app.query_one(LearningCurves)
        await pilot.pause(0.3)
        before = curves.redraws
        for epoch in range(1, 201):
            curves.add_epoch(epoch, _logs(epoch))
            curves.add_batch(epoch + 1, 1, 10, 0.5)
        await pilot.pause(0.6)
        assert 1 <= curves.redraws - before <= 3
        assert curves.epochs[-1] == 200


async def test_a_steady_stream_of_events_redraws_at_the_timer_rate_not_per_event():
    app = CurvesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        curves = app.query_one(LearningCurves)
        await pilot.pause(0.3)
        before, started = curves.redraws, time.perf_counter()
        for epoch in range(1, 61):
            curves.add_epoch(epoch, _logs(epoch))
            await pilot.pause()  # the app gets to paint between events
        elapsed = time.perf_counter() - started
        redraws = curves.redraws - before
        assert redraws <= elapsed * REDRAWS_PER_SECOND + 2
        assert redraws < 60 / 4


async def test_feed_turns_core_events_into_curves_and_marks():
    app = CurvesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        curves = await _app_with(app, 5)
        curves.feed(events.RunStarted(run_dir="runs/x", spec={}))
        assert curves.epochs == [] and curves.series == {}
        for epoch in range(1, 4):
            curves.feed(events.BatchEnded(epoch=epoch, batch=2, steps=4, loss=0.5))
            curves.feed(events.EpochEnded(epoch, {"loss": 1 / epoch}, 0.1, best_epoch=epoch))
        curves.feed(events.Stopped(epoch=3))
        await pilot.pause(0.3)
        assert curves.epochs == [1, 2, 3] and curves.batches == []
        assert (curves.best_epoch, curves.stop_epoch) == (3, 3)
        assert "best 3" in "\n".join(_text(curves))


def test_decimation_keeps_the_ends_and_the_spikes_within_two_points_a_column():
    xs = list(range(1, 10_001))
    ys = [1 / x for x in xs]
    ys[5_000] = 9.0
    out_x, out_y = decimate(xs, ys, 80)
    assert len(out_x) <= 2 * 80 + 2
    assert (out_x[0], out_x[-1]) == (1, 10_000) and out_x == sorted(out_x)
    assert 9.0 in out_y and min(out_y) == min(ys)
    assert decimate(xs[:50], ys[:50], 80) == (xs[:50], ys[:50])
