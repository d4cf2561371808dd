"""``python -m oncoae``: commands that work on a finished run.

``encode`` embeds tumors that arrive after training (a new cohort, a validation set) with a trained model of a
run: the run's normalizers (fitted on its training tumors) and checkpoint, through the same code path as the
workflow's held-out encoding, so the held-out latents of the run are reproduced exactly. With
``--assign-clusters`` the tumors also get the run's k-means clusters (centroids fitted on training tumors).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("oncoae")


class CommandError(ValueError):
    pass


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
                "format": spec.get("format", "matrix"),
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
        specs[name] = {"path": path, "orientation": orientation, "format": "matrix"}
    return specs


def _read_inputs(specs: dict[str, dict]):
    """Raw modality tables (and a clinical table or None), with IDs matched to the clinical table if given."""
    import pandas as pd

    from oncoae.data.ingest import ingest_modality
    from oncoae.data.readers import read_clinical_file, read_modality_file
    from oncoae.data.sources import maf_to_gene_matrix

    clinical_spec = specs.pop("__clinical__", None)
    clinical = None
    if clinical_spec is not None:
        clinical = read_clinical_file(Path(clinical_spec["path"]), clinical_spec.get("id_column"), [], None)
    tables = {}
    for name, spec in specs.items():
        if clinical is not None:
            tables[name] = ingest_modality(
                spec["path"], spec["orientation"], clinical.index, file_format=spec["format"]
            )
        elif spec["format"] == "maf":
            tables[name] = maf_to_gene_matrix(Path(spec["path"]))
        else:
            tables[name] = read_modality_file(spec["path"], spec["orientation"])
    if clinical is None:
        samples = sorted({s for table in tables.values() for s in table.index})
        clinical = pd.DataFrame(index=pd.Index(samples, dtype=str))
    return tables, clinical


def _model_paths(run: Path, model: str, seed: int | None) -> tuple[Path, int]:
    model_dir = run / "models" / model
    if not model_dir.is_dir():
        known = sorted(p.name for p in (run / "models").glob("*")) if (run / "models").is_dir() else []
        raise CommandError(f"{run}: no trained model {model!r} (models here: {known or 'none'})")
    seeds = sorted(int(p.name.removeprefix("seed")) for p in model_dir.glob("seed*") if (p / "model.pt").exists())
    if seed is None:
        if not seeds:
            raise CommandError(f"{model_dir}: no finished seed (seed*/model.pt)")
        seed = seeds[0]
    path = model_dir / f"seed{seed}" / "model.pt"
    if not path.exists():
        raise CommandError(f"{model_dir}: no model for seed {seed} (seeds here: {seeds})")
    return path, seed


def encode_command(args: argparse.Namespace) -> int:
    run = Path(args.run)
    model_path, seed = _model_paths(run, args.model, args.seed)
    specs = _parse_inputs(args.input, args.orientation)

    from oncoae.atomic import write_h5ad
    from oncoae.encoding import HeldOutEncoder
    from oncoae.models.checkpoint import load_model

    network, _extra = load_model(model_path)
    normalizer_paths = {name: run / "normalized" / f"{name}.normalizer.npz" for name in network.modality_names}
    for name, path in normalizer_paths.items():
        if not path.exists():
            raise CommandError(f"{run}: the normalizer of modality {name!r} is missing ({path})")
    tables, clinical = _read_inputs(specs)
    encoder = HeldOutEncoder.from_files(model_path, normalizer_paths)
    adata = encoder.encode_to_anndata(tables, clinical, uns={"model": args.model, "seed": seed, "run": str(run)})
    if args.assign_clusters:
        from oncoae.evaluation.clustering import assign_to_centroids, read_centroids

        centroids_path = run / "clusters" / "autoencoders.centroids.tsv"
        centroids = read_centroids(centroids_path, args.model, seed)
        adata.obs["cluster"] = assign_to_centroids(adata.obsm["X_latent"], centroids)
    write_h5ad(adata, args.out)
    n_missing = {name: int((~adata.obs[f"has_{name}"].astype(bool)).sum()) for name in encoder.modality_names}
    log.info(
        "encoded %d tumors with %s (seed %d) into %s; tumors lacking each modality: %s",
        adata.n_obs,
        args.model,
        seed,
        args.out,
        n_missing,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m oncoae", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    encode = commands.add_parser(
        "encode",
        help="embed new tumors with a trained model of a run",
        description=(
            "Embed new tumors with a run's trained autoencoder and normalizers. Missing features are imputed with "
            "the training mean and extra features dropped (both logged); a tumor needs at least one modality."
        ),
    )
    encode.add_argument("--run", required=True, help="the run folder, results/<dataset>")
    encode.add_argument("--model", required=True, help="an autoencoder of the run, e.g. ae_multimodal")
    encode.add_argument("--seed", type=int, default=None, help="which seed's model (default: the lowest)")
    encode.add_argument(
        "--input",
        required=True,
        nargs="+",
        metavar="MODALITY=PATH | CONFIG",
        help="raw modality files as MODALITY=PATH (.tsv/.csv[.gz] or .h5ad), or one YAML in the workflow's config "
        "layout (modalities.<name>.path/orientation/format, optional clinical.path to match TCGA barcodes)",
    )
    encode.add_argument(
        "--orientation",
        choices=["samples_x_features", "features_x_samples"],
        default="samples_x_features",
        help="layout of MODALITY=PATH text files",
    )
    encode.add_argument("--out", required=True, help="the latent AnnData to write (.h5ad)")
    encode.add_argument("--assign-clusters", action="store_true", help="add the run's k-means cluster of each tumor")
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
