"""Every Keras backend trains, and a JAX run never loads TensorFlow (3 s and ~460 MiB a process)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("jax", reason="jax is in the test extra; install it to test the JAX backend")

FULL_RUN = r"""
import sys
from layerlab.core import spec as specs
from layerlab.core.session import TrainingSession
import keras
spec = specs.loads('name = "x"\n[data]\nname = "iris"\n[[layers]]\ntype = "Dense"\nunits = 3\nactivation = "softmax"\n[fit]\nepochs = 3\n[fit.early_stopping]\npatience = 2\n')
done = TrainingSession(spec, runs_dir=sys.argv[1]).run()
model = keras.saving.load_model(done.run_dir + "/model.keras", safe_mode=True)
print(keras.backend.backend(), done.reason, "tensorflow" in sys.modules)
"""


def test_a_full_jax_run_imports_no_tensorflow(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run([sys.executable, "-c", FULL_RUN, str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["jax", "completed", "False"]


def test_layerlab_train_on_jax_imports_no_tensorflow(tmp_path):
    spec = tmp_path / "x.toml"
    spec.write_text('[data]\nname = "breast_cancer"\n[[layers]]\ntype = "Dense"\nunits = 1\nactivation = "sigmoid"\n[fit]\nepochs = 2\n')
    probe = "import runpy, sys; sys.argv = ['layerlab'] + sys.argv[1:]\ntry:\n    runpy.run_module('layerlab', run_name='__main__')\nfinally:\n    print(json.dumps({'tensorflow': 'tensorflow' in sys.modules}), file=sys.__stdout__)"
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run(
        [sys.executable, "-c", "import json\n" + probe, "train", str(spec), "--json", "--runs-dir", str(tmp_path / "r")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr[-3000:]
    assert lines[-2]["event"] == "finished"
    assert lines[-1] == {"tensorflow": False}
