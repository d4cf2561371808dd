import torch

from oncoae.models.likelihoods import masked_reconstruction_loss
from oncoae.models.networks import ArchitectureSpec, MultiModalAutoencoder


def _network(latent_dim=3):
    torch.manual_seed(0)
    spec = ArchitectureSpec(
        {"rna": (7, "continuous"), "mut": (5, "binary")}, hidden_sizes=[6], latent_dim=latent_dim, dropout=0.0
    )
    return MultiModalAutoencoder(spec).eval()


def test_shapes():
    network = _network()
    inputs = {"rna": torch.randn(4, 7), "mut": torch.randint(0, 2, (4, 5)).float()}
    latent, reconstructions = network(inputs, torch.ones(4, 2, dtype=torch.bool))
    assert latent.shape == (4, 3)
    assert reconstructions["rna"].shape == (4, 7) and reconstructions["mut"].shape == (4, 5)


def test_absent_modality_does_not_touch_the_latent():
    network = _network()
    presence = torch.tensor([[True, False]])
    rna = torch.randn(1, 7)
    first = network.encode({"rna": rna, "mut": torch.zeros(1, 5)}, presence)
    second = network.encode({"rna": rna, "mut": torch.ones(1, 5) * 100}, presence)
    assert torch.equal(first, second)
    # With one modality present the joint latent is that modality's code.
    assert torch.allclose(first, network.encoders["rna"](rna))


def test_loss_counts_only_present_modalities():
    kinds = {"rna": "continuous", "mut": "binary"}
    targets = {"rna": torch.zeros(2, 3), "mut": torch.zeros(2, 2)}
    reconstructions = {"rna": torch.ones(2, 3), "mut": torch.full((2, 2), 1000.0)}
    presence = torch.tensor([[True, False], [True, False]])
    terms = masked_reconstruction_loss(kinds, reconstructions, targets, presence)
    assert terms.total.item() == 1.0  # MSE of ones vs zeros; the huge mutation logits never count
    assert set(terms.per_modality) == {"rna"}


def test_losses_are_per_feature_means_so_width_does_not_dominate():
    kinds = {"wide": "continuous", "narrow": "continuous"}
    targets = {"wide": torch.zeros(1, 2000), "narrow": torch.zeros(1, 20)}
    reconstructions = {"wide": torch.ones(1, 2000), "narrow": torch.ones(1, 20)}
    terms = masked_reconstruction_loss(kinds, reconstructions, targets, torch.ones(1, 2, dtype=torch.bool))
    assert terms.per_modality["wide"].item() == terms.per_modality["narrow"].item() == 1.0
