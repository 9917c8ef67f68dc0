"""The Device screen: what this machine can train on, and how a run will use it.

The course's TPU lesson in one place: the device, the distribution strategy, the number of
replicas, and the batch each replica sees beside the global batch of one optimizer step.
Detection (core.accel.detect) runs in a thread worker; the plan (core.strategy.plan) is pure
logic, so a choice is checked before it reaches the spec, and one that cannot work here is
refused with its reason while the spec keeps its accelerator.
"""

from __future__ import annotations

import copy
from typing import Any

from layerlab.core import spec as specs
from layerlab.core.errors import log_failure
from layerlab.core.spec import DEVICES, STRATEGIES, AcceleratorSpec, Spec
from layerlab.core.strategy import AcceleratorError, Machine, Plan, plan
from layerlab.tui.screen import ShellScreen
from layerlab.tui.widgets.switch import OnOff
from layerlab.tui.workspace import Change
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Checkbox, Input, Label, Select, Static

STRATEGY_WORDS = {
    "none": "none: one device",
    "mirrored": "mirrored: one copy of the model per GPU",
    "tpu": "tpu: one copy per TPU core",
    "multi_worker": "multi_worker: several hosts (TF_CONFIG)",
}
BATCH_HELP = (
    "fit.batch_size is the batch each replica sees; one optimizer step takes it from every "
    "replica, so the global batch is that × the replicas (the TPU lesson scales it this way)."
)


def machine_text(machine: Machine | None, error: str | None = None) -> Text:
    """What the machine has, one fact a line; 'no GPU or TPU' stands out."""
    if machine is None:
        return Text(
            error or "looking for the CPU, GPUs and TPUs…", style="bold red" if error else "italic"
        )
    text = Text()
    for line in machine.summary_lines():
        style = "bold yellow" if line.startswith("No GPU or TPU") else ""
        text.append(line + "\n", style=style)
    text.rstrip()
    return text


def plan_table(chosen: Plan) -> Group:
    """The plan in words: device, strategy, replicas, batch sizes, precision, then why, and warnings."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    on_devices = ", ".join(sorted({d.name for d in chosen.devices})) or chosen.device
    grid.add_row("device", f"{chosen.device} ({on_devices})")
    grid.add_row("strategy", chosen.strategy + (f" · {chosen.engine}" if chosen.engine else ""))
    grid.add_row("replicas", str(chosen.replicas))
    grid.add_row("per replica", f"{chosen.per_replica_batch} examples per step")
    grid.add_row(
        "global batch", f"{chosen.global_batch} = {chosen.per_replica_batch} × {chosen.replicas}"
    )
    grid.add_row("precision", chosen.policy + (" (mixed)" if chosen.mixed_precision else ""))
    why = Text()
    for reason in chosen.reasons:
        why.append(f"\n• {reason}")
    for warning in chosen.warnings:
        why.append(f"\n⚠ {warning}", style="yellow")
    return Group(grid, why)


class DeviceScreen(ShellScreen):
    """The machine's devices, the accelerator choice, and the plan that follows from them."""

    MODE = "device"
    TITLE = "Device"
    BINDINGS = [
        Binding("f5", "detect", "Detect again", tooltip="Look for the CPU, GPUs and TPUs again")
    ]

    machine: reactive[Machine | None] = reactive(None, init=False, always_update=True)
    """What core.accel.detect() found (tests may set their own); None while detecting."""

    class Detected(Message):
        """Detection finished, or failed (from the detection worker)."""

        def __init__(self, machine: Machine | None, error: str | None) -> None:
            super().__init__()
            self.machine, self.error = machine, error

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="device-main"):
            with VerticalScroll(id="device-left"):
                yield Static(machine_text(None), id="device-machine")
                yield Static("", id="device-plan")
            with Vertical(id="device-choices"):
                yield from self._row(
                    "device",
                    Select(
                        [(d, d) for d in DEVICES],
                        allow_blank=False,
                        compact=True,
                        id="device-device",
                    ),
                )
                yield from self._row(
                    "strategy",
                    Select(
                        [(STRATEGY_WORDS.get(s, s), s) for s in STRATEGIES],
                        allow_blank=False,
                        compact=True,
                        id="device-strategy",
                    ),
                )
                yield from self._row(
                    "mixed precision",
                    OnOff(
                        compact=True,
                        id="device-mixed",
                        tooltip="float16 on GPUs, bfloat16 on TPUs; weights stay float32",
                    ),
                )
                yield from self._row(
                    "batch / replica",
                    Input(
                        compact=True,
                        id="device-batch",
                        tooltip="fit.batch_size: the batch each replica sees",
                    ),
                )
                yield Static("", id="device-refused")
                yield Static(BATCH_HELP, id="device-help")

    @staticmethod
    def _row(label: str, widget: Any) -> ComposeResult:
        with Horizontal(classes="device-choice"):
            yield Label(label)
            yield widget

    def on_mount(self) -> None:
        self.query_one("#device-machine").border_title = "This machine"
        self.query_one("#device-plan").border_title = "Plan for the next run"
        self.query_one("#device-choices").border_title = "Accelerator"
        self._error: str | None = None
        self.workspace.changed.subscribe(self, self._changed)
        self._show_choices()
        engine = getattr(self.app, "engine", None)
        if engine is not None and engine.machine is not None:
            self.machine = engine.machine
        else:
            self.action_detect()

    def action_detect(self) -> None:
        self._error = None
        self.query_one("#device-machine", Static).update(machine_text(None))
        self._detect()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="device",
        description="looking for devices",
    )
    def _detect(self) -> None:
        try:
            from layerlab.core import accel

            self.post_message(self.Detected(accel.detect(), None))
        except (
            Exception
        ) as exc:  # AcceleratorError, or a backend that fails to load: words, not a traceback
            log_failure("looking for devices", exc)
            self.post_message(self.Detected(None, f"Devices could not be listed: {exc}"))

    @on(Detected)
    def _detected(self, message: Detected) -> None:
        self._error = message.error
        self.machine = message.machine

    def watch_machine(self) -> None:
        self.query_one("#device-machine", Static).update(machine_text(self.machine, self._error))
        self._show_plan()

    def _changed(self, change: Change) -> None:
        if change.kind == "spec":
            self._show_choices()
            self._show_plan()

    def _show_choices(self) -> None:
        spec = self.workspace.spec
        with self.prevent(Select.Changed, Checkbox.Changed, Input.Changed):
            self.query_one("#device-device", Select).value = spec.accelerator.device
            self.query_one("#device-strategy", Select).value = spec.accelerator.strategy
            self.query_one("#device-mixed", Checkbox).value = spec.accelerator.mixed_precision
            self.query_one("#device-batch", Input).value = str(spec.fit.batch_size)

    def _show_plan(self) -> None:
        panel = self.query_one("#device-plan", Static)
        spec = self.workspace.spec
        if self.machine is None:
            panel.update("The plan follows once the devices are known.")
            return
        try:
            panel.update(plan_table(plan(spec.accelerator, self.machine, spec.fit.batch_size)))
            panel.remove_class("-refused")
        except AcceleratorError as exc:
            panel.update(
                Text(f"The spec's accelerator cannot work on this machine: {exc}", style="bold")
            )
            panel.add_class("-refused")

    def _refuse(self, text: str) -> None:
        refused = self.query_one("#device-refused", Static)
        refused.update(text)
        refused.set_class(bool(text), "-shown")

    # -- choices ----------------------------------------------------------------------------------

    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _chosen(self) -> None:
        accelerator = AcceleratorSpec(
            device=str(self.query_one("#device-device", Select).value),
            strategy=str(self.query_one("#device-strategy", Select).value),
            mixed_precision=self.query_one("#device-mixed", Checkbox).value,
            replicas=self.workspace.spec.accelerator.replicas,  # set in the spec file; kept
        )
        spec = self.workspace.spec.copy()
        spec.accelerator = accelerator
        self._try(spec)

    @on(Input.Submitted, "#device-batch")
    @on(Input.Blurred, "#device-batch")
    def _batch_typed(self, event: Input.Submitted | Input.Blurred) -> None:
        text = event.input.value.strip()
        raw = self.workspace.spec.to_dict()
        raw["fit"]["batch_size"] = int(text) if text.lstrip("-").isdigit() else text
        try:
            spec = specs.from_dict(raw, base_dir=self.workspace.spec.base_dir)
        except specs.SpecError as exc:
            self._refuse(f"Refused: {exc.message}")
            return
        spec.name = self.workspace.spec.name
        self._try(spec)

    def _try(self, spec: Spec) -> None:
        """Take the new accelerator or batch size if a plan can be made for it here."""
        if self.machine is None:
            self._refuse("Wait until the devices are known; the spec is unchanged.")
            self._show_choices()
            return
        try:
            plan(spec.accelerator, self.machine, spec.fit.batch_size)
        except AcceleratorError as exc:
            self._refuse(
                f"Refused: {exc}. The spec keeps device {self.workspace.spec.accelerator.device!r}, strategy {self.workspace.spec.accelerator.strategy!r}."
            )
            self._show_choices()
            return
        self._refuse("")
        if spec.to_dict() != self.workspace.spec.to_dict():
            self.workspace.edit(copy.deepcopy(spec))
