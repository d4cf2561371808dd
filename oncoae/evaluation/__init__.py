"""Clustering and metrics on held-out tumors (scikit-learn and lifelines)."""
