"""A seeded multi-omics tumor cohort with known subtypes, for the demo and the tests.

The simulator writes four modality kinds that look like tumor data (expression, methylation betas, discrete copy
number, sparse somatic mutations) and a clinical table holding the ground truth. It is deliberately not easy:

* subtype signal sits in a small subset of each modality's features;
* every modality carries subtype-independent programs (purity, proliferation, batch) that dominate its variance;
* the modalities have very different feature counts, so a naive concatenation is dominated by the largest one;
* the mutation modality is weak on its own;
* a fraction of tumors lacks a whole modality.

Survival comes from subtype-dependent hazards times a subtype-independent risk program (think proliferation),
which a few features of each continuous modality express; censoring is uniform. A latent that keeps only the
subtypes therefore misses part of the survival signal, which is what a supervised Cox head can recover.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

MODALITY_KINDS = ("expression", "methylation", "copy_number", "mutation")


@dataclass
class ModalitySimulation:
    """How one modality is generated.

    ``signal_fraction`` of the features carry subtype means of size ``effect`` (in units of the noise sd);
    ``nuisance_strength`` scales the subtype-independent programs shared with the other modalities.
    """

    n_features: int
    signal_fraction: float
    effect: float
    nuisance_strength: float = 1.0
    noise: float = 1.0


@dataclass
class SimulationSettings:
    n_tumors: int = 800
    n_subtypes: int = 4
    seed: int = 7
    missing_fraction: float = 0.1
    n_nuisance_programs: int = 4
    median_survival_days: float = 1800.0
    censoring_max_days: float = 4000.0
    risk_log_hazard: float = 0.8
    risk_feature_fraction: float = 0.02
    risk_effect: float = 0.5
    modalities: dict[str, ModalitySimulation] = field(
        default_factory=lambda: {
            "expression": ModalitySimulation(2000, 0.1, 0.55, 0.06),
            "methylation": ModalitySimulation(1000, 0.1, 0.55, 0.06),
            "copy_number": ModalitySimulation(600, 0.15, 0.65, 0.06),
            "mutation": ModalitySimulation(300, 0.03, 1.0, 0.0),
        }
    )

    @classmethod
    def from_config(cls, section: dict) -> SimulationSettings:
        """Build settings from the ``simulation:`` config section (already validated by the schema)."""
        section = dict(section)
        modalities = {name: ModalitySimulation(**values) for name, values in section.pop("modalities", {}).items()}
        settings = cls(**section)
        if modalities:
            settings.modalities = modalities
        return settings


@dataclass
class SimulatedCohort:
    """Raw modalities (AnnData, tumors x features, float32; the mutation kind as a sparse CSR matrix) and the
    clinical table with the ground truth."""

    modalities: dict[str, ad.AnnData]
    clinical: pd.DataFrame

    def table(self, name: str) -> pd.DataFrame:
        """One modality as a dense tumors x features table (for writing text files and for tests)."""
        adata = self.modalities[name]
        values = adata.X.toarray() if sparse.issparse(adata.X) else adata.X
        return pd.DataFrame(values, index=pd.Index(adata.obs_names, name="sample"), columns=adata.var_names)


# Rows generated at a time: bounds the float64 temporaries of a pan-cancer-size modality (10,000 x 20,000) to a
# few hundred MB, and a demo-size cohort is one block.
ROW_BLOCK = 2048


def _row_blocks(n: int):
    return [slice(start, min(start + ROW_BLOCK, n)) for start in range(0, n, ROW_BLOCK)]


def _blockwise(latent: np.ndarray, function) -> np.ndarray:
    """float32 ``function(latent[rows], rows)`` for each block of rows."""
    out = np.empty(latent.shape, dtype=np.float32)
    for rows in _row_blocks(latent.shape[0]):
        out[rows] = function(latent[rows], rows)
    return out


def _subtype_proportions(n_subtypes: int) -> np.ndarray:
    # Unequal like real subtype frequencies (e.g. PAM50), but no subtype so rare that held-out sets miss it.
    weights = np.linspace(1.6, 1.0, n_subtypes)
    return weights / weights.sum()


def _latent_matrix(
    rng: np.random.Generator,
    subtypes: np.ndarray,
    n_subtypes: int,
    nuisance: np.ndarray,
    spec: ModalitySimulation,
    blind_pair: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Continuous latent values (samples x features): subtype means + nuisance programs + noise, and the indices
    of the features that carry subtype means (the ground truth of attributions).

    The two subtypes in ``blind_pair`` share their means in this modality, as real modalities each resolve only
    some subtype contrasts (copy number separates luminal A from B, say, but not every pair). That caps what one
    modality can reach on its own and makes integration worth something.
    """
    n, p = len(subtypes), spec.n_features
    n_signal = max(1, round(spec.signal_fraction * p))
    signal_features = rng.choice(p, size=n_signal, replace=False)
    subtype_means = np.zeros((n_subtypes, p))
    subtype_means[:, signal_features] = rng.normal(0.0, spec.effect, size=(n_subtypes, n_signal))
    if n_subtypes > 2:
        subtype_means[blind_pair[1]] = subtype_means[blind_pair[0]]
    # Every feature loads on the nuisance programs, so they dominate the top principal components.
    loadings = rng.normal(0.0, spec.nuisance_strength, size=(nuisance.shape[1], p))
    latent = np.empty((n, p))
    for rows in _row_blocks(n):
        # Noise drawn block by block is the same stream as one (n, p) draw, without its float64 temporaries.
        noise = rng.normal(0.0, spec.noise, size=(rows.stop - rows.start, p))
        latent[rows] = subtype_means[subtypes[rows]] + nuisance[rows] @ loadings + noise
    return latent, signal_features


def _expression(rng, latent: np.ndarray) -> np.ndarray:
    # Log-normal-like, TPM-scale: per-gene baseline abundance, multiplicative effects on the log scale.
    baseline = rng.normal(3.0, 1.5, size=latent.shape[1])
    return _blockwise(latent, lambda block, _rows: np.expm1(np.clip(baseline + 0.8 * block, 0.0, None)))


def _methylation(rng, latent: np.ndarray) -> np.ndarray:
    # Beta values in [0, 1]: a logistic link on M-value-like latents, with a bimodal baseline
    # (most CpGs are either mostly methylated or mostly unmethylated).
    baseline = np.where(rng.random(latent.shape[1]) < 0.5, -2.5, 2.5) + rng.normal(0, 0.5, latent.shape[1])
    return _blockwise(latent, lambda block, _rows: 1.0 / (1.0 + np.exp(-(baseline + 0.9 * block))))


def _copy_number(rng, latent: np.ndarray) -> np.ndarray:
    # Discrete GISTIC-like calls -2..2. Genes sit on contiguous segments (chromosome arms) that share a state,
    # which gives copy number its typical block correlation.
    n, p = latent.shape
    n_segments = max(1, p // 20)
    segment_of_gene = np.sort(rng.integers(0, n_segments, size=p))
    segment_latent = np.stack(
        [
            latent[:, segment_of_gene == s].mean(axis=1) if np.any(segment_of_gene == s) else np.zeros(n)
            for s in range(n_segments)
        ],
        axis=1,
    )

    def calls(block: np.ndarray, rows: slice) -> np.ndarray:
        gene_latent = 0.6 * segment_latent[rows][:, segment_of_gene] * np.sqrt(20) + 0.6 * block
        return np.rint(np.clip(gene_latent / 1.2, -2, 2))

    return _blockwise(latent, calls)


def _mutation(rng, subtypes: np.ndarray, n_subtypes: int, spec: ModalitySimulation):
    # Sparse 0/1: low background rates per gene, plus a few driver genes enriched in each subtype; the drivers
    # of any subtype come back as the modality's subtype-signal features.
    n, p = len(subtypes), spec.n_features
    background = np.clip(rng.lognormal(np.log(0.02), 0.7, size=p), 0.002, 0.15)
    rates = np.tile(background, (n_subtypes, 1))
    n_drivers = max(1, round(spec.signal_fraction * p))
    all_drivers = []
    for k in range(n_subtypes):
        drivers = rng.choice(p, size=n_drivers, replace=False)
        all_drivers.append(drivers)
        rates[k, drivers] = np.clip(background[drivers] + 0.15 * spec.effect, 0.0, 0.9)
    # A per-tumor mutation burden multiplies every rate (hypermutated tumors exist).
    burden = rng.lognormal(0.0, 0.5, size=n)[:, None]
    blocks = []
    for rows in _row_blocks(n):
        probabilities = np.clip(rates[subtypes[rows]] * burden[rows], 0.0, 0.95)
        blocks.append(sparse.csr_matrix(rng.random((rows.stop - rows.start, p)) < probabilities, dtype=np.float32))
    return sparse.vstack(blocks, format="csr"), np.unique(np.concatenate(all_drivers))


def _survival(rng, subtypes: np.ndarray, n_subtypes: int, risk: np.ndarray, settings: SimulationSettings):
    log_hazard_ratios = np.linspace(-0.6, 0.9, n_subtypes)
    rng.shuffle(log_hazard_ratios)
    base_rate = np.log(2) / settings.median_survival_days
    log_hazard = log_hazard_ratios[subtypes] + settings.risk_log_hazard * risk
    event_times = rng.exponential(1.0 / (base_rate * np.exp(log_hazard)))
    censoring_times = rng.uniform(200.0, settings.censoring_max_days, size=len(subtypes))
    observed = np.minimum(event_times, censoring_times)
    return np.ceil(observed).astype(int), (event_times <= censoring_times).astype(int)


def simulate_cohort(settings: SimulationSettings) -> SimulatedCohort:
    """Generate the cohort. The same settings always give the same bytes."""
    rng = np.random.default_rng(settings.seed)
    n, k = settings.n_tumors, settings.n_subtypes
    samples = np.array([f"SIM-{i:05d}" for i in range(n)])
    subtypes = rng.choice(k, size=n, p=_subtype_proportions(k))
    nuisance = rng.normal(0.0, 1.0, size=(n, settings.n_nuisance_programs))
    # The risk program draws from its own stream, so it leaves every other simulated value as it was.
    risk_rng = np.random.default_rng([settings.seed, 1])
    risk = risk_rng.normal(0.0, 1.0, size=n)

    tables: dict[str, ad.AnnData] = {}
    n_continuous = 0
    for name, spec in settings.modalities.items():
        kind = name if name in MODALITY_KINDS else "expression"
        risk_features = np.zeros(0, dtype=int)
        if kind == "mutation":
            values, signal_features = _mutation(rng, subtypes, k, spec)
        else:
            # Each continuous modality is blind to a different neighbouring pair of subtypes, so every pair
            # is resolved by at least one other modality.
            blind_pair = (n_continuous % k, (n_continuous + 1) % k)
            n_continuous += 1
            latent, signal_features = _latent_matrix(rng, subtypes, k, nuisance, spec, blind_pair)
            n_risk = max(1, round(settings.risk_feature_fraction * spec.n_features))
            risk_features = risk_rng.choice(spec.n_features, size=n_risk, replace=False)
            latent[:, risk_features] += settings.risk_effect * risk[:, None]
            values = {"expression": _expression, "methylation": _methylation, "copy_number": _copy_number}[kind](
                rng, latent
            )
            del latent  # before the next modality's float64 latent is allocated
        prefix = {"expression": "GENE", "methylation": "cg", "copy_number": "CN", "mutation": "MUT"}[kind]
        features = [f"{prefix}{j:05d}" for j in range(spec.n_features)]
        # Ground truth for attributions: which features carry subtype means (mutations: any subtype's drivers;
        # copy number: the genes themselves, their segment-mates carry a diluted share) and the risk program.
        var = pd.DataFrame(index=features)
        var["subtype_signal"] = np.isin(np.arange(spec.n_features), signal_features)
        var["risk_program"] = np.isin(np.arange(spec.n_features), risk_features)
        tables[name] = ad.AnnData(X=values, obs=pd.DataFrame(index=samples), var=var)

    # Whole-modality absence: each affected tumor loses one modality; every tumor keeps at least one.
    modality_names = list(tables)
    if len(modality_names) > 1 and settings.missing_fraction > 0:
        n_missing = round(settings.missing_fraction * n)
        affected = rng.choice(n, size=n_missing, replace=False)
        lost = rng.integers(0, len(modality_names), size=n_missing)
        for modality_index, name in enumerate(modality_names):
            drop = samples[affected[lost == modality_index]]
            tables[name] = tables[name][~tables[name].obs_names.isin(drop)].copy()

    days, events = _survival(rng, subtypes, k, risk, settings)
    clinical = pd.DataFrame(
        {
            "subtype": [f"S{s + 1}" for s in subtypes],
            "risk_program": risk.round(4),
            "os_days": days,
            "os_event": events,
            "age": np.clip(rng.normal(58, 12, size=n), 25, 90).round().astype(int),
        },
        index=pd.Index(samples, name="sample"),
    )
    return SimulatedCohort(modalities=tables, clinical=clinical)
