"""Hyperparameter search with Optuna: the search space (``space``, standard library, read by the Snakefile), the
workers that train and score trials (``search``) and the search's figures and tables (``report``)."""
