"""Logging for one workflow step: everything, errors included, goes to the step's log file."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def step_logging(log_path: str | Path, level: int = logging.INFO) -> Iterator[logging.Logger]:
    """Send logging and warnings to ``log_path``; an exception is logged with its message, then re-raised.

    The exception message is also printed to stderr as one line, so the Snakemake console names the culprit
    without the user opening the log.
    """
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    logger = logging.getLogger("oncoae.step")
    try:
        yield logger
    except Exception as error:
        logger.exception("step failed: %s", error)
        print(f"oncoae: {type(error).__name__}: {error}", file=sys.stderr)
        raise
    finally:
        handler.flush()
