"""The run's report put together from its files: each section's figures, tables and captions, then the HTML.

Reads summary.tsv, the evaluation tables, the figure folders, the tuning files and the provenance; fits nothing.
The model whose top features are shown is chosen on validation tumors (evaluation.ranking.choose_models).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from oncoae.evaluation.ranking import choose_models
from oncoae.provenance import data_overview, file_checksums, package_versions, rule_run_times, workflow_commit
from oncoae.report import figure_files
from oncoae.report.attributions import attribution_items
from oncoae.report.data_notes import data_items
from oncoae.report.format import metric_info, seeds_phrase
from oncoae.report.html import Figure, ReportContent, Table, render_report
from oncoae.report.tables import (
    characterization_table,
    contribution_table,
    enrichment_table,
    largest_contributors,
    leiden_table,
    per_seed_values,
    survival_table,
)
from oncoae.report.tumor_types import tumor_type_items
from oncoae.report.tuning import tuning_headline, tuning_items


def read_tables(paths: Sequence[str | Path]) -> pd.DataFrame:
    """The non-empty TSVs of ``paths`` (one per group of models) as one table; empty without any."""
    frames = [pd.read_csv(path, sep="\t") for path in paths]
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


@dataclass(frozen=True)
class _Run:
    """What every section's captions need: the figure folders, known labels and seeds."""

    figure_dirs: Sequence[Path]
    labels: Sequence[str]
    seeds: Sequence[int]

    @property
    def over_seeds(self) -> str:
        return seeds_phrase(len(self.seeds))

    @property
    def one_seed(self) -> str:
        """Figures of one run of each model (UMAPs, Kaplan-Meier, contingency) show the first seed's."""
        return f"seed {min(self.seeds)}" + (f", the first of {len(self.seeds)}" if len(self.seeds) > 1 else "")

    def figures(self, prefix: str, caption: str) -> list[Figure]:
        """Every figure of one kind (``figure_files``); ``caption`` may name the rest of the file name as {name}."""
        return [
            Figure(name, path, caption.format(name=name))
            for name, path in figure_files.find_figures(self.figure_dirs, prefix)
        ]


def _comparison(run: _Run, summary: pd.DataFrame) -> list:
    label = run.labels[0] if run.labels else None
    items: list = []
    if label and len(run.seeds) > 1:
        items.append(
            Table(
                f"ARI vs {label}, every seed",
                per_seed_values(summary, "ari", label),
                "Held-out tumors, one column per seed.",
            )
        )
    items += run.figures(figure_files.ARI_BARS, "ARI of held-out clusters vs {name}, " + run.over_seeds + ".")
    items += run.figures(
        figure_files.C_INDEX_BARS,
        "C-index of a Cox model fitted on training latents, held-out tumors (survival: {name}), "
        + run.over_seeds
        + ".",
    )
    return items


def _training_curves(run: _Run) -> list:
    per_seed = "one colour and line style per seed." if len(run.seeds) > 1 else f"seed {run.seeds[0]}."
    return run.figures(
        figure_files.TRAINING_CURVES,
        "{name}: loss per epoch on training (left) and validation (right) tumors, " + per_seed,
    )


def _umaps(run: _Run) -> list:
    return run.figures(
        figure_files.UMAP,
        "{name}: UMAP of held-out latents (" + run.one_seed + "), by known label and by k-means cluster.",
    )


def _clusters(run: _Run, leiden: pd.DataFrame, enrichment: pd.DataFrame, alpha: float) -> list:
    items: list = run.figures(
        figure_files.K_CURVE,
        "Silhouette of k-means on training latents by k"
        + (f" (mean over {len(run.seeds)} seeds)" if len(run.seeds) > 1 else "")
        + "; circle: the k used.",
    )
    for figure in run.figures(figure_files.CONTINGENCY, ""):
        known = next((k for k in run.labels if figure.title.endswith(f"_{k}")), "known label")
        model = figure.title.removesuffix(f"_{known}")
        caption = f"{model}: held-out tumors per k-means cluster and {known} ({run.one_seed})."
        items.append(Figure(figure.title, figure.path, caption))
    if not leiden.empty:
        items.append(
            Table(
                "Leiden resolution sweep",
                leiden_table(leiden),
                "Leiden on the held-out tumors' scanpy neighbour graph (15 neighbours)"
                + (f", means over {len(run.seeds)} seeds." if len(run.seeds) > 1 else ", one seed."),
            )
        )
    if not enrichment.empty:
        items.append(
            Table(
                "Clinical enrichment across held-out clusters",
                enrichment_table(enrichment),
                f"chi-square (categorical) or Kruskal-Wallis (numeric), Benjamini-Hochberg over columns; "
                f"enriched at adjusted p < {alpha}.",
            )
        )
    return items


def _survival(run: _Run, summary: pd.DataFrame, time_label: str | None) -> list:
    if not time_label:
        return []
    table = Table(
        "Survival across clusters and from latents",
        survival_table(summary, time_label),
        "Log-rank across held-out clusters: asymptotic chi-square and by label permutation (escalating "
        "while p is small). C-index of a ridge Cox model fitted on training latents, scored on held-out "
        "tumors, with a percentile bootstrap interval over held-out tumors.",
    )
    return [table] + run.figures(
        figure_files.KAPLAN_MEIER,
        "{name}: Kaplan-Meier curves of held-out tumors per k-means cluster (" + run.one_seed + "). Legend n: the "
        "cluster's held-out tumors; those without survival data are left out of the curves and the numbers at "
        "risk, which also start without those at time 0.",
    )


def _contributions(run: _Run, contributions: pd.DataFrame) -> tuple[list, list[str]]:
    """The section's items and the summary's sentences on the largest contributor of each model."""
    if contributions.empty:
        return [], []
    items: list = [
        Table(
            "Drop of each metric without the modality",
            contribution_table(contributions),
            "Held-out tumors that have the modality and another one, re-encoded with the modality masked "
            "through the presence mask (not zeros); the same train-fitted centroids and Cox model score both.",
        )
    ]
    for figure in run.figures(figure_files.CONTRIBUTION, ""):
        metric = next((m for m in contributions["metric"].unique() if figure.title.startswith(f"{m}_")), "")
        what = f"{metric_info(metric).header}, {figure.title.removeprefix(f'{metric}_')}" if metric else figure.title
        figure.caption = (
            f"Drop of the held-out {what} when each modality is masked, per multi-modal model, {run.over_seeds}."
        )
        items.append(figure)
    headlines = [
        f"{model}: the largest contributor to held-out subtype agreement is {modality}."
        for model, modality in largest_contributors(contributions).items()
    ]
    return items, headlines


def _characterization(summary: pd.DataFrame, characterization: pd.DataFrame, label: str | None) -> list:
    """The top features per cluster of the model chosen for subtypes (the first characterized one without a
    choice)."""
    if characterization.empty:
        return []
    characterized = set(characterization["model"])
    chosen = [c.chosen for c in choose_models(summary, {"subtypes": label}) if c.chosen in characterized]
    best = chosen[0] if chosen else characterization["model"].iloc[0]
    return [
        Table(
            f"Top features per cluster: {best}",
            characterization_table(characterization, best),
            "Wilcoxon rank-sum of each cluster vs the rest on normalized held-out inputs (scanpy "
            "rank_genes_groups), top 5 by score; in brackets the mean difference in training-sd units "
            "(n.s.: adjusted p ≥ 0.05). Every model's table: characterization/<group>.tsv.",
        )
    ]


def report_content(inputs, params) -> ReportContent:
    """Every section of the report from the render_report rule's ``inputs`` and ``params`` (Snakemake's named
    lists, or any object with the same attributes; see rules/report.smk)."""
    summary = pd.read_csv(inputs.summary, sep="\t")
    run = _Run([Path(d) for d in inputs.figures], list(params.labels), list(params.seeds))
    label = params.labels[0] if params.labels else None
    time_label = params.survival["time"] if params.survival else None
    contribution_items, headlines = _contributions(run, read_tables(inputs.contributions))
    search_items = []
    for model, files in params.tuning.items():
        search_items += tuning_items(model, files, params.seeds)
        headlines.append(tuning_headline(model, files))
    tumor_types = []
    if params.tumor_type:
        tumor_types = tumor_type_items(
            params.tumor_type,
            params.tumor_type_tables,
            params.tumor_type_confusion,
            params.tumor_type_figures,
            params.tumor_type_models,
            run.seeds,
        )
    sections = {
        "Model comparison": _comparison(run, summary),
        "Tumor types (held-out)": tumor_types,
        "Models and training curves": _training_curves(run),
        "Hyperparameter search": search_items,
        "Latent UMAPs": _umaps(run),
        "Clusters": _clusters(run, read_tables(inputs.leiden), read_tables(inputs.enrichment), params.alpha),
        "Survival": _survival(run, summary, time_label),
        "Modality contributions": contribution_items,
        "Characterization": _characterization(summary, read_tables(inputs.characterization), label),
        "Which features drive the latent": attribution_items(
            params.attributed, params.attribution_dir, run.seeds, params.attribution_method
        ),
    }
    return ReportContent(
        dataset=params.dataset,
        summary=summary,
        sections={name: items for name, items in sections.items() if items},
        headlines=headlines,
        data_overview=data_overview(
            dict(zip(params.modalities, inputs.modalities, strict=True)),
            inputs.split,
            dict(zip(params.modalities, inputs.normalized, strict=True)),
        ),
        data_items=data_items(
            inputs.survival_excluded or None, dict(zip(params.modalities, inputs.ingest, strict=False))
        ),
        config_text=params.config_text,
        versions={**package_versions(), "oncoae workflow commit": workflow_commit(params.workflow_dir)},
        checksums=file_checksums(params.input_files),
        rule_times=rule_run_times(params.benchmark_dir),
        notes=params.notes,
    )


def assemble_report(inputs, params) -> str:
    """The self-contained HTML report of a run (``report_content`` rendered)."""
    label = params.labels[0] if params.labels else None
    time_label = params.survival["time"] if params.survival else None
    return render_report(report_content(inputs, params), label, time_label)
