"""Train/val/test assignment: stratified, seeded, saved as a table.

Test tumors are held out: nothing is fitted on them. Val tumors serve early stopping only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import pandas as pd
from sklearn.model_selection import train_test_split

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


class SplitError(ValueError):
    pass


def _stratify_or_none(labels: pd.Series | None, n_parts: int) -> pd.Series | None:
    """Stratification labels where every class can appear in every part.

    Classes too small for that (a handful of unlabelled tumors, a rare subtype) are pooled with the most common
    class, which keeps the split stratified for everything else (logged).
    """
    if labels is None:
        return None
    counts = labels.value_counts()
    small = counts[counts < n_parts].index
    if len(small):
        log.info("stratifying by %s: pooling small classes %s with %r", labels.name, list(small), counts.idxmax())
        labels = labels.where(~labels.isin(small), counts.idxmax())
    return labels if labels.nunique() > 1 else None


def make_split(
    samples: pd.Index,
    fractions: dict[str, float],
    seed: int,
    stratify: pd.Series | None = None,
    given: pd.Series | None = None,
) -> pd.DataFrame:
    """A table with columns ``sample`` and ``split``.

    With ``given`` (a per-sample train/test column, e.g. a published split), test stays as given and val is
    carved from the given train tumors.
    """
    samples = pd.Index(sorted(samples))
    if stratify is not None:
        stratify = stratify.reindex(samples)
        if stratify.isna().any():
            # Unlabelled tumors still count: they form their own stratum instead of blocking the split.
            log.info(
                "stratification column %s is missing for %d tumors (e.g. %s); they form their own stratum",
                stratify.name,
                int(stratify.isna().sum()),
                stratify[stratify.isna()].index[0],
            )
            stratify = stratify.astype(object).where(stratify.notna(), "<missing>")
    val_fraction = fractions.get("val", 0.0)
    if given is not None:
        given = given.reindex(samples).astype(str).str.lower()
        bad = given[~given.isin(["train", "test", "val"])]
        if len(bad):
            raise SplitError(
                f"split column {given.name!r} has value {bad.iloc[0]!r} for sample {bad.index[0]!r}; "
                "expected train, val or test"
            )
        test = samples[given.to_numpy() == "test"]
        train_pool = samples[given.to_numpy() != "test"]
        pool_val = val_fraction / max(1e-9, 1.0 - fractions.get("test", 0.0))
    else:
        strat = _stratify_or_none(stratify, 3)
        train_pool, test = train_test_split(samples, test_size=fractions["test"], random_state=seed, stratify=strat)
        pool_val = val_fraction / (1.0 - fractions["test"])
    if pool_val > 0:
        strat = _stratify_or_none(stratify.reindex(train_pool) if stratify is not None else None, 2)
        _train, val = train_test_split(train_pool, test_size=pool_val, random_state=seed, stratify=strat)
    else:
        val = pd.Index([])
    table = pd.DataFrame({"sample": samples, "split": "train"})
    table.loc[table["sample"].isin(val), "split"] = "val"
    table.loc[table["sample"].isin(test), "split"] = "test"
    counts = table["split"].value_counts()
    for name in ("train", "test"):
        if counts.get(name, 0) == 0:
            raise SplitError(f"the {name} split is empty; check split.fractions or the split column")
    log.info("split: %s", ", ".join(f"{k}={counts.get(k, 0)}" for k in SPLITS))
    return table


def split_tumors(
    clinical: pd.DataFrame, measured: Iterable[Iterable[str]], settings: Mapping, n_clusters: int | str
) -> pd.DataFrame:
    """The split step: the tumors with a clinical row and at least one modality (``measured``: each modality's
    tumor IDs), split by ``make_split`` with the ``split:`` config section (``settings``). Refuses a split with
    fewer held-out tumors than a fixed ``n_clusters`` (``clustering.k``; "auto" is checked later)."""
    present = set().union(*map(set, measured))
    samples = pd.Index(sorted(present & set(clinical.index)))
    log.info(
        "%d tumors with clinical data and at least one modality (%d without any modality, %d measured "
        "without clinical data)",
        len(samples),
        len(set(clinical.index) - present),
        len(present - set(clinical.index)),
    )
    table = make_split(
        samples,
        fractions=settings["fractions"],
        seed=settings["seed"],
        stratify=clinical[settings["stratify"]] if settings.get("stratify") else None,
        given=clinical[settings["column"]] if settings.get("column") else None,
    )
    n_test = int((table["split"] == "test").sum())
    if isinstance(n_clusters, int) and n_test < n_clusters:
        raise SplitError(
            f"only {n_test} held-out tumors for {n_clusters} clusters; lower clustering.k or hold out more"
        )
    return table


def read_split(path) -> pd.Series:
    """A run's split.tsv as a Series: the split (train, val, test) by sample ID."""
    return pd.read_csv(path, sep="\t", dtype={"sample": str}).set_index("sample")["split"]
