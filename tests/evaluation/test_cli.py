"""`rtmpose eval` end to end on a tiny synthetic set: ground-truth boxes vs a detection file, flip test."""
import json

import pytest
import torch

from rtmpose import build_model
from rtmpose.cli import main
from rtmpose.seeded import seeded_images, seeded_state_dict
from tests.pose_checks import input_dependent, label_split_with_predictions


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from rtmpose.data.synthetic import make_synthetic
    tmp = tmp_path_factory.mktemp('eval')
    data = tmp / 'syn'
    make_synthetic(data, seed=1, num_train=2, num_val=4, width=128, height=128, max_people=2, progress=False)
    model = build_model('rtmpose-t', input_size=(64, 64), sigma=(1.63, 1.89))
    # seeded weights, BN statistics from the val crops: logits of order 1 with clear peaks, varying with the input
    model.load_state_dict(seeded_state_dict(model.state_dict(), seed=11))
    input_dependent(model, data)
    # labels made from the model's own predictions plus per-person noise: its AP lies strictly between 0 and 1
    # (on the synthetic labels it is 0, and 0 == 0 would hold whatever the boxes did)
    label_split_with_predictions(model, data)
    ck = tmp / 'final.pth'
    torch.save({'state_dict': model.state_dict(),
                'config': {'model': 'rtmpose-t', 'dataset': 'synthetic', 'data_dir': str(data),
                           'model_overrides': {'input_size': [64, 64], 'sigma': [1.63, 1.89]}}}, ck)
    val = json.loads((data / 'val.json').read_text())
    dets = [{'image_id': a['image_id'], 'category_id': 1, 'bbox': a['bbox'], 'score': 0.9} for a in val['annotations']]
    (tmp / 'dets.json').write_text(json.dumps(dets))
    return tmp, ck


def test_eval_gt_boxes_and_detections(setup, capsys):
    tmp, ck = setup
    assert main(['eval', '--checkpoint', str(ck), '--out', str(tmp / 'gt.json'), '--no-progress', '--no-mlflow']) == 0
    assert 'ground-truth boxes' in capsys.readouterr().out
    gt = json.loads((tmp / 'gt.json').read_text())
    assert gt['info']['boxes'].startswith('ground-truth') and gt['info']['flip_test'] is True
    assert main(['eval', '--checkpoint', str(ck), '--bbox-file', str(tmp / 'dets.json'), '--out', str(tmp / 'det.json'),
                 '--no-progress', '--no-mlflow']) == 0
    det = json.loads((tmp / 'det.json').read_text())
    assert det['info']['boxes'].startswith('detections from')
    # the same boxes with one common score: the same crops, the same ranking, so the same AP, exactly
    assert 0.0 < gt['AP'] < 1.0 and 0.0 < gt['AR'] < 1.0
    for k in ('AP', 'AP50', 'AP75', 'AR'):
        assert det[k] == gt[k], k


def test_eval_wrong_model_is_one_line_error(setup, capsys):
    tmp, ck = setup
    assert main(['eval', '--checkpoint', str(ck), '--model', 'rtmpose-s', '--no-progress', '--no-mlflow']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'another model size' in err[0]


def test_flip_test_averages_flipped_simcc():
    from rtmpose.data.meta import DATASET_META
    from rtmpose.evaluation.predict import simcc_outputs
    from rtmpose.topdown import flip_simcc
    model = build_model('rtmpose-t', input_size=(64, 64))
    model.load_state_dict(seeded_state_dict(model.state_dict(), seed=0))   # logits of order 1, not ~1e-7
    model.eval()
    x = seeded_images(2, 64, 64, seed=1)
    flip = DATASET_META['coco'].flip_indices
    sx, sy = simcc_outputs(model, x, flip, flip_test=True)
    with torch.no_grad():
        ax, ay = model(x)
        fx, fy = flip_simcc(*model(x.flip(-1)), list(flip))
    # the same inputs through the same kernels, and halving is exact: equal bit for bit
    assert torch.equal(sx, (ax + fx) / 2) and torch.equal(sy, (ay + fy) / 2)
    # and the flipped pass really contributes: the average is far (in logit scale) from the plain output
    assert (sx - ax).abs().max() > 0.1 * ax.abs().max() and (sy - ay).abs().max() > 0.1 * ay.abs().max()


def test_eval_without_data_dir_is_one_line_error_naming_the_setting(setup, capsys):
    tmp, _ = setup
    torch.manual_seed(0)
    model = build_model('rtmpose-t', input_size=(64, 64), sigma=(1.63, 1.89))
    ck = tmp / 'no_data_dir.pth'
    torch.save({'state_dict': model.state_dict(),
                'config': {'model': 'rtmpose-t', 'dataset': 'synthetic',
                           'model_overrides': {'input_size': [64, 64], 'sigma': [1.63, 1.89]}}}, ck)
    assert main(['eval', '--checkpoint', str(ck), '--no-progress', '--no-mlflow']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and '--data-dir' in err[0] and 'eval.data_dir' in err[0]


def test_eval_reads_the_checkpoint_once(setup, monkeypatch):
    import rtmpose.checkpoint
    from rtmpose.evaluation.config import EvalConfig
    from rtmpose.evaluation.runner import evaluate_checkpoint
    tmp, ck = setup
    calls = []
    real = rtmpose.checkpoint.read_checkpoint
    monkeypatch.setattr(rtmpose.checkpoint, 'read_checkpoint', lambda path: calls.append(path) or real(path))
    out = evaluate_checkpoint(EvalConfig(checkpoint=str(ck), device='cpu', num_workers=0), progress=False)
    assert calls == [str(ck)] and 0.0 < out['metrics']['AP'] < 1.0
