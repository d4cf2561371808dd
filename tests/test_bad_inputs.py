"""Every bad input gets a clear error naming the file and the culprit, a non-zero exit, no partial outputs, and
untouched inputs. Each case breaks one thing in a good tiny local data set and runs the real workflow up to the
normalized modalities (or, where the expected behaviour is a logged repair, checks the log line)."""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from oncoae.data.simulate import ModalitySimulation, SimulationSettings, simulate_cohort

from .conftest import run_snakemake, write_config

pytestmark = pytest.mark.workflow

TARGETS = ["results/bad/normalized/expr.h5ad", "results/bad/normalized/mut.h5ad"]


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
    def edit(table):
        table["GENE00000"] = "7.0"
        return table

    _edit_table(folder / "expr.tsv", edit)


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


@dataclass
class Case:
    name: str
    breaks: Callable[[Path, dict], None]
    message: str  # a regex fragment of the error, or of the log line for a repair
    repaired: bool = False  # a documented, logged repair instead of an error
    log: str = ""  # where the repair is logged (relative to the run folder)
    # Outputs that must not exist; another modality's step may legitimately finish its own output.
    absent: tuple[str, ...] = tuple(TARGETS)


EXPR_ONLY = (TARGETS[0],)
MUT_ONLY = (TARGETS[1],)


CASES = [
    # Config
    Case("unknown key", _config(trainig={"max_epochs": 3}), r"unknown config key 'trainig'; did you mean 'training'"),
    Case("wrong type", _config(seeds="zero"), r"seeds"),
    Case("out of range", _config(split__fractions={"train": 0.6, "val": 0.1, "test": 1.5}), r"1\.5"),
    Case("unsafe dataset name", _config(dataset="../escape"), r"dataset|\.\./escape"),
    Case("unsafe modality name", _config(modalities={"../m": {"path": "x"}}), r"\.\./m"),
    Case("label column absent", _config(clinical__labels=["pam50"]), r"clinical\.tsv: column 'pam50' not found"),
    Case(
        "misspelt key in a model variant",
        _config(models__autoencoders={"variants": {"vae": {"architecture": {"variant": "vae", "beta": 2}}}}),
        r"variants\.vae: [\s\S]*unknown config key 'architecture\.beta'",
    ),
    Case(
        "product of experts without a VAE",
        _config(models__autoencoders={"variants": {"poe": {"architecture": {"fusion": "poe"}}}}),
        r"ae_poe: architecture\.fusion poe .* needs architecture\.variant vae",
    ),
    Case(
        "Cox head without survival columns",
        _config(clinical__survival=None, heads={"cox": {"weight": 1.0}}),
        r"heads\.cox needs clinical\.survival",
    ),
    Case(
        "beta likelihood on scaled data",
        _config(modalities__expr__kind="beta"),
        r"modalities\.expr: kind beta .* transform none and scale none",
    ),
    Case(
        "survival column absent",
        _config(clinical__survival={"time": "os_months", "event": "os_event"}),
        r"clinical\.tsv: column 'os_months' not found",
    ),
    # Samples
    Case("duplicate sample", _duplicate_sample, r"expr\.tsv: sample 'SIM-\d+' appears more than once"),
    Case("no overlap with clinical", _no_overlap, r"expr\.tsv: no sample overlaps the clinical table"),
    Case(
        "fewer held-out tumors than clusters",
        _config(clustering={"k": 40}),
        r"only \d+ held-out tumors for 40 clusters",
    ),
    # Values
    Case(
        "non-numeric cell",
        _set_cell("expr.tsv", 4, "GENE00002", "12,5"),
        r"expr\.tsv: non-numeric value '12,5' in column 'GENE00002', row 'SIM-\d+'",
    ),
    Case(
        "infinite value",
        _set_cell("expr.tsv", 2, "GENE00001", "inf"),
        r"expr\.tsv: infinite value in column 'GENE00001', row 'SIM-\d+'",
    ),
    Case(
        "negative value under log",
        _set_cell("expr.tsv", 0, "GENE00003", "-4"),
        r"modality 'expr': transform 'log1p' needs non-negative values, found -4 in feature 'GENE00003', sample",
        absent=EXPR_ONLY,
    ),
    Case(
        "sparse NaN is imputed",
        _set_cell("expr.tsv", 1, "GENE00004", "NA"),
        r"imputed 1 missing values with the training mean",
        repaired=True,
        log="results/bad/logs/normalize_modality/expr.log",
    ),
    Case(
        "tumor missing most values",
        _mostly_missing_tumor,
        r"modality 'expr': sample 'SIM-\d+' misses 97% of its values",
        absent=EXPR_ONLY,
    ),
    Case(
        "all-missing feature is dropped",
        _all_missing_feature,
        r"dropped 1 missing, 0 constant",
        repaired=True,
        log="results/bad/logs/normalize_modality/expr.log",
    ),
    Case(
        "constant feature is dropped",
        _constant_feature,
        r"dropped 0 missing, 1 constant",
        repaired=True,
        log="results/bad/logs/normalize_modality/expr.log",
    ),
    Case(
        "modality empty after filtering",
        _all_filtered,
        r"modality 'mut': no feature left after filtering",
        absent=MUT_ONLY,
    ),
    # Labels and survival
    Case("one-class label", _one_class_label, r"label column 'subtype' has fewer than 2 classes"),
    Case(
        "negative survival time",
        _set_cell("clinical.tsv", 3, "os_days", "-20"),
        r"column 'os_days', sample 'SIM-\d+': negative survival time -20",
    ),
    Case(
        "event outside 0/1",
        _set_cell("clinical.tsv", 3, "os_event", "2"),
        r"column 'os_event', sample 'SIM-\d+': cannot read event '2'",
    ),
    Case(
        "unparseable event",
        _set_cell("clinical.tsv", 5, "os_event", "perhaps"),
        r"column 'os_event', sample 'SIM-\d+': cannot read event 'perhaps'",
    ),
    # Files
    Case("truncated gzip", _truncate_gzip, r"mut\.tsv\.gz: cannot be read .*truncated"),
    Case("invalid h5ad", _invalid_h5ad, r"expr\.h5ad: not a valid \.h5ad file"),
]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    config = _good_dataset(inputs)
    case.breaks(inputs, config)
    before = _digest(inputs)
    run = tmp_path / "run"
    run.mkdir()
    result = run_snakemake(run, write_config(run, config), *TARGETS, check=False, timeout=300)
    output = result.stdout + result.stderr
    if case.repaired:
        assert result.returncode == 0, output[-3000:]
        assert re.search(case.message, (run / case.log).read_text()), case.log
    else:
        assert result.returncode != 0, output[-3000:]
        assert re.search(case.message, output), output[-3000:]
        for target in case.absent:
            assert not (run / target).exists(), target
    assert not list(run.rglob("*.part*")), "a temporary file was left behind"
    assert _digest(inputs) == before, "an input file was modified"
