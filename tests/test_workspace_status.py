"""The stale-result helper and the workspace's status words, without an app."""

from __future__ import annotations

from types import SimpleNamespace

from layerlab.tui.jobs import CheckResult
from layerlab.tui.latest import Latest
from layerlab.tui.workspace_status import CheckState, DataState, Status


def test_only_the_newest_token_is_current():
    latest = Latest()
    older = latest.next()
    assert latest.is_current(older)
    newer = latest.next()
    assert latest.is_current(newer) and not latest.is_current(older)
    latest.forget()
    assert not latest.is_current(newer)
    assert latest.is_current(latest.next())


LOADED = DataState("loaded", object())
NO_CHECK = CheckState()


def _status(data: DataState = LOADED, check: CheckState = NO_CHECK, keras=True) -> Status:
    return Status(data, check, keras, "iris")


def _checked(ok=True, warnings=(), error=None) -> CheckState:
    report = None if error else SimpleNamespace(ok=ok)
    result = CheckResult(report=report, warnings=list(warnings), error=error)
    return CheckState("failed" if error else "checked", result)


def test_status_words_follow_the_data_then_the_check():
    loading = _status(DataState("loading"), keras=False)
    assert loading.words == "loading iris…" and loading.busy and loading.pending
    assert loading.data_words == "loading…"
    failed = _status(DataState("failed", error="no such file"))
    assert failed.words == "✗ data not loaded" and not failed.busy and not failed.pending
    assert failed.data_words == "not loaded" and failed.builds is None
    waiting = _status(keras=False)
    assert waiting.words == "shapes: waiting for Keras" and waiting.pending and not waiting.settled
    pending = _status(check=CheckState("pending"))
    assert pending.words == "checking shapes…" and pending.busy and pending.report is None
    assert _status(DataState()).words == ""


def test_status_words_say_what_the_check_found():
    builds = _status(check=_checked())
    assert builds.words == "✓ the model builds" and builds.builds and builds.settled
    warned = _status(check=_checked(warnings=["a", "b"]))
    assert warned.words == "⚠ 2 warning(s) about the head" and warned.builds
    broken = _status(check=_checked(ok=False))
    assert broken.words == "✗ the model cannot be built" and broken.builds is False
    crashed = _status(check=_checked(error="the shape check failed: boom"))
    assert crashed.words == "✗ the model cannot be built" and crashed.report is None
