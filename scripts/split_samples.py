"""Clinical table + modality files -> train/val/test assignment (split.tsv)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]) as log:
    import anndata as ad
    import pandas as pd

    from oncoae.atomic import write_table
    from oncoae.data.modality import read_clinical
    from oncoae.data.split import SplitError, make_split

    params = snakemake.params
    clinical = read_clinical(snakemake.input.clinical)
    measured = set()
    for path in snakemake.input.modalities:
        measured |= set(ad.read_h5ad(path, backed="r").obs_names)
    samples = pd.Index(sorted(measured & set(clinical.index)))
    log.info(
        "%d tumors with clinical data and at least one modality (%d without any modality, %d measured "
        "without clinical data)",
        len(samples),
        len(set(clinical.index) - measured),
        len(measured - set(clinical.index)),
    )
    split = params.split
    table = make_split(
        samples,
        fractions=split["fractions"],
        seed=split["seed"],
        stratify=clinical[split["stratify"]] if split.get("stratify") else None,
        given=clinical[split["column"]] if split.get("column") else None,
    )
    n_test, k = int((table["split"] == "test").sum()), params.n_clusters
    if isinstance(k, int) and n_test < k:
        raise SplitError(f"only {n_test} held-out tumors for {k} clusters; lower clustering.k or hold out more")
    write_table(table, snakemake.output[0])
