"""Training throughput: the project's Lightning path against a minimal hand-written PyTorch loop (issue #7, item 1).

The same network, data, batch size, optimizer and loss run through

(a) ``oncoae.training.fit.fit_autoencoder`` (Trainer, callbacks, CSV logger, the batch sampler: everything the
    workflow's training job runs), for a fixed number of epochs (min_epochs = max_epochs, early stopping off);
(b) a plain loop: the same ``MultiModalAutoencoder``, ``torch.optim.Adam`` with the same settings (fused or not),
    the same ``masked_reconstruction_loss`` and modality dropout, a random permutation per epoch, and batches
    sliced from in-memory tensors.

How (a) is timed: a Lightning callback, added to the Trainer that ``fit_autoencoder`` builds, records the start and
end of every training epoch and of every validation run. The timed span runs from the start of the first epoch
after the warm-up epoch to the end of the last epoch, minus the validation runs inside it, so Lightning's work
between epochs counts while validation (which (b) does not do) and the fit's setup (seeding, data fingerprint,
Trainer construction, sanity check) do not. (b) times the same epochs with ``time.perf_counter``. Both run in one
process, interleaved (a, b, then b, a, ...), each with one warm-up epoch, ``repeats`` times; medians are reported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
import os
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import yaml

from benchmarks.machine import REPO

TITLE = "Training throughput: Lightning path vs a hand-written PyTorch loop"
TARGET_RATIO = 0.9


@dataclasses.dataclass(frozen=True)
class Sizes:
    n_train: int
    n_val: int
    n_features: int
    timed_epochs: int
    repeats: int = 3
    missing_fraction: float = 0.25


FULL = Sizes(n_train=8000, n_val=1000, n_features=5000, timed_epochs=5)
QUICK = Sizes(n_train=500, n_val=64, n_features=200, timed_epochs=1)

# Three modalities: two continuous (MSE) and one binary (BCE with logits), as in the workflow's data.
MODALITY_KINDS = {"expression": "continuous", "methylation": "continuous", "mutation": "binary"}


def default_architecture() -> dict:
    """The ``architecture:`` defaults of config/schema.yaml (what every workflow autoencoder uses by default)."""
    from oncoae.models.networks import ArchitectureSpec

    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    properties = schema["properties"]["architecture"]["properties"]
    fields = {f.name for f in dataclasses.fields(ArchitectureSpec)} - {"modalities"}
    return {key: spec["default"] for key, spec in properties.items() if key in fields and "default" in spec}


def make_sources(sizes: Sizes, seed: int):
    """Seeded random train and val ``ModalityBatchSource``s with all three modalities."""
    from oncoae.data.modality import ModalityBatchSource

    rng = np.random.default_rng(seed)

    def source(n: int, prefix: str) -> ModalityBatchSource:
        values = {}
        for name, kind in MODALITY_KINDS.items():
            if kind == "binary":
                values[name] = (rng.random((n, sizes.n_features), dtype=np.float32) < 0.05).astype(np.float32)
            else:
                values[name] = rng.standard_normal((n, sizes.n_features), dtype=np.float32)
        # Like the simulator: a fraction of tumors lacks one whole modality (a row of zeros, presence False).
        presence = np.ones((n, len(values)), dtype=bool)
        affected = rng.choice(n, size=round(sizes.missing_fraction * n), replace=False)
        presence[affected, rng.integers(0, len(values), size=len(affected))] = False
        for index, matrix in enumerate(values.values()):
            matrix[~presence[:, index]] = 0.0
        return ModalityBatchSource(samples=[f"{prefix}{i:06d}" for i in range(n)], values=values, presence=presence)

    return source(sizes.n_train, "T"), source(sizes.n_val, "V")


def subset(source, names: list[str]):
    """The source restricted to some modalities, keeping only the tumors that have at least one of them (as
    the workflow's per-modality training sets hold only the tumors that have the modality)."""
    from oncoae.data.modality import ModalityBatchSource

    columns = [source.modality_names.index(name) for name in names]
    presence = source.presence[:, columns]
    rows = presence.any(axis=1)
    return ModalityBatchSource(
        samples=[s for s, keep in zip(source.samples, rows, strict=True) if keep],
        values={name: np.ascontiguousarray(source.values[name][rows]) for name in names},
        presence=np.ascontiguousarray(presence[rows]),
    )


# ----------------------------------------------------------------------------------------------------------------
# (a) the Lightning path


def _epoch_timer():
    from lightning.pytorch.callbacks import Callback

    class EpochTimer(Callback):
        """Wall-clock marks of training epochs and validation runs (sanity check excluded)."""

        def __init__(self) -> None:
            self.epochs: list[tuple[float, float]] = []
            self.validations: list[tuple[float, float]] = []
            self._epoch_start = self._val_start = None

        def on_train_epoch_start(self, trainer, pl_module) -> None:
            self._epoch_start = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            self.epochs.append((self._epoch_start, time.perf_counter()))

        def on_validation_start(self, trainer, pl_module) -> None:
            self._val_start = time.perf_counter()

        def on_validation_end(self, trainer, pl_module) -> None:
            if not trainer.sanity_checking:
                self.validations.append((self._val_start, time.perf_counter()))

    return EpochTimer()


@contextlib.contextmanager
def _extra_trainer_callback(callback):
    """Append ``callback`` to every ``Trainer`` that calls ``fit`` inside the block.

    ``fit_autoencoder`` builds its own Trainer and takes no callbacks; wrapping ``Trainer.fit`` for the duration
    adds ours without touching the project's code (and whatever task class it trains).
    """
    import lightning.pytorch as pl

    original = pl.Trainer.fit

    def fit(self, *args, **kwargs):
        self.callbacks.append(callback)
        return original(self, *args, **kwargs)

    pl.Trainer.fit = fit
    try:
        yield
    finally:
        pl.Trainer.fit = original


def _timed_span(epochs: list[tuple[float, float]], validations: list[tuple[float, float]], warmup: int):
    """Seconds from the start of epoch ``warmup`` to the end of the last epoch, minus validation inside it."""
    start, end = epochs[warmup][0], epochs[-1][1]
    val = sum(max(0.0, min(v_end, end) - max(v_start, start)) for v_start, v_end in validations)
    return end - start - val, val


def run_lightning(train, val, architecture, settings, seed: int, work_dir: Path, timed_epochs: int) -> dict:
    from oncoae.training.fit import fit_autoencoder

    shutil.rmtree(work_dir, ignore_errors=True)
    timer = _epoch_timer()
    settings = dataclasses.replace(settings, max_epochs=timed_epochs + 1, min_epochs=timed_epochs + 1)
    started = time.perf_counter()
    with _extra_trainer_callback(timer):
        result = fit_autoencoder(train, val, architecture, settings, seed, work_dir=work_dir)
    fit_wall = time.perf_counter() - started
    if len(timer.epochs) != timed_epochs + 1:
        raise RuntimeError(f"expected {timed_epochs + 1} training epochs, the timing callback saw {len(timer.epochs)}")
    train_s, val_s = _timed_span(timer.epochs, timer.validations, warmup=1)
    history = result.history
    final_loss = float(history["train_loss"].iloc[-1]) if "train_loss" in history and len(history) else math.nan
    shutil.rmtree(work_dir, ignore_errors=True)
    return {
        "train_s": train_s,
        "validation_s_excluded": val_s,
        "fit_wall_s": fit_wall,
        "warmup_epoch_s": timer.epochs[0][1] - timer.epochs[0][0],
        "final_train_loss": final_loss,
    }


# ----------------------------------------------------------------------------------------------------------------
# (b) the hand-written loop


def _encoder_presence(presence, rate: float):
    """Modality dropout exactly as ``AutoencoderTask._encoder_presence`` does it (part of the model's training)."""
    import torch

    if rate <= 0 or presence.shape[1] < 2:
        return presence
    keep = presence & (torch.rand(presence.shape) >= rate)
    emptied = ~keep.any(dim=1)
    keep[emptied] = presence[emptied]
    return keep


def run_plain(train, architecture, settings, seed: int, timed_epochs: int) -> dict:
    import torch

    from oncoae.models.likelihoods import masked_reconstruction_loss
    from oncoae.models.networks import MultiModalAutoencoder

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(bool(settings.deterministic))  # what the Trainer sets for (a)
    network = MultiModalAutoencoder(architecture)
    network.train()
    optimizer = torch.optim.Adam(
        network.parameters(),
        lr=settings.learning_rate,
        weight_decay=settings.weight_decay,
        fused=bool(settings.fused_optimizer),
    )
    if getattr(architecture, "variant", "plain") != "plain":
        raise ValueError("the hand-written loop reproduces the plain autoencoder's objective only")
    # The loss takes the network's likelihood modules (or, in older versions of the package, the data kinds).
    likelihoods = getattr(network, "likelihoods", None)
    if likelihoods is None:
        likelihoods = {name: kind for name, (_n, kind) in architecture.modalities.items()}
    weights = settings.modality_weights or None
    values = {name: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for name, v in train.values.items()}
    presence_all = torch.from_numpy(train.presence)
    n = int(presence_all.shape[0])
    generator = torch.Generator().manual_seed(seed)
    epoch_seconds, epoch_losses = [], []
    for _epoch in range(timed_epochs + 1):
        started = time.perf_counter()
        batches = list(torch.split(torch.randperm(n, generator=generator), settings.batch_size))
        if len(batches) > 1 and len(batches[-1]) < 2:  # as the project's sampler: no one-tumor batch
            batches[-2] = torch.cat([batches[-2], batches.pop()])
        loss_sum = torch.zeros(())
        for rows in batches:
            inputs = {name: tensor[rows] for name, tensor in values.items()}
            presence = presence_all[rows]
            output = network(inputs, _encoder_presence(presence, settings.modality_dropout))
            reconstructions = output.reconstructions if hasattr(output, "reconstructions") else output[1]
            loss = masked_reconstruction_loss(likelihoods, reconstructions, inputs, presence, weights).total
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(rows)
        epoch_seconds.append(time.perf_counter() - started)
        epoch_losses.append(float(loss_sum) / n)
    return {
        "train_s": sum(epoch_seconds[1:]),
        "validation_s_excluded": 0.0,
        "fit_wall_s": sum(epoch_seconds),
        "warmup_epoch_s": epoch_seconds[0],
        "final_train_loss": epoch_losses[-1],
    }


# ----------------------------------------------------------------------------------------------------------------


def run(quick: bool, work_root: Path, threads: int | None = None, seed: int = 0, log=print) -> dict:
    import torch

    from oncoae.models.networks import ArchitectureSpec, MultiModalAutoencoder
    from oncoae.training.fit import TrainingSettings

    sizes = QUICK if quick else FULL
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = threads or usable or 1  # default: every core this process may use
    torch.set_num_threads(threads)
    architecture_defaults = default_architecture()
    # Batch size, learning rate, weight decay, fused Adam, modality dropout, precision: TrainingSettings defaults.
    # Only the epoch count is fixed, early stopping and periodic checkpoints are switched off.
    settings = dataclasses.replace(
        TrainingSettings(), patience=10**6, checkpoint_every_n_epochs=10**6, progress_bar=False
    )
    train_all, val_all = make_sources(sizes, seed)
    models = {"ae_expression": ["expression"], "ae_multimodal": list(MODALITY_KINDS)}

    runs, summary_rows, targets = [], [], []
    for model, names in models.items():
        train, val = subset(train_all, names), subset(val_all, names)
        spec = ArchitectureSpec(
            modalities={name: (sizes.n_features, MODALITY_KINDS[name]) for name in names}, **architecture_defaults
        )
        n_params = sum(p.numel() for p in MultiModalAutoencoder(spec).parameters())
        n_train = len(train.samples)
        steps = len(range(0, n_train, settings.batch_size))
        per_path: dict[str, list[dict]] = {"lightning": [], "plain": []}
        for repeat in range(sizes.repeats):
            order = ("lightning", "plain") if repeat % 2 == 0 else ("plain", "lightning")
            for path in order:
                gc.collect()
                if path == "lightning":
                    work_dir = work_root / "throughput" / model / f"repeat{repeat}"
                    measured = run_lightning(train, val, spec, settings, seed, work_dir, sizes.timed_epochs)
                else:
                    measured = run_plain(train, spec, settings, seed, sizes.timed_epochs)
                measured.update(
                    model=model,
                    path=path,
                    repeat=repeat,
                    samples_per_s=sizes.timed_epochs * n_train / measured["train_s"],
                    ms_per_step=1000 * measured["train_s"] / (sizes.timed_epochs * steps),
                )
                per_path[path].append(measured)
                runs.append(measured)
                log(
                    f"  {model} repeat {repeat} {path:9s}: {measured['samples_per_s']:,.0f} samples/s "
                    f"({measured['train_s']:.2f} s for {sizes.timed_epochs} epoch(s))"
                )
        median = {p: statistics.median(r["samples_per_s"] for r in rs) for p, rs in per_path.items()}
        ratio = median["lightning"] / median["plain"]
        ratios = [a["samples_per_s"] / b["samples_per_s"] for a, b in zip(*per_path.values(), strict=True)]
        summary_rows.append(
            [
                model,
                f"{len(names)} x {sizes.n_features:,}",
                n_train,
                n_params,
                median["lightning"],
                median["plain"],
                ratio,
                f"{min(ratios):.3g}–{max(ratios):.3g}",
                statistics.median(r["ms_per_step"] for r in per_path["lightning"]),
                statistics.median(r["ms_per_step"] for r in per_path["plain"]),
                per_path["lightning"][-1]["final_train_loss"],
                per_path["plain"][-1]["final_train_loss"],
            ]
        )
        targets.append(
            {
                "name": f"{model}: Lightning / hand-written samples/s",
                "target": f">= {TARGET_RATIO}",
                "value": round(ratio, 3),
                "unit": "ratio of medians",
                "met": ratio >= TARGET_RATIO,
                "note": f"{len(names)} modality(ies) x {sizes.n_features:,} features, {n_train:,} training tumors",
            }
        )
        del train, val
    return {
        "name": "throughput",
        "title": TITLE,
        "parameters": {
            "sizes": dataclasses.asdict(sizes),
            "modality_kinds": MODALITY_KINDS,
            "architecture": architecture_defaults,
            "training_settings": dataclasses.asdict(settings),
            "torch_threads": threads,
            "seed": seed,
            "timing": "callback marks; span from the end of the warm-up epoch to the end of the last epoch, "
            "minus validation runs (Lightning path); perf_counter per epoch (plain loop)",
        },
        "targets": targets,
        "tables": [
            {
                "title": f"Throughput, median of {sizes.repeats} repeats ({sizes.timed_epochs} timed epoch(s) each)",
                "note": "Samples/s: training tumors per second of forward + backward + optimizer step, "
                "validation excluded. Ratio: Lightning / plain (range: per-repeat ratios, pairs in run order). "
                "Final train loss: mean over the last epoch, to check that both paths train alike.",
                "columns": [
                    "model",
                    "modalities x features",
                    "train tumors",
                    "parameters",
                    "Lightning samples/s",
                    "plain samples/s",
                    "ratio",
                    "ratio range",
                    "Lightning ms/step",
                    "plain ms/step",
                    "Lightning final loss",
                    "plain final loss",
                ],
                "rows": summary_rows,
            },
            {
                "title": "Every run, in order",
                "columns": [
                    "model",
                    "repeat",
                    "path",
                    "samples/s",
                    "timed s",
                    "validation s excluded",
                    "warm-up epoch s",
                    "whole call s",
                ],
                "rows": [
                    [
                        r["model"],
                        r["repeat"],
                        r["path"],
                        r["samples_per_s"],
                        r["train_s"],
                        r["validation_s_excluded"],
                        r["warmup_epoch_s"],
                        r["fit_wall_s"],
                    ]
                    for r in runs
                ],
            },
        ],
        "notes": [
            "Both paths run the same MultiModalAutoencoder (ArchitectureSpec from the schema's architecture "
            "defaults), Adam with TrainingSettings' learning rate, weight decay and fused flag, the same "
            "masked_reconstruction_loss and the same modality dropout; deterministic algorithms are set as the "
            "Trainer sets them for (a).",
            "The Lightning path's extra per-step work (self.log, the non-finite guard, the hooks) is what the "
            "ratio measures; its per-fit setup (data fingerprint, Trainer construction, sanity check) is excluded "
            "(see 'whole call s').",
        ],
        "data": {"runs": runs},
    }
