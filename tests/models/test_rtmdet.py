"""RTMDet nano/tiny against mmdet 3.3.0 (fixtures from tools/make_rtmdet_fixtures.py)."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rtmpose.errors import Error
from rtmpose.models.rtmdet import OUTPUT_NAMES, build_detector
from rtmpose.seeded import seeded_images, seeded_state_dict

FIX = Path(__file__).parents[1] / 'fixtures' / 'rtmdet'
REF = json.loads((FIX / 'reference.json').read_text())


@pytest.mark.parametrize('name', ['rtmdet-nano', 'rtmdet-tiny'])
def test_state_dict_names_shapes_and_params_match_mmdet(name):
    model = build_detector(name)
    ref = REF['models'][name]
    assert {k: list(v.shape) for k, v in model.state_dict().items()} == ref['keys']
    assert list(model.state_dict()) == list(ref['keys'])
    assert sum(p.numel() for p in model.parameters()) == ref['params']
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert (bn.eps, bn.momentum) == (ref['bn_eps'], ref['bn_momentum'])


@pytest.mark.parametrize('name', ['rtmdet-nano', 'rtmdet-tiny'])
def test_raw_head_outputs_match_mmdet(name):
    model = build_detector(name)
    model.load_state_dict(seeded_state_dict(model.state_dict(), 0))
    size = REF['models'][name]['input_size']
    assert model.config.input_size == size
    with torch.no_grad():
        out = model(seeded_images(1, size, size, 0))
    ref = np.load(FIX / f'model_{name}.npz')
    assert len(out) == len(OUTPUT_NAMES)
    for key, o in zip(OUTPUT_NAMES, out):
        np.testing.assert_allclose(o.numpy(), ref[key], atol=1e-4, rtol=1e-4, err_msg=key)


def test_shared_convs_are_one_tensor_in_tiny():
    model = build_detector('rtmdet-tiny')
    head = model.bbox_head
    assert head.cls_convs[2][1].conv is head.cls_convs[0][1].conv
    assert head.cls_convs[2][1].bn is not head.cls_convs[0][1].bn


def test_checkpoint_loads_through_load_into(tmp_path):
    model = build_detector('rtmdet-nano')
    sd = seeded_state_dict(model.state_dict(), 3)
    torch.save({'meta': {'epoch': 1}, 'state_dict': sd}, tmp_path / 'det.pth')
    loaded = build_detector('rtmdet-nano', tmp_path / 'det.pth')
    assert torch.equal(loaded.state_dict()['bbox_head.rtm_cls.0.weight'], sd['bbox_head.rtm_cls.0.weight'])
    torch.save({'state_dict': seeded_state_dict(build_detector('rtmdet-tiny').state_dict())}, tmp_path / 't.pth')
    with pytest.raises(Error, match='missing key|shape'):
        build_detector('rtmdet-nano', tmp_path / 't.pth')


def test_unknown_detector_is_a_user_error():
    with pytest.raises(Error, match='unknown detector'):
        build_detector('rtmdet-huge')
