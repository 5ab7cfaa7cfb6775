"""SimCCCodec against mmpose 1.3.2's SimCCLabel (fixtures from tools/make_parity_fixtures.py)."""
import json
import os

import numpy as np
import pytest

from rtmpose import SimCCCodec
from tests.conftest import FIXTURES

PARITY = os.path.join(FIXTURES, 'parity')
CASES = json.load(open(os.path.join(PARITY, 'reference.json')))['codec']


def _codec(kw):
    sigma = kw['sigma'] if np.isscalar(kw['sigma']) else tuple(kw['sigma'])
    return SimCCCodec(tuple(kw['input_size']), sigma, kw['simcc_split_ratio'], normalize=kw['normalize'])


@pytest.mark.parametrize('case', sorted(CASES))
def test_encode_matches_mmpose(case):
    ref = np.load(os.path.join(PARITY, f'codec_{case}.npz'))
    x, y, w = _codec(CASES[case]).encode(ref['keypoints'], ref['visible'])
    assert x.shape == ref['x_labels'].shape and x.dtype == np.float32
    np.testing.assert_allclose(x, ref['x_labels'], atol=1e-6)
    np.testing.assert_allclose(y, ref['y_labels'], atol=1e-6)
    np.testing.assert_array_equal(w, ref['weights'])
    # the fixture exercises both branches: out-of-window points zeroed, invisible ones skipped
    assert (ref['weights'] == 0).any() and (ref['visible'] == 0).any() and (ref['x_labels'].max(-1) > 0).any()


@pytest.mark.parametrize('case', sorted(CASES))
def test_decode_matches_mmpose(case):
    ref = np.load(os.path.join(PARITY, f'codec_{case}.npz'))
    kpts, scores = _codec(CASES[case]).decode(ref['simcc_x'], ref['simcc_y'])
    np.testing.assert_array_equal(kpts, ref['decoded'])
    np.testing.assert_array_equal(scores, ref['scores'])
    assert (ref['scores'] <= 0).any()


def test_round_trip_is_exact_to_half_a_bin():
    codec = SimCCCodec((192, 256), (4.9, 5.66))
    rng = np.random.default_rng(0)
    kpts = rng.uniform([0, 0], [191, 255], (5, 17, 2))
    x, y, w = codec.encode(kpts, np.ones((5, 17)))
    dec, scores = codec.decode(x, y)
    assert np.abs(dec - kpts).max() <= 0.25 + 1e-6  # bins of 0.5 px: rounding error <= 0.25 px
    np.testing.assert_allclose(scores, 1.0)


def test_invisible_and_far_outside():
    codec = SimCCCodec((192, 256), (4.9, 5.66))
    kpts = np.array([[[50.0, 50.0], [-100.0, 50.0], [50.0, 400.0], [60.0, 60.0]]])
    x, y, w = codec.encode(kpts, np.array([[1, 1, 1, 0]]))
    assert list(w[0]) == [1, 0, 0, 0]
    assert x[0, 1:].max() == 0 and y[0, 1:].max() == 0
    assert x[0, 0].argmax() == 100 and y[0, 0].argmax() == 100


def test_non_positive_score_marks_location():
    codec = SimCCCodec((192, 256), (4.9, 5.66))
    sx, sy = -np.ones((1, 2, 384)), np.ones((1, 2, 512))
    sx[0, 1, 7] = 3.0
    kpts, scores = codec.decode(sx, sy)
    # mmpose sets the bin location to -1 and then divides by the split ratio
    np.testing.assert_array_equal(kpts[0, 0], [-0.5, -0.5])
    np.testing.assert_array_equal(kpts[0, 1], [3.5, 0.0])
    assert scores[0, 0] == -1 and scores[0, 1] == 1
