"""How the report writes numbers and names metrics: three significant figures, p-values in scientific notation,
no "± 0" for values that are the same in every seed, and human headers for summary.tsv's metric names."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# An sd this small relative to the mean is floating-point noise (e.g. 0.273 ± 5.6e-17): the value is deterministic.
DETERMINISTIC_RELATIVE_SD = 1e-12
# Fixed notation between these magnitudes, scientific outside them.
_FIXED_RANGE = (1e-3, 1e5)


def _finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and np.isfinite(value)


def significant(value: float, digits: int = 3, sign: bool = False) -> str:
    """``value`` to ``digits`` significant figures, trailing zeros kept (0.300, 1.00, 0.00123); scientific
    notation (1.23e-5, 4.56e+7) outside [0.001, 100,000); integers of more digits are written in full (12345)."""
    if not _finite(value):
        return "n/a"
    value = float(value)
    prefix = "+" if sign and value >= 0 else ""
    if value == 0:
        return prefix + "0" if digits == 1 else prefix + "0." + "0" * (digits - 1)
    magnitude = abs(value)
    if not _FIXED_RANGE[0] <= magnitude < _FIXED_RANGE[1]:
        return prefix + scientific(value, digits)
    exponent = math.floor(math.log10(magnitude))
    decimals = max(0, digits - 1 - exponent)
    text = f"{value:.{decimals}f}"
    # Rounding can carry into a new digit (0.9996 -> 1.000): one decimal fewer then.
    if decimals > 0 and len(text.lstrip("-").replace(".", "").lstrip("0")) > digits:
        text = f"{value:.{decimals - 1}f}"
    return prefix + text


def scientific(value: float, digits: int = 3) -> str:
    """``value`` in scientific notation with ``digits`` significant figures and a short exponent: 1.23e-4."""
    if not _finite(value):
        return "n/a"
    mantissa, exponent = f"{float(value):.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def count(value: float) -> str:
    """A count (or a mean of counts): an integer when it is one, else three significant figures."""
    if not _finite(value):
        return "n/a"
    return str(int(round(value))) if float(value).is_integer() else significant(value)


def is_deterministic(mean: float, sd: float) -> bool:
    """Whether an sd over seeds is zero up to floating-point noise (or missing: a single seed)."""
    if not _finite(sd):
        return True
    return sd <= DETERMINISTIC_RELATIVE_SD * max(abs(mean) if _finite(mean) else 0.0, 1e-300) or sd == 0


def mean_sd(mean: float, sd: float, n: int, kind: str = "score") -> str:
    """'mean ± sd' over ``n`` seeds in the notation of ``kind`` ('score', 'count' or 'p'); the mean alone for one
    seed or a value that is the same in every seed."""
    write = FORMATTERS[kind]
    if not _finite(mean):
        return "n/a"
    if n <= 1 or is_deterministic(mean, sd):
        return write(mean)
    return f"{write(mean)} ± {write(sd) if kind != 'count' else significant(sd)}"


def values_mean_sd(values: Sequence[float], kind: str = "score") -> str:
    """``mean_sd`` of raw per-seed values (NaN dropped)."""
    finite = np.asarray([v for v in values if _finite(v)], dtype=float)
    if finite.size == 0:
        return "n/a"
    sd = float(finite.std(ddof=1)) if finite.size > 1 else float("nan")
    return mean_sd(float(finite.mean()), sd, int(finite.size), kind)


FORMATTERS = {"score": significant, "count": count, "p": scientific}


def seeds_phrase(n_seeds: int) -> str:
    """How a figure or table over ``n_seeds`` seeds is summarized, for captions."""
    return "one seed" if n_seeds == 1 else f"mean ± sd over {n_seeds} seeds"


@dataclass(frozen=True)
class MetricInfo:
    header: str
    description: str
    kind: str = "score"  # how it is written: 'score', 'count' or 'p'


# summary.tsv's metric names -> what the report calls them.
METRICS = {
    "ari": MetricInfo("ARI", "adjusted Rand index of held-out k-means clusters vs the label"),
    "nmi": MetricInfo("NMI", "normalized mutual information of held-out clusters and the label"),
    "ami": MetricInfo("AMI", "adjusted mutual information of held-out clusters and the label"),
    "silhouette": MetricInfo("silhouette", "silhouette of the held-out latents under their k-means clusters"),
    "n_clusters": MetricInfo("clusters", "clusters that held-out tumors fall in", "count"),
    "n_enriched": MetricInfo(
        "enriched clinical columns",
        "clinical columns that differ across held-out clusters (Benjamini-Hochberg adjusted)",
        "count",
    ),
    "logrank_p": MetricInfo("log-rank p (asymptotic)", "log-rank test across held-out clusters, chi-square", "p"),
    "logrank_p_permutation": MetricInfo(
        "log-rank p (permutation)", "log-rank test across held-out clusters, by permuting cluster labels", "p"
    ),
    "logrank_permutations": MetricInfo("permutations", "label permutations run for the log-rank p", "count"),
    "c_index": MetricInfo("C-index (Cox on latents)", "C-index of a ridge Cox model fitted on training latents"),
    "c_index_head": MetricInfo("C-index (Cox head)", "C-index of the autoencoder's own Cox head"),
    "reconstruction_error": MetricInfo(
        "reconstruction loss", "per-tumor reconstruction loss of the modality's likelihood, mean over held-out tumors"
    ),
}


def metric_info(metric: str) -> MetricInfo:
    return METRICS.get(metric, MetricInfo(metric.replace("_", " "), metric))


def exact_name(metric: str, label: str) -> str:
    """The (metric, label) pair as summary.tsv writes it."""
    return f"{metric} ({label})" if label else metric
