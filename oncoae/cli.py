"""``python -m oncoae``: commands that work on a finished run.

``encode`` embeds tumors that arrive after training (a new cohort, a validation set) with a trained model of a
run (an autoencoder, or a PCA / kernel PCA baseline): the run's normalizers (fitted on its training tumors) and
model, through the same code path as the workflow's held-out encoding, so the held-out latents of the run are
reproduced exactly. With ``--assign-clusters`` the tumors also get the run's k-means clusters (centroids fitted on
training tumors). A MAF (``mutation=calls.maf.gz``) is read as the workflow's ingest reads one; a model with a
classification head adds its predicted class and class probabilities (``add_head_predictions``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from oncoae.layout import RunLayout

log = logging.getLogger("oncoae")


class CommandError(ValueError):
    pass


OUTPUT_SUFFIXES = (".h5ad", ".tsv")
ORIENTATIONS = ("samples_x_features", "features_x_samples")


def package_version() -> str:
    """The installed distribution's version, or the source tree's when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    from oncoae import __version__

    try:
        return version("oncoae")
    except PackageNotFoundError:
        return __version__


def _parse_inputs(items: Sequence[str], orientation: str) -> dict[str, dict]:
    """``MODALITY=PATH`` pairs, or one YAML file in the workflow's config layout, -> modality -> file spec."""
    if len(items) == 1 and "=" not in items[0]:
        import yaml

        path = Path(items[0])
        if not path.exists():
            raise CommandError(f"--input {path}: no such file")
        config = yaml.safe_load(path.read_text()) or {}
        modalities = config.get("modalities") or {}
        if not modalities:
            raise CommandError(f"--input {path}: the config names no modalities (modalities.<name>.path)")
        specs = {}
        for name, spec in modalities.items():
            if not (spec or {}).get("path"):
                raise CommandError(f"--input {path}: modalities.{name} has no path")
            specs[name] = {
                "path": spec["path"],
                "orientation": spec.get("orientation", "samples_x_features"),
                "format": spec.get("format") or _format_of(spec["path"]),
            }
        clinical = (config.get("clinical") or {}).get("path")
        if clinical:
            specs["__clinical__"] = {"path": clinical, "id_column": config["clinical"].get("id_column")}
        return specs
    specs = {}
    for item in items:
        name, separator, path = item.partition("=")
        if not separator or not name or not path:
            raise CommandError(f"--input {item!r}: expected MODALITY=PATH (or one config YAML)")
        if name in specs:
            raise CommandError(f"--input: modality {name!r} given twice")
        specs[name] = {"path": path, "orientation": orientation, "format": _format_of(path)}
    return specs


def _format_of(path: str | Path) -> str:
    """'maf' for a .maf / .maf.gz file (variants, one per line), else 'matrix'."""
    return "maf" if str(path).lower().removesuffix(".gz").endswith(".maf") else "matrix"


def _read_inputs(specs: dict[str, dict], level: str | None):
    """Raw modality tables (and a clinical table or None), with IDs matched to the clinical table if given, and
    for each MAF the genes it names (``MutationCalls.genes_named``).

    A MAF is read as the workflow's ingest reads it (``mutation_calls_anndata``: gene-level 0/1 of non-silent
    variants, sparse); without a clinical table its TCGA barcodes are harmonized to ``level``, that of the run's
    tumors, as ingest harmonizes them to the clinical table's.
    """
    import pandas as pd

    from oncoae.data.ingest import ingest_modality, mutation_calls_anndata
    from oncoae.data.readers import read_clinical_file, read_modality_file

    clinical_spec = specs.pop("__clinical__", None)
    clinical = None
    if clinical_spec is not None:
        clinical = read_clinical_file(Path(clinical_spec["path"]), clinical_spec.get("id_column"), [], None)
    tables, genes_named = {}, {}
    for name, spec in specs.items():
        if spec["format"] == "maf":
            clinical_ids = None if clinical is None else clinical.index
            tables[name], calls = mutation_calls_anndata(spec["path"], clinical_ids, level=level)
            genes_named[name] = calls.genes_named
        elif clinical is not None:
            tables[name] = ingest_modality(
                spec["path"], spec["orientation"], clinical.index, file_format=spec["format"]
            )
        else:
            tables[name] = read_modality_file(spec["path"], spec["orientation"])
    if clinical is None:
        clinical = pd.DataFrame(index=pd.Index(input_order(tables), dtype=str))
    return tables, clinical, genes_named


def _barcode_level_of_run(run: RunLayout) -> str | None:
    """'patient' or 'sample' for a run on TCGA barcodes (from its split.tsv), else None."""
    import pandas as pd

    from oncoae.data.tcga import barcode_level

    path = Path(run.split)
    if not path.exists():
        return None
    return barcode_level(pd.Index(pd.read_csv(path, sep="\t", usecols=["sample"], dtype=str)["sample"]))


def input_order(tables) -> list[str]:
    """Every tumor of the input tables, in the order they first appear (modalities in the order given)."""
    seen: dict[str, None] = {}
    for table in tables.values():
        samples = table.obs_names if hasattr(table, "obs_names") else table.index
        seen.update(dict.fromkeys(str(sample) for sample in samples))
    return list(seen)


def _transposed_hints(specs: dict[str, dict], from_config: bool) -> dict[str, str]:
    """What to change for a modality that looks transposed: the other orientation, where it is set."""
    hints = {}
    for name, spec in specs.items():
        if spec.get("format") == "maf" or str(spec["path"]).endswith(".h5ad"):
            continue
        other = ORIENTATIONS[1 - ORIENTATIONS.index(spec["orientation"])]
        where = f"modalities.{name}.orientation: {other} in the input YAML" if from_config else f"--orientation {other}"
        hints[name] = f" (read as {spec['orientation']}; try {where})"
    return hints


def _model_paths(run: RunLayout, model: str, seed: int | None) -> tuple[Path, int | None]:
    """An autoencoder's checkpoint and seed, or a baseline's fitted extractor and the seed asked for (baselines
    are deterministic; the seed only picks the k-means run of the clusters)."""
    model_dir, models_dir = Path(run.model_dir(model)), Path(run.models_dir)
    if not model_dir.is_dir():
        known = sorted(p.name for p in models_dir.glob("*")) if models_dir.is_dir() else []
        raise CommandError(f"{run.root}: no trained model {model!r} (models here: {known or 'none'})")
    if Path(run.baseline_model(model)).exists():
        return Path(run.baseline_model(model)), seed
    seeds = run.finished_seeds(model)
    if seed is None:
        if not seeds:
            raise CommandError(f"{model_dir}: no finished seed (seed*/model.pt)")
        seed = seeds[0]
    path = Path(run.checkpoint(model, seed))
    if not path.exists():
        raise CommandError(f"{model_dir}: no model for seed {seed} (seeds here: {seeds})")
    return path, seed


def _clusters_of(run: RunLayout, model: str, group: str, seed: int | None, latent):
    """The run's k-means cluster of each tumor (nearest centroid fitted on training tumors), as a categorical
    over all k clusters; ``seed`` None (a baseline without --seed) takes the lowest seed of the centroids."""
    import pandas as pd

    from oncoae.evaluation.clustering import assign_to_centroids, read_centroids

    path = Path(run.centroids(group))
    if not path.exists():
        raise CommandError(f"{run.root}: no k-means centroids ({path}); run the workflow's clustering first")
    if seed is None:
        seeds = pd.read_csv(path, sep="\t", usecols=["model", "seed"]).query("model == @model")["seed"]
        if seeds.empty:
            raise CommandError(f"{path}: no centroids for model {model!r}")
        seed = int(seeds.min())
    try:
        centroids = read_centroids(path, model, seed)
    except ValueError as error:
        raise CommandError(str(error)) from None
    labels = assign_to_centroids(latent, centroids)
    return pd.Categorical(labels, categories=range(len(centroids))), seed


def write_latent(adata, out: Path) -> None:
    """The encoded tumors as .h5ad, or as a TSV: sample, latent_1..latent_d, then the obs columns."""
    from oncoae.atomic import write_h5ad, write_table

    if out.suffix == ".h5ad":
        write_h5ad(adata, out)
        return
    import pandas as pd

    latent = adata.obsm["X_latent"]
    table = pd.DataFrame(latent, index=adata.obs_names, columns=[f"latent_{i + 1}" for i in range(latent.shape[1])])
    table = table.join(adata.obs)
    label = adata.uns.get("classification_label")
    if label is not None:
        probabilities = pd.DataFrame(
            adata.obsm[f"{label}_probabilities"],
            index=adata.obs_names,
            columns=[f"{label}_probability_{name}" for name in adata.uns[f"{label}_classes"]],
        )
        table = table.join(probabilities)
    table.index.name = "sample"
    write_table(table, out, index=True)


def encode_command(args: argparse.Namespace) -> int:
    run = RunLayout(args.run)  # every file of the run is found through its layout
    out = Path(args.out)
    if out.suffix not in OUTPUT_SUFFIXES:
        raise CommandError(
            f"--out {out}: write .h5ad (AnnData, latent in obsm['X_latent']) or .tsv (latent and obs as a table)"
        )
    model_path, seed = _model_paths(run, args.model, args.seed)
    from_config = len(args.input) == 1 and "=" not in args.input[0]
    specs = _parse_inputs(args.input, args.orientation)

    from oncoae.encoding import BaselineEncoder, TrainedEncoder, add_head_predictions, gene_calls_for_model

    is_baseline = model_path.suffix == ".joblib"
    extra, kinds = {}, {}
    # The model is read once: its modalities and kinds check the inputs, then it encodes them.
    if is_baseline:
        from oncoae.baselines import BaselineExtractor

        extractor = BaselineExtractor.load(model_path)
        modality_names = extractor.modality_names
    else:
        from oncoae.models.checkpoint import load_model

        network, extra = load_model(model_path)
        modality_names = network.modality_names
        kinds = {name: kind for name, (_n, kind) in network.spec.modalities.items()}
    for name, spec in specs.items():
        if spec.get("format") == "maf" and kinds.get(name, "binary") != "binary":
            raise CommandError(
                f"--input {spec['path']}: a MAF gives 0/1 gene calls, but modality {name!r} of the model is "
                f"{kinds[name]}, not binary"
            )
    normalizer_paths = {name: Path(run.normalizer(name)) for name in modality_names}
    for name, path in normalizer_paths.items():
        if not path.exists():
            raise CommandError(f"{run.root}: the normalizer of modality {name!r} is missing ({path})")
    sources = {name: str(spec["path"]) for name, spec in specs.items() if name != "__clinical__"}
    hints = _transposed_hints({name: specs[name] for name in sources}, from_config)
    tables, clinical, genes_named = _read_inputs(specs, _barcode_level_of_run(run))
    from oncoae.data.normalize import ModalityNormalizer

    normalizers = {name: ModalityNormalizer.load(path) for name, path in normalizer_paths.items()}
    encoder = BaselineEncoder(extractor, normalizers) if is_baseline else TrainedEncoder(network, normalizers)
    for name, named in genes_named.items():
        if name in encoder.normalizers:  # an unknown modality is named by check_inputs
            features = encoder.normalizers[name].features_
            tables[name] = gene_calls_for_model(tables[name], named, features, name, source=sources[name])
    encoder.check_inputs(tables, sources=sources, transposed_hint=hints)
    uns = {"model": args.model, "run": str(args.run)}
    if seed is not None:
        uns["seed"] = seed
    adata = encoder.encode_to_anndata(tables, clinical, uns=uns, samples=input_order(tables))
    # The classification head's predicted class and probabilities, under the label it was trained on.
    add_head_predictions(adata, extra.get("label_column") or "class")
    if args.assign_clusters:
        adata.obs["cluster"], cluster_seed = _clusters_of(
            run, args.model, "baselines" if is_baseline else "autoencoders", seed, adata.obsm["X_latent"]
        )
        adata.uns["cluster_seed"] = cluster_seed
    write_latent(adata, out)
    n_missing = {name: int((~adata.obs[f"has_{name}"].astype(bool)).sum()) for name in encoder.modality_names}
    log.info(
        "encoded %d tumors with %s%s into %s; tumors lacking each modality: %s",
        adata.n_obs,
        args.model,
        "" if seed is None else f" (seed {seed})",
        out,
        n_missing,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    # The guard's threshold is written out rather than imported from oncoae.encoding, which imports torch:
    # --help and --version stay instant (tests/test_cli.py checks the figure against MIN_FEATURE_OVERLAP).
    parser = argparse.ArgumentParser(
        prog="python -m oncoae", description="Commands that work on a finished oncoae run."
    )
    parser.add_argument("--version", action="version", version=f"oncoae {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")
    encode = commands.add_parser(
        "encode",
        help="embed new tumors with a trained model of a run (autoencoder or PCA / kernel PCA baseline)",
        description=(
            "Embed new tumors with a run's trained autoencoder or baseline and its normalizers. Missing features "
            "are imputed with the training mean and extra features dropped (both logged); an input modality must "
            "hold at least 50% of the model's features of that modality and have tumors as "
            "rows, else the command stops; a modality left out is absent for every tumor. Tumors keep the order of "
            "the input."
        ),
    )
    encode.add_argument("--run", required=True, help="the run folder, results/<dataset>")
    encode.add_argument(
        "--model", required=True, help="a model of the run: an autoencoder (ae_multimodal) or a baseline (pca_concat)"
    )
    encode.add_argument(
        "--seed",
        type=int,
        default=None,
        help="which seed's model (default: the lowest); for a baseline, which seed's k-means clusters",
    )
    encode.add_argument(
        "--input",
        required=True,
        nargs="+",
        metavar="MODALITY=PATH | CONFIG",
        help="raw modality files as MODALITY=PATH (.tsv/.csv[.gz], .h5ad, or a .maf[.gz] for a binary mutation "
        "modality: non-silent variants as gene-level 0/1), or one YAML in the workflow's config layout "
        "(modalities.<name>.path/orientation/format, optional clinical.path to match TCGA barcodes)",
    )
    encode.add_argument(
        "--orientation",
        choices=list(ORIENTATIONS),
        default="samples_x_features",
        help="layout of MODALITY=PATH text files",
    )
    encode.add_argument(
        "--out",
        required=True,
        help="where to write: .h5ad (AnnData, latent in obsm['X_latent']) or .tsv (sample, latent_1.., obs columns)",
    )
    encode.add_argument(
        "--assign-clusters", action="store_true", help="add the run's k-means cluster of each tumor (categorical)"
    )
    encode.set_defaults(handler=encode_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from oncoae.data.readers import InputError
    from oncoae.encoding import EncodingError

    try:
        return args.handler(args)
    except (CommandError, InputError, EncodingError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
