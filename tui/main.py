"""The `layerlab` command: the app with an optional SPEC, `layerlab watch` (the app following a
run another process writes), or the headless train/datasets/examples.

Before the app starts, TensorFlow's C++ logging is kept off the screen: Textual gets a duplicate
of the terminal's descriptor and descriptor 2 goes to the app's log file (DESIGN.md section 2).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path

HEADLESS = ("train", "datasets", "examples", "example")
EXIT_BAD_INPUT = 2


def _headless() -> tuple[str, ...]:
    """The commands that run without a window: train and its siblings, and core/commands/."""
    from layerlab.core import commands

    return (*HEADLESS, *commands.names())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layerlab",
        description="Build, train and look inside Keras models with the keyboard alone.",
        epilog="Following a run: layerlab watch [RUN_DIR | RUNS_DIR]. "
        "Without a window: layerlab train SPEC | layerlab sweep SPEC --set KEY=V1,V2 | "
        "layerlab runs [prune] | layerlab predict RUN_DIR --data FILE | "
        "layerlab evaluate RUN_DIR --data FILE | layerlab export SPEC_OR_RUN_DIR | "
        "layerlab datasets | layerlab examples | layerlab example NAME [DIR] "
        "(each with --help)",
    )
    parser.add_argument("--version", action="version", version=f"layerlab {_version()}")
    parser.add_argument(
        "spec", nargs="?", help="the experiment spec (.toml); default: the last one"
    )
    parser.add_argument(
        "--graphics",
        action="store_true",
        help="draw pictures with the terminal's Kitty or Sixel graphics where it has them "
        "(asks the terminal at start, about 0.25 s; otherwise pictures use half-cell blocks)",
    )
    return parser


def _watch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layerlab watch",
        description="The app on the Train screen, following a run that another process writes "
        "(its curves, events and progress as they grow; Inspect shows its saved model).",
    )
    parser.add_argument(
        "folder",
        nargs="?",
        metavar="RUN_DIR | RUNS_DIR",
        help="a run folder, or a folder of runs (its newest run); "
        "default: the newest run in $LAYERLAB_RUNS or ./runs",
    )
    return parser


def watched_run(argv: list[str]) -> Path | None:
    """The run folder `layerlab watch ARGS` follows; None after saying on stderr why there is none."""
    from layerlab.core.follow import NoRun, find_run

    args = _watch_parser().parse_args(argv)
    try:
        return find_run(args.folder)
    except NoRun as exc:
        print(f"layerlab watch: {exc.message}", file=sys.stderr)
        return None


def _version() -> str:
    from layerlab import __version__

    return __version__


def quiet_terminal() -> Path:
    """Point fd 2 at the app log and give Textual the terminal through sys.__stderr__."""
    from layerlab.core.quiet import divert_stderr
    from layerlab.tui.state import log_path

    path = log_path()
    terminal = divert_stderr(path)
    sys.__stderr__ = terminal
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    logging.getLogger("layerlab").info("layerlab starting (pid %d)", os.getpid())
    return path


def terminal_fds() -> list[int]:
    """The descriptors that may be the user's terminal: 0, 1, 2 and Textual's copy of it."""
    fds = [0, 1, 2]
    if sys.__stderr__ is not None:
        with contextlib.suppress(ValueError, OSError):
            fds.append(sys.__stderr__.fileno())
    return fds


def main(argv: list[str] | None = None) -> int:
    """Run a headless command and return its exit code, or run the app and leave the process."""
    argv = list(sys.argv[1:] if argv is None else argv)
    watch = None
    if argv and argv[0] == "watch":
        watch = watched_run(argv[1:])
        if watch is None:
            return EXIT_BAD_INPUT
        argv = []
    elif argv and argv[0] in _headless():
        from layerlab.core.cli import main as cli_main

        try:
            return cli_main(argv)
        except BrokenPipeError:  # `layerlab runs | head`: the reader left; nothing is wrong
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    log = None
    if sys.__stderr__ is not None and sys.__stderr__.isatty():
        log = quiet_terminal()
    from layerlab.tui.app import LayerlabApp

    if args.graphics and sys.__stdout__ is not None and sys.__stdout__.isatty():
        # textual-image asks the terminal what it can draw; only possible before the app reads stdin.
        import layerlab.tui.widgets.picture  # noqa: F401

    app = LayerlabApp(args.spec, watch=watch)
    # Our own loop: asyncio.run() would join the worker threads before returning.
    loop = asyncio.new_event_loop()
    lifeline = app.lifeline
    lifeline.install(loop, terminal_fds())
    app.run(loop=loop)
    code = lifeline.exit_code or app.return_code or 0
    if code and lifeline.exit_code is None and log is not None:
        print(f"layerlab stopped on an error; the details are in {log}", file=sys.__stderr__)
    if lifeline.detached:
        # The terminal went away during a run: it goes on to its end, however long that takes.
        # The loop keeps running meanwhile, so SIGTERM and SIGINT still stop it cleanly.
        loop.run_until_complete(loop.shutdown_default_executor())
        logging.getLogger("layerlab").info("the detached training has ended")
    elif app.engine is not None:
        # A training run stopped on the way out finishes writing its run folder first.
        with contextlib.suppress(TimeoutError):
            loop.run_until_complete(asyncio.wait_for(loop.shutdown_default_executor(), 60))
    code = lifeline.exit_code or code
    # Then leave at once: an import of TensorFlow still running cannot be interrupted, and
    # TensorFlow's own teardown takes seconds of staring at a prompt that does not come back.
    logging.shutdown()
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(main())
