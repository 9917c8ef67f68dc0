"""`layerlab train` on bad input, in a real subprocess: one line, exit code 2, and no run folder made.

Spec and argument errors are refused before TensorFlow is imported, so these cases are cheap;
the one data error below pays for the import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import ROOT, TINY

RESCALE = TINY.replace("[[layers]]", '[[layers]]\ntype = "Rescaling"\nscale = inf\n\n[[layers]]', 1)
DENSE = '[[layers]]\ntype = "Dense"\nunits = 2\n'

# (what the spec file holds, the flags, what stderr's one line says)
SPEC_CASES = {
    "nan learning rate": (
        TINY + "[compile]\nlearning_rate = nan\n",
        [],
        "tiny.toml: compile.learning_rate: nan is not allowed: expected a finite number > 0 and <= 10",
    ),
    "nan validation fraction": (
        TINY.replace('name = "iris"', 'name = "iris"\nvalid_fraction = nan'),
        [],
        "tiny.toml: data.valid_fraction: nan is not allowed: expected a finite number >= 0 and <= 0.9",
    ),
    "nan min_delta": (
        TINY + "[fit.early_stopping]\nmin_delta = nan\n",
        [],
        "tiny.toml: fit.early_stopping.min_delta: nan is not allowed: expected a finite number >= 0",
    ),
    "infinite Rescaling scale": (
        RESCALE,
        [],
        "tiny.toml: layers[0].scale: inf is not a finite number: expected a number",
    ),
    "20,000 layers": (
        'name = "deep"\n[data]\nname = "iris"\n' + DENSE * 20_000,
        [],
        "tiny.toml: layers: 20,000 layers are too many: a stack takes at most 200",
    ),
    "5,000-deep array": (
        "x = " + "[" * 5000 + "]" * 5000 + "\n",
        [],
        "tiny.toml: nests arrays or tables hundreds of levels deep",
    ),
    "two MiB of comments": (
        TINY + "#" * (2 << 20) + "\n",
        [],
        "tiny.toml: is 2.0 MiB; a spec file is at most 1 MiB of TOML",
    ),
    "seed beyond 32 bits": (
        TINY,
        ["--seed", str(2**32)],
        "argument --seed: expected a whole number from 0 to 4,294,967,295, got 4294967296",
    ),
    "epochs beyond the spec's cap": (
        TINY,
        ["--epochs", "100001"],
        "argument --epochs: expected a whole number from 1 to 100,000, got 100001",
    ),
}


def layerlab(*args: str, timeout: float = 240):
    """`layerlab ARGS` in a fresh interpreter; a refusal that hangs fails after `timeout` seconds."""
    return subprocess.run(
        [sys.executable, "-m", "layerlab", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_refused(done, runs: Path, says: str) -> None:
    """Exit 2, one line on stderr that says `says`, nothing on stdout, no run folder, no stray log."""
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("layerlab: ") and says in lines[0]
    assert not runs.exists() or list(runs.iterdir()) == []


@pytest.mark.parametrize("case", SPEC_CASES)
def test_bad_spec_or_flag_is_one_line_and_exit_2(tmp_path, case):
    text, flags, says = SPEC_CASES[case]
    spec = tmp_path / "tiny.toml"
    spec.write_text(text, encoding="utf-8")
    runs = tmp_path / "r"
    done = layerlab("train", str(spec), *flags, "--runs-dir", str(runs))
    assert_refused(done, runs, says.replace("tiny.toml", str(spec)))


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_spec_that_is_not_a_regular_file_is_refused_at_once(tmp_path, kind):
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes here")
        path = tmp_path / "tiny.toml"
        os.mkfifo(path)
        says = "is a named pipe, not a file"
    else:
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero here")
        path, says = Path("/dev/zero"), "/dev/zero: is a device, not a file"
    runs = tmp_path / "r"
    done = layerlab("train", str(path), "--runs-dir", str(runs), timeout=60)
    assert_refused(done, runs, says)


def test_a_data_error_found_after_the_import_leaves_no_run_folder_or_log(tmp_path):
    csv = tmp_path / "huge.csv"
    csv.write_text(
        "a,b,y\n" + "".join(f"{i},{1e300 if i == 3 else i * 0.5},{i % 2}\n" for i in range(30))
    )
    spec = tmp_path / "tiny.toml"
    spec.write_text(
        TINY.replace('name = "iris"', 'path = "huge.csv"\ntarget = "y"').replace(
            "units = 3", "units = 2"
        )
    )
    runs = tmp_path / "r"
    done = layerlab("train", str(spec), "--runs-dir", str(runs))
    assert_refused(done, runs, "column 'b' has 1 value(s) beyond ±3.4e38")
