"""ChannelReducer against scikit-learn run on the flattened activations, and its errors."""
import numpy as np
import pytest

sklearn_decomposition = pytest.importorskip("sklearn.decomposition", reason="scikit-learn is a dependency")

from lucid_fast.misc.channel_reducer import ChannelReducer  # noqa: E402


@pytest.fixture
def acts(rng):
    # (1, 6, 7, 10) non-negative "post-ReLU" activations with a 3-group structure
    groups = rng.uniform(size=(1, 6, 7, 3))
    dirs = rng.uniform(size=(3, 10))
    return (groups @ dirs + 0.01 * rng.uniform(size=(1, 6, 7, 10))).astype(np.float32)


@pytest.mark.parametrize("alg, kwargs", [("NMF", {"random_state": 0, "max_iter": 500}),
                                         ("PCA", {}),
                                         ("FastICA", {"random_state": 0, "max_iter": 500}),
                                         ("TruncatedSVD", {"random_state": 0})])
def test_matches_sklearn_on_flattened_positions(acts, alg, kwargs):
    reducer = ChannelReducer(3, alg, **kwargs)
    got = reducer.fit_transform(acts)
    ref_est = getattr(sklearn_decomposition, alg)(n_components=3, **kwargs)
    ref = ref_est.fit_transform(acts.reshape(-1, 10))
    assert got.shape == (1, 6, 7, 3)
    np.testing.assert_allclose(got.reshape(-1, 3), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reducer.components_, ref_est.components_, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(reducer.components, reducer.components_)  # Lucid's name without "_"
    assert isinstance(reducer._reducer, getattr(sklearn_decomposition, alg))
    # transform of other positions = the estimator's transform
    other = acts[:, ::-1, 1:]
    np.testing.assert_allclose(reducer.transform(other).reshape(-1, 3), ref_est.transform(other.reshape(-1, 10)),
                               rtol=1e-4, atol=1e-5)
    back = reducer.inverse_transform(got)
    assert back.shape == acts.shape
    np.testing.assert_allclose(back.reshape(-1, 10), ref_est.inverse_transform(ref), rtol=1e-4, atol=1e-5)


def test_nmf_reconstructs_a_low_rank_layer(acts):
    nmf = ChannelReducer(3, "NMF", random_state=0, max_iter=1000)
    factors = nmf(acts)  # __call__ fits the first time
    recon = factors @ nmf.components_
    assert np.abs(recon - acts).mean() < 0.05 * acts.mean()
    assert np.all(factors >= 0) and np.all(nmf.components_ >= 0)
    np.testing.assert_array_equal(nmf(acts), nmf.transform(acts))  # then it transforms
    np.testing.assert_allclose(nmf(acts), factors, atol=2e-3)


def test_reduction_alg_as_a_class_and_fit_returns_the_reducer(acts):
    reducer = ChannelReducer(2, sklearn_decomposition.PCA)
    assert reducer.fit(acts) is reducer
    assert reducer.components_.shape == (2, 10)


def test_errors(acts):
    with pytest.raises(ValueError, match="post-ReLU"):
        ChannelReducer(2, "NMF").fit(acts - 0.5)
    with pytest.raises(ValueError, match="larger than the 10 channels"):
        ChannelReducer(11, "NMF").fit_transform(acts)
    bad = acts.copy()
    bad[0, 1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ChannelReducer(2, "PCA").fit_transform(bad)
    with pytest.raises(ValueError, match="Closest: \\['NMF'"):
        ChannelReducer(2, "NMFF")
    with pytest.raises(ValueError, match="positive int"):
        ChannelReducer(0)
    with pytest.raises(ValueError, match="positive int"):
        ChannelReducer(2.5)
    with pytest.raises(ValueError, match="not fitted"):
        ChannelReducer(2, "PCA").transform(acts)
    fitted = ChannelReducer(2, "PCA").fit(acts)
    with pytest.raises(ValueError, match="fitted to 10"):
        fitted.transform(acts[..., :5])
    with pytest.raises(AttributeError):
        ChannelReducer(2, "PCA").components_  # noqa: B018 - not fitted: no components yet
