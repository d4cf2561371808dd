"""Encoding tumors with a trained model: the held-out step of the workflow and the ``encode`` command.

Both paths start from raw modality tables and apply the normalizers fitted on training tumors, so a cohort that
arrives after training is embedded exactly as the held-out tumors were. Autoencoders go through
``TrainedEncoder``, the PCA / kernel PCA baselines through ``BaselineEncoder``; both check each input modality
against the features the model was trained on before anything is filled in (``check_input_features``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import torch
from scipy import sparse

from oncoae.baselines import BaselineExtractor
from oncoae.data.modality import assemble_modalities, dense_rows, latent_anndata, table_to_anndata
from oncoae.data.normalize import ModalityNormalizer
from oncoae.models.checkpoint import load_model
from oncoae.models.networks import MultiModalAutoencoder

log = logging.getLogger(__name__)


class EncodingError(ValueError):
    pass


# An input modality must hold at least this share of the features the model was trained on for that modality.
# Missing features are filled with the training mean: a few are harmless, but once most of a model's input is
# training means the latent describes the training average rather than the tumor, and that nearly always means a
# wrong file, another platform or another ID space (Ensembl vs symbols) rather than a real cohort. Half is where
# the measured features still outnumber the filled ones. A modality left out of the input altogether is absent
# for every tumor (has_<modality> False); one given with an overlap below this share (zero included) is an error,
# never a modality "present" with nothing but training means.
MIN_FEATURE_OVERLAP = 0.5
# A MAF names only its tumors' mutated genes. On the shared pan-cancer MAF, with the example's model genes (mutated
# in >= 1 % of tumors, 3,474), a single tumor's named genes are model genes for 49 % (median) and >= 25 % for 99 %
# of the 8,018 tumors; a MAF in another gene ID space has none. Below this share a MAF is refused.
MIN_MAF_KNOWN_SHARE = 0.1
# Where encoding stores a classification head's class probabilities (columns: uns["class_names"]).
HEAD_PROBABILITIES = "X_class_probabilities"


def check_input_features(
    modality: str,
    samples: Sequence[str],
    features: Sequence[str],
    model_features: Sequence[str],
    source: str | None = None,
    transposed_hint: str = "",
) -> None:
    """Raise ``EncodingError`` (one line, naming ``source`` or the modality) when an input modality looks
    transposed (more of its sample names than of its feature names are model features) or shares fewer than
    ``MIN_FEATURE_OVERLAP`` of the model's features."""
    model = pd.Index(np.asarray(model_features).astype(str))
    n_model = len(model)
    if n_model == 0 or len(samples) == 0:
        return
    where = f"{source}: modality {modality!r}" if source else f"modality {modality!r}"
    n_feature_hits = int(model.isin(pd.Index(np.asarray(features).astype(str))).sum())
    sample_hits = model[model.isin(pd.Index(np.asarray(samples).astype(str)))]
    if len(sample_hits) > n_feature_hits:
        raise EncodingError(
            f"{where} looks transposed: {len(sample_hits)} of its sample names are features of the model "
            f"(first: {', '.join(sample_hits[:3])}) and {n_feature_hits} of its feature names are; "
            f"tumors must be rows{transposed_hint}"
        )
    share = n_feature_hits / n_model
    if share < MIN_FEATURE_OVERLAP:
        raise EncodingError(
            f"{where} shares {n_feature_hits} of the model's {n_model} features ({share:.0%}), fewer than the "
            f"{MIN_FEATURE_OVERLAP:.0%} an input modality needs (MIN_FEATURE_OVERLAP); is it this modality, "
            "with the feature IDs the run was trained on?"
        )


def gene_calls_for_model(
    calls: ad.AnnData, genes_named: Sequence[str], model_genes: Sequence[str], modality: str, source: str | None = None
) -> ad.AnnData:
    """Gene-level 0/1 calls read from a MAF (``mutation_calls_anndata``) onto the model's genes, in its order.

    Genes the model lacks are dropped (counted and named in the log). Model genes without a non-silent variant in
    the MAF are 0, not the training mean: a MAF lists variants, so a gene it has none in is not mutated, which is
    the data rather than a gap. For the same reason the matrix guard (``MIN_FEATURE_OVERLAP`` of the model's
    features) does not apply: a MAF of one tumor names a few dozen genes. What a MAF can get wrong is the ID
    space (Ensembl or Entrez IDs for a model on symbols, whose calls would all be lost as unknown genes), so the
    guard is on ``genes_named``, every gene the MAF names in any variant (silent ones included): fewer than
    ``MIN_MAF_KNOWN_SHARE`` of them known to the model is an error.
    """
    named = pd.Index(np.asarray(genes_named).astype(str)).unique()
    known_share = float(named.isin(pd.Index(np.asarray(model_genes).astype(str))).mean()) if len(named) else 0.0
    if known_share < MIN_MAF_KNOWN_SHARE:
        raise EncodingError(
            f"{source or f'modality {modality!r}'}: {known_share:.0%} of the {len(named)} genes this MAF names are "
            f"genes of the model, fewer than the {MIN_MAF_KNOWN_SHARE:.0%} a MAF needs (MIN_MAF_KNOWN_SHARE); are "
            "its Hugo_Symbol values the gene IDs the run was trained on?"
        )
    model = pd.Index(np.asarray(model_genes).astype(str))
    genes = pd.Index(calls.var_names.astype(str))
    where = source or f"modality {modality!r}"
    unknown = genes[~genes.isin(model)]
    if len(unknown):
        log.info(
            "%s: dropped %d of the %d genes with a non-silent variant, which the model was not trained on (first: %s)",
            where,
            len(unknown),
            len(genes),
            ", ".join(unknown[:5]),
        )
    positions = genes.get_indexer(model)
    known = positions >= 0
    log.info(
        "%s: %d of the model's %d genes have no non-silent variant in the MAF: not mutated (0)",
        where,
        int((~known).sum()),
        len(model),
    )
    # A 0/1 matrix that moves each MAF gene's column to its model column (unknown genes to none).
    move = sparse.csr_matrix(
        (np.ones(int(known.sum()), np.float32), (positions[known], np.flatnonzero(known))),
        shape=(len(genes), len(model)),
    )
    values = sparse.csr_matrix(sparse.csr_matrix(calls.X, dtype=np.float32) @ move, dtype=np.float32)
    return ad.AnnData(X=values, obs=calls.obs.copy(), var=pd.DataFrame(index=pd.Index(model, name=None)))


def add_head_predictions(adata: ad.AnnData, label: str) -> None:
    """The classification head's read-out under its label's name, for ``python -m oncoae encode``:
    ``obs["predicted_<label>"]`` (categorical over the classes, the most probable one),
    ``obsm["<label>_probabilities"]`` (tumors x classes) and ``uns["<label>_classes"]`` (its columns); nothing
    for a model without the head."""
    if HEAD_PROBABILITIES not in adata.obsm:
        return
    probabilities = np.asarray(adata.obsm[HEAD_PROBABILITIES], dtype=np.float32)
    classes = [str(name) for name in adata.uns["class_names"]]
    adata.obs[f"predicted_{label}"] = pd.Categorical.from_codes(probabilities.argmax(axis=1), categories=classes)
    adata.obsm[f"{label}_probabilities"] = probabilities
    adata.uns[f"{label}_classes"] = classes
    adata.uns["classification_label"] = label


def _names(data: pd.DataFrame | ad.AnnData) -> tuple[pd.Index, pd.Index]:
    """(sample names, feature names) of a table or an AnnData (backed ones included: nothing is read)."""
    if isinstance(data, ad.AnnData):
        return data.obs_names, data.var_names
    return data.index, data.columns


def tumor_order(normalized: Mapping[str, ad.AnnData], samples: Sequence[str] | None = None) -> list[str]:
    """The tumors to encode: those of ``samples`` that some modality has, in that order, or by default every
    tumor of ``normalized``, sorted (the order of the workflow's latents)."""
    present = {s for adata in normalized.values() for s in adata.obs_names}
    if samples is None:
        return sorted(present)
    return [s for s in dict.fromkeys(samples) if s in present]


class _Normalizing:
    """What both encoders share: the training-fitted normalizers of the model's modalities."""

    normalizers: dict[str, ModalityNormalizer]

    @property
    def modality_names(self) -> list[str]:
        raise NotImplementedError

    def check_inputs(
        self,
        raw: Mapping[str, pd.DataFrame | ad.AnnData],
        sources: Mapping[str, str] | None = None,
        transposed_hint: Mapping[str, str] | None = None,
    ) -> None:
        """``check_input_features`` for every modality of ``raw``; ``sources`` names each modality's file."""
        unknown = sorted(set(raw) - set(self.modality_names))
        if unknown:
            raise EncodingError(f"the model has no modality named {unknown}; it knows {self.modality_names}")
        for name, data in raw.items():
            samples, features = _names(data)
            check_input_features(
                name,
                samples,
                features,
                self.normalizers[name].features_,
                source=(sources or {}).get(name),
                transposed_hint=(transposed_hint or {}).get(name, ""),
            )

    def normalize(self, raw: Mapping[str, pd.DataFrame | ad.AnnData]) -> dict[str, ad.AnnData]:
        """Each modality through its training-fitted normalizer, one modality at a time.

        ``raw`` values are tumors x features tables or AnnData (sparse kept sparse; a backed AnnData is read only
        when its turn comes, so a large cohort never has every raw modality in memory at once). Modalities the
        model knows but ``raw`` lacks count as absent for every tumor; a modality of ``raw`` must pass
        ``check_input_features``.
        """
        self.check_inputs(raw)
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
    class_probabilities: np.ndarray | None = None  # tumors x classes (softmax of a classification head)


class TrainedEncoder(_Normalizing):
    """A trained network plus the normalizers of its modalities: encodes the run's tumors (held-out ones
    included) and new cohorts alike."""

    def __init__(self, network: MultiModalAutoencoder, normalizers: Mapping[str, ModalityNormalizer]) -> None:
        missing = [name for name in network.modality_names if name not in normalizers]
        if missing:
            raise EncodingError(f"no normalizer for modalities {missing}")
        self.network = network.eval()
        self.normalizers = {name: normalizers[name] for name in network.modality_names}

    @classmethod
    def from_files(cls, model_path: str | Path, normalizer_paths: Mapping[str, str | Path]) -> TrainedEncoder:
        network, _extra = load_model(model_path)
        normalizers = {name: ModalityNormalizer.load(path) for name, path in normalizer_paths.items()}
        return cls(network, normalizers)

    @property
    def modality_names(self) -> list[str]:
        return self.network.modality_names

    def encode(
        self,
        raw_tables: Mapping[str, pd.DataFrame | ad.AnnData],
        batch_size: int = 4096,
        samples: Sequence[str] | None = None,
    ) -> Encoding:
        """Latents for every tumor present in at least one of ``raw_tables`` (raw values; see ``normalize``), in
        the order of ``samples`` (default: sorted)."""
        return self.encode_normalized(self.normalize(raw_tables), batch_size, samples)

    def encode_normalized(
        self, normalized: Mapping[str, ad.AnnData], batch_size: int = 4096, samples: Sequence[str] | None = None
    ) -> Encoding:
        """Latents of tumors already normalized by ``normalize`` (e.g. once for the models of several seeds)."""
        samples = tumor_order(normalized, samples)
        if not samples:
            raise EncodingError("no tumor to encode: every input table is empty")
        source = assemble_modalities(normalized, samples)
        latents, errors, risks, probabilities = [], [], [], []
        with torch.no_grad():
            for start in range(0, len(samples), batch_size):
                rows = slice(start, start + batch_size)
                inputs = {name: torch.from_numpy(dense_rows(values, rows)) for name, values in source.values.items()}
                presence = torch.from_numpy(source.presence[rows])
                output = self.network(inputs, presence)
                latents.append(output.mean.numpy())
                if output.risk is not None:
                    risks.append(output.risk.numpy())
                if output.class_logits is not None:
                    probabilities.append(torch.softmax(output.class_logits, dim=1).numpy())
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
            class_probabilities=np.concatenate(probabilities).astype(np.float32) if probabilities else None,
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
        raw_tables: Mapping[str, pd.DataFrame | ad.AnnData],
        obs: pd.DataFrame,
        uns: dict | None = None,
        samples: Sequence[str] | None = None,
    ) -> ad.AnnData:
        """``encode`` as the workflow stores it (see ``normalized_to_anndata``), from raw modalities."""
        return self.normalized_to_anndata(self.normalize(raw_tables), obs, uns=uns, samples=samples)

    def normalized_to_anndata(
        self,
        normalized: Mapping[str, ad.AnnData],
        obs: pd.DataFrame,
        uns: dict | None = None,
        samples: Sequence[str] | None = None,
    ) -> ad.AnnData:
        """Tumors already normalized by ``normalize`` (e.g. once for the models of several seeds) as the workflow
        stores them: an AnnData with the latent in ``obsm["X_latent"]`` and, in obs, ``obs``'s columns,
        ``has_<modality>``, ``reconstruction_error_<modality>`` and ``risk_score`` (Cox head); multi-modal models
        add ``obsm["X_latent_without_<modality>"]`` for leave-one-modality-out evaluation. Tumors come in the
        order of ``samples`` (default: sorted)."""
        encoding = self.encode_normalized(normalized, samples=samples)
        obs = obs.reindex(encoding.samples).join(encoding.reconstruction_error.add_prefix("reconstruction_error_"))
        if encoding.risk is not None:
            obs["risk_score"] = encoding.risk
        adata = latent_anndata(encoding.samples, encoding.latent, obs, encoding.presence, self.modality_names, uns=uns)
        for name, latent in encoding.latent_without.items():
            adata.obsm[f"X_latent_without_{name}"] = latent
        if encoding.class_probabilities is not None:
            # The classification head's class probabilities, columns in the order of uns["class_names"].
            adata.obsm[HEAD_PROBABILITIES] = encoding.class_probabilities
            adata.uns["class_names"] = list(self.network.spec.class_names)
        return adata


def encode_seeds(
    model: str,
    seeds: Sequence[int],
    model_paths: Sequence[str | Path],
    normalizer_paths: Mapping[str, str | Path],
    raw_paths: Mapping[str, str | Path],
    obs: pd.DataFrame,
    samples: Sequence[str],
) -> Iterator[ad.AnnData]:
    """The encode step of one autoencoder: the latents of ``samples`` (the split's tumors) for each seed's trained
    model, in the order of ``seeds`` (``uns``: model, seed). The raw modalities are opened backed, each read (its
    tumors of ``samples`` only) when its normalizer's turn comes, and normalized once for the models of every
    seed, which share the normalizers."""
    raw = {}
    for name, path in raw_paths.items():
        backed = ad.read_h5ad(path, backed="r")
        raw[name] = backed[backed.obs_names.isin(samples)]
    normalized = None
    for seed, model_path in zip(seeds, model_paths, strict=True):
        encoder = TrainedEncoder.from_files(model_path, normalizer_paths)
        if normalized is None:
            normalized = encoder.normalize(raw)
        adata = encoder.normalized_to_anndata(normalized, obs, uns={"model": model, "seed": int(seed)})
        log.info(
            "seed %s: encoded %d tumors (%d held-out) into %d dimensions",
            seed,
            adata.n_obs,
            int((adata.obs["split"] == "test").sum()),
            adata.obsm["X_latent"].shape[1],
        )
        yield adata


class BaselineEncoder(_Normalizing):
    """A fitted PCA / kernel PCA baseline plus the normalizers of its modalities: new tumors go through the same
    normalization as the autoencoders' and the same block-mean imputation as in the workflow."""

    def __init__(self, extractor: BaselineExtractor, normalizers: Mapping[str, ModalityNormalizer]) -> None:
        missing = [name for name in extractor.modality_names if name not in normalizers]
        if missing:
            raise EncodingError(f"no normalizer for modalities {missing}")
        self.extractor = extractor
        self.normalizers = {name: normalizers[name] for name in extractor.modality_names}

    @classmethod
    def from_files(cls, model_path: str | Path, normalizer_paths: Mapping[str, str | Path]) -> BaselineEncoder:
        extractor = BaselineExtractor.load(model_path)
        normalizers = {name: ModalityNormalizer.load(path) for name, path in normalizer_paths.items()}
        return cls(extractor, normalizers)

    @property
    def modality_names(self) -> list[str]:
        return self.extractor.modality_names

    def encode_to_anndata(
        self,
        raw_tables: Mapping[str, pd.DataFrame | ad.AnnData],
        obs: pd.DataFrame,
        uns: dict | None = None,
        samples: Sequence[str] | None = None,
    ) -> ad.AnnData:
        """The baseline's components in ``obsm["X_latent"]``, ``obs``'s columns and ``has_<modality>``: the
        layout of the workflow's ``latent/<baseline>/baseline.h5ad``."""
        normalized = self.normalize(raw_tables)
        samples = tumor_order(normalized, samples)
        if not samples:
            raise EncodingError("no tumor to encode: every input table is empty")
        source = assemble_modalities(normalized, samples)
        latent = self.extractor.transform(source)
        return latent_anndata(samples, latent, obs.reindex(samples), source.presence, self.modality_names, uns=uns)
