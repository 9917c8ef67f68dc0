"""The accelerator: detection on this machine, plans for hand-made machines, apply() around a fit."""

import dataclasses
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from layerlab.core import accel
from layerlab.core.accel import AcceleratorError, Device, Machine, apply, detect, plan
from layerlab.core.spec import AcceleratorSpec

TWO_WORKERS = {
    "cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
    "task": {"type": "worker", "index": 1},
}


def machine(gpus=0, tpus=0, backend="tensorflow", tf_config=None):
    devices = [Device("cpu", "Test CPU")]
    devices += [Device("gpu", "NVIDIA A100", 40 * 2**30, i) for i in range(gpus)]
    devices += [Device("tpu", "TPU v3", None, i) for i in range(tpus)]
    return Machine(backend, [backend], "Test CPU", 2, devices, tf_config)


def choose(device="auto", strategy="auto", mixed_precision=False, replicas=1):
    return AcceleratorSpec(device, strategy, mixed_precision, replicas)


@pytest.fixture
def no_tpu_env(monkeypatch):
    for name in accel._TPU_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TF_CONFIG", raising=False)


# -- detection --------------------------------------------------------------------------------


def test_importing_accel_loads_neither_keras_nor_tensorflow():
    heavy = "{'keras', 'tensorflow', 'jax', 'torch'}"
    code = f"import sys; from core import accel; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_detect_this_cpu_only_machine(no_tpu_env):
    found = detect()
    assert found.backend == "tensorflow"
    assert "tensorflow" in found.backends_installed
    assert found.of_kind("cpu") and not found.gpus and not found.tpus
    assert found.cpu_cores >= 1 and found.cpu_name
    assert found.tf_config is None
    lines = found.summary_lines()
    assert any(line.startswith("CPU: ") and "core" in line for line in lines)
    assert "No GPU or TPU found: training runs on the CPU." in lines


def test_detect_does_not_ask_for_a_tpu_without_a_hint(no_tpu_env, monkeypatch):
    import tensorflow as tf

    def refuse(*args, **kwargs):
        raise AssertionError("TPUClusterResolver called on a machine with no sign of a TPU")

    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", refuse)
    assert not detect().tpus


def test_detect_finds_tpu_cores_through_the_resolver_when_hinted(no_tpu_env, monkeypatch):
    import tensorflow as tf

    class Resolver:
        def __init__(self, tpu=None):
            assert tpu == "my-tpu"

        def num_accelerators(self):
            return {"TPU": 8}

    monkeypatch.setenv("TPU_NAME", "my-tpu")
    monkeypatch.setenv("TPU_ACCELERATOR_TYPE", "v3-8")
    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", Resolver)
    found = detect()
    assert [d.name for d in found.tpus] == ["TPU v3-8"] * 8
    assert "TPU: TPU v3-8, 8 cores" in found.summary_lines()


def test_an_unreachable_tpu_is_a_note_not_a_crash(no_tpu_env, monkeypatch):
    import tensorflow as tf

    def unreachable(tpu=None):
        raise ValueError("no TPU answered")

    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.9:8470")
    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", unreachable)
    found = detect()
    assert not found.tpus
    assert any("grpc://10.0.0.9:8470" in note and "no TPU answered" in note for note in found.notes)


def test_detect_reads_tf_config(no_tpu_env, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps(TWO_WORKERS))
    found = detect()
    assert found.workers == TWO_WORKERS["cluster"]["worker"] and found.worker_index == 1
    monkeypatch.setenv("TF_CONFIG", "{not json")
    found = detect()
    assert found.tf_config is None and any("not JSON" in note for note in found.notes)


def test_detect_refuses_a_backend_that_is_not_installed():
    missing = next((b for b in accel.BACKENDS if b not in detect().backends_installed), None)
    if missing is None:
        pytest.skip("every backend is installed here")
    with pytest.raises(AcceleratorError, match="not installed"):
        detect(missing)


# -- plans ------------------------------------------------------------------------------------


def test_auto_on_cpu_only():
    p = plan(choose(), machine(), 32)
    assert (p.device, p.strategy, p.engine, p.replicas) == ("cpu", "none", "", 1)
    assert p.per_replica_batch == p.global_batch == p.fit_batch == 32
    assert p.policy == "float32" and not p.mixed_precision
    assert "No GPU or TPU in use: training runs on the CPU." in p.reasons


def test_auto_on_one_gpu_trains_on_it_without_a_strategy():
    p = plan(choose(mixed_precision=True), machine(gpus=1), 64)
    assert (p.device, p.strategy, p.replicas, p.global_batch) == ("gpu", "none", 1, 64)
    assert p.policy == "mixed_float16"
    assert any("NVIDIA A100" in r for r in p.reasons)


def test_auto_on_four_gpus_mirrors_and_scales_the_batch():
    p = plan(choose(), machine(gpus=4), 64)
    assert (p.device, p.strategy, p.engine) == ("gpu", "mirrored", "tf.distribute.MirroredStrategy")
    assert p.replicas == 4 and len(p.devices) == 4
    assert (p.per_replica_batch, p.global_batch, p.fit_batch) == (64, 256, 256)
    assert any("64 per replica × 4 replicas = 256" in r for r in p.reasons)


def test_auto_on_a_tpu_v3_8():
    p = plan(choose(mixed_precision=True), machine(tpus=8), 128)
    assert (p.device, p.strategy, p.engine) == ("tpu", "tpu", "tf.distribute.TPUStrategy")
    assert (p.replicas, p.global_batch) == (8, 1024)
    assert p.policy == "mixed_bfloat16"


def test_tf_config_with_two_workers_trains_them_together_under_jax():
    p = plan(choose(), machine(gpus=1, backend="jax", tf_config=TWO_WORKERS), 32)
    assert (p.strategy, p.device, p.engine) == (
        "multi_worker",
        "gpu",
        "keras.distribution.DataParallel",
    )
    assert (p.replicas, p.global_batch, p.fit_batch) == (2, 64, 32)
    assert p.workers == TWO_WORKERS["cluster"]["worker"] and p.worker_index == 1
    assert (
        plan(
            choose(strategy="multi_worker"), machine(backend="jax", tf_config=TWO_WORKERS), 8
        ).replicas
        == 2
    )


def test_tf_config_under_tensorflow_trains_alone_and_says_why():
    p = plan(choose(), machine(tf_config=TWO_WORKERS), 32)
    assert p.strategy == "none" and p.replicas == 1
    assert any("KERAS_BACKEND=jax" in w for w in p.warnings)


def test_mirrored_under_jax_is_data_parallel_over_the_gpus():
    p = plan(choose(strategy="mirrored"), machine(gpus=2, backend="jax"), 16)
    assert (p.engine, p.replicas, p.global_batch) == ("keras.distribution.DataParallel", 2, 32)


def test_mirrored_on_one_gpu_works_with_a_warning():
    p = plan(choose(strategy="mirrored"), machine(gpus=1), 16)
    assert (p.strategy, p.replicas) == ("mirrored", 1)
    assert any("no faster" in w for w in p.warnings)


def test_cpu_replicas_mirror_over_logical_cpus_and_scale_the_batch():
    p = plan(choose(device="cpu", strategy="mirrored", replicas=2), machine(), 16)
    assert (p.engine, p.device, p.replicas, p.global_batch, p.fit_batch) == (
        "tf.distribute.MirroredStrategy",
        "cpu",
        2,
        32,
        32,
    )
    assert [d.index for d in p.devices] == [0, 1]
    assert any("2 CPU replicas" in r for r in p.reasons)
    assert any("16 per replica × 2 replicas = 32" in r for r in p.reasons)
    assert not p.warnings


def test_more_cpu_replicas_than_cores_warn_that_they_are_not_for_speed():
    p = plan(choose(device="cpu", strategy="mirrored", replicas=8), machine(), 16)
    assert (p.replicas, p.global_batch) == (8, 128)
    assert any("not for speed" in w for w in p.warnings)


def test_cpu_replicas_under_jax_use_the_cpu_devices_jax_was_started_with():
    found = machine(backend="jax")
    found.devices += [Device("cpu", "Test CPU", None, i) for i in (1, 2, 3)]
    p = plan(choose(device="cpu", strategy="mirrored", replicas=2), found, 16)
    assert (p.engine, p.replicas, [d.index for d in p.devices]) == (
        "keras.distribution.DataParallel",
        2,
        [0, 1],
    )


def test_replicas_without_mirrored_on_the_cpu_are_ignored_with_a_warning():
    p = plan(choose(device="cpu", replicas=4), machine(), 16)
    assert (p.strategy, p.replicas, p.global_batch) == ("none", 1, 16)
    assert any("replicas = 4 is ignored" in w for w in p.warnings)


def test_mixed_precision_on_the_cpu_stays_float32_with_a_warning():
    p = plan(choose(mixed_precision=True), machine(), 16)
    assert p.policy == "float32"
    assert any("Mixed precision is off on the CPU" in w for w in p.warnings)


NEEDS_TF = "needs the tensorflow or jax backend"


@pytest.mark.parametrize(
    "spec, found, words",
    [
        (
            choose(device="gpu"),
            machine(),
            ["device 'gpu' was chosen", "no GPU", "choose 'auto' or 'cpu'"],
        ),
        (choose(device="tpu"), machine(gpus=2), ["device 'tpu'", "no TPU", "'gpu'"]),
        (choose(strategy="tpu"), machine(gpus=2), ["strategy 'tpu'", "no TPU", "'mirrored'"]),
        (
            choose(strategy="mirrored"),
            machine(),
            ["no GPU", "'none'", "device 'cpu' with replicas = 2 or more"],
        ),
        (
            choose(device="cpu", strategy="mirrored"),
            machine(),
            ["needs replicas = 2 or more", "strategy 'auto' or 'none'"],
        ),
        (
            choose(device="cpu", strategy="mirrored", replicas=2),
            machine(backend="jax"),
            [
                "JAX sees 1 CPU device",
                "XLA_FLAGS=--xla_force_host_platform_device_count=2",
                "'none'",
            ],
        ),
        (
            choose(device="cpu", strategy="mirrored", replicas=2),
            machine(backend="torch"),
            [NEEDS_TF],
        ),
        (
            choose(strategy="mirrored"),
            machine(gpus=2, backend="torch"),
            [NEEDS_TF, "KERAS_BACKEND=tensorflow"],
        ),
        (choose(strategy="tpu"), machine(tpus=8, backend="torch"), [NEEDS_TF, "'none'"]),
        (
            choose(strategy="multi_worker"),
            machine(tf_config=TWO_WORKERS),
            ["MultiWorkerMirroredStrategy", "KERAS_BACKEND=jax"],
        ),
        (
            choose(strategy="multi_worker"),
            machine(backend="jax"),
            ["no TF_CONFIG", "set TF_CONFIG", "'none'"],
        ),
        (
            choose(device="cpu", strategy="mirrored"),
            machine(gpus=2),
            ["needs replicas = 2 or more", "'mirrored'"],
        ),
        (
            choose(device="tpu", strategy="none"),
            machine(tpus=8),
            ["only through the TPU strategy", "'tpu' or 'auto'"],
        ),
    ],
)
def test_refusals_name_the_problem_and_what_would_work(spec, found, words):
    with pytest.raises(AcceleratorError) as caught:
        plan(spec, found, 32)
    assert isinstance(caught.value, ValueError)
    for word in words:
        assert word in str(caught.value)


def test_a_batch_below_one_is_refused():
    with pytest.raises(AcceleratorError, match="at least 1"):
        plan(choose(), machine(), 0)


# -- applying a plan --------------------------------------------------------------------------


def fit_one_epoch(p):
    """Build and compile in one apply(), fit in another, as the training session does."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    with apply(p):
        layers = [
            keras.Input((3,)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(1),
        ]
        model = keras.Sequential(layers)
        model.compile(optimizer="adam", loss="mse")
    with apply(p):
        history = model.fit(x, y, batch_size=p.fit_batch, epochs=1, verbose=0)
    return model, history


def test_apply_trains_on_this_cpu(no_tpu_env):
    p = plan(choose(device="cpu"), detect(), 16)
    _, history = fit_one_epoch(p)
    assert np.isfinite(history.history["loss"][0])


def test_apply_sets_the_policy_and_restores_it():
    p = dataclasses.replace(plan(choose(device="cpu"), machine(), 16), policy="mixed_bfloat16")
    before = keras.config.dtype_policy().name
    model, _ = fit_one_epoch(p)
    assert model.layers[0].dtype_policy.name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == before == "float32"
    with pytest.raises(RuntimeError), apply(p):
        raise RuntimeError("training failed")
    assert keras.config.dtype_policy().name == "float32"


def test_apply_mirrored_uses_one_strategy_for_building_and_fitting():
    # MirroredStrategy over the CPU stands in for GPUs: the same code path, one replica.
    p = dataclasses.replace(plan(choose(device="cpu"), machine(), 16), strategy="mirrored")
    model, history = fit_one_epoch(p)
    assert type(model.distribute_strategy).__name__ == "MirroredStrategy"
    assert np.isfinite(history.history["loss"][0])


def test_apply_refuses_a_plan_made_for_another_backend():
    p = plan(choose(), machine(backend="jax"), 16)
    with pytest.raises(AcceleratorError, match="made for the jax backend"), apply(p):
        pass


# -- CPU replicas, for real: TensorFlow and JAX fix their CPU devices when they start: fresh processes
# iris is 105 + 45 examples: JAX's DataParallel needs every batch, the last included, to split
# evenly over the devices, so the session drops a row of each (TensorFlow takes uneven batches).

REPLICAS_RUN = r"""
import json, sys
import keras
from layerlab.core import accel, spec as specs
from layerlab.core.session import TrainingSession
spec = specs.loads('name = "mirror"\n[data]\nname = "iris"\n[[layers]]\ntype = "Dense"\nunits = 8\nactivation = "relu"\n'
    '[[layers]]\ntype = "Dense"\nunits = 3\nactivation = "softmax"\n[fit]\nbatch_size = 16\nepochs = 2\n'
    '[accelerator]\ndevice = "cpu"\nstrategy = "mirrored"\nreplicas = 2\n')
session = TrainingSession(spec, runs_dir=sys.argv[1], write_run=sys.argv[2] == "write")
seen = []
session.subscribe(seen.append)
done = session.run()
p = session.prep.plan
with accel.apply(p):
    if keras.backend.backend() == "tensorflow":
        in_sync = session.prep.model.distribute_strategy.num_replicas_in_sync
    else:
        in_sync = keras.distribution.distribution().device_mesh.devices.size
started = next(e for e in seen if e.event == "run_started")
out = {"reason": getattr(done, "reason", None) or repr(done), "replicas": p.replicas, "global_batch": p.global_batch,
       "in_sync": in_sync, "batch_size": started.spec["batch_size"], "steps": started.steps_per_epoch,
       "train": started.train_samples, "reasons": p.reasons, "tensorflow": "tensorflow" in sys.modules}
try:
    with accel.apply(accel.plan(specs.AcceleratorSpec("cpu", "mirrored", False, 4), accel.detect(), 16)):
        pass
except accel.AcceleratorError as exc:
    out["refused"] = str(exc)
print(json.dumps(out))
"""


def train_two_replicas(tmp_path, backend, write_run=True, **env):
    clean = {
        k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "XLA_FLAGS", *accel._TPU_ENV)
    }
    env = {**clean, "KERAS_BACKEND": backend, **env}
    done = subprocess.run(
        [sys.executable, "-c", REPLICAS_RUN, str(tmp_path), "write" if write_run else "-"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["reason"] == "completed"
    assert (out["replicas"], out["in_sync"], out["global_batch"]) == (2, 2, 32)
    assert any("16 per replica × 2 replicas = 32" in r for r in out["reasons"])
    # The run's events: batch_size 16 per replica, and an epoch's steps at the global batch of 32.
    assert out["batch_size"] == 16 and out["steps"] == -(-out["train"] // 32) < -(
        -out["train"] // 16
    )
    if write_run:
        (run_dir,) = tmp_path.iterdir()
        assert (run_dir / "model.keras").is_file()
    return out


def test_mirrored_over_two_cpu_replicas_trains_in_sync(tmp_path):
    out = train_two_replicas(tmp_path, "tensorflow")
    # A second split once TensorFlow runs is refused in words, not by a TensorFlow traceback.
    assert "started already with 2 CPU devices" in out["refused"]


def test_cpu_replicas_train_on_jax_started_with_two_cpu_devices(tmp_path):
    pytest.importorskip(
        "jax", reason="jax is in the test extra; install it to test the JAX backend"
    )
    out = train_two_replicas(tmp_path, "jax", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    assert out["train"] == 104  # 105 rows: the last one would leave a batch of 9 for 2 devices
    assert "XLA_FLAGS=--xla_force_host_platform_device_count=4" in out["refused"]
    assert out["tensorflow"] is False
