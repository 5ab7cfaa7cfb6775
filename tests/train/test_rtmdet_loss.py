"""RTMDet's training objective against the real mmdet 3.3.0 (fixtures from tools/make_rtmdet_loss_fixtures.py in
the reference environment, docs/reference-environment.md): the DynamicSoftLabelAssigner's assignment, the
per-level QualityFocalLoss and GIoULoss of RTMDetHead.loss_by_feat, and their gradients.

Tolerances: the assignment is discrete (exact); IoUs and losses are float32 sums over at most 2100 priors of
terms computed by the same formulas in the same order, 1e-5 relative covers a different summation order (2100
* 2^-24 ~ 1.3e-4 worst case in theory, observed bit-equal here); gradients 1e-5 relative to their largest."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rtmpose.train.rtmdet_loss import assign, distance2bbox, level_priors, rtmdet_loss

FIX = Path(__file__).resolve().parents[1] / 'fixtures' / 'rtmdet'
LEVELS = (8, 16, 32)


@pytest.fixture(scope='module')
def fixture():
    if not (FIX / 'loss.npz').exists():
        pytest.skip('tests/fixtures/rtmdet/loss.npz missing (tools/make_rtmdet_loss_fixtures.py)')
    return dict(np.load(FIX / 'loss.npz')), json.loads((FIX / 'loss.json').read_text())


def _inputs(arrays):
    cls = [torch.tensor(arrays[f'cls_{s}'], requires_grad=True) for s in LEVELS]
    reg = [torch.tensor(arrays[f'reg_{s}'], requires_grad=True) for s in LEVELS]
    gts = [torch.tensor(arrays[f'gt_{i}']) for i in range(2)]
    return cls, reg, gts


def test_the_assignment_equals_mmdets(fixture):
    arrays, ref = fixture
    cls, reg, gts = _inputs(arrays)
    priors = torch.cat(level_priors([tuple(c.shape[-2:]) for c in cls]))
    for i in range(2):
        scores = torch.cat([c[i].detach().permute(1, 2, 0).reshape(-1, 1) for c in cls])
        dist = torch.cat([r[i].detach().permute(1, 2, 0).reshape(-1, 4) for r in reg])
        a = assign(priors, scores, distance2bbox(priors, dist), gts[i], torch.zeros(len(gts[i]), dtype=torch.long))
        assert np.array_equal(a.gt_index.numpy(), arrays[f'assigned_gt_{i}'])
        assert np.array_equal(a.labels.numpy(), arrays[f'assigned_labels_{i}'])
        assert int((a.gt_index > 0).sum()) == ref[f'positives_{i}'] > 0
        pos = a.gt_index.numpy() > 0
        np.testing.assert_allclose(a.max_overlaps.numpy()[pos], arrays[f'max_overlaps_{i}'][pos], rtol=1e-5, atol=1e-7)


def test_losses_and_gradients_equal_mmdets(fixture):
    arrays, ref = fixture
    cls, reg, gts = _inputs(arrays)
    labels = [torch.zeros(len(g), dtype=torch.long) for g in gts]
    per_level = {}
    out = rtmdet_loss(cls, reg, gts, labels, per_level=per_level)
    for s in LEVELS:
        for kind in ('cls', 'bbox'):
            assert per_level[f'loss_{kind}_{s}'] == pytest.approx(ref[f'loss_{kind}_{s}'], rel=1e-5)
    assert float(out['loss'].detach()) == pytest.approx(sum(v for k, v in ref.items() if k.startswith('loss_')
                                                   and isinstance(v, float)), rel=1e-5)
    out['loss'].backward()
    for s, c, r in zip(LEVELS, cls, reg):
        for name, got in ((f'grad_cls_{s}', c.grad), (f'grad_reg_{s}', r.grad)):
            want = arrays[name]
            scale = float(np.abs(want).max())
            assert scale > 0, name
            np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-5 * scale, err_msg=name)


def test_no_ground_truth_is_all_background():
    cls = [torch.zeros(1, 1, 320 // s, 320 // s, requires_grad=True) for s in LEVELS]
    reg = [torch.full((1, 4, 320 // s, 320 // s), float(s), requires_grad=True) for s in LEVELS]
    out = rtmdet_loss(cls, reg, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)])
    assert float(out['loss_bbox']) == 0.0
    # every prior is a negative: QFL = BCE(0, 0) * sigmoid(0)^2 = ln 2 / 4 per prior, over 2100 priors
    assert float(out['loss_cls']) == pytest.approx(2100 * np.log(2) / 4, rel=1e-6)
