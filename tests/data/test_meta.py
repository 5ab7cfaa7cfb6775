import re

import numpy as np
import pytest

from rtmpose.data.meta import AIC_TO_COCO, DATASET_META, get_meta
from rtmpose.errors import Error


def _mirrored(name: str) -> str:
    """The keypoint name of the other side: left <-> right anywhere, or an l_ / r_ prefix (MPII style)."""
    out = re.sub('left|right', lambda g: 'right' if g.group() == 'left' else 'left', name)
    return out if out != name else re.sub('^([lr])_', lambda g: 'r_' if g.group(1) == 'l' else 'l_', name)


@pytest.mark.parametrize('name', sorted(DATASET_META))
def test_tables_are_consistent(name):
    m = DATASET_META[name]
    k = m.num_keypoints
    assert len(m.keypoint_names) == len(m.sigmas) == len(m.flip_indices) == len(m.joint_weights) == k
    flip = np.array(m.flip_indices)
    assert (flip[flip] == np.arange(k)).all()          # flipping twice is the identity
    for i, j in enumerate(flip):                         # left <-> right by name
        a, b = m.keypoint_names[i].lower(), m.keypoint_names[j].lower()
        if _mirrored(a) == a:                            # no side in the name: on the midline, or a face point
            assert i == j or (name == 'coco-wholebody' and a.startswith('face-')), (a, b)
        else:
            assert _mirrored(a) == b, (a, b)
    assert all(0 <= a < k and 0 <= b < k for a, b in m.skeleton)
    assert set(m.upper_body_ids).isdisjoint(m.lower_body_ids)


def test_known_values():
    assert DATASET_META['coco'].num_keypoints == 17
    assert DATASET_META['coco-wholebody'].num_keypoints == 133
    assert DATASET_META['aic'].num_keypoints == 14
    assert DATASET_META['crowdpose'].num_keypoints == 14
    assert DATASET_META['mpii'].num_keypoints == 16
    assert DATASET_META['ap10k'].num_keypoints == 17
    spec = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10
    np.testing.assert_allclose(DATASET_META['coco'].sigmas, spec)
    np.testing.assert_allclose(DATASET_META['coco-wholebody'].sigmas[:17], spec)
    assert DATASET_META['coco'].upper_body_ids == tuple(range(11))


def test_aic_to_coco_maps_same_joints():
    aic, coco = DATASET_META['aic'].keypoint_names, DATASET_META['coco'].keypoint_names
    assert len(AIC_TO_COCO) == 12
    for a, c in AIC_TO_COCO:
        assert aic[a] == coco[c]


def test_unknown_name_is_a_user_error():
    with pytest.raises(Error, match='unknown data set'):
        get_meta('nope')
