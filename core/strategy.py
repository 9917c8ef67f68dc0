"""Choosing the device, distribution strategy and batch sizes for a run, as pure logic.

No Keras or TensorFlow here: `plan()` reads an `AcceleratorSpec` and a `Machine` (what
`core.accel.detect()` found, or one written by hand in a test) and says in words what will run
where, or refuses with an `AcceleratorError` naming the problem and what would work.

The batch-size rule (the course's TPU lesson): `fit.batch_size` in the spec is the batch each
replica sees. The global batch, one optimizer step, is that times the number of replicas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import LayerlabError
from .spec import AcceleratorSpec

# The backends for which each strategy has an implementation (see Plan.engine).
_BACKENDS = {
    "mirrored": ("tensorflow", "jax"),
    "tpu": ("tensorflow", "jax"),
    "multi_worker": ("jax",),
}
_POLICIES = {"gpu": "mixed_float16", "tpu": "mixed_bfloat16"}


class AcceleratorError(LayerlabError):
    """An accelerator choice that cannot work on this machine; the message says what would."""


@dataclass(frozen=True)
class Device:
    """One device a backend can train on.

    Attributes:
        kind: "cpu", "gpu" or "tpu".
        name: What the hardware calls itself, e.g. "NVIDIA H100 80GB HBM3" or "TPU v3".
        memory_bytes: Its memory (total, or what the backend may use); None when unknown.
        index: Its number among devices of its kind, as the backend counts them.
    """

    kind: str
    name: str
    memory_bytes: int | None = None
    index: int = 0


@dataclass
class Machine:
    """What this process can train on.

    Attributes:
        backend: The Keras backend in use ("tensorflow", "jax" or "torch").
        backends_installed: Which of tensorflow, jax and torch are importable.
        cpu_name: The processor's model name.
        cpu_cores: Logical cores this process may use.
        devices: Every device found through the backend, CPUs included.
        tf_config: The parsed TF_CONFIG environment variable, or None.
        notes: What detection could not find out, in words.
    """

    backend: str
    backends_installed: list[str] = field(default_factory=list)
    cpu_name: str = "unknown processor"
    cpu_cores: int = 1
    devices: list[Device] = field(default_factory=list)
    tf_config: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Device]:
        return [d for d in self.devices if d.kind == kind]

    @property
    def gpus(self) -> list[Device]:
        return self.of_kind("gpu")

    @property
    def tpus(self) -> list[Device]:
        return self.of_kind("tpu")

    @property
    def workers(self) -> list[str]:
        """Addresses of every worker TF_CONFIG lists, the chief first."""
        cluster = (self.tf_config or {}).get("cluster")
        if not isinstance(cluster, dict):
            return []
        return [str(a) for role in ("chief", "worker") for a in (cluster.get(role) or [])]

    @property
    def worker_index(self) -> int:
        """This process's place in `workers` (0 is the coordinator)."""
        try:
            config = self.tf_config or {}
            task, cluster = config["task"], config["cluster"]
            chiefs = len(cluster.get("chief") or []) if task.get("type") == "worker" else 0
            return int(task.get("index", 0)) + chiefs
        except (TypeError, KeyError, ValueError, AttributeError):  # absent or malformed: alone
            return 0

    def summary_lines(self) -> list[str]:
        """Plain lines for the Device screen and the command line."""
        installed = ", ".join(self.backends_installed) or "none"
        lines = [f"Backend: {self.backend} (installed: {installed})"]
        lines.append(f"CPU: {self.cpu_name}, {_count(self.cpu_cores, 'core')}")
        lines += [f"GPU {d.index}: {d.name}{_memory(d.memory_bytes)}" for d in self.gpus]
        if self.tpus:
            cores, memory = (
                _count(len(self.tpus), "core"),
                _memory(self.tpus[0].memory_bytes, " each"),
            )
            lines.append(f"TPU: {self.tpus[0].name}, {cores}{memory}")
        if not self.gpus and not self.tpus:
            lines.append("No GPU or TPU found: training runs on the CPU.")
        if self.tf_config is not None:
            workers = _count(len(self.workers), "worker")
            lines.append(f"TF_CONFIG: {workers}; this process is worker {self.worker_index}")
        return lines + list(self.notes)


@dataclass
class Plan:
    """How one run will use the machine.

    Attributes:
        backend: The Keras backend the plan was made for.
        device: "cpu", "gpu" or "tpu": where the model's copies live.
        strategy: "none", "mirrored", "tpu" or "multi_worker".
        engine: What implements it: "tf.distribute.MirroredStrategy", "tf.distribute.TPUStrategy",
            "keras.distribution.DataParallel", or "" for a single device.
        replicas: Copies of the model training in step, across all workers.
        per_replica_batch: Examples each replica sees per step (the spec's fit.batch_size).
        global_batch: Examples per optimizer step: per_replica_batch × replicas.
        fit_batch: The batch_size this process passes to model.fit. Equal to global_batch except
            for multi_worker, where each worker feeds its own share (per_replica × its devices).
        policy: The Keras dtype policy: "float32", "mixed_float16" (GPU) or "mixed_bfloat16" (TPU).
        devices: This host's devices that hold a replica.
        workers: Worker addresses for multi_worker (the first is the coordinator), else empty.
        worker_index: This process's place in `workers`.
        reasons: Why, in words, one sentence each.
        warnings: What the user should know before training (nothing here stops it).
    """

    backend: str
    device: str
    strategy: str
    engine: str
    replicas: int
    per_replica_batch: int
    global_batch: int
    fit_batch: int
    policy: str = "float32"
    devices: list[Device] = field(default_factory=list)
    workers: list[str] = field(default_factory=list)
    worker_index: int = 0
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def mixed_precision(self) -> bool:
        return self.policy != "float32"


def plan(accel: AcceleratorSpec, machine: Machine, batch_size: int) -> Plan:
    """Choose device, strategy, replicas, batch sizes and precision for `machine`.

    Args:
        accel: The spec's [accelerator] table.
        machine: What `detect()` found (or a hand-made Machine in tests).
        batch_size: The spec's fit.batch_size, taken as the per-replica batch.

    Raises:
        AcceleratorError: A choice that cannot work here, with the reason and what would.
    """
    if batch_size < 1:
        raise AcceleratorError(f"batch size must be at least 1, got {batch_size}")
    reasons: list[str] = []
    warnings: list[str] = []
    device = _device(accel, machine)
    strategy = _strategy(accel, machine, device, reasons, warnings)
    if device == "auto":
        device = _best_device(machine, strategy)
    local = machine.of_kind(device) or [Device(device, machine.cpu_name)]
    if strategy == "mirrored" and device == "cpu":
        local = _cpu_replicas(accel.replicas, machine)
    if strategy == "none":
        local = local[:1]
        reasons.insert(0, _single_reason(device, local[0], accel))
    workers = machine.workers if strategy == "multi_worker" else []
    replicas = len(local) * max(1, len(workers))
    engine = _engine(strategy, machine.backend)
    if engine:
        noun = "TPU core" if device == "tpu" else device.upper()
        where = f" on each of {len(workers)} workers" if workers else ""
        reasons.append(
            f"{engine}: one copy of the model per {noun} ({len(local)}{where}): {replicas} replicas."
        )
    global_batch = batch_size * replicas
    if replicas > 1:
        reasons.append(
            f"Batch: {batch_size} per replica × {replicas} replicas = {global_batch} per step "
            "(fit.batch_size is per replica; the global batch scales with the replicas)."
        )
    else:
        reasons.append(f"Batch: {batch_size} (one replica, so the global batch is the same).")
    return Plan(
        machine.backend, device, strategy, engine, replicas,
        per_replica_batch=batch_size, global_batch=global_batch, fit_batch=batch_size * len(local),
        policy=_policy(accel, device, reasons, warnings), devices=local, workers=workers,
        worker_index=machine.worker_index if workers else 0, reasons=reasons, warnings=warnings,
    )  # fmt: skip


def _device(accel: AcceleratorSpec, machine: Machine) -> str:
    """The device asked for, refused when the machine has none of that kind."""
    device = accel.device
    if device in ("gpu", "tpu") and not machine.of_kind(device):
        found = [k for k in ("gpu", "tpu") if machine.of_kind(k)]
        choices = " or ".join(repr(c) for c in ["auto", *found, "cpu"])
        raise AcceleratorError(
            f"device {device!r} was chosen but this machine has no {device.upper()} that "
            f"{machine.backend} can use; choose {choices}"
        )
    return device


def _strategy(
    accel: AcceleratorSpec, machine: Machine, device: str, reasons: list[str], warnings: list[str]
) -> str:
    """The strategy asked for, or the best one for 'auto'; refuses what cannot run."""
    strategy, backend, workers = accel.strategy, machine.backend, len(machine.workers)
    if accel.replicas > 1 and (strategy != "mirrored" or device != "cpu"):
        warnings.append(
            f"replicas = {accel.replicas} is ignored: it makes CPU replicas only with device 'cpu' "
            "and strategy 'mirrored'."
        )
    if strategy == "auto":
        return _auto(machine, device, reasons, warnings)
    if strategy != "none" and backend not in _BACKENDS[strategy]:
        needs = " or ".join(_BACKENDS[strategy])
        multi = strategy == "multi_worker"
        why = " (Keras 3 cannot train under MultiWorkerMirroredStrategy)" if multi else ""
        raise AcceleratorError(
            f"strategy {strategy!r} needs the {needs} backend{why}, but Keras "
            f"runs on {backend}; set KERAS_BACKEND={_BACKENDS[strategy][0]}, or choose strategy 'none'"
        )
    if strategy == "mirrored" and device == "cpu":
        _check_cpu_replicas(accel.replicas, machine, reasons, warnings)
    elif strategy in ("mirrored", "tpu"):
        kind = "gpu" if strategy == "mirrored" else "tpu"
        count = len(machine.of_kind(kind))
        if not count:
            raise AcceleratorError(
                f"strategy {strategy!r} was chosen but this machine has no {kind.upper()} that "
                f"{backend} can use; choose strategy {_alternatives(machine)}{_cpu_hint(strategy)}"
            )
        if device not in ("auto", kind):
            raise AcceleratorError(
                f"strategy {strategy!r} runs on {kind.upper()}s, but device is {device!r}; "
                f"choose device {kind!r} or 'auto', or strategy 'none'"
            )
        noun = "GPU" if kind == "gpu" else "TPU core"
        reasons.append(f"Strategy {strategy!r} chosen: {_count(count, noun)} found.")
        if count == 1 and kind == "gpu":
            warnings.append(
                "Mirrored over one GPU is a single replica: it works, no faster than 'none'."
            )
    elif strategy == "multi_worker":
        if workers < 2:
            found = (
                f"TF_CONFIG lists {_count(workers, 'worker')}"
                if machine.tf_config
                else "no TF_CONFIG"
            )
            raise AcceleratorError(
                f"strategy 'multi_worker' needs TF_CONFIG listing two or more workers "
                f"(cluster.worker), but this process has {found}; set TF_CONFIG on every worker, "
                f"or choose strategy {_alternatives(machine)}"
            )
        reasons.append(f"Strategy 'multi_worker' chosen: TF_CONFIG lists {workers} workers.")
    elif machine.tpus and backend == "tensorflow":
        if device == "tpu":
            raise AcceleratorError(
                "device 'tpu' with strategy 'none' cannot work: TensorFlow trains on a TPU only "
                "through the TPU strategy; choose strategy 'tpu' or 'auto'"
            )
        warnings.append(
            "The TPU stays idle: TensorFlow uses it only with strategy 'tpu' or 'auto'."
        )
    return strategy


def _auto(machine: Machine, device: str, reasons: list[str], warnings: list[str]) -> str:
    """'auto': several workers, else every TPU core, else several GPUs, else one device."""
    backend, workers = machine.backend, len(machine.workers)
    if workers > 1 and backend == "jax":
        reasons.append(f"TF_CONFIG lists {workers} workers: they train together as one.")
        return "multi_worker"
    if workers > 1:
        warnings.append(
            f"TF_CONFIG lists {workers} workers, but Keras 3 cannot train under TensorFlow's "
            "MultiWorkerMirroredStrategy: this worker trains alone. Start every worker with "
            "KERAS_BACKEND=jax to train together."
        )
    best = device if device != "auto" else _best_device(machine, "auto")
    count = len(machine.of_kind(best))
    if best == "tpu" and backend in _BACKENDS["tpu"]:
        reasons.append(
            f"{_count(count, 'TPU core')} found: the TPU strategy trains on all of them."
        )
        return "tpu"
    if best == "gpu" and count > 1 and backend in _BACKENDS["mirrored"]:
        reasons.append(f"{count} GPUs found: the mirrored strategy trains on all of them.")
        return "mirrored"
    if best == "gpu" and count > 1:
        warnings.append(
            f"{count} GPUs found, but {backend} trains on one; tensorflow or jax use all."
        )
    return "none"


def _check_cpu_replicas(
    replicas: int, machine: Machine, reasons: list[str], warnings: list[str]
) -> None:
    """Strategy 'mirrored' on device 'cpu': `replicas` logical CPU devices, each with a model copy."""
    if replicas < 2:
        raise AcceleratorError(
            "strategy 'mirrored' on device 'cpu' needs replicas = 2 or more (CPU replicas: logical "
            f"CPU devices, one model copy each); set [accelerator] replicas, or choose strategy {_alternatives(machine)}"
        )
    found = len(machine.of_kind("cpu"))
    if machine.backend == "jax" and found < replicas:
        # JAX fixes its CPU devices when it first lists them, which detect() has done by now.
        raise AcceleratorError(
            f"JAX sees {_count(found, 'CPU device')} and fixed them when it started, so it cannot make "
            f"{replicas} CPU replicas now; start layerlab with "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={replicas}, or choose strategy 'none'"
        )
    reasons.append(
        f"Strategy 'mirrored' on the CPU: {replicas} CPU replicas (logical devices sharing "
        f"{_count(machine.cpu_cores, 'core')}), trained in sync."
    )
    if replicas > machine.cpu_cores:
        warnings.append(
            f"{replicas} replicas share {_count(machine.cpu_cores, 'core')}: each step is slower than one "
            "replica. CPU replicas are for trying the strategy and its global batch, not for speed."
        )


def _cpu_replicas(replicas: int, machine: Machine) -> list[Device]:
    """The logical CPU devices that hold the replicas: JAX's own, else CPU:0 … CPU:N-1 to be made."""
    if machine.backend == "jax":
        return machine.of_kind("cpu")[:replicas]
    return [Device("cpu", machine.cpu_name, None, i) for i in range(replicas)]


def _cpu_hint(strategy: str) -> str:
    return (
        ", or device 'cpu' with replicas = 2 or more for CPU replicas"
        if strategy == "mirrored"
        else ""
    )


def _alternatives(machine: Machine) -> str:
    found = ["'tpu'"] if machine.tpus else ["'mirrored'"] if machine.gpus else []
    return " or ".join(["'auto'", *found, "'none'"])


def _best_device(machine: Machine, strategy: str) -> str:
    """The device 'auto' picks: what the strategy needs, else the fastest usable one."""
    needs = {"mirrored": "gpu", "tpu": "tpu"}.get(strategy)
    if needs:
        return needs
    # TensorFlow reaches a TPU only through its strategy, so 'none' there means a GPU or the CPU.
    if machine.tpus and (strategy != "none" or machine.backend == "jax"):
        return "tpu"
    return "gpu" if machine.gpus else "cpu"


def _engine(strategy: str, backend: str) -> str:
    if strategy == "none":
        return ""
    if backend == "jax":
        return "keras.distribution.DataParallel"
    return (
        "tf.distribute.MirroredStrategy" if strategy == "mirrored" else "tf.distribute.TPUStrategy"
    )


def _single_reason(device: str, chosen: Device, accel: AcceleratorSpec) -> str:
    if accel.device == device:
        return f"Device {device!r} chosen: training runs on {chosen.name}, without a strategy."
    if device == "cpu":
        return "No GPU or TPU in use: training runs on the CPU."
    return f"One {device.upper()} in use ({chosen.name}): training runs on it, without a strategy."


def _policy(accel: AcceleratorSpec, device: str, reasons: list[str], warnings: list[str]) -> str:
    if not accel.mixed_precision:
        return "float32"
    if device == "cpu":
        # Refusing would break every GPU spec opened on a laptop; float32 is what a CPU does best.
        warnings.append(
            "Mixed precision is off on the CPU: it speeds up only GPUs and TPUs (float16 on a CPU "
            "is slower). Training uses float32."
        )
        return "float32"
    policy = _POLICIES[device]
    half = "float16" if device == "gpu" else "bfloat16"
    reasons.append(f"Mixed precision ({policy}): layers compute in {half}, weights stay float32.")
    return policy


def _memory(size: int | None, suffix: str = "") -> str:
    return f", {size / 2**30:.1f} GiB{suffix}" if size else ""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
