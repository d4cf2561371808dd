"""The filters for known third-party noise remove exactly their message and leave every other one."""

from __future__ import annotations

import inspect
import logging
import os
import warnings

import pytest

from oncoae.warnings_filters import (
    LIGHTNING_RANK_ZERO_LOGGERS,
    DropMessages,
    silence_lightning_noise,
    silence_scanpy_noise,
)


@pytest.fixture(autouse=True)
def restore_logger_filters():
    """The filters are process-wide, and every training in the suite installs them: each test starts without
    them and ends with the filters it found (warnings filters are restored by pytest itself)."""
    import scanpy as sc

    loggers = [logging.getLogger(name) for name in LIGHTNING_RANK_ZERO_LOGGERS] + [sc.settings._root_logger]
    saved = [list(logger.filters) for logger in loggers]
    for logger in loggers:
        logger.filters[:] = [f for f in logger.filters if not isinstance(f, DropMessages)]
    yield
    for logger, filters in zip(loggers, saved, strict=True):
        logger.filters[:] = filters


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _srun_warnings(tmp_path, monkeypatch, silence: bool) -> list[str]:
    """Lightning's own srun check, with an `srun` on PATH, and another warning of the same category after it."""
    from lightning.fabric.plugins.environments import SLURMEnvironment
    from lightning.fabric.utilities.warnings import PossibleUserWarning

    srun = tmp_path / "srun"
    srun.write_text("#!/bin/sh\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    for variable in ("SLURM_NTASKS", "SLURM_JOB_NAME", "SLURM_JOB_ID"):
        monkeypatch.delenv(variable, raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if silence:
            silence_lightning_noise()
        SLURMEnvironment._validate_srun_used()
        warnings.warn("another possible user warning", PossibleUserWarning, stacklevel=1)
    return [str(w.message) for w in caught]


def test_the_srun_warning_is_filtered_and_only_it(tmp_path, monkeypatch):
    before = _srun_warnings(tmp_path, monkeypatch, silence=False)
    assert any(m.startswith("The `srun` command is available on your system") for m in before)  # the control
    after = _srun_warnings(tmp_path, monkeypatch, silence=True)
    assert after == ["another possible user warning"]


def test_the_litlogger_tip_is_filtered_and_only_it(tmp_path):
    import lightning
    from lightning.pytorch.loggers import CSVLogger

    def trainer_messages() -> list[str]:
        collect = Collect()
        loggers = [logging.getLogger(n) for n in ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch")]
        for logger in loggers:
            logger.addHandler(collect)
        try:
            lightning.Trainer(accelerator="cpu", logger=CSVLogger(tmp_path), max_epochs=1, enable_progress_bar=False)
        finally:
            for logger in loggers:
                logger.removeHandler(collect)
        return collect.messages

    before = trainer_messages()
    assert any("litlogger" in m for m in before)  # the control: a real Trainer logs the tip
    silence_lightning_noise()
    silence_lightning_noise()  # idempotent
    after = trainer_messages()
    assert not any("litlogger" in m for m in after)
    assert [m for m in before if "litlogger" not in m] == after  # e.g. "GPU available: ..." still shows
    assert after


def test_the_scanpy_umap_warning_is_filtered_and_only_it():
    import scanpy as sc
    import scanpy.tools._umap

    # The filtered text is scanpy's own (this fails if scanpy rewords it).
    assert "have not been computed using umap" in inspect.getsource(scanpy.tools._umap)
    logger = sc.settings._root_logger
    collect = Collect()
    logger.addHandler(collect)
    try:
        sc.logging.warning('.obsp["connectivities"] have not been computed using umap')
        silence_scanpy_noise()
        silence_scanpy_noise()
        sc.logging.warning('.obsp["connectivities"] have not been computed using umap')
        sc.logging.warning('.obsp["pca_connectivities"] have not been computed using umap')
        sc.logging.warning("some other scanpy warning about umap")
    finally:
        logger.removeHandler(collect)
    assert collect.messages == [
        '.obsp["connectivities"] have not been computed using umap',
        "some other scanpy warning about umap",
    ]
    assert sum(type(f).__name__ == "DropMessages" for f in logger.filters) == 1
