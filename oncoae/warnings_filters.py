"""Filters for known third-party console noise, each scoped to one exact message and nothing else.

- Lightning warns on every ``Trainer`` that "The `srun` command is available on your system but is not used"
  wherever SLURM is installed, also when the job was submitted by Snakemake's SLURM executor (which runs the
  job's own Python, not ``srun python``): ``silence_lightning_noise``.
- Lightning logs a "💡 Tip: ... try installing [litlogger]" advertisement on every ``Trainer`` without a
  LitLogger: ``silence_lightning_noise``.
- scanpy's ``tl.umap`` logs '.obsp["connectivities"] have not been computed using umap' when the neighbour graph
  was built with another method; the report's UMAPs use the Gaussian kernel on purpose:
  ``silence_scanpy_noise``.

Every other warning and log line of these libraries still shows. Calling a function again adds nothing.
"""

from __future__ import annotations

import logging
import re
import warnings

SRUN_WARNING = "The `srun` command is available on your system but is not used"
LITLOGGER_TIP = "💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]"
UMAP_CONNECTIVITIES = re.compile(r'\.obsp\["[^"]*"\] have not been computed using umap$')

# Lightning's rank_zero_info logs through the logger of whichever rank_zero module was imported last.
LIGHTNING_RANK_ZERO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


class DropMessages(logging.Filter):
    """Drops log records whose message starts with one of ``prefixes`` or matches one of ``patterns``."""

    def __init__(self, prefixes: tuple[str, ...] = (), patterns: tuple[re.Pattern, ...] = ()) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.patterns = patterns

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith(self.prefixes) or any(p.match(message) for p in self.patterns))


def _add_filter(logger: logging.Logger, prefixes=(), patterns=()) -> None:
    for existing in logger.filters:
        if isinstance(existing, DropMessages) and existing.prefixes == prefixes and existing.patterns == patterns:
            return
    logger.addFilter(DropMessages(prefixes, patterns))


def silence_lightning_noise() -> None:
    """The `srun` warning and the litlogger tip. Cheap (imports nothing): call it before creating a Trainer."""
    warnings.filterwarnings("ignore", message=re.escape(SRUN_WARNING), category=UserWarning)
    for name in LIGHTNING_RANK_ZERO_LOGGERS:
        _add_filter(logging.getLogger(name), prefixes=(LITLOGGER_TIP,))


def silence_scanpy_noise() -> None:
    """scanpy's "have not been computed using umap" warning. Imports scanpy (its logger is its own, not in
    Python's logger tree): call it where scanpy is used."""
    import scanpy as sc

    logger = getattr(sc.settings, "_root_logger", None)
    if logger is not None:
        _add_filter(logger, patterns=(UMAP_CONNECTIVITIES,))
