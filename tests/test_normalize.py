import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from oncoae.data.normalize import ModalityNormalizer, NormalizationError, NormalizationSettings


def _table(values, prefix="f"):
    values = np.asarray(values, dtype=float)
    return pd.DataFrame(
        values, index=[f"s{i}" for i in range(len(values))], columns=[f"{prefix}{j}" for j in range(values.shape[1])]
    )


def test_state_comes_from_training_tumors_only():
    rng = np.random.default_rng(0)
    train = _table(rng.normal(5, 2, size=(50, 4)))
    normalizer = ModalityNormalizer(NormalizationSettings(scale="zscore"), "x").fit(train)
    np.testing.assert_allclose(normalizer.mean_, train.mean().to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(normalizer.scale_, train.std(ddof=0).to_numpy(), rtol=1e-5)
    # An extreme held-out tumor is transformed with training statistics and changes nothing fitted (not a bit).
    fitted = {name: getattr(normalizer, name).copy() for name in ("features_", "mean_", "center_", "scale_")}
    held_out = _table([[1e6, 5, 5, 5]])
    transformed = normalizer.transform(held_out)
    expected = (1e6 - train["f0"].mean()) / train["f0"].std(ddof=0)
    assert transformed.iloc[0, 0] == pytest.approx(expected, rel=1e-4)  # float32 output against a float64 sum
    for name, before in fitted.items():
        np.testing.assert_array_equal(getattr(normalizer, name), before, err_msg=name)


def test_train_rows_are_standardized():
    train = _table(np.random.default_rng(1).lognormal(2, 1, size=(40, 6)))
    normalizer = ModalityNormalizer(NormalizationSettings(transform="log1p"), "expr").fit(train)
    out = normalizer.transform(train)
    np.testing.assert_allclose(out.mean().to_numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(ddof=0).to_numpy(), 1, atol=1e-4)
    assert out.dtypes.unique().tolist() == [np.float32]


def test_top_variance_keeps_the_most_variable_training_features():
    rng = np.random.default_rng(2)
    scales = np.array([0.1, 5.0, 1.0, 3.0])
    train = _table(rng.normal(0, 1, size=(200, 4)) * scales)
    normalizer = ModalityNormalizer(NormalizationSettings(scale="none", top_variance=2), "x").fit(train)
    assert sorted(normalizer.features_) == ["f1", "f3"]


def test_min_frequency_and_constant_features_are_dropped():
    train = _table([[1, 0, 1, 1], [0, 0, 1, 0], [1, 0, 1, 0], [0, 0, 1, 0]])
    normalizer = ModalityNormalizer(NormalizationSettings(scale="none", min_frequency=0.5), "mut").fit(train)
    # f1 never mutated and f2 always mutated are constant; f3 mutated in 1 of 4 < 0.5.
    assert normalizer.features_.tolist() == ["f0"]


def test_missing_values_are_imputed_with_the_training_mean():
    train = _table([[1.0, 2.0], [3.0, np.nan], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]])
    settings = NormalizationSettings(scale="none", max_missing_fraction=0.5, max_missing_fraction_per_tumor=1.0)
    normalizer = ModalityNormalizer(settings, "x").fit(train)
    out = normalizer.transform(_table([[np.nan, np.nan]]))
    assert out.iloc[0].tolist() == pytest.approx([5.0, 6.5])


def test_a_tumor_missing_most_values_is_refused_by_name():
    train = _table(np.arange(20, dtype=float).reshape(5, 4))
    normalizer = ModalityNormalizer(NormalizationSettings(scale="none"), "rppa").fit(train)
    with pytest.raises(NormalizationError, match=r"modality 'rppa': sample 's0' misses 75% of its values"):
        normalizer.transform(_table([[1.0, np.nan, np.nan, np.nan]]))


def test_feature_mismatch_fills_missing_with_training_mean_and_drops_extra(caplog):
    train = _table(np.arange(20, dtype=float).reshape(10, 2))
    normalizer = ModalityNormalizer(NormalizationSettings(scale="center"), "x").fit(train)
    new = pd.DataFrame({"f1": [100.0], "unknown": [1.0]}, index=["new"])
    with caplog.at_level("INFO"):
        out = normalizer.transform(new)
    assert out.columns.tolist() == ["f0", "f1"]
    assert out.loc["new", "f0"] == 0.0  # the training mean, centred
    assert "absent from the input" in caplog.text and "dropped 1 input features" in caplog.text


def test_roundtrip_through_npz_is_exact(tmp_path):
    train = _table(np.random.default_rng(3).beta(2, 5, size=(30, 5)))
    normalizer = ModalityNormalizer(NormalizationSettings(transform="mvalue", top_variance=3), "meth").fit(train)
    normalizer.save(tmp_path / "n.npz")
    loaded = ModalityNormalizer.load(tmp_path / "n.npz")
    pd.testing.assert_frame_equal(loaded.transform(train), normalizer.transform(train), check_exact=True)


@pytest.mark.parametrize(
    ("settings", "values", "message"),
    [
        (
            NormalizationSettings(transform="log1p"),
            [[1.0, 2.0], [3.0, -2.0]],
            "transform 'log1p' needs non-negative values, found -2 in feature 'f1', sample 's1'",
        ),
        (
            NormalizationSettings(transform="mvalue"),
            [[0.5, 0.2], [1.5, 0.1]],
            "transform 'mvalue' needs beta values in [0, 1], found 1.5 in feature 'f0', sample 's1'",
        ),
    ],
)
def test_values_outside_the_transform_domain_are_refused(settings, values, message):
    """The message names the modality, the offending value, its feature and its sample (not just the first row)."""
    with pytest.raises(NormalizationError) as error:
        ModalityNormalizer(settings, "bad").fit(_table(values))
    assert str(error.value).startswith(f"modality 'bad': {message}"), str(error.value)


def test_results_do_not_depend_on_the_column_blocks_the_work_is_done_in(monkeypatch):
    rng = np.random.default_rng(3)
    values = rng.lognormal(1.0, 1.0, size=(40, 23))
    values[rng.random(values.shape) < 0.05] = np.nan
    train, other = _table(values[:30]), _table(values[30:])
    settings = NormalizationSettings(transform="log1p", scale="zscore", top_variance=15)
    whole = ModalityNormalizer(settings, "x").fit(train)
    monkeypatch.setattr("oncoae.data.normalize.COLUMN_BLOCK", 4)
    blocked = ModalityNormalizer(settings, "x").fit(train)
    assert list(blocked.features_) == list(whole.features_)
    np.testing.assert_array_equal(blocked.scale_, whole.scale_)
    pd.testing.assert_frame_equal(blocked.transform(other), whole.transform(other), check_exact=True)


def test_sparse_binary_input_stays_sparse_and_equals_the_dense_result():
    rng = np.random.default_rng(4)
    calls = (rng.random((50, 30)) < 0.1).astype(np.float32)
    dense = _table(calls, prefix="g")
    adata = ad.AnnData(sp.csr_matrix(calls), obs=pd.DataFrame(index=dense.index), var=pd.DataFrame(index=dense.columns))
    settings = NormalizationSettings(scale="none", min_frequency=0.05)
    from_sparse = ModalityNormalizer(settings, "mut").fit(adata[:40])
    from_dense = ModalityNormalizer(settings, "mut").fit(dense.iloc[:40])
    assert list(from_sparse.features_) == list(from_dense.features_)
    out = from_sparse.transform_anndata(adata)
    assert sp.issparse(out.X) and out.X.dtype == np.float32
    np.testing.assert_array_equal(out.X.toarray(), from_dense.transform(dense).to_numpy())
    # Centring makes zeros non-zero, so a z-scored sparse modality comes out dense (and still equal).
    zscored = ModalityNormalizer(NormalizationSettings(scale="zscore"), "mut").fit(adata[:40])
    out = zscored.transform_anndata(adata)
    assert not sp.issparse(out.X)
    expected = ModalityNormalizer(NormalizationSettings(scale="zscore"), "mut").fit(dense.iloc[:40]).transform(dense)
    np.testing.assert_array_equal(out.X, expected.to_numpy())
