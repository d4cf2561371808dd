"""The report's tables and its summary sentences, from hand-made tidy results."""

import pandas as pd

from oncoae.evaluation.assess import CONTRIBUTION_COLUMNS
from oncoae.report.html import best_models, comparison_table
from oncoae.report.tables import contribution_table, largest_contributors, survival_table


def _summary(rows):
    return pd.DataFrame(rows, columns=["model", "seed", "metric", "label", "value"])


SUMMARY = _summary(
    [
        *[("ae_multimodal", s, "ari", "subtype", v) for s, v in enumerate([0.90, 0.94, 0.86])],
        *[("pca_concat", s, "ari", "subtype", v) for s, v in enumerate([0.89, 0.89, 0.89])],
        *[("pca_mutation", s, "ari", "subtype", v) for s, v in enumerate([0.10, 0.12, 0.11])],
        *[
            ("ae_multimodal", s, m, "os_days", v)
            for s in range(3)
            for m, v in [
                ("c_index", 0.62),
                ("c_index_low", 0.55),
                ("c_index_high", 0.69),
                ("logrank_p", 1e-3),
                ("logrank_p_permutation", 2e-3),
                ("logrank_permutations", 1000),
            ]
        ],
    ]
)


def test_best_model_sentence_gives_the_seed_sd_and_names_ties():
    findings = dict(best_models(SUMMARY, "subtype", "os_days"))
    assert findings["subtypes"].startswith("ae_multimodal: held-out ari vs subtype = 0.900 ± 0.040 (sd over 3 seeds)")
    assert "tied within one seed sd: pca_concat (0.890)" in findings["subtypes"]
    assert "pca_mutation" not in findings["subtypes"]
    assert findings["survival"].startswith("ae_multimodal: held-out c_index vs os_days = 0.620")


def test_comparison_marks_best_and_ties():
    table = comparison_table(SUMMARY)
    assert table.loc["ae_multimodal", "ari (subtype)"].startswith("★ 0.9")
    assert table.loc["pca_concat", "ari (subtype)"].startswith("≈ ")
    assert not table.loc["pca_mutation", "ari (subtype)"].startswith(("★", "≈"))


def test_survival_table_shows_both_log_rank_forms_and_the_interval():
    table = survival_table(SUMMARY, "os_days")
    row = table.loc["ae_multimodal"]
    assert row["log-rank p (asymptotic, median)"] == "0.001"
    assert row["log-rank p (permutation, median)"] == "0.002"
    assert row["C-index [bootstrap CI], mean over seeds"] == "0.620 [0.550, 0.690]"


def test_contributions_rank_modalities_by_their_drop():
    contributions = pd.DataFrame(
        [
            ("ae_multimodal", seed, modality, "ari", "subtype", 0.9, 0.9 - drop, drop, 50)
            for seed in range(2)
            for modality, drop in [("expression", 0.3), ("methylation", 0.1), ("mutation", -0.01)]
        ],
        columns=CONTRIBUTION_COLUMNS,
    )
    assert largest_contributors(contributions).to_dict() == {"ae_multimodal": "expression"}
    table = contribution_table(contributions)
    assert table.loc[("ae_multimodal", "expression"), "drop in ari (subtype)"] == "0.3 ± 0"
