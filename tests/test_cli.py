"""``python -m oncoae`` itself (help, version) and the encode guard's rule, without a run."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import oncoae
from oncoae.encoding import MIN_FEATURE_OVERLAP, EncodingError, check_input_features

from .conftest import REPO


def oncoae_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "oncoae", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_help_lists_the_commands():
    result = oncoae_cli("--help")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\s+encode\s+embed new tumors", result.stdout, re.MULTILINE), result.stdout
    assert "--version" in result.stdout
    result = oncoae_cli()  # no command: usage and an error, not a traceback
    assert result.returncode == 2 and "COMMAND" in result.stderr and "Traceback" not in result.stderr


def test_encode_help_states_the_overlap_threshold():
    result = oncoae_cli("encode", "--help")
    assert result.returncode == 0, result.stderr
    assert f"at least {MIN_FEATURE_OVERLAP:.0%} of the model's features" in " ".join(result.stdout.split())


def test_version_is_the_package_version():
    declared = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    assert oncoae.__version__ == declared
    result = oncoae_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"oncoae {declared}"
    # Cheap: printing the version imports neither torch nor anndata.
    probe = "import sys; from oncoae.cli import main\ntry: main(['--version'])\nexcept SystemExit: pass\n"
    probe += "print(sorted({'torch', 'anndata'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().endswith("[]"), result.stdout + result.stderr


MODEL = [f"GENE{i}" for i in range(10)]
TUMORS = [f"T{i}" for i in range(4)]


def test_the_guard_accepts_an_input_at_the_overlap_threshold():
    n_enough = int(MIN_FEATURE_OVERLAP * len(MODEL))
    check_input_features("expression", TUMORS, MODEL[:n_enough] + ["NEW"], MODEL)
    check_input_features("expression", [], ["OTHER"], MODEL)  # no tumor: nothing to encode, nothing filled in


def test_the_guard_refuses_low_or_zero_overlap_naming_source_and_overlap():
    n_short = int(MIN_FEATURE_OVERLAP * len(MODEL)) - 1
    for features in (MODEL[:n_short], ["OTHER1", "OTHER2"]):
        with pytest.raises(EncodingError) as error:
            check_input_features("expression", TUMORS, features, MODEL, source="new/expression.tsv")
        message = str(error.value)
        assert message.startswith("new/expression.tsv: modality 'expression'") and "\n" not in message
        n_shared = len(set(features) & set(MODEL))
        assert f"shares {n_shared} of the model's {len(MODEL)} features ({n_shared / len(MODEL):.0%})" in message


def test_the_guard_recognizes_a_transposed_input():
    with pytest.raises(EncodingError, match=r"looks transposed: 10 of its sample names .* try --orientation x"):
        check_input_features(
            "expression", MODEL, TUMORS, MODEL, source="t.tsv", transposed_hint="; try --orientation x"
        )
    # A tumor that happens to share a feature's name does not make a well-formed table look transposed.
    check_input_features("expression", [*TUMORS, "GENE1"], MODEL, MODEL)
