import numpy as np
import pytest

from rtmpose.evaluation.nms import oks_iou, oks_nms
from rtmpose.evaluation.pckh import pckh
from tests.evaluation.conftest import COCO_SIGMAS


def test_oks_iou_hand_computed():
    g = np.zeros((17, 3))
    g[:, 2] = 1
    d = g.copy()
    d[0, 0] = 2.0  # one keypoint 2 px off
    area = 100.0
    var = (COCO_SIGMAS[0] * 2) ** 2
    expect = (16 + np.exp(-4.0 / var / (area + np.spacing(1)) / 2)) / 17
    assert oks_iou(g, d[None], area, np.array([area]), COCO_SIGMAS)[0] == pytest.approx(expect, rel=1e-6)


def test_oks_nms_keeps_highest_and_distinct():
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.uniform(0, 100, (17, 2)), np.ones((17, 1))], 1)
    near = a + np.array([0.3, 0.3, 0])
    far = a + np.array([300, 0, 0])
    kpts = np.stack([near, a, far])
    keep = oks_nms(kpts, np.array([0.5, 0.9, 0.1]), np.array([1e4] * 3), COCO_SIGMAS, thr=0.9)
    assert keep.tolist() == [1, 2]
    assert oks_nms(kpts, np.array([0.5, 0.9, 0.1]), np.array([1e4] * 3), COCO_SIGMAS, thr=1.0).tolist() == [1, 0, 2]


def test_pckh_hand_computed():
    # two people, 16 joints; head size 10 -> PCKh@0.5 threshold 5 px, @0.1 1 px
    gt = np.zeros((2, 16, 2))
    mask = np.ones((2, 16), bool)
    mask[1, 0] = False          # r_ankle of person 2 not visible: not counted
    head = np.array([10.0, 10.0])
    pred = gt.copy() - 1.0      # mmpose adds 1 to the predictions (MATLAB indexing)
    pred[0, 0, 0] += 6.0        # r_ankle person 1: 6 px off -> miss at 0.5
    pred[0, 9, 0] += 3.0        # head_top person 1: 3 px -> hit at 0.5, miss at 0.1
    pred[1, 7, 0] += 50.0       # thorax: excluded from the mean
    m = pckh(pred, gt, mask, head)
    # joints counted: all but pelvis/thorax; visible counts 2 each except r_ankle (1): total 27
    assert m['PCKh'] == pytest.approx(100 * 26 / 27)
    assert m['PCKh@0.1'] == pytest.approx(100 * 25 / 27)
    assert m['Ankle PCKh'] == pytest.approx(50.0)   # r_ankle 0/1, l_ankle 2/2
    assert m['Head PCKh'] == pytest.approx(100.0)
