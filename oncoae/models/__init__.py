"""Torch modules and their losses: no I/O beyond checkpoint files, no training loop."""
