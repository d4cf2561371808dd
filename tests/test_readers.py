import gzip

import numpy as np
import pandas as pd
import pytest

from oncoae.data.readers import InputError, normalize_feature_ids, parse_event, read_clinical_file, read_modality_file
from oncoae.data.sources import maf_to_gene_matrix
from oncoae.data.tcga import harmonize_barcodes


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
        ("s1\t5\t1\tA\ns2\t3\t0\tA\n", r"label column 'label' has fewer than 2 classes"),
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
