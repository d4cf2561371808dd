"""Encoding tumors with a trained autoencoder: the held-out step of the workflow and the ``encode`` command.

Both paths start from raw modality tables and apply the normalizers fitted on training tumors, so a cohort that
arrives after training is embedded exactly as the held-out tumors were.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import torch

from oncoae.data.modality import assemble_modalities, dense_rows, latent_anndata, table_to_anndata
from oncoae.data.normalize import ModalityNormalizer
from oncoae.models.checkpoint import load_model
from oncoae.models.networks import MultiModalAutoencoder


class EncodingError(ValueError):
    pass


@dataclass
class Encoding:
    """Encoded tumors: ``latent`` is tumors x dims (the posterior mean for a VAE); ``presence`` tumors x
    modalities (bool); ``reconstruction_error`` one column per modality, NaN where absent; ``risk`` the Cox
    head's score (higher = shorter survival) when the model has one; ``latent_without[m]`` the latents with
    modality m masked (multi-modal models), NaN for tumors that have nothing else."""

    samples: list[str]
    latent: np.ndarray
    presence: np.ndarray
    reconstruction_error: pd.DataFrame
    risk: np.ndarray | None = None
    latent_without: dict[str, np.ndarray] = field(default_factory=dict)


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

    def normalize(self, raw: Mapping[str, pd.DataFrame | ad.AnnData]) -> dict[str, ad.AnnData]:
        """Each modality through its training-fitted normalizer, one modality at a time.

        ``raw`` values are tumors x features tables or AnnData (sparse kept sparse; a backed AnnData is read only
        when its turn comes, so a large cohort never has every raw modality in memory at once). Modalities the
        model knows but ``raw`` lacks count as absent for every tumor.
        """
        unknown = sorted(set(raw) - set(self.modality_names))
        if unknown:
            raise EncodingError(f"the model has no modality named {unknown}; it knows {self.modality_names}")
        normalized = {}
        for name in self.modality_names:
            normalizer = self.normalizers[name]
            data = raw.get(name)
            if data is None:
                empty = pd.DataFrame(np.zeros((0, len(normalizer.features_)), np.float32), columns=normalizer.features_)
                normalized[name] = table_to_anndata(empty)
            elif isinstance(data, ad.AnnData):
                normalized[name] = normalizer.transform_anndata(data.to_memory() if data.isbacked else data)
            else:
                normalized[name] = table_to_anndata(normalizer.transform(data))
        return normalized

    def encode(self, raw_tables: Mapping[str, pd.DataFrame | ad.AnnData], batch_size: int = 4096) -> Encoding:
        """Latents for every tumor present in at least one of ``raw_tables`` (raw values; see ``normalize``)."""
        return self.encode_normalized(self.normalize(raw_tables), batch_size)

    def encode_normalized(self, normalized: Mapping[str, ad.AnnData], batch_size: int = 4096) -> Encoding:
        """Latents of tumors already normalized by ``normalize`` (e.g. once for the models of several seeds)."""
        samples = sorted({s for adata in normalized.values() for s in adata.obs_names})
        if not samples:
            raise EncodingError("no tumor to encode: every input table is empty")
        source = assemble_modalities(normalized, samples)
        latents, errors, risks = [], [], []
        with torch.no_grad():
            for start in range(0, len(samples), batch_size):
                rows = slice(start, start + batch_size)
                inputs = {name: torch.from_numpy(dense_rows(values, rows)) for name, values in source.values.items()}
                presence = torch.from_numpy(source.presence[rows])
                output = self.network(inputs, presence)
                latents.append(output.mean.numpy())
                if output.risk is not None:
                    risks.append(output.risk.numpy())
                batch_errors = {}
                for index, name in enumerate(self.modality_names):
                    loss = self.network.likelihoods[name].per_tumor_loss(output.reconstructions[name], inputs[name])
                    batch_errors[name] = np.where(source.presence[rows, index], loss.numpy(), np.nan)
                errors.append(pd.DataFrame(batch_errors))
            without = {}
            if len(self.modality_names) > 1:
                for index, name in enumerate(self.modality_names):
                    without[name] = self._latent_without(source.values, source.presence, index, batch_size)
        error_table = pd.concat(errors, ignore_index=True)
        error_table.index = samples
        return Encoding(
            samples=samples,
            latent=np.concatenate(latents).astype(np.float32),
            presence=source.presence,
            reconstruction_error=error_table,
            risk=np.concatenate(risks).astype(np.float32) if risks else None,
            latent_without=without,
        )

    def _latent_without(self, values: Mapping[str, np.ndarray], presence: np.ndarray, index: int, batch_size: int):
        """Latents with modality ``index`` masked through the presence mask (never zeros passed as data);
        NaN rows for tumors left with no modality."""
        masked = presence.copy()
        masked[:, index] = False
        latent = np.full((len(presence), self.network.spec.latent_dim), np.nan, dtype=np.float32)
        for start in range(0, len(presence), batch_size):
            rows = slice(start, start + batch_size)
            inputs = {name: torch.from_numpy(dense_rows(v, rows)) for name, v in values.items()}
            latent[rows] = self.network.encode(inputs, torch.from_numpy(masked[rows])).numpy()
        latent[~masked.any(axis=1)] = np.nan
        return latent

    def encode_to_anndata(
        self,
        raw_tables: Mapping[str, pd.DataFrame | ad.AnnData] | None,
        obs: pd.DataFrame,
        uns: dict | None = None,
        normalized: Mapping[str, ad.AnnData] | None = None,
    ):
        """``encode`` as the workflow stores it: an AnnData with the latent in ``obsm["X_latent"]`` and, in obs,
        ``obs``'s columns, ``has_<modality>``, ``reconstruction_error_<modality>`` and ``risk_score`` (Cox head);
        multi-modal models add ``obsm["X_latent_without_<modality>"]`` for leave-one-modality-out evaluation.
        Pass ``normalized`` (from ``normalize``) instead of ``raw_tables`` to reuse one normalization."""
        encoding = self.encode_normalized(normalized) if normalized is not None else self.encode(raw_tables)
        obs = obs.reindex(encoding.samples).join(encoding.reconstruction_error.add_prefix("reconstruction_error_"))
        if encoding.risk is not None:
            obs["risk_score"] = encoding.risk
        adata = latent_anndata(encoding.samples, encoding.latent, obs, encoding.presence, self.modality_names, uns=uns)
        for name, latent in encoding.latent_without.items():
            adata.obsm[f"X_latent_without_{name}"] = latent
        return adata
