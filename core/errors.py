"""The one base of layerlab's bad-input errors: what is wrong and where, without Keras or any UI.

Every error about the user's own input (a spec, the data, a layer stack, an accelerator choice, a
picture to inspect) is a `LayerlabError`, so callers tell bad input from a failure with
`isinstance`, never by a class name. Its message is written for the user as it is: show it without
the type's name or a traceback. `log_failure` logs what a screen shows as words: a line for bad
input, the traceback for anything else.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("layerlab")


class LayerlabError(ValueError):
    """Input layerlab cannot use, located by file and key path.

    A ValueError, so code that catches ValueError keeps working.

    Attributes:
        problem: What is wrong and what would be accepted.
        key: Where in the input, e.g. "layers[2].units" ("" when it is the input as a whole).
        file: The file, folder or data set it is in ("" when none).
    """

    def __init__(self, problem: str, key: str = "", file: str | os.PathLike | None = None):
        self.problem = problem
        self.key = key
        self.file = str(file) if file else ""
        super().__init__(self.message)

    @property
    def where(self) -> str:
        """The file and the key path, e.g. "exp.toml: layers[2].units" ("" when unknown)."""
        return ": ".join(part for part in (self.file, self.key) if part)

    @property
    def message(self) -> str:
        """The whole message: where, then the problem."""
        return f"{self.where}: {self.problem}" if self.where else self.problem


def log_failure(what: str, exc: BaseException) -> None:
    """Log a failure that a screen shows as words: bad input in one line, anything else with its
    traceback (to the app's log, or a run's log.txt).

    Args:
        what: What was being done, e.g. "reading the data for the preview".
        exc: What it raised.
    """
    if isinstance(exc, LayerlabError):
        log.info("%s: %s", what, exc)
    else:
        log.error("%s failed: %s: %s", what, type(exc).__name__, exc, exc_info=exc)
