"""The core knows no UI, and the light core modules load without Keras: checked in fresh interpreters."""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import core

ROOT = Path(__file__).resolve().parents[1]
UI = ("textual", "textual_plotext", "plotext", "textual_image", "tui", "screens")
HEAVY = ("keras", "tensorflow", "jax", "torch")
LIGHT = (
    "core.spec", "core.events", "core.runs", "core.catalog", "core.examples", "core.diagnosis", "core.strategy",
    "core.errors", "core.words", "core.files", "core.runlog",
)


def loaded_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(core.__path__, "core."))


def test_every_core_module_is_listed():
    assert {"core.session", "core.model", "core.data", "core.inspect", "core.accel"} <= set(core_modules())


@pytest.mark.parametrize("module", ["core.session", "core.cli", "core.inspect", "core.data", "core.accel", "core.playground"])
def test_core_imports_no_ui(module):
    loaded = loaded_after_import(module)
    assert not loaded & set(UI), f"{module} pulled in {sorted(loaded & set(UI))}"


@pytest.mark.parametrize("module", LIGHT)
def test_light_core_modules_import_no_keras(module):
    loaded = loaded_after_import(module)
    assert not loaded & set(HEAVY + UI), f"{module} pulled in {sorted(loaded & set(HEAVY + UI))}"



def test_the_shell_loads_no_screen_until_one_is_shown():
    """tui imports no screen module: the registry imports each one when it is first shown."""
    loaded = loaded_after_import("tui.app")
    assert "screens" not in loaded and not loaded & set(HEAVY)
