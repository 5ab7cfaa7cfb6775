"""KLDiscretLoss against mmpose 1.3.2's (values from tools/make_parity_fixtures.py)."""
import json
import os

import pytest
import torch

from rtmpose import KLDiscretLoss
from rtmpose.seeded import loss_inputs
from tests.conftest import FIXTURES

REF = json.load(open(os.path.join(FIXTURES, 'parity', 'reference.json')))['loss']


@pytest.mark.parametrize('case', sorted(REF['cases']))
def test_matches_mmpose(case):
    t = {k: torch.from_numpy(v) for k, v in loss_inputs().items()}
    loss = KLDiscretLoss(**REF['cases'][case])
    value = loss(t['pred_x'], t['pred_y'], t['target_x'], t['target_y'], t['weights'])
    assert value.item() == pytest.approx(REF['values'][case], rel=1e-6, abs=1e-8)


def test_zero_at_perfect_prediction_and_weighting():
    target = torch.rand(2, 3, 20)
    loss = KLDiscretLoss(beta=10.0, label_softmax=True)
    w = torch.ones(2, 3)
    assert loss(target, target, target, target, w).item() == pytest.approx(0.0, abs=1e-6)
    pred = torch.randn(2, 3, 20)
    full = loss(pred, pred, target, target, w)
    w[0, 0] = 0
    assert loss(pred, pred, target, target, w) < full


def test_gradient_flows():
    pred = torch.randn(2, 17, 384, requires_grad=True)
    loss = KLDiscretLoss()(pred, pred, torch.rand(2, 17, 384), torch.rand(2, 17, 384), torch.ones(2, 17))
    loss.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
