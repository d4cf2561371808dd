"""The names of a run's figure files, in figures/<group>/ and figures/comparison/: the plotting steps write them
and the report finds them, both through this module, so a name is spelled once.

A figure file is ``<prefix><parts joined by _>.png``: ``umap_ae_multimodal.png``, ``contingency_pca_subtype.png``,
``kcurve.png``. The report finds a kind of figure by its prefix in the folders it is given (``find_figures``);
the run layout names the folders.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SUFFIX = ".png"
# figures/comparison/: one bar chart per headline metric (rule plot_comparison).
ARI_BARS = "ari_"  # + label
C_INDEX_BARS = "c_index_"  # + survival time column
# figures/<group>/: per model of the group (rule plot_model_figures).
UMAP = "umap_"  # + model
CONTINGENCY = "contingency_"  # + model, label
KAPLAN_MEIER = "km_"  # + model
TRAINING_CURVES = "training_"  # + model (autoencoders)
CONTRIBUTION = "contribution_"  # + metric, label (multi-modal models together)
K_CURVE = "kcurve"  # one per group


def figure_file(folder: str | Path, prefix: str, *parts: str) -> Path:
    """The file of one figure: ``folder/<prefix><parts joined by _>.png``."""
    return Path(folder) / f"{prefix}{'_'.join(parts)}{SUFFIX}"


def find_figures(folders: Iterable[str | Path], prefix: str) -> list[tuple[str, Path]]:
    """Every figure of one kind in ``folders``, sorted by path: (its name without the prefix, its path)."""
    paths = sorted(path for folder in folders for path in Path(folder).glob(f"{prefix}*{SUFFIX}"))
    return [(path.stem.removeprefix(prefix), path) for path in paths]
