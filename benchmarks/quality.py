"""Real-data quality: held-out figures of every model on the shared TCGA cohorts and the simulator (issue #15, item 1).

For each cohort the real workflow runs through ``snakemake`` (as ``end_to_end`` does) for three seeds, in its own
empty folder ``<work>/quality/<cohort>/``, up to the tables this benchmark reads:
``results/<dataset>/evaluation/summary.tsv`` and, where ``evaluation.tumor_type`` is set, the tumor-type table
``results/<dataset>/evaluation/tumor_types/metrics.tsv``. From them, for every model on held-out (test) tumors:
ARI and NMI per label, the C-index with its bootstrap interval per survival label, and the balanced accuracy of
the classification head and of a logistic regression on the latent (``raw_<modality>``: on the normalized inputs).

The result has, per cohort, models x metrics as mean ± sd over seeds, and tallies per cohort x metric: the
headline autoencoder (``ae_guided``, the default joint-latent autoencoder with heads on the first label and on
survival) against the best PCA/kPCA baseline and against the best per-modality autoencoder, and the unsupervised
``ae_multimodal`` against the best PCA/kPCA baseline, for reference (``decide`` holds the tie rule). Where
summary.tsv has validation rows (``val_<metric>``), the model best on validation tumors is named with its test
figure. A run without ``ae_guided`` (no label, no survival) has ``ae_multimodal`` as its headline; cohorts with one
modality have no ``ae_multimodal``: their autoencoder over that one modality is the unsupervised reference.

The example configs name their inputs relative to the repository root (``../shared/data/...``); the copy written
to the run folder has those paths made absolute (the data are read where they are, never copied) and the seeds
set: ``--config seeds=[0,1,2]`` would reach the schema as strings, which it rejects.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from benchmarks.end_to_end import RUN_TIMEOUT_S, SIMULATION, SNAKEMAKE, snakemake_command, timed_snakemake
from benchmarks.machine import REPO
from oncoae.evaluation import ranking
from oncoae.evaluation.ranking import VALIDATION_PREFIX, metric_statistics, tie_margin
from oncoae.layout import RunLayout
from oncoae.workflow import merge_sections


@dataclass(frozen=True)
class Cohort:
    name: str  # the run folder under <work>/quality/
    config: str  # relative to the repository root
    real: bool


COHORTS = (
    Cohort("simulated", "config/config.yaml", real=False),
    Cohort("tcga-brca-mixomics", "config/examples/tcga-brca-mixomics.yaml", real=True),
    Cohort("tcga-brca-cna-rppa", "config/examples/tcga-brca-cna-rppa.yaml", real=True),
    Cohort("tcga-pancan-mutations", "config/examples/tcga-pancan-mutations.yaml", real=True),
)
SEEDS = (0, 1, 2)

HEADLINE = "ae_guided"
UNSUPERVISED = "ae_multimodal"
BASELINE_PREFIXES = ("pca_", "kpca_")
CLUSTER_METRICS = ("ari", "nmi")
C_INDEX = "c_index"
INTERVAL = ("c_index_low", "c_index_high")
# Tumor-type table (method, metric) -> the name used here; raw_lr rows belong to the models raw_<modality>.
TYPE_METHODS = ("head", "latent_lr", "raw_lr")
TYPE_METRIC = "balanced_accuracy"
TEST_METRICS = (*CLUSTER_METRICS, C_INDEX, *INTERVAL, *(f"{TYPE_METRIC}_{m}" for m in TYPE_METHODS))
# What the tallies compare, in this order (a metric counts where the headline and an opponent both have it).
TALLY_METRICS = (*CLUSTER_METRICS, C_INDEX, f"{TYPE_METRIC}_head", f"{TYPE_METRIC}_latent_lr")
VALIDATED_METRICS = (*CLUSTER_METRICS, C_INDEX)
METRIC_NAMES = {
    "ari": "ARI",
    "nmi": "NMI",
    C_INDEX: "C-index",
    f"{TYPE_METRIC}_head": "balanced accuracy, head",
    f"{TYPE_METRIC}_latent_lr": "balanced accuracy, LR on latent",
    f"{TYPE_METRIC}_raw_lr": "balanced accuracy, LR on inputs",
}

TIE_RULE = (
    "Tie rule: the two means (over seeds) differ by no more than the larger of the two seed sds (sample sd; a "
    "single seed counts as 0), or, for the C-index, the opponent's mean lies inside the headline model's bootstrap "
    "interval (the means over seeds of its c_index_low and c_index_high). Otherwise the higher mean wins; all "
    "metrics here are higher-is-better. The opponent is the best model of its kind by mean over seeds."
)

# --quick: the simulator only, two modalities of 100 features on 150 tumors, a tiny network for a few epochs,
# two seeds (so that sds exist), and the tumor-type table (on the subtype) with a classification-head variant,
# so that every reading of this benchmark runs.
QUICK_SEEDS = (0, 1)
QUICK_MODALITIES = ("expression", "copy_number")
QUICK_OVERRIDES = {
    "simulation": {
        "n_tumors": 150,
        "modalities": {m: {"n_features": 100, **SIMULATION[m]} for m in QUICK_MODALITIES},
    },
    "architecture": {"hidden_sizes": [16], "latent_dim": 4},
    "training": {"max_epochs": 3, "patience": 2, "batch_size": 32, "checkpoint_every_n_epochs": 5},
    "evaluation": {
        "bootstrap": 50,
        "permutations": 20,
        "max_permutations": 20,
        "leiden_resolutions": [],
        "tumor_type": "subtype",
    },
}
QUICK_VARIANTS = {"classifier": {"heads": {"classification": {"label": "subtype", "weight": 1.0}}}}


# ----------------------------------------------------------------------------------------------------------------
# Configs and runs


def absolute_paths(value, root: Path):
    """``value`` with every relative ``path`` entry (at any depth) made absolute against ``root``."""
    if isinstance(value, dict):
        return {
            key: str((root / item).resolve())
            if key == "path" and isinstance(item, str) and not Path(item).is_absolute()
            else absolute_paths(item, root)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [absolute_paths(item, root) for item in value]
    return value


def cohort_config(cohort: Cohort, seeds: Sequence[int], quick: bool = False) -> dict:
    config = absolute_paths(yaml.safe_load((REPO / cohort.config).read_text()), REPO)
    if quick:
        config = merge_sections(config, QUICK_OVERRIDES)
        config["modalities"] = {m: config["modalities"][m] for m in QUICK_MODALITIES}
        config.setdefault("models", {}).setdefault("autoencoders", {})["variants"] = QUICK_VARIANTS
    config["seeds"] = [int(seed) for seed in seeds]
    return config


def cohort_targets(config: dict) -> list[str]:
    """What this benchmark reads, relative to the run folder (rules/evaluate.smk)."""
    run = RunLayout.of_dataset(config["dataset"])
    targets = [run.summary]
    if (config.get("evaluation") or {}).get("tumor_type"):
        targets.append(run.tumor_type_table("metrics"))
    return targets


def run_cohort(cohort: Cohort, config: dict, work_root: Path, cores: int, log=print) -> dict:
    """A cold run of the workflow up to the evaluation tables, in an empty ``<work>/quality/<cohort>/``."""
    workdir = (work_root / "quality" / cohort.name).resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    targets = cohort_targets(config)
    log(f"  {cohort.name}: snakemake, seeds {config['seeds']}, in {workdir} ...")
    run = timed_snakemake(workdir, config_path, cores, "run", targets, timeout_s=RUN_TIMEOUT_S)
    wall = float(run.get("wall_s", run["wall_s_outside"]))
    status = "ok" if run["returncode"] == 0 else f"FAILED (exit {run['returncode']}, see {run['log']})"
    log(f"  {cohort.name}: {status}; {wall:.1f} s")
    out = RunLayout.of_dataset(config["dataset"], workdir / "results")
    return {
        "cohort": cohort.name,
        "real": cohort.real,
        "example_config": cohort.config,
        "config": str(config_path),
        "dataset": config["dataset"],
        "modalities": list(config["modalities"]),
        "tumor_type": (config.get("evaluation") or {}).get("tumor_type"),
        "seeds": config["seeds"],
        "targets": targets,
        "command": " ".join(snakemake_command(workdir, config_path, cores, targets)),
        "wall_s": wall,
        "returncode": run["returncode"],
        "log": run["log"],
        "log_tail": run.get("log_tail"),
        "summary": out.summary,
        "tumor_types": out.tumor_type_table("metrics"),
    }


# ----------------------------------------------------------------------------------------------------------------
# Reading and aggregating


def read_summary(path: Path) -> pd.DataFrame:
    """summary.tsv (model, seed, metric, label, value), empty labels as ''."""
    frame = pd.read_csv(path, sep="\t", keep_default_na=False, na_values={"value": ["", "NA", "NaN", "nan"]})
    frame["label"] = frame["label"].astype(str)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame[["model", "seed", "metric", "label", "value"]]


def tumor_type_rows(metrics: pd.DataFrame, label: str) -> pd.DataFrame:
    """The tumor-type table (model, seed, method, metric, value) as summary rows: balanced accuracy per method,
    named ``balanced_accuracy_<method>``, with the tumor-type column as the label."""
    kept = metrics[(metrics["metric"] == TYPE_METRIC) & metrics["method"].isin(TYPE_METHODS)]
    return pd.DataFrame(
        {
            "model": kept["model"].to_numpy(),
            "seed": kept["seed"].to_numpy(),
            "metric": (TYPE_METRIC + "_" + kept["method"]).to_numpy(),
            "label": label,
            "value": pd.to_numeric(kept["value"], errors="coerce").to_numpy(),
        }
    )


def aggregate(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample sd (NaN for one seed) and number of seeds per (model, metric, label), as the report's model
    choice computes them; NaN values are left out. Models stay in the order they first appear in ``rows``."""
    order = {model: i for i, model in enumerate(dict.fromkeys(rows["model"]))}
    stats = metric_statistics(rows.dropna(subset=["value"]))
    return stats.sort_values("model", key=lambda models: models.map(order), kind="stable", ignore_index=True)


@dataclass(frozen=True)
class Standing(ranking.Standing):
    """The report's standing (model, mean, sd, n) with, for the C-index, the mean bootstrap bounds over seeds."""

    interval: tuple[float, float] | None = None


def _lookup(stats: pd.DataFrame) -> dict:
    return {(r.model, r.metric, r.label): (float(r.mean), float(r.sd), int(r.n)) for r in stats.itertuples()}


def standing(stats: pd.DataFrame | dict, model: str, metric: str, label: str) -> Standing | None:
    table = stats if isinstance(stats, dict) else _lookup(stats)
    found = table.get((model, metric, label))
    if found is None or math.isnan(found[0]):
        return None
    interval = None
    if metric == C_INDEX:
        low, high = table.get((model, INTERVAL[0], label)), table.get((model, INTERVAL[1], label))
        if low and high and not (math.isnan(low[0]) or math.isnan(high[0])):
            interval = (low[0], high[0])
    return Standing(model, *found, interval=interval)


def best_of(stats: pd.DataFrame | dict, models: Iterable[str], metric: str, label: str) -> Standing | None:
    """The model with the highest mean (equal means: the alphabetically first, as in the report's choice)."""
    found = [s for s in (standing(stats, m, metric, label) for m in models) if s is not None]
    return min(found, key=lambda s: (-s.mean, s.model)) if found else None


def decide(headline: Standing, opponent: Standing) -> tuple[str, str]:
    """(``win`` | ``tie`` | ``lose``, why) of ``headline`` against ``opponent``; the rule is TIE_RULE."""
    difference = headline.mean - opponent.mean
    margin = tie_margin(headline.sd, opponent.sd)
    if abs(difference) <= margin:
        return "tie", f"|difference| {abs(difference):.3f} <= seed sd {margin:.3f}"
    if headline.interval is not None and headline.interval[0] <= opponent.mean <= headline.interval[1]:
        low, high = headline.interval
        return "tie", f"opponent {opponent.mean:.3f} inside interval [{low:.3f}, {high:.3f}]"
    return ("win" if difference > 0 else "lose"), f"difference {difference:+.3f}, seed sd {margin:.3f}"


def baseline_models(models: Iterable[str]) -> list[str]:
    return [m for m in models if m.startswith(BASELINE_PREFIXES)]


def per_modality_autoencoders(models: Iterable[str], modalities: Sequence[str]) -> list[str]:
    names = {f"ae_{m}" for m in modalities}
    return [m for m in models if m in names]


def unsupervised_model(models: Iterable[str], modalities: Sequence[str]) -> str | None:
    """``ae_multimodal``; with a single modality (no ``ae_multimodal`` then) the autoencoder over that modality."""
    models = list(models)
    if UNSUPERVISED in models:
        return UNSUPERVISED
    if len(modalities) == 1 and f"ae_{modalities[0]}" in models:
        return f"ae_{modalities[0]}"
    return None


def headline_model(models: Iterable[str], modalities: Sequence[str]) -> str | None:
    """``ae_guided``; without it (a config with neither a label nor survival) the unsupervised model."""
    models = list(models)
    return HEADLINE if HEADLINE in models else unsupervised_model(models, modalities)


def metric_keys(stats: pd.DataFrame, metrics: Sequence[str]) -> list[tuple[str, str]]:
    """The (metric, label) pairs present, in the order of ``metrics`` then of the labels' first appearance."""
    present = list(dict.fromkeys(zip(stats["metric"], stats["label"], strict=True)))
    return [(metric, label) for metric in metrics for m, label in present if m == metric]


def tally(
    stats: pd.DataFrame, headline: str | None, opponents: Sequence[str], metrics: Sequence[str] = TALLY_METRICS
) -> list[dict]:
    """One row per (metric, label) the headline has: the best opponent and the outcome (``n/a`` without one)."""
    if headline is None:
        return []
    table = _lookup(stats)
    rows = []
    for metric, label in metric_keys(stats, metrics):
        mine = standing(table, headline, metric, label)
        if mine is None:
            continue
        best = best_of(table, [m for m in opponents if m != headline], metric, label)
        outcome, why = decide(mine, best) if best else ("n/a", "no other model of this kind has this metric")
        rows.append(
            {"metric": metric, "label": label, "headline": mine, "opponent": best, "outcome": outcome, "why": why}
        )
    return rows


def validation_choice(stats: pd.DataFrame, metrics: Sequence[str] = VALIDATED_METRICS) -> list[dict]:
    """Per (metric, label) with ``val_<metric>`` rows: the model best on validation (mean over seeds) and its test
    figure, and the model best on test, a reference only. Empty without validation rows."""
    table = _lookup(stats)
    models = list(dict.fromkeys(stats["model"]))
    rows = []
    for metric, label in metric_keys(stats, [VALIDATION_PREFIX + m for m in metrics]):
        test_metric = metric.removeprefix(VALIDATION_PREFIX)
        chosen = best_of(table, models, metric, label)
        if chosen is None:
            continue
        rows.append(
            {
                "metric": test_metric,
                "label": label,
                "chosen": chosen.model,
                "validation": chosen,
                "test": standing(table, chosen.model, test_metric, label),
                "test_best": best_of(table, models, test_metric, label),
            }
        )
    return rows


def cohort_statistics(summary: pd.DataFrame, tumor_types: pd.DataFrame | None, tumor_type: str | None) -> pd.DataFrame:
    """Test and validation rows of one cohort, aggregated over seeds."""
    keep = set(TEST_METRICS) | {VALIDATION_PREFIX + m for m in (*VALIDATED_METRICS, *INTERVAL)}
    rows = [summary[summary["metric"].isin(keep)]]
    if tumor_types is not None and tumor_type:
        rows.append(tumor_type_rows(tumor_types, tumor_type))
    return aggregate(pd.concat(rows, ignore_index=True))


# ----------------------------------------------------------------------------------------------------------------
# Tables


def cell(s: Standing | None, with_interval: bool = False) -> str:
    if s is None:
        return "–"
    text = f"{s.mean:.3f}" if math.isnan(s.sd) else f"{s.mean:.3f} ± {s.sd:.3f}"
    if with_interval and s.interval is not None:
        text += f" [{s.interval[0]:.3f}, {s.interval[1]:.3f}]"
    return text


def _metric_title(metric: str, label: str) -> str:
    name = METRIC_NAMES.get(metric, metric)
    return f"{name} ({label})" if label else name


def model_order(models: Iterable[str], headline: str | None) -> list[str]:
    """Headline first, then the other autoencoders, the baselines, and the raw-input references."""
    models = list(dict.fromkeys(models))

    def rank(model: str) -> tuple[int, int]:
        group = (
            0
            if model == headline
            else 1
            if model.startswith("ae_")
            else 2
            if model.startswith(BASELINE_PREFIXES)
            else 3
        )
        return group, models.index(model)

    return sorted(models, key=rank)


def cohort_table(name: str, stats: pd.DataFrame, headline: str | None, note: str) -> dict:
    keys = metric_keys(stats, [m for m in TEST_METRICS if m not in INTERVAL])
    table = _lookup(stats)
    rows = []
    for model in model_order(stats["model"], headline):
        cells = [cell(standing(table, model, metric, label), with_interval=metric == C_INDEX) for metric, label in keys]
        if any(c != "–" for c in cells):
            rows.append([f"**{model}**" if model == headline else model, *cells, _seeds(table, model, keys)])
    columns = ["model", *[_metric_title(m, label) for m, label in keys], "seeds"]
    return {"title": f"{name}: held-out tumors, mean ± sd over seeds", "note": note, "columns": columns, "rows": rows}


def _seeds(table: dict, model: str, keys: Sequence[tuple[str, str]]) -> int:
    return max((table[(model, m, label)][2] for m, label in keys if (model, m, label) in table), default=0)


def tally_rows(cohort: str, rows: Sequence[dict]) -> list[list]:
    return [
        [
            cohort,
            _metric_title(r["metric"], r["label"]),
            r["headline"].model,
            cell(r["headline"], with_interval=True),
            r["opponent"].model if r["opponent"] else "–",
            cell(r["opponent"]),
            r["headline"].mean - r["opponent"].mean if r["opponent"] else None,
            r["outcome"],
            r["why"],
        ]
        for r in rows
    ]


TALLIES = (
    ("best PCA/kPCA", "vs_baselines"),
    ("best per-modality AE", "vs_modalities"),
    ("best PCA/kPCA", "unsupervised_vs_baselines"),
)
HEADLINE_RULE = (
    f"The headline is {HEADLINE} (the joint-latent autoencoder with the default heads: classification on the first "
    f"label, Cox on survival; trained on training tumors only); the unsupervised reference is {UNSUPERVISED}, or, "
    "with one modality, the autoencoder over it."
)
TALLY_COLUMNS = ["cohort", "metric", "model", "its mean ± sd [interval]", "best opponent", "opponent mean ± sd"]
TALLY_COLUMNS += ["difference", "outcome", "why"]


def count_outcomes(rows: Iterable[dict]) -> dict[str, int]:
    counts = {"win": 0, "tie": 0, "lose": 0, "n/a": 0}
    for row in rows:
        counts[row["outcome"]] += 1
    return counts


def headline_note(case: dict) -> str:
    modalities = ", ".join(case["modalities"])
    if case["headline"] == HEADLINE:
        reference = case["unsupervised"] or "–"
        return (
            f"{HEADLINE}: the default headline autoencoder, one joint latent over {modalities} trained with a "
            "classification head on the first clinical label and a Cox head on survival (training tumors only); "
            f"{reference}: the same without heads, the unsupervised reference."
        )
    if case["headline"]:
        return (
            f"No {HEADLINE} in this run (neither a label nor survival): the headline is {case['headline']}, the "
            f"unsupervised autoencoder over {modalities}."
        )
    return f"No {HEADLINE} or {UNSUPERVISED} in this run's summary: no tallies."


# ----------------------------------------------------------------------------------------------------------------
# The benchmark


def evaluate_case(case: dict) -> dict:
    """Read a finished cohort run's tables into statistics, tallies and the validation choice (in ``case``)."""
    summary_path, types_path = Path(case["summary"]), Path(case["tumor_types"])
    if not summary_path.exists():
        case.update(
            statistics=None,
            headline=None,
            unsupervised=None,
            vs_baselines=[],
            vs_modalities=[],
            unsupervised_vs_baselines=[],
            validation=[],
        )
        return case
    summary = read_summary(summary_path)
    types = pd.read_csv(types_path, sep="\t") if case["tumor_type"] and types_path.exists() else None
    stats = cohort_statistics(summary, types, case["tumor_type"])
    models = list(dict.fromkeys(stats["model"]))
    headline = headline_model(models, case["modalities"])
    unsupervised = unsupervised_model(models, case["modalities"])
    case.update(
        statistics=stats,
        headline=headline,
        unsupervised=unsupervised,
        vs_baselines=tally(stats, headline, baseline_models(models)),
        vs_modalities=tally(stats, headline, per_modality_autoencoders(models, case["modalities"])),
        unsupervised_vs_baselines=tally(stats, unsupervised, baseline_models(models))
        if unsupervised != headline
        else [],
        validation=validation_choice(stats),
    )
    return case


def acceptance_targets(cases: Sequence[dict]) -> list[dict]:
    """Issue #15's acceptance lines that this benchmark measures (real cohorts for the baseline tally)."""
    real = [r for c in cases if c["real"] for r in c["vs_baselines"] if r["outcome"] != "n/a"]
    counts = count_outcomes(real)
    modality_rows = [r for c in cases for r in c["vs_modalities"] if r["outcome"] != "n/a"]
    modality_counts = count_outcomes(modality_rows)
    unsupervised = count_outcomes(r for c in cases if c["real"] for r in c["unsupervised_vs_baselines"])
    targets = [
        {
            "name": "headline AE vs best PCA/kPCA, real cohorts: no loss",
            "target": "win or tie on every cohort x metric",
            "value": f"{counts['win']} win, {counts['tie']} tie, {counts['lose']} lose",
            "unit": "cohort x metric",
            "met": counts["lose"] == 0 if real else None,
            "note": "",
        },
        {
            "name": "headline AE vs best PCA/kPCA, real cohorts: outright wins",
            "target": "win on at least half",
            "value": f"{counts['win']} of {len(real)}",
            "unit": "cohort x metric",
            "met": 2 * counts["win"] >= len(real) if real else None,
            "note": "",
        },
        {
            "name": "headline AE vs best per-modality AE, every cohort",
            "target": "win or tie on every cohort x metric",
            "value": f"{modality_counts['win']} win, {modality_counts['tie']} tie, {modality_counts['lose']} lose",
            "unit": "cohort x metric",
            "met": modality_counts["lose"] == 0 if modality_rows else None,
            "note": "",
        },
        {
            "name": "unsupervised AE vs best PCA/kPCA, real cohorts (reference, no target)",
            "target": "–",
            "value": f"{unsupervised['win']} win, {unsupervised['tie']} tie, {unsupervised['lose']} lose",
            "unit": "cohort x metric",
            "met": None,
            "note": "ae_multimodal (one modality: ae_<modality>), without heads",
        },
    ]
    for case in cases:
        if case["real"] or case["statistics"] is None or case["headline"] is None:
            continue
        ari = standing(case["statistics"], case["headline"], "ari", "subtype")
        targets.append(
            {
                "name": f"{case['cohort']}: held-out ARI of {case['headline']} (subtype)",
                "target": ">= 0.9",
                "value": round(ari.mean, 3) if ari else None,
                "unit": "ARI, mean over seeds",
                "met": ari.mean >= 0.9 if ari else None,
                "note": "",
            }
        )
    return targets


def build_result(cases: Sequence[dict], cores: int, quick: bool) -> dict:
    """The result dict (benchmarks.report) from evaluated cohort runs."""
    runs = [
        [
            c["cohort"],
            c["example_config"],
            c["dataset"],
            ", ".join(c["modalities"]),
            c["seeds"],
            c["wall_s"],
            c["wall_s"] / 60,
            c["returncode"],
            c["headline"] or "–",
        ]
        for c in cases
    ]
    tables = [
        {
            "title": "Runs (cold, up to the evaluation tables)",
            "note": "The exact commands and configs are under Parameters; each run's log is in its folder.",
            "columns": [
                "cohort",
                "example config",
                "dataset",
                "modalities",
                "seeds",
                "wall s",
                "wall min",
                "exit",
                "headline model",
            ],
            "rows": runs,
        }
    ]
    summary_rows = []
    for case in cases:
        for kind, key in TALLIES:
            n = count_outcomes(case[key])
            model = case["unsupervised"] if key == "unsupervised_vs_baselines" else case["headline"]
            summary_rows.append(
                [case["cohort"], case["real"], model or "–", kind, n["win"], n["tie"], n["lose"], n["n/a"]]
            )
    tables.append(
        {
            "title": "Tally: wins, ties and losses of the headline AE (and of the unsupervised one)",
            "note": f"{TIE_RULE} {HEADLINE_RULE}",
            "columns": ["cohort", "real", "model", "against", "win", "tie", "lose", "n/a"],
            "rows": summary_rows,
        }
    )
    for kind, key in TALLIES:
        who = "unsupervised AE" if key == "unsupervised_vs_baselines" else "headline AE"
        tables.append(
            {
                "title": f"Tally: {who} vs the {kind}, per cohort x metric",
                "note": TIE_RULE,
                "columns": TALLY_COLUMNS,
                "rows": [row for c in cases for row in tally_rows(c["cohort"], c[key])],
            }
        )
    choice_rows = [
        [
            c["cohort"],
            _metric_title(r["metric"], r["label"]),
            r["chosen"],
            cell(r["validation"]),
            cell(r["test"]),
            r["test_best"].model if r["test_best"] else "–",
            cell(r["test_best"]),
        ]
        for c in cases
        for r in c["validation"]
    ]
    tables.append(
        {
            "title": "Model chosen on validation tumors, and its test figure",
            "note": "The model with the best mean over seeds of val_<metric> (validation tumors, same fitted "
            "centroids and Cox model); its test figure is the one to quote. The test-best model is a reference, "
            "never the choice."
            + ("" if choice_rows else " No run's summary.tsv has val_<metric> rows yet, so nothing is chosen."),
            "columns": [
                "cohort",
                "metric",
                "chosen on validation",
                "its validation mean ± sd",
                "its test mean ± sd",
                "best on test (reference only)",
                "its test mean ± sd",
            ],
            "rows": choice_rows,
        }
    )
    for case in cases:
        if case["statistics"] is None:
            continue
        note = headline_note(case) + " C-index cells: mean ± sd [mean bootstrap interval over seeds]."
        if case["tumor_type"]:
            note += f" Balanced accuracy: tumor type {case['tumor_type']!r} (raw_<modality>: LR on the inputs)."
        tables.append(cohort_table(case["cohort"], case["statistics"], case["headline"], note))
    notes = [
        "Held-out (test) tumors only; mean and sample sd over seeds. A baseline's latent is the same for every "
        "seed, so its sd comes from the seeded k-means alone (and is 0 for the C-index).",
        "Each cohort runs cold in an empty benchmarks/work/quality/<cohort>/ (kept afterwards: config, log, "
        "results); the config there is the example config with its data paths made absolute and the seeds set.",
    ]
    for case in cases:
        if case["returncode"] != 0:
            notes.append(f"{case['cohort']}: the run FAILED (exit {case['returncode']}); log: {case['log']}")
    if quick:
        notes.append(
            f"--quick: the simulated cohort only, seeds {list(QUICK_SEEDS)}, overrides {QUICK_OVERRIDES}, "
            f"modalities {list(QUICK_MODALITIES)}, variants {QUICK_VARIANTS}: not a measurement."
        )
    return {
        "name": "quality",
        "title": "Quality: held-out figures of every model on the real cohorts and the simulator",
        "parameters": {
            "cores": cores,
            "snakemake": SNAKEMAKE,
            "commands": {c["cohort"]: c["command"] for c in cases},
            "configs": {c["cohort"]: c["config"] for c in cases},
            "snakemake_targets": {c["cohort"]: c["targets"] for c in cases},
        },
        "targets": acceptance_targets(cases),
        "tables": tables,
        "notes": notes,
        "data": {"cases": [_plain_case(c) for c in cases]},
    }


def _plain_case(case: dict) -> dict:
    """A case for the JSON: statistics as records, standings as dicts."""

    def plain(value):
        if isinstance(value, Standing):
            return {"model": value.model, "mean": value.mean, "sd": value.sd, "n": value.n, "interval": value.interval}
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value

    stats = case.get("statistics")
    return plain({**case, "statistics": stats.to_dict(orient="records") if stats is not None else None})


def run(quick: bool, work_root: Path, cores: int = 2, log: Callable[[str], None] = print) -> dict:
    cohorts = COHORTS[:1] if quick else COHORTS
    seeds = QUICK_SEEDS if quick else SEEDS
    cases = []
    for cohort in cohorts:
        case = run_cohort(cohort, cohort_config(cohort, seeds, quick), work_root, cores, log)
        cases.append(evaluate_case(case))
    return build_result(cases, cores, quick)
