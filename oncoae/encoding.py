"""Encoding tumors with a trained autoencoder: the held-out step of the workflow and the ``encode`` command.

Both paths start from raw modality tables and apply the normalizers fitted on training tumors, so a cohort that
arrives after training is embedded exactly as the held-out tumors were.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from oncoae.data.modality import assemble_modalities, table_to_anndata
from oncoae.data.normalize import ModalityNormalizer
from oncoae.models.checkpoint import load_model
from oncoae.models.likelihoods import per_tumor_reconstruction_loss
from oncoae.models.networks import MultiModalAutoencoder


class EncodingError(ValueError):
    pass


class HeldOutEncoder:
    """A trained network plus the normalizers of its modalities."""

    def __init__(self, network: MultiModalAutoencoder, normalizers: Mapping[str, ModalityNormalizer]) -> None:
        missing = [name for name in network.modality_names if name not in normalizers]
        if missing:
            raise EncodingError(f"no normalizer for modalities {missing}")
        self.network = network.eval()
        self.normalizers = {name: normalizers[name] for name in network.modality_names}

    @classmethod
    def from_files(cls, model_path: str | Path, normalizer_paths: Mapping[str, str | Path]) -> HeldOutEncoder:
        network, _extra = load_model(model_path)
        normalizers = {name: ModalityNormalizer.load(path) for name, path in normalizer_paths.items()}
        return cls(network, normalizers)

    @property
    def modality_names(self) -> list[str]:
        return self.network.modality_names

    def encode(self, raw_tables: Mapping[str, pd.DataFrame], batch_size: int = 4096):
        """Latents for every tumor present in at least one of ``raw_tables`` (tumors x features, raw values).

        Returns ``(samples, latent, presence, reconstruction_error)``: latent is tumors x dims; presence is
        tumors x modalities (bool); reconstruction_error is a DataFrame, one column per modality, NaN where absent.
        Modalities the model knows but the input lacks count as absent for every tumor.
        """
        unknown = sorted(set(raw_tables) - set(self.modality_names))
        if unknown:
            raise EncodingError(f"the model has no modality named {unknown}; it knows {self.modality_names}")
        normalized = {}
        for name in self.modality_names:
            if name in raw_tables:
                normalized[name] = table_to_anndata(self.normalizers[name].transform(raw_tables[name]))
            else:
                n_features = len(self.normalizers[name].features_)
                normalized[name] = table_to_anndata(pd.DataFrame(np.zeros((0, n_features), np.float32)))
        samples = sorted({s for adata in normalized.values() for s in adata.obs_names})
        if not samples:
            raise EncodingError("no tumor to encode: every input table is empty")
        source = assemble_modalities(normalized, samples)
        latents, errors = [], []
        with torch.no_grad():
            for start in range(0, len(samples), batch_size):
                rows = slice(start, start + batch_size)
                inputs = {name: torch.from_numpy(values[rows]) for name, values in source.values.items()}
                presence = torch.from_numpy(source.presence[rows])
                latent, reconstructions = self.network(inputs, presence)
                latents.append(latent.numpy())
                batch_errors = {}
                for index, (name, (_n, kind)) in enumerate(self.network.spec.modalities.items()):
                    loss = per_tumor_reconstruction_loss(kind, reconstructions[name], inputs[name]).numpy()
                    batch_errors[name] = np.where(source.presence[rows, index], loss, np.nan)
                errors.append(pd.DataFrame(batch_errors))
        error_table = pd.concat(errors, ignore_index=True)
        error_table.index = samples
        return samples, np.concatenate(latents).astype(np.float32), source.presence, error_table
