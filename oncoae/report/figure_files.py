"""The names of a run's figure files, in figures/<group>/ and figures/comparison/, as prefixes taken from the run
layout's ``FIGURES`` (oncoae/layout.py), where each name is spelled once: the plotting steps write them and the
report finds them through this module.

A figure file is ``<prefix><parts joined by _>.png``: ``umap_ae_multimodal.png``, ``contingency_pca_subtype.png``,
``kcurve.png``. The report finds a kind of figure by its prefix in the folders it is given (``find_figures``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from oncoae.layout import FIGURES

SUFFIX = ".png"


def _prefix(folder_kind: str, kind: str) -> str:
    """The fixed start of a figure name: ``umap_{model}`` -> ``umap_``; a name without fields is itself."""
    return FIGURES[folder_kind][kind].split("{", 1)[0]


# figures/comparison/: one bar chart per headline metric (rule plot_comparison), named <metric>_<label>.
ARI_BARS = FIGURES["comparison"]["metric_bars"].format(metric="ari", label="")  # + label
C_INDEX_BARS = FIGURES["comparison"]["metric_bars"].format(metric="c_index", label="")  # + survival time column
# figures/<group>/: per model of the group (rule plot_model_figures).
UMAP = _prefix("group", "umap")  # + model
CONTINGENCY = _prefix("group", "contingency")  # + model, label
KAPLAN_MEIER = _prefix("group", "km")  # + model
TRAINING_CURVES = _prefix("group", "training")  # + model (autoencoders)
CONTRIBUTION = _prefix("group", "contribution")  # + metric, label (multi-modal models together)
K_CURVE = _prefix("group", "kcurve")  # one per group


def figure_file(folder: str | Path, prefix: str, *parts: str) -> Path:
    """The file of one figure: ``folder/<prefix><parts joined by _>.png``."""
    return Path(folder) / f"{prefix}{'_'.join(parts)}{SUFFIX}"


def find_figures(folders: Iterable[str | Path], prefix: str) -> list[tuple[str, Path]]:
    """Every figure of one kind in ``folders``, sorted by path: (its name without the prefix, its path)."""
    paths = sorted(path for folder in folders for path in Path(folder).glob(f"{prefix}*{SUFFIX}"))
    return [(path.stem.removeprefix(prefix), path) for path in paths]
