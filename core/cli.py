"""The headless command line: `layerlab train`, `layerlab datasets`, `layerlab examples`.

Exit codes: 0 finished (early stopping included), 1 training failed, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import TextIO

from core import events, runs
from core import spec as specs
from core.quiet import divert_stderr, quiet_environment

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and one line, as every bad input does."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"layerlab: {message} (see 'layerlab {self.prog.split()[-1]} --help')\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="layerlab", description="Build, train and look inside Keras models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = sub.add_parser("train", help="train an experiment spec without a screen")
    train.add_argument("spec", help="the experiment spec (.toml)")
    train.add_argument("--data", help="read the data from this file or folder instead of data.path")
    train.add_argument("--epochs", type=_positive, help=f"train at most this many epochs (1 to {specs.MAX_EPOCHS:,})")
    train.add_argument("--seed", type=_natural, help=f"seed of the split and the initial weights (0 to {specs.MAX_SEED:,})")
    train.add_argument("--runs-dir", help="where run folders go (default: $LAYERLAB_RUNS or ./runs)")
    train.add_argument("--json", action="store_true", help="print one JSON event per line")
    sub.add_parser("datasets", help="list the built-in data sets")
    sub.add_parser("examples", help="list the example specs")
    return parser


def _positive(text: str) -> int:
    """--epochs: 1 up to the spec's own cap, so the spec.toml a run writes loads again."""
    return _whole(text, 1, specs.MAX_EPOCHS)


def _natural(text: str) -> int:
    """--seed: 0 up to 2**32 - 1, the seeds NumPy and Keras take."""
    return _whole(text, 0, specs.MAX_SEED)


def _whole(text: str, low: int, high: int) -> int:
    accepted = f"a whole number from {low} to {high:,}"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {accepted}, got {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected {accepted}, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "datasets":
        return _datasets()
    if args.command == "examples":
        return _examples()
    return _train(args)


def _datasets() -> int:
    from core.data import builtin_names, describe_builtin

    for name in builtin_names():
        info = describe_builtin(name)
        shape = "×".join(str(s) for s in info.input_shape)
        print(f"{name:<14} {info.task:<11} {info.samples:>6} samples  {shape:<8} {info.description}")
    print("\nAlso: keras:mnist, keras:fashion_mnist, keras:cifar10 (downloaded once), or a CSV/TSV/Parquet file or an image folder as data.path.")
    return EXIT_OK


def _examples() -> int:
    from core.examples import list_examples

    for example in list_examples():
        print(f"{example.name:<24} {example.title}")
        print(f"{'':<24} {example.path}")
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    try:
        spec = specs.load(args.spec)
        if args.data:
            if not Path(args.data).expanduser().exists():
                raise specs.SpecError(f"no such file or folder: {args.data}", "--data")
            spec = specs.with_data_path(spec, args.data)
        if args.epochs:
            spec.fit.epochs = args.epochs
        if args.seed is not None:
            spec.data.seed = args.seed
    except specs.SpecError as exc:
        print(f"layerlab: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT

    root = runs.runs_root(args.runs_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"layerlab: cannot create the runs folder {root}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    log_path = root / f".layerlab-{os.getpid()}.log"
    terminal = divert_stderr(log_path)
    try:
        return _train_quietly(spec, root, log_path, args.json, terminal)
    except Exception as exc:  # the last guard: a line for the user, the traceback for the log
        traceback.print_exc()
        print(f"layerlab: internal error: {type(exc).__name__}: {exc} (details in {log_path})", file=terminal)
        return EXIT_FAILED


def _train_quietly(spec: specs.Spec, root: Path, log_path: Path, as_json: bool, terminal: TextIO) -> int:
    quiet_environment()
    import keras

    keras.config.disable_interactive_logging()  # Keras' own messages go to the log, not stdout
    from core.accel import AcceleratorError
    from core.data import DataError
    from core.model import ModelError
    from core.session import TrainingSession

    session = TrainingSession(spec, runs_dir=root)
    try:
        session.prepare()
    except (DataError, ModelError, AcceleratorError, specs.SpecError) as exc:
        print(f"layerlab: {exc}", file=terminal)
        log_path.unlink(missing_ok=True)
        return EXIT_BAD_INPUT
    printer = _JsonPrinter() if as_json else _HumanPrinter(spec)
    session.subscribe(printer)
    session.subscribe(lambda event: _adopt_log(event, log_path))
    session.start()
    try:
        while session.join(timeout=0.2) is None:
            pass
    except KeyboardInterrupt:
        session.stop()
        session.join()
        return EXIT_INTERRUPTED
    if isinstance(session.result, events.Failed) or session.result.reason == "nan":
        return EXIT_FAILED
    return EXIT_OK


def _adopt_log(event: events.Event, log_path: Path) -> None:
    """Move the process log into the run folder once it exists; the open descriptor follows."""
    if isinstance(event, events.RunStarted) and event.run_dir and log_path.exists():
        log_path.replace(Path(event.run_dir) / "log.txt")


class _JsonPrinter:
    def __call__(self, event: events.Event) -> None:
        if event.per_batch or isinstance(event, events.EpochStarted):
            return
        print(event.to_json(), flush=True)


class _HumanPrinter:
    """One line per epoch, each event, and the closing summary."""

    def __init__(self, spec: specs.Spec):
        self.epochs = spec.fit.epochs
        self.width = len(str(self.epochs))

    def __call__(self, event: events.Event) -> None:
        line = self.line(event)
        if line:
            print(line, flush=True)

    def line(self, event: events.Event) -> str | None:
        if isinstance(event, events.RunStarted):
            s = event.spec
            return (
                f"training {s['name']} on {s['data']}: {event.train_samples} training and "
                f"{event.valid_samples} validation samples, {event.steps_per_epoch} batches an epoch\n"
                f"run folder: {event.run_dir}"
            )
        if isinstance(event, events.EpochEnded):
            logs = "  ".join(f"{k} {v:.4f}" for k, v in event.logs.items())
            tail = f"best {event.best_epoch}"
            if event.patience:
                tail += f", no improvement {event.wait}/{event.patience}"
            return f"epoch {event.epoch:>{self.width}}/{self.epochs}  {logs}  {event.seconds:.2f}s  ({tail})"
        if isinstance(event, events.EarlyStopped):
            restored = f"weights restored to epoch {event.best_epoch}" if event.restored else "weights of the last epoch kept"
            return f"early stopping at epoch {event.stopped_epoch}: best epoch {event.best_epoch}, {restored}"
        if isinstance(event, events.NanDetected):
            return f"the loss became NaN at epoch {event.epoch}, batch {event.batch}: training diverged (try a smaller learning rate)"
        if isinstance(event, events.Stopped):
            return f"stopped at epoch {event.epoch}"
        if isinstance(event, events.Finished):
            return "\n" + runs.summary_text(event).rstrip()
        if isinstance(event, events.Failed):
            return f"training failed: {event.error}"
        return None


if __name__ == "__main__":
    sys.exit(main())
