"""Hyperparameter search: the space, parallel workers sharing one study, resumption after a kill, and held-out
independence of the choice."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import threading
import time

import anndata as ad
import numpy as np
import optuna
import pandas as pd
import psutil
import pytest
import yaml
from snakemake.utils import validate

from oncoae.config_check import ConfigError, check_config_keys
from oncoae.models.checkpoint import load_model
from oncoae.tuning import search as search_module
from oncoae.tuning.search import (
    SearchSettings,
    fail_stale_trials,
    journal_storage,
    open_study,
    run_worker,
    search_problem,
    trials_table,
)
from oncoae.tuning.space import (
    TuningConfigError,
    check_tuning,
    default_point,
    leaf_schema,
    overrides,
    parse_space,
)
from oncoae.workflow import plan_run

from .conftest import REPO, SNAKEMAKE, TINY_CONFIG, run_snakemake, write_config

pytestmark = pytest.mark.workflow
SCHEMA = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def _tuning_config(dataset: str, search: dict) -> dict:
    """TINY_CONFIG cut down to what a search needs: the multi-modal model (tuned), an untuned copy, one seed, no
    baselines."""
    config = copy.deepcopy(TINY_CONFIG)
    config["dataset"] = dataset
    config["seeds"] = [0]
    config["models"] = {
        "autoencoders": {
            "per_modality": False,
            "multimodal": True,
            "guided": {"enabled": False},
            "variants": {"untuned": {}},
        },
        "baselines": [],
    }
    config["training"]["max_epochs"] = 30
    config["evaluation"].update(
        permutations=50, max_permutations=100, bootstrap=50, leiden_resolutions=[], characterize_top=3
    )
    config["evaluation"]["enrichment_columns"] = ["subtype"]
    config["tuning"] = {"models": {"ae_multimodal": search}}
    return config


SPACE = {
    "architecture.latent_dim": {"type": "int", "low": 2, "high": 8},
    "training.learning_rate": {"type": "float", "low": 0.001, "high": 0.01, "log": True},
}


def _study(journal) -> optuna.Study:
    """The one study in a journal file."""
    storage = journal_storage(journal)
    (summary,) = optuna.get_all_study_summaries(storage)
    return optuna.load_study(study_name=summary.study_name, storage=storage)


def _n_finished(journal) -> int:
    """Finished trials in a journal that workers may still be creating (0 before its study exists)."""
    if not journal.exists():
        return 0
    try:
        return len(_study(journal).get_trials(deepcopy=False, states=FINISHED))
    except ValueError:
        return 0


# The space and the config checks.


def test_a_lock_left_by_a_killed_worker_is_taken_over(tmp_path, monkeypatch):
    """A worker killed while it appends to the journal leaves its lock file; the other workers must go on."""
    monkeypatch.chdir(tmp_path)  # a relative path, as Snakemake gives it, once made a lock that never expired
    journal = "tuning/study.journal"
    (tmp_path / "tuning").mkdir()
    (tmp_path / "tuning" / "study.journal.lock").touch()
    started = time.monotonic()
    study = optuna.create_study(study_name="left-lock", storage=journal_storage(journal, lock_grace_seconds=3))
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=1.0))
    assert time.monotonic() - started < 30
    assert not (tmp_path / "tuning" / "study.journal.lock").exists()
    assert len(_study(tmp_path / journal).trials) == 1


def test_space_parses_suggests_and_overrides():
    parameters = parse_space(
        {
            **SPACE,
            "architecture.hidden_sizes": {"type": "int", "low": 16, "high": 64},
            "architecture.dropout": {"type": "categorical", "choices": [0.0, 0.2]},
        }
    )
    base = {"architecture": {"hidden_sizes": [32, 32], "latent_dim": 4, "dropout": 0.2}, "training": {}}
    trial = optuna.trial.FixedTrial(
        {
            "architecture.hidden_sizes": 48,
            "architecture.latent_dim": 3,
            "architecture.dropout": 0.0,
            "training.learning_rate": 0.002,
        }
    )
    values = {p.key: p.suggest(trial) for p in parameters}
    assert overrides(values, base) == {
        "architecture": {"hidden_sizes": [48, 48], "latent_dim": 3, "dropout": 0.0},
        "training": {"learning_rate": 0.002},
    }
    # Whole lists as categorical choices travel through Optuna as text and come back as lists.
    (layers,) = parse_space({"architecture.hidden_sizes": {"type": "categorical", "choices": [[64], [64, 16]]}})
    assert layers.suggest(optuna.trial.FixedTrial({"architecture.hidden_sizes": "[64, 16]"})) == [64, 16]
    # The config's own values, where they lie in the space, are a point of it (widths all equal: one int).
    point = default_point(parameters, {**base, "training": {"learning_rate": 0.003}})
    assert point == {
        "architecture.dropout": 0.2,
        "architecture.hidden_sizes": 32,
        "architecture.latent_dim": 4,
        "training.learning_rate": 0.003,
    }
    assert default_point(parameters, {**base, "training": {"learning_rate": 0.5}}) is None


def test_config_errors_name_the_culprit():
    with pytest.raises(TuningConfigError, match=r"unknown config key 'latent_size' under architecture"):
        leaf_schema(SCHEMA, "architecture.latent_size")
    with pytest.raises(TuningConfigError, match="only keys under architecture or training"):
        leaf_schema(SCHEMA, "clustering.k")
    assert leaf_schema(SCHEMA, "training.modality_weights.expression")["type"] == "number"
    model_config = {"heads": {"cox": {"weight": 0.0}}}
    modalities = {"ae_multimodal": ["expression", "mutation"]}

    def check(search: dict, model: str = "ae_multimodal") -> None:
        check_tuning({"tuning": {"models": {model: search}}}, SCHEMA, {"ae_multimodal": model_config}, modalities)

    check({"space": SPACE})
    with pytest.raises(TuningConfigError, match=r"tuning.models.ae_vae: not an autoencoder this config plans"):
        check({"space": SPACE}, model="ae_vae")
    with pytest.raises(TuningConfigError, match="val_c_index scores the Cox head, but this model has none"):
        check({"space": SPACE, "metric": "val_c_index"})
    with pytest.raises(TuningConfigError, match=r"architecture.dropout.*0.99 is not allowed"):
        check({"space": {"architecture.dropout": {"type": "float", "low": 0.1, "high": 0.99}}})
    with pytest.raises(TuningConfigError, match="'protein' is not a modality of this model"):
        check({"space": {"training.modality_weights.protein": {"type": "float", "low": 0.5, "high": 2}}})
    with pytest.raises(TuningConfigError, match="log scale needs low > 0"):
        check({"space": {"architecture.dropout": {"type": "float", "low": 0.0, "high": 0.5, "log": True}}})
    with pytest.raises(ConfigError, match=r"tuning.models.ae_multimodal.n_trails'; did you mean .*'n_trials'"):
        check_config_keys({"tuning": {"models": {"ae_multimodal": {"space": SPACE, "n_trails": 3}}}}, SCHEMA)


def test_an_unknown_dotted_key_stops_the_workflow_before_anything_runs(tmp_path):
    search = {"space": {"architecture.latent_size": {"type": "int", "low": 2, "high": 8}}}
    path = write_config(tmp_path, _tuning_config("bad", search))
    result = run_snakemake(tmp_path, path, "-n", check=False, timeout=120)
    assert result.returncode != 0
    assert "tuning space 'architecture.latent_size': unknown config key 'latent_size'" in result.stdout + result.stderr


# Held-out tumors never inform the choice.


def _cohort(test_seed: int, val_shift: float = 0.0) -> dict[str, ad.AnnData]:
    """Two normalized modalities of 160 tumors driven by 3 factors; the test rows come from ``test_seed``."""
    rng = np.random.default_rng(0)
    n = 160
    split = np.array(["train"] * 96 + ["val"] * 32 + ["test"] * 32)
    factors = rng.normal(size=(n, 3))
    # Survival for the Cox head: the hazard rises with the first factor.
    time_to_event = rng.exponential(1000 * np.exp(-factors[:, 0]))
    censoring = rng.uniform(0, 2000, n)
    obs = pd.DataFrame(
        {"split": split, "os_days": np.minimum(time_to_event, censoring), "os_event": time_to_event <= censoring},
        index=[f"t{i}" for i in range(n)],
    )
    obs["os_event"] = obs["os_event"].astype(int)
    adatas = {}
    for name, width in (("rna", 30), ("methylation", 20)):
        values = (factors @ rng.normal(size=(3, width)) + 0.3 * rng.normal(size=(n, width))).astype(np.float32)
        values[split == "val"] += val_shift
        adata = ad.AnnData(values, obs=obs.copy())
        adata.var_names = [f"{name}{j}" for j in range(width)]
        adatas[name] = adata
    # Other held-out tumors altogether: new values, new names, and one tumor fewer in one modality.
    other = np.random.default_rng(test_seed)
    for adata in adatas.values():
        test = adata.obs["split"] == "test"
        adata.X[test.to_numpy()] = other.normal(size=(int(test.sum()), adata.n_vars)) * (1 + test_seed)
        adata.obs_names = [f"{s}_{test_seed}" if t else s for s, t in zip(adata.obs_names, test, strict=True)]
    adatas["methylation"] = adatas["methylation"][: n - test_seed].copy()
    return adatas


MODEL_PARAMS = {
    "architecture": {
        "hidden_sizes": [16],
        "latent_dim": 4,
        "activation": "relu",
        "dropout": 0.1,
        "batch_norm": False,
        "variant": "plain",
        "fusion": "mean",
    },
    "training": {"max_epochs": 12, "patience": 5, "batch_size": 32, "learning_rate": 0.003, "weight_decay": 0.0},
    "heads": {"cox": 0.0, "classification": 0.0, "label": None, "survival": None},
    "kinds": {"rna": "continuous", "methylation": "continuous"},
    "losses": {"rna": {}, "methylation": {}},
}


def _search(tmp_path, name: str, adatas) -> tuple[str, pd.DataFrame]:
    settings = SearchSettings(n_trials=6, seed=0, n_startup_trials=2, n_warmup_epochs=3)
    search = search_problem("ae_multimodal", adatas, MODEL_PARAMS, SPACE, settings)
    run_worker(tmp_path / name / "study.journal", search, 0, tmp_path / name / "work")
    study = open_study(tmp_path / name / "study.journal", search, create=False)
    table = trials_table(study, search.parameters)
    return search.study_name, table[["number", "state", "value", *SPACE]]


def test_the_data_fingerprint_sees_every_value_and_name_but_not_the_order_of_modalities():
    """The data part of a study's name (and of a training checkpoint's identity): data_fingerprint."""
    from scipy import sparse

    from oncoae.data.modality import ModalityBatchSource, data_fingerprint

    def source(values: dict, time: float = 1.0) -> ModalityBatchSource:
        presence = np.ones((2, len(values)), dtype=bool)
        return ModalityBatchSource(["t1", "t2"], values, presence, {"time": np.array([time, 2.0], np.float32)})

    rna, mutation = np.array([[0.5, 1.0], [2.0, 0.0]], np.float32), sparse.csr_matrix(np.eye(2, dtype=np.float32))
    first = data_fingerprint(source({"rna": rna, "mutation": mutation}))
    assert data_fingerprint(source({"mutation": mutation, "rna": rna})) == first
    assert data_fingerprint(source({"rna": mutation, "mutation": rna})) != first
    assert data_fingerprint(source({"rna": rna * 2, "mutation": mutation})) != first
    assert data_fingerprint(source({"rna": rna, "mutation": mutation}, time=3.0)) != first
    two = source({"rna": rna, "mutation": mutation})
    assert data_fingerprint(two, two) != first  # train and val both count


def test_changing_held_out_tumors_does_not_change_the_choice(tmp_path):
    first_name, first = _search(tmp_path, "first", _cohort(test_seed=1))
    second_name, second = _search(tmp_path, "second", _cohort(test_seed=2))
    assert len(first) == 6 and first["state"].isin(["COMPLETE", "PRUNED"]).all()
    # Same study identity, same trials, same values, hence the same best trial.
    assert first_name == second_name
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    # The comparison has power: shifting validation tumors does change the trials' scores.
    _name, shifted = _search(tmp_path, "val_shift", _cohort(test_seed=1, val_shift=0.5))
    assert not np.allclose(shifted["value"].to_numpy(), first["value"].to_numpy())


def test_a_cox_model_is_chosen_by_validation_c_index(tmp_path):
    params = copy.deepcopy(MODEL_PARAMS)
    survival = {"time": "os_days", "event": "os_event"}
    params["heads"] = {"cox": 1.0, "classification": 0.0, "label": None, "survival": survival}
    settings = SearchSettings(n_trials=3, metric="val_c_index", seed=0, max_epochs=8, pruning=False)
    search = search_problem("ae_cox", _cohort(test_seed=1), params, SPACE, settings)
    run_worker(tmp_path / "study.journal", search, 0, tmp_path / "work")
    study = open_study(tmp_path / "study.journal", search, create=False)
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    values = [t.value for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]
    assert len(values) == 3
    # The first factor drives both the data and the hazard, so the Cox head ranks validation tumors well.
    assert all(0.6 < value <= 1.0 for value in values)


# The search in the workflow: parallel workers, one study, the tuned model, the report.


def test_two_parallel_workers_share_one_study_and_the_tuned_model_uses_the_best_trial(tmp_path):
    # Trials of a second or so: long enough for both workers to join while the other one runs.
    search = {
        "n_trials": 8,
        "n_workers": 2,
        "max_epochs": 40,
        "pruning": {"n_startup_trials": 3, "n_warmup_epochs": 8},
        "space": SPACE,
    }
    config = _tuning_config("tuned", search)
    # With an autoencoder tuned, kernel PCA chooses its components and gamma on validation tumors too.
    config["models"].update(baselines=["kpca"], baselines_per_modality=False)
    path = write_config(tmp_path, config)
    # Up to the report (what is read below): the annotated latents and the MuData export are the tiny run's.
    run_snakemake(tmp_path, path, "results/tuned/report.html")
    out = tmp_path / "results" / "tuned"
    # The search's files are where the run layout says (tests/test_layout.py checks the other kinds).
    files = plan_run(config, SCHEMA, lambda c: validate(c, str(REPO / "config" / "schema.yaml"))).run_files()
    for kind in ("tuning", "tuning_worker", "study"):
        assert files[kind] and all((tmp_path / p).exists() for p in files[kind]), kind
    study = _study(out / "tuning" / "ae_multimodal" / "study.journal")
    finished = study.get_trials(states=FINISHED)
    assert 8 <= len(finished) <= 9  # two workers finishing at the same instant may overshoot by one
    assert {t.user_attrs["worker"] for t in finished} == {0, 1}  # both workers wrote into the one study
    workers = [pd.read_csv(out / "tuning" / "ae_multimodal" / f"worker{k}.tsv", sep="\t") for k in (0, 1)]
    assert sorted(pd.concat(workers)["number"]) == sorted(t.number for t in study.trials)
    # The config's values (latent 4, learning rate 0.003) ran as a trial of the study.
    baseline = [t for t in study.trials if t.user_attrs.get("config_values")]
    assert baseline[0].params == {"architecture.latent_dim": 4, "training.learning_rate": 0.003}

    best = yaml.safe_load((out / "tuning" / "ae_multimodal" / "best.yaml").read_text())
    assert best["trial"] == study.best_trial.number
    assert best["params"] == study.best_trial.params
    assert best["value"] == pytest.approx(study.best_trial.value)
    trials = pd.read_csv(out / "tuning" / "ae_multimodal" / "trials.tsv", sep="\t")
    assert len(trials) == len(study.trials)

    # The tuned model was trained with the best values; its untuned twin with the config's.
    tuned, _ = load_model(out / "models" / "ae_multimodal" / "seed0" / "model.pt")
    untuned, _ = load_model(out / "models" / "ae_untuned" / "seed0" / "model.pt")
    assert tuned.spec.latent_dim == best["params"]["architecture.latent_dim"]
    assert untuned.spec.latent_dim == 4
    train_log = (out / "logs" / "train_autoencoder" / "ae_multimodal" / "seed0.log").read_text()
    assert f"hyperparameters of search trial {best['trial']}" in train_log

    report = (out / "report.html").read_text()
    assert "Hyperparameter search" in report
    section = report.split("<h2 id='hyperparameter-search'>", 1)[1].split("<h2", 1)[0]
    for title in ("optimization history", "parameter importances"):  # both figures, inline
        assert f'<img alt="ae_multimodal: {title}" src="data:image/png;base64,' in section
    assert "ae_multimodal: tuned vs untuned, final models" in section and "ae_untuned" in section

    # kpca_concat chose among 5 x 5 settings (components 4..64 around 16, gamma 0.1..10 x 1/n_features).
    kpca = ad.read_h5ad(out / "latent" / "kpca_concat" / "baseline.h5ad")
    selection = kpca.uns["selection"]
    assert len(selection["score"]) == 25 and np.isfinite(selection["score"]).all()
    assert set(selection["n_components"]) == {4, 8, 16, 32, 64}
    best = int(np.argmax(selection["score"]))
    assert kpca.uns["n_components"] == selection["n_components"][best] == kpca.obsm["X_latent"].shape[1]
    baseline_log = (out / "logs" / "fit_baseline" / "kpca_concat.log").read_text()
    assert "kpca: chose n_components" in baseline_log


# Resumption after an interruption.


def test_a_killed_search_resumes_without_redoing_finished_trials(tmp_path):
    n_trials = 6
    search = {
        "n_trials": n_trials,
        "n_workers": 2,
        "enqueue_defaults": False,
        "pruning": {"enabled": False},
        "space": SPACE,
    }
    config = _tuning_config("killed", search)
    config["training"].update(max_epochs=30, patience=30)  # steady trials of a second or two
    path = write_config(tmp_path, config)
    out = tmp_path / "results" / "killed"
    journal = out / "tuning" / "ae_multimodal" / "study.journal"
    target = "results/killed/tuning/ae_multimodal/best.yaml"  # relative to snakemake's --directory
    command = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path)]
    command += ["--configfile", str(path), "--cores", "2", target]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    console = (tmp_path / "first_run.log").open("w")
    process = subprocess.Popen(command, stdout=console, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            if _n_finished(journal):
                break
            time.sleep(0.1)
        assert process.poll() is None, f"snakemake ended early:\n{(tmp_path / 'first_run.log').read_text()[-3000:]}"
    finally:
        # SIGKILL snakemake and every job it started (workers included), as a pre-empted run would die.
        family = [process, *psutil.Process(process.pid).children(recursive=True)] if process.poll() is None else []
        for member in family:
            try:
                os.kill(member.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(timeout=30)
        console.close()
    time.sleep(0.5)
    before = {t.number: t for t in _study(journal).trials}
    finished_before = {n: t for n, t in before.items() if t.state in FINISHED}
    assert 1 <= len(finished_before) < n_trials, "the search was not interrupted mid-way"
    assert not (out / "tuning" / "ae_multimodal" / "best.yaml").exists()

    run_snakemake(tmp_path, path, "--unlock")
    run_snakemake(tmp_path, path, target, "--rerun-incomplete")
    study = _study(journal)
    after = {t.number: t for t in study.trials}
    for number, trial in finished_before.items():  # kept as they were, not run again
        assert after[number].state == trial.state
        assert after[number].params == trial.params
        assert after[number].value == trial.value
        assert after[number].datetime_complete == trial.datetime_complete
    finished = [t for t in study.trials if t.state in FINISHED]
    assert n_trials <= len(finished) <= n_trials + 1  # only the missing trials were run
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    # Trials the kill interrupted are marked failed and their parameters were tried again.
    interrupted = [n for n, t in before.items() if t.state == optuna.trial.TrialState.RUNNING]
    assert all(after[n].state == optuna.trial.TrialState.FAIL for n in interrupted)
    retried = {t.user_attrs["retry_of"]: t for t in study.trials if "retry_of" in t.user_attrs}
    for number in interrupted:
        if before[number].params:
            assert retried[number].params == before[number].params
    best = yaml.safe_load((out / "tuning" / "ae_multimodal" / "best.yaml").read_text())
    assert best["trial"] == study.best_trial.number


def test_a_starting_worker_fails_only_stale_trials(monkeypatch):
    """Worker 1 starts while the study holds: its own leftover trial (stale: Snakemake never runs one worker
    twice), worker 0's live trial, an untagged trial whose worker died between asking and tagging, and an untagged
    trial that a live worker tags a moment later. Only the first and the third are failed and queued again; the
    untagged orphan is not left RUNNING, which would keep the search a trial short."""
    monkeypatch.setattr(search_module, "UNTAGGED_STALE_SECONDS", 1.0)
    study = optuna.create_study()
    own, live, orphan, late = (study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}) for _ in range(4))
    own.set_user_attr("worker", 1)
    live.set_user_attr("worker", 0)
    tagger = threading.Timer(0.3, late.set_user_attr, args=("worker", 0))
    tagger.start()
    try:
        failed = fail_stale_trials(study, worker=1)
    finally:
        tagger.join()
    assert failed == [own.number, orphan.number]
    states = {t.number: t.state for t in study.trials}
    assert states[own.number] == states[orphan.number] == optuna.trial.TrialState.FAIL
    assert states[live.number] == states[late.number] == optuna.trial.TrialState.RUNNING
    queued = [t for t in study.trials if t.state == optuna.trial.TrialState.WAITING]
    assert sorted(t.user_attrs["retry_of"] for t in queued) == [own.number, orphan.number]
