"""Finding what this machine can train on, and putting an accelerator Plan into effect.

`detect()` asks the Keras backend in use which CPU, GPUs and TPUs it sees; `plan()` (pure logic,
in core.strategy) turns the spec's [accelerator] table into a Plan; `apply(plan)` is the context
manager that model building, compile and fit run inside. TensorFlow, JAX and torch are imported
only inside the functions that need them, so `from core import accel` costs nothing.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import cluster
from .strategy import AcceleratorError, Device, Machine, Plan, plan

__all__ = ["AcceleratorError", "Device", "Machine", "Plan", "apply", "detect", "plan"]

BACKENDS = ("tensorflow", "jax", "torch")
_TPU_ENV = ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_ACCELERATOR_TYPE")
# One strategy or distribution per process and plan: a model must be fitted under the very
# strategy it was built under, and a TPU system is initialised once (again would wipe it).
_handles: dict[tuple, Any] = {}
_lock = threading.Lock()


def detect(backend: str | None = None) -> Machine:
    """Find the CPU, GPUs and TPUs that a backend can train on.

    Under JAX with a TF_CONFIG listing several workers, this first joins them
    (keras.distribution.initialize), since JAX must know its processes before it lists devices;
    it waits for the other workers, as each of them must.

    Args:
        backend: "tensorflow", "jax" or "torch"; None means the Keras backend in use.

    Raises:
        AcceleratorError: The backend named is not installed, or joining the workers failed.
    """
    backend = backend or _keras_backend()
    installed = [name for name in BACKENDS if _installed(name)]
    if backend in BACKENDS and backend not in installed:
        others = ", ".join(installed) or "none"
        raise AcceleratorError(f"backend {backend!r} is not installed; installed: {others}")
    tf_config, notes = _tf_config()
    machine = Machine(
        backend, installed, _cpu_name(), _cpu_cores(), tf_config=tf_config, notes=notes
    )
    finder = {"tensorflow": _tf_devices, "jax": _jax_devices, "torch": _torch_devices}.get(backend)
    try:
        machine.devices = finder(machine) if finder else []
    except AcceleratorError:
        raise
    except Exception as exc:  # a broken driver must not break the Device screen
        notes.append(f"{backend} could not list its devices ({exc!r}); assuming the CPU only.")
    if not machine.of_kind("cpu"):
        machine.devices.insert(0, Device("cpu", machine.cpu_name))
    return machine


@contextlib.contextmanager
def apply(plan: Plan) -> Iterator[Plan]:
    """Run the enclosed model building, compile and fit as `plan` says.

    Enters the plan's strategy scope (tf.distribute MirroredStrategy or TPUStrategy), its
    keras.distribution DataParallel, or its single device; sets the dtype policy for mixed
    precision. Everything is restored on exit. Use it around building and around fit: the same
    strategy object serves both, as Keras requires. Keras keeps the policy and distribution per
    thread, so a training thread must enter it again.

    Raises:
        AcceleratorError: The plan was made for another backend, or the TPU cannot be reached.
    """
    import keras

    backend = keras.backend.backend()
    if backend != plan.backend:
        raise AcceleratorError(
            f"this plan was made for the {plan.backend} backend, but Keras runs on {backend}; plan again"
        )
    placement = _placement(plan, backend)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(plan.policy)
    try:
        with placement:
            yield plan
    finally:
        keras.config.set_dtype_policy(previous)


# ---------------------------------------------------------------------------------------------
# Detection


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _keras_backend() -> str:
    import keras

    return keras.backend.backend()


def _tf_config() -> tuple[dict[str, Any] | None, list[str]]:
    given = cluster.configured()  # --coordinator/--num-processes/--process-id, said as TF_CONFIG
    if given is not None:
        return given.tf_config(), []
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None, []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, [f"TF_CONFIG is set but is not JSON ({exc}); it is ignored."]
    if not isinstance(value, dict):
        return None, ["TF_CONFIG is set but is not a JSON object; it is ignored."]
    return value, []


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown processor"


def _cpu_cores() -> int:
    """Logical cores this process may run on (a container's CPU set, where there is one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _tf_devices(machine: Machine) -> list[Device]:
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    devices = [Device("cpu", machine.cpu_name, None, i) for i in range(len(cpus))]
    gpus = tf.config.list_physical_devices("GPU")
    # Total memory comes from nvidia-smi: tf.config.experimental.get_memory_info reports only
    # the bytes in use, and calling it starts TensorFlow's runtime, which takes the GPU's memory
    # and freezes the device settings before training has begun.
    sizes = _nvidia_memory() if gpus else {}
    for i, gpu in enumerate(gpus):
        try:
            name = tf.config.experimental.get_device_details(gpu).get("device_name") or gpu.name
        except Exception:
            name = gpu.name
        devices.append(Device("gpu", name, sizes.get(name), i))
    tpus = len(tf.config.list_physical_devices("TPU"))
    if not tpus and _tpu_hinted():
        tpus = _tf_tpu_cores(machine.notes)
    devices += [Device("tpu", _tpu_name(), None, i) for i in range(tpus)]
    return devices


def _tpu_hinted() -> bool:
    """Whether the environment suggests a TPU: its variables, or a TPU VM's device files."""
    if any(os.environ.get(name) for name in _TPU_ENV):
        return True
    return bool(glob.glob("/dev/accel[0-9]*") or glob.glob("/dev/vfio/[0-9]*"))


def _tpu_address() -> str:
    if os.environ.get("TPU_NAME"):
        return os.environ["TPU_NAME"]
    if os.environ.get("COLAB_TPU_ADDR"):
        return "grpc://" + os.environ["COLAB_TPU_ADDR"]
    return "local"


def _tpu_name() -> str:
    kind = os.environ.get("TPU_ACCELERATOR_TYPE", "")
    return f"TPU {kind}" if kind else "TPU"


def _tf_tpu_cores(notes: list[str]) -> int:
    import tensorflow as tf

    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=_tpu_address())
        return int(resolver.num_accelerators().get("TPU", 0))
    except Exception as exc:
        notes.append(
            f"A TPU seems present ({_tpu_address()}) but TensorFlow cannot reach it: {exc}"
        )
        return 0


def _nvidia_memory() -> dict[str, int]:
    """Total memory in bytes by GPU name, from nvidia-smi; empty when it is absent or fails."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return {}
    query = [exe, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]
    try:
        out = subprocess.run(query, capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    sizes: dict[str, int] = {}
    for line in out.splitlines():
        name, _, mib = line.rpartition(",")
        with contextlib.suppress(ValueError):
            sizes.setdefault(name.strip(), int(mib.strip()) * 2**20)
    return sizes


def _jax_devices(machine: Machine) -> list[Device]:
    if len(machine.workers) > 1:
        _join_cluster(machine.workers, machine.worker_index)
    import jax

    local = jax.local_devices()
    if local and local[0].platform != "cpu":
        with contextlib.suppress(RuntimeError):
            local = jax.local_devices(backend="cpu") + local
    sizes = _nvidia_memory() if any(d.platform == "gpu" for d in local) else {}
    devices: list[Device] = []
    for d in local:
        kind = d.platform if d.platform in ("cpu", "tpu") else "gpu"
        name = machine.cpu_name if kind == "cpu" else str(d.device_kind)
        memory = sizes.get(name)
        with contextlib.suppress(Exception):  # JAX's limit: by default 75% of the total
            memory = memory or (d.memory_stats() or {}).get("bytes_limit")
        devices.append(Device(kind, name, memory, sum(x.kind == kind for x in devices)))
    return devices


def _torch_devices(machine: Machine) -> list[Device]:
    import torch

    devices = [Device("cpu", machine.cpu_name)]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            devices.append(Device("gpu", props.name, int(props.total_memory), i))
    return devices


def _join_cluster(workers: list[str], index: int) -> None:
    """Start JAX's multi-process runtime once per process (core.cluster.join)."""
    with _lock:
        if ("cluster",) in _handles:
            return
        cluster.join(cluster.from_workers(workers, index))
        _handles[("cluster",)] = True


# ---------------------------------------------------------------------------------------------
# Applying a plan


def _placement(plan: Plan, backend: str) -> contextlib.AbstractContextManager:
    if plan.strategy != "none":
        return _handle(plan, backend).scope()
    index = plan.devices[0].index if plan.devices else 0
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.device(f"/{plan.device.upper()}:{index}")
    if backend in ("jax", "torch"):
        import keras

        # Plain "cpu": torch copies a tensor from "cpu" to "cpu:0", and the copy loses its gradient.
        return keras.device("cpu" if plan.device == "cpu" else f"{plan.device}:{index}")
    return contextlib.nullcontext()


def _handle(plan: Plan, backend: str) -> Any:
    if backend == "jax" and plan.strategy == "multi_worker":
        _join_cluster(plan.workers, plan.worker_index)
    indices = tuple(d.index for d in plan.devices)
    key = (backend, plan.strategy, plan.device, indices, tuple(plan.workers))
    with _lock:
        if key not in _handles:
            make = _make_tf_strategy if backend == "tensorflow" else _data_parallel
            _handles[key] = make(plan, backend)
        return _handles[key]


def _data_parallel(plan: Plan, backend: str) -> Any:
    if backend != "jax":
        raise AcceleratorError(
            f"strategy {plan.strategy!r} cannot run on {backend}; choose strategy 'none'"
        )
    import keras

    # After the processes have joined these are every process's devices, not only this host's.
    devices = keras.distribution.list_devices(plan.device)
    if (
        not plan.workers
    ):  # one host: the plan's own devices (CPU replicas may be fewer than JAX has)
        devices = devices[: len(plan.devices)]
    # Several processes: each feeds its own shard (core.cluster.shard) as NumPy arrays, which
    # Keras' auto-sharding refuses (it shards only a tf.data.Dataset).
    return keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)


def _make_tf_strategy(plan: Plan, backend: str) -> Any:
    import tensorflow as tf

    if plan.strategy == "mirrored":
        if plan.device == "cpu":
            _logical_cpus(len(plan.devices))
        return tf.distribute.MirroredStrategy(
            [f"/{d.kind.upper()}:{d.index}" for d in plan.devices]
        )
    if plan.strategy == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=_tpu_address())
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            return tf.distribute.TPUStrategy(resolver)
        except Exception as exc:
            raise AcceleratorError(
                f"the TPU at {_tpu_address()!r} cannot be reached: {exc}"
            ) from exc
    raise AcceleratorError(
        f"strategy {plan.strategy!r} cannot run on {backend}; use KERAS_BACKEND=jax"
    )


def _logical_cpus(count: int) -> None:
    """Split TensorFlow's CPU into `count` logical devices, CPU:0 … CPU:count-1.

    TensorFlow fixes its logical devices when its runtime starts (the first tensor, model or
    device listing), and never again in that process. detect() lists physical devices only, which
    does not start it, so a headless run gets here in time; a process that has already computed
    with TensorFlow (the app, after building a model) cannot, and says so.
    """
    if count < 2:
        return  # one CPU device is what TensorFlow makes anyway
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    configured = tf.config.get_logical_device_configuration(cpu) or []
    if len(configured) >= count:
        return  # this process split the CPU already, into enough devices
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count
        )
    except RuntimeError as exc:
        have = len(tf.config.list_logical_devices("CPU"))
        if have >= count:
            return
        raise AcceleratorError(
            f"TensorFlow has started already with {have} CPU device{'' if have == 1 else 's'}, and it "
            f"cannot split the CPU into {count} replicas after it starts ({exc}); train with "
            "`layerlab train` in a new process, or choose strategy 'none'"
        ) from None
