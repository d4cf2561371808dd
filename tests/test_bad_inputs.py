"""Every bad input gets a clear error naming the file and the culprit, a non-zero exit, no partial outputs, and
untouched inputs. Each case breaks one thing in a good tiny local data set.

Most cases call what the failing step calls, in-process: the config checks the Snakefile runs while the DAG is
built (``oncoae.workflow.check_config``), the readers of the ingest steps, the normalizer. One real snakemake run
per distinct failing step then checks what only the workflow can show: the exit status, the one console line with
the log's path, that the step's own declared outputs are gone, and that the inputs are untouched (these runs start
side by side)."""

from __future__ import annotations

import copy
import gzip
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from snakemake.utils import validate

from oncoae.config_check import config_error_message, read_header
from oncoae.data.ingest import ingest_modality
from oncoae.data.modality import table_to_anndata
from oncoae.data.normalize import ModalityNormalizer, NormalizationSettings
from oncoae.data.readers import read_clinical_file
from oncoae.data.simulate import ModalitySimulation, SimulationSettings, simulate_cohort
from oncoae.data.split import make_split
from oncoae.workflow import check_config, check_configured_columns

from .conftest import REPO, BackgroundRun, selected, write_config

SCHEMA_PATH = REPO / "config" / "schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
SAMPLE = r"'SIM-\d+'"


def _good_dataset(folder: Path) -> dict:
    settings = SimulationSettings(n_tumors=80, n_subtypes=3, seed=5, missing_fraction=0.1)
    settings.modalities = {
        "expression": ModalitySimulation(30, 0.3, 1.0, 0.06),
        "mutation": ModalitySimulation(20, 0.2, 2.0, 0.0),
    }
    cohort = simulate_cohort(settings)
    cohort.table("expression").to_csv(folder / "expr.tsv", sep="\t", index_label="sample")
    with gzip.open(folder / "mut.tsv.gz", "wt") as handle:
        cohort.table("mutation").to_csv(handle, sep="\t", index_label="sample")
    cohort.clinical.to_csv(folder / "clinical.tsv", sep="\t", index_label="sample")
    return {
        "dataset": "bad",
        "source": "local",
        "clinical": {
            "path": str(folder / "clinical.tsv"),
            "labels": ["subtype"],
            "survival": {"time": "os_days", "event": "os_event"},
        },
        "modalities": {
            "expr": {"path": str(folder / "expr.tsv"), "normalization": {"transform": "log1p"}},
            "mut": {
                "path": str(folder / "mut.tsv.gz"),
                "kind": "binary",
                "normalization": {"scale": "none", "min_frequency": 0.01},
            },
        },
        "split": {"stratify": "subtype"},
        "clustering": {"k": 3},
    }


# ---------------------------------------------------------------------------------------------------------------
# Ways to break the good data set


def _edit_table(path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    table = pd.read_csv(path, sep="\t", index_col=0, dtype=str, keep_default_na=False)
    table = edit(table)
    table.to_csv(path, sep="\t")


def _set_cell(path_name: str, row: int, column: str, value: str):
    def apply(folder: Path, config: dict) -> None:
        def edit(table):
            table.iloc[row, table.columns.get_loc(column)] = value
            return table

        _edit_table(folder / path_name, edit)

    return apply


def _config(**changes):
    """Config changes as keyword arguments, nested keys joined by '__'."""

    def apply(folder: Path, config: dict) -> None:
        for dotted, value in changes.items():
            node = config
            keys = dotted.split("__")
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = value

    return apply


def _duplicate_sample(folder: Path, config: dict) -> None:
    _edit_table(folder / "expr.tsv", lambda t: pd.concat([t, t.iloc[[3]]]))


def _duplicate_feature(folder: Path, config: dict) -> None:
    lines = (folder / "expr.tsv").read_text().splitlines()
    # The header names GENE00002 twice (a pasted column): pandas alone would call the second 'GENE00002.1'.
    (folder / "expr.tsv").write_text("\n".join([lines[0].replace("GENE00003", "GENE00002"), *lines[1:]]) + "\n")


def _duplicate_clinical_column(folder: Path, config: dict) -> None:
    lines = (folder / "clinical.tsv").read_text().splitlines()
    (folder / "clinical.tsv").write_text("\n".join([lines[0].replace("risk_program", "age"), *lines[1:]]) + "\n")


def _survival_in_months_declared_days(folder: Path, config: dict) -> None:
    def edit(table):
        table["os_days"] = (table["os_days"].astype(float) / (365.25 / 12)).round(1).astype(str)
        return table

    _edit_table(folder / "clinical.tsv", edit)


def _no_overlap(folder: Path, config: dict) -> None:
    def edit(table):
        table.index = [f"OTHER-{i}" for i in range(len(table))]
        return table

    _edit_table(folder / "expr.tsv", edit)


def _truncate_gzip(folder: Path, config: dict) -> None:
    data = (folder / "mut.tsv.gz").read_bytes()
    (folder / "mut.tsv.gz").write_bytes(data[: len(data) // 2])


def _invalid_h5ad(folder: Path, config: dict) -> None:
    (folder / "expr.h5ad").write_bytes(b"this is not an HDF5 file at all\n" * 20)
    config["modalities"]["expr"]["path"] = str(folder / "expr.h5ad")


def _constant_feature(folder: Path, config: dict) -> None:
    _edit_table(folder / "expr.tsv", lambda t: t.assign(GENE00000="7.0"))


def _mostly_missing_tumor(folder: Path, config: dict) -> None:
    def edit(table):
        table.iloc[6, 1:] = "NA"
        return table

    _edit_table(folder / "expr.tsv", edit)


def _all_missing_feature(folder: Path, config: dict) -> None:
    _edit_table(folder / "expr.tsv", lambda t: t.assign(GENE00005="NA"))


def _all_filtered(folder: Path, config: dict) -> None:
    config["modalities"]["mut"]["normalization"]["min_frequency"] = 1.0


def _one_class_label(folder: Path, config: dict) -> None:
    config["split"]["stratify"] = None
    _edit_table(folder / "clinical.tsv", lambda t: t.assign(subtype="S1"))


def _both(*breaks):
    def apply(folder: Path, config: dict) -> None:
        for one in breaks:
            one(folder, config)

    return apply


@dataclass
class Case:
    name: str
    breaks: Callable[[Path, dict], None]
    message: str  # a regex the error message must match from its start: it names the file or key and the culprit


def _ids(cases):
    return [case.name for case in cases]


def _broken(tmp_path: Path, case: Case) -> tuple[Path, dict]:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    config = _good_dataset(inputs)
    case.breaks(inputs, config)
    return inputs, config


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def _validate(settings: dict) -> None:
    validate(settings, str(SCHEMA_PATH), set_default=True)


def _checked_config(config: dict) -> dict:
    """What the Snakefile checks while it builds the DAG (rules/common.smk), on a copy; the defaults filled in."""
    config = copy.deepcopy(config)
    plans, model_configs = check_config(config, SCHEMA, _validate)
    path = config["clinical"]["path"]
    check_configured_columns(config, plans, model_configs, read_header(path), path)
    return config


# ---------------------------------------------------------------------------------------------------------------
# Config errors: raised while the DAG is built, so checked in-process


CONFIG_CASES = [
    Case("unknown key", _config(trainig={"max_epochs": 3}), r"unknown config key 'trainig'; did you mean 'training'\?"),
    Case("wrong type", _config(seeds="zero"), r"seeds: 'zero' is not of type 'array'$"),
    Case(
        "out of range",
        _config(split__fractions={"train": 0.6, "val": 0.1, "test": 1.5}),
        r"split\.fractions\.test: 1\.5 is greater than the maximum of 1$",
    ),
    Case("unsafe dataset name", _config(dataset="../escape"), r"dataset: '\.\./escape' does not match "),
    Case("unsafe modality name", _config(modalities={"../m": {"path": "x"}}), r"modalities: '\.\./m' does not match "),
    Case(
        "misspelt key in a model variant",
        _config(models__autoencoders={"variants": {"vae": {"architecture": {"variant": "vae", "beta": 2}}}}),
        r"models\.autoencoders\.variants\.vae: unknown config key 'architecture\.beta'",
    ),
    Case(
        "product of experts without a VAE",
        _config(models__autoencoders={"variants": {"poe": {"architecture": {"fusion": "poe"}}}}),
        r"ae_poe: architecture\.fusion poe \(product of experts\) needs architecture\.variant vae$",
    ),
    Case(
        "Cox head without survival columns",
        _config(clinical__survival=None, heads={"cox": {"weight": 1.0}}),
        r"ae_expr: heads\.cox needs clinical\.survival",
    ),
    Case(
        "beta likelihood on scaled data",
        _config(modalities__expr__kind="beta"),
        r"modalities\.expr: kind beta models the data as they are; set normalization transform none and scale none",
    ),
    # Misspelt clinical columns (checked against the clinical table's header)
    Case(
        "label column in the wrong case",
        _config(clinical__labels=["Subtype"]),
        r"clinical\.labels: column 'Subtype' not in \S+clinical\.tsv; did you mean 'subtype'\?$",
    ),
    Case(
        "label column absent",
        _config(clinical__labels=["pam50"]),
        r"clinical\.labels: column 'pam50' not in \S+clinical\.tsv; columns are sample, subtype, ",
    ),
    Case(
        "survival column absent",
        _config(clinical__survival={"time": "os_day", "event": "os_event"}),
        r"clinical\.survival\.time: column 'os_day' not in \S+clinical\.tsv; did you mean 'os_days'\?$",
    ),
    Case(
        "stratification column misspelt",
        _config(split__stratify="subtypes"),
        r"split\.stratify: column 'subtypes' not in \S+clinical\.tsv; did you mean 'subtype'\?$",
    ),
    Case(
        "split column absent",
        _config(split__column="given_split"),
        r"split\.column: column 'given_split' not in \S+clinical\.tsv",
    ),
    Case(
        "enrichment column misspelt",
        _config(evaluation={"enrichment_columns": ["Age"]}),
        r"evaluation\.enrichment_columns: column 'Age' not in \S+clinical\.tsv; did you mean 'age'\?$",
    ),
    Case(
        "classification label misspelt in a variant",
        _config(
            models__autoencoders={
                "variants": {"cls": {"heads": {"classification": {"weight": 1.0, "label": "subtyp"}}}}
            }
        ),
        r"models\.autoencoders\.variants\.cls: heads\.classification\.label: column 'subtyp' not in \S+clinical\.tsv; "
        r"did you mean 'subtype'\?$",
    ),
]


def test_the_good_config_passes_every_config_check(tmp_path):
    _checked_config(_good_dataset(tmp_path))


@pytest.mark.parametrize("case", CONFIG_CASES, ids=_ids(CONFIG_CASES))
def test_config_error(case: Case, tmp_path):
    _inputs, config = _broken(tmp_path, case)
    with pytest.raises(Exception) as raised:
        _checked_config(config)
    message = config_error_message(raised.value)
    assert message is not None, raised.value  # a config error, not a bug
    assert re.match(case.message, message), message


# ---------------------------------------------------------------------------------------------------------------
# File and value errors of the ingest and normalize steps, in-process: what the step's script calls


def _clinical(config: dict):
    clinical, split = config["clinical"], config["split"]
    return read_clinical_file(
        clinical["path"],
        clinical["id_column"],
        clinical["labels"],
        clinical["survival"],
        split_column=split["column"],
        stratify=split["stratify"],
    )


def _ingest(config: dict, modality: str):
    spec = config["modalities"][modality]
    return ingest_modality(spec["path"], spec["orientation"], _clinical(config).index)


def _normalize(config: dict, modality: str):
    """scripts/split_samples.py and scripts/normalize_modality.py in short: split, fit on train, transform all."""
    clinical = _clinical(config)
    raw = table_to_anndata(_ingest(config, modality), sparse=config["modalities"][modality]["kind"] == "binary")
    split_settings = config["split"]
    split = make_split(
        raw.obs_names.intersection(clinical.index),
        split_settings["fractions"],
        split_settings["seed"],
        stratify=clinical[split_settings["stratify"]] if split_settings["stratify"] else None,
    ).set_index("sample")["split"]
    raw = raw[raw.obs_names.isin(split.index)]
    normalizer = ModalityNormalizer(NormalizationSettings(**config["modalities"][modality]["normalization"]), modality)
    normalizer.fit(raw[split.reindex(raw.obs_names).to_numpy() == "train"])
    return normalizer.transform_anndata(raw, clinical.join(split))


STEPS = {
    "ingest_clinical": _clinical,
    "ingest_modality expr": lambda config: _ingest(config, "expr"),
    "ingest_modality mut": lambda config: _ingest(config, "mut"),
    "normalize_modality expr": lambda config: _normalize(config, "expr"),
    "normalize_modality mut": lambda config: _normalize(config, "mut"),
}


@dataclass
class StepCase(Case):
    step: str = "ingest_clinical"


STEP_CASES = [
    # Clinical table
    StepCase(
        "duplicate clinical column",
        _duplicate_clinical_column,
        r"\S+clinical\.tsv: column 'age' appears more than once in the header$",
    ),
    StepCase(
        "one-class label",
        _one_class_label,
        r"\S+clinical\.tsv: label column 'subtype' has fewer than 2 classes",
    ),
    StepCase(
        "negative survival time",
        _set_cell("clinical.tsv", 3, "os_days", "-20"),
        rf"\S+clinical\.tsv: column 'os_days', sample {SAMPLE}: negative survival time -20$",
    ),
    StepCase(
        "event outside 0/1",
        _set_cell("clinical.tsv", 3, "os_event", "2"),
        rf"\S+clinical\.tsv: column 'os_event', sample {SAMPLE}: cannot read event '2'",
    ),
    StepCase(
        "unparseable event",
        _set_cell("clinical.tsv", 5, "os_event", "perhaps"),
        rf"\S+clinical\.tsv: column 'os_event', sample {SAMPLE}: cannot read event 'perhaps'",
    ),
    StepCase(
        "survival in months declared as days",
        _survival_in_months_declared_days,
        rf"\S+clinical\.tsv: column 'os_days': the longest survival time is \d+\.\d days \(sample {SAMPLE}\), "
        r"implausibly short for clinical\.survival\.unit days; if the times are in months, set "
        r"clinical\.survival\.unit: months$",
    ),
    StepCase(
        "survival in days declared as months",
        _config(clinical__survival={"time": "os_days", "event": "os_event", "unit": "months"}),
        rf"\S+clinical\.tsv: column 'os_days', sample {SAMPLE}: survival time of \d+ years is implausible for "
        r"clinical\.survival\.unit months; if the times are in days, set clinical\.survival\.unit: days$",
    ),
    # Modality files
    StepCase(
        "duplicate sample",
        _duplicate_sample,
        rf"\S+expr\.tsv: sample {SAMPLE} appears more than once$",
        step="ingest_modality expr",
    ),
    StepCase(
        "duplicate feature",
        _duplicate_feature,
        r"\S+expr\.tsv: feature 'GENE00002' appears more than once in the header$",
        step="ingest_modality expr",
    ),
    StepCase(
        "no overlap with clinical",
        _no_overlap,
        r"\S+expr\.tsv: no sample overlaps the clinical table \(first IDs here: \['OTHER-0'",
        step="ingest_modality expr",
    ),
    StepCase(
        "non-numeric cell",
        _set_cell("expr.tsv", 4, "GENE00002", "12,5"),
        rf"\S+expr\.tsv: non-numeric value '12,5' in column 'GENE00002', row {SAMPLE}$",
        step="ingest_modality expr",
    ),
    StepCase(
        "infinite value",
        _set_cell("expr.tsv", 2, "GENE00001", "inf"),
        rf"\S+expr\.tsv: infinite value in column 'GENE00001', row {SAMPLE}$",
        step="ingest_modality expr",
    ),
    StepCase(
        "truncated gzip",
        _truncate_gzip,
        r"\S+mut\.tsv\.gz: cannot be read \(.*\); is it truncated\?$",
        step="ingest_modality mut",
    ),
    StepCase(
        "invalid h5ad",
        _invalid_h5ad,
        r"\S+expr\.h5ad: not a valid \.h5ad file \(",
        step="ingest_modality expr",
    ),
    # Values the normalizer refuses
    StepCase(
        "negative value under log",
        _set_cell("expr.tsv", 0, "GENE00003", "-4"),
        rf"modality 'expr': transform 'log1p' needs non-negative values, found -4 in feature 'GENE00003', sample "
        rf"{SAMPLE}",
        step="normalize_modality expr",
    ),
    StepCase(
        "tumor missing most values",
        _mostly_missing_tumor,
        rf"modality 'expr': sample {SAMPLE} misses 97% of its values",
        step="normalize_modality expr",
    ),
    StepCase(
        "modality empty after filtering",
        _all_filtered,
        r"modality 'mut': no feature left after filtering",
        step="normalize_modality mut",
    ),
]


@pytest.mark.parametrize("case", STEP_CASES, ids=_ids(STEP_CASES))
def test_step_error(case: StepCase, tmp_path):
    inputs, config = _broken(tmp_path, case)
    before = _digest(inputs)
    config = _checked_config(config)
    with pytest.raises(ValueError) as raised:  # InputError, NormalizationError, SplitError are ValueErrors
        STEPS[case.step](config)
    assert re.match(case.message, str(raised.value)), str(raised.value)
    assert _digest(inputs) == before, "an input file was modified"


@pytest.mark.parametrize(
    ("breaks", "message"),
    [
        (
            _set_cell("expr.tsv", 1, "GENE00004", "NA"),
            r"modality expr: imputed 1 missing values with the training mean",
        ),
        (_all_missing_feature, r"modality expr: kept \d+ of 30 features \(dropped 1 missing, 0 constant"),
        (_constant_feature, r"modality expr: kept \d+ of 30 features \(dropped 0 missing, 1 constant"),
    ],
    ids=["sparse NaN is imputed", "all-missing feature is dropped", "constant feature is dropped"],
)
def test_logged_repair(breaks, message, tmp_path, caplog):
    _inputs, config = _broken(tmp_path, Case("repair", breaks, message))
    with caplog.at_level(logging.INFO, logger="oncoae"):
        _normalize(_checked_config(config), "expr")
    assert re.search(message, caplog.text), caplog.text


# ---------------------------------------------------------------------------------------------------------------
# One real snakemake run per distinct failing step


@dataclass
class RunCase(Case):
    targets: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()  # the failing step's own declared outputs (rules/*.smk): none may remain
    log: str = ""  # the failing step's log, named on the console line


OUT = "results/bad"
RUN_CASES = [
    RunCase(
        "config error while the DAG is built",
        _config(split__stratify="subtypes"),
        r"split\.stratify: column 'subtypes' not in \S+clinical\.tsv; did you mean 'subtype'\?",
        targets=(f"{OUT}/split.tsv",),
        outputs=(OUT,),
    ),
    RunCase(
        "ingest_clinical",
        _set_cell("clinical.tsv", 3, "os_event", "2"),
        rf"\S+clinical\.tsv: column 'os_event', sample {SAMPLE}: cannot read event '2'.*",
        targets=(f"{OUT}/data/clinical.tsv",),
        outputs=(f"{OUT}/data/clinical.tsv",),
        log=f"{OUT}/logs/ingest_clinical.log",
    ),
    RunCase(
        "ingest_modality",
        _duplicate_feature,
        r"\S+expr\.tsv: feature 'GENE00002' appears more than once in the header",
        targets=(f"{OUT}/data/expr.h5ad",),
        outputs=(f"{OUT}/data/expr.h5ad",),
        log=f"{OUT}/logs/ingest_modality/expr.log",
    ),
    RunCase(
        "split_samples",
        _config(clustering={"k": 40}),
        r"only \d+ held-out tumors for 40 clusters; lower clustering\.k or hold out more",
        targets=(f"{OUT}/split.tsv",),
        outputs=(f"{OUT}/split.tsv",),
        log=f"{OUT}/logs/split_samples.log",
    ),
    RunCase(
        "normalize_modality",
        _set_cell("expr.tsv", 0, "GENE00003", "-4"),
        rf"modality 'expr': transform 'log1p' needs non-negative values, found -4 in feature 'GENE00003', sample "
        rf"{SAMPLE}.*",
        targets=(f"{OUT}/normalized/expr.h5ad",),
        outputs=(f"{OUT}/normalized/expr.h5ad", f"{OUT}/normalized/expr.normalizer.npz"),
        log=f"{OUT}/logs/normalize_modality/expr.log",
    ),
]


def _outside_failed_logs(output: str) -> str:
    """The console without the logs Snakemake copies into it when show-failed-logs is on (profiles/slurm)."""
    return re.sub(r"Logfile [^\n]*:\n=+\n.*?\n=+\n", "", output, flags=re.S)


@dataclass
class StartedRun:
    inputs: Path
    digest: dict[str, str]  # of the inputs, before the run started
    run: Path
    snakemake: BackgroundRun


REPAIRS = "logged repairs"


@pytest.fixture(scope="module")
def workflow_runs(request, tmp_path_factory) -> dict[str, StartedRun]:
    """The selected workflow cases by name (REPAIRS: the logged repairs), started side by side: each is a short
    snakemake run, mostly its start-up, that leaves one of the two cores idle."""
    cases = {
        item.callspec.params["case"].name: item.callspec.params["case"]
        for item in request.session.items
        if item.originalname == "test_failing_step_in_the_workflow"
    }
    started: dict[str, StartedRun] = {}
    try:
        for name, case in cases.items():
            inputs, config = _broken(tmp_path_factory.mktemp(re.sub(r"\W+", "_", name)), case)
            started[name] = _start(inputs, config, *case.targets)
        if selected(request, "test_logged_repairs_in_the_workflow"):
            inputs = tmp_path_factory.mktemp("repairs") / "inputs"
            inputs.mkdir()
            config = _good_dataset(inputs)
            _both(_set_cell("expr.tsv", 1, "GENE00004", "NA"), _constant_feature)(inputs, config)
            started[REPAIRS] = _start(inputs, config, f"{OUT}/normalized/expr.h5ad")
        yield started
    finally:
        for one in started.values():
            one.snakemake.stop()


def _start(inputs: Path, config: dict, *targets: str) -> StartedRun:
    digest = _digest(inputs)
    run = inputs.with_name("run")
    run.mkdir()
    return StartedRun(inputs, digest, run, BackgroundRun(run, write_config(run, config), *targets, timeout=300))


@pytest.mark.workflow
@pytest.mark.parametrize("case", RUN_CASES, ids=_ids(RUN_CASES))
def test_failing_step_in_the_workflow(case: RunCase, workflow_runs):
    started = workflow_runs[case.name]
    run = started.run
    result = started.snakemake.result(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    where = rf" \(traceback in {re.escape(case.log)}\)" if case.log else ""
    assert re.search(rf"^oncoae: {case.message}{where}$", output, re.M), output[-3000:]
    # One line: no Python traceback on the console (the step's log holds it).
    assert "Traceback" not in _outside_failed_logs(output), output[-3000:]
    if case.log:
        assert "Traceback (most recent call last)" in (run / case.log).read_text()
    for declared in case.outputs:
        assert not (run / declared).exists(), declared
    assert not list(run.rglob("*.part*")), "a temporary file was left behind"
    assert _digest(started.inputs) == started.digest, "an input file was modified"


@pytest.mark.workflow
def test_logged_repairs_in_the_workflow(workflow_runs):
    """The repairs are logged in the step's log and the run succeeds."""
    started = workflow_runs[REPAIRS]
    result = started.snakemake.result(check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    log = (started.run / OUT / "logs/normalize_modality/expr.log").read_text()
    assert re.search(r"imputed 1 missing values with the training mean", log), log
    assert re.search(r"kept \d+ of 30 features \(dropped 0 missing, 1 constant", log), log
