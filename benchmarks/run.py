"""Run the benchmarks: ``python -m benchmarks.run [--only NAME ...] [--quick]`` (``make bench`` runs them all).

Benchmarks: throughput (item 1 of issue #7), end_to_end (items 2, 4 and 5: demo and pan-cancer runs, the no-op
run, held-out ARI), scaling (item 3), quality (issue #15, item 1: held-out figures of every model on the real
cohorts and the simulator over 3 seeds, and the multi-modal AE's tally against the baselines). Results:
``benchmarks/results/<name>.json`` and ``.md`` plus a README.md index; ``--quick`` runs tiny sizes as a smoke
test and writes to ``benchmarks/work/results/`` instead, so that its numbers never land beside real ones.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("throughput", "end_to_end", "scaling", "quality")
NEEDS_TIME = {"end_to_end", "scaling", "quality"}


def log(message: str) -> None:
    print(message, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, metavar="NAME", help=f"any of {BENCHMARKS}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, results in benchmarks/work/")
    parser.add_argument("--cores", type=int, default=int(os.environ.get("CORES", 2)), help="snakemake --cores (2)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads for throughput (all cores)")
    parser.add_argument("--results", type=Path, default=None, help="results folder (default by --quick)")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="scratch folder (benchmarks/work)")
    return parser.parse_args(argv)


def run_one(name: str, args: argparse.Namespace) -> dict:
    if name == "throughput":
        from benchmarks import throughput

        return throughput.run(args.quick, args.work, threads=args.threads, log=log)
    if name == "quality":
        from benchmarks import quality

        return quality.run(args.quick, args.work, cores=args.cores, log=log)
    from benchmarks import end_to_end

    if name == "end_to_end":
        return end_to_end.run_end_to_end(args.quick, args.work, cores=args.cores, log=log)
    return end_to_end.run_scaling(args.quick, args.work, cores=args.cores, log=log)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [name for name in BENCHMARKS if not args.only or name in args.only]
    results_dir = args.results or (args.work / "results" if args.quick else HERE / "results")
    command = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
    if NEEDS_TIME & set(names) and not shutil.which("/usr/bin/time"):
        needing = ", ".join(sorted(NEEDS_TIME))
        log(f"error: /usr/bin/time is missing (Debian/Ubuntu: apt-get install time); {needing} need it")
        return 2
    # Lightning logs to its own console handler unless the root logger has one (see oncoae.training.fit).
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # Lightning's loggers are at INFO themselves
        handler.setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*srun.*")
    from benchmarks.machine import describe_machine
    from benchmarks.report import targets_table, write_result

    failed = []
    for name in names:
        log(f"== {name}{' (quick)' if args.quick else ''}")
        load_at_start = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
        started = datetime.now(timezone.utc).astimezone()
        clock = time.perf_counter()
        try:
            result = run_one(name, args)
        except Exception:  # a failed benchmark is recorded and the others still run
            failed.append(name)
            result = {"name": name, "title": name, "error": traceback.format_exc()}
            log(result["error"])
        result.update(
            quick=args.quick,
            started=started.isoformat(timespec="seconds"),
            finished=datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
            duration_s=round(time.perf_counter() - clock, 1),
            command=command,
            machine={**describe_machine(), "load_average_at_start": load_at_start},
        )
        json_path, md_path = write_result(result, results_dir)
        if result.get("targets"):
            log(targets_table(result["targets"]))
        log(
            f"-> {json_path.relative_to(Path.cwd()) if json_path.is_relative_to(Path.cwd()) else json_path}, "
            f"{md_path.name} ({result['duration_s']} s)"
        )
    log(f"index: {results_dir / 'README.md'}")
    if failed:
        log(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
