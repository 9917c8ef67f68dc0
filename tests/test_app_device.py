"""The Device screen: this machine's devices, refused choices, and strategies on injected machines."""

from __future__ import annotations

from layerlab.core.strategy import Device, Machine
from layerlab.screens.device import DeviceScreen
from textual.widgets import Checkbox, Input, Select, Static

from tests.conftest_app import make_app, settle, text_of, write_spec


async def open_device(pilot) -> DeviceScreen:
    await settle(pilot)
    await pilot.press("3")
    screen = pilot.app.screen
    assert isinstance(screen, DeviceScreen)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return screen


def shown(screen: DeviceScreen, selector: str) -> str:
    return " ".join(text_of(screen.query_one(selector, Static)).split())


def machine(*devices: Device, backend: str = "tensorflow", tf_config=None) -> Machine:
    cpu = Device("cpu", "Test CPU")
    return Machine(
        backend, ["tensorflow", "jax"], "Test CPU", 8, [cpu, *devices], tf_config=tf_config
    )


async def choose(pilot, screen: DeviceScreen, selector: str, value) -> None:
    screen.query_one(selector).value = value
    await pilot.pause()
    await pilot.pause()


async def test_this_machine_has_no_gpu_and_a_gpu_is_refused(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_device(pilot)
        facts = shown(screen, "#device-machine")
        assert "Backend: tensorflow" in facts and "CPU:" in facts
        assert "No GPU or TPU found: training runs on the CPU." in facts
        plan = shown(screen, "#device-plan")
        assert (
            "device cpu" in plan and "strategy none" in plan and "global batch 32 = 32 × 1" in plan
        )
        before = app.workspace.spec.to_dict()
        await choose(pilot, screen, "#device-device", "gpu")
        refused = shown(screen, "#device-refused")
        assert "Refused: device 'gpu' was chosen but this machine has no GPU" in refused
        assert app.workspace.spec.to_dict() == before
        assert screen.query_one("#device-device", Select).value == "auto"
        # What can work here is taken: the CPU, and mixed precision (off on a CPU, with a warning).
        await choose(pilot, screen, "#device-device", "cpu")
        await choose(pilot, screen, "#device-mixed", True)
        accelerator = app.workspace.spec.accelerator
        assert (accelerator.device, accelerator.mixed_precision) == ("cpu", True)
        assert "Mixed precision is off on the CPU" in shown(screen, "#device-plan")
        assert not screen.query_one("#device-refused").has_class("-shown")


async def test_strategies_and_batch_sizes_on_injected_machines(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_device(pilot)
        gpus = [Device("gpu", "NVIDIA H100", 80 * 2**30, i) for i in range(4)]
        screen.machine = machine(*gpus)
        await pilot.pause()
        assert "GPU 3: NVIDIA H100, 80.0 GiB" in shown(screen, "#device-machine")
        plan = shown(screen, "#device-plan")
        assert "strategy mirrored · tf.distribute.MirroredStrategy" in plan
        assert (
            "replicas 4" in plan
            and "per replica 32 examples" in plan
            and "global batch 128 = 32 × 4" in plan
        )
        await choose(pilot, screen, "#device-strategy", "mirrored")
        assert app.workspace.spec.accelerator.strategy == "mirrored"
        # The per-replica batch is fit.batch_size; the global batch follows it.
        field = screen.query_one("#device-batch", Input)
        field.focus()
        await pilot.press("ctrl+u", *"64", "enter")
        await pilot.pause()
        assert app.workspace.spec.fit.batch_size == 64
        assert "global batch 256 = 64 × 4" in shown(screen, "#device-plan")
        # A TPU VM with 8 cores: the TPU strategy, and mirrored (GPUs) is refused.
        screen.machine = machine(*(Device("tpu", "TPU v3", None, i) for i in range(8)))
        await pilot.pause()
        assert "TPU: TPU v3, 8 cores" in shown(screen, "#device-machine")
        assert "cannot work on this machine" in shown(
            screen, "#device-plan"
        )  # the spec says mirrored
        await choose(pilot, screen, "#device-strategy", "auto")
        plan = shown(screen, "#device-plan")
        assert (
            "strategy tpu · tf.distribute.TPUStrategy" in plan
            and "global batch 512 = 64 × 8" in plan
        )
        mixed = screen.query_one("#device-mixed", Checkbox)
        assert str(mixed.label) == "off"  # not "on", with only the X's colour to tell
        await choose(pilot, screen, "#device-mixed", True)
        assert "mixed_bfloat16 (mixed)" in shown(screen, "#device-plan")
        assert str(mixed.label) == "on"
        await choose(pilot, screen, "#device-device", "gpu")
        assert "no GPU" in shown(screen, "#device-refused")
        assert app.workspace.spec.accelerator.device == "auto"
        assert screen.query_one("#device-mixed", Checkbox).value is True
        # Two workers in TF_CONFIG under JAX: multi_worker, replicas across both hosts.
        cluster = {
            "cluster": {"worker": ["10.0.0.1:1234", "10.0.0.2:1234"]},
            "task": {"type": "worker", "index": 1},
        }
        screen.machine = machine(*gpus[:2], backend="jax", tf_config=cluster)
        await choose(pilot, screen, "#device-mixed", False)
        plan = shown(screen, "#device-plan")
        assert "strategy multi_worker · keras.distribution.DataParallel" in plan
        assert "replicas 4" in plan and "global batch 256 = 64 × 4" in plan
        assert "TF_CONFIG: 2 workers; this process is worker 1" in shown(screen, "#device-machine")
