"""Association of clusters with clinical variables, one test per variable, Benjamini-Hochberg across variables."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, false_discovery_control, kruskal

ENRICHMENT_COLUMNS = ["column", "test", "statistic", "p_value", "p_adjusted", "enriched", "n"]


def _is_categorical(values: pd.Series, max_numeric_levels: int) -> bool:
    # Strings, categories and booleans are nominal; a numeric column with only a few distinct values (stage 1-4,
    # a 0/1 flag) is treated as categories too, where a rank test on heavy ties says little.
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return True
    return values.nunique(dropna=True) <= max_numeric_levels


def _test_column(clusters: pd.Series, values: pd.Series, categorical: bool) -> tuple[float, float, int]:
    """(statistic, p, n) of one column over tumors with a value and a cluster; NaN statistic/p when untestable."""
    used = values.notna() & clusters.notna()
    clusters, values = clusters[used], values[used]
    n = int(used.sum())
    if clusters.nunique() < 2 or values.nunique() < 2:
        return float("nan"), float("nan"), n
    if categorical:
        # Chi-square test of independence on the clusters x values table (scipy's defaults: Yates correction
        # for a 2 x 2 table).
        result = chi2_contingency(pd.crosstab(clusters, values.astype(str)).to_numpy())
        return float(result.statistic), float(result.pvalue), n
    groups = [group.to_numpy(float) for _, group in values.groupby(clusters)]
    result = kruskal(*groups)
    return float(result.statistic), float(result.pvalue), n


def clinical_enrichment(
    clusters: np.ndarray,
    clinical: pd.DataFrame,
    columns: Sequence[str],
    alpha: float = 0.05,
    max_numeric_levels: int = 5,
) -> pd.DataFrame:
    """Test each clinical column for association with the clusters.

    clusters: (n,) cluster labels, in the row order of clinical (n rows); columns: the clinical columns to test.
    Categorical columns (strings, categories, booleans, or numbers with at most max_numeric_levels distinct
    values) get a chi-square test of independence, other numeric columns a Kruskal-Wallis test across clusters.
    Each test uses the tumors with a value and a cluster label. p-values are Benjamini-Hochberg adjusted over
    the columns that could be tested; a column with a single value or fewer than 2 clusters among its tumors
    gets NaN p, is left out of the adjustment and is never enriched.

    Returns one row per column: column, test ("chi2" or "kruskal"), statistic, p_value, p_adjusted,
    enriched (p_adjusted < alpha), n (tumors used).
    """
    missing = [column for column in columns if column not in clinical.columns]
    if missing:
        raise ValueError(f"clinical table has no column(s) {', '.join(map(repr, missing))} to test for enrichment")
    clusters = np.asarray(clusters)
    if len(clusters) != len(clinical):
        raise ValueError(f"{len(clusters)} cluster labels for {len(clinical)} clinical rows")
    labels = pd.Series(clusters, index=clinical.index)
    rows = []
    for column in columns:
        values = clinical[column]
        categorical = _is_categorical(values, max_numeric_levels)
        statistic, p_value, n = _test_column(labels, values, categorical)
        rows.append(
            {
                "column": column,
                "test": "chi2" if categorical else "kruskal",
                "statistic": statistic,
                "p_value": p_value,
                "n": n,
            }
        )
    table = pd.DataFrame(rows, columns=["column", "test", "statistic", "p_value", "n"])
    table["p_adjusted"] = np.nan
    tested = table["p_value"].notna().to_numpy()
    if tested.any():
        table.loc[tested, "p_adjusted"] = false_discovery_control(table.loc[tested, "p_value"].to_numpy(), method="bh")
    table["enriched"] = table["p_adjusted"] < alpha  # NaN compares False: untested columns are not enriched
    return table[ENRICHMENT_COLUMNS]


def count_enriched(table: pd.DataFrame) -> int:
    """Number of enriched columns in a clinical_enrichment table."""
    return int(table["enriched"].sum())
