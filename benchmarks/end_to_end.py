"""The whole workflow through the real ``snakemake`` CLI (issue #7, items 2 to 5).

* ``end_to_end``: the demo (config/config.yaml) and a pan-cancer-scale simulated cohort (10,000 tumors, 20,000 raw
  features in each of four modalities, filtered to 5,000 / 5,000 / 2,000 / 2,000), each run cold under
  ``/usr/bin/time -v``; wall time, peak memory, a per-rule breakdown from the workflow's ``benchmark:`` files, the
  time of a second ``snakemake`` call with nothing to do, and the held-out ARI of every model (PCA vs the
  multi-modal autoencoder in the headline).
* ``scaling``: the pan-cancer profile at 1,000, 4,000 and 16,000 tumors; growth of time and memory with n as
  log-log slopes.

Memory is reported three ways, because none alone is the whole story:

* ``peak tree RSS``: the largest sum of RSS over snakemake and all its descendants, sampled with psutil every
  0.25 s. This is the whole-tree figure the targets use. Shared pages (libraries) are counted once per process,
  so it is an upper bound; a peak shorter than the sampling interval can be missed.
* ``time -v max RSS``: GNU time's "Maximum resident set size", the largest single process of the tree (not a sum).
* ``largest job max_rss``: the largest ``max_rss`` (MiB, job process tree) in the benchmark files, which snakemake
  samples every second for 30 s and every 30 s after that.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.machine import REPO
from oncoae.layout import RunLayout
from oncoae.provenance import read_benchmarks
from oncoae.workflow import merge_sections

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TIME = "/usr/bin/time"
MIB = 1024 * 1024
TARGET_WALL_S = 30 * 60
TARGET_RSS_MIB = 6e9 / MIB  # "6 GB" read as 6 x 10^9 bytes, the stricter reading
TARGET_NOOP_S = 5.0
TARGET_MEMORY_SLOPE = 1.2  # "about linear memory", read as a log-log slope of peak memory on n of at most 1.2
RUN_TIMEOUT_S = 4 * 3600  # a hung run must not hang the suite


@dataclass(frozen=True)
class Profile:
    """A simulated cohort: tumors, raw features per modality, features kept by normalization."""

    n_tumors: int
    raw_features: int
    kept: tuple[int, int, int, int]  # expression, methylation, copy number, mutation
    quick_overrides: bool = False


PANCANCER = Profile(n_tumors=10_000, raw_features=20_000, kept=(5000, 5000, 2000, 2000))
SCALING_N = (1000, 4000, 16_000)
# Scaling measures growth with n, so it uses a mid-sized feature profile that lets n = 16,000 run on this machine.
SCALING_PROFILE = Profile(n_tumors=0, raw_features=5000, kept=(1000, 1000, 500, 300))
# At pan-cancer scale: one seed and the standard models (per-modality and multi-modal AEs, PCA, kernel PCA),
# without the demo's extra variants, so that the suite finishes on a 2-core machine; seeds and variants
# multiply the training time linearly (see the per-rule breakdown).
SCALE_OVERRIDES = {"seeds": [0]}
QUICK_PANCANCER = Profile(n_tumors=150, raw_features=120, kept=(60, 60, 30, 30), quick_overrides=True)
QUICK_SCALING_N = (100, 200)
# --quick stops at the evaluation summary (the figures and the report cost half the run, mostly imports).
QUICK_TARGET = RunLayout.of_dataset("{dataset}").summary

# --quick only: one seed, one autoencoder, one baseline, a few epochs of a small network.
QUICK_OVERRIDES = {
    "seeds": [0],
    "models": {
        "autoencoders": {"per_modality": False, "multimodal": True},
        "baselines": ["pca"],
        "baselines_per_modality": False,
    },
    "architecture": {"hidden_sizes": [16], "latent_dim": 4},
    "training": {"max_epochs": 3, "patience": 2, "batch_size": 32, "checkpoint_every_n_epochs": 5},
}

# The demo's generator settings per modality (oncoae.data.simulate defaults), only the feature count changed.
SIMULATION = {
    "expression": {"signal_fraction": 0.1, "effect": 0.55, "nuisance_strength": 0.06},
    "methylation": {"signal_fraction": 0.1, "effect": 0.55, "nuisance_strength": 0.06},
    "copy_number": {"signal_fraction": 0.15, "effect": 0.65, "nuisance_strength": 0.06},
    "mutation": {"signal_fraction": 0.03, "effect": 1.0, "nuisance_strength": 0.0},
}


def demo_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def cohort_config(profile: Profile, dataset: str) -> dict:
    """The demo config with the cohort's size and feature filters changed (and, for --quick, a tiny model)."""
    expression, methylation, copy_number, mutation = profile.kept
    config = demo_config()
    config["dataset"] = dataset
    config["simulation"] = {
        **config.get("simulation", {}),
        "n_tumors": profile.n_tumors,
        "modalities": {name: {"n_features": profile.raw_features, **spec} for name, spec in SIMULATION.items()},
    }
    config["modalities"] = {
        "expression": {
            "kind": "continuous",
            "normalization": {"transform": "log1p", "scale": "zscore", "top_variance": expression},
        },
        "methylation": {
            "kind": "continuous",
            "normalization": {"transform": "mvalue", "scale": "zscore", "top_variance": methylation},
        },
        "copy_number": {
            "kind": "continuous",
            "normalization": {"transform": "none", "scale": "zscore", "top_variance": copy_number},
        },
        # Rare genes out first (min_frequency), then the most variable of the rest.
        "mutation": {
            "kind": "binary",
            "normalization": {"transform": "none", "scale": "none", "min_frequency": 0.01, "top_variance": mutation},
        },
    }
    config = merge_sections(config, QUICK_OVERRIDES if profile.quick_overrides else SCALE_OVERRIDES)
    config["models"]["autoencoders"].pop("variants", None)  # the demo's extra autoencoders (VAE, ...)
    return config


# ----------------------------------------------------------------------------------------------------------------
# Running the workflow


class TreeRssSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_bytes = 0
        self.peak_processes = 0
        self.peak_at_s = 0.0
        self.timeline: list[tuple[float, float]] = []  # (seconds, MiB) at most every 2 s
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        started = time.perf_counter()
        last_kept = -math.inf
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            now = time.perf_counter() - started
            if total > self.peak_bytes:
                self.peak_bytes, self.peak_processes, self.peak_at_s = total, len(processes), now
            if now - last_kept >= 2.0:
                self.timeline.append((round(now, 1), round(total / MIB, 1)))
                last_kept = now
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _seconds(clock: str) -> float:
    """'h:mm:ss' or 'm:ss.ss' -> seconds."""
    total = 0.0
    for part in clock.strip().split(":"):
        total = total * 60 + float(part)
    return total


def parse_time_v(text: str) -> dict:
    """The fields of GNU time's verbose report that matter here."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.strip().rpartition(": ")
        if sep:
            fields[key] = value.strip()
    parsed = {}
    if "Elapsed (wall clock) time (h:mm:ss or m:ss)" in fields:
        parsed["wall_s"] = _seconds(fields["Elapsed (wall clock) time (h:mm:ss or m:ss)"])
    if "Maximum resident set size (kbytes)" in fields:
        parsed["max_rss_single_process_mib"] = int(fields["Maximum resident set size (kbytes)"]) / 1024
    for name, key in (("user_s", "User time (seconds)"), ("system_s", "System time (seconds)")):
        if key in fields:
            parsed[name] = float(fields[key])
    if "Percent of CPU this job got" in fields:
        parsed["cpu_percent"] = float(fields["Percent of CPU this job got"].rstrip("%") or "nan")
    if "Exit status" in fields:
        parsed["exit_status"] = int(fields["Exit status"])
    return parsed


def snakemake_command(workdir: Path, config_path: Path, cores: int, targets: list[str] = ()) -> list[str]:
    return [*_base_command(workdir, config_path, cores), *targets]


def _base_command(workdir: Path, config_path: Path, cores: int) -> list[str]:
    return [
        SNAKEMAKE,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config_path),
        "--cores",
        str(cores),
    ]


def timed_snakemake(
    workdir: Path, config_path: Path, cores: int, label: str, targets: list[str] = (), timeout_s: float | None = None
) -> dict:
    """Run snakemake under ``/usr/bin/time -v`` with the process tree's RSS sampled; output goes to a log file."""
    time_file = workdir / f"{label}.time.txt"
    log_file = workdir / f"{label}.log"
    command = [TIME, "-v", "-o", str(time_file), *snakemake_command(workdir, config_path, cores, targets)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    with open(log_file, "w") as log:
        # A session of its own, so that a run past its time limit is stopped with all its jobs (and only them).
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
        sampler = TreeRssSampler(process.pid)
        sampler.start()
        timed_out = False
        try:
            returncode = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGTERM)
            try:
                returncode = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                returncode = process.wait()
        finally:
            sampler.stop()
    measured = {
        "command": " ".join(command),
        "returncode": returncode,
        "timed_out": timed_out,
        "wall_s_outside": time.perf_counter() - started,
        "peak_tree_rss_mib": sampler.peak_bytes / MIB,
        "peak_tree_processes": sampler.peak_processes,
        "peak_tree_at_s": sampler.peak_at_s,
        "rss_timeline_mib": sampler.timeline,
        "log": str(log_file),
        "time_v_file": str(time_file),
    }
    if time_file.exists():
        measured.update(parse_time_v(time_file.read_text()))
    output = log_file.read_text(errors="replace")
    measured["nothing_to_do"] = "Nothing to be done" in output
    reasons = [line.strip() for line in output.splitlines() if line.strip().startswith("reason:")]
    if reasons:  # why snakemake had work to do (the first job's reason, shortened)
        measured["first_reason"] = reasons[0][:300]
    if returncode != 0:
        measured["log_tail"] = output[-3000:]
    return measured


# ----------------------------------------------------------------------------------------------------------------
# What a finished run left behind


def rule_breakdown(jobs) -> list[list]:
    if jobs.empty:
        return []
    table = (
        jobs.groupby("rule")
        .agg(
            jobs=("s", "size"),
            total_s=("s", "sum"),
            max_s=("s", "max"),
            cpu_s=("cpu_time", "sum"),
            max_rss_mib=("max_rss", "max"),
        )
        .sort_values("total_s", ascending=False)
        .reset_index()
    )
    total = jobs["s"].sum()
    return [
        [
            row.rule,
            int(row.jobs),
            float(row.total_s),
            float(row.total_s / total * 100) if total else math.nan,
            float(row.max_s),
            float(row.cpu_s),
            float(row.max_rss_mib),
        ]
        for row in table.itertuples()
    ]


def kept_features(run: RunLayout, modalities: list[str]) -> dict[str, int]:
    """Features per normalized modality that the run wrote (read from the HDF5 files without loading the
    matrices)."""
    import h5py

    kept = {}
    for modality in sorted(modalities):
        path = Path(run.normalized(modality))
        if not path.exists():
            continue
        with h5py.File(path, "r") as handle:
            var = handle["var"]
            index_key = var.attrs.get("_index", "_index")
            kept[modality] = int(var[index_key].shape[0])
    return kept


def ari_by_model(summary_path: Path) -> list[dict]:
    """Held-out ARI per model and label (mean, sd over seeds) from the tidy evaluation summary."""
    import pandas as pd

    if not summary_path.exists():
        return []
    summary = pd.read_csv(summary_path, sep="\t")
    ari = summary[summary["metric"] == "ari"]
    rows = []
    for (model, label), group in ari.groupby(["model", "label"], dropna=False):
        values = group["value"].astype(float)
        rows.append(
            {
                "model": model,
                "label": label,
                "ari_mean": float(values.mean()),
                "ari_sd": float(values.std(ddof=1)) if len(values) > 1 else math.nan,
                "seeds": int(len(values)),
            }
        )
    return sorted(rows, key=lambda row: (str(row["label"]), -row["ari_mean"]))


def run_case(
    name: str, config: dict, work_root: Path, cores: int, noop_repeats: int, targets: list[str] = (), log=print
) -> dict:
    """A cold run of the whole workflow (or of ``targets``), then ``noop_repeats`` runs with nothing to do."""
    workdir = work_root / "e2e" / name
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    simulation = config.get("simulation", {})
    log(f"  {name}: snakemake on {simulation.get('n_tumors')} tumors in {workdir} ...")
    run = timed_snakemake(workdir, config_path, cores, "run", targets, timeout_s=RUN_TIMEOUT_S)
    out = RunLayout.of_dataset(config["dataset"], workdir / "results")
    jobs = read_benchmarks(out.benchmarks_dir)
    case = {
        "case": name,
        "dataset": config["dataset"],
        "n_tumors": simulation.get("n_tumors"),
        "raw_features": {m: s.get("n_features") for m, s in simulation.get("modalities", {}).items()} or "defaults",
        "config": str(config_path),
        "targets": list(targets) or ["all"],
        "run": run,
        "jobs": jobs.to_dict(orient="records"),
        "rules": rule_breakdown(jobs),
        "largest_job_max_rss_mib": float(jobs["max_rss"].max()) if len(jobs) else math.nan,
        "sum_job_s": float(jobs["s"].sum()) if len(jobs) else 0.0,
        "kept_features": kept_features(out, list(config["modalities"])),
        "ari": ari_by_model(Path(out.summary)),
        "noop": [],
    }
    status = "ok" if run["returncode"] == 0 else f"FAILED (exit {run['returncode']}, see {run['log']})"
    log(
        f"  {name}: {status}; {run.get('wall_s', run['wall_s_outside']):.1f} s, "
        f"peak tree RSS {run['peak_tree_rss_mib']:,.0f} MiB, {len(jobs)} jobs"
    )
    if run["returncode"] == 0:
        for repeat in range(noop_repeats):
            noop = timed_snakemake(workdir, config_path, cores, f"noop{repeat}", targets, timeout_s=600)
            case["noop"].append(noop)
            log(f"  {name}: no-op run {repeat}: {noop.get('wall_s', noop['wall_s_outside']):.2f} s")
    return case


def _wall(run: dict) -> float:
    return float(run.get("wall_s", run["wall_s_outside"]))


def _run_row(case: dict) -> list:
    run = case["run"]
    kept = case["kept_features"]
    return [
        case["case"],
        case["n_tumors"],
        ", ".join(str(v) for v in case["raw_features"].values())
        if isinstance(case["raw_features"], dict)
        else case["raw_features"],
        ", ".join(f"{k} {v}" for k, v in kept.items()),
        _wall(run),
        _wall(run) / 60,
        run["peak_tree_rss_mib"],
        run.get("max_rss_single_process_mib"),
        case["largest_job_max_rss_mib"],
        len(case["jobs"]),
        case["sum_job_s"],
        (run.get("user_s") or 0) + (run.get("system_s") or 0),
        run["returncode"],
    ]


RUN_COLUMNS = [
    "case",
    "tumors",
    "raw features",
    "kept features",
    "wall s",
    "wall min",
    "peak tree RSS MiB (psutil)",
    "time -v max RSS MiB (1 process)",
    "largest job max_rss MiB",
    "jobs",
    "sum of job s",
    "CPU s (user+sys)",
    "exit",
]


def _common(name: str, title: str, cores: int, cases: list[dict], notes: list[str]) -> dict:
    return {
        "name": name,
        "title": title,
        "parameters": {
            "cores": cores,
            "snakemake": SNAKEMAKE,
            "command": "/usr/bin/time -v " + " ".join(snakemake_command(Path("<workdir>"), Path("<cfg>"), cores)),
            "configs": {case["case"]: case["config"] for case in cases},
            "snakemake_targets": {case["case"]: case["targets"] for case in cases},
        },
        "notes": notes,
        "data": {"cases": cases},
    }


MEMORY_NOTE = (
    "Peak tree RSS: largest sum of RSS over snakemake and all descendants (psutil, every 0.25 s; shared pages "
    "counted per process). time -v max RSS: the largest single process. Largest job max_rss: from the workflow's "
    "benchmark files (job process tree, sampled by snakemake). MiB = 2^20 bytes; the 6 GB target is 6e9 bytes "
    f"= {TARGET_RSS_MIB:,.0f} MiB."
)


def run_end_to_end(quick: bool, work_root: Path, cores: int = 2, log=print) -> dict:
    if quick:
        cases = [("pancancer", cohort_config(QUICK_PANCANCER, "pancancer"))]
        noop_repeats = 1
    else:
        cases = [("demo", demo_config()), ("pancancer", cohort_config(PANCANCER, "pancancer"))]
        noop_repeats = 3
    targets = [QUICK_TARGET.format(dataset="pancancer")] if quick else []
    results = [run_case(name, config, work_root, cores, noop_repeats, targets, log) for name, config in cases]
    by_name = {case["case"]: case for case in results}
    pan = by_name["pancancer"]
    targets = []
    ok = pan["run"]["returncode"] == 0
    targets.append(
        {
            "name": "pan-cancer: wall time of the whole workflow",
            "target": f"<= {TARGET_WALL_S / 60:.0f} min",
            "value": round(_wall(pan["run"]) / 60, 2),
            "unit": "min",
            "met": (_wall(pan["run"]) <= TARGET_WALL_S) if ok else False,
            "note": f"{pan['n_tumors']:,} tumors, --cores {cores}" + ("" if ok else "; the run FAILED"),
        }
    )
    targets.append(
        {
            "name": "pan-cancer: peak RSS, whole process tree",
            "target": "<= 6 GB",
            "value": round(pan["run"]["peak_tree_rss_mib"], 1),
            "unit": "MiB (psutil sum)",
            "met": (pan["run"]["peak_tree_rss_mib"] <= TARGET_RSS_MIB) if ok else False,
            "note": f"time -v largest process {pan['run'].get('max_rss_single_process_mib', math.nan):,.0f} MiB; "
            f"largest job {pan['largest_job_max_rss_mib']:,.0f} MiB",
        }
    )
    noop_times = [_wall(run) for run in pan["noop"]]
    noop_median = statistics.median(noop_times) if noop_times else math.nan
    targets.append(
        {
            "name": "pan-cancer: snakemake with nothing to do",
            "target": f"<= {TARGET_NOOP_S:g} s",
            "value": round(noop_median, 2),
            "unit": f"s (median of {len(noop_times)})",
            "met": (noop_median <= TARGET_NOOP_S and all(r["nothing_to_do"] for r in pan["noop"]))
            if noop_times
            else None,
            "note": ""
            if all(r["nothing_to_do"] for r in pan["noop"])
            else "snakemake found work to do: " + next((r.get("first_reason", "?") for r in pan["noop"]), ""),
        }
    )
    ari = {(row["model"], row["label"]): row for row in pan["ari"]}
    labels = sorted({row["label"] for row in pan["ari"]}, key=str)
    for label in labels:
        pca, ae = ari.get(("pca_concat", label)), ari.get(("ae_multimodal", label))
        targets.append(
            {
                "name": f"pan-cancer: held-out ARI ({label}), multi-modal AE vs PCA (concat)",
                "target": "informational",
                "value": round(ae["ari_mean"] - pca["ari_mean"], 3) if pca and ae else None,
                "unit": "ARI difference (AE - PCA)",
                "met": None,
                "note": (
                    f"ae_multimodal {ae['ari_mean']:.3f}, pca_concat {pca['ari_mean']:.3f} (means over seeds)"
                    if pca and ae
                    else "a model is missing from summary.tsv"
                ),
            }
        )
    tables = [
        {
            "title": "Whole-workflow runs (cold)",
            "note": MEMORY_NOTE,
            "columns": RUN_COLUMNS,
            "rows": [_run_row(case) for case in results],
        },
    ]
    for case in results:
        tables.append(
            {
                "title": f"Per rule: {case['case']}",
                "note": "From results/<dataset>/benchmarks/**.tsv. total s: sum over the rule's jobs (jobs run two at "
                "a time, so the sum exceeds the wall time); max_rss: the largest of the rule's jobs.",
                "columns": ["rule", "jobs", "total s", "% of job s", "max s", "CPU s", "max_rss MiB"],
                "rows": case["rules"],
            }
        )
    tables.append(
        {
            "title": "No-op: snakemake with nothing to do",
            "columns": ["case", "runs", "median s", "each s", "time -v max RSS MiB", "'Nothing to be done' seen"],
            "rows": [
                [
                    case["case"],
                    len(case["noop"]),
                    statistics.median(_wall(r) for r in case["noop"]) if case["noop"] else None,
                    [round(_wall(r), 2) for r in case["noop"]],
                    max((r.get("max_rss_single_process_mib") or 0) for r in case["noop"]) if case["noop"] else None,
                    all(r["nothing_to_do"] for r in case["noop"]) if case["noop"] else None,
                ]
                for case in results
            ],
        }
    )
    for case in results:
        tables.append(
            {
                "title": f"Held-out ARI per model: {case['case']}",
                "note": "From results/<dataset>/evaluation/summary.tsv (metric ari, test tumors), mean and sd over "
                "seeds.",
                "columns": ["model", "label", "ARI mean", "ARI sd", "seeds"],
                "rows": [[r["model"], r["label"], r["ari_mean"], r["ari_sd"], r["seeds"]] for r in case["ari"]],
            }
        )
    notes = [
        "Every case starts from an empty working folder under benchmarks/work/e2e/<case>/ (kept afterwards: "
        "config, logs, time -v reports, results).",
        f"Pan-cancer profile: {PANCANCER.n_tumors:,} tumors, {PANCANCER.raw_features:,} raw features per modality, "
        f"kept {PANCANCER.kept} (expression and methylation: top_variance; copy number: top_variance; mutation: "
        "min_frequency 0.01 then top_variance); everything else as in config/config.yaml except one seed and no "
        "extra autoencoder variants (the demo case runs those).",
    ]
    if quick:
        notes.append(
            f"--quick: profile {QUICK_PANCANCER}, demo skipped, overrides {QUICK_OVERRIDES}, target {QUICK_TARGET} "
            "(no figures, no report)."
        )
    result = _common("end_to_end", "End to end: the whole workflow, demo and pan-cancer scale", cores, results, notes)
    result.update(targets=targets, tables=tables)
    return result


def _slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(y) on log(x)."""
    points = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(points) < 2:
        return math.nan
    mean_x = sum(p[0] for p in points) / len(points)
    mean_y = sum(p[1] for p in points) / len(points)
    denominator = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / denominator if denominator else math.nan


def _growth_rows(cases: list[dict]) -> list[list]:
    rows = []
    for small, large in zip(cases[:-1], cases[1:], strict=True):
        n0, n1 = float(small["n_tumors"]), float(large["n_tumors"])
        w0, w1 = _wall(small["run"]), _wall(large["run"])
        r0, r1 = small["run"]["peak_tree_rss_mib"], large["run"]["peak_tree_rss_mib"]
        j0, j1 = small["largest_job_max_rss_mib"], large["largest_job_max_rss_mib"]
        rows.append(
            [
                small["case"],
                large["case"],
                w1 / w0 if w0 else None,
                _slope([n0, n1], [w0, w1]),
                r1 / r0 if r0 else None,
                _slope([n0, n1], [r0, r1]),
                (r1 - r0) / (n1 - n0) * 1000,
                (j1 - j0) / (n1 - n0) * 1000,
            ]
        )
    return rows


def run_scaling(quick: bool, work_root: Path, cores: int = 2, log=print) -> dict:
    base = QUICK_PANCANCER if quick else SCALING_PROFILE
    sizes = QUICK_SCALING_N if quick else SCALING_N
    results = []
    for n in sizes:
        profile = Profile(n, base.raw_features, base.kept, base.quick_overrides)
        config = cohort_config(profile, f"scale_n{n}")
        # --quick: only simulation, split and normalization (the end_to_end run smoke-tests the rest).
        run = RunLayout.of_dataset(config["dataset"])
        targets = [run.normalized(m) for m in config["modalities"]] if quick else []
        results.append(run_case(f"scale_n{n}", config, work_root, cores, 0, targets, log))
    ok = [case for case in results if case["run"]["returncode"] == 0]
    ns = [float(case["n_tumors"]) for case in ok]
    walls = [_wall(case["run"]) for case in ok]
    tree = [case["run"]["peak_tree_rss_mib"] for case in ok]
    largest = [case["largest_job_max_rss_mib"] for case in ok]
    slopes = {"wall": _slope(ns, walls), "peak_tree_rss": _slope(ns, tree), "largest_job_rss": _slope(ns, largest)}
    targets = [
        {
            "name": "peak memory growth with n (whole tree)",
            "target": f"about linear (log-log slope <= {TARGET_MEMORY_SLOPE})",
            "value": round(slopes["peak_tree_rss"], 3) + 0.0,
            "unit": "slope of log peak tree RSS on log n",
            "met": slopes["peak_tree_rss"] <= TARGET_MEMORY_SLOPE if len(ok) == len(results) and ok else False,
            "note": f"n = {', '.join(f'{int(n):,}' for n in sizes)}"
            + ("" if len(ok) == len(results) else f"; {len(results) - len(ok)} run(s) FAILED"),
        },
        {
            "name": "wall time growth with n",
            "target": "informational",
            "value": round(slopes["wall"], 3) + 0.0,
            "unit": "slope of log wall on log n",
            "met": None,
            "note": "",
        },
        {
            "name": "largest job memory growth with n",
            "target": "informational",
            "value": round(slopes["largest_job_rss"], 3) + 0.0,
            "unit": "slope of log max_rss on log n",
            "met": None,
            "note": "from the benchmark files",
        },
    ]
    rows = []
    for case in results:
        row = _run_row(case)
        n = case["n_tumors"]
        row.insert(7, case["run"]["peak_tree_rss_mib"] / n * 1000 if n else None)
        rows.append(row)
    columns = [*RUN_COLUMNS]
    columns.insert(7, "peak tree RSS MiB per 1,000 tumors")
    rules = sorted({row[0] for case in results for row in case["rules"]})
    per_rule = {case["case"]: {row[0]: row for row in case["rules"]} for case in results}
    tables = [
        {"title": "Runs by cohort size (cold)", "note": MEMORY_NOTE, "columns": columns, "rows": rows},
        {
            "title": "Growth between consecutive sizes",
            "note": "Local log-log slopes (1 = linear; rising slopes mean worse than linear growth) and the memory "
            "each extra 1,000 tumors costs.",
            "columns": [
                "from",
                "to",
                "wall ratio",
                "wall slope",
                "peak tree RSS ratio",
                "RSS slope",
                "extra MiB per 1,000 tumors (tree)",
                "extra MiB per 1,000 tumors (largest job)",
            ],
            "rows": _growth_rows(ok),
        },
        {
            "title": "Per rule: total job seconds by cohort size",
            "columns": ["rule", *[case["case"] for case in results]],
            "rows": [[rule, *[per_rule[c["case"]].get(rule, [None] * 3)[2] for c in results]] for rule in rules],
        },
        {
            "title": "Per rule: largest job max_rss (MiB) by cohort size",
            "columns": ["rule", *[case["case"] for case in results]],
            "rows": [[rule, *[per_rule[c["case"]].get(rule, [None] * 7)[6] for c in results]] for rule in rules],
        },
    ]
    notes = [
        f"Profile: {base.raw_features:,} raw features per modality, kept {base.kept}, everything else as "
        "config/config.yaml except one seed and no extra autoencoder variants; only n_tumors changes.",
        "Slopes: least squares of log(value) on log(n) over the successful runs; 1 = linear, 0 = constant.",
    ]
    if quick:
        notes.append(f"--quick: n = {sizes}, targets: the normalized modalities only.")
    result = _common(
        "scaling", "Scaling: time and memory of the whole workflow against n tumors", cores, results, notes
    )
    result.update(targets=targets, tables=tables, data={"cases": results, "slopes": slopes})
    return result
