"""`rtmpose eval --model-file`: an exported artifact through its deploy runner gives what the checkpoint gives."""
import json

import numpy as np
import pytest
import torch

from rtmpose import build_model
from rtmpose.cli import main
from rtmpose.seeded import seeded_state_dict


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from rtmpose.data.synthetic import make_synthetic
    from rtmpose.deploy.package import ExportSpec, export
    tmp = tmp_path_factory.mktemp('evalfile')
    data = tmp / 'syn'
    make_synthetic(data, seed=1, num_train=2, num_val=4, width=128, height=128, max_people=2, progress=False)
    model = build_model('rtmpose-t', input_size=(64, 64), sigma=(1.63, 1.89))
    model.load_state_dict(seeded_state_dict(model.state_dict(), seed=5))   # non-trivial logits
    ck = tmp / 'final.pth'
    torch.save({'state_dict': model.state_dict(),
                'config': {'model': 'rtmpose-t', 'dataset': 'synthetic', 'data_dir': str(data),
                           'model_overrides': {'input_size': [64, 64], 'sigma': [1.63, 1.89]}}}, ck)
    rec = export(ExportSpec('rtmpose-t', 'onnxruntime', checkpoint=str(ck)), tmp / 'exports', verbose=False)
    assert rec['status'] == 'ok' and rec['input_size'] == [64, 64]
    return tmp, ck, tmp / 'exports' / rec['key'] / 'model.onnx'


def _run(tmp, name, *extra):
    out, res = tmp / f'{name}.json', tmp / f'{name}-results.json'
    assert main(['eval', *extra, '--out', str(out), '--results-file', str(res), '--no-progress', '--no-mlflow',
                 '--num-workers', '0']) == 0
    return json.loads(out.read_text()), json.loads(res.read_text())


def test_model_file_equals_checkpoint_for_fp32_onnx(setup, capsys):
    tmp, ck, onnx_file = setup
    ref, ref_res = _run(tmp, 'ckpt', '--checkpoint', str(ck))
    # no --checkpoint: the artifact's export.json names the checkpoint that gives the architecture
    got, got_res = _run(tmp, 'file', '--model-file', str(onnx_file))
    assert 'through onnxruntime fp32' in capsys.readouterr().out
    assert got['info']['artifact']['backend'] == 'onnxruntime' and 'artifact' not in ref['info']
    assert len(got_res) == len(ref_res) > 0
    a = np.asarray([r['keypoints'] for r in ref_res]).reshape(len(ref_res), -1, 3)
    b = np.asarray([r['keypoints'] for r in got_res]).reshape(len(got_res), -1, 3)
    assert np.abs(a[..., :2] - b[..., :2]).max() < 1e-3          # same argmax bins (float tolerance)
    assert np.abs(a[..., 2] - b[..., 2]).max() < 1e-4             # same scores
    assert a[..., :2].std() > 1.0 and a[..., 2].std() > 0          # not a comparison of constants
    for k in ('AP', 'AP50', 'AR'):
        assert got[k] == pytest.approx(ref[k], abs=1e-9)


def test_a_perturbed_artifact_changes_the_predictions(setup, tmp_path):
    import onnx
    from onnx import numpy_helper
    tmp, ck, onnx_file = setup
    model = onnx.load(str(onnx_file))
    init = max(model.graph.initializer, key=lambda t: np.prod(t.dims) if len(t.dims) == 2 else 0)
    w = numpy_helper.to_array(init).copy()
    w[: w.shape[0] // 2] *= -3.0
    init.CopyFrom(numpy_helper.from_array(w, init.name))
    bad = tmp_path / 'bad.onnx'
    onnx.save(model, str(bad))
    _, ref_res = _run(tmp, 'ckpt2', '--checkpoint', str(ck))
    _, bad_res = _run(tmp, 'bad', '--model-file', str(bad), '--checkpoint', str(ck))
    a = np.asarray([r['keypoints'] for r in ref_res]).reshape(len(ref_res), -1, 3)
    b = np.asarray([r['keypoints'] for r in bad_res]).reshape(len(bad_res), -1, 3)
    assert a.shape != b.shape or np.abs(a[..., :2] - b[..., :2]).max() > 1.0


def test_model_file_without_architecture_is_one_line_error(tmp_path, capsys):
    from rtmpose.deploy.export import export_onnx
    m = build_model('rtmpose-t', input_size=(64, 64))
    f = export_onnx(m, tmp_path / 'loose.onnx', (1, 3, 64, 64))
    assert main(['eval', '--model-file', str(f), '--no-progress', '--no-mlflow']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'give --checkpoint' in err[0]
