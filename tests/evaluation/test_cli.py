"""`rtmpose eval` end to end on a tiny synthetic set: ground-truth boxes vs a detection file, flip test."""
import json

import pytest
import torch

from rtmpose import build_model
from rtmpose.cli import main


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from rtmpose.data.synthetic import make_synthetic
    tmp = tmp_path_factory.mktemp('eval')
    data = tmp / 'syn'
    make_synthetic(data, seed=1, num_train=2, num_val=4, width=128, height=128, max_people=2, progress=False)
    torch.manual_seed(0)
    model = build_model('rtmpose-t', input_size=(64, 64), sigma=(1.63, 1.89))
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
    # the same boxes with one common score: the same ranking, so the same AP
    assert det['AP'] == pytest.approx(gt['AP']) and 0.0 <= gt['AP'] <= 1.0


def test_eval_wrong_model_is_one_line_error(setup, capsys):
    tmp, ck = setup
    assert main(['eval', '--checkpoint', str(ck), '--model', 'rtmpose-s', '--no-progress', '--no-mlflow']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'another model size' in err[0]


def test_flip_test_averages_flipped_simcc():
    from rtmpose.data.meta import DATASET_META
    from rtmpose.evaluation.predict import simcc_outputs
    from rtmpose.topdown import flip_simcc
    torch.manual_seed(0)
    model = build_model('rtmpose-t', input_size=(64, 64)).eval()
    x = torch.randn(2, 3, 64, 64)
    flip = DATASET_META['coco'].flip_indices
    sx, sy = simcc_outputs(model, x, flip, flip_test=True)
    with torch.no_grad():
        ax, ay = model(x)
        fx, fy = flip_simcc(*model(x.flip(-1)), list(flip))
    assert torch.allclose(sx, (ax + fx) / 2) and torch.allclose(sy, (ay + fy) / 2)
    assert not torch.equal(sx, ax)


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
    assert calls == [str(ck)] and 0.0 <= out['metrics']['AP'] <= 1.0
