"""Fit one autoencoder with a Lightning ``Trainer``: early stopping on val, checkpoints, CSV curves, resumption.

Checkpoints live in a work folder outside the rule's declared outputs: Snakemake deletes the outputs of a failed
or killed job, and a preempted training job must be able to resume from its last epoch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import lightning.pytorch as pl
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback, Checkpoint, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.plugins.environments import SLURMEnvironment

from oncoae.data.modality import ModalityBatchSource, data_fingerprint
from oncoae.models.networks import ArchitectureSpec, MultiModalAutoencoder
from oncoae.settings import TrainingSettings
from oncoae.training.batches import batch_loader
from oncoae.training.task import AutoencoderTask, ObjectiveSettings
from oncoae.warnings_filters import silence_lightning_noise

log = logging.getLogger(__name__)


def route_lightning_logs() -> None:
    """Inside a workflow step, whose root logger writes to the step's log file, send the ``lightning`` logger's
    messages there rather than to the console handler Lightning adds to it at import. Idempotent; nothing
    changes where the root logger has no handler (outside a step)."""
    if logging.getLogger().handlers:
        logging.getLogger("lightning").handlers.clear()


@dataclass
class FitResult:
    network: MultiModalAutoencoder
    history: pd.DataFrame
    best_epoch: int
    best_val_loss: float  # the best value of the early-stopping monitor (val loss by default)
    epochs_run: int
    # Under DDP every rank returns the same network; only global rank 0 should write the outputs.
    global_rank: int = 0


class KeepBestWeights(Callback):
    """Keeps the weights of the epoch with the lowest val loss in memory, and in checkpoints for resumption.

    Writing a best-model checkpoint file at every improvement costs more than the epoch itself on small
    cohorts; a copy of the state dict costs next to nothing.
    """

    def __init__(self, monitor: str = "val_loss") -> None:
        self.monitor = monitor
        self.best_score = float("inf")
        self.best_epoch = -1
        self.best_state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        score = trainer.callback_metrics.get(self.monitor)
        if score is not None and float(score) < self.best_score:
            self.best_score = float(score)
            self.best_epoch = int(trainer.current_epoch)
            self.best_state = {k: v.detach().cpu().clone() for k, v in pl_module.state_dict().items()}

    def state_dict(self) -> dict:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch, "best_state": self.best_state}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best_score = state_dict["best_score"]
        self.best_epoch = state_dict["best_epoch"]
        self.best_state = state_dict["best_state"]


# One log line per this many epochs: enough to follow a long job in its log, few enough to read.
LOG_EVERY_N_EPOCHS = 10


class EpochProgressLog(Callback):
    """Writes the train and val loss to the step's log every ``every`` epochs, and warns when training ran out of
    epochs before early stopping fired (the model may be under-trained: raise ``training.max_epochs``)."""

    def __init__(self, monitor: str, every: int = LOG_EVERY_N_EPOCHS) -> None:
        self.monitor = monitor
        self.every = every

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = int(trainer.current_epoch)
        if trainer.sanity_checking or not trainer.is_global_zero or (epoch + 1) % self.every:
            return
        metrics = trainer.callback_metrics
        parts = [f"{name} {float(metrics[name]):.4f}" for name in ("train_loss", "val_loss") if name in metrics]
        if self.monitor not in ("train_loss", "val_loss") and self.monitor in metrics:
            parts.append(f"{self.monitor} {float(metrics[self.monitor]):.4f}")
        log.info("epoch %d/%d: %s", epoch + 1, trainer.max_epochs, ", ".join(parts))

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        stopped_early = any(isinstance(c, EarlyStopping) and c.stopped_epoch > 0 for c in trainer.callbacks)
        if trainer.is_global_zero and not stopped_early and trainer.current_epoch >= trainer.max_epochs:
            log.warning(
                "training ran all %d epochs (training.max_epochs) without early stopping on %s; the model may not "
                "have converged: raise training.max_epochs",
                trainer.max_epochs,
                self.monitor,
            )


class TrainingRequeued(RuntimeError):
    """SLURM's warning signal arrived: the checkpoint is written and the job is requeued; no output may be written."""


def _slurm_job_id() -> str:
    array_job, array_task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array_job}_{array_task}" if array_job and array_task else os.environ["SLURM_JOB_ID"]


class RequeueOnSignal(Checkpoint):
    """On SLURM's warning signal (``sbatch --signal=USR1@90 --requeue``), finish the epoch, write the resumption
    checkpoint, requeue the job and stop without outputs; the requeued job resumes from that checkpoint.

    Lightning's own handler (``SLURMEnvironment(auto_requeue=True)``) checkpoints in the middle of an epoch, and
    a run resumed mid-epoch from a plain DataLoader cannot replay the rest of that epoch's batches: it would not
    end with the weights of an uninterrupted run. The epoch's end is where the ModelCheckpoint writes too; being a
    ``Checkpoint``, this callback runs there after it (Lightning runs checkpoint callbacks last, in order), when
    every other callback and the epoch's logs are done.
    """

    def __init__(self, checkpoint_path: Path, signum: int = signal.SIGUSR1) -> None:
        self.checkpoint_path = Path(checkpoint_path)
        self.signum = signum
        self.requested = False
        self._previous = None

    def _note_signal(self, signum, frame) -> None:
        self.requested = True

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._previous = signal.signal(self.signum, self._note_signal)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self._previous is not None:
            signal.signal(self.signum, self._previous)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Any rank that got the signal stops them all at the same epoch (a no-op in one process).
        if not trainer.strategy.reduce_boolean_decision(self.requested, all=False):
            return
        trainer.save_checkpoint(self.checkpoint_path)
        epoch = int(trainer.current_epoch)
        if trainer.is_global_zero:
            job = _slurm_job_id()
            subprocess.run(["scontrol", "requeue", job], check=True, capture_output=True, text=True)
            log.warning("SLURM signal %d: checkpoint of epoch %d written, job %s requeued", self.signum, epoch, job)
        raise TrainingRequeued(
            f"stopped by SLURM's signal {self.signum} after epoch {epoch}; the requeued job resumes from "
            f"{self.checkpoint_path}"
        )


def _slurm_plugins(checkpoint_path: Path) -> tuple[list, list]:
    """Lightning plugins and callbacks for a job that runs under SLURM (none elsewhere)."""
    if not SLURMEnvironment.detect():
        return [], []
    # The workflow's snakemake processes ignore USR1 (see the Snakefile) so that they survive the signal; the
    # training process inherits that and takes it back here.
    return [SLURMEnvironment(auto_requeue=False)], [RequeueOnSignal(checkpoint_path)]


def _fingerprint(
    architecture: ArchitectureSpec,
    settings: TrainingSettings,
    objective: ObjectiveSettings,
    seed: int,
    train: ModalityBatchSource,
    val: ModalityBatchSource,
    layout: list,
) -> str:
    """Identifies one training problem, so a stale checkpoint from another config or data is never resumed."""
    digest = hashlib.sha256()
    # Operational keys are left out: a job resumed with another checkpoint interval or thread count is the same.
    identity = [architecture.to_dict(), settings.model_dict(), asdict(objective), seed, layout]
    digest.update(json.dumps(identity, sort_keys=True, default=str).encode())
    digest.update(data_fingerprint(train, val).encode())
    return digest.hexdigest()


def _prepare_work_dir(work_dir: Path, fingerprint: str) -> Path | None:
    """Return the checkpoint to resume from, after wiping the folder if it belongs to another problem."""
    marker = work_dir / "fingerprint.txt"
    last = work_dir / "checkpoints" / "last.ckpt"
    if marker.exists() and marker.read_text().strip() == fingerprint and last.exists():
        return last
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    marker.write_text(fingerprint + "\n")
    return None


def _loggers(work_dir: Path, tensorboard: bool) -> list:
    """The CSV logger the training curves are read from, plus TensorBoard's when asked for."""
    loggers = [CSVLogger(work_dir, name="", version="log")]
    if tensorboard:
        try:
            from lightning.pytorch.loggers import TensorBoardLogger

            loggers.append(TensorBoardLogger(work_dir, name="", version="tensorboard"))
        except ModuleNotFoundError as error:  # Lightning needs the tensorboard (or tensorboardX) package
            raise ModuleNotFoundError(
                f"training.tensorboard needs the tensorboard package (pip install tensorboard): {error}"
            ) from error
    return loggers


def read_history(metrics_csv: Path) -> pd.DataFrame:
    """One row per epoch with the epoch-level metrics Lightning's CSV logger wrote (empty if none yet)."""
    if not metrics_csv.exists():
        return pd.DataFrame(columns=["epoch"])
    raw = pd.read_csv(metrics_csv)
    columns = [c for c in raw.columns if c.endswith("_loss") or "_loss_" in c]
    history = raw.groupby("epoch")[columns].last().reset_index()
    return history.sort_values("epoch").reset_index(drop=True)


def _merge_histories(earlier: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    """Epochs of an interrupted attempt followed by those of the resumed one (a re-run epoch replaces its twin)."""
    frames = [frame for frame in (earlier, later) if len(frame)]
    if not frames:
        return later
    merged = pd.concat(frames, ignore_index=True).drop_duplicates("epoch", keep="last")
    return merged.sort_values("epoch").reset_index(drop=True)


def fit_autoencoder(
    train: ModalityBatchSource,
    val: ModalityBatchSource,
    architecture: ArchitectureSpec,
    settings: TrainingSettings,
    seed: int,
    work_dir: str | Path,
    objective: ObjectiveSettings | None = None,
    callbacks: Sequence[Callback] = (),
) -> FitResult:
    """Train on ``train`` with early stopping on ``val``; return the network with the best val weights.

    ``objective`` adds denoising, the VAE's KL term or supervised heads to plain reconstruction. ``callbacks``
    are further Lightning callbacks (a hyperparameter search's metric and pruning); an exception one raises
    (e.g. optuna.TrialPruned) ends the fit and propagates.
    """
    route_lightning_logs()
    work_dir = Path(work_dir)
    objective = objective or ObjectiveSettings()
    pl.seed_everything(seed, workers=True, verbose=False)
    task = AutoencoderTask(architecture.to_dict(), settings.to_dict(), asdict(objective))
    # The parameter layout joins the fingerprint: a checkpoint written by another version of the network code
    # (same config, different modules) is started afresh instead of failing to load.
    layout = [(name, tuple(value.shape)) for name, value in task.state_dict().items()]
    fingerprint = _fingerprint(architecture, settings, objective, seed, train, val, layout)
    resume_from = _prepare_work_dir(work_dir, fingerprint)
    best_weights = KeepBestWeights(settings.early_stopping_monitor)
    # Only the resumption point goes to disk, every few epochs; the best weights travel inside it.
    # (monitor=None with save_top_k=1 keeps only the newest; save_last alone would write only at the end).
    checkpoint = ModelCheckpoint(
        dirpath=work_dir / "checkpoints",
        filename="last",
        monitor=None,
        save_top_k=1,
        save_last=False,
        enable_version_counter=False,
        every_n_epochs=settings.checkpoint_every_n_epochs,
    )
    early_stopping = EarlyStopping(monitor=settings.early_stopping_monitor, mode="min", patience=settings.patience)
    progress_log = EpochProgressLog(settings.early_stopping_monitor)
    progress_bar = sys.stderr.isatty() if settings.progress_bar is None else settings.progress_bar
    slurm_plugins, slurm_callbacks = _slurm_plugins(work_dir / "checkpoints" / "last.ckpt")
    silence_lightning_noise()
    trainer = pl.Trainer(
        max_epochs=settings.max_epochs,
        min_epochs=settings.min_epochs,
        accelerator=settings.accelerator,
        devices=settings.devices,
        strategy=settings.strategy,
        precision=settings.precision,
        gradient_clip_val=settings.gradient_clip_val,
        deterministic=settings.deterministic,
        callbacks=[best_weights, checkpoint, early_stopping, progress_log, *slurm_callbacks, *callbacks],
        plugins=slurm_plugins or None,
        logger=_loggers(work_dir, settings.tensorboard),
        enable_progress_bar=progress_bar,
        enable_model_summary=False,
        # Our sampler already shards batches by rank; Lightning must not wrap it in a DistributedSampler.
        use_distributed_sampler=False,
        log_every_n_steps=1,
        default_root_dir=work_dir,
    )
    train_loader = batch_loader(train, settings.batch_size, shuffle=True, seed=seed)
    # Every DDP rank validates on all val tumors (see EpochPermutationBatches), so all ranks agree on the epoch.
    val_loader = batch_loader(val, settings.batch_size, shuffle=False, seed=seed, shard=False)
    metrics_csv = work_dir / "log" / "metrics.csv"
    earlier_history = work_dir / "history_before_resume.tsv"
    if resume_from is not None:
        log.info("resuming from %s", resume_from)
        # Lightning's CSV logger starts its file afresh on resume; keep the epochs already logged.
        earlier = pd.read_csv(earlier_history, sep="\t") if earlier_history.exists() else read_history(metrics_csv)
        _merge_histories(earlier, read_history(metrics_csv)).to_csv(earlier_history, sep="\t", index=False)
    with warnings.catch_warnings():
        # Batches are sliced from in-memory tensors; worker processes would only add copies.
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        # Under DDP, Lightning suggests sync_dist for epoch-level val logs; every rank validates on all val
        # tumors, so their values are already equal.
        warnings.filterwarnings("ignore", message=r"It is recommended to use `self.log\('val_.*sync_dist=True")
        trainer.fit(task, train_loader, val_loader, ckpt_path=resume_from, weights_only=True)
    if best_weights.best_state is not None:
        task.load_state_dict(best_weights.best_state)
    network = task.network.cpu().eval()
    earlier = pd.read_csv(earlier_history, sep="\t") if earlier_history.exists() else pd.DataFrame(columns=["epoch"])
    history = _merge_histories(earlier, read_history(metrics_csv))
    return FitResult(
        network=network,
        history=history,
        best_epoch=best_weights.best_epoch,
        best_val_loss=best_weights.best_score,
        epochs_run=int(trainer.current_epoch),
        global_rank=int(trainer.global_rank),
    )
