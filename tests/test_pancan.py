"""Pan-cancer tumor types from mutations (#16), in-process on a small MAF built here: silent variants, tumors
without a clinical row, unusable survival (clinical.survival.invalid), hypermutated tumors, and the held-out
tumor-type tables (confusion matrices that add up, head and logistic-regression read-outs, subtypes within a
type)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from oncoae.data.ingest import ingest_mutation_calls, ingest_summary
from oncoae.data.readers import InputError, read_clinical_file
from oncoae.data.sources import SILENT_CLASSES, maf_gene_calls
from oncoae.evaluation.clustering import fit_kmeans
from oncoae.evaluation.evaluate import EvaluationSettings, evaluate_seed
from oncoae.evaluation.survival import SurvivalData, logrank_p
from oncoae.evaluation.tumor_type import (
    classification_scores,
    head_predictions,
    score_latent,
    score_matrix,
    within_type_survival,
)

TYPES = {"BRCA": 40, "COAD": 30, "UCEC": 24}
DRIVERS = {"BRCA": ["PIK3CA", "GATA3"], "COAD": ["APC", "KRAS"], "UCEC": ["PTEN", "ARID1A"]}
BACKGROUND = [f"G{i:03d}" for i in range(40)]
# Tumors of the MAF without a clinical row, and clinical blemishes as in the shared set.
ORPHANS = ["TCGA-ZZ-0001", "TCGA-ZZ-0002"]
NEGATIVE_TIME, MISSING_TIME, MISSING_EVENT = "TCGA-AA-0003", "TCGA-AA-0010", "TCGA-AA-0020"
HYPERMUTATED = "TCGA-AA-0005"


def _barcode(index: int) -> str:
    return f"TCGA-AA-{index:04d}"


@pytest.fixture
def cohort(tmp_path) -> dict:
    return build_cohort(tmp_path)


def build_cohort(folder: Path) -> dict:
    """A MAF (gzipped, with a '#version' line, silent variants, a hypermutated tumor, two tumors without a
    clinical row) and its clinical table in ``folder``, built from a seeded generator (also used by
    tests/test_encode_maf.py)."""
    rng = np.random.default_rng(0)
    rows, clinical, index = [], [], 0
    for cancer, n in TYPES.items():
        for _ in range(n):
            sample = _barcode(index)
            index += 1
            genes = [g for g in DRIVERS[cancer] if rng.random() < 0.8]
            genes += list(rng.choice(BACKGROUND, size=3, replace=False))
            rows += [(gene, "Missense_Mutation", sample) for gene in genes]
            # Silent variants in a gene that is otherwise never mutated, and in the drivers of other types.
            rows.append(("SILENTONLY", "Silent", sample))
            rows.append((DRIVERS["BRCA"][0] if cancer != "BRCA" else "APC", "3'UTR", sample))
            clinical.append(
                {
                    "sample": sample,
                    "cancer_type": cancer,
                    "os_days": float(rng.integers(30, 4000)),
                    "os_event": float(rng.random() < 0.4),
                }
            )
    rows += [(gene, "Nonsense_Mutation", HYPERMUTATED) for gene in BACKGROUND]  # every background gene
    rows += [("TP53", "Frame_Shift_Del", orphan) for orphan in ORPHANS]
    table = pd.DataFrame(clinical).set_index("sample")
    table.loc[NEGATIVE_TIME, "os_days"] = -64.0
    table.loc[MISSING_TIME, "os_days"] = np.nan
    table.loc[MISSING_EVENT, "os_event"] = np.nan
    clinical_path = folder / "clinical.tsv"
    table.to_csv(clinical_path, sep="\t")
    maf_path = folder / "mutations.maf.gz"
    header = "Hugo_Symbol\tChromosome\tVariant_Classification\tTumor_Sample_Barcode\tt_vaf"
    lines = ["#version 2.4", header] + [f"{gene}\t1\t{cls}\t{sample}\t0.3" for gene, cls, sample in rows]
    with gzip.open(maf_path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    return {"maf": maf_path, "clinical": clinical_path, "rows": rows, "table": table}


SURVIVAL = {"time": "os_days", "event": "os_event", "unit": "days"}


def _clinical(cohort, invalid: str | None = "exclude") -> pd.DataFrame:
    survival = dict(SURVIVAL, **({"invalid": invalid} if invalid else {}))
    return read_clinical_file(cohort["clinical"], "sample", ["cancer_type"], survival)


def test_silent_variants_are_excluded(cohort):
    calls = maf_gene_calls(cohort["maf"])
    assert "SILENTONLY" not in calls.genes
    assert "silent" in SILENT_CLASSES and "3'utr" in SILENT_CLASSES
    matrix = pd.DataFrame(calls.matrix.toarray(), index=calls.samples, columns=calls.genes)
    # A COAD tumor's 3'UTR variant in PIK3CA is no call; every call is one of its non-silent variants.
    nonsilent = {(s, g) for g, c, s in cohort["rows"] if c.lower() not in SILENT_CLASSES}
    called = {(s, g) for s, g in zip(*np.nonzero(matrix.to_numpy()), strict=True)}
    assert {(calls.samples[s], calls.genes[g]) for s, g in called} == nonsilent
    assert calls.stats["n_variants"] == len(cohort["rows"])
    assert calls.stats["n_nonsilent_variants"] == sum(c.lower() not in SILENT_CLASSES for _, c, _ in cohort["rows"])
    # The burden counts non-silent variants only.
    burden = pd.Series(calls.n_nonsilent, index=calls.samples)
    assert burden[HYPERMUTATED] == len(BACKGROUND) + sum(
        1 for g, c, s in cohort["rows"] if s == HYPERMUTATED and c == "Missense_Mutation"
    )


def test_mutations_stay_sparse_and_tumors_without_a_clinical_row_are_counted(cohort, caplog):
    clinical = _clinical(cohort)
    with caplog.at_level("INFO", logger="oncoae"):
        adata, counts = ingest_mutation_calls(cohort["maf"], clinical.index)
    assert adata.n_obs == sum(TYPES.values()) and not set(ORPHANS) & set(adata.obs_names)
    assert counts["n_without_clinical"] == len(ORPHANS)
    assert counts["n_tumors_in_file"] == sum(TYPES.values()) + len(ORPHANS)
    assert "2 of 96 samples have no clinical record" in caplog.text
    assert "silent" in caplog.text and "3'utr" in caplog.text  # the excluded classes are logged
    import scipy.sparse

    assert scipy.sparse.issparse(adata.X)
    assert adata.obs.loc[HYPERMUTATED, "n_nonsilent_variants"] > 40  # the burden is kept per tumor
    summary = ingest_summary("mutation", counts)
    assert summary.set_index("metric").at["n_without_clinical", "value"] == 2


def test_unusable_survival_errors_by_default_and_exclude_lists_the_tumors(cohort, caplog):
    with pytest.raises(InputError, match=rf"sample '{NEGATIVE_TIME}': negative survival time -64$"):
        _clinical(cohort, invalid=None)
    with pytest.raises(InputError, match="negative survival time"):
        _clinical(cohort, invalid="error")
    with caplog.at_level("INFO", logger="oncoae"):
        clinical = _clinical(cohort)
    excluded = pd.DataFrame(clinical.attrs["survival_excluded"]).set_index("sample")["reason"]
    assert excluded.to_dict() == {
        NEGATIVE_TIME: "negative time",
        MISSING_TIME: "missing time",
        MISSING_EVENT: "missing event",
    }
    assert re.search(r"3 tumors without usable survival \(.*1 negative time.*\)", caplog.text)
    assert all(sample in caplog.text for sample in excluded.index)
    # Not evaluable, never 0: both time and event are NaN, and the tumors stay in the cohort.
    assert clinical.loc[list(excluded.index), ["os_days", "os_event"]].isna().all().all()
    assert len(clinical) == sum(TYPES.values())
    assert clinical.loc[list(excluded.index), "cancer_type"].notna().all()


def _latent(clinical: pd.DataFrame, seed: int = 0, with_head: bool = False) -> ad.AnnData:
    """A 3-d latent that separates the types (with noise), a stratified split, clinical columns in obs."""
    rng = np.random.default_rng(seed)
    centers = {"BRCA": [3, 0, 0], "COAD": [0, 3, 0], "UCEC": [0, 0, 3]}
    latent = np.array([centers[t] for t in clinical["cancer_type"]], float) + rng.normal(0, 1.2, (len(clinical), 3))
    obs = clinical.copy()
    obs["split"] = "train"
    for cancer in TYPES:
        members = np.flatnonzero((clinical["cancer_type"] == cancer).to_numpy())
        obs.iloc[members[::3], obs.columns.get_loc("split")] = "test"
        obs.iloc[members[1::9], obs.columns.get_loc("split")] = "val"
    for sample in (NEGATIVE_TIME, MISSING_TIME, MISSING_EVENT):
        obs.loc[sample, "split"] = "test"
    adata = ad.AnnData(np.zeros((len(obs), 0), np.float32), obs=obs)
    adata.obsm["X_latent"] = latent.astype(np.float32)
    if with_head:
        names = sorted(TYPES)
        logits = latent @ np.eye(3)[:, [names.index(t) for t in ("BRCA", "COAD", "UCEC")]].T
        adata.obsm["X_class_probabilities"] = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
        adata.uns["class_names"] = names
    return adata


def test_exclude_leaves_survival_metrics_without_those_tumors_and_everything_else_with_them(cohort):
    clinical = _clinical(cohort)
    adata = _latent(clinical)
    settings = EvaluationSettings(
        labels=["cancer_type"], survival_columns=("os_days", "os_event"), permutations=50, bootstrap=20
    )
    is_train = (adata.obs["split"] == "train").to_numpy()
    is_test = (adata.obs["split"] == "test").to_numpy()
    fitted = fit_kmeans(adata.obsm["X_latent"][is_train], 3, (2, 4), seed=0)
    clusters = pd.Series(fitted.assign(adata.obsm["X_latent"]), index=adata.obs_names)
    rows, *_ = evaluate_seed(adata, clusters, fitted, settings, seed=0)
    metrics = {(r["metric"], r["label"]): r["value"] for r in rows}
    excluded = [NEGATIVE_TIME, MISSING_TIME, MISSING_EVENT]
    # Clusters and labels are scored on every held-out tumor, the excluded ones included ...
    assert metrics[("n_test", "")] == is_test.sum()
    # ... survival on the held-out tumors with usable survival only: the same p as without those tumors.
    test_obs = adata.obs.loc[is_test]
    kept = ~test_obs.index.isin(excluded)
    expected = logrank_p(
        clusters[test_obs.index].to_numpy()[kept], SurvivalData.from_table(test_obs[kept], "os_days", "os_event")
    )
    assert metrics[("logrank_p", "os_days")] == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(metrics[("c_index", "os_days")])
    usable = SurvivalData.from_table(adata.obs.loc[excluded], "os_days", "os_event").usable()
    assert not usable.any()
    scores = score_latent("ae", 0, adata, "cancer_type")
    n_test = next(r["value"] for r in scores.metrics if r["metric"] == "n_test" and r["method"] == "latent_lr")
    assert n_test == is_test.sum()  # the tumor-type evaluation keeps them


def test_confusion_matrix_counts_add_up_to_the_held_out_tumors(cohort):
    clinical = _clinical(cohort)
    adata = _latent(clinical, with_head=True)
    n_test = int((adata.obs["split"] == "test").sum())
    scores = score_latent("ae_classifier", 0, adata, "cancer_type", n_init=3)
    metrics, recall, confusion = scores.frames()
    assert set(metrics["method"]) == {"head", "latent_lr", "kmeans"}
    for method in ("head", "latent_lr"):
        table = confusion[confusion["method"] == method]
        assert table["count"].sum() == n_test
        per_type = table.groupby("true_type")["count"].sum()
        assert per_type.to_dict() == adata.obs.loc[adata.obs["split"] == "test", "cancer_type"].value_counts().to_dict()
        # Types in the order of their held-out counts, largest first.
        assert list(dict.fromkeys(table["true_type"])) == ["BRCA", "COAD", "UCEC"]
        values = metrics[metrics["method"] == method].set_index("metric")["value"]
        rec = recall[recall["method"] == method]
        assert values["balanced_accuracy"] == pytest.approx(rec["recall"].mean())
        assert values["accuracy"] == pytest.approx(rec["n_correct"].sum() / n_test)
        assert values["balanced_accuracy"] > 0.7  # the latent separates the types
    kmeans = metrics[metrics["method"] == "kmeans"].set_index("metric")["value"]
    assert kmeans["k"] == 3 and kmeans["ari"] > 0.3
    # Without use_head the head's probabilities are ignored (a head on another label).
    assert "head" not in set(
        score_latent("ae", 0, adata, "cancer_type", n_init=3, use_head=False).frames()[0]["method"]
    )
    assert list(head_predictions(adata)[:2]) == [
        adata.uns["class_names"][i] for i in adata.obsm["X_class_probabilities"][:2].argmax(1)
    ]


def test_classification_scores_of_a_predicted_type_unseen_among_held_out_tumors():
    scores = classification_scores(["A", "A", "B"], ["A", "C", "B"], "m", 0, "latent_lr")
    metrics, recall, confusion = scores.frames()
    assert confusion["count"].sum() == 3 and "C" in set(confusion["predicted_type"])
    assert recall.set_index("type")["recall"].to_dict() == {"A": 0.5, "B": 1.0}
    assert metrics.set_index("metric").at["balanced_accuracy", "value"] == pytest.approx(0.75)


def test_raw_gene_reference_and_subtypes_within_a_type(cohort):
    clinical = _clinical(cohort)
    mutations, _ = ingest_mutation_calls(cohort["maf"], clinical.index)
    adata = _latent(clinical)
    mutations.obs = mutations.obs.join(adata.obs[["split", "cancer_type"]])
    raw = score_matrix("raw_mutation", mutations.X.toarray(), mutations.obs, "cancer_type")
    metrics = raw.frames()[0].set_index("metric")["value"]
    assert metrics["n_test"] == (mutations.obs["split"] == "test").sum()
    assert metrics["balanced_accuracy"] > 0.6  # the drivers tell the types apart
    rows = within_type_survival(
        "ae", 0, adata, "cancer_type", ["UCEC"], ("os_days", "os_event"), k=2, k_range=(2, 4), permutations=50
    )
    (row,) = rows
    n_test_ucec = int(((adata.obs["cancer_type"] == "UCEC") & (adata.obs["split"] == "test")).sum())
    assert row["type"] == "UCEC" and row["k"] == 2 and row["n_test"] == n_test_ucec
    sizes = [int(n) for n in row["cluster_sizes"].split(" / ")]
    assert len(sizes) == 2 and sum(sizes) == n_test_ucec
    assert 0 <= row["logrank_p"] <= 1 and 0 < row["logrank_p_permutation"] <= 1
    # k auto: chosen by silhouette on UCEC's training tumors.
    (auto,) = within_type_survival(
        "ae", 0, adata, "cancer_type", ["UCEC"], ("os_days", "os_event"), k=None, k_range=(2, 4), permutations=50
    )
    assert 2 <= auto["k"] <= 4


def test_confusion_figure_is_written(cohort, tmp_path):
    from PIL import Image

    from oncoae.report.tumor_type_figures import confusion_figure

    clinical = _clinical(cohort)
    confusion = score_latent("ae", 0, _latent(clinical), "cancer_type", n_init=2).frames()[2]
    path = tmp_path / "confusion_ae_latent_lr.png"
    confusion_figure(confusion[confusion["method"] == "latent_lr"], "ae", path)
    with Image.open(path) as image:
        image.verify()


def test_tumor_type_plan_names_a_head_only_when_it_predicts_the_type():
    from oncoae.workflow import ModelPlan, tumor_type_plan

    plans = {
        "ae_m": ModelPlan("ae_m", "autoencoder", ("m",)),
        "ae_other": ModelPlan("ae_other", "autoencoder", ("m",), variant="other"),
        "pca_m": ModelPlan("pca_m", "pca", ("m",)),
    }

    def heads(label, weight):
        return {"heads": {"classification": {"label": label, "weight": weight}}}

    configs = {"ae_m": heads("cancer_type", 1.0), "ae_other": heads("stage", 1.0)}
    config = {"evaluation": {"tumor_type": "cancer_type"}, "modalities": {"m": {}}}
    assert tumor_type_plan(config, plans, configs) == {
        "ae_m_head": ("ae_m", "head"),
        "ae_m_latent_lr": ("ae_m", "latent_lr"),
        "ae_other_latent_lr": ("ae_other", "latent_lr"),
        "pca_m_latent_lr": ("pca_m", "latent_lr"),
        "raw_m_raw_lr": ("raw_m", "raw_lr"),
    }


REPO = Path(__file__).resolve().parents[1]


def test_the_example_config_reads_the_shared_set_with_its_blemishes_listed():
    import yaml

    config = yaml.safe_load((REPO / "config" / "examples" / "tcga-pancan-mutations.yaml").read_text())
    clinical_spec, mutation = config["clinical"], config["modalities"]["mutation"]
    path = REPO / clinical_spec["path"]
    assert path.is_file(), "../shared/data must sit beside the project"
    with pytest.raises(InputError, match="negative survival time"):
        read_clinical_file(path, "sample", ["cancer_type"], {**clinical_spec["survival"], "invalid": "error"})
    clinical = read_clinical_file(path, "sample", clinical_spec["labels"], clinical_spec["survival"])
    reasons = pd.DataFrame(clinical.attrs["survival_excluded"])["reason"].value_counts().to_dict()
    assert reasons == {"missing time": 59, "negative time": 11, "missing event": 3}
    assert len(clinical) == 7935
    adata, counts = ingest_mutation_calls(REPO / mutation["path"], clinical.index)
    assert counts["n_tumors_in_file"] == 8018 and counts["n_without_clinical"] == 83 and adata.n_obs == 7935
    assert counts["n_variants"] == 1_498_172 and counts["n_nonsilent_variants"] < counts["n_variants"] - 350_837


def workflow_config(cohort: dict) -> dict:
    """The workflow on the cohort's MAF: a tiny autoencoder with a classification head on the cancer type, the
    tumor-type evaluation (also used by tests/test_encode_maf.py)."""
    return {
        "dataset": "pancan-mini",
        "source": "local",
        "clinical": {
            "path": str(cohort["clinical"]),
            "id_column": "sample",
            "labels": ["cancer_type"],
            "survival": {**SURVIVAL, "invalid": "exclude"},
        },
        "modalities": {
            "mutation": {
                "path": str(cohort["maf"]),
                "format": "maf",
                "kind": "binary",
                "normalization": {"scale": "none", "min_frequency": 0.02},
            }
        },
        "split": {"stratify": "cancer_type", "seed": 0},
        "seeds": [0],
        "models": {
            "baselines": ["pca"],
            # The classifier variant is the model with a head here (ae_guided would be a second one).
            "autoencoders": {
                "guided": {"enabled": False},
                "variants": {"classifier": {"heads": {"classification": {"label": "cancer_type", "weight": 1.0}}}},
            },
        },
        "architecture": {"hidden_sizes": [16], "latent_dim": 3},
        "training": {"max_epochs": 15, "batch_size": 32, "patience": 5},
        "clustering": {"k": 3},
        "evaluation": {"tumor_type": "cancer_type", "within_type": ["UCEC"], "within_type_k": 2, "permutations": 50},
    }


@pytest.mark.workflow
def test_the_tumor_type_steps_run_in_the_workflow(cohort, tmp_path):
    """One small snakemake run on the fixture MAF up to the tumor-type tables and figures: the data step's
    survival_excluded.tsv and ingest counts, a classification head read out through encoding, and confusion
    matrices that add up to the held-out tumors."""
    from .conftest import run_snakemake, write_config

    config = workflow_config(cohort)
    out = tmp_path / "results" / "pancan-mini"
    targets = [
        "evaluation/tumor_types/metrics.tsv",
        "figures/tumor_types/confusion_ae_classifier_head.png",
        "figures/tumor_types/umap_pca_mutation.png",
        "data/survival_excluded.tsv",
    ]
    run_snakemake(tmp_path, write_config(tmp_path, config), *[f"results/pancan-mini/{t}" for t in targets])
    excluded = pd.read_csv(out / "data" / "survival_excluded.tsv", sep="\t")
    assert set(excluded["sample"]) == {NEGATIVE_TIME, MISSING_TIME, MISSING_EVENT}
    assert NEGATIVE_TIME in (out / "logs" / "ingest_clinical.log").read_text()
    counts = pd.read_csv(out / "data" / "mutation.ingest.tsv", sep="\t").set_index("metric")["value"]
    assert int(counts["n_without_clinical"]) == len(ORPHANS)
    split = pd.read_csv(out / "split.tsv", sep="\t")
    n_test = int((split["split"] == "test").sum())
    metrics = pd.read_csv(out / "evaluation" / "tumor_types" / "metrics.tsv", sep="\t")
    assert {("ae_classifier", "head"), ("ae_mutation", "latent_lr"), ("pca_mutation", "kmeans")} <= set(
        zip(metrics["model"], metrics["method"], strict=True)
    )
    assert ("raw_mutation", "raw_lr") in set(zip(metrics["model"], metrics["method"], strict=True))
    confusion = pd.read_csv(out / "evaluation" / "tumor_types" / "confusion.tsv", sep="\t")
    assert (confusion.groupby(["model", "method"])["count"].sum() == n_test).all()
    within = pd.read_csv(out / "evaluation" / "tumor_types" / "within_type.tsv", sep="\t")
    assert set(within["type"]) == {"UCEC"} and (within["k"] == 2).all()
    assert (within["cluster_sizes"].map(lambda sizes: sum(map(int, sizes.split(" / ")))) == within["n_test"]).all()
    for target in targets[1:3]:
        assert (out / target).stat().st_size > 0
