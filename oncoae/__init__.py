"""oncoae: latent representations of tumors from multi-omics profiles.

Importing the package is cheap on purpose; each subpackage (data, models, training, evaluation, report) imports
its heavy dependencies itself, so a workflow step pays only for what it uses. The planning layer the Snakefile
imports (workflow, layout, settings, config_check) uses the standard library only.
"""

__version__ = "0.1.0"
