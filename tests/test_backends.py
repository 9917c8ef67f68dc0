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
    done = subprocess.run(
        [sys.executable, "-c", FULL_RUN, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["jax", "completed", "False"]


def test_layerlab_train_on_jax_imports_no_tensorflow(tmp_path):
    spec = tmp_path / "x.toml"
    spec.write_text(
        '[data]\nname = "breast_cancer"\n[[layers]]\ntype = "Dense"\nunits = 1\nactivation = "sigmoid"\n[fit]\nepochs = 2\n'
    )
    probe = "import runpy, sys; sys.argv = ['layerlab'] + sys.argv[1:]\ntry:\n    runpy.run_module('layerlab', run_name='__main__')\nfinally:\n    print(json.dumps({'tensorflow': 'tensorflow' in sys.modules}), file=sys.__stdout__)"
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json\n" + probe,
            "train",
            str(spec),
            "--json",
            "--runs-dir",
            str(tmp_path / "r"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr[-3000:]
    assert lines[-2]["event"] == "finished"
    assert lines[-1] == {"tensorflow": False}


EVERY_EXAMPLE = r"""
import json, sys, time
from layerlab.core import spec as specs
from layerlab.core.examples import list_examples
from layerlab.core.session import TrainingSession
import keras
results = {}
for example in list_examples():
    started = time.perf_counter()
    spec = specs.load(example.path)
    spec.fit.epochs = 2
    done = TrainingSession(spec, runs_dir=sys.argv[1]).run()
    results[example.name] = {"reason": getattr(done, "reason", None) or repr(done), "epochs": getattr(done, "epochs_run", 0),
                             "seconds": round(time.perf_counter() - started, 2)}
print(json.dumps({"backend": keras.backend.backend(), "tensorflow": "tensorflow" in sys.modules, "results": results}))
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_example_trains_without_tensorflow(backend, tmp_path):
    """Each example spec, with its data, trains 2 epochs; one process per backend pays its start once."""
    if backend == "torch":
        pytest.importorskip(
            "torch",
            reason="torch is not installed: the examples are not tried on the torch backend",
        )
    from layerlab.core.examples import list_examples

    names = [example.name for example in list_examples()]
    assert len(names) >= 7, names
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run(
        [sys.executable, "-c", EVERY_EXAMPLE, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["backend"] == backend
    assert out["tensorflow"] is False, "a run on this backend imported TensorFlow"
    assert sorted(out["results"]) == sorted(names)
    for name, result in out["results"].items():
        assert (result["reason"], result["epochs"]) == ("completed", 2), f"{name}: {result}"
    assert len(list(tmp_path.iterdir())) == len(names)


WITHOUT_TENSORFLOW = r"""
import runpy, sys

class NoTensorFlow:
    '''As if TensorFlow were not installed: the JAX-only GPU or TPU machine.'''

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NoTensorFlow())
sys.argv = ["layerlab", *sys.argv[1:]]
runpy.run_module("layerlab", run_name="__main__")
"""


def test_without_tensorflow_installed_layerlab_trains_on_the_backend_there_is(tmp_path):
    spec = tmp_path / "x.toml"
    spec.write_text(
        '[data]\nname = "iris"\n[[layers]]\ntype = "Dense"\nunits = 3\nactivation = "softmax"\n[fit]\nepochs = 2\n'
    )
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            WITHOUT_TENSORFLOW,
            "train",
            str(spec),
            "--json",
            "--runs-dir",
            str(tmp_path / "r"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    finished = json.loads(done.stdout.splitlines()[-1])
    assert finished["event"] == "finished" and finished["epochs_run"] == 2
    provenance = json.loads((Path(finished["run_dir"]) / "provenance.json").read_text())
    assert provenance["backend"] == "jax"
