"""The package as users install it: a wheel in a fresh virtual environment, used from an empty folder."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment with layerlab's wheel; its dependencies are the test
    environment's, reached through a path entry (no download, and no editable install in sight)."""
    tmp = tmp_path_factory.mktemp("wheel")
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(tmp / "dist"),
        str(ROOT),
    ]
    subprocess.run(build, check=True, capture_output=True, timeout=300)
    [wheel] = (tmp / "dist").glob("layerlab-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # A plain path line: the test environment's packages, without running its .pth files (the
    # editable install of this checkout among them).
    (site / "_test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return env_dir


def run(env_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}:{env['PATH']}"
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_wheel_installs_one_top_level_package(installed):
    site = Path(
        run(
            installed,
            "python",
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            cwd=installed,
        ).stdout.strip()
    )
    ours = sorted(
        p.name
        for p in site.iterdir()
        if p.name not in ("_test_environment.pth",) and not p.name.startswith("_virtualenv")
    )
    assert [name for name in ours if not name.endswith(".dist-info")] == ["layerlab"]
    assert sorted(
        p.name for p in (site / "layerlab").iterdir() if p.is_dir() and p.name != "__pycache__"
    ) == ["core", "examples", "screens", "tui"]


def test_a_new_user_runs_an_example_from_an_empty_folder(installed, tmp_path):
    version = run(installed, "layerlab", "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("layerlab ")
    listed = run(installed, "layerlab", "examples", cwd=tmp_path)
    assert (
        listed.returncode == 0 and "red_wine" in listed.stdout and str(installed) in listed.stdout
    )
    copied = run(installed, "layerlab", "example", "red_wine", ".", cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["red-wine.csv", "red_wine.toml"]
    trained = run(
        installed, "layerlab", "train", "red_wine.toml", "--epochs", "2", "--json", cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr
    assert '"event": "finished"' in trained.stdout.splitlines()[-1]
    by_name = run(
        installed, "python", "-m", "layerlab", "train", "linear_unit", "--epochs", "1", cwd=tmp_path
    )
    assert by_name.returncode == 0 and "why it stopped" in by_name.stdout, by_name.stderr
    light = run(
        installed,
        "python",
        "-c",
        "import sys, layerlab; layerlab.TrainingSession; print(layerlab.__file__)",
        cwd=tmp_path,
    )
    assert light.returncode == 0 and str(installed) in light.stdout
