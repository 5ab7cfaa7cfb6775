"""Table 1 baselines: complexity as the paper reports it, and parity with mmpose 1.3.2's modules.

Fixtures: tests/fixtures/baselines/ from tools/make_baseline_fixtures.py (official configs, fvcore counts,
seeded weights and inputs from rtmpose.seeded).
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rtmpose.complexity import count_flops
from rtmpose.errors import Error
from rtmpose.models.baselines import BASELINE_NAMES, build_baseline
from rtmpose.seeded import seeded_images, seeded_state_dict

FIX = Path(__file__).parent.parent / 'fixtures' / 'baselines'
REF = json.loads((FIX / 'reference.json').read_text())

# Table 1 of the paper: total GFLOPs, total params (M), head GFLOPs, head params (M)
PAPER = {
    'simplebaseline-res50': (5.45, 34.00, 1.425, 10.492),
    'simcc-res50': (5.50, 36.75, 1.472, 13.245),
    'simcc-res50-wo-deconv': (4.03, 23.59, 0.002, 0.079),
}


@pytest.fixture(scope='module')
def measured():
    out = {}
    x = torch.zeros(1, 3, 256, 192)
    for name in BASELINE_NAMES:
        m = build_baseline(name)
        feats = m.backbone(x)
        out[name] = dict(model=m, flops=count_flops(m, x), head_flops=count_flops(m.head, feats),
                         params=sum(p.numel() for p in m.parameters()),
                         head_params=sum(p.numel() for p in m.head.parameters()))
    return out


@pytest.mark.parametrize('name', BASELINE_NAMES)
def test_complexity_matches_table1_within_1_percent(measured, name):
    got = measured[name]
    gflops, params_m, head_gflops, head_params_m = PAPER[name]
    assert got['flops'] / 1e9 == pytest.approx(gflops, rel=0.01)
    assert got['params'] / 1e6 == pytest.approx(params_m, rel=0.01)
    # the paper rounds SimCC*'s head to 0.002 G; 3 decimals is all it states
    assert got['head_flops'] / 1e9 == pytest.approx(head_gflops, rel=0.01, abs=5e-4)
    assert got['head_params'] / 1e6 == pytest.approx(head_params_m, rel=0.01)


@pytest.mark.parametrize('name', BASELINE_NAMES)
def test_complexity_equals_fvcore_on_official_modules(measured, name):
    ref, got = REF[name], measured[name]
    assert got['flops'] == ref['flops_fvcore']
    assert got['head_flops'] == ref['head_flops_fvcore']
    assert got['params'] == ref['params'] and got['head_params'] == ref['head_params']


@pytest.mark.parametrize('name', BASELINE_NAMES)
def test_state_dict_layout_is_mmpose(measured, name):
    sd = measured[name]['model'].state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == REF[name]['keys']


@pytest.mark.parametrize('name', BASELINE_NAMES)
def test_outputs_match_official_with_same_weights(measured, name):
    model = measured[name]['model']
    model.load_state_dict(seeded_state_dict(model.state_dict(), 0))
    x = seeded_images(1, 256, 192, 0)
    ref = np.load(FIX / f'{name}.npz')
    with torch.no_grad():
        feats = model.backbone(x)
        out = model.head(feats)
    np.testing.assert_allclose(feats[:, :8].numpy(), ref['backbone'], rtol=1e-4, atol=1e-4)
    if isinstance(out, tuple):
        np.testing.assert_allclose(out[0].numpy(), ref['simcc_x'], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(out[1].numpy(), ref['simcc_y'], rtol=1e-4, atol=1e-4)
        assert out[0].shape == (1, 17, 384) and out[1].shape == (1, 17, 512)
    else:
        assert out.shape == (1, 17, 64, 48)
        np.testing.assert_allclose(out[:, :3].numpy(), ref['heatmaps'], rtol=1e-4, atol=1e-5)


def test_representation_sizes():
    from rtmpose.models.baselines import BASELINE_CONFIGS
    assert BASELINE_CONFIGS['simplebaseline-res50'].representation == '64x48'
    assert BASELINE_CONFIGS['simcc-res50'].representation == '512+384'


def test_unknown_baseline_is_one_line_error():
    with pytest.raises(Error, match='unknown baseline'):
        build_baseline('resnet-9000')
