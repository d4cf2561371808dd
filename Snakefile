# oncoae: latent representations of tumors from multi-omics profiles.
# Run: snakemake --cores 2 (or: make demo). Configure: config/config.yaml, documented in config/schema.yaml.
import signal
import sys

from snakemake.utils import min_version

min_version("9.0")

# The package holds all logic; make it importable here and in every job, installed or not.
sys.path.insert(0, workflow.basedir)

# SLURM's warning before a time limit (sbatch --signal=USR1@90 --requeue) goes to every process of the job step,
# and USR1 ends a process that does not handle it: the snakemake processes (and the shells they start) ignore it,
# and the training step takes it back to checkpoint and requeue (oncoae/training/fit.py, RequeueOnSignal).
signal.signal(signal.SIGUSR1, signal.SIG_IGN)


# The demo config applies only when no --configfile is given: a user's config replaces it rather than being
# merged into it (merging would mix the demo's modalities into theirs). Schema defaults fill the rest.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"


wildcard_constraints:
    modality=alternatives(MODALITIES),
    model=alternatives(MODELS),
    autoencoder=alternatives(AUTOENCODERS),
    baseline=alternatives(BASELINES),
    seed=r"\d+",
    group="autoencoders|baselines",
    host=r"[^/]+",
    dataset_file=r"[^/]+",
    study=r"[^/]+",


include: "rules/download.smk"
include: "rules/data.smk"
include: "rules/normalize.smk"
include: "rules/tune.smk"
include: "rules/train.smk"
include: "rules/baselines.smk"
include: "rules/encode.smk"
include: "rules/evaluate.smk"
include: "rules/attribute.smk"
include: "rules/report.smk"
include: "rules/export.smk"


rule all:
    input:
        get_final_output(),
        ANNOTATED,
        MUDATA,
        ATTRIBUTIONS,
    default_target: True
