"""Run import-linter's contracts (pyproject.toml) on the installed layout of the packages.

The repository keeps core/, tui/ and screens/ at its top level and the distribution maps them to
layerlab.core, layerlab.tui and layerlab.screens. import-linter reads a package's files from its
folder, so it cannot follow that mapping: this copies the sources into a throw-away layerlab/
tree, as a wheel lays them out, and lints that.

    python -m tests.import_contracts
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYOUT = {
    "layerlab": "layerlab",
    "layerlab/core": "core",
    "layerlab/tui": "tui",
    "layerlab/screens": "screens",
}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="layerlab-contracts-") as tmp:
        for target, source in LAYOUT.items():
            shutil.copytree(
                ROOT / source,
                Path(tmp) / target,
                ignore=shutil.ignore_patterns("__pycache__"),
                dirs_exist_ok=True,
            )
        lint = Path(sys.executable).with_name("lint-imports")
        command = [
            str(lint) if lint.exists() else "lint-imports",
            str(ROOT / "pyproject.toml"),
            "--no-cache",
        ]
        return subprocess.run(command, cwd=tmp).returncode


if __name__ == "__main__":
    sys.exit(main())
