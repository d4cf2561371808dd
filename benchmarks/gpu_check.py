"""GPU check (issue #19): the demo's multi-modal autoencoder trained on a GPU against the CPU, and step throughput.

``python -m benchmarks.gpu_check [--dry-run] [--results DIR]``, normally through ``benchmarks/gpu_check.sh``, which
first installs the CUDA build of the locked torch into its own environment. Three measurements:

1. Quality: the demo config (config/config.yaml) with only ``ae_multimodal`` (and ``pca_concat``, whose figure
   does not depend on the device) through the real workflow, once with ``training.accelerator: gpu`` and once
   with ``cpu``, in two run folders; held-out ARI vs subtype per seed. GPU kernels are not bitwise the CPU's, so the
   check is agreement within seed noise: |mean_gpu - mean_cpu| <= 2 x the larger seed sd (plus 0.01).
2. Throughput of the training step (the Lightning path of benchmarks/throughput.py: 3 modalities, schema-default
   network) in samples/s at batch 128 and 1,024, fp32 (``32-true``) and ``bf16-mixed``, on the GPU and on the
   machine's CPU cores (fp32), measured in one process so their ratio is meaningful.
3. Two-process DDP (tests/ddp_worker.py) on 2 GPUs, when the machine has them: both ranks end equal.

``--dry-run`` runs every step on the CPU with tiny sizes (accelerator cpu on both sides of the comparison), so the
script is tested where no GPU is (tests/test_gpu_check.py); its results go to benchmarks/work/, never beside real
ones.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

from benchmarks.end_to_end import snakemake_command
from benchmarks.machine import REPO, describe_machine
from benchmarks.report import write_result

NAME = "gpu"
TITLE = "GPU check: demo ae_multimodal on GPU vs CPU, training-step throughput, DDP"
BATCH_SIZES = (128, 1024)
PRECISIONS = ("32-true", "bf16-mixed")


def log(message: str) -> None:
    print(message, flush=True)


def demo_config(accelerator: str, dry_run: bool) -> dict:
    """The demo config, reduced to the models this check compares (tiny cohort and training for a dry run)."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["dataset"] = f"gpucheck_{accelerator}"
    config["models"] = {
        "autoencoders": {"per_modality": False, "multimodal": True, "variants": {}},
        "baselines": ["pca"],
        "baselines_per_modality": False,
    }
    config.setdefault("training", {})["accelerator"] = accelerator
    if dry_run:
        simulation = config.setdefault("simulation", {})
        simulation.update({"n_tumors": 160})
        for modality in simulation.get("modalities", {}).values():
            modality["n_features"] = min(int(modality.get("n_features", 100)), 60)
        for modality in config.get("modalities", {}).values():
            modality.get("normalization", {}).pop("top_variance", None)
        config["seeds"] = [0, 1]
        config["training"].update({"max_epochs": 5, "patience": 5})
        # The check reads held-out ARI only: no Leiden sweep (its neighbour graph costs each evaluation job
        # seconds of numba compilation on the CPU).
        config["evaluation"] = {"permutations": 50, "max_permutations": 50, "bootstrap": 20, "leiden_resolutions": []}
    return config


def _snakemake(folder: Path, config: dict, target: str, cores: int) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = snakemake_command(folder, config_path, cores, [target])
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    if result.returncode != 0:
        raise RuntimeError(f"snakemake failed in {folder}:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return time.perf_counter() - started


def _ari_by_seed(summary: Path, model: str) -> list[float]:
    import pandas as pd

    table = pd.read_csv(summary, sep="\t")
    rows = table[(table["model"] == model) & (table["metric"] == "ari") & (table["label"] == "subtype")]
    return [float(v) for v in rows.sort_values("seed")["value"]]


def check_quality(work: Path, accelerator: str, dry_run: bool, cores: int) -> dict:
    """Held-out ARI of ae_multimodal trained on ``accelerator`` and on the CPU, per seed."""
    runs = {}
    for device in dict.fromkeys([accelerator, "cpu"]):
        config = demo_config(device, dry_run)
        summary = f"results/{config['dataset']}/evaluation/summary.tsv"
        wall = _snakemake(work / f"run_{device}", config, summary, cores)
        runs[device] = {"ari": _ari_by_seed(work / f"run_{device}" / summary, "ae_multimodal"), "wall_s": wall}
        log(f"quality: {device} ARI per seed {runs[device]['ari']} ({wall:.0f} s)")
    device_ari, cpu_ari = runs[accelerator]["ari"], runs["cpu"]["ari"]
    noise = max(statistics.stdev(device_ari), statistics.stdev(cpu_ari)) if len(cpu_ari) > 1 else 0.0
    difference = abs(statistics.mean(device_ari) - statistics.mean(cpu_ari))
    return {
        "accelerator": accelerator,
        "ari": {device: run["ari"] for device, run in runs.items()},
        "wall_s": {device: run["wall_s"] for device, run in runs.items()},
        "mean_difference": difference,
        "allowed": 2 * noise + 0.01,
        "agrees": difference <= 2 * noise + 0.01,
    }


def measure_throughput(work: Path, accelerator: str, dry_run: bool) -> list[dict]:
    """Training-step samples/s for each batch size and precision on ``accelerator``, and fp32 on the CPU."""
    from benchmarks import throughput
    from oncoae.models.networks import ArchitectureSpec
    from oncoae.training.fit import TrainingSettings

    sizes = throughput.QUICK if dry_run else dataclasses.replace(throughput.FULL, timed_epochs=3)
    train, val = throughput.make_sources(sizes, seed=0)
    spec = ArchitectureSpec(
        modalities={name: (sizes.n_features, kind) for name, kind in throughput.MODALITY_KINDS.items()},
        **throughput.default_architecture(),
    )
    cases = [(accelerator, batch, precision) for batch in BATCH_SIZES for precision in PRECISIONS]
    if accelerator != "cpu":
        cases += [("cpu", batch, "32-true") for batch in BATCH_SIZES]
    rows = []
    for device, batch, precision in cases:
        settings = TrainingSettings(
            batch_size=batch,
            accelerator=device,
            precision=precision,
            progress_bar=False,
            patience=10_000,
            checkpoint_every_n_epochs=10_000,
            deterministic=False,
        )
        measured = throughput.run_lightning(train, val, spec, settings, 0, work / "throughput", sizes.timed_epochs)
        samples_per_s = sizes.n_train * sizes.timed_epochs / measured["train_s"]
        rows.append({"device": device, "batch_size": batch, "precision": precision, "samples_per_s": samples_per_s})
        log(f"throughput: {device} batch {batch} {precision}: {samples_per_s:,.0f} samples/s")
    return rows


def check_ddp(work: Path, accelerator: str) -> dict:
    import torch

    if accelerator == "cpu" or torch.cuda.device_count() < 2:
        return {"ran": False, "reason": f"{torch.cuda.device_count()} GPU(s); DDP needs 2"}
    out = work / "ddp"
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(REPO / "tests" / "ddp_worker.py"), str(out), "101", "gpu"]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    if result.returncode != 0:
        return {"ran": True, "ok": False, "error": result.stderr[-2000:]}
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    equal = all(torch.equal(ranks[0]["state_dict"][k], ranks[1]["state_dict"][k]) for k in ranks[0]["state_dict"])
    return {"ran": True, "ok": equal and ranks[0]["batches"] == ranks[1]["batches"], "batches": ranks[0]["batches"]}


def run(dry_run: bool, work: Path, cores: int) -> dict:
    import torch

    accelerator = "cpu" if dry_run else "gpu"
    if accelerator == "gpu" and not torch.cuda.is_available():
        raise SystemExit(f"gpu_check: torch {torch.__version__} sees no CUDA device; on a CPU use --dry-run")
    started = time.perf_counter()
    quality = check_quality(work, accelerator, dry_run, cores)
    speed = measure_throughput(work, accelerator, dry_run)
    ddp = check_ddp(work, accelerator)
    cpu_fp32 = {row["batch_size"]: row["samples_per_s"] for row in speed if row["device"] == "cpu"}
    return {
        "name": NAME,
        "title": TITLE,
        "quick": dry_run,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "duration_s": time.perf_counter() - started,
        "command": "python -m benchmarks.gpu_check" + (" --dry-run" if dry_run else ""),
        "targets": [
            {
                "name": "held-out ARI, accelerator vs CPU",
                "target": "|mean difference| within 2 seed sd + 0.01",
                "value": quality["mean_difference"],
                "unit": f"allowed {quality['allowed']:.3f}",
                "met": quality["agrees"],
            },
            {
                "name": "2-process DDP on 2 GPUs",
                "target": "ranks end with equal weights and batch counts",
                "value": "equal" if ddp.get("ok") else ddp.get("reason") or ddp.get("error", "ranks differ"),
                "met": ddp.get("ok") if ddp["ran"] else None,
            },
        ],
        "tables": [
            {
                "title": "Held-out ARI vs subtype, ae_multimodal, per seed",
                "columns": ["device", "ARI per seed", "mean", "workflow wall (s)"],
                "rows": [
                    [device, ", ".join(f"{a:.3f}" for a in ari), statistics.mean(ari), quality["wall_s"][device]]
                    for device, ari in quality["ari"].items()
                ],
            },
            {
                "title": "Training-step throughput (samples/s)",
                "columns": ["device", "batch size", "precision", "samples/s", "x CPU fp32"],
                "rows": [
                    [
                        row["device"],
                        row["batch_size"],
                        row["precision"],
                        row["samples_per_s"],
                        row["samples_per_s"] / cpu_fp32[row["batch_size"]] if row["batch_size"] in cpu_fp32 else None,
                    ]
                    for row in speed
                ],
            },
        ],
        "quality": quality,
        "throughput": speed,
        "ddp": ddp,
        "machine": describe_machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="everything on the CPU at tiny sizes (a test)")
    parser.add_argument("--results", type=Path, default=None, help="default: benchmarks/results (dry run: work/)")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work" / "gpu_check")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    results = args.results or (args.work / "results" if args.dry_run else REPO / "benchmarks" / "results")
    result = run(args.dry_run, args.work, args.cores)
    json_path, md_path = write_result(copy.deepcopy(result), results)
    log(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
