"""Standard `logging`, quiet by default: ASSISTANT_LOG_LEVEL=debug (or info, warning, ...) prints the
package's records on stderr, among them what each stage of an answer took and read.

The package's loggers are named after their modules ("assistant.answering.pipeline", ...); an application
that configures logging itself can leave the variable unset and handle the "assistant" logger as it likes.
"""

from __future__ import annotations

import logging
import os
import sys

ENV = "ASSISTANT_LOG_LEVEL"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_handler: logging.Handler | None = None


def configure() -> None:
    """Attach a stderr handler at ASSISTANT_LOG_LEVEL to the "assistant" logger (once); nothing if unset."""
    global _handler
    raw = os.environ.get(ENV, "").strip()
    if not raw or _handler is not None:
        return
    level = logging.getLevelName(raw.upper())
    if not isinstance(level, int):
        print(f"warning: {ENV}={raw!r} is not a log level (debug, info, warning, error)", file=sys.stderr)
        return
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter(FORMAT))
    logger = logging.getLogger("assistant")
    logger.addHandler(_handler)
    logger.setLevel(level)
