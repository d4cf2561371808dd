"""The search in the report: optimization history and parameter importance figures, and the tables beside them.

Reads the selection step's files and the training histories; trains nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from oncoae.report.figures import save_figure, subplots
from oncoae.report.format import is_deterministic, significant

METRIC_LABELS = {"val_reconstruction_loss": "val reconstruction loss", "val_c_index": "val C-index"}
# Losses and trial values in four significant figures: tuned and untuned models differ in the third or fourth
# (2.496 against 2.527 on the simulated cohort). Hyperparameter values in the report's usual three.
VALUE_DIGITS = 4


def _value(value: float) -> str:
    return significant(value, VALUE_DIGITS)


def _loss_mean_sd(losses: np.ndarray) -> str:
    """Mean ± sd of per-seed losses (the mean alone for one seed or equal values): mean in four figures, sd in two."""
    finite = losses[np.isfinite(losses)]
    if finite.size == 0:
        return "n/a"
    mean = float(finite.mean())
    sd = float(finite.std(ddof=1)) if finite.size > 1 else float("nan")
    return _value(mean) if finite.size <= 1 or is_deterministic(mean, sd) else f"{_value(mean)} ± {significant(sd, 2)}"


def history_figure(trials: pd.DataFrame, best: Mapping, path: str | Path) -> None:
    """Each finished trial's value by trial number (by worker; pruned trials at their last epoch's value) and
    the best complete value so far."""
    figure, axis = subplots(figsize=(6.5, 4))
    maximize = best["direction"] == "maximize"
    complete = trials[trials["state"] == "COMPLETE"].sort_values("number")
    pruned = trials[trials["state"] == "PRUNED"]
    for worker, rows in complete.groupby("worker"):
        axis.scatter(rows["number"], rows["value"], s=28, label=f"complete (worker {worker})", zorder=3)
    if len(pruned):
        axis.scatter(pruned["number"], pruned["value"], marker="x", color="grey", label="pruned (last epoch)", zorder=2)
    if len(complete):
        running = complete["value"].cummax() if maximize else complete["value"].cummin()
        axis.step(complete["number"], running, where="post", color="black", linewidth=1.2, label="best so far")
    baseline = best.get("config_values_trial")
    if baseline and baseline["value"] is not None:
        axis.scatter(
            [baseline["trial"]],
            [baseline["value"]],
            s=90,
            marker="D",
            facecolors="none",
            edgecolors="black",
            label="config's values",
            zorder=4,
        )
    axis.scatter([best["trial"]], [best["value"]], s=120, facecolors="none", edgecolors="red", label="chosen", zorder=4)
    label = METRIC_LABELS.get(best["metric"], best["metric"])
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("trial")
    axis.set_ylabel(label)
    axis.set_title(f"{best['model']}: optimization history ({'higher' if maximize else 'lower'} is better)")
    if not maximize and len(complete) and (complete["value"] > 0).all():
        # Diverged trials can be orders of magnitude worse than the rest.
        spread = complete["value"].max() / max(complete["value"].min(), 1e-12)
        if spread > 20:
            axis.set_yscale("log")
    axis.legend(fontsize=7, loc="best")
    save_figure(figure, Path(path))


def importance_figure(importances: pd.DataFrame, best: Mapping, path: str | Path) -> None:
    """Horizontal bars of fANOVA importances (a note instead when there were too few complete trials)."""
    figure, axis = subplots(figsize=(6.5, 0.5 + 0.45 * max(2, len(importances))))
    if importances.empty:
        axis.text(0.5, 0.5, "too few complete trials for parameter importances", ha="center", va="center")
        axis.set_axis_off()
    else:
        ordered = importances.sort_values("importance")
        axis.barh(ordered["parameter"], ordered["importance"], color="#4c72b0")
        axis.set_xlabel("importance (fANOVA, share of the metric's variance)")
        axis.set_xlim(0, 1)
    axis.set_title(f"{best['model']}: parameter importances")
    save_figure(figure, Path(path))


def search_outcome_table(best: Mapping) -> pd.DataFrame:
    """The chosen values next to the config's own, and the validation metric each scored in the study (same
    seed, same epoch cap, same validation tumors)."""
    metric = METRIC_LABELS.get(best["metric"], best["metric"])
    columns = {}
    baseline = best.get("config_values_trial")
    own = {key: _text(value) for key, value in best.get("config_values", {}).items()}
    if baseline:
        score = "n/a" if baseline["value"] is None else _value(baseline["value"])
        columns[f"config's values (trial {baseline['trial']}, {baseline['state'].lower()})"] = {**own, metric: score}
    else:
        columns["config's values (not in the study)"] = {**own, metric: "n/a"}
    columns[f"chosen: best trial ({best['trial']})"] = {
        **{key: _text(value) for key, value in best["params"].items()},
        metric: _value(best["value"]),
    }
    table = pd.DataFrame(columns)
    table.index.name = "parameter"
    return table


def _text(value) -> str:
    """A hyperparameter value: a setting, not a measurement, so written as short as it is (0.003, not 0.00300)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def best_epoch_losses(history: pd.DataFrame, modalities: Sequence[str]) -> tuple[float, float]:
    """(val loss, unweighted val reconstruction loss) at the epoch training keeps (lowest val loss)."""
    rows = history.dropna(subset=["val_loss"])
    if rows.empty:
        return float("nan"), float("nan")
    best = rows.loc[rows["val_loss"].idxmin()]
    parts = [best.get(f"val_loss_{m}") for m in modalities]
    reconstruction = float(np.nansum([p for p in parts if p is not None])) if parts else float("nan")
    return float(best["val_loss"]), reconstruction


def final_models_table(
    histories: Mapping[str, Sequence[str | Path]], seeds: Sequence[int], modalities: Sequence[str], tuned: str
) -> pd.DataFrame:
    """Per model and seed, the val loss at the kept epoch of the models the workflow trained in full."""
    rows = []
    for model, paths in histories.items():
        values = [best_epoch_losses(pd.read_csv(path, sep="\t"), modalities) for path in paths]
        losses = np.array([v[0] for v in values])
        reconstruction = np.array([v[1] for v in values])
        row = {"model": model, "role": "tuned" if model == tuned else "untuned (config's values)"}
        row.update({f"val loss, seed {seed}": _value(loss) for seed, loss in zip(seeds, losses, strict=True)})
        row["val loss, mean ± sd"] = _loss_mean_sd(losses)
        row["val reconstruction (unweighted), mean"] = _value(float(np.nanmean(reconstruction)))
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def trials_display(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials table as the report shows it (without timestamps): the metric in four significant figures,
    hyperparameters as ``_text``."""
    table = trials.drop(columns=["datetime_start"], errors="ignore").copy()
    for column in table.columns:
        if table[column].dtype.kind == "f":
            write = _value if column == "value" else _text
            table[column] = table[column].map(lambda v, write=write: "" if pd.isna(v) else write(v))
    return table.set_index("number")


def _read_best(files: Mapping) -> dict:
    import yaml

    with open(files["search"]["best.yaml"]) as handle:
        return yaml.safe_load(handle)


def tuning_items(model: str, files: Mapping, seeds: Sequence[int]) -> list:
    """The report's items for one tuned model: outcome, history and importance figures, trials, final models.

    ``files``: ``search`` (the selection step's files by name), ``modalities``, ``histories`` (training history
    paths by model, per seed: the tuned model and its untuned twins).
    """
    from oncoae.report.html import Figure, Table

    best = _read_best(files)
    search = files["search"]
    metric = METRIC_LABELS.get(best["metric"], best["metric"])
    counts = ", ".join(f"{n} {state}" for state, n in best["trials"].items())
    trials = pd.read_csv(search["trials.tsv"], sep="\t")
    n_workers = trials.loc[trials["worker"] >= 0, "worker"].nunique()
    items: list = [
        Table(
            f"{model}: chosen hyperparameters",
            search_outcome_table(best),
            f"Optuna study {best['study']} ({counts}; {n_workers} workers; TPE sampler, median pruner). Every "
            f"trial trained on training tumors and was scored by {metric} on validation tumors at the epoch "
            "training keeps; held-out tumors never entered the search. The config's values ran as a trial of "
            "the same study (same seed, epoch cap and tumors), so the two columns compare like with like.",
        ),
        Figure(f"{model}: optimization history", Path(search["history.png"]), f"{metric} of each finished trial."),
        Figure(
            f"{model}: parameter importances",
            Path(search["importance.png"]),
            "Optuna's fANOVA importances over the complete trials (how much of the metric's variance each "
            "parameter explains).",
        ),
    ]
    twins = [m for m in files["histories"] if m != model]
    caption = "Val loss at the epoch training keeps, for every seed of the model trained in full with the chosen values"
    if twins:
        caption += (
            f" and of {', '.join(twins)}, built with the config's own values. The search chose on these "
            "validation tumors, so the tuned model's val loss is optimistic; Model comparison scores both on "
            "held-out tumors."
        )
    else:
        caption += (
            ". No untuned copy was trained beside it (a variant with no overrides, e.g. "
            "models.autoencoders.variants.untuned: {}, would be)."
        )
    items.append(
        Table(
            f"{model}: tuned vs untuned, final models",
            final_models_table(files["histories"], seeds, files["modalities"], model),
            caption,
        )
    )
    items.append(Table(f"{model}: every trial", trials_display(trials), "value: the trial's " + metric + "."))
    return items


def tuning_headline(model: str, files: Mapping) -> str:
    """One summary sentence: what the search chose and how it compares with the config's values."""
    best = _read_best(files)
    metric = METRIC_LABELS.get(best["metric"], best["metric"])
    n_trials = sum(best["trials"].get(state, 0) for state in ("complete", "pruned"))
    sentence = (
        f"{model}: the hyperparameter search chose trial {best['trial']} of {n_trials} "
        f"({metric} {_value(best['value'])}"
    )
    baseline = best.get("config_values_trial")
    if baseline and baseline["value"] is not None:
        sentence += f"; the config's own values: {_value(baseline['value'])}"
    return sentence + ")."
