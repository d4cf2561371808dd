"""The config contract (oncoae/settings.py): one typed object per section, every default the schema's, unknown
keys refused by name."""

from __future__ import annotations

import copy
from dataclasses import fields

import pytest
from snakemake.utils import validate

from oncoae.settings import (
    OPERATIONAL_TRAINING_KEYS,
    ArchitectureSettings,
    AutoencoderSettings,
    DenoisingSettings,
    HeadSettings,
    LossSettings,
    SettingsError,
    TrainingSettings,
    VaeSettings,
    schema_node,
)

from .conftest import REPO, TINY_CONFIG

SECTIONS = [ArchitectureSettings, DenoisingSettings, VaeSettings, TrainingSettings, LossSettings]


def _validated(config: dict) -> dict:
    config = copy.deepcopy(config)
    validate(config, str(REPO / "config" / "schema.yaml"), set_default=True)
    return config


@pytest.mark.parametrize("section", SECTIONS, ids=lambda cls: cls.__name__)
def test_each_section_has_exactly_the_schemas_keys_and_its_defaults(section):
    assert [item.name for item in fields(section)] and {item.name for item in fields(section)} == set(
        schema_node(*section.SCHEMA_KEYS)["properties"]
    )
    # The defaults are what Snakemake's validation fills into a config that sets nothing.
    config = _validated({"modalities": {"rna": {}}})
    node = config
    for key in section.SCHEMA_KEYS:
        node = node[key if key != "*" else "rna"]
    assert section().to_dict() == node


def test_the_heads_and_the_training_task_take_the_schemas_defaults():
    from oncoae.models.networks import ArchitectureSpec
    from oncoae.training.task import AutoencoderTask

    assert HeadSettings() == HeadSettings.from_config({}, None)
    assert HeadSettings().cox == schema_node("heads", "cox", "weight")["default"]
    # The task once defaulted to weight decay 0 and modality dropout 0 where the schema says 1e-3 and 0.2.
    task = AutoencoderTask(ArchitectureSpec({"rna": (4, "continuous")}, hidden_sizes=[3], latent_dim=2).to_dict())
    assert task.settings == TrainingSettings()
    assert task.settings.weight_decay == schema_node("training", "weight_decay")["default"] == 1e-3
    assert task.settings.modality_dropout == schema_node("training", "modality_dropout")["default"] == 0.2


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (lambda: TrainingSettings.from_config({"max_epoch": 3}), "training.max_epoch"),
        (lambda: ArchitectureSettings.from_config({"vae": {"betta": 1.0}}), "architecture.vae.betta"),
        (lambda: ArchitectureSettings.from_config({"denoising": {"dropout": 0.1}}), "architecture.denoising.dropout"),
        (lambda: LossSettings.from_config({"pos_wieght": 2.0}), "modalities.*.loss.pos_wieght"),
        (lambda: HeadSettings.from_config({"cox": {"wieght": 1.0}}, None), "heads.cox.wieght"),
        (lambda: HeadSettings.from_params({"cox": 0.0, "survivl": None}), "heads.survivl"),
        (lambda: AutoencoderSettings.from_params({"trainin": {}}), "params.trainin"),
        (lambda: AutoencoderSettings.from_params({"training": {"lr": 0.1}}), "training.lr"),
        (lambda: AutoencoderSettings.from_params({}, operational={"learning_rate": 0.1}), "training.learning_rate"),
    ],
)
def test_an_unknown_key_anywhere_in_a_section_raises_naming_it(build, key):
    with pytest.raises(SettingsError, match=key.replace("*", r"\*")):
        build()


def test_params_round_trip_with_the_operational_keys_beside_them():
    config = _validated(TINY_CONFIG)
    config["training"]["tensorboard"] = True
    settings = AutoencoderSettings.from_config(config, ["expression", "mutation"])
    params = settings.params()
    assert not set(OPERATIONAL_TRAINING_KEYS) & set(params["training"])
    rebuilt = AutoencoderSettings.from_params(params, operational=settings.training.operational_dict())
    assert rebuilt == settings and rebuilt.training.tensorboard is True
    # Without them the operational keys take the schema's defaults.
    assert AutoencoderSettings.from_params(params).training.tensorboard is False


def test_a_searchs_best_values_keep_the_operational_keys():
    settings = AutoencoderSettings.from_params(
        AutoencoderSettings().params(), operational={"checkpoint_every_n_epochs": 3, "threads": 2}
    )
    tuned = settings.with_overrides({"architecture": {"latent_dim": 7}, "training": {"learning_rate": 0.01}})
    assert tuned.architecture.latent_dim == 7 and tuned.training.learning_rate == 0.01
    assert tuned.training.checkpoint_every_n_epochs == 3 and tuned.training.threads == 2
    with pytest.raises(SettingsError, match="heads"):
        settings.with_overrides({"heads": {"cox": 1.0}})


def test_absent_input_scaling_stays_out_of_the_params():
    """The key has no schema default, so that adding it left the params of existing models as they were."""
    assert "input_scaling" not in LossSettings().to_dict()
    assert LossSettings.from_config({"input_scaling": "l2"}).to_dict()["input_scaling"] == "l2"
