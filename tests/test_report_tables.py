"""The report's tables, numbers, summary sentences and figure layouts, from hand-made tidy results."""

import numpy as np
import pandas as pd
import pytest
import yaml

from oncoae.evaluation.assess import CONTRIBUTION_COLUMNS
from oncoae.report.comparison import comparison_tables
from oncoae.report.figures import kaplan_meier_plot, plt, scatter_panels, training_curves_plot
from oncoae.report.format import mean_sd, scientific, significant, values_mean_sd
from oncoae.report.html import best_models, plain_yaml
from oncoae.report.tables import contribution_table, largest_contributors, per_seed_values, survival_table


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


def _tables(summary):
    return {table.title: table for table in comparison_tables(summary)}


def test_best_model_sentence_gives_the_seed_sd_and_names_ties():
    findings = dict(best_models(SUMMARY, "subtype", "os_days"))
    assert findings["subtypes"].startswith(
        "ae_multimodal: held-out ARI vs subtype = 0.900 ± 0.0400 (mean ± sd over 3 seeds)"
    )
    assert "tied within one seed sd: pca_concat (0.890)" in findings["subtypes"]
    assert "pca_mutation" not in findings["subtypes"]
    # The same C-index in every seed: no "± 0".
    assert findings["survival"] == (
        "ae_multimodal: held-out C-index of a Cox model on its latents (os_days) = 0.620 (the same in all 3 seeds)"
    )


def test_one_seed_is_called_one_seed():
    one = SUMMARY[SUMMARY["seed"] == 0]
    assert (
        dict(best_models(one, "subtype", None))["subtypes"]
        == "ae_multimodal: held-out ARI vs subtype = 0.900 (one seed)"
    )
    for table in comparison_tables(one):
        text = " ".join(table.notes) + " ".join(table.frame.stack().tolist())
        assert "one seed" in text and "mean ± sd" not in text and "±" not in text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.3, "0.300"),
        (1.0, "1.00"),
        (0.8648, "0.865"),
        (12.345, "12.3"),
        (0.9996, "1.00"),
        (99.96, "100"),
        (-0.04, "-0.0400"),
        (0.001234, "0.00123"),
        (0.0001234, "1.23e-4"),
        (2.5e7, "2.50e7"),
        (0.0, "0.00"),
        (float("nan"), "n/a"),
    ],
)
def test_three_significant_figures(value, text):
    assert significant(value) == text


def test_mean_sd_drops_sd_of_deterministic_values_and_writes_p_in_scientific_notation():
    assert mean_sd(0.273, 5.6e-17, 2) == "0.273"  # floating-point noise across seeds
    assert mean_sd(1.0, 0.0, 3) == "1.00"
    assert mean_sd(0.8648, 0.11591, 2) == "0.865 ± 0.116"
    assert mean_sd(0.8648, 0.11591, 1) == "0.865"
    assert mean_sd(0.0147, 0.00227, 2, "p") == "1.47e-2 ± 2.27e-3"
    assert mean_sd(2.0, 0.0, 2, "count") == "2"
    assert scientific(0.25) == "2.50e-1"
    assert values_mean_sd([0.3, 0.3, 0.3]) == "0.300"


def test_comparison_is_split_by_question_with_human_headers():
    tables = _tables(SUMMARY)
    assert list(tables) == ["Subtypes: held-out clusters vs subtype", "Survival (os_days)"]
    subtypes = tables["Subtypes: held-out clusters vs subtype"]
    assert [c.header for c in subtypes.columns] == ["ARI\u00a0↑"]
    for table in tables.values():
        for column in table.columns:
            assert "_" not in column.header, column.header
            assert column.tooltip.startswith(column.key + ": "), column.tooltip
        assert any(f"= {column.key}" in note for note in table.notes for column in table.columns)
    survival = tables["Survival (os_days)"]
    assert [c.key for c in survival.columns] == [
        "logrank_p (os_days)",
        "logrank_p_permutation (os_days)",
        "c_index (os_days)",
    ]


def test_comparison_marks_best_and_ties_in_three_significant_figures():
    ari = _tables(SUMMARY)["Subtypes: held-out clusters vs subtype"].frame["ari (subtype)"]
    assert ari["ae_multimodal"] == "★ 0.900 ± 0.0400"
    assert ari["pca_concat"] == "≈ 0.890"  # the same in every seed: no "± 0"
    assert ari["pca_mutation"] == "0.110 ± 0.0100"
    # A single model with a value is not "best" of anything.
    assert _tables(SUMMARY)["Survival (os_days)"].frame.loc["ae_multimodal", "c_index (os_days)"] == "0.620"


def _survival_rows(model, p_permutation, permutations, c_index):
    return [
        (model, seed, metric, "os_days", value)
        for seed in range(2)
        for metric, value in [
            ("logrank_p", 1e-3),
            ("logrank_p_permutation", p_permutation),
            ("logrank_permutations", permutations),
            ("c_index", c_index),
            ("c_index_low", c_index - 0.05),
            ("c_index_high", c_index + 0.05),
        ]
    ]


def test_a_saturated_permutation_p_is_written_as_the_floor_and_never_best():
    floor = 1 / 1001
    summary = _summary(
        _survival_rows("ae_a", floor, 1000, 0.7)
        + _survival_rows("ae_b", floor, 1000, 0.6)
        + _survival_rows("pca", 0.03, 1000, 0.55)
    )
    table = _tables(summary)["Survival (os_days)"]
    cells = table.frame["logrank_p_permutation (os_days)"]
    assert cells["ae_a"] == cells["ae_b"] == "≤ 9.99e-4 (floor)"
    assert cells["pca"] == "3.00e-2"  # no ★ or ≈: the best is at the floor, so nothing is ranked
    assert not any(cell.startswith(("★", "≈")) for cell in cells)
    assert any(
        "1/(permutations + 1)" in note and "9.99e-4" in note and "none is marked best" in note for note in table.notes
    )
    assert table.frame.loc["ae_a", "c_index (os_days)"].startswith("★ 0.700")
    assert survival_table(summary, "os_days").loc["ae_a", "log-rank p, permutation, median over 2 seeds"] == (
        "≤ 9.99e-4 (floor)"
    )
    # Below the floor's model, a p above it still ranks.
    summary = _summary(_survival_rows("ae_a", 2e-3, 1000, 0.7) + _survival_rows("pca", 0.03, 1000, 0.55))
    cells = _tables(summary)["Survival (os_days)"].frame["logrank_p_permutation (os_days)"]
    assert cells["ae_a"] == "★ 2.00e-3"


def test_survival_table_shows_both_log_rank_forms_and_the_interval():
    table = survival_table(SUMMARY, "os_days")
    row = table.loc["ae_multimodal"]
    assert row["log-rank p, asymptotic, median over 3 seeds"] == "1.00e-3"
    assert row["log-rank p, permutation, median over 3 seeds"] == "2.00e-3"
    assert row["C-index [bootstrap interval], mean over 3 seeds"] == "0.620 [0.550, 0.690]"
    assert per_seed_values(SUMMARY, "ari", "subtype").loc["pca_mutation"].tolist() == ["0.100", "0.120", "0.110"]


def test_config_is_dumped_without_anchors():
    shared = {"hidden_sizes": [32, 16]}
    text = yaml.safe_dump({"a": shared, "b": shared}, sort_keys=False)
    assert "&id001" in text  # what safe_dump does with a repeated object
    plain = plain_yaml(text)
    assert "&" not in plain and "*" not in plain
    assert yaml.safe_load(plain) == {"a": shared, "b": shared}


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
    assert table.loc[("ae_multimodal", "expression"), "drop in ARI, subtype"] == "0.300"  # the same in both seeds


# Figures: drawn, then measured in display coordinates.


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_scatter_legends_sit_outside_every_panel_with_full_labels():
    rng = np.random.default_rng(0)
    names = ["Basal", "Her2", "LumA", "LumB", "Normal-like (PAM50 centroid)"]
    labels = pd.Series(rng.choice(names, 300))
    labels[:4] = np.nan
    clusters = pd.Series(rng.integers(0, 12, 300).astype(float))
    figure = scatter_panels(rng.normal(size=(300, 2)), {"pam50": labels, "grade": labels, "cluster": clusters}, "m")
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    axes = figure.axes
    for axis in axes:
        legend = axis.get_legend()
        box = legend.get_window_extent(renderer)
        assert not any(_overlaps(box, other.get_window_extent(renderer)) for other in axes), axis.get_title()
        assert 0 <= box.x0 and box.x1 <= figure.bbox.x1 and 0 <= box.y0 and box.y1 <= figure.bbox.y1
    texts = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert texts == [f"{n} (n={int((labels == n).sum())})" for n in names] + ["n/a (n=4)"]
    clusters_legend = [t.get_text().split(" ")[0] for t in axes[2].get_legend().get_texts()]
    assert clusters_legend == [str(k) for k in range(12)]  # in number order, not "1.0", "10.0", "11.0", "2.0"
    plt.close(figure)


def test_kaplan_meier_spans_0_to_1_and_explains_tumors_without_survival():
    obs = pd.DataFrame(
        {
            "split": ["test"] * 8 + ["train"],
            "os_days": [10.0, 200.0, np.nan, 0.0, 50.0, 80.0, 300.0, 30.0, 5.0],
            "os_event": [1, 0, np.nan, 0, 1, 1, 0, 1, 1],
        },
        index=[f"t{i}" for i in range(9)],
    )
    clusters = pd.Series([0, 0, 0, 0, 1, 1, 1, 1, 0], index=obs.index)
    figure = kaplan_meier_plot(obs, clusters, "os_days", "os_event", "m")
    axis = figure.axes[0]
    assert axis.get_ylim() == (0.0, 1.0)
    legend = [t.get_text() for t in axis.get_legend().get_texts()]
    assert legend == ["cluster 0 (n=4,\n1 without survival data,\n1 at time 0)", "cluster 1 (n=4)"]
    plt.close(figure)


def test_training_curves_tell_seeds_apart():
    history = pd.DataFrame({"epoch": range(5), "train_loss": np.linspace(2, 1, 5), "val_loss": np.linspace(2, 1.2, 5)})
    figure = training_curves_plot({0: history, 1: history + 0.01, 2: history}, "m")
    for axis in figure.axes:
        styles = [(line.get_color(), line.get_linestyle()) for line in axis.get_lines()]
        assert len(styles) == 3 and len(set(c for c, _ in styles)) == 3 and len(set(s for _, s in styles)) == 3
    legends = [axis.get_legend() for axis in figure.axes if axis.get_legend() is not None]
    assert [t.get_text() for t in legends[0].get_texts()] == ["seed 0", "seed 1", "seed 2"]
    plt.close(figure)
