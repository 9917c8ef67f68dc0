"""Shared fixtures: quiet TensorFlow, and run folders and app state kept inside each test's tmp_path."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

ROOT = Path(__file__).resolve().parents[1]
RED_WINE = ROOT / "examples" / "red-wine.csv"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """No test writes runs or remembered state outside its own tmp_path."""
    monkeypatch.setenv("LAYERLAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("LAYERLAB_STATE", str(tmp_path / "state"))


@pytest.fixture
def red_wine() -> Path:
    return RED_WINE  # shipped in examples/, with its attribution in examples/DATA.md
