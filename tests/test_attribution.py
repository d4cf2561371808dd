"""Feature attributions: exact on linear encoders, complete on nonlinear ones, batch-independent, and the workflow's
attribution tables (with their validation against the simulator's ground truth)."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import torch

from oncoae.data.simulate import ModalitySimulation, SimulationSettings, simulate_cohort
from oncoae.evaluation.attribution import (
    attribute,
    attribution_sums,
    auroc,
    cluster_directions,
    cluster_scores,
    encoder_function,
    head_coefficients,
    mean_differences,
    precision_at_k,
)
from oncoae.models.networks import ArchitectureSpec, MultiModalAutoencoder

from .conftest import TINY_CONFIG, run_snakemake, write_config


def _network(hidden, activation="tanh", cox=False, modalities=None, seed=0) -> MultiModalAutoencoder:
    torch.manual_seed(seed)
    spec = ArchitectureSpec(
        modalities=modalities or {"a": (7, "continuous"), "b": (5, "continuous")},
        hidden_sizes=hidden,
        latent_dim=3,
        activation=activation,
        dropout=0.0,
        cox_head=cox,
    )
    return MultiModalAutoencoder(spec).eval()


def _data(network, n=9, seed=1):
    rng = np.random.default_rng(seed)
    values = {
        name: rng.normal(size=(n, size)).astype(np.float32) for name, (size, _) in network.spec.modalities.items()
    }
    presence = np.ones((n, len(values)), bool)
    if len(values) > 1:
        presence[0, 1] = False  # one tumor lacks modality b: its zeros are placeholders, not data
        values["b"][0] = 0.0
    baseline = {name: rng.normal(scale=0.3, size=v.shape[1]).astype(np.float32) for name, v in values.items()}
    return values, presence, baseline


def _attributions(network, values, presence, baseline, method="integrated_gradients", n_steps=64):
    mask = torch.as_tensor(presence)
    inputs = {name: torch.as_tensor(v) for name, v in values.items()}
    base = {
        name: torch.where(mask[:, [i]], torch.as_tensor(baseline[name]), inputs[name])
        for i, name in enumerate(network.modality_names)
    }
    return attribute(encoder_function(network, mask), inputs, base, method, n_steps), inputs, base, mask


@pytest.mark.parametrize("method", ["integrated_gradients", "gradient_x_input"])
def test_attributions_of_a_linear_encoder_are_input_minus_baseline_times_weights(method):
    network = _network(hidden=[], modalities={"a": (7, "continuous")})  # the encoder is one nn.Linear
    values, presence, baseline = _data(network)
    result, *_ = _attributions(network, values, presence, baseline, method, n_steps=5)
    weight = network.encoders["a"][0].weight.detach().numpy()  # D x F
    expected = (values["a"] - baseline["a"])[:, :, None] * weight.T[None]
    np.testing.assert_allclose(result["a"].numpy(), expected, atol=1e-5)


def test_integrated_gradients_are_complete_for_a_nonlinear_encoder_and_zero_on_absent_modalities():
    network = _network(hidden=[16, 8])
    values, presence, baseline = _data(network)
    result, inputs, base, mask = _attributions(network, values, presence, baseline)
    with torch.no_grad():
        change = (network.encode(inputs, mask) - network.encode(base, mask)).numpy()
    total = sum(result[name].sum(1).numpy() for name in result)  # tumors x D
    assert np.abs(change).max() > 0.1  # the check is not trivially about zeros
    np.testing.assert_allclose(total, change, atol=2e-3 * np.abs(change).max())
    assert np.all(result["b"][0].numpy() == 0.0)
    # The one-point Jacobian version is not complete on this network.
    jacobian, *_ = _attributions(network, values, presence, baseline, "gradient_x_input")
    assert np.abs(sum(jacobian[n].sum(1).numpy() for n in jacobian) - change).max() > 10 * np.abs(total - change).max()


def test_batched_attribution_sums_equal_unbatched_ones():
    network = _network(hidden=[16], cox=True)
    values, presence, baseline = _data(network, n=11)
    clusters = np.array([0, 1, 2] * 3 + [0, 1])
    features = {name: [f"{name}{j}" for j in range(v.shape[1])] for name, v in values.items()}
    whole = attribution_sums(network, values, presence, baseline, clusters, 3, features, memory_mb=1024)
    # A budget this small gives one tumor per batch and one interpolation point per pass.
    tiny = attribution_sums(network, values, presence, baseline, clusters, 3, features, memory_mb=1e-4)
    for field in ("signed", "absolute", "by_cluster", "values_by_cluster", "present_by_cluster"):
        np.testing.assert_allclose(getattr(tiny, field), getattr(whole, field), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(tiny.head_absolute["risk"], whole.head_absolute["risk"], rtol=1e-4, atol=1e-6)
    assert list(whole.features["feature"][:2]) == ["a0", "a1"] and len(whole.features) == 12


def test_risk_attributions_add_up_to_the_cox_heads_change_in_risk():
    network = _network(hidden=[16], cox=True)
    norm = network.cox_head[0]
    norm.running_mean.copy_(torch.tensor([0.3, -0.2, 0.1]))
    norm.running_var.copy_(torch.tensor([0.5, 2.0, 1.5]))
    values, presence, baseline = _data(network)
    result, inputs, base, mask = _attributions(network, values, presence, baseline)
    coefficients = head_coefficients(network)["risk"]
    risk_attributions = np.concatenate([result[name].double().numpy() @ coefficients for name in result], axis=1)
    with torch.no_grad():
        change = (network(inputs, mask).risk - network(base, mask).risk).numpy()
    np.testing.assert_allclose(risk_attributions.sum(1), change, atol=2e-3 * np.abs(change).max())


def test_class_logit_attributions_add_up_to_the_change_in_each_logit():
    torch.manual_seed(3)
    spec = ArchitectureSpec(
        modalities={"a": (6, "continuous")},
        hidden_sizes=[8],
        latent_dim=3,
        activation="tanh",
        dropout=0.0,
        class_names=["x", "y"],
    )
    network = MultiModalAutoencoder(spec).eval()
    values, presence, baseline = _data(network)
    result, inputs, base, mask = _attributions(network, values, presence, baseline)
    with torch.no_grad():
        change = (network(inputs, mask).class_logits - network(base, mask).class_logits).numpy()
    heads = head_coefficients(network)
    assert list(heads) == ["class:x", "class:y"]
    for index, name in enumerate(["class:x", "class:y"]):
        total = (result["a"].double().numpy() @ heads[name]).sum(1)
        np.testing.assert_allclose(total, change[:, index], atol=2e-3 * np.abs(change).max())


def test_cluster_scores_add_up_to_the_clusters_separation_along_its_direction():
    network = _network(hidden=[16])
    values, presence, baseline = _data(network, n=30, seed=4)
    clusters = np.arange(30) % 3
    features = {name: [f"{name}{j}" for j in range(v.shape[1])] for name, v in values.items()}
    sums = attribution_sums(network, values, presence, baseline, clusters, 3, features, n_steps=64)
    _, inputs, base, mask = _attributions(network, values, presence, baseline, n_steps=1)
    with torch.no_grad():
        latent = network.encode(inputs, mask).double().numpy()
        # Each tumor's baseline keeps its absent modalities absent, so its baseline latent is its own.
        change = latent - network.encode(base, mask).double().numpy()
    centroids = np.stack([latent[clusters == c].mean(0) for c in range(3)])
    directions = cluster_directions(centroids)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0)
    scores = cluster_scores(sums, centroids)
    for c in range(3):
        separation = (change[clusters == c].mean(0) - change[clusters != c].mean(0)) @ directions[c]
        assert separation > 0
        assert scores[c].sum() == pytest.approx(separation, rel=2e-3)
    # Mean differences: a feature's mean in the cluster minus the rest, over the tumors that have its modality.
    b_values = pd.Series(values["b"][:, 2]).where(presence[:, 1])
    expected = b_values[clusters == 1].mean() - b_values[clusters != 1].mean()
    assert mean_differences(sums)[1, 7 + 2] == pytest.approx(expected, rel=1e-5)


def test_precision_at_k_and_auroc_on_a_known_ranking():
    truth = np.array([True, False, True, False, False])
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    assert precision_at_k(scores, truth, 2) == 0.5
    assert precision_at_k(scores, truth, 3) == pytest.approx(2 / 3)
    assert auroc(scores, truth) == pytest.approx(5 / 6)  # 5 of the 6 (true, false) pairs are ordered right


def test_simulator_marks_its_subtype_signal_and_risk_program_features():
    settings = SimulationSettings(
        n_tumors=300,
        seed=2,
        modalities={
            "expression": ModalitySimulation(200, 0.1, 1.5, 0.06),
            "mutation": ModalitySimulation(80, 0.05, 2.0, 0.0),
        },
    )
    cohort = simulate_cohort(settings)
    expression = cohort.modalities["expression"]
    assert expression.var["subtype_signal"].sum() == 20 and expression.var["risk_program"].sum() == 4
    assert 0 < cohort.modalities["mutation"].var["subtype_signal"].sum() <= 4 * 4
    assert cohort.modalities["mutation"].var["risk_program"].sum() == 0
    # The marked features are the ones whose log-expression differs between subtypes.
    log_values = pd.DataFrame(np.log1p(expression.X), index=expression.obs_names)
    subtype = cohort.clinical["subtype"].reindex(expression.obs_names)
    between = log_values.groupby(subtype.to_numpy()).mean().var(axis=0).to_numpy()
    assert auroc(between, expression.var["subtype_signal"].to_numpy()) > 0.95


@pytest.mark.workflow  # the tiny workflow run
def test_workflow_writes_attribution_tables_validated_on_ground_truth(tiny_run):
    out = tiny_run / "results" / "tiny"
    latent_dim, n_clusters = TINY_CONFIG["architecture"]["latent_dim"], TINY_CONFIG["clustering"]["k"]
    for model in ("ae_expression", "ae_methylation", "ae_mutation", "ae_multimodal", "ae_vae_cox"):
        folder = out / "attribution" / model
        dimensions = pd.read_csv(folder / "dimensions.tsv", sep="\t")
        assert set(dimensions["seed"]) == set(TINY_CONFIG["seeds"])
        assert [c for c in dimensions.columns if c.startswith("dim_")] == [f"dim_{d + 1}" for d in range(latent_dim)]
        assert (dimensions.filter(like="dim_") >= 0).all().all() and dimensions.filter(like="dim_").sum().min() > 0
        clusters = pd.read_csv(folder / "clusters.tsv", sep="\t")
        assert set(clusters["cluster"]) == set(range(n_clusters))
        assert (clusters.groupby(["seed", "cluster"])["score"].apply(lambda s: s.is_monotonic_decreasing)).all()
        assert clusters["mean_difference"].notna().all()
        heads = pd.read_csv(folder / "heads.tsv", sep="\t")
        assert set(heads["head"]) == ({"risk"} if model == "ae_vae_cox" else set())
        image = mpimg.imread(folder / "top_features.png")
        assert image.shape[0] > 100 and image.std() > 0.01
    # Features of the multimodal model: exactly the normalized ones of its modalities, per seed.
    dimensions = pd.read_csv(out / "attribution" / "ae_multimodal" / "dimensions.tsv", sep="\t")
    assert set(dimensions["modality"]) == {"expression", "methylation", "mutation"}
    assert len(dimensions) == len(TINY_CONFIG["seeds"]) * len(dimensions.drop_duplicates(["modality", "feature"]))
    validation = pd.read_csv(out / "attribution" / "ae_multimodal" / "validation.tsv", sep="\t")
    overall = validation[(validation["modality"] == "all") & (validation["target"] == "subtype_signal")]
    assert set(overall["method"]) == {"integrated_gradients", "gradient_x_input", "rank_genes_groups", "pca_loadings"}
    ig = overall[overall["method"] == "integrated_gradients"]
    # Measured on the tiny cohort: AUROC ~0.89, precision@50 ~0.88 (chance: 63 of 214 features, 0.29).
    assert (ig["auroc"] > 0.75).all() and (ig["precision_at_k"] > 0.6).all()
    risk = pd.read_csv(out / "attribution" / "ae_vae_cox" / "validation.tsv", sep="\t")
    assert set(risk["target"]) == {"subtype_signal", "risk_program"}


@pytest.mark.workflow  # a snakemake dry run
def test_a_misspelt_attributed_model_stops_the_run_with_a_suggestion(tmp_path):
    config = {**TINY_CONFIG, "attribution": {"models": ["ae_multimodl"]}}
    result = run_snakemake(tmp_path, write_config(tmp_path, config), "--dry-run", check=False, timeout=120)
    assert result.returncode != 0
    assert "attribution.models: 'ae_multimodl' is not an autoencoder of this run; did you mean 'ae_multimodal'?" in (
        result.stderr
    )


def test_the_heatmap_leaves_out_clusters_without_held_out_tumors():
    import pandas as pd

    from oncoae.report.attribution_figures import cluster_heatmap_data

    rows = [
        {"seed": 0, "cluster": 0, "rank": 1, "modality": "rna", "feature": "G9", "score": 2.0, "n_in_cluster": 7},
        {"seed": 0, "cluster": 1, "rank": 1, "modality": "rna", "feature": "A1CF", "score": 0.0, "n_in_cluster": 0},
    ]
    data = cluster_heatmap_data(pd.DataFrame(rows), n_top=5)
    assert list(data.columns) == [0] and len(data) == 1 and "A1CF" not in " ".join(map(str, data.index))


def test_attributed_models_follow_the_attribution_section():
    from oncoae.workflow import attributed_models

    autoencoders = ["ae_expression", "ae_multimodal", "ae_vae"]
    assert attributed_models({"enabled": True, "models": None}, autoencoders) == autoencoders
    assert attributed_models({"enabled": True, "models": ["ae_vae", "ae_expression"]}, autoencoders) == [
        "ae_expression",
        "ae_vae",
    ]
    assert attributed_models({"enabled": False, "models": None}, autoencoders) == []
    with pytest.raises(ValueError, match=r"'ae_vea' is not an autoencoder of this run; did you mean 'ae_vae'\?"):
        attributed_models({"enabled": False, "models": ["ae_vea"]}, autoencoders)
