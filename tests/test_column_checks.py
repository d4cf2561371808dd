"""Clinical columns named in the config are checked against the clinical table's header while the DAG is built, so a
misspelt column stops `snakemake -n` with one line naming the key, the file and the column probably meant."""

from __future__ import annotations

import copy
import gzip

import pytest
import yaml

from oncoae.config_check import (
    SIMULATED_CLINICAL_COLUMNS,
    ConfigError,
    check_clinical_columns,
    closest_column,
    config_error_message,
    read_header,
)
from oncoae.data.simulate import SimulationSettings, simulate_cohort

from .conftest import REPO, TINY_CONFIG, run_snakemake, write_config

HEADER = ["sample", "patient", "pam50", "age", "stage", "os_event", "os_days", "given_split"]
GOOD = {
    "clinical": {"id_column": "sample", "labels": ["pam50"], "survival": {"time": "os_days", "event": "os_event"}},
    "split": {"stratify": "pam50", "column": "given_split"},
    "evaluation": {"enrichment_columns": ["age", "stage"]},
    "heads": {"classification": {"weight": 1.0, "label": "pam50"}},
}


def _with(dotted: str, value) -> dict:
    config = copy.deepcopy(GOOD)
    node = config
    *parents, last = dotted.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    return config


def test_a_config_naming_existing_columns_passes():
    check_clinical_columns(GOOD, HEADER, "clinical.tsv")


@pytest.mark.parametrize(
    ("dotted", "value", "message"),
    [
        (
            "clinical.labels",
            ["PAM50"],
            r"^clinical\.labels: column 'PAM50' not in clinical\.tsv; did you mean 'pam50'\?$",
        ),
        (
            "clinical.id_column",
            "Sample",
            r"^clinical\.id_column: column 'Sample' not in clinical\.tsv; did you mean 'sample'",
        ),
        (
            "clinical.survival",
            {"time": "os_day", "event": "os_event"},
            r"^clinical\.survival\.time: column 'os_day' not in clinical\.tsv; did you mean 'os_days'\?$",
        ),
        (
            "clinical.survival",
            {"time": "os_days", "event": "OS_EVENT"},
            r"^clinical\.survival\.event: column 'OS_EVENT' not in clinical\.tsv; did you mean 'os_event'\?$",
        ),
        (
            "split.stratify",
            "pam_50",
            r"^split\.stratify: column 'pam_50' not in clinical\.tsv; did you mean 'pam50'\?$",
        ),
        (
            "split.column",
            "split",
            r"^split\.column: column 'split' not in clinical\.tsv; did you mean 'given_split'\?$",
        ),
        (
            "evaluation.enrichment_columns",
            ["age", "tumor_stage"],
            r"^evaluation\.enrichment_columns: column 'tumor_stage' not in clinical\.tsv; did you mean 'stage'\?$",
        ),
        (
            "heads.classification",
            {"weight": 1.0, "label": "subtype"},
            r"^heads\.classification\.label: column 'subtype' not in clinical\.tsv; columns are sample, patient",
        ),
    ],
)
def test_a_missing_column_names_the_key_and_the_closest_column(dotted, value, message):
    with pytest.raises(ConfigError, match=message):
        check_clinical_columns(_with(dotted, value), HEADER, "clinical.tsv")


def test_the_guided_autoencoders_own_label_is_checked_unless_it_is_off():
    config = {**GOOD, "models": {"autoencoders": {"guided": {"label": "Stage"}}}}
    message = r"^models\.autoencoders\.guided\.label: column 'Stage' not in clinical\.tsv; did you mean 'stage'\?$"
    with pytest.raises(ConfigError, match=message):
        check_clinical_columns(config, HEADER, "clinical.tsv")
    config["models"]["autoencoders"]["guided"]["enabled"] = False
    check_clinical_columns(config, HEADER, "clinical.tsv")


def test_an_unused_classification_label_is_not_checked():
    check_clinical_columns(_with("heads.classification", {"weight": 0.0, "label": "nowhere"}), HEADER, "clinical.tsv")


def test_case_is_significant_but_suggested_first():
    # Columns are matched exactly (pandas would not find 'PAM50'), and the other case is what is suggested.
    assert closest_column("PAM50", ["pam50", "PAM"]) == "pam50"
    assert closest_column("os_months", ["OS_MONTHS", "OS_STATUS"]) == "OS_MONTHS"
    assert closest_column("zzz", ["pam50"]) is None


def test_header_reading_matches_the_readers(tmp_path):
    cbioportal = tmp_path / "data_clinical_patient.txt"
    cbioportal.write_text("#Patient Identifier\tSubtype\n#STRING\tSTRING\nPATIENT_ID\tSUBTYPE \nP1\tA\n")
    assert read_header(cbioportal) == ["PATIENT_ID", "SUBTYPE"]
    gzipped = tmp_path / "clinical.tsv.gz"
    with gzip.open(gzipped, "wt") as handle:
        handle.write("sample\tpam50\ns1\tLumA\n")
    assert read_header(gzipped) == ["sample", "pam50"]
    r_csv = tmp_path / "clinical.csv"
    r_csv.write_text('"","pam50","os days"\n"s1","LumA",3\n')
    assert read_header(r_csv) == ["", "pam50", "os days"]


def test_simulated_columns_are_the_simulators():
    cohort = simulate_cohort(SimulationSettings(n_tumors=20, n_subtypes=2, seed=0))
    assert set(SIMULATED_CLINICAL_COLUMNS) == {cohort.clinical.index.name, *cohort.clinical.columns}


def test_schema_errors_are_reduced_to_the_key_and_the_reason():
    from snakemake.utils import validate

    with pytest.raises(Exception) as raised:
        validate(
            {**copy.deepcopy(TINY_CONFIG), "seeds": "zero"}, str(REPO / "config" / "schema.yaml"), set_default=True
        )
    assert config_error_message(raised.value) == "seeds: 'zero' is not of type 'array'"
    assert config_error_message(KeyError("bug")) is None  # not a config error: the traceback is kept


@pytest.mark.workflow  # a snakemake dry run
def test_snakemake_dry_run_stops_on_a_misspelt_column_with_one_line(tmp_path):
    clinical = tmp_path / "clinical.tsv"
    clinical.write_text("sample\tpam50\tos_days\tos_event\n" + "".join(f"s{i}\tA\t{100 + i}\t1\n" for i in range(4)))
    (tmp_path / "m.tsv").write_text("sample\tg\n" + "".join(f"s{i}\t{i}\n" for i in range(4)))
    config = {
        "dataset": "cols",
        "source": "local",
        "clinical": {"path": str(clinical), "labels": ["PAM50"]},
        "modalities": {"m": {"path": str(tmp_path / "m.tsv"), "normalization": {"transform": "none"}}},
    }
    result = run_snakemake(tmp_path, write_config(tmp_path, config), "-n", check=False, timeout=120)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "profile" not in line and line.strip()]
    assert lines == [f"oncoae: clinical.labels: column 'PAM50' not in {clinical}; did you mean 'pam50'?"]
    assert not (tmp_path / "results").exists()
    # Spelled right, the same config builds its DAG.
    config["clinical"]["labels"] = ["pam50"]
    assert run_snakemake(tmp_path, write_config(tmp_path, config), "-n", check=False, timeout=120).returncode == 0


def test_example_configs_name_existing_columns():
    # The local examples read the shared TCGA tables: their configured columns must all be there.
    for name in ("tcga-brca-mixomics", "tcga-brca-cna-rppa"):
        config = yaml.safe_load((REPO / "config" / "examples" / f"{name}.yaml").read_text())
        path = REPO / config["clinical"]["path"]
        config.setdefault("split", {})
        check_clinical_columns(config, read_header(path), str(path))


def _dry_run_error(folder, config) -> tuple[int, list[str]]:
    result = run_snakemake(folder, write_config(folder, config), "-n", check=False, timeout=120)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("oncoae:")]
    return result.returncode, lines


@pytest.mark.workflow  # a snakemake dry run
def test_simulated_source_is_checked_against_the_simulators_columns(tmp_path):
    config = copy.deepcopy(TINY_CONFIG)
    config["clinical"]["labels"] = ["Subtype"]
    code, lines = _dry_run_error(tmp_path, config)
    assert code != 0 and lines == [
        "oncoae: clinical.labels: column 'Subtype' not in the simulated clinical table; did you mean 'subtype'?"
    ]


def _xena_config(cache) -> dict:
    config = yaml.safe_load((REPO / "config" / "examples" / "tcga-brca-xena.yaml").read_text())
    config["download"] = {"cache_dir": str(cache)}
    config["clinical"]["labels"] = ["subtype_mrna"]
    return config


@pytest.mark.workflow  # a snakemake dry run
def test_xena_source_is_checked_once_downloaded_and_skipped_before(tmp_path):
    from oncoae.workflow import cache_name, host_of

    from .public_fixtures import xena_files

    config = _xena_config(tmp_path / "cache")
    # Nothing downloaded yet: the columns cannot be known, so the DAG (downloads first) builds.
    assert _dry_run_error(tmp_path, config) == (0, [])
    folder = tmp_path / "cache" / "xena" / host_of(config["xena"]["hub"])
    folder.mkdir(parents=True)
    for name, body in xena_files(10).items():
        (folder / cache_name(name)).write_bytes(body)
    code, lines = _dry_run_error(tmp_path, config)
    survival, subtypes = (folder / cache_name(config["xena"][key]) for key in ("clinical_dataset", "subtype_dataset"))
    assert code != 0 and lines == [
        f"oncoae: clinical.labels: column 'subtype_mrna' not in {survival} + {subtypes}; did you mean 'Subtype_mRNA'?"
    ]
