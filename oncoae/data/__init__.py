"""Data: simulation, readers, splits, normalization and per-modality AnnData."""
