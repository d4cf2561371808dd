"""Saving and loading trained networks as plain tensors and dicts.

The exported file is what encoding reads. It holds no pickled classes, so it loads with
``torch.load(weights_only=True)`` and without Lightning (which costs seconds to import).
"""

from __future__ import annotations

from pathlib import Path

import torch

from oncoae.models.networks import ArchitectureSpec, MultiModalAutoencoder


def save_model(network: MultiModalAutoencoder, path: str | Path, extra: dict | None = None) -> None:
    payload = {"architecture": network.spec.to_dict(), "state_dict": network.state_dict(), "extra": extra or {}}
    torch.save(payload, path)


def load_model(path: str | Path) -> tuple[MultiModalAutoencoder, dict]:
    """The network in eval mode, and the extra metadata saved with it."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    network = MultiModalAutoencoder(ArchitectureSpec.from_dict(payload["architecture"]))
    network.load_state_dict(payload["state_dict"])
    return network.eval(), payload.get("extra", {})
