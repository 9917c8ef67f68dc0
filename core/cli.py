"""The headless command line: `layerlab train`, `layerlab datasets`, `layerlab examples`.

Exit codes: 0 finished (early stopping included), 1 training failed, 2 bad input, and for a run
that a signal stopped (after the batch in progress, keeping the best weights) 130 SIGINT,
143 SIGTERM, 129 SIGHUP.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

from . import cluster, commands, events, runs, supervisor, words
from . import spec as specs
from .errors import LayerlabError
from .files import process_alive
from .quiet import divert_stderr, quiet_environment

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
SIGNAL_EXITS: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
ABANDON_WITHIN_S = 3.0
"""A second Ctrl-C this soon after the first abandons the run at once."""


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and one line, as every bad input does."""

    def error(self, message: str):
        self.exit(
            EXIT_BAD_INPUT, f"layerlab: {message} (see 'layerlab {self.prog.split()[-1]} --help')\n"
        )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="layerlab", description="Build, train and look inside Keras models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = sub.add_parser("train", help="train an experiment spec without a screen")
    train.add_argument("spec", nargs="?", help="the experiment spec (.toml)")
    train.add_argument("--data", help="read the data from this file or folder instead of data.path")
    train.add_argument(
        "--epochs",
        type=_positive,
        help=f"train at most this many epochs (1 to {specs.MAX_EPOCHS:,})",
    )
    train.add_argument(
        "--seed",
        type=_natural,
        help=f"seed of the split and the initial weights (0 to {specs.MAX_SEED:,})",
    )
    train.add_argument(
        "--runs-dir", help="where run folders go (default: $LAYERLAB_RUNS or ./runs)"
    )
    train.add_argument("--json", action="store_true", help="print one JSON event per line")
    train.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue a stopped, killed or crashed run in its own folder",
    )
    train.add_argument(
        "--sweep",
        metavar="JSON",
        help='mark the run as one of a sweep: {"name": ..., "settings": {...}} (\'layerlab sweep\' sets it)',
    )
    several = "several processes (JAX): "
    train.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        help=several + "where process 0 listens; with --num-processes and --process-id",
    )
    train.add_argument(
        "--num-processes",
        metavar="N",
        type=_processes,
        help=several + "how many train together (2 or more)",
    )
    train.add_argument(
        "--process-id",
        metavar="I",
        type=_natural,
        help=several + "this one's id, 0 to N-1 (0 writes the run folder)",
    )
    train.add_argument(
        "--peer-timeout",
        metavar="SECONDS",
        type=_seconds,
        help=several
        + f"wait this long for the others, and to notice one gone (default {cluster.DEFAULT_PEER_TIMEOUT_S:g})",
    )
    sub.add_parser("datasets", help="list the built-in data sets")
    sub.add_parser("examples", help="list the example specs")
    example = sub.add_parser(
        "example", help="copy an example spec and its data into a folder, to edit"
    )
    example.add_argument("name", help="an example's name (see 'layerlab examples')")
    example.add_argument("dir", nargs="?", default=".", help="where to copy it (default: here)")
    for name in commands.names():
        module = commands.load(name)
        module.add_arguments(sub.add_parser(name, help=module.HELP))
    return parser


def _positive(text: str) -> int:
    """--epochs: 1 up to the spec's own cap, so the spec.toml a run writes loads again."""
    return _whole(text, 1, specs.MAX_EPOCHS)


def _natural(text: str) -> int:
    """--seed: 0 up to 2**32 - 1, the seeds NumPy and Keras take."""
    return _whole(text, 0, specs.MAX_SEED)


def _processes(text: str) -> int:
    return _whole(text, 2, 65536)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(
            f"expected seconds, more than 0 and at most 86,400, got {text!r}"
        )
    return value


def _cluster(args: argparse.Namespace) -> cluster.Cluster | None:
    """The cluster the flags give (all three together), else the one TF_CONFIG lists, else None."""
    parser = _Parser(prog="layerlab train")  # its error(): one line, exit 2
    given = [args.coordinator, args.num_processes, args.process_id]
    timeout = args.peer_timeout or cluster.DEFAULT_PEER_TIMEOUT_S
    if all(v is None for v in given):
        return cluster.from_tf_config(_tf_config(), timeout)
    if any(v is None for v in given):
        parser.error("--coordinator, --num-processes and --process-id go together: give all three")
    try:
        cluster.parse_address(args.coordinator)
    except ValueError as exc:
        parser.error(f"--coordinator: {exc}")
    if not args.process_id < args.num_processes:
        parser.error(
            f"--process-id must be from 0 to {args.num_processes - 1} (--num-processes {args.num_processes}), got {args.process_id}"
        )
    return cluster.Cluster(args.coordinator, args.num_processes, args.process_id, timeout)


def _tf_config() -> dict[str, Any] | None:
    with contextlib.suppress(ValueError):
        value = json.loads(os.environ.get("TF_CONFIG", "") or "null")
        return value if isinstance(value, dict) else None
    return None


def _sweep_tag(text: str) -> dict[str, Any] | None:
    """--sweep's JSON: the sweep's name and this run's settings (ignored when malformed)."""
    with contextlib.suppress(ValueError):
        tag = json.loads(text)
        if isinstance(tag, dict) and isinstance(tag.get("name"), str):
            return tag
    return None


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
    if args.command == "train":
        together = _cluster(args)
        if together is not None and not supervisor.supervised():
            return supervisor.supervise(sys.argv[1:] if argv is None else list(argv), together)
        if together is not None:
            cluster.configure(
                together if together.source == "flags" else None, together.peer_timeout
            )
        return _train(args, together)
    if args.command == "datasets":
        return _datasets()
    if args.command == "example":
        return _copy_example(args.name, Path(args.dir))
    if args.command == "examples":
        return _examples()
    if args.command in commands.names():
        return int(commands.load(args.command).run(args))
    return EXIT_BAD_INPUT


def _datasets() -> int:
    from .data import builtin_names, describe_builtin

    for name in builtin_names():
        info = describe_builtin(name)
        shape = "×".join(str(s) for s in info.input_shape)
        print(
            f"{name:<14} {info.task:<11} {info.samples:>6} samples  {shape:<8} {info.description}"
        )
    print(
        "\nAlso: keras:mnist, keras:fashion_mnist, keras:cifar10 (downloaded once), or a CSV/TSV/Parquet file or an image folder as data.path."
    )
    return EXIT_OK


def _copy_example(name: str, folder: Path) -> int:
    """`layerlab example NAME [DIR]`: the spec and the data files it reads, ready to edit."""
    from .examples import copy_example, list_examples

    try:
        copied = copy_example(name, folder)
    except KeyError:
        names = ", ".join(e.name for e in list_examples())
        print(f"layerlab: no example named {name!r}; the examples are {names}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileExistsError as exc:
        print(
            f"layerlab: {exc.filename} exists already; give another folder or move it away",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"layerlab: cannot copy into {folder}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for path in copied:
        print(f"copied {path}")
    print(f"train it with: layerlab train {copied[0]}")
    return EXIT_OK


def _examples() -> int:
    from .examples import list_examples

    for example in list_examples():
        print(f"{example.name:<24} {example.title}")
        print(f"{'':<24} {example.path}")
    return EXIT_OK


def _train(args: argparse.Namespace, together: cluster.Cluster | None = None) -> int:
    try:
        spec = _train_spec(args)
    except specs.SpecError as exc:
        print(f"layerlab: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT

    root = Path(args.resume).expanduser().parent if args.resume else runs.runs_root(args.runs_dir)
    # A new run's log waits beside the runs until its folder exists; a resumed run's goes on.
    log_path = (
        Path(args.resume).expanduser() / "log.txt"
        if args.resume
        else root / f".layerlab-{os.getpid()}.log"
    )
    if args.resume and not Path(args.resume).expanduser().is_dir():
        print(f"layerlab: --resume: no such run folder: {args.resume}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        root.mkdir(parents=True, exist_ok=True)
        terminal = divert_stderr(log_path)
        if together is not None:
            _divert_stdout()
    except OSError as exc:
        print(f"layerlab: cannot write in the runs folder {root}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    signals = _Signals(terminal, log_path)
    signals.install()
    _sweep_stale_logs(root)
    try:
        return _train_quietly(spec, args, root, log_path, terminal, signals)
    except Exception as exc:  # the last guard: a line for the user, the traceback for the log
        traceback.print_exc()
        print(
            f"layerlab: internal error: {type(exc).__name__}: {exc} (details in {log_path})",
            file=terminal,
        )
        return EXIT_FAILED


def _divert_stdout() -> None:
    """Keep stdout for layerlab's own lines; what C++ prints there (gloo's "[Gloo] Rank 0/1 is connected") goes to the log."""
    sys.stdout.flush()
    sys.stdout = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8", errors="replace")
    os.dup2(2, 1)


def _train_spec(args: argparse.Namespace) -> specs.Spec | None:
    """The spec to train (None for --resume, which trains the run's own), with the flags applied."""
    if args.resume:
        if args.spec:
            raise specs.SpecError(
                "give a SPEC or --resume RUN_DIR, not both (a resumed run trains its own spec.toml)",
                "--resume",
            )
        if args.seed is not None or args.data:
            raise specs.SpecError(
                "a resumed run keeps its own seed and data; leave out --seed and --data", "--resume"
            )
        return None
    if not args.spec:
        raise specs.SpecError("expected a spec file to train, or --resume RUN_DIR", "train")
    spec = specs.load(_spec_or_example(args.spec))
    if args.data:
        if not Path(args.data).expanduser().exists():
            raise specs.SpecError(f"no such file or folder: {args.data}", "--data")
        spec = specs.with_data_path(spec, args.data)
    if args.epochs:
        spec.fit.epochs = args.epochs
    if args.seed is not None:
        spec.data.seed = args.seed
    return spec


def _spec_or_example(given: str) -> Path:
    """A spec path, or the name of a shipped example (`layerlab train red_wine`)."""
    from .examples import example_path

    path = Path(given).expanduser()
    if path.exists() or path.suffix == ".toml" or "/" in given:
        return path
    try:
        return example_path(given)
    except KeyError:
        return path  # the loader says "no such file", naming it


class _Signals:
    """SIGINT, SIGTERM and SIGHUP stop the run after the batch in progress, as the app's `s` does.

    The handlers never raise: an exception thrown into the main thread while it joins the training
    thread can make Python believe the thread has ended (CPython issue 90882). Before training
    starts there is nothing to keep, so a signal then ends the process at once, leaving no file.
    """

    def __init__(self, terminal: TextIO, log_path: Path):
        self.terminal, self.log_path = terminal, log_path
        self.session: Any = None
        self.code: int | None = None
        self.first_at = 0.0

    def install(self) -> None:
        for signum in SIGNAL_EXITS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGHUP:
            _detach_from_terminal(self.terminal)
        now = time.monotonic()
        if (
            self.code is not None
            and signum == signal.SIGINT
            and now - self.first_at < ABANDON_WITHIN_S
        ):
            self._abandon()
        if self.code is None:
            self.code, self.first_at = SIGNAL_EXITS[signum], now
        session = self.session
        if session is None or not session.alive:
            _drop_temporary_log(self.log_path)
            self._say(
                f"interrupted ({signal.Signals(signum).name}) before training began: nothing was written"
            )
            os._exit(self.code)
        session.stop()
        self._say(
            f"{signal.Signals(signum).name}: stopping after the batch in progress, keeping the best weights (Ctrl-C again within {ABANDON_WITHIN_S:.0f} s to abandon at once)"
        )

    def _abandon(self) -> None:
        session = self.session
        saved = session.saved_epoch if session is not None else 0
        where = session.run_dir if session is not None else None
        kept = (
            f"model.keras in {where} holds epoch {saved}" if saved else "no model was written yet"
        )
        self._say(
            f"abandoned: {kept}; history.csv has every finished epoch (resume with layerlab train --resume {where})"
            if where
            else "abandoned before training began: nothing was written"
        )
        if where is None:
            _drop_temporary_log(self.log_path)
        os._exit(EXIT_INTERRUPTED)

    def _say(self, line: str) -> None:
        # One os.write, not print(): a second signal can interrupt this very handler, and a
        # buffered stream entered twice raises "reentrant call".
        with contextlib.suppress(OSError, ValueError):
            os.write(self.terminal.fileno(), f"layerlab: {line}\n".encode("utf-8", "replace"))


def _detach_from_terminal(terminal: TextIO) -> None:
    """The terminal went away (SIGHUP): what would have been printed goes nowhere, training goes on."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, terminal):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)


def _train_quietly(
    spec: specs.Spec | None,
    args: argparse.Namespace,
    root: Path,
    log_path: Path,
    terminal: TextIO,
    signals: _Signals,
) -> int:
    quiet_environment()
    import keras

    keras.config.disable_interactive_logging()  # Keras' own messages go to the log, not stdout
    from .session import TrainingSession

    try:
        if spec is None:
            session = TrainingSession.from_run(args.resume, epochs=args.epochs)
        else:
            session = TrainingSession(spec, runs_dir=root)
            if args.sweep:
                session.sweep = _sweep_tag(args.sweep)
        signals.session = session
        session.prepare()
    except LayerlabError as exc:  # bad input: its own words are enough
        print(f"layerlab: {exc}", file=terminal)
        _drop_temporary_log(log_path)
        return EXIT_BAD_INPUT
    printer = _JsonPrinter() if args.json else _HumanPrinter(session.spec)
    session.subscribe(printer)
    shard = session.prep.cluster
    log_name = f"workers/{shard['process_id']}.log" if shard and shard["process_id"] else "log.txt"
    session.subscribe(lambda event: _adopt_log(event, log_path, log_name))
    session.start()
    while session.alive:
        session.join(timeout=0.5)
    if shard:
        _end_together(session, shard, terminal)
    if signals.code is not None:
        return signals.code
    result = session.result
    if isinstance(result, events.Failed) or result is None or result.reason == "nan":
        return EXIT_FAILED
    return EXIT_OK


def _end_together(session: Any, shard: dict[str, Any], terminal: TextIO) -> None:
    """Several processes: log the final weights' digest (the same in every process that trained in
    step); after a failure, leave at once, since JAX's shutdown barrier would wait for the peer
    that has gone and then abort."""
    who = f"process {shard['process_id']} of {shard['processes']}"
    result = session.result
    if isinstance(result, events.Finished) and session.model is not None:
        print(
            f"layerlab: {who} weights checksum {cluster.weights_checksum(session.model.get_weights())}",
            file=sys.stderr,
            flush=True,
        )
        return
    if isinstance(result, events.Failed) and any(
        word in result.error for word in ("Gloo", "peer", "heartbeat", "coordination")
    ):
        print(
            f"layerlab: {who} stopped: another process left the run (coordinator {shard['coordinator']})",
            file=terminal,
            flush=True,
        )
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    os._exit(EXIT_FAILED)


def _adopt_log(event: events.Event, log_path: Path, name: str = "log.txt") -> None:
    """Move the process log into the run folder once it exists (`name` in it); the open descriptor follows."""
    if (
        isinstance(event, events.RunStarted)
        and event.run_dir
        and log_path.name != "log.txt"
        and log_path.exists()
    ):
        target = Path(event.run_dir) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        log_path.replace(target)


def _sweep_stale_logs(root: Path) -> None:
    """Remove the waiting process logs of runs killed before their folder existed (kill -9)."""
    for log in root.glob(".layerlab-*.log"):
        pid = log.name.removeprefix(".layerlab-").removesuffix(".log")
        if pid.isdigit() and not process_alive(int(pid)):
            log.unlink(missing_ok=True)


def _drop_temporary_log(log_path: Path) -> None:
    """Nothing ran: the process log waiting beside the runs goes (a resumed run's log.txt stays)."""
    if log_path.name != "log.txt":
        log_path.unlink(missing_ok=True)


class _JsonPrinter:
    def __call__(self, event: events.Event) -> None:
        if event.per_batch or isinstance(event, events.EpochStarted):
            return
        print(event.to_json(), flush=True)


class _HumanPrinter:
    """One line per epoch, each event, and the closing summary: core.words' words, as the app's."""

    def __init__(self, spec: specs.Spec):
        self.epochs = spec.fit.epochs

    def __call__(self, event: events.Event) -> None:
        line = self.line(event)
        if line:
            print(line, flush=True)

    def line(self, event: events.Event) -> str | None:
        if isinstance(event, events.RunStarted):
            self.epochs = event.epochs
        if isinstance(event, events.Finished):
            return "\n" + words.summary_text(event).rstrip()
        worded = words.event_line(event, self.epochs)
        return worded[0] if worded else None


if __name__ == "__main__":
    sys.exit(main())
