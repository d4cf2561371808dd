"""Hyperparameter search workers: Optuna trials that each train one autoencoder on training tumors and score it on
validation tumors, sharing one study through Optuna's journal file storage.

Held-out (test) tumors are dropped before anything else, so they cannot inform a trial, the study's identity or
the choice.

Several workers (Snakemake jobs, local or on a cluster) share a study by its name in one journal file; the file
storage needs no server and works on network file systems. An interrupted worker leaves its current trial
RUNNING. Such a trial is stale by construction when the same worker starts again: Snakemake never runs two jobs
for one output at once, so worker k's RUNNING trials belong to a dead process when worker k starts. They are
marked FAIL and their parameters queued again, and the study goes on from its finished trials, which are never
redone. (Optuna's heartbeat, the other way to find stale trials, exists for RDB storage only, and would
only act after a grace period.)
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import optuna
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import TrialState
from optuna_integration import PyTorchLightningPruningCallback

from oncoae.data.modality import ModalityBatchSource, data_fingerprint
from oncoae.evaluation.survival import SurvivalData, risk_concordance
from oncoae.training.fit import TrainingSettings, fit_autoencoder
from oncoae.training.problem import TrainingProblem, training_problem
from oncoae.training.task import NonFiniteLossError
from oncoae.tuning.space import (
    METRIC_DIRECTIONS,
    Parameter,
    apply_overrides,
    config_values,
    default_point,
    overrides,
    parse_space,
)

log = logging.getLogger(__name__)

# A RUNNING trial without a worker tag was asked for but never started: its worker died in the moment between
# the two (a live worker tags its trial first thing, milliseconds after asking). One this young may still be a
# live worker's, so a starting worker waits until it is this old: then it is stale, and taking it for a live
# trial would leave the search a trial short (the budget counts RUNNING trials) with an orphan RUNNING forever.
UNTAGGED_STALE_SECONDS = 10
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


class SearchError(RuntimeError):
    pass


@dataclass(frozen=True)
class SearchSettings:
    """One model's ``tuning.models.<model>`` section, less its space (defaults as in config/schema.yaml)."""

    n_trials: int = 20
    metric: str = "val_reconstruction_loss"
    seed: int = 0
    max_epochs: int | None = None
    enqueue_defaults: bool = True
    pruning: bool = True
    n_startup_trials: int = 5
    n_warmup_epochs: int = 10

    @classmethod
    def from_config(cls, section: Mapping) -> SearchSettings:
        pruning = section.get("pruning", {})
        return cls(
            n_trials=int(section.get("n_trials", 20)),
            metric=section.get("metric", "val_reconstruction_loss"),
            seed=int(section.get("seed", 0)),
            max_epochs=section.get("max_epochs"),
            enqueue_defaults=bool(section.get("enqueue_defaults", True)),
            pruning=bool(pruning.get("enabled", True)),
            n_startup_trials=int(pruning.get("n_startup_trials", 5)),
            n_warmup_epochs=int(pruning.get("n_warmup_epochs", 10)),
        )

    @property
    def direction(self) -> str:
        return METRIC_DIRECTIONS[self.metric]

    def identity(self) -> dict:
        """What shapes a trial's outcome: n_trials is left out, so raising it continues the same study."""
        return {key: value for key, value in asdict(self).items() if key not in ("n_trials", "enqueue_defaults")}


def without_held_out(adatas: Mapping[str, ad.AnnData]) -> dict[str, ad.AnnData]:
    """The modalities without their test tumors: a search sees training and validation tumors only."""
    return {name: adata[adata.obs["split"].astype(str).to_numpy() != "test"].copy() for name, adata in adatas.items()}


@dataclass
class SearchProblem:
    """Everything a worker (or the selection step) needs: the study's name, space, settings and data."""

    model: str
    study_name: str
    parameters: list[Parameter]
    settings: SearchSettings
    params: Mapping  # the model's config: architecture, training, heads, kinds, losses
    adatas: dict[str, ad.AnnData]  # training and validation tumors only
    problem: TrainingProblem  # at the config's own values: the data every trial trains and is scored on

    @property
    def base(self) -> dict:
        return {"architecture": self.params["architecture"], "training": self.params["training"]}


def search_problem(
    model: str, adatas: Mapping[str, ad.AnnData], params: Mapping, space: Mapping, settings: SearchSettings
) -> SearchProblem:
    """The study of one model, named by everything that shapes its trials (model config, space, settings, data).

    A change to any of them starts a new study in the same file; the number of trials and workers do not.
    """
    adatas = without_held_out(adatas)
    parameters = parse_space(space)
    problem = training_problem(adatas, params["architecture"], params["heads"], params["kinds"], params["losses"])
    identity = {
        "params": params,
        "space": {p.key: asdict(p) for p in parameters},
        "settings": settings.identity(),
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode())
    digest.update(data_fingerprint(problem.train, problem.val).encode())
    name = f"{model}-{digest.hexdigest()[:12]}"
    return SearchProblem(model, name, parameters, settings, params, adatas, problem)


def journal_storage(path: str | Path, lock_grace_seconds: int = 30) -> JournalStorage:
    """The study file, locked by an exclusively created ``<file>.lock`` (Optuna's open lock).

    A worker killed while it appends leaves that lock behind; Optuna takes a lock whose mtime has not moved for
    ``lock_grace_seconds`` for stale and removes it. The path is made absolute: Optuna's default symlink lock
    points at the path as given, so a relative one makes a dangling link whose age can never be read, and a
    lock left by a killed worker then blocks every other worker for good.
    """
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = JournalFileOpenLock(str(path), grace_period=lock_grace_seconds)
    return JournalStorage(JournalFileBackend(str(path), lock_obj=lock))


def open_study(storage_path: str | Path, search: SearchProblem, create: bool = True) -> optuna.Study:
    storage = journal_storage(storage_path)
    if not create:
        return optuna.load_study(study_name=search.study_name, storage=storage)
    return optuna.create_study(
        study_name=search.study_name, storage=storage, direction=search.settings.direction, load_if_exists=True
    )


def val_concordance(network: torch.nn.Module, val: ModalityBatchSource) -> float:
    """Harrell's C-index of the Cox head's risk on validation tumors with known time and event (NaN if none)."""
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            device = next(network.parameters()).device
            inputs = {name: torch.from_numpy(val.dense(name)).to(device) for name in val.modality_names}
            output = network(inputs, torch.from_numpy(val.presence).to(device))
            risk = output.risk.detach().cpu().numpy().reshape(-1)
    finally:
        network.train(was_training)
    return risk_concordance(risk, SurvivalData(val.targets["time"], val.targets["event"]))


class ValidationMetric(Callback):
    """Scores every epoch on validation tumors and puts the score in ``callback_metrics[NAME]``, where Optuna's
    pruning callback (next in line) reads it. ``values`` keeps the score of every epoch, so a trial's value is
    that of the epoch whose weights training keeps.

    val_reconstruction_loss: sum over modalities of the unweighted per-modality losses the task logs
    (``val_loss_<modality>``); val_c_index: C-index of the Cox head's risk.
    """

    NAME = "tuning_metric"

    def __init__(self, metric: str, val: ModalityBatchSource) -> None:
        if metric not in METRIC_DIRECTIONS:
            raise SearchError(f"unknown tuning metric {metric!r}; known: {sorted(METRIC_DIRECTIONS)}")
        if metric == "val_c_index":
            targets = val.targets
            if "time" not in targets or not np.nansum(targets["event"]) > 0:
                raise SearchError("metric val_c_index needs validation tumors with survival events (a Cox head)")
        self.metric = metric
        self.val = val
        self.values: dict[int, float] = {}

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        if self.metric == "val_c_index":
            value = val_concordance(pl_module.network, self.val)
        else:
            parts = [trainer.callback_metrics.get(f"val_loss_{name}") for name in self.val.modality_names]
            value = float(sum(float(part) for part in parts if part is not None))
        self.values[int(trainer.current_epoch)] = value
        trainer.callback_metrics[self.NAME] = torch.tensor(value)


def fail_stale_trials(study: optuna.Study, worker: int) -> list[int]:
    """Mark this worker's leftover RUNNING trials (and long-untagged ones) FAIL and queue their parameters again.

    Returns the numbers of the trials failed.
    """

    def untagged_ages() -> dict[int, float]:
        now = datetime.datetime.now()
        return {
            trial.number: (now - trial.datetime_start).total_seconds() if trial.datetime_start else 0.0
            for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if trial.user_attrs.get("worker") is None
        }

    young = [age for age in untagged_ages().values() if age <= UNTAGGED_STALE_SECONDS]
    if young:
        time.sleep(UNTAGGED_STALE_SECONDS - min(young) + 0.5)
    ages = untagged_ages()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.user_attrs.get("worker")
        if owner == worker or (owner is None and ages.get(trial.number, 0.0) > UNTAGGED_STALE_SECONDS):
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            if trial.params:
                # The retry stands in for the interrupted trial, the baseline of the config's values included.
                marks = {key: value for key, value in trial.user_attrs.items() if key == "config_values"}
                study.enqueue_trial(dict(trial.params), user_attrs={"retry_of": trial.number, **marks})
            failed.append(trial.number)
    return failed


def _stop_after_errors(limit: int):
    """Stops a worker once ``limit`` trials have failed with an error (e.g. diverged), so it cannot loop forever."""

    def callback(study: optuna.Study, _trial) -> None:
        errors = [t for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)) if "error" in t.user_attrs]
        if len(errors) >= limit:
            log.warning("%d trials failed with an error; stopping", len(errors))
            study.stop()

    return callback


def _sampler_seed(seed: int, worker: int, n_trials_so_far: int) -> int:
    """Differs between workers (parallel workers must not draw the same points) and between restarts of one worker
    (a resumed worker must not replay the draws of its first run), yet follows from the study's state."""
    return int(np.random.SeedSequence([seed, worker, n_trials_so_far]).generate_state(1)[0])


def run_trial(trial: optuna.Trial, search: SearchProblem, worker: int, work_dir: Path) -> float:
    """Train the model with the trial's values on training tumors; its score on validation tumors."""
    trial.set_user_attr("worker", worker)
    values = {parameter.key: parameter.suggest(trial) for parameter in search.parameters}
    config = apply_overrides(search.base, overrides(values, search.base))
    training = dict(config["training"])
    if search.settings.max_epochs is not None:
        training["max_epochs"] = int(search.settings.max_epochs)
    # Trials are never resumed half-way (an interrupted trial is run again whole), so no periodic checkpoints.
    training.update(progress_bar=False, checkpoint_every_n_epochs=int(training.get("max_epochs", 300)) + 1)
    params = search.params
    problem = training_problem(
        search.adatas, config["architecture"], params["heads"], params["kinds"], params["losses"]
    )
    metric = ValidationMetric(search.settings.metric, problem.val)
    callbacks: list[Callback] = [metric]
    if search.settings.pruning:
        callbacks.append(PyTorchLightningPruningCallback(trial, monitor=ValidationMetric.NAME))
    trial_dir = work_dir / f"trial{trial.number}"
    try:
        result = fit_autoencoder(
            problem.train,
            problem.val,
            problem.architecture,
            TrainingSettings.from_config(training),
            search.settings.seed,
            work_dir=trial_dir,
            objective=problem.objective,
            callbacks=callbacks,
        )
    except NonFiniteLossError as error:
        trial.set_user_attr("error", str(error))
        raise
    finally:
        trial.set_user_attr("epochs_run", len(metric.values))
        shutil.rmtree(trial_dir, ignore_errors=True)
    trial.set_user_attr("best_epoch", result.best_epoch)
    trial.set_user_attr("best_val_loss", result.best_val_loss)
    value = metric.values[result.best_epoch]
    if not np.isfinite(value):
        raise SearchError(f"trial {trial.number}: {search.settings.metric} is not finite ({value})")
    return value


def run_worker(
    storage_path: str | Path,
    search: SearchProblem,
    worker: int,
    work_dir: str | Path,
) -> pd.DataFrame:
    """One worker: join (or start) the study and run trials until all workers together have ``n_trials``
    finished or running. Returns this worker's trials (every run of it), as ``trials_table`` rows."""
    work_dir = Path(work_dir)
    shutil.rmtree(work_dir, ignore_errors=True)  # leftovers of an interrupted trial of this worker
    settings = search.settings
    study = open_study(storage_path, search)
    stale = fail_stale_trials(study, worker)
    if stale:
        log.info("worker %d: trials %s were interrupted; marked failed and queued again", worker, stale)
    taken = len(study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING)))
    queued_before = any(t.user_attrs.get("config_values") for t in study.get_trials(deepcopy=False))
    if worker == 0 and settings.enqueue_defaults and not queued_before and taken < settings.n_trials:
        point = default_point(search.parameters, search.base)
        if point is None:
            log.info("the config's own values lie outside the space; not queued as a baseline trial")
        else:
            study.enqueue_trial(point, user_attrs={"config_values": True}, skip_if_exists=True)
    finished = len(study.get_trials(deepcopy=False, states=FINISHED))
    log.info("study %s: %d finished trials of %d", search.study_name, finished, settings.n_trials)
    study.sampler = optuna.samplers.TPESampler(
        seed=_sampler_seed(settings.seed, worker, len(study.trials)), constant_liar=True
    )
    study.pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=settings.n_startup_trials, n_warmup_steps=settings.n_warmup_epochs)
        if settings.pruning
        else optuna.pruners.NopPruner()
    )
    # RUNNING trials count towards the budget, so workers together stop at n_trials rather than n_trials plus
    # one per other worker (two workers that finish at the same instant may still overshoot by one).
    budget = optuna.study.MaxTrialsCallback(settings.n_trials, states=(*FINISHED, TrialState.RUNNING))
    if taken < settings.n_trials:
        work_dir.mkdir(parents=True, exist_ok=True)
        study.optimize(
            lambda trial: run_trial(trial, search, worker, work_dir),
            callbacks=[budget, _stop_after_errors(settings.n_trials)],
            catch=(NonFiniteLossError,),
            gc_after_trial=False,
        )
    shutil.rmtree(work_dir, ignore_errors=True)
    table = trials_table(study, search.parameters)
    return table[table["worker"] == worker].reset_index(drop=True)


def trials_table(study: optuna.Study, parameters: Sequence[Parameter]) -> pd.DataFrame:
    """One row per trial: number, worker, state, value, every parameter (by dotted key), epochs and timing."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        duration = (
            (trial.datetime_complete - trial.datetime_start).total_seconds()
            if trial.datetime_complete and trial.datetime_start
            else np.nan
        )
        row: dict[str, Any] = {
            "number": trial.number,
            "worker": attrs.get("worker", -1),
            "state": trial.state.name,
            "value": trial.value if trial.value is not None else np.nan,
        }
        row.update({p.key: trial.params.get(p.key) for p in parameters})
        row.update(
            {
                "epochs_run": attrs.get("epochs_run", np.nan),
                "best_epoch": attrs.get("best_epoch", np.nan),
                "config_values": bool(attrs.get("config_values", False)),
                "retry_of": attrs.get("retry_of", np.nan),
                "duration_s": duration,
                "datetime_start": trial.datetime_start.isoformat() if trial.datetime_start else "",
            }
        )
        rows.append(row)
    columns = ["number", "worker", "state", "value", *(p.key for p in parameters)]
    columns += ["epochs_run", "best_epoch", "config_values", "retry_of", "duration_s", "datetime_start"]
    return pd.DataFrame(rows, columns=columns)


def best_hyperparameters(study: optuna.Study, search: SearchProblem) -> dict:
    """The best complete trial's values (decoded), the config overrides they make, and the study's account."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise SearchError(f"study {search.study_name}: no trial completed; see the tune_worker logs")
    best = study.best_trial
    values = {p.key: p.decode(best.params[p.key]) for p in search.parameters}
    counts = {state.name.lower(): len(study.get_trials(deepcopy=False, states=(state,))) for state in TrialState}
    summary = {
        "model": search.model,
        "study": search.study_name,
        "metric": search.settings.metric,
        "direction": search.settings.direction,
        "trial": best.number,
        "value": float(best.value),
        "params": values,
        "overrides": overrides(values, search.base),
        "config_values": config_values(search.parameters, search.base),
        "trials": {state: n for state, n in counts.items() if n},
    }
    baseline = [t for t in study.trials if t.user_attrs.get("config_values") and t.state in FINISHED]
    if baseline:
        summary["config_values_trial"] = {
            "trial": baseline[0].number,
            "state": baseline[0].state.name,
            "value": float(baseline[0].value) if baseline[0].value is not None else None,
        }
    return summary


def param_importances(study: optuna.Study, seed: int) -> pd.DataFrame:
    """Optuna's fANOVA importances over complete trials (empty when there are too few to say)."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2:
        return pd.DataFrame(columns=["parameter", "importance"])
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (ValueError, RuntimeError) as error:
        log.warning("parameter importances not computed: %s", error)
        return pd.DataFrame(columns=["parameter", "importance"])
    return pd.DataFrame({"parameter": list(importances), "importance": [float(v) for v in importances.values()]})


@dataclass
class SearchOutcome:
    """What a finished study chose (``best_hyperparameters``), its trials (``trials_table``) and fANOVA
    importances (``param_importances``)."""

    best: dict
    trials: pd.DataFrame
    importances: pd.DataFrame


def search_outcome(study_path: str | Path, search: SearchProblem) -> SearchOutcome:
    """The selection step: the shared study of ``search`` read back from its journal file, once its workers are
    done."""
    study = open_study(study_path, search, create=False)
    best = best_hyperparameters(study, search)
    log.info(
        "%s: best trial %d, %s %.4g, %s", search.model, best["trial"], best["metric"], best["value"], best["params"]
    )
    return SearchOutcome(best, trials_table(study, search.parameters), param_importances(study, search.settings.seed))


def optuna_logs_to_step() -> None:
    """Optuna's messages (one per trial) go to the step's log through logging, not to the Snakemake console."""
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
