"""Pose AP with the detector's boxes against ground-truth boxes, paired over images, on the tiny set: the committed
pre-trained pose model (which finds the tiny set's people) and an untrained detector made confident everywhere."""
import json

import pytest
import torch

from tests.train.conftest import run_cli, tiny_data  # noqa: F401 (fixture)


def test_pipeline_accuracy_pairs_the_two_evaluations(tmp_path, tiny_data):
    from rtmpose.harness.pipeline_accuracy import PipelineAccuracyConfig, measure
    from rtmpose.models.rtmdet import build_detector
    from rtmpose.train.rtmdet_loss import init_detector_weights
    from tests.train.conftest import REPO
    pre = torch.load(f'{REPO}/pretrained/rtmpose-t_synthetic-96x128.pth', weights_only=False)
    pose = tmp_path / 'pose.pth'
    torch.save({'state_dict': pre['state_dict'], 'config': {k: pre['meta'][k] for k in
                                                            ('model', 'dataset', 'model_overrides')}}, pose)
    det = build_detector('rtmdet-nano', input_size=128)
    init_detector_weights(det, torch.Generator().manual_seed(0))
    with torch.no_grad():
        for cls, reg in zip(det.bbox_head.rtm_cls, det.bbox_head.rtm_reg):
            cls.bias.fill_(2.0)          # confident everywhere, boxes of 4 strides around every prior
            reg.bias.fill_(2.0)
    torch.save({'state_dict': det.state_dict()}, tmp_path / 'det.pth')
    out = tmp_path / 'accuracy.json'
    r = measure(PipelineAccuracyConfig(pose_checkpoint=str(pose),
                                       detector_checkpoint=str(tmp_path / 'det.pth'), detector_input_size=128,
                                       data_dir=tiny_data, bootstrap=200, out=str(out)), progress=False)
    assert json.loads(out.read_text()) == json.loads(json.dumps(r))
    # the ground-truth side is the eval stage's own AP for this checkpoint
    ev = run_cli(['eval', '--checkpoint', str(pose), '--data-dir', tiny_data,
                  '--out', str(tmp_path / 'eval.json'), '--no-progress', '--no-mlflow'])
    assert ev.returncode == 0, ev.stderr
    assert r['gt_boxes']['AP'] == pytest.approx(json.loads((tmp_path / 'eval.json').read_text())['AP'], abs=1e-12)
    assert r['gt_boxes']['AP'] > 0.3              # a model that works, so the comparison means something
    d = r['delta_AP']
    assert d['value'] == pytest.approx(r['detector_boxes']['AP'] - r['gt_boxes']['AP'], abs=1e-12)
    assert d['ci95'][0] <= d['ci95'][1]
    assert 'detections from' in r['detector_boxes']['boxes'] and 'ground-truth' in r['gt_boxes']['boxes']
    assert len(json.loads((tmp_path / 'accuracy.detections.json').read_text())) == r['box_AP']['detections'] > 6
    assert r['box_AP']['images'] == 6 and 'AP_ci_low' in r['box_AP']
