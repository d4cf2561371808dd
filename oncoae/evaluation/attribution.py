"""Which input features drive a latent dimension, a cluster and a supervised head: attributions on held-out tumors.

The method is integrated gradients (IG) from a training-mean baseline, written with torch autograd: for a tumor x,
baseline b (each feature's mean over training tumors, in normalized units) and an output f,

    IG_j(x) = (x_j - b_j) * mean over alpha in (0, 1) of df/dx_j (b + alpha (x - b)),

with the midpoint rule over ``n_steps`` values of alpha. IG is exact for a linear map ((x - b) * w) and complete:
the attributions of one tumor sum to f(x) - f(b). ``gradient_x_input`` is the one-point version (the encoder
Jacobian at the tumor times x - b): ``n_steps`` times cheaper, exact for linear encoders but not complete for
nonlinear ones. Which one the workflow uses is ``attribution.method``. Measured on the demo's ground truth
(benchmarks/results/FINDINGS.md, "Feature attributions"), both find the subtype-signal and risk-program features
equally well (precision@50 and AUROC within a seed sd); IG is the default because it is complete, so a cluster's
feature scores add up to its separation in the latent, at 0.6 s against 0.3 s per model and seed.

Everything is attributed through the latent: the clusters' directions, the Cox risk score (a linear map of the
batch-normalized latent, running statistics in eval mode) and the class logits are linear in the latent, so their
attributions are the same linear maps of the per-dimension attributions (IG is linear in the output). One pass of
per-dimension attributions per batch of tumors therefore serves every table.

A tumor lacking a modality keeps that modality absent (its presence bit off, its zeros fixed, never interpolated):
its attributions there are zero, and completeness holds with the baseline that has the same modalities absent.

Memory: tumors go in batches sized so the batch's tumors x features x dimensions attributions stay within
``memory_mb`` (and the interpolation steps in chunks within the same budget); only sums over tumors are kept.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from oncoae.models.networks import MultiModalAutoencoder

METHODS = ("integrated_gradients", "gradient_x_input")


def _alphas(method: str, n_steps: int) -> np.ndarray:
    if method == "integrated_gradients":
        return (np.arange(n_steps) + 0.5) / n_steps  # midpoint rule
    if method == "gradient_x_input":
        return np.ones(1)
    raise ValueError(f"unknown attribution method {method!r}; expected one of {METHODS}")


def attribute(
    function: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    inputs: Mapping[str, torch.Tensor],
    baseline: Mapping[str, torch.Tensor],
    method: str = "integrated_gradients",
    n_steps: int = 16,
    step_chunk: int | None = None,
) -> dict[str, torch.Tensor]:
    """Attributions of every output of ``function`` to every input feature, per tumor.

    ``function`` maps inputs (modality -> batch x features) to outputs (batch x D); tumors must not interact
    (eval mode). ``inputs`` are the tumors (batch x features), ``baseline`` broadcastable to them. Returns
    modality -> batch x features x D. ``step_chunk`` interpolation points go through the network at once.
    """
    alphas = _alphas(method, n_steps)
    step_chunk = step_chunk or len(alphas)
    names = list(inputs)
    delta = {name: inputs[name] - baseline[name] for name in names}
    batch = next(iter(inputs.values())).shape[0]
    total: dict[str, torch.Tensor] | None = None
    for start in range(0, len(alphas), step_chunk):
        chunk = torch.as_tensor(alphas[start : start + step_chunk], dtype=torch.float32)
        n = len(chunk)
        # The chunk's interpolation points stacked along the batch: alpha-major, tumor-minor.
        points = {
            name: (baseline[name] + chunk.view(n, 1, 1) * delta[name].unsqueeze(0)).reshape(n * batch, -1)
            for name in names
        }
        for tensor in points.values():
            tensor.requires_grad_(True)
        outputs = function(points)
        n_outputs = outputs.shape[1]
        gradients = {name: [] for name in names}
        for d in range(n_outputs):
            grads = torch.autograd.grad(
                outputs[:, d].sum(), [points[n_] for n_ in names], retain_graph=d < n_outputs - 1
            )
            for name, grad in zip(names, grads, strict=True):
                gradients[name].append(grad.view(n, batch, -1).sum(0))
        summed = {name: torch.stack(gradients[name], dim=-1) for name in names}
        total = summed if total is None else {name: total[name] + summed[name] for name in names}
    return {name: total[name] / len(alphas) * delta[name].unsqueeze(-1) for name in names}


def encoder_function(network: MultiModalAutoencoder, presence: torch.Tensor):
    """The encoder (posterior mean for a VAE) as a function of its inputs, ``presence`` fixed: inputs hold
    interpolation points of the same tumors stacked alpha-major (a multiple of ``presence``'s rows)."""

    def function(points: dict[str, torch.Tensor]) -> torch.Tensor:
        repeats = next(iter(points.values())).shape[0] // len(presence)
        return network.encode(points, presence.repeat(repeats, 1))

    return function


def head_coefficients(network: MultiModalAutoencoder) -> dict[str, np.ndarray]:
    """The supervised heads as linear maps of the latent (eval mode): ``risk`` (D,) for the Cox head
    (w / sqrt(running_var + eps)), ``class:<name>`` (D,) per class logit. The constants drop out of attributions."""
    heads = {}
    if network.cox_head is not None:
        norm, linear = network.cox_head[0], network.cox_head[1]
        scale = torch.sqrt(norm.running_var + norm.eps)
        heads["risk"] = (linear.weight[0] / scale).detach().numpy().astype(np.float64)
    if network.classifier is not None:
        for index, name in enumerate(network.spec.class_names):
            heads[f"class:{name}"] = network.classifier.weight[index].detach().numpy().astype(np.float64)
    return heads


@dataclass
class AttributionSums:
    """Sums over held-out tumors of per-dimension attributions (features concatenated over modalities):
    ``signed`` and ``absolute`` (F x D), ``by_cluster`` (K x F x D), ``head_absolute`` / ``head_signed``
    (head -> F), with tumor counts."""

    features: pd.DataFrame  # modality, feature
    signed: np.ndarray
    absolute: np.ndarray
    by_cluster: np.ndarray
    cluster_sizes: np.ndarray
    values_by_cluster: np.ndarray  # K x F sums of the inputs minus baseline (zero where a modality is absent)
    present_by_cluster: np.ndarray  # K x F counts of tumors that have the feature's modality
    head_absolute: dict[str, np.ndarray]
    head_signed: dict[str, np.ndarray]
    n_tumors: int


def batch_size_for(n_features: int, latent_dim: int, memory_mb: float) -> int:
    """Tumors per batch so that the batch's attributions (tumors x features x dims, float32) and the copies made
    of them (gradient sums, the attributions per modality and concatenated, their absolute values, the heads'
    projections: six in all) stay within ``memory_mb``."""
    per_tumor = n_features * latent_dim * 4 * 6
    return max(1, int(memory_mb * 2**20 // max(per_tumor, 1)))


def step_chunk_for(batch: int, n_features: int, n_hidden: int, memory_mb: float) -> int:
    """Interpolation points per forward pass so the stacked inputs, their gradients and the activations stay
    within ``memory_mb``."""
    per_point = batch * (3 * n_features + 4 * n_hidden) * 4
    return max(1, int(memory_mb * 2**20 // max(per_point, 1)))


def attribution_sums(
    network: MultiModalAutoencoder,
    values: Mapping[str, np.ndarray],
    presence: np.ndarray,
    baseline: Mapping[str, np.ndarray],
    clusters: np.ndarray,
    n_clusters: int,
    feature_names: Mapping[str, Sequence[str]],
    method: str = "integrated_gradients",
    n_steps: int = 16,
    memory_mb: float = 64.0,
) -> AttributionSums:
    """Per-dimension attributions of held-out tumors, summed over tumors, by cluster and through the heads.

    ``values``: modality -> tumors x features (normalized, dense float32, zeros where absent); ``presence``
    tumors x modalities (network order); ``baseline``: modality -> features; ``clusters``: tumors (0..K-1).
    """
    network = network.eval()
    for parameter in network.parameters():
        parameter.requires_grad_(False)  # input gradients only: no weight gradients are computed
    names = network.modality_names
    n_features = sum(values[name].shape[1] for name in names)
    latent_dim = network.spec.latent_dim
    n_hidden = sum(network.spec.hidden_sizes) * len(names) + latent_dim * 2
    heads = head_coefficients(network)
    batch = batch_size_for(n_features, latent_dim, memory_mb / 2)
    n_points = len(_alphas(method, n_steps))
    chunk = min(n_points, step_chunk_for(min(batch, len(presence)), n_features, n_hidden, memory_mb / 2))
    signed = np.zeros((n_features, latent_dim))
    absolute = np.zeros((n_features, latent_dim))
    by_cluster = np.zeros((n_clusters, n_features, latent_dim))
    values_by_cluster = np.zeros((n_clusters, n_features))
    present_by_cluster = np.zeros((n_clusters, n_features))
    head_absolute = {head: np.zeros(n_features) for head in heads}
    head_signed = {head: np.zeros(n_features) for head in heads}
    base = {name: torch.as_tensor(np.asarray(baseline[name], np.float32)).unsqueeze(0) for name in names}
    for start in range(0, len(presence), batch):
        rows = slice(start, start + batch)
        mask = torch.as_tensor(presence[rows])
        inputs = {name: torch.as_tensor(np.ascontiguousarray(values[name][rows], np.float32)) for name in names}
        # Absent modalities stay absent: their baseline is the tumor's own placeholder zeros.
        batch_base = {name: torch.where(mask[:, [i]], base[name], inputs[name]) for i, name in enumerate(names)}
        function = encoder_function(network, mask)
        result = attribute(function, inputs, batch_base, method, n_steps, chunk)
        block = torch.cat([result[name] for name in names], dim=1).numpy()  # B x F x D, float32
        del result
        signed += block.sum(0)
        absolute += np.abs(block).sum(0)
        labels = clusters[rows]
        delta = np.concatenate([(inputs[name] - batch_base[name]).numpy() for name in names], axis=1)
        present = np.concatenate(
            [np.repeat(presence[rows][:, [i]], values[name].shape[1], axis=1) for i, name in enumerate(names)], axis=1
        )
        for k in np.unique(labels):
            by_cluster[k] += block[labels == k].sum(0)
            values_by_cluster[k] += delta[labels == k].sum(0)
            present_by_cluster[k] += present[labels == k].sum(0)
        for head, coefficients in heads.items():
            projected = block @ coefficients.astype(np.float32)  # B x F
            head_absolute[head] += np.abs(projected).sum(0)
            head_signed[head] += projected.sum(0)
    features = pd.DataFrame(
        {
            "modality": np.concatenate([[name] * values[name].shape[1] for name in names]),
            "feature": np.concatenate([np.asarray(feature_names[name], dtype=object) for name in names]),
        }
    )
    return AttributionSums(
        features=features,
        signed=signed,
        absolute=absolute,
        by_cluster=by_cluster,
        cluster_sizes=np.bincount(clusters, minlength=n_clusters),
        values_by_cluster=values_by_cluster,
        present_by_cluster=present_by_cluster,
        head_absolute=head_absolute,
        head_signed=head_signed,
        n_tumors=len(presence),
    )


def cluster_directions(centroids: np.ndarray) -> np.ndarray:
    """Unit vectors (K x D) from the mean of the other centroids to each centroid: the direction along which a
    cluster's tumors differ from the rest in the latent."""
    k = len(centroids)
    total = centroids.sum(0)
    directions = np.stack([centroids[c] - (total - centroids[c]) / max(k - 1, 1) for c in range(k)])
    norms = np.linalg.norm(directions, axis=1, keepdims=True)
    return directions / np.where(norms > 0, norms, 1.0)


def cluster_scores(sums: AttributionSums, centroids: np.ndarray) -> np.ndarray:
    """K x F: for each cluster, the mean attribution along its centroid direction in its tumors minus that in
    the other tumors (latent units). Positive: the feature moves the cluster's tumors towards their centroid."""
    directions = cluster_directions(centroids)
    total = sums.by_cluster.sum(0)
    scores = np.zeros((len(centroids), len(sums.features)))
    for c, direction in enumerate(directions):
        n_in, n_out = sums.cluster_sizes[c], sums.n_tumors - sums.cluster_sizes[c]
        if n_in == 0 or n_out == 0:
            continue
        scores[c] = sums.by_cluster[c] @ direction / n_in - (total - sums.by_cluster[c]) @ direction / n_out
    return scores


def dimension_table(sums: AttributionSums, seed: int) -> pd.DataFrame:
    """Every feature's mean |attribution| to each latent dimension over held-out tumors (wide: dim_1..dim_D)."""
    table = sums.features.copy()
    mean_abs = sums.absolute / max(sums.n_tumors, 1)
    for d in range(mean_abs.shape[1]):
        table[f"dim_{d + 1}"] = mean_abs[:, d]
    table.insert(0, "seed", seed)
    return table


def top_rows(scores: np.ndarray, features: pd.DataFrame, n_top: int, **columns) -> pd.DataFrame:
    order = np.argsort(-scores, kind="stable")[:n_top]
    table = features.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(order) + 1))
    table["score"] = scores[order]
    for name, value in reversed(columns.items()):
        table.insert(0, name, value)
    return table


def mean_differences(sums: AttributionSums) -> np.ndarray:
    """K x F: each feature's mean normalized value in the cluster's tumors minus that in the other tumors (tumors
    that have the feature's modality), for the direction of a driver (e.g. a protein low in the cluster)."""
    values, counts = sums.values_by_cluster, sums.present_by_cluster
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = values / counts
        outside = (values.sum(0) - values) / (counts.sum(0) - counts)
    return inside - outside


def cluster_table(sums: AttributionSums, centroids: np.ndarray, seed: int, n_top: int) -> pd.DataFrame:
    """Top ``n_top`` features per cluster by ``cluster_scores`` (descending), with the feature's mean difference
    (cluster minus rest, normalized units) and the cluster's size."""
    scores, differences = cluster_scores(sums, centroids), mean_differences(sums)
    tables = []
    for c in range(len(centroids)):
        table = top_rows(scores[c], sums.features, n_top, seed=seed, cluster=c)
        table["mean_difference"] = differences[c][np.argsort(-scores[c], kind="stable")[:n_top]]
        tables.append(table.assign(n_in_cluster=int(sums.cluster_sizes[c])))
    return pd.concat(tables, ignore_index=True)


def head_table(sums: AttributionSums, seed: int, n_top: int) -> pd.DataFrame:
    """Top ``n_top`` features per head (risk, class:<name>) by mean |attribution| over held-out tumors, with the
    signed mean (positive: on average the feature raises the score above the baseline tumor's)."""
    tables = []
    for head in sums.head_absolute:
        mean_abs = sums.head_absolute[head] / max(sums.n_tumors, 1)
        table = top_rows(mean_abs, sums.features, n_top, seed=seed, head=head)
        order = np.argsort(-mean_abs, kind="stable")[:n_top]
        table["mean_signed"] = sums.head_signed[head][order] / max(sums.n_tumors, 1)
        tables.append(table)
    columns = ["seed", "head", "rank", "modality", "feature", "score", "mean_signed"]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)


# Validation against the simulator's ground truth ------------------------------------------------------------


def precision_at_k(scores: np.ndarray, truth: np.ndarray, k: int) -> float:
    order = np.argsort(-scores, kind="stable")[: min(k, len(scores))]
    return float(np.asarray(truth)[order].mean()) if len(order) else float("nan")


def auroc(scores: np.ndarray, truth: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    truth = np.asarray(truth, dtype=bool)
    if truth.all() or not truth.any():
        return float("nan")
    return float(roc_auc_score(truth, scores))


def rank_genes_scores(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per feature: the largest |Wilcoxon z| of scanpy's rank_genes_groups over groups (each vs the rest)."""
    import anndata as ad
    import scanpy as sc

    sc.settings.verbosity = 0
    data = ad.AnnData(np.asarray(values, np.float32))
    data.var_names = [f"f{j}" for j in range(values.shape[1])]
    data.obs["group"] = pd.Categorical(np.asarray(groups).astype(str))
    sizes = data.obs["group"].value_counts()
    kept = [str(g) for g in sizes.index[sizes >= 2]]
    with warnings.catch_warnings():
        # log fold changes of z-scored values (negative means) are NaN; only the Wilcoxon scores are used
        warnings.simplefilter("ignore", RuntimeWarning)
        sc.tl.rank_genes_groups(
            data, "group", groups=kept, reference="rest", method="wilcoxon", n_genes=data.n_vars, use_raw=False
        )
    best = np.zeros(values.shape[1])
    for group in kept:
        table = sc.get.rank_genes_groups_df(data, group=group)
        position = data.var_names.get_indexer(table["names"])
        best[position] = np.maximum(best[position], np.abs(np.nan_to_num(table["scores"].to_numpy())))
    return best


def pca_loading_scores(train_values: np.ndarray, n_components: int, seed: int = 0) -> np.ndarray:
    """Per feature: the variance-weighted norm of its loadings on the top ``n_components`` principal components
    of the training tumors, sqrt(sum_k var_k * loading_kj^2)."""
    from sklearn.decomposition import PCA

    n_components = min(n_components, *train_values.shape)
    pca = PCA(n_components=n_components, random_state=seed).fit(train_values)
    return np.sqrt((pca.explained_variance_[:, None] * pca.components_**2).sum(0))


def validation_rows(
    scores: Mapping[str, np.ndarray], truth: np.ndarray, modalities: np.ndarray, k: int, **columns
) -> list[dict]:
    """precision@k and AUROC of each method's scores against ``truth``, over all features and per modality."""
    rows = []
    for scope in ["all", *dict.fromkeys(modalities)]:
        keep = np.ones(len(truth), bool) if scope == "all" else modalities == scope
        for method, values in scores.items():
            rows.append(
                {
                    **columns,
                    "method": method,
                    "modality": scope,
                    "n_features": int(keep.sum()),
                    "n_true": int(truth[keep].sum()),
                    "k": k,
                    # NaN where the scope holds no true feature (e.g. risk features of mutations: there are none)
                    "precision_at_k": precision_at_k(values[keep], truth[keep], k) if truth[keep].any() else np.nan,
                    "auroc": auroc(values[keep], truth[keep]),
                }
            )
    return rows


# One autoencoder over its seeds: what the workflow's attribute_features step runs -----------------------------


@dataclass
class AttributionSettings:
    """The ``attribution:`` config section (see config/schema.yaml)."""

    method: str = "integrated_gradients"
    n_steps: int = 16
    top_features: int = 50
    memory_mb: float = 64.0
    validation_k: int = 50

    @classmethod
    def from_config(cls, section: Mapping) -> AttributionSettings:
        return cls(**{key: section[key] for key in cls.__dataclass_fields__ if key in section})


@dataclass
class AttributionTables:
    dimensions: pd.DataFrame
    clusters: pd.DataFrame
    heads: pd.DataFrame
    validation: pd.DataFrame | None


def _modality_matrix(adata, samples: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(tumors x features dense float32 with zeros where absent, presence) of ``samples``."""
    from oncoae.data.modality import dense_rows

    position = pd.Index(adata.obs_names).get_indexer(list(samples))
    present = position >= 0
    matrix = np.zeros((len(samples), adata.n_vars), np.float32)
    if present.any():
        matrix[present] = dense_rows(adata.X, position[present])
    return matrix, present


def ground_truth_columns(var: pd.DataFrame) -> list[str]:
    """The simulator's ground-truth feature sets present in a raw modality's var (bool columns)."""
    return [column for column in ("subtype_signal", "risk_program") if column in var.columns]


def attribute_autoencoder(
    model: str,
    networks: Mapping[int, MultiModalAutoencoder],
    normalized: Mapping,
    split: pd.Series,
    clusters: pd.DataFrame,
    centroids: Mapping[int, np.ndarray],
    settings: AttributionSettings,
    truth: Mapping[str, pd.DataFrame] | None = None,
    log=None,
) -> AttributionTables:
    """Attribution tables of one autoencoder for each seed, on held-out (test) tumors.

    ``normalized``: modality -> normalized AnnData of every tumor (the workflow's ``normalized/<m>.h5ad``);
    ``split``: split by sample; ``clusters``: the run's ``clusters/autoencoders.tsv`` rows of this model;
    ``centroids``: seed -> K x D; ``truth``: modality -> var table with ``subtype_signal`` / ``risk_program``
    (the simulator's ground truth), which adds the validation table.
    """
    dimensions, cluster_tables, head_tables, validation = [], [], [], []
    for seed, network in networks.items():
        names = network.modality_names
        assigned = clusters[(clusters["seed"] == seed) & (clusters["split"] == "test")].set_index("sample")["cluster"]
        test = sorted(assigned.index)
        train = sorted(split.index[split == "train"])
        values, presence, baseline, train_values = {}, [], {}, {}
        for name in names:
            matrix, present = _modality_matrix(normalized[name], test)
            values[name] = matrix
            presence.append(present)
            train_matrix, train_present = _modality_matrix(normalized[name], train)
            baseline[name] = train_matrix[train_present].mean(0)
            if truth:  # the PCA comparator's input: absent modalities as the training mean, as PCA encodes them
                train_values[name] = np.where(train_present[:, None], train_matrix, baseline[name])
            del train_matrix
            expected = network.spec.modalities[name][0]
            if matrix.shape[1] != expected:
                raise ValueError(
                    f"{model} seed {seed}: modality {name!r} has {matrix.shape[1]} normalized features, "
                    f"the network {expected}"
                )
        presence = np.stack(presence, axis=1)
        keep = presence.any(axis=1)
        values = {name: matrix[keep] for name, matrix in values.items()}
        presence, labels = presence[keep], assigned.reindex(np.asarray(test)[keep]).to_numpy(int)
        seed_centroids = np.asarray(centroids[seed])
        features = {name: list(normalized[name].var_names) for name in names}

        args = (network, values, presence, baseline, labels, len(seed_centroids), features)
        options = (settings.n_steps, settings.memory_mb)
        sums = attribution_sums(*args, settings.method, *options)
        dimensions.append(dimension_table(sums, seed))
        cluster_tables.append(cluster_table(sums, seed_centroids, seed, settings.top_features))
        head_tables.append(head_table(sums, seed, settings.top_features))
        if log is not None:
            log.info(
                "%s seed %d: attributed %d held-out tumors x %d features (%s)",
                model,
                seed,
                len(presence),
                len(sums.features),
                settings.method,
            )
        if truth:
            other = [m for m in METHODS if m != settings.method][0]
            by_method = {settings.method: sums, other: attribution_sums(*args, other, *options)}
            validation += _validate(
                model, seed, by_method, seed_centroids, values, presence, labels, train_values, network, truth, settings
            )
    return AttributionTables(
        dimensions=pd.concat(dimensions, ignore_index=True),
        clusters=pd.concat(cluster_tables, ignore_index=True),
        heads=pd.concat(head_tables, ignore_index=True),
        validation=pd.DataFrame(validation, columns=VALIDATION_COLUMNS) if truth else None,
    )


def _validate(model, seed, by_method, centroids, values, presence, labels, train_values, network, truth, settings):
    """Ground-truth rows of one model and seed: subtype-signal features against the clusters' attributions,
    risk-program features against the risk head's, each against scanpy's rank_genes_groups and PCA loadings."""
    names = network.modality_names
    sums = next(iter(by_method.values()))
    modality = sums.features["modality"].to_numpy()
    truth_of = {
        column: np.concatenate(
            [
                truth[name].reindex(sums.features["feature"][modality == name])[column].fillna(False).to_numpy(bool)
                for name in names
            ]
        )
        for column in ("subtype_signal", "risk_program")
        if all(column in truth[name].columns for name in names)
    }
    test_values = np.concatenate([values[name] for name in names], axis=1)
    # Absent modalities as the training mean (the baseline) for the comparators, as PCA encodes them.
    baseline_row = np.concatenate([train_values[name].mean(0) for name in names])
    present_columns = np.concatenate(
        [np.repeat(presence[:, [i]], values[name].shape[1], axis=1) for i, name in enumerate(names)], axis=1
    )
    test_filled = np.where(present_columns, test_values, baseline_row)
    pca = pca_loading_scores(np.concatenate([train_values[name] for name in names], axis=1), network.spec.latent_dim)
    rows = []
    columns = dict(model=model, seed=seed)
    if "subtype_signal" in truth_of:
        scores = {method: np.abs(cluster_scores(s, centroids)).max(0) for method, s in by_method.items()}
        scores["rank_genes_groups"] = rank_genes_scores(test_filled, labels)
        scores["pca_loadings"] = pca
        rows += validation_rows(
            scores, truth_of["subtype_signal"], modality, settings.validation_k, target="subtype_signal", **columns
        )
    risk_heads = [s for s in by_method.values() if "risk" in s.head_absolute]
    if "risk_program" in truth_of and risk_heads:
        scores = {method: s.head_absolute["risk"] for method, s in by_method.items()}
        with torch.no_grad():
            inputs = {name: torch.as_tensor(values[name]) for name in names}
            latent = network.encode(inputs, torch.as_tensor(presence)).double().numpy()
        risk = latent @ head_coefficients(network)["risk"]
        scores["rank_genes_groups"] = rank_genes_scores(test_filled, (risk > np.median(risk)).astype(int))
        scores["pca_loadings"] = pca
        rows += validation_rows(
            scores, truth_of["risk_program"], modality, settings.validation_k, target="risk_program", **columns
        )
    return rows


VALIDATION_COLUMNS = [
    "model",
    "seed",
    "target",
    "method",
    "modality",
    "n_features",
    "n_true",
    "k",
    "precision_at_k",
    "auroc",
]


def write_attributions(tables: AttributionTables, folder, validate: bool) -> None:
    """``dimensions.tsv``, ``clusters.tsv``, ``heads.tsv`` (and ``validation.tsv`` when ``validate``) in ``folder``;
    a validation without ground truth (a run simulated before the simulator wrote it) is an empty table."""
    from pathlib import Path

    from oncoae.atomic import write_table

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_table(tables.dimensions, folder / "dimensions.tsv")
    write_table(tables.clusters, folder / "clusters.tsv")
    write_table(tables.heads, folder / "heads.tsv")
    if validate:
        validation = tables.validation if tables.validation is not None else pd.DataFrame()
        write_table(validation.reindex(columns=VALIDATION_COLUMNS), folder / "validation.tsv")
