"""``python -m oncoae encode --input mutation=other.maf`` (#16): tumors held out of a small pan-cancer run, called
by "another variant caller" (aliquot barcodes, other columns and Variant_Classification spellings, genes the model
never saw), encoded with the run's classification-head model; the head's predicted type and class probabilities
land in obs / obsm."""

from __future__ import annotations

import gzip
import subprocess

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from oncoae.data.normalize import ModalityNormalizer
from oncoae.data.sources import SILENT_CLASSES

from .conftest import oncoae_in_process, run_snakemake, write_config
from .test_pancan import build_cohort, workflow_config

pytestmark = pytest.mark.workflow

MODEL = "ae_classifier"
# Model genes the other caller spells differently: unknown to the model, so these genes are 0 in the encoding.
RENAMED = {"G001": "LOC_G001", "G002": "G002-AS1"}
ALIQUOT = "-01A-11D-A12B-09"


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):
    """test_pancan's workflow on its MAF, run only up to the latents of its tiny autoencoder with a softmax head on
    the cancer type."""
    folder = tmp_path_factory.mktemp("pancan_encode")
    cohort = build_cohort(folder)
    config = workflow_config(cohort)
    dataset = config["dataset"]
    run_snakemake(folder, write_config(folder, config), f"results/{dataset}/latent/{MODEL}/seed0.h5ad")
    return folder / "results" / dataset, cohort


def encode(*args: str) -> subprocess.CompletedProcess:
    """The encode command, in this process (``oncoae_in_process``)."""
    return oncoae_in_process("encode", *args)


def _write_maf(path, rows: list[dict]) -> None:
    """Another caller's layout: its own comment lines, column order and extra columns."""
    table = pd.DataFrame(rows)
    table = table.assign(
        Center="other.org",
        Caller="othercaller-2.1",
        t_alt_count=7,
        HGVSp_Short="p.X1Y",
        Matched_Norm_Sample_Barcode=table["Tumor_Sample_Barcode"].str[:12] + "-10A",
    )
    columns = ["Tumor_Sample_Barcode", "Center", "Variant_Classification", "Caller", "Hugo_Symbol", "t_alt_count"]
    text = table[columns + ["HGVSp_Short", "Matched_Norm_Sample_Barcode"]].to_csv(sep="\t", index=False)
    with gzip.open(path, "wt") as handle:
        handle.write("#version 2.4\n#othercaller run 7\n" + text)


def _other_caller_rows(cohort: dict, held_out: list[str], model_genes: list[str]) -> tuple[list[dict], set[str]]:
    """The held-out tumors' variants as another caller reports them, and the tumors whose input changes: those
    with a non-silent variant in a renamed gene."""
    rng = np.random.default_rng(1)
    renamed_tumors = {
        s for g, c, s in cohort["rows"] if s in held_out and g in RENAMED and c.lower() not in SILENT_CLASSES
    }
    first, second = [s for s in held_out if s not in renamed_tumors][:2]
    rows = []
    called = {sample: set() for sample in held_out}  # each tumor's non-silent model genes, as the model sees them
    for index, (gene, cls, sample) in enumerate(cohort["rows"]):
        if sample not in called:
            continue
        if cls == "Missense_Mutation" and index % 2:
            cls = "missense_variant"  # the VEP spelling: non-silent all the same
        rows.append({"Hugo_Symbol": RENAMED.get(gene, gene), "Variant_Classification": cls, "sample": sample})
        if cls.lower() not in SILENT_CLASSES and gene in model_genes and gene not in RENAMED:
            called[sample].add(gene)
    for sample in held_out:
        # Silent variants in model genes the tumor has no call in: they must not count.
        quiet = [g for g in model_genes if g not in called[sample] and g not in RENAMED]
        silent = ("Silent", "synonymous_variant", "Intron")
        for gene, cls in zip(rng.choice(quiet, len(silent), replace=False), silent, strict=True):
            rows.append({"Hugo_Symbol": gene, "Variant_Classification": cls, "sample": sample})
        # A second call of a gene it has (one call), and variants only in genes the model never saw.
        if called[sample]:
            gene = sorted(called[sample])[0]
            rows.append({"Hugo_Symbol": gene, "Variant_Classification": "In_Frame_Del", "sample": sample})
        rows.append({"Hugo_Symbol": "NOVEL_INTRONIC", "Variant_Classification": "Intron", "sample": sample})
    for sample in held_out[:4]:
        rows.append({"Hugo_Symbol": "NOVEL1", "Variant_Classification": "Nonsense_Mutation", "sample": sample})
    for row in rows:
        row["Tumor_Sample_Barcode"] = row.pop("sample") + ALIQUOT
    # A second aliquot of one tumor and a normal sample of another, with calls in genes they lack: ingest
    # harmonizes TCGA barcodes by keeping the first tumor aliquot and dropping normals, and so must encode.
    extra_genes = [g for g in model_genes if g not in called[first] | called[second] and g not in RENAMED][:3]
    for gene in extra_genes:
        for barcode in (first + "-01B-21D-A99Z-09", second + "-10A-01D-A12B-09"):
            rows.append(
                {"Hugo_Symbol": gene, "Variant_Classification": "Missense_Mutation", "Tumor_Sample_Barcode": barcode}
            )
    return rows, renamed_tumors


def test_encode_reads_another_callers_maf_and_writes_the_heads_predicted_type(classifier_run, tmp_path):
    run, cohort = classifier_run
    split = pd.read_csv(run / "split.tsv", sep="\t", dtype=str).set_index("sample")["split"]
    held_out = sorted(split.index[split == "test"])
    model_genes = list(ModalityNormalizer.load(run / "normalized" / "mutation.normalizer.npz").features_)
    assert set(RENAMED) <= set(model_genes)
    rows, renamed_tumors = _other_caller_rows(cohort, held_out, model_genes)
    maf = tmp_path / "other.maf.gz"
    _write_maf(maf, rows)
    out = tmp_path / "other.h5ad"
    result = encode("--run", str(run), "--model", MODEL, "--input", f"mutation={maf}", "--out", str(out))
    assert result.returncode == 0, result.stderr

    new = ad.read_h5ad(out)
    workflow = ad.read_h5ad(run / "latent" / MODEL / "seed0.h5ad")
    # Tumors: the MAF's barcodes harmonized to the run's (patient) level, the normal and second aliquot gone.
    assert sorted(new.obs_names) == held_out
    classes = list(new.uns["cancer_type_classes"])
    assert classes == list(workflow.uns["class_names"]) == sorted(set(cohort["table"]["cancer_type"]))
    predicted = new.obs["predicted_cancer_type"]
    assert isinstance(predicted.dtype, pd.CategoricalDtype) and list(predicted.cat.categories) == classes
    probabilities = new.obsm["cancer_type_probabilities"]
    assert probabilities.shape == (len(held_out), len(classes)) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-5)
    assert (predicted.to_numpy() == np.asarray(classes)[probabilities.argmax(axis=1)]).all()

    # Where the inputs are the same, the workflow's own held-out read-out: silent variants, other class
    # spellings, unknown genes, a repeated call, the extra aliquot and the normal changed nothing.
    same = [s for s in held_out if s not in renamed_tumors]
    assert len(same) >= len(held_out) // 2
    mine, theirs = new[same], workflow[same]
    np.testing.assert_allclose(mine.obsm["X_latent"], theirs.obsm["X_latent"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        mine.obsm["cancer_type_probabilities"], theirs.obsm["X_class_probabilities"], rtol=0, atol=1e-6
    )
    workflow_type = np.asarray(classes)[theirs.obsm["X_class_probabilities"].argmax(axis=1)]
    assert (mine.obs["predicted_cancer_type"].to_numpy() == workflow_type).all()

    # A renamed gene is unknown, and the model gene it was is 0 (not mutated), not the training frequency.
    from oncoae.encoding import TrainedEncoder

    renamed = sorted(renamed_tumors)
    assert renamed
    raw = ad.read_h5ad(run / "data" / "mutation.h5ad")[renamed].to_df()
    raw[list(RENAMED)] = 0.0
    encoder = TrainedEncoder.from_files(
        run / "models" / MODEL / "seed0" / "model.pt", {"mutation": run / "normalized" / "mutation.normalizer.npz"}
    )
    reference = encoder.encode({"mutation": raw}, samples=renamed)
    np.testing.assert_allclose(new[renamed].obsm["X_latent"], reference.latent, rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        new[renamed].obsm["cancer_type_probabilities"], reference.class_probabilities, rtol=0, atol=1e-6
    )

    # The genes the model lacks are dropped and reported: only those with a non-silent variant are calls.
    nonsilent = {r["Hugo_Symbol"] for r in rows if r["Variant_Classification"].lower() not in SILENT_CLASSES}
    unknown = sorted(nonsilent - set(model_genes))
    assert {"NOVEL1", *RENAMED.values()} <= set(unknown)  # and genes of the slice too rare to be model genes
    assert f"dropped {len(unknown)} of the {len(nonsilent)} genes with a non-silent variant" in result.stderr
    assert all(gene in result.stderr for gene in unknown[:5])  # the log names the first five
    absent = len(set(model_genes) - nonsilent)
    assert f"{absent} of the model's {len(model_genes)} genes have no non-silent variant" in result.stderr

    # The same as a table: the predicted type and one probability column per class.
    table_out = tmp_path / "other.tsv"
    result = encode("--run", str(run), "--model", MODEL, "--input", f"mutation={maf}", "--out", str(table_out))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(table_out, sep="\t", index_col="sample").loc[list(new.obs_names)]
    assert (table["predicted_cancer_type"].to_numpy() == predicted.to_numpy()).all()
    np.testing.assert_allclose(
        table[[f"cancer_type_probability_{c}" for c in classes]].to_numpy(), probabilities, rtol=1e-6
    )


def test_encode_refuses_a_maf_in_another_gene_id_space(classifier_run, tmp_path):
    """Model genes a MAF does not name are 0, yet the guard still stops a MAF on other gene IDs: it counts the
    genes the MAF names that the model knows, not the zero-filled table. A MAF of one tumor, naming a handful of
    genes, passes."""
    run, cohort = classifier_run
    one_tumor = cohort["rows"][0][2]
    single = tmp_path / "single.maf.gz"
    _write_maf(
        single,
        [
            {"Hugo_Symbol": g, "Variant_Classification": c, "Tumor_Sample_Barcode": s}
            for g, c, s in cohort["rows"]
            if s == one_tumor
        ],
    )
    result = encode(
        "--run", str(run), "--model", MODEL, "--input", f"mutation={single}", "--out", str(tmp_path / "s.h5ad")
    )
    assert result.returncode == 0, result.stderr
    assert ad.read_h5ad(tmp_path / "s.h5ad").n_obs == 1
    n_named = len({g for g, _c, _s in cohort["rows"]})
    ensembl = {gene: f"ENSG{i:011d}" for i, gene in enumerate(sorted({g for g, _c, _s in cohort["rows"]}))}
    rows = [
        {"Hugo_Symbol": ensembl[g], "Variant_Classification": c, "Tumor_Sample_Barcode": s}
        for g, c, s in cohort["rows"]
    ]
    maf = tmp_path / "ensembl.maf.gz"
    _write_maf(maf, rows)
    out = tmp_path / "o.h5ad"
    result = encode("--run", str(run), "--model", MODEL, "--input", f"mutation={maf}", "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert f"0% of the {n_named} genes this MAF names are genes of the model" in result.stderr
    assert str(maf) in result.stderr
    assert not out.exists()
