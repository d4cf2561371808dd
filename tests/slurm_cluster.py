"""A real one-node SLURM cluster on this machine for the HPC test: munged, slurmctld and slurmd on localhost.

Needs root and the Debian packages slurm-wlm and munge (.ci/run installs them). The job step of the executor
plugin drops SLURM_CONF, so the config must sit at /etc/slurm/slurm.conf; an existing file there is restored
afterwards. Daemons are stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

CONF = Path("/etc/slurm/slurm.conf")
CLUSTER_NAME = "oncoae-test"
# One GPU that exists only in SLURM's books (a count, no device file), so that jobs asking for --gpus=1 are
# accepted and scheduled: the GPU test submits training with accelerator gpu and checks what was asked for.
GRES_CONF = CONF.with_name("gres.conf")


def available() -> str | None:
    """None if a cluster can be started here, else the reason."""
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("slurmctld", "slurmd", "munged", "sbatch", "squeue"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} not installed (apt-get install slurm-wlm munge)"
    return None


def _conf(host: str, scratch: Path) -> str:
    return f"""ClusterName={CLUSTER_NAME}
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={scratch}/state
SlurmdSpoolDir={scratch}/spool
SlurmctldPidFile={scratch}/slurmctld.pid
SlurmdPidFile={scratch}/slurmd.pid
SlurmctldLogFile={scratch}/slurmctld.log
SlurmdLogFile={scratch}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
GresTypes=gpu
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName={host} CPUs={os.cpu_count()} RealMemory=16000 Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def _running(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def _kill_leftover_job_processes() -> None:
    """Kill what the cluster's jobs left running: a job step's processes that slurmd no longer tracks (e.g. the
    first instance of a requeued job, killed while shutting down) would outlive the cluster and the test."""
    for environ in Path("/proc").glob("[0-9]*/environ"):
        pid = int(environ.parent.name)
        if pid == os.getpid():
            continue
        try:
            # Only this cluster's jobs (its name is in their environment), never an outer SLURM job's processes.
            if b"SLURM_CLUSTER_NAME=" + CLUSTER_NAME.encode() + b"\0" in environ.read_bytes():
                os.kill(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


class OneNodeCluster:
    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.backups: dict[Path, bytes | None] = {}
        self.host = socket.gethostname().split(".")[0]
        self.pids: list[int] = []

    def _daemon(self, command: list[str], pid_file: Path | None = None) -> None:
        subprocess.run(command, check=True, timeout=60)
        if pid_file is not None:
            for _ in range(100):
                if pid_file.exists() and pid_file.read_text().strip():
                    self.pids.append(int(pid_file.read_text().strip()))
                    return
                time.sleep(0.1)
            raise RuntimeError(f"{command[0]} wrote no pid file {pid_file}")

    def start(self) -> None:
        for sub in ("state", "spool"):
            (self.scratch / sub).mkdir(parents=True, exist_ok=True)
        CONF.parent.mkdir(parents=True, exist_ok=True)
        own_lines = {CONF: f"ClusterName={CLUSTER_NAME}\n", GRES_CONF: "Name=gpu File=/dev/null\n"}
        for path in (CONF, GRES_CONF):
            previous = path.read_bytes() if path.exists() else None
            # This cluster's own file, left by a test session killed before it could restore the previous one, is
            # removed at the end, not restored: with a slurm.conf whose controller is gone, every snakemake start
            # waits about 8 s (the SLURM executor plugin runs `scontrol show config` as it loads).
            self.backups[path] = None if previous and own_lines[path].encode() in previous else previous
        CONF.write_text(_conf(self.host, self.scratch))
        GRES_CONF.write_text(f"AutoDetect=off\nNodeName={self.host} Name=gpu File=/dev/null\n")
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            subprocess.run(["/usr/sbin/mungekey", "--create"], check=True, timeout=60)
            shutil.chown(key, "munge", "munge")
        # munged runs as the munge user, which cannot enter pytest's private temporary folders: its pid file
        # and socket stay in /run/munge. An munged already running is used as it is (and left running).
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        munge_pid = Path("/run/munge/munged.pid")
        if not _running(munge_pid):
            munge_pid.unlink(missing_ok=True)
            self._daemon(["runuser", "-u", "munge", "--", "/usr/sbin/munged"], munge_pid)
        self._daemon(["/usr/sbin/slurmctld", "-f", str(CONF)], self.scratch / "slurmctld.pid")
        self._daemon(["/usr/sbin/slurmd", "-f", str(CONF)], self.scratch / "slurmd.pid")
        for _ in range(120):
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.strip()
            if state == "idle":
                return
            time.sleep(0.5)
        raise RuntimeError(f"the SLURM node did not become idle (sinfo: {state!r}); see {self.scratch}")

    def stop(self) -> None:
        for pid in reversed(self.pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                # Still there after 5 s (a loaded machine): killed, unless it has just gone after all.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        _kill_leftover_job_processes()
        for path, backup in self.backups.items():
            if backup is not None:
                path.write_bytes(backup)
            else:
                path.unlink(missing_ok=True)

    def set_node_state(self, state: str) -> None:
        """DRAIN keeps submitted jobs pending (nothing runs); RESUME lets them run again."""
        command = ["scontrol", "update", f"NodeName={self.host}", f"State={state}"]
        if state == "DRAIN":
            command.append("Reason=oncoae-test")
        subprocess.run(command, check=True, capture_output=True, timeout=30)
