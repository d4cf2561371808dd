import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from oncoae.data.ingest import align_to_clinical
from oncoae.data.readers import (
    InputError,
    check_survival_unit,
    normalize_feature_ids,
    parse_event,
    read_clinical_file,
    read_modality_file,
)
from oncoae.data.sources import maf_to_gene_matrix
from oncoae.data.tcga import barcode_level, canonical_barcode, harmonize_barcodes, looks_like_tcga


def test_r_write_csv_layout_with_short_header(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('"g1","g2"\n"s1",1,2\n"s2",3,4\n')
    table = read_modality_file(path)
    assert table.index.tolist() == ["s1", "s2"] and table.columns.tolist() == ["g1", "g2"]
    assert table.to_numpy().tolist() == [[1, 2], [3, 4]]


def test_gzipped_features_by_samples(tmp_path):
    path = tmp_path / "m.tsv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("gene\ts1\ts2\ts3\nA|1\t1\t2\tNA\nENSG00000000003.15\t4\t5\t6\n")
    table = read_modality_file(path, "features_x_samples")
    assert table.shape == (3, 2)
    assert table.columns.tolist() == ["A", "ENSG00000000003"]
    assert np.isnan(table.loc["s3", "A"])


def test_non_numeric_cell_names_file_column_and_sample(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("sample\tg1\tg2\ns1\t1\t2\ns2\t3\tabc\n")
    with pytest.raises(InputError, match=r"bad\.tsv: non-numeric value 'abc' in column 'g2', row 's2'"):
        read_modality_file(path)


def test_duplicate_sample_is_named(tmp_path):
    path = tmp_path / "dup.tsv"
    path.write_text("sample\tg1\ns1\t1\ns1\t2\n")
    with pytest.raises(InputError, match=r"sample 's1' appears more than once"):
        read_modality_file(path)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    good = gzip.compress(("sample\tg1\n" + "".join(f"s{i}\t{i}\n" for i in range(5000))).encode())
    path = tmp_path / "cut.tsv.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match=r"cut\.tsv\.gz: cannot be read .* truncated"):
        read_modality_file(path)


def test_symbol_entrez_ids_collapse():
    assert normalize_feature_ids(pd.Index(["TP53|7157", "?|100130426", "ENSG1.2", "plain"])).tolist() == [
        "TP53",
        "100130426",
        "ENSG1",
        "plain",
    ]


@pytest.mark.parametrize(
    ("value", "event"), [("1:DECEASED", 1), ("0:LIVING", 0), ("1", 1), ("0.0", 0), ("Dead", 1), ("alive", 0)]
)
def test_event_spellings(value, event):
    assert parse_event(value) == event


def test_cbioportal_patient_table(tmp_path):
    path = tmp_path / "data_clinical_patient.txt"
    path.write_text(
        "#Patient Identifier\tStatus\tMonths\n#x\tx\tx\n#STRING\tSTRING\tNUMBER\n#1\t1\t1\n"
        "PATIENT_ID\tOS_STATUS\tOS_MONTHS\tSUBTYPE\n"
        "TCGA-01\t1:DECEASED\t12\tA\nTCGA-02\t0:LIVING\t24\tB\nTCGA-03\t\t\tA\n"
    )
    table = read_clinical_file(
        path, "PATIENT_ID", ["SUBTYPE"], {"time": "OS_MONTHS", "event": "OS_STATUS", "unit": "months"}
    )
    assert table.index.tolist() == ["TCGA-01", "TCGA-02", "TCGA-03"]
    assert table["OS_STATUS"].tolist()[:2] == [1.0, 0.0] and np.isnan(table["OS_STATUS"].iloc[2])
    assert table.loc["TCGA-01", "OS_MONTHS"] == pytest.approx(12 * 365.25 / 12)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("s1\t-5\t1\tA\ns2\t3\t0\tB\n", r"column 'time', sample 's1': negative survival time -5"),
        ("s1\t5\t2\tA\ns2\t3\t0\tB\n", r"column 'event', sample 's1': cannot read event '2'"),
        ("s1\t5\tmaybe\tA\ns2\t3\t0\tB\n", r"column 'event', sample 's1': cannot read event 'maybe'"),
        ("s1\t500\t1\tA\ns2\t300\t0\tA\n", r"label column 'label' has fewer than 2 classes"),
    ],
)
def test_bad_clinical_values_are_named(tmp_path, rows, message):
    path = tmp_path / "clinical.tsv"
    path.write_text("id\ttime\tevent\tlabel\n" + rows)
    with pytest.raises(InputError, match=message):
        read_clinical_file(path, "id", ["label"], {"time": "time", "event": "event"})


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "clinical.tsv"
    path.write_text("id\ttime\n1\t2\n")
    with pytest.raises(InputError, match=r"column 'pam50' not found"):
        read_clinical_file(path, "id", ["pam50"], None)


def test_barcodes_join_at_patient_level_tumors_only_and_deterministic():
    table = pd.DataFrame(
        {"g": [1.0, 2.0, 3.0, 4.0]},
        index=[
            "TCGA-A1-A0SB-01A-11R-A144-07",
            "TCGA-A1-A0SB-01B-11R-A144-07",
            "TCGA-A1-A0SB-11A-01R-A144-07",
            "TCGA-A2-A0T0-06A-11R-A144-07",
        ],
    )
    patient = harmonize_barcodes(table, "patient")
    assert patient.index.tolist() == ["TCGA-A1-A0SB", "TCGA-A2-A0T0"]
    assert patient.loc["TCGA-A1-A0SB", "g"] == 1.0  # vial A before B; the normal (11A) never counts
    # Same answer whatever the input order.
    assert harmonize_barcodes(table.iloc[::-1], "patient").equals(patient)


def test_maf_to_gene_level_keeps_unmutated_tumors_as_zero_rows(tmp_path):
    path = tmp_path / "data_mutations.txt"
    path.write_text(
        "#version 2.4\nHugo_Symbol\tTumor_Sample_Barcode\tVariant_Classification\n"
        "TP53\tS1\tMissense_Mutation\nTTN\tS1\tSilent\nPIK3CA\tS2\tNonsense_Mutation\n"
    )
    matrix = maf_to_gene_matrix(path, sequenced_samples=["S1", "S2", "S3"])
    assert matrix.columns.tolist() == ["PIK3CA", "TP53"]  # the silent TTN variant is dropped
    assert matrix.loc["S3"].tolist() == [0.0, 0.0]  # sequenced, no mutation: data, not missing
    assert matrix.loc["S1", "TP53"] == 1.0 and matrix.loc["S2", "PIK3CA"] == 1.0


def test_duplicate_feature_column_is_named(tmp_path):
    # pandas would keep the second as 'g1.1', a feature that does not exist.
    path = tmp_path / "dup_feature.tsv"
    path.write_text("sample\tg1\tg2\tg1\ns1\t1\t2\t3\ns2\t4\t5\t6\n")
    with pytest.raises(InputError, match=r"dup_feature\.tsv: feature 'g1' appears more than once in the header"):
        read_modality_file(path)


def test_duplicate_feature_column_in_r_write_csv_layout_is_named(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('"g1","g1"\n"s1",1,2\n"s2",3,4\n')
    with pytest.raises(InputError, match=r"r\.csv: feature 'g1' appears more than once"):
        read_modality_file(path)


def test_duplicate_sample_column_in_features_by_samples_is_named(tmp_path):
    path = tmp_path / "fxs.tsv"
    path.write_text("gene\ts1\ts2\ts1\nA\t1\t2\t3\nB\t4\t5\t6\n")
    with pytest.raises(InputError, match=r"fxs\.tsv: sample 's1' appears more than once in the header"):
        read_modality_file(path, "features_x_samples")


def test_duplicate_feature_row_in_features_by_samples_is_named(tmp_path):
    path = tmp_path / "fxs.tsv"
    path.write_text("gene\ts1\ts2\nA\t1\t2\nB\t4\t5\nA\t7\t8\n")
    with pytest.raises(InputError, match=r"fxs\.tsv: feature 'A' appears on more than one row"):
        read_modality_file(path, "features_x_samples")


def test_cbioportal_symbol_shared_by_two_entrez_ids_is_averaged(tmp_path):
    path = tmp_path / "data_mrna.txt"
    path.write_text("Hugo_Symbol\tEntrez_Gene_Id\ts1\ts2\nA\t1\t1\t2\nA\t2\t3\t4\nB\t3\t5\t6\n")
    table = read_modality_file(path, "features_x_samples")
    assert table.columns.tolist() == ["A", "B"] and table.loc["s1", "A"] == 2.0


def test_duplicate_clinical_column_is_named(tmp_path):
    path = tmp_path / "clinical.tsv"
    path.write_text("id\tlabel\tlabel\ns1\tA\tB\ns2\tB\tA\n")
    with pytest.raises(InputError, match=r"clinical\.tsv: column 'label' appears more than once in the header"):
        read_clinical_file(path, "id", ["label"], None)


def _survival_table(tmp_path, times):
    path = tmp_path / "clinical.tsv"
    rows = "".join(f"s{i}\t{t}\t{i % 2}\t{'AB'[i % 2]}\n" for i, t in enumerate(times))
    path.write_text("id\ttime\tevent\tlabel\n" + rows)
    return path


def test_months_declared_as_days_are_refused(tmp_path):
    path = _survival_table(tmp_path, [26.8, 12.0, 40.5, 3.1, 70.0])
    with pytest.raises(
        InputError,
        match=r"clinical\.tsv: column 'time': the longest survival time is 70\.0 days \(sample 's4'\), implausibly "
        r"short for clinical\.survival\.unit days; if the times are in months, set clinical\.survival\.unit: months$",
    ):
        read_clinical_file(path, "id", ["label"], {"time": "time", "event": "event", "unit": "days"})


def test_days_declared_as_months_are_refused(tmp_path):
    path = _survival_table(tmp_path, [800, 8727, 300, 1200])
    with pytest.raises(
        InputError,
        match=r"clinical\.tsv: column 'time', sample 's1': survival time of 727 years is implausible for "
        r"clinical\.survival\.unit months; if the times are in days, set clinical\.survival\.unit: days",
    ):
        read_clinical_file(path, "id", ["label"], {"time": "time", "event": "event", "unit": "months"})


def test_plausible_times_pass_in_either_unit(tmp_path):
    days = read_clinical_file(
        _survival_table(tmp_path, [31, 900, 8000]), "id", ["label"], {"time": "time", "event": "event"}
    )
    assert days["time"].tolist() == [31, 900, 8000]
    months = read_clinical_file(
        _survival_table(tmp_path, [1.5, 30, 1199]),
        "id",
        ["label"],
        {"time": "time", "event": "event", "unit": "months"},
    )
    assert months["time"].max() == pytest.approx(1199 * 365.25 / 12)


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
EXAMPLES = Path(__file__).resolve().parents[1] / "config" / "examples"


@pytest.mark.parametrize("example", ["tcga-brca-mixomics", "tcga-brca-cna-rppa"])
def test_shared_cohorts_pass_the_unit_check_with_their_example_config(example):
    clinical = yaml.safe_load((EXAMPLES / f"{example}.yaml").read_text())["clinical"]
    path = EXAMPLES.parents[1] / clinical["path"]
    table = read_clinical_file(path, clinical["id_column"], clinical["labels"], clinical["survival"])
    assert table[clinical["survival"]["time"]].median() > 300
    # The same file declared in months is refused (its longest time would be centuries).
    wrong = {**clinical["survival"], "unit": "months"}
    with pytest.raises(InputError, match=r"survival time of \d+ years is implausible"):
        read_clinical_file(path, clinical["id_column"], clinical["labels"], wrong)


def test_pan_cancer_times_pass_the_unit_check_in_days():
    # This set has 11 negative times (refused on their own), so the unit check is applied to its times directly.
    times = pd.read_csv(SHARED / "tcga-pancan-mutations" / "clinical.tsv", sep="\t")["os_days"]
    times = times[times >= 0]
    check_survival_unit(times, Path("clinical.tsv"), "os_days", "days")
    with pytest.raises(
        InputError, match=r"the longest survival time is 302\.9 days \(sample '\d+'\), implausibly short"
    ):
        check_survival_unit(times / (365.25 / 12), Path("clinical.tsv"), "os_days", "days")
    # Each cancer type on its own passes too (COAD and READ have a median of 31 days).
    for _cancer_type, group in pd.read_csv(SHARED / "tcga-pancan-mutations" / "clinical.tsv", sep="\t").groupby(
        "cancer_type"
    ):
        check_survival_unit(group["os_days"][group["os_days"] >= 0], Path("clinical.tsv"), "os_days", "days")


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("TCGA.CS.4938", "TCGA-CS-4938"),
        ("tcga-cs-4938", "TCGA-CS-4938"),
        ("TCGA.A1.A0SB.01A.11R.A144.07", "TCGA-A1-A0SB-01A-11R-A144-07"),
        ("tcga.a1.a0sb.01", "TCGA-A1-A0SB-01"),
        ("SIM.0001", "SIM.0001"),  # not a barcode: left as it is
        ("sample-1", "sample-1"),
    ],
)
def test_canonical_barcode(written, canonical):
    assert canonical_barcode(written) == canonical


def test_dotted_and_lowercase_barcodes_harmonize_like_dashed_ones():
    dashed = pd.DataFrame({"g": [1.0, 2.0, 3.0]}, index=["TCGA-A1-A0SB-01A", "TCGA-A1-A0SB-11A", "TCGA-A2-A0T0-01A"])
    spelled = dashed.set_axis(["TCGA.A1.A0SB.01A", "tcga.a1.a0sb.11a", "tcga-a2-a0t0-01a"])
    assert looks_like_tcga(spelled.index) and barcode_level(pd.Index(["TCGA.CS.4938"])) == "patient"
    assert harmonize_barcodes(spelled, "patient").equals(harmonize_barcodes(dashed, "patient"))
    assert harmonize_barcodes(spelled, "patient").index.tolist() == ["TCGA-A1-A0SB", "TCGA-A2-A0T0"]


def test_dotted_clinical_ids_join_dashed_modality_ids(tmp_path):
    path = tmp_path / "clinical.csv"
    path.write_text('"","label"\n"TCGA.CS.4938","A"\n"tcga.cs.4941","B"\n')
    clinical = read_clinical_file(path, None, ["label"], None)
    assert clinical.index.tolist() == ["TCGA-CS-4938", "TCGA-CS-4941"]
    modality = pd.DataFrame({"g": [1.0, 2.0]}, index=["TCGA-CS-4938-01A-11R", "TCGA-CS-4941-01A-11R"])
    aligned = align_to_clinical(modality, clinical.index, tmp_path / "m.tsv")
    assert aligned.index.tolist() == ["TCGA-CS-4938", "TCGA-CS-4941"]


def test_barcodes_equal_once_spelled_alike_are_duplicates_in_the_clinical_table(tmp_path):
    path = tmp_path / "clinical.tsv"
    path.write_text("id\tlabel\nTCGA-CS-4938\tA\ntcga.cs.4938\tB\n")
    with pytest.raises(InputError, match=r"sample 'TCGA-CS-4938' appears more than once"):
        read_clinical_file(path, "id", ["label"], None)


@pytest.mark.filterwarnings("ignore:Variable names are not unique")  # anndata's, about the file this test makes
def test_duplicate_feature_in_h5ad_is_named(tmp_path):
    import anndata as ad

    path = tmp_path / "m.h5ad"
    adata = ad.AnnData(X=np.ones((2, 2), dtype=np.float32))
    adata.obs_names, adata.var_names = ["s1", "s2"], ["g1", "g1"]
    adata.write_h5ad(path)
    with pytest.raises(InputError, match=r"m\.h5ad: feature 'g1' appears more than once in the header"):
        read_modality_file(path)
