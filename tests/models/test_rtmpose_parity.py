"""The suite's RTMPose against the real mmpose 1.3.2: names, shapes, parameter counts and outputs.

Fixtures come from tools/make_parity_fixtures.py run in the reference environment: the official model
gets seeded weights (BN statistics perturbed), runs on a seeded image, and only its outputs are stored.
"""
import json
import os
from collections import OrderedDict

import numpy as np
import pytest
import torch

from rtmpose import build_model
from rtmpose.seeded import seeded_images, seeded_state_dict
from tests.conftest import FIXTURES

PARITY = os.path.join(FIXTURES, 'parity')
REFERENCE = json.load(open(os.path.join(PARITY, 'reference.json')))['models']


def _build(case: str):
    name, _, k = case.partition('@')
    return build_model(name, num_keypoints=int(k) if k else 17)


@pytest.mark.parametrize('case', sorted(REFERENCE))
def test_state_dict_names_and_shapes_equal_mmpose(case):
    model = _build(case)
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert list(ours) == list(REFERENCE[case]['keys'])  # same names, same order
    assert ours == REFERENCE[case]['keys']
    assert sum(p.numel() for p in model.parameters()) == REFERENCE[case]['params']


def test_rtmpose_m_has_362_keys():
    assert len(build_model('rtmpose-m').state_dict()) == 362


@pytest.mark.parametrize('case', sorted(REFERENCE))
def test_outputs_equal_mmpose(case, tmp_path):
    model = _build(case)
    sd = seeded_state_dict(model.state_dict(), seed=0)
    assert any(k.endswith('running_var') and not torch.allclose(v, torch.ones_like(v)) for k, v in sd.items())
    # load through the released-checkpoint path: {'meta': ..., 'state_dict': ...}
    path = tmp_path / 'ckpt.pth'
    torch.save({'meta': {'dataset_meta': {'sigmas': np.ones(3, np.float32)}}, 'state_dict': OrderedDict(sd)}, path)
    name, _, k = case.partition('@')
    model = build_model(name, checkpoint=str(path), num_keypoints=int(k) if k else 17)
    w, h = REFERENCE[case]['input_size']
    with torch.no_grad():
        px, py = model(seeded_images(1, h, w, seed=0))
    ref = np.load(os.path.join(PARITY, f'model_{case}.npz'))
    assert px.shape == ref['simcc_x'].shape and py.shape == ref['simcc_y'].shape
    assert np.abs(px.numpy() - ref['simcc_x']).max() <= 1e-4
    assert np.abs(py.numpy() - ref['simcc_y']).max() <= 1e-4
    # the comparison is not vacuous: outputs vary across bins and keypoints
    assert ref['simcc_x'].std() > 0.1


def test_a_wrong_weight_breaks_parity():
    """Guards the parity test itself: one perturbed tensor must show up in the outputs."""
    model = build_model('rtmpose-t')
    sd = seeded_state_dict(model.state_dict(), seed=0)
    sd['head.gau.o.weight'] = sd['head.gau.o.weight'] * 1.01
    model.load_state_dict(sd)
    with torch.no_grad():
        px, _ = model(seeded_images(1, 256, 192, seed=0))
    ref = np.load(os.path.join(PARITY, 'model_rtmpose-t.npz'))
    assert np.abs(px.numpy() - ref['simcc_x']).max() > 1e-4
