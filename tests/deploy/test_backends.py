"""The backend table is the one list every command reads, and detectors go through the same gated cache."""
import pytest

from rtmpose.deploy import gate
from rtmpose.deploy.backends import BACKENDS, PIPELINE_BACKENDS, backend, check_available
from rtmpose.deploy.package import ExportSpec, export
from rtmpose.errors import Error


def test_table_entries_are_complete():
    assert {'onnx', 'onnxruntime', 'openvino', 'ncnn', 'tensorrt', 'torch', 'torch-compile'} <= set(BACKENDS)
    for b in BACKENDS.values():
        assert b.main_file and b.precisions and callable(b.write) and callable(b.runner)
        assert all(b.tolerance(p) == gate.TOLERANCES[p] for p in b.precisions)
    assert set(PIPELINE_BACKENDS) <= set(BACKENDS)
    with pytest.raises(Error, match='unknown backend'):
        backend('tflite')
    with pytest.raises(Error, match='onnxruntime exports support fp32, int8, mixed, not fp16'):
        check_available(backend('onnxruntime'), 'fp16')


def test_detector_export_is_gated_on_raw_outputs(tmp_path):
    rec = export(ExportSpec('rtmdet-nano', 'onnxruntime'), tmp_path, verbose=False)
    assert rec['status'] == 'ok' and rec['output'] == 'detection' and rec['input_size'] == [320, 320]
    g = rec['gate']
    assert g['passed'] and g['reference_scale'] > 0.1 and g['rel_diff'] <= g['tol_rel_diff']
    assert g['mean_kpt_px'] is None and g['tol_mean_px'] is None
    assert 'no keypoints to decode' in gate.GateResult(**g).line()
