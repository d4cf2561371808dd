"""The report's tables, numbers, summary sentences and figure layouts, from hand-made tidy results."""

import numpy as np
import pandas as pd
import pytest
import yaml

from oncoae.evaluation.attribution import VALIDATION_COLUMNS
from oncoae.evaluation.evaluate import CONTRIBUTION_COLUMNS
from oncoae.evaluation.tumor_type import WITHIN_TYPE_COLUMNS
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
        # On validation tumors pca_concat is ahead, ae_multimodal within one seed sd of it.
        *[("ae_multimodal", s, "val_ari", "subtype", v) for s, v in enumerate([0.80, 0.86, 0.74])],
        *[("pca_concat", s, "val_ari", "subtype", v) for s, v in enumerate([0.82, 0.82, 0.82])],
        *[("pca_mutation", s, "val_ari", "subtype", v) for s, v in enumerate([0.20, 0.22, 0.21])],
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
                ("val_c_index", 0.60),
            ]
        ],
    ]
)


def _tables(summary):
    return {table.title: table for table in comparison_tables(summary)}


def test_best_model_is_chosen_on_validation_and_quoted_on_test():
    findings = dict(best_models(SUMMARY, "subtype", "os_days"))
    # pca_concat leads on validation (0.820 vs 0.800): it is the choice, with its test figure, although
    # ae_multimodal has the better test mean; that one is named as the test-best reference only.
    assert findings["subtypes"] == (
        "pca_concat: held-out ARI vs subtype = 0.890 (the same in all 3 seeds); chosen on validation tumors "
        "(validation ARI 0.820); tied on validation within one seed sd: ae_multimodal (0.800); the best on test "
        "tumors, a reference only: ae_multimodal (held-out ARI vs subtype = 0.900 ± 0.0400 (mean ± sd over 3 seeds))"
    )
    assert "pca_mutation" not in findings["subtypes"]
    assert findings["survival"] == (
        "ae_multimodal: held-out C-index of a Cox model on its latents (os_days) = 0.620 (the same in all 3 seeds); "
        "chosen on validation tumors (validation C-index 0.600); also the best on test tumors"
    )


def test_without_validation_tumors_no_model_is_chosen():
    no_validation = SUMMARY[~SUMMARY["metric"].str.startswith("val_")]
    sentence = dict(best_models(no_validation, "subtype", None))["subtypes"]
    assert sentence.startswith("no validation tumors (split.fractions.val is 0), so no model is chosen")
    assert sentence.endswith("ae_multimodal (held-out ARI vs subtype = 0.900 ± 0.0400 (mean ± sd over 3 seeds))")


def test_one_seed_is_called_one_seed():
    one = SUMMARY[SUMMARY["seed"] == 0]
    assert dict(best_models(one, "subtype", None))["subtypes"].startswith(
        "pca_concat: held-out ARI vs subtype = 0.890 (one seed); chosen on validation tumors (validation ARI 0.820)"
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


# Tumor types (evaluation.tumor_type), the Data section's ingestion notes, attributions: hand-made result files.


def _tumor_type_files(folder):
    """metrics/recall/within_type TSVs as evaluate_tumor_types writes them: an autoencoder with a head over two
    seeds, a baseline and the reference on the normalized features over one; and one PNG per figure."""
    from PIL import Image

    metrics = []
    for model, method, seeds, balanced in [
        ("ae_x", "head", (0, 1), (0.50, 0.60)),
        ("ae_x", "latent_lr", (0, 1), (0.40, 0.40)),
        ("pca_x", "latent_lr", (0,), (0.70,)),
        ("raw_x", "raw_lr", (0,), (0.65,)),
    ]:
        for seed, value in zip(seeds, balanced, strict=True):
            for metric, v in [("n_test", 40), ("n_types", 3), ("accuracy", value + 0.1), ("balanced_accuracy", value)]:
                metrics.append((model, seed, method, metric, v))
            metrics.append((model, seed, method, "macro_f1", value - 0.1))
    for model, seeds in [("ae_x", (0, 1)), ("pca_x", (0,))]:
        for seed in seeds:
            metrics += [(model, seed, "kmeans", m, v) for m, v in [("k", 3), ("ari", 0.2), ("nmi", 0.3), ("ami", 0.25)]]
    recall = [
        (model, seed, method, name, n, n // 2, 0.5)
        for model, method, seeds in [("ae_x", "latent_lr", (0, 1)), ("ae_x", "head", (0, 1)), ("raw_x", "raw_lr", (0,))]
        for seed in seeds
        for name, n in [("BRCA", 20), ("LUAD", 12), ("ACC", 8)]
    ]
    within = [
        ("ae_x", 0, "BRCA", 2, 30, 20, "15 / 5", 18, 5, 0.0123, 0.02),
        ("pca_x", 0, "BRCA", np.nan, 3, 20, np.nan, 18, 5, np.nan, np.nan),  # as read back from the TSV
    ]
    tables = {
        "metrics": pd.DataFrame(metrics, columns=["model", "seed", "method", "metric", "value"]),
        "recall": pd.DataFrame(recall, columns=["model", "seed", "method", "type", "n_test", "n_correct", "recall"]),
        "within_type": pd.DataFrame(
            within,
            columns=WITHIN_TYPE_COLUMNS,
        ),
    }
    paths = {}
    for name, frame in tables.items():
        paths[name] = folder / f"{name}.tsv"
        frame.to_csv(paths[name], sep="\t", index=False)
    plan = {"ae_x_latent_lr": ("ae_x", "latent_lr"), "ae_x_head": ("ae_x", "head"), "raw_x_raw_lr": ("raw_x", "raw_lr")}
    for name in [*(f"confusion_{n}" for n in plan), "umap_ae_x", "umap_pca_x"]:
        Image.new("RGB", (20, 10), (10, 90, 200)).save(folder / f"{name}.png")
    return paths, plan


def test_tumor_type_section_reads_as_specified(tmp_path):
    from oncoae.report.html import Details, Figure, ReportContent, Table, render_report
    from oncoae.report.tumor_types import classification_table, recall_table, tumor_type_items

    paths, plan = _tumor_type_files(tmp_path)
    metrics = pd.read_csv(paths["metrics"], sep="\t")
    table = classification_table(metrics)
    # Best balanced accuracy first; read-outs named for a reader; mean ± sd over the seeds a read-out has.
    assert list(table["model"]) == ["pca_x", "raw_x", "ae_x", "ae_x"]
    assert list(table["read-out"]) == [
        "logistic regression on the latent",
        "logistic regression on the normalized features (reference)",
        "classification head",
        "logistic regression on the latent",
    ]
    assert list(table.columns) == ["model", "read-out", "accuracy", "balanced accuracy", "macro-F1"]
    assert table.iloc[2]["balanced accuracy"] == "0.550 ± 0.0707"
    assert table.iloc[3]["balanced accuracy"] == "0.400"  # the same in both seeds: no "± 0"

    recall = recall_table(pd.read_csv(paths["recall"], sep="\t"))
    assert list(recall.index) == ["BRCA", "LUAD", "ACC"]  # the file's order: largest held-out type first
    assert recall.columns.name == "type"
    assert list(recall.columns) == ["held-out tumors", "ae_x (head)", "ae_x (LR on latent)", "raw_x (LR on features)"]
    assert recall.loc["BRCA", "held-out tumors"] == "20"

    items = tumor_type_items("cancer_type", paths, plan, tmp_path, ["ae_x", "pca_x"], [0, 1])
    kinds = [type(item).__name__ for item in items]
    assert kinds == ["Table", "Table", "Table", "Figure", "Details", "Figure", "Figure", "Table"]
    assert items[0].caption.startswith("40 held-out tumors with a known cancer_type, 3 types; mean ± sd over 2 seeds")
    assert items[1].title == "k-means with k = number of types"
    assert list(items[1].frame.columns) == ["k", "ARI", "NMI", "AMI"] and items[1].frame.loc["ae_x", "k"] == "3"
    # The classification head's confusion matrix first and open; the others collapsed, latent before reference.
    assert items[3].path.name == "confusion_ae_x_head.png"
    assert [f.path.name for f in items[4].items] == ["confusion_ae_x_latent_lr.png", "confusion_raw_x_raw_lr.png"]
    assert [f.path.name for f in items[5:7]] == ["umap_ae_x.png", "umap_pca_x.png"]
    within = items[7].frame
    assert list(within.columns) == [
        "type",
        "model",
        "k",
        "training tumors",
        "held-out tumors",
        "held-out tumors per cluster",
        "held-out with survival",
        "events",
        "log-rank p (asymptotic)",
        "log-rank p (permutation)",
    ]
    assert within.iloc[0].tolist()[-2:] == ["1.23e-2", "2.00e-2"] and within.iloc[1]["k"] == "n/a"
    assert within["held-out tumors per cluster"].tolist() == ["15 / 5", "n/a"]

    document = render_report(
        ReportContent(dataset="d", summary=_summary([]), sections={"Tumor types (held-out)": items}), None, None
    )
    assert "<a href='#tumor-types-held-out'>Tumor types (held-out)</a>" in document
    assert "<h2 id='tumor-types-held-out'>" in document
    assert "<details><summary>2 more confusion matrices</summary>" in document
    assert document.count("<img ") == 5
    assert 'class="dataframe table text-2"' in document  # model and read-out aligned left like text
    assert isinstance(items[0], Table) and isinstance(items[3], Figure) and isinstance(items[4], Details)


def test_data_section_lists_what_ingestion_left_out(tmp_path):
    from oncoae.report.data_notes import data_items
    from oncoae.report.html import ReportContent, render_report

    excluded = tmp_path / "survival_excluded.tsv"
    pd.DataFrame(
        {
            "sample": ["T3", "T1", "T2"],
            "reason": ["missing time", "missing time", "negative time"],
            "time": [np.nan, np.nan, -5.0],
            "event": [1.0, 0.0, 0.0],
        }
    ).to_csv(excluded, sep="\t", index=False)
    ingest = tmp_path / "mutation.ingest.tsv"
    rows = [
        ("n_variants", 1498172),
        ("n_tumors_in_file", 8018),
        ("n_without_clinical", 83),
        ("n_tumors", 7935),
        ("median_nonsilent_per_tumor", 51.0),
        ("excluded_classes", "intron, silent"),
    ]
    pd.DataFrame([("mutation", m, v) for m, v in rows], columns=["modality", "metric", "value"]).to_csv(
        ingest, sep="\t", index=False
    )
    items = data_items(excluded, {"mutation": ingest})
    counts, survival, details = items
    assert list(counts.frame.index) == [
        "tumors in the file",
        "tumors without a clinical row (dropped)",
        "tumors kept",
        "variants (MAF rows)",
        "non-silent variants per tumor, median",
    ]
    assert counts.frame["mutation"].tolist() == ["8,018", "83", "7,935", "1,498,172", "51"]
    assert "mutation: Variant_Classification values left out as silent: intron, silent." in counts.caption
    assert survival.title == "3 tumors without usable survival (by reason), left out of survival metrics only"
    assert survival.frame["tumors"].to_dict() == {"missing time": "2", "negative time": "1"}
    assert details.groups == {"missing time": ["T1", "T3"], "negative time": ["T2"]}
    document = render_report(ReportContent(dataset="d", summary=_summary([]), data_items=items), None, None)
    assert "<details><summary>the 3 tumor IDs</summary><p><b>missing time</b> (2): T1, T3</p>" in document
    assert data_items(None, {}) == []  # the simulator writes neither file


def test_attribution_section_tables(tmp_path):
    from PIL import Image

    from oncoae.report.attributions import attribution_items, validation_table

    folder = tmp_path / "ae_x"
    folder.mkdir()
    clusters = [
        (seed, cluster, rank, modality, f"{modality[:1]}{rank}", 1.0 / rank, 0.5 - rank / 10, size)
        for seed in (0, 1)
        for cluster, size in [(0, 10), (1, 0)]
        for rank, modality in enumerate(["expression"] * 7 + ["mutation"] * 2, start=1)
    ]
    pd.DataFrame(
        clusters, columns=["seed", "cluster", "rank", "modality", "feature", "score", "mean_difference", "n_in_cluster"]
    ).to_csv(folder / "clusters.tsv", sep="\t", index=False)
    heads = [(0, "risk", r, "expression", f"g{r}", 1.0 / r, (-1) ** r * 0.01) for r in range(1, 8)]
    pd.DataFrame(heads, columns=["seed", "head", "rank", "modality", "feature", "score", "mean_signed"]).to_csv(
        folder / "heads.tsv", sep="\t", index=False
    )
    validation = [
        ("ae_x", seed, target, method, scope, 100, 10, 50, p, auc)
        for seed in (0, 1)
        for target in ("subtype_signal", "risk_program")
        for method, p, auc in [
            ("rank_genes_groups", 0.8, 0.9),
            ("integrated_gradients", 1.0, 0.95 + seed / 100),
            ("pca_loadings", 0.5, 0.7),
            ("gradient_x_input", 1.0, 0.95),
        ]
        for scope in ("all", "expression")
    ]
    frame = pd.DataFrame(
        validation,
        columns=VALIDATION_COLUMNS,
    )
    frame.to_csv(folder / "validation.tsv", sep="\t", index=False)
    Image.new("RGB", (20, 10)).save(folder / "top_features.png")

    items = attribution_items(["ae_x", "ae_missing"], tmp_path, [0, 1])
    assert [type(i).__name__ for i in items] == ["Figure", "Table", "Table", "Table"]
    cluster_table = items[1].frame
    assert list(cluster_table.columns) == ["expression", "mutation"]
    assert cluster_table.loc["cluster 0 (n=10)", "expression"] == (
        "e1 (+0.400), e2 (+0.300), e3 (+0.200), e4 (+0.100), e5 (+0.00)"  # top 5 per modality, first seed
    )
    assert cluster_table.loc["cluster 0 (n=10)", "mutation"] == "m8 (-0.300), m9 (-0.400)"
    assert cluster_table.loc["cluster 1 (n=0)"].tolist() == ["no held-out tumors"] * 2
    assert items[2].frame.index.tolist() == ["Cox risk score"] and items[1].text and items[2].text
    assert "right, the Cox risk score's features" in items[0].caption
    table = validation_table(frame)
    assert list(table.columns.get_level_values(0).unique()) == ["precision@50", "AUROC"]
    assert list(table.columns.get_level_values(1)[:4]) == [
        "integrated gradients",
        "gradient × input",
        "PCA loadings",
        "rank_\u200bgenes_\u200bgroups",
    ]
    assert table.index.tolist()[0] == ("subtype signal (clusters)", "all (10 of 100 true)")
    assert table.iloc[0][("AUROC", "integrated gradients")] == "0.955 ± 0.00707"
    assert table.iloc[0][("precision@50", "rank_\u200bgenes_\u200bgroups")] == "0.800"


def test_umap_neighbours_fall_back_to_umap_weights_where_tumors_share_a_latent():
    from oncoae.report.figures import neighbour_method

    rng = np.random.default_rng(0)
    continuous = rng.normal(size=(200, 4))
    assert neighbour_method(continuous) == "gauss"
    # Mutation-only latents: half the tumors have no kept mutation and share one latent.
    shared = np.concatenate([np.zeros((100, 4)), continuous[:100]])
    assert neighbour_method(shared) == "umap"


def test_tuning_losses_in_significant_figures():
    from oncoae.report.tuning import _loss_mean_sd, search_outcome_table, trials_display

    assert _loss_mean_sd(np.array([2.496, 2.499, 2.493])) == "2.496 ± 0.0030"
    assert _loss_mean_sd(np.array([2.5, 2.5])) == "2.500"  # no "± 0"
    best = {
        "metric": "val_reconstruction_loss",
        "value": 2.4961,
        "trial": 3,
        "params": {"lr": 0.003},
        "config_values_trial": {"trial": 0, "value": 2.52712, "state": "COMPLETE"},
        "config_values": {"lr": 0.001},
    }
    table = search_outcome_table(best)
    assert table.loc["val reconstruction loss"].tolist() == ["2.527", "2.496"] and table.loc["lr"].tolist() == [
        "0.001",
        "0.003",
    ]
    trials = trials_display(pd.DataFrame({"number": [0], "value": [0.000123456], "params_lr": [0.003]}))
    assert trials.iloc[0].tolist() == ["1.235e-4", "0.003"]
