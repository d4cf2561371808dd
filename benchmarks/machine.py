"""The machine a benchmark ran on: CPU, cores, memory, load, and the software that matters for the timings."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cgroup_limits() -> dict[str, str]:
    """CPU quota and memory limit of the cgroup (v2) we run in, where there is one: a container may see all of
    the host's cores in /proc but be allowed only a few."""
    limits = {}
    for key, path in (("cgroup_cpu_max", "/sys/fs/cgroup/cpu.max"), ("cgroup_memory_max", "/sys/fs/cgroup/memory.max")):
        try:
            limits[key] = Path(path).read_text().strip()
        except OSError:
            continue
    return limits


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe_machine() -> dict:
    """A flat dict (JSON-ready) describing this machine and process; call it after torch threads are set."""
    import psutil
    import torch

    from oncoae.provenance import workflow_commit

    memory = psutil.virtual_memory()
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = os.cpu_count()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "hostname": platform.node(),
        "os": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_logical_cores": psutil.cpu_count(logical=True),
        "cpu_physical_cores": psutil.cpu_count(logical=False),
        "cpu_cores_usable": affinity,
        **_cgroup_limits(),
        "ram_total_gb": round(memory.total / 1e9, 2),
        "ram_available_gb": round(memory.available / 1e9, 2),
        "load_average_1_5_15": [round(value, 2) for value in load],
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "torch_parallel_backend": _parallel_backend(torch),
        "lightning": _version("lightning"),
        "snakemake": _version("snakemake"),
        "numpy": _version("numpy"),
        "oncoae_commit": workflow_commit(REPO),
    }


def _parallel_backend(torch) -> str:
    for line in torch.__config__.parallel_info().splitlines():
        if line.startswith("ATen parallel backend"):
            return line.split(":", 1)[1].strip()
    return "unknown"
