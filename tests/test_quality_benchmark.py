"""The quality benchmark's aggregation, tallies and validation choice on small hand-made summary tables (no
snakemake: benchmarks/quality.py reads what a run leaves behind)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import quality
from benchmarks.machine import REPO
from benchmarks.quality import Standing, decide
from benchmarks.report import write_result


def rows(model: str, metric: str, values, label: str = "subtype") -> list[dict]:
    """Summary rows, one per seed."""
    return [
        {"model": model, "seed": seed, "metric": metric, "label": label, "value": value}
        for seed, value in enumerate(values)
    ]


def frame(*groups: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [row for group in groups for row in group], columns=["model", "seed", "metric", "label", "value"]
    )


def stats_of(*groups: list[dict]) -> pd.DataFrame:
    return quality.aggregate(frame(*groups))


# ----------------------------------------------------------------------------------------------------------------
# Aggregation


def test_aggregate_mean_sample_sd_and_seed_count():
    stats = stats_of(rows("ae_multimodal", "ari", [0.1, 0.2, 0.3]), rows("pca_concat", "ari", [0.5]))
    ae = quality.standing(stats, "ae_multimodal", "ari", "subtype")
    assert ae.mean == pytest.approx(0.2)
    assert ae.sd == pytest.approx(0.1)  # sample sd (ddof 1), not the population sd 0.0816
    assert ae.n == 3
    pca = quality.standing(stats, "pca_concat", "ari", "subtype")
    assert pca.n == 1 and math.isnan(pca.sd)


def test_aggregate_leaves_out_missing_values_and_keeps_empty_labels():
    stats = stats_of(rows("ae_multimodal", "ari", [0.2, float("nan"), 0.4]), rows("ae_multimodal", "n_test", [9.0], ""))
    ae = quality.standing(stats, "ae_multimodal", "ari", "subtype")
    assert (ae.mean, ae.n) == (pytest.approx(0.3), 2)
    assert quality.standing(stats, "ae_multimodal", "n_test", "").mean == 9.0


def test_c_index_standing_carries_the_mean_bootstrap_interval():
    stats = stats_of(
        rows("ae_multimodal", "c_index", [0.60, 0.62], "os_days"),
        rows("ae_multimodal", "c_index_low", [0.50, 0.54], "os_days"),
        rows("ae_multimodal", "c_index_high", [0.70, 0.72], "os_days"),
    )
    ae = quality.standing(stats, "ae_multimodal", "c_index", "os_days")
    assert ae.interval == (pytest.approx(0.52), pytest.approx(0.71))
    assert quality.standing(stats, "ae_multimodal", "ari", "os_days") is None


# ----------------------------------------------------------------------------------------------------------------
# The tie rule


def test_decide_win_and_lose_outside_the_seed_sd():
    assert decide(Standing("ae", 0.50, 0.01, 3), Standing("pca", 0.40, 0.02, 3))[0] == "win"
    assert decide(Standing("ae", 0.40, 0.01, 3), Standing("pca", 0.50, 0.02, 3))[0] == "lose"


def test_decide_tie_inside_the_larger_seed_sd():
    # 0.03 apart: inside the headline's sd 0.05, though outside the opponent's 0.01.
    assert decide(Standing("ae", 0.50, 0.05, 3), Standing("pca", 0.47, 0.01, 3))[0] == "tie"
    assert decide(Standing("ae", 0.50, 0.01, 3), Standing("pca", 0.47, 0.05, 3))[0] == "tie"
    # The same means with small sds are a win: the sd decides.
    assert decide(Standing("ae", 0.50, 0.01, 3), Standing("pca", 0.47, 0.01, 3))[0] == "win"


def test_decide_single_seed_sd_counts_as_zero():
    assert decide(Standing("ae", 0.50, math.nan, 1), Standing("pca", 0.49, math.nan, 1))[0] == "win"
    assert decide(Standing("ae", 0.50, math.nan, 1), Standing("pca", 0.50, math.nan, 1))[0] == "tie"


def test_decide_tie_by_the_headlines_bootstrap_interval():
    opponent = Standing("pca", 0.62, 0.001, 3)
    inside = Standing("ae", 0.60, 0.001, 3, interval=(0.55, 0.65))
    outcome, why = decide(inside, opponent)
    assert outcome == "tie" and "interval" in why
    # Without the interval (or with one that misses the opponent's mean) the same means lose.
    assert decide(Standing("ae", 0.60, 0.001, 3), opponent)[0] == "lose"
    assert decide(Standing("ae", 0.60, 0.001, 3, interval=(0.55, 0.61)), opponent)[0] == "lose"


# ----------------------------------------------------------------------------------------------------------------
# Tallies


def demo_stats(**extra) -> pd.DataFrame:
    """Two modalities: ae_multimodal, per-modality AEs, PCA/kPCA baselines, ARI and C-index."""
    groups = [
        rows("ae_multimodal", "ari", [0.80, 0.82, 0.84]),
        rows("ae_expression", "ari", [0.60, 0.61, 0.62]),
        rows("ae_copy_number", "ari", [0.70, 0.71, 0.72]),
        rows("ae_vae", "ari", [0.99, 0.99, 0.99]),  # a variant: neither a baseline nor a per-modality AE
        rows("pca_concat", "ari", [0.50, 0.52, 0.54]),
        rows("kpca_concat", "ari", [0.75, 0.76, 0.77]),
        rows("pca_expression", "ari", [0.40, 0.40, 0.40]),
        rows("ae_multimodal", "c_index", [0.60, 0.61, 0.62], "os_days"),
        rows("ae_multimodal", "c_index_low", [0.55, 0.56, 0.57], "os_days"),
        rows("ae_multimodal", "c_index_high", [0.65, 0.66, 0.67], "os_days"),
        rows("pca_concat", "c_index", [0.64, 0.64, 0.64], "os_days"),
        rows("kpca_concat", "c_index", [0.70, 0.70, 0.70], "os_days"),
        rows("ae_expression", "c_index", [0.58, 0.58, 0.58], "os_days"),
        rows("ae_copy_number", "c_index", [0.50, 0.50, 0.50], "os_days"),
    ]
    groups += extra.values()
    return stats_of(*groups)


def by_metric(tally_rows: list[dict]) -> dict:
    return {(row["metric"], row["label"]): row for row in tally_rows}


def test_tally_against_the_best_baseline_by_mean():
    stats = demo_stats()
    models = list(dict.fromkeys(stats["model"]))
    assert quality.baseline_models(models) == ["pca_concat", "kpca_concat", "pca_expression"]
    result = by_metric(quality.tally(stats, "ae_multimodal", quality.baseline_models(models)))
    ari = result[("ari", "subtype")]
    assert ari["opponent"].model == "kpca_concat"  # best by mean, not pca_concat
    assert ari["outcome"] == "win"  # 0.82 vs 0.76, sds 0.02 and 0.01
    c_index = result[("c_index", "os_days")]
    assert c_index["opponent"].model == "kpca_concat"
    assert c_index["outcome"] == "lose"  # 0.70 lies outside [0.56, 0.66] and 0.09 apart


def test_tally_c_index_tie_by_interval_against_the_baseline():
    stats = demo_stats()
    stats = stats[stats["model"] != "kpca_concat"]  # best baseline is then pca_concat, 0.64, inside [0.56, 0.66]
    result = by_metric(quality.tally(stats, "ae_multimodal", ["pca_concat", "pca_expression"]))
    assert result[("c_index", "os_days")]["outcome"] == "tie"
    assert "interval" in result[("c_index", "os_days")]["why"]
    assert result[("ari", "subtype")]["outcome"] == "win"


def test_tally_against_the_best_per_modality_autoencoder():
    stats = demo_stats()
    models = list(dict.fromkeys(stats["model"]))
    opponents = quality.per_modality_autoencoders(models, ["expression", "copy_number"])
    assert opponents == ["ae_expression", "ae_copy_number"]
    result = by_metric(quality.tally(stats, "ae_multimodal", opponents))
    assert result[("ari", "subtype")]["opponent"].model == "ae_copy_number"
    assert result[("ari", "subtype")]["outcome"] == "win"
    assert result[("c_index", "os_days")]["opponent"].model == "ae_expression"
    # 0.61 vs 0.58 is outside the sd 0.01, but 0.58 lies inside the AE's interval [0.56, 0.66]: a tie.
    assert result[("c_index", "os_days")]["outcome"] == "tie"


def test_the_guided_autoencoder_is_the_headline_and_the_unsupervised_one_its_reference():
    models = ["ae_expression", "ae_copy_number", "ae_multimodal", "ae_guided", "pca_concat"]
    assert quality.headline_model(models, ["expression", "copy_number"]) == "ae_guided"
    assert quality.unsupervised_model(models, ["expression", "copy_number"]) == "ae_multimodal"
    # Without ae_guided (no label, no survival) the unsupervised model is the headline.
    assert quality.headline_model(models[:3], ["expression", "copy_number"]) == "ae_multimodal"
    # The guided model is never its own per-modality opponent.
    assert quality.per_modality_autoencoders(models, ["expression", "copy_number"]) == models[:2]


def test_single_modality_cohort_has_its_autoencoder_as_the_reference_and_the_per_modality_opponent():
    stats = stats_of(
        rows("ae_mutation", "ari", [0.10, 0.10]),
        rows("ae_guided", "ari", [0.30, 0.30]),
        rows("pca_mutation", "ari", [0.05, 0.05]),
    )
    models = list(dict.fromkeys(stats["model"]))
    assert quality.headline_model(models, ["mutation"]) == "ae_guided"
    assert quality.unsupervised_model(models, ["mutation"]) == "ae_mutation"
    assert quality.headline_model(["ae_mutation", "pca_mutation"], ["mutation"]) == "ae_mutation"
    assert quality.headline_model(["ae_mutation", "pca_mutation"], ["mutation", "cna"]) is None
    (row,) = quality.tally(stats, "ae_guided", quality.per_modality_autoencoders(models, ["mutation"]))
    assert row["outcome"] == "win" and row["opponent"].model == "ae_mutation"
    # The unsupervised model alone over one modality has no per-modality opponent but itself.
    (row,) = quality.tally(stats, "ae_mutation", quality.per_modality_autoencoders(models, ["mutation"]))
    assert row["outcome"] == "n/a" and row["opponent"] is None


def test_tally_skips_metrics_without_the_headline_and_counts_outcomes():
    stats = demo_stats(nmi=rows("pca_concat", "nmi", [0.5, 0.5, 0.5]))
    result = quality.tally(stats, "ae_multimodal", ["pca_concat", "kpca_concat"])
    assert ("nmi", "subtype") not in by_metric(result)
    assert quality.count_outcomes(result) == {"win": 1, "tie": 0, "lose": 1, "n/a": 0}


# ----------------------------------------------------------------------------------------------------------------
# Validation choice


def test_validation_choice_is_empty_without_val_rows():
    assert quality.validation_choice(demo_stats()) == []


def test_validation_choice_picks_the_best_on_validation_and_reports_its_test_figure():
    stats = demo_stats(
        val_a=rows("ae_multimodal", "val_ari", [0.50, 0.50, 0.50]),
        val_b=rows("kpca_concat", "val_ari", [0.90, 0.88, 0.86]),
        val_c=rows("ae_vae", "val_ari", [0.40, 0.40, 0.40]),
    )
    (choice,) = quality.validation_choice(stats)
    assert (choice["metric"], choice["label"], choice["chosen"]) == ("ari", "subtype", "kpca_concat")
    assert choice["validation"].mean == pytest.approx(0.88)
    assert choice["test"].mean == pytest.approx(0.76)  # kpca_concat's test ARI, not the test-best's
    assert choice["test_best"].model == "ae_vae"


# ----------------------------------------------------------------------------------------------------------------
# Reading a run, the result and its markdown


def write_run(folder: Path, summary: pd.DataFrame, types: pd.DataFrame | None = None) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    summary.to_csv(folder / "summary.tsv", sep="\t", index=False)
    if types is not None:
        types.to_csv(folder / "metrics.tsv", sep="\t", index=False)
    return {
        "summary": str(folder / "summary.tsv"),
        "tumor_types": str(folder / "metrics.tsv"),
        "returncode": 0,
        "wall_s": 12.0,
        "command": "snakemake ...",
        "config": str(folder / "config.yaml"),
        "targets": ["results/x/evaluation/summary.tsv"],
        "log": str(folder / "run.log"),
        "seeds": [0, 1, 2],
    }


def test_tumor_type_rows_become_balanced_accuracy_metrics():
    types = pd.DataFrame(
        [
            ["ae_classifier", 0, "head", "balanced_accuracy", 0.31],
            ["ae_classifier", 0, "head", "accuracy", 0.41],
            ["ae_classifier", 0, "latent_lr", "balanced_accuracy", 0.30],
            ["ae_classifier", 0, "kmeans", "ari", 0.15],
            ["raw_mutation", 0, "raw_lr", "balanced_accuracy", 0.32],
        ],
        columns=["model", "seed", "method", "metric", "value"],
    )
    converted = quality.tumor_type_rows(types, "cancer_type")
    assert sorted(zip(converted["model"], converted["metric"], strict=True)) == [
        ("ae_classifier", "balanced_accuracy_head"),
        ("ae_classifier", "balanced_accuracy_latent_lr"),
        ("raw_mutation", "balanced_accuracy_raw_lr"),
    ]
    assert set(converted["label"]) == {"cancer_type"}


def test_evaluate_and_write_a_result_without_snakemake(tmp_path):
    simulated = write_run(
        tmp_path / "sim",
        frame(
            rows("ae_multimodal", "ari", [0.95, 0.93, 0.94]),
            rows("ae_expression", "ari", [0.90, 0.91, 0.92]),
            rows("pca_concat", "ari", [0.80, 0.81, 0.82]),
            rows("ae_multimodal", "n_test", [200, 200, 200], ""),
        ),
    )
    simulated.update(cohort="simulated", real=False, example_config="config/config.yaml", dataset="simulated")
    simulated.update(modalities=["expression", "copy_number"], tumor_type=None)
    pancan = write_run(
        tmp_path / "pan",
        frame(
            rows("ae_mutation", "ari", [0.10, 0.11, 0.12], "cancer_type"),
            rows("ae_guided", "ari", [0.20, 0.21, 0.22], "cancer_type"),
            rows("kpca_mutation", "ari", [0.07, 0.07, 0.07], "cancer_type"),
        ),
        pd.DataFrame(
            [
                [m, s, "latent_lr", "balanced_accuracy", v]
                for m, v in (("ae_mutation", 0.1), ("ae_guided", 0.15), ("pca_mutation", 0.2))
                for s in range(3)
            ],
            columns=["model", "seed", "method", "metric", "value"],
        ),
    )
    pancan.update(cohort="tcga-pancan-mutations", real=True, example_config="x.yaml", dataset="pan")
    pancan.update(modalities=["mutation"], tumor_type="cancer_type")
    cases = [quality.evaluate_case(simulated), quality.evaluate_case(pancan)]
    assert cases[0]["headline"] == "ae_multimodal" and cases[0]["unsupervised_vs_baselines"] == []
    assert (cases[1]["headline"], cases[1]["unsupervised"]) == ("ae_guided", "ae_mutation")
    outcomes = {(r["metric"], r["outcome"]) for r in cases[1]["vs_baselines"]}
    assert outcomes == {("ari", "win"), ("balanced_accuracy_latent_lr", "lose")}
    assert {(r["metric"], r["outcome"]) for r in cases[1]["vs_modalities"]} == {
        ("ari", "win"),
        ("balanced_accuracy_latent_lr", "win"),
    }

    result = quality.build_result(cases, cores=2, quick=False)
    result.update(started="2026-01-01T00:00:00", duration_s=1.0, command="python -m benchmarks.run --only quality")
    targets = {t["name"]: t for t in result["targets"]}
    no_loss = targets["headline AE vs best PCA/kPCA, real cohorts: no loss"]
    assert no_loss["met"] is False and no_loss["value"] == "1 win, 0 tie, 1 lose"
    reference = targets["unsupervised AE vs best PCA/kPCA, real cohorts (reference, no target)"]
    assert reference["met"] is None and reference["value"] == "1 win, 0 tie, 1 lose"
    assert targets["simulated: held-out ARI of ae_multimodal (subtype)"]["met"] is True
    json_path, md_path = write_result(result, tmp_path / "results")
    text = md_path.read_text()
    assert "Tie rule:" in text and "ae_mutation: the same without heads, the unsupervised reference" in text
    assert "Tally: unsupervised AE vs the best PCA/kPCA, per cohort x metric" in text
    assert "| **ae_multimodal** | 0.940 ± 0.010 |" in text
    assert "No run's summary.tsv has val_<metric> rows yet" in text
    assert json.loads(json_path.read_text())["data"]["cases"][0]["headline"] == "ae_multimodal"


def test_missing_summary_leaves_the_cohort_out_of_the_tallies(tmp_path):
    case = {
        "cohort": "tcga-brca-mixomics",
        "real": True,
        "summary": str(tmp_path / "none.tsv"),
        "tumor_types": str(tmp_path / "none2.tsv"),
        "tumor_type": None,
        "modalities": ["mrna", "mirna"],
    }
    case = quality.evaluate_case(case)
    assert case["statistics"] is None and case["vs_baselines"] == [] and case["headline"] is None


# ----------------------------------------------------------------------------------------------------------------
# Configs


def test_cohort_configs_read_the_shared_data_in_place_with_the_seeds_set():
    pancan = next(c for c in quality.COHORTS if c.name == "tcga-pancan-mutations")
    config = quality.cohort_config(pancan, quality.SEEDS)
    assert config["seeds"] == [0, 1, 2]  # the example itself has one seed
    expected = (REPO / "../shared/data/tcga-pancan-mutations/clinical.tsv").resolve()
    assert config["clinical"]["path"] == str(expected)
    assert Path(config["modalities"]["mutation"]["path"]).is_absolute()
    assert quality.cohort_targets(config) == [
        "results/tcga-pancan-mutations/evaluation/summary.tsv",
        "results/tcga-pancan-mutations/evaluation/tumor_types/metrics.tsv",
    ]
    assert [c.name for c in quality.COHORTS] == [
        "simulated",
        "tcga-brca-mixomics",
        "tcga-brca-cna-rppa",
        "tcga-pancan-mutations",
    ]


def test_quick_config_is_the_small_simulator():
    config = quality.cohort_config(quality.COHORTS[0], quality.QUICK_SEEDS, quick=True)
    assert list(config["modalities"]) == list(quality.QUICK_MODALITIES)
    assert config["simulation"]["n_tumors"] == 150
    assert set(config["models"]["autoencoders"]["variants"]) == {"classifier"}
    assert config["seeds"] == [0, 1]
    assert quality.cohort_targets(config)[-1] == "results/simulated/evaluation/tumor_types/metrics.tsv"
