"""Logging for one workflow step: everything, errors included, goes to the step's log file."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def step_logging(log_path: str | Path, level: int = logging.INFO) -> Iterator[logging.Logger]:
    """Send logging and warnings to ``log_path``; an exception is logged with its traceback and ends the step.

    The console gets one line: the message and where the traceback is. The step exits with status 1 through
    ``SystemExit`` rather than re-raising, because an uncaught exception would also print its traceback on
    stderr, which Snakemake shows on the console. Snakemake still sees a failed job and removes its outputs.
    """
    log_path = _rank_log_path(Path(log_path))
    log_path.parent.mkdir(parents=True, exist_ok=True)
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
        handler.flush()
        print(console_line(error, log_path), file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        handler.flush()


def _rank_log_path(log_path: Path) -> Path:
    """The step's log, or ``<log>.rank<k>`` in the extra processes Lightning starts for DDP (they run the same
    script, and opening the step's log would truncate what rank 0 wrote)."""
    rank = os.environ.get("LOCAL_RANK", "0")
    return log_path if rank == "0" else log_path.with_name(f"{log_path.name}.rank{rank}")


def console_line(error: BaseException, log_path: str | Path) -> str:
    """``oncoae: <message> (log: <path>)``. Input errors (ValueError and its kinds: InputError, SplitError, ...)
    name their culprit in the message; anything else is more likely a bug, so its type is shown too."""
    message = " ".join(str(error).split()) or repr(error)  # one line, whatever the message holds
    if not isinstance(error, ValueError):
        message = f"{type(error).__name__}: {message}"
    return f"oncoae: {message} (traceback in {log_path})"
