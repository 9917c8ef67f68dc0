"""The workspace in the running app: data that fails, a check in flight, a late result ignored."""

from __future__ import annotations

import asyncio
import threading
import time

from layerlab.core.spec import DataSpec
from layerlab.tui import jobs
from textual.widgets import Static

from tests.conftest_app import dense_spec, make_app, settle, text_of, write_spec


async def _until(pilot, done, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def test_a_data_set_that_fails_to_load_is_failed_and_says_so(tmp_path):
    spec = dense_spec()
    spec.data = DataSpec(path="missing.csv", target="y")
    app = make_app(write_spec(tmp_path, spec))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        status = app.workspace.status
        assert status.data.phase == "failed" and "missing.csv" in (status.data.error or "")
        assert status.check.phase == "none" and app.workspace.dataset is None
        assert str(app.screen.query_one("#activity", Static).render()) == "✗ data not loaded"
        assert "data: " in text_of(app.screen.query_one("#problems", Static))
        summary = text_of(app.screen.query_one("#summary", Static))
        assert "missing · not loaded" in summary


async def test_a_check_in_flight_is_pending_until_keras_answers(tmp_path, monkeypatch):
    release = threading.Event()
    real_check = jobs.check_stack

    def held_check(*args, **kwargs):
        release.wait(30)
        return real_check(*args, **kwargs)

    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(jobs, "check_stack", held_check)
        app.workspace.remove_layer(1)
        await pilot.pause()
        status = app.workspace.status
        assert status.check.phase == "pending" and status.busy and app.workspace.check is None
        assert str(app.screen.query_one("#activity", Static).render()) == "checking shapes…"
        assert "output  …" in text_of(app.screen.query_one("#summary", Static))
        release.set()
        await settle(pilot)
        status = app.workspace.status
        assert status.check.phase == "checked" and status.builds
        assert str(app.screen.query_one("#activity", Static).render()) == "✓ the model builds"


async def test_an_older_data_set_arriving_after_a_newer_one_is_ignored(tmp_path, monkeypatch):
    started, release, slow_done = threading.Event(), threading.Event(), threading.Event()
    real_load = jobs.load_data

    def load(spec):
        if spec.data.name != "iris":
            return real_load(spec)
        started.set()
        release.wait(30)  # iris comes back only after wine has been taken
        try:
            return real_load(spec)
        finally:
            slow_done.set()

    monkeypatch.setattr(jobs, "load_data", load)
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.workspace.set_data(DataSpec(name="iris"))
        assert await asyncio.to_thread(started.wait, 30)
        app.workspace.set_data(DataSpec(name="wine"))
        await pilot.pause()  # the iris worker's task takes its cancellation (its thread goes on)
        await settle(pilot)
        assert app.workspace.dataset.name == "wine"
        release.set()
        assert await asyncio.to_thread(slow_done.wait, 30)
        for _ in range(5):  # the late result, posted back to the UI thread, is handled here
            await pilot.pause(0.02)
        status = app.workspace.status
        assert status.data.phase == "loaded" and app.workspace.dataset.name == "wine"
        assert app.workspace.spec.data.name == "wine" and status.settled
