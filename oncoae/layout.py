"""The run folder, ``results/<dataset>/``: the one place that names its files and figures.

The rules write there through ``RunLayout``, and whatever reads a finished run (``python -m oncoae encode``, the
benchmarks, the report) finds the files through it too, so a path renamed here is renamed everywhere
(tests/test_layout.py checks that every path named here exists after a real run). Paths are strings; a pattern
works as well as a value, e.g. ``layout.normalized("{modality}")`` in a rule.

Standard library only: the Snakefile imports it.
"""

from __future__ import annotations

import glob
import os

GROUPS = ("autoencoders", "baselines")
TUMOR_TYPE_TABLES = ("metrics", "recall", "confusion", "within_type")
TUNING_FILES = ("best.yaml", "trials.tsv", "importances.tsv", "history.png", "importance.png")

# Figure names by folder (figures/<folder>/) and kind; the fields are filled in by ``RunLayout.figure``.
FIGURES = {
    "group": {  # figures/autoencoders/, figures/baselines/ (scripts/plot_model_figures.py)
        "umap": "umap_{model}",
        "contingency": "contingency_{model}_{label}",
        "km": "km_{model}",
        "training": "training_{model}",
        "kcurve": "kcurve",
        "contribution": "contribution_{metric}_{label}",
    },
    "comparison": {"metric_bars": "{metric}_{label}"},  # figures/comparison/ (scripts/plot_comparison.py)
    "tumor_types": {"confusion": "confusion_{name}", "umap": "umap_{model}"},  # figures/tumor_types/
}
ATTRIBUTION_FIGURE = "top_features.png"


def _folder_kind(folder: str) -> str:
    return "group" if folder in GROUPS else folder


class RunLayout:
    """The paths of one run folder (``root``, e.g. ``results/<dataset>``; relative to the working directory or
    absolute)."""

    def __init__(self, root: str | os.PathLike, dataset: str | None = None) -> None:
        self.root = os.fspath(root).rstrip("/") or "."
        self.dataset = dataset if dataset is not None else os.path.basename(self.root)

    @classmethod
    def of_dataset(cls, dataset: str, base: str | os.PathLike = "results") -> RunLayout:
        """The run of ``dataset`` under ``base`` (the workflow's working directory's results/ by default)."""
        base = os.fspath(base)
        return cls(dataset if base in ("", ".") else f"{base.rstrip('/')}/{dataset}", dataset)

    def __repr__(self) -> str:
        return f"RunLayout({self.root!r})"

    def _path(self, *parts: object) -> str:
        return "/".join([self.root, *map(str, parts)])

    # Tumors in: raw modalities, clinical table, split
    def raw(self, modality: str) -> str:
        return self._path("data", f"{modality}.h5ad")

    @property
    def clinical(self) -> str:
        return self._path("data", "clinical.tsv")

    @property
    def survival_excluded(self) -> str:
        """Tumors whose survival is not evaluable (not written for the simulator)."""
        return self._path("data", "survival_excluded.tsv")

    def ingest_summary(self, modality: str) -> str:
        """Counts of ingestion for the report (not written for the simulator)."""
        return self._path("data", f"{modality}.ingest.tsv")

    @property
    def split(self) -> str:
        return self._path("split.tsv")

    # Normalized modalities and their normalizers (fitted on training tumors)
    def normalized(self, modality: str) -> str:
        return self._path("normalized", f"{modality}.h5ad")

    def normalizer(self, modality: str) -> str:
        return self._path("normalized", f"{modality}.normalizer.npz")

    # Models and latents
    @property
    def models_dir(self) -> str:
        return self._path("models")

    def model_dir(self, model: str) -> str:
        return self._path("models", model)

    def checkpoint(self, model: str, seed: int | str) -> str:
        """An autoencoder's saved network (best val weights)."""
        return self._path("models", model, f"seed{seed}", "model.pt")

    def history(self, model: str, seed: int | str) -> str:
        return self._path("models", model, f"seed{seed}", "history.tsv")

    def baseline_model(self, model: str) -> str:
        """A baseline's fitted extractor (PCA, kernel PCA)."""
        return self._path("models", model, "baseline.joblib")

    def finished_seeds(self, model: str) -> list[int]:
        """The seeds of ``model`` whose checkpoint exists, in order (found through ``checkpoint``)."""
        prefix, suffix = self.checkpoint(model, "\0").split("\0")
        found = glob.glob(glob.escape(prefix) + "*" + glob.escape(suffix))
        seeds = (path[len(prefix) : len(path) - len(suffix)] for path in found)
        return sorted(int(seed) for seed in seeds if seed.isdigit())

    def latent(self, model: str, seed: int | str) -> str:
        """An autoencoder's latent of every tumor for one seed."""
        return self._path("latent", model, f"seed{seed}.h5ad")

    def baseline_latent(self, model: str) -> str:
        """A baseline's one latent (baselines are deterministic)."""
        return self._path("latent", model, "baseline.h5ad")

    # Clusters and evaluation, by group of models (autoencoders, baselines)
    def clusters(self, group: str) -> str:
        return self._path("clusters", f"{group}.tsv")

    def k_selection(self, group: str) -> str:
        return self._path("clusters", f"{group}.k_selection.tsv")

    def centroids(self, group: str) -> str:
        return self._path("clusters", f"{group}.centroids.tsv")

    def metrics(self, group: str) -> str:
        return self._path("evaluation", f"{group}.tsv")

    def contributions(self, group: str) -> str:
        return self._path("evaluation", f"{group}.contributions.tsv")

    def leiden(self, group: str) -> str:
        return self._path("evaluation", f"{group}.leiden.tsv")

    def enrichment(self, group: str) -> str:
        return self._path("evaluation", f"{group}.enrichment.tsv")

    @property
    def summary(self) -> str:
        """The tidy table of every model's held-out metrics."""
        return self._path("evaluation", "summary.tsv")

    def characterization(self, group: str) -> str:
        return self._path("characterization", f"{group}.tsv")

    def tumor_type_table(self, name: str) -> str:
        """``TUMOR_TYPE_TABLES``: metrics, recall, confusion, within_type (evaluation.tumor_type)."""
        return self._path("evaluation", "tumor_types", f"{name}.tsv")

    # Figures
    def figure_dir(self, folder: str) -> str:
        """figures/<folder>: a group of models, comparison or tumor_types."""
        return self._path("figures", folder)

    def figure(self, folder: str, kind: str, **fields: object) -> str:
        """The figure of ``kind`` (``FIGURES``) in ``folder``, e.g. ``figure("autoencoders", "umap",
        model="ae_multimodal")``."""
        names = FIGURES[_folder_kind(folder)]
        if kind not in names:
            raise KeyError(f"no figure kind {kind!r} in figures/{folder} (kinds: {', '.join(names)})")
        return self._path("figures", folder, names[kind].format(**fields) + ".png")

    def figures_of_kind(self, folder: str, kind: str) -> list[str]:
        """The figures of ``kind`` that exist in ``folder``, sorted."""
        pattern = FIGURES[_folder_kind(folder)][kind]
        prefix = pattern.split("{", 1)[0]
        found = sorted(
            glob.glob("/".join([glob.escape(self.root), "figures", glob.escape(folder), glob.escape(prefix) + "*.png"]))
        )
        return found if "{" in pattern else [path for path in found if os.path.basename(path) == pattern + ".png"]

    def figure_kind(self, folder: str, path: str | os.PathLike) -> str | None:
        """The kind of a figure file of ``folder`` by its name (None for a name the layout does not give)."""
        stem = os.path.basename(os.fspath(path)).removesuffix(".png")
        for kind, pattern in FIGURES[_folder_kind(folder)].items():
            prefix = pattern.split("{", 1)[0]
            if stem == pattern or ("{" in pattern and stem.startswith(prefix) and len(stem) > len(prefix)):
                return kind
        return None

    # Attributions, tuning, exports, report
    def attribution(self, model: str, name: str) -> str:
        """attribution/<model>/<name>: dimensions.tsv, clusters.tsv, heads.tsv, validation.tsv or
        ``ATTRIBUTION_FIGURE``."""
        return self._path("attribution", model, name)

    @property
    def attribution_dir(self) -> str:
        return self._path("attribution")

    def tuning(self, model: str, name: str) -> str:
        """tuning/<model>/<name>: ``TUNING_FILES`` (the selection's outputs)."""
        return self._path("tuning", model, name)

    def tuning_worker(self, model: str, worker: int | str) -> str:
        return self._path("tuning", model, f"worker{worker}.tsv")

    def study(self, model: str) -> str:
        """The Optuna journal the workers share (no declared output: a re-run continues it)."""
        return self._path("tuning", model, "study.journal")

    def annotated(self, model: str, seed: int | str) -> str:
        """A latent with its k-means clusters of one seed."""
        return self._path("annotated", model, f"seed{seed}.h5ad")

    @property
    def mudata(self) -> str:
        return self._path(f"{self.dataset}.h5mu")

    @property
    def report(self) -> str:
        return self._path("report.html")

    # Step logs, Snakemake's benchmark files and resumable work (outside declared outputs)
    def log(self, rule: str, *job: object) -> str:
        """logs/<rule>.log, or logs/<rule>/<job parts>.log for a rule with wildcards."""
        return self._path("logs", f"{rule}.log") if not job else self._path("logs", rule, *job[:-1], f"{job[-1]}.log")

    @property
    def benchmarks_dir(self) -> str:
        return self._path("benchmarks")

    def benchmark(self, rule: str, *job: object) -> str:
        """benchmarks/<rule>/<job parts, or the rule's name>.tsv: the rule is the folder under benchmarks/."""
        return self._path("benchmarks", rule, *(job[:-1] if job else ()), f"{job[-1] if job else rule}.tsv")

    def work(self, stage: str, model: str, run: str) -> str:
        """.work/<stage>/<model>/<run>: checkpoints that let a killed job resume (Snakemake removes the declared
        outputs of a failed job, so they live outside them)."""
        return self._path(".work", stage, model, run)
