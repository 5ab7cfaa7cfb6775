"""The accuracy gate on real exports: a good one passes, a deliberately corrupted ONNX weight fails."""
import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from rtmpose.deploy import gate
from rtmpose.deploy.package import ExportSpec, build_source, export, load_record
from rtmpose.deploy.runners import make_runner
from rtmpose.errors import Error


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp('exports')
    return root, export(ExportSpec('rtmpose-t', 'onnxruntime'), root, verbose=False)


def test_good_export_passes_and_is_described(exported):
    root, rec = exported
    assert rec['status'] == 'ok' and rec['gate']['passed']
    assert rec['weights'] == 'random-seed-0' and 'random weights' in rec['note']
    assert rec['gate']['reference_scale'] > 0.1
    meta = json.loads((root / rec['key'] / 'export.json').read_text())
    assert meta['files']['model.onnx'] and meta['runner']['intra_op_num_threads'] == 1
    # no temp folder left behind (the export cache's lock file stays: it holds no writer once released)
    assert not [p for p in root.iterdir() if p.name.startswith('.') and p.name != '.rtmpose.lock']


def test_export_is_reused_and_a_changed_file_is_not(exported):
    root, rec = exported
    again = export(ExportSpec('rtmpose-t', 'onnxruntime'), root, verbose=False)
    assert again['reused'] and again['key'] == rec['key']
    path = root / rec['key'] / 'model.onnx'
    path.write_bytes(path.read_bytes()[:-1] + b'\0')
    assert load_record(root / rec['key']) is None   # the hash no longer matches: it will be rebuilt


def test_gate_catches_a_corrupted_onnx_weight(tmp_path, capsys):
    src = build_source('rtmpose-t')
    rec = export(ExportSpec('rtmpose-t', 'onnx'), tmp_path, verbose=False)
    model = onnx.load(str(tmp_path / rec['key'] / 'model.onnx'))
    # the head's final classifier is a plain initializer: flip the sign of one row of weights
    init = max(model.graph.initializer, key=lambda t: np.prod(t.dims) if len(t.dims) == 2 else 0)
    w = numpy_helper.to_array(init).copy()
    w[: w.shape[0] // 4] *= -3.0
    init.CopyFrom(numpy_helper.from_array(w, init.name))
    bad = tmp_path / 'corrupted.onnx'
    onnx.save(model, str(bad))
    result = gate.check(make_runner('onnxruntime', bad), src.module, src.decode, src.input_size, 'fp32')
    assert not result.passed
    assert result.rel_diff > result.tol_rel_diff
    assert 'FAILED' in result.line()


def test_failed_export_is_recorded_as_failed(tmp_path, monkeypatch, capsys):
    # a tolerance no real backend can meet: the export must be kept, marked failed and reported loudly
    monkeypatch.setitem(gate.TOLERANCES, 'fp32', (0.0, 0.0))
    rec = export(ExportSpec('rtmpose-t', 'ncnn'), tmp_path)
    assert rec['status'] == 'failed' and not rec['gate']['passed']
    assert 'EXPORT FAILED THE ACCURACY GATE' in capsys.readouterr().err


def test_unavailable_backend_and_bad_precision_are_one_line_errors(tmp_path):
    with pytest.raises(Error, match='tensorrt not available'):
        export(ExportSpec('rtmpose-t', 'tensorrt', 'fp16'), tmp_path)
    with pytest.raises(Error, match='fp32'):
        export(ExportSpec('rtmpose-t', 'onnxruntime', 'fp16'), tmp_path)
