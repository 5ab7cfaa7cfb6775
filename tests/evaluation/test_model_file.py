"""`rtmpose eval --model-file`: an exported artifact through its deploy runner gives what the checkpoint gives."""
import json

import numpy as np
import pytest
import torch

from rtmpose import build_model
from rtmpose.cli import main
from rtmpose.seeded import seeded_state_dict
from tests.pose_checks import assert_ranking_decided, input_dependent, label_split_with_predictions


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from rtmpose.data.synthetic import make_synthetic
    from rtmpose.deploy.package import ExportSpec, export
    tmp = tmp_path_factory.mktemp('evalfile')
    data = tmp / 'syn'
    make_synthetic(data, seed=1, num_train=2, num_val=4, width=128, height=128, max_people=2, progress=False)
    model = build_model('rtmpose-t', input_size=(64, 64), sigma=(1.63, 1.89))
    # seeded weights, BN statistics from the val crops: logits of order 1 with clear peaks, varying with the input
    # (seed 11: 98 % of the keypoints have a decided argmax, the people's scores are 3x the needed 2 x tol apart)
    model.load_state_dict(seeded_state_dict(model.state_dict(), seed=11))
    input_dependent(model, data)
    # labels from the model's own predictions plus per-person noise: an AP strictly between 0 and 1
    labels = label_split_with_predictions(model, data)
    ck = tmp / 'final.pth'
    torch.save({'state_dict': model.state_dict(),
                'config': {'model': 'rtmpose-t', 'dataset': 'synthetic', 'data_dir': str(data),
                           'model_overrides': {'input_size': [64, 64], 'sigma': [1.63, 1.89]}}}, ck)
    rec = export(ExportSpec('rtmpose-t', 'onnxruntime', checkpoint=str(ck)), tmp / 'exports', verbose=False)
    assert rec['status'] == 'ok' and rec['input_size'] == [64, 64]
    return tmp, ck, tmp / 'exports' / rec['key'] / 'model.onnx', labels


def _run(tmp, name, *extra):
    out, res = tmp / f'{name}.json', tmp / f'{name}-results.json'
    assert main(['eval', *extra, '--out', str(out), '--results-file', str(res), '--no-progress', '--no-mlflow',
                 '--num-workers', '0']) == 0
    return json.loads(out.read_text()), json.loads(res.read_text())


def test_model_file_equals_checkpoint_for_fp32_onnx(setup, capsys):
    tmp, ck, onnx_file, labels = setup
    ref, ref_res = _run(tmp, 'ckpt', '--checkpoint', str(ck), '--set', 'nms_thr=null')
    # no --checkpoint: the artifact's export.json names the checkpoint that gives the architecture
    got, got_res = _run(tmp, 'file', '--model-file', str(onnx_file), '--set', 'nms_thr=null')
    assert 'through onnxruntime fp32' in capsys.readouterr().out
    assert got['info']['artifact']['backend'] == 'onnxruntime' and 'artifact' not in ref['info']
    decided, tol = labels['decided'], labels['tol']
    assert len(got_res) == len(ref_res) == len(decided)            # no NMS: one result per person, in order
    a = np.asarray([r['keypoints'] for r in ref_res]).reshape(len(ref_res), -1, 3)
    b = np.asarray([r['keypoints'] for r in got_res]).reshape(len(got_res), -1, 3)
    # ONNX Runtime and PyTorch differ by float32 rounding only, at most `tol` per logit (tests/pose_checks.py).
    # Where the argmax is decided (top-two margin > 2 x tol) the locations are the same bins, mapped back by the
    # same code: equal. A score (a maximum) moves by at most tol, and is far from 0 next to it.
    np.testing.assert_array_equal(a[decided][:, :2], b[decided][:, :2])
    assert np.abs(a[..., 2] - b[..., 2]).max() <= tol and a[..., 2].min() > 100 * tol
    assert a[..., :2].std() > 1.0 and a[..., 2].std() > 0          # not a comparison of constants
    # only decided keypoints are labelled, and the ranking has margin: the same metrics, exactly, strictly
    # between 0 and 1 (the labels are the predictions plus per-person noise)
    assert_ranking_decided(a[..., 2], [r['score'] for r in ref_res], tol)
    for k in ('AP', 'AP50', 'AR'):
        assert got[k] == ref[k], k
    assert 0.0 < ref['AP'] < 1.0 and 0.0 < ref['AR'] < 1.0


def test_a_perturbed_artifact_changes_the_predictions(setup, tmp_path):
    import onnx
    from onnx import numpy_helper
    tmp, ck, onnx_file, _ = setup
    model = onnx.load(str(onnx_file))
    init = max(model.graph.initializer, key=lambda t: np.prod(t.dims) if len(t.dims) == 2 else 0)
    w = numpy_helper.to_array(init).copy()
    w[: w.shape[0] // 2] *= -3.0
    init.CopyFrom(numpy_helper.from_array(w, init.name))
    bad = tmp_path / 'bad.onnx'
    onnx.save(model, str(bad))
    # no OKS-NMS, so both runs give one result per person, in the same order, and can be compared row by row
    ref, ref_res = _run(tmp, 'ckpt2', '--checkpoint', str(ck), '--set', 'nms_thr=null')
    got, bad_res = _run(tmp, 'bad', '--model-file', str(bad), '--checkpoint', str(ck), '--set', 'nms_thr=null')
    a = np.asarray([r['keypoints'] for r in ref_res]).reshape(len(ref_res), -1, 3)
    b = np.asarray([r['keypoints'] for r in bad_res]).reshape(len(bad_res), -1, 3)
    assert a.shape == b.shape and np.abs(a[..., :2] - b[..., :2]).max() > 1.0
    assert got['AP'] < ref['AP']


def test_model_file_without_architecture_is_one_line_error(tmp_path, capsys):
    from rtmpose.deploy.export import export_onnx
    m = build_model('rtmpose-t', input_size=(64, 64))
    f = export_onnx(m, tmp_path / 'loose.onnx', (1, 3, 64, 64))
    assert main(['eval', '--model-file', str(f), '--no-progress', '--no-mlflow']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'give --checkpoint' in err[0]
