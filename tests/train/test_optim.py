"""Parameter groups, lr schedule and EMA against fixtures from the real mmengine / mmdet."""
import json
import os

import numpy as np
import pytest
import torch

from rtmpose import build_model
from rtmpose.train.optim import ExpMomentumEMA, Schedule, param_groups
from tests.conftest import FIXTURES

FIX = os.path.join(FIXTURES, 'train')


@pytest.fixture(scope='module')
def ref():
    with open(os.path.join(FIX, 'schedule_and_decay.json')) as f:
        return json.load(f)


def test_weight_decay_per_parameter_equals_mmengine(ref):
    model = build_model('rtmpose-t')
    ours = {n: g['weight_decay'] for g in param_groups(model, 4e-3, 0.05) for n in g['names']}
    assert ours == pytest.approx(ref['weight_decay'])
    # the point of the check: ScaleNorm g, Scale and GAU gamma/beta are NOT exempt in mmengine
    assert ours['head.mlp.0.g'] == 0.05 and ours['head.gau.gamma'] == 0.05
    assert ours['head.gau.res_scale.scale'] == 0.05
    assert ours['head.final_layer.bias'] == 0.0 and ours['backbone.stem.0.bn.weight'] == 0.0


def test_lr_schedule_equals_mmengine(ref):
    s = ref['schedule']
    sched = Schedule(s['lr'], s['epochs'] * s['iters_per_epoch'], s['iters_per_epoch'], s['warmup'], 1e-5,
                     None, s['epochs'], eta_min=s['base_lr'] * 0.05)
    ours = [sched.lr(t) for t in range(len(ref['lr']))]
    assert ours == pytest.approx(ref['lr'], rel=1e-9, abs=1e-15)


def test_ema_equals_mmdet_expmomentumema():
    ref = np.load(os.path.join(FIX, 'ema_mmdet.npz'))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Conv2d(4, 2, 1))
    ema = ExpMomentumEMA(model, momentum=0.0002, gamma=5)
    g = torch.Generator().manual_seed(1)
    for _ in range(6):
        with torch.no_grad():
            for v in model.state_dict().values():
                if v.dtype.is_floating_point:
                    v.add_(torch.randn(v.shape, generator=g) * 0.1)
            model.train()(torch.randn(2, 3, 8, 8, generator=g))
        ema.update(model)
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(v.numpy(), ref[f'src.{k}'], rtol=1e-6)
    for k, v in ema.module.state_dict().items():
        np.testing.assert_allclose(v.numpy(), ref[f'ema.{k}'], rtol=1e-5, atol=1e-7)
    # num_batches_tracked keeps its first copied value, as in mmengine (integer buffers are not averaged)
    assert int(ema.module.state_dict()['1.num_batches_tracked']) == 1
