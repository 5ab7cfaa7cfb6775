"""Every CPU backend against PyTorch eager on seeded weights and inputs (real runtimes, no mocks)."""
import numpy as np
import onnx
import pytest
import torch

from rtmpose.deploy.export import export_ncnn, export_onnx, export_openvino
from rtmpose.deploy.runners import make_runner
from rtmpose.errors import Error


def _max_err(out, ref):
    return max(float(np.abs(o - r).max()) for o, r in zip(out, ref))


def test_onnx_export_names_opset_and_dynamic_batch(tiny_onnx):
    m = onnx.load(str(tiny_onnx))
    assert [o.name for o in m.graph.output] == ['simcc_x', 'simcc_y']
    assert max(o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')) == 17
    assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'


def test_onnxruntime_matches_torch(tiny_onnx, torch_ref):
    x, ref = torch_ref
    out = make_runner('onnxruntime', tiny_onnx, threads=1)(x)
    assert [o.shape for o in out] == [(2, 17, 384), (2, 17, 512)]
    assert float(np.abs(ref[0]).max()) > 0.1  # the comparison is not between near-zero tensors
    assert _max_err(out, ref) < 1e-3


def test_openvino_f32_matches_torch(tiny_onnx, torch_ref, tmp_path):
    x, ref = torch_ref
    runner = make_runner('openvino', export_openvino(tiny_onnx, tmp_path / 't.xml'), threads=1)
    assert runner.info['INFERENCE_PRECISION_HINT'] == 'f32'
    assert _max_err(runner(x), ref) < 1e-3


def test_ncnn_fp32_matches_torch(tiny_onnx, torch_ref, tmp_path):
    x, ref = torch_ref
    param = export_ncnn(tiny_onnx, tmp_path / 't.ncnn.param', (1, 3, 256, 192), fp16=False)
    assert _max_err(make_runner('ncnn', param, threads=1)(x), ref) < 1e-3


def test_torch_runner_and_module_export(tiny_pose, torch_ref, tmp_path):
    x, ref = torch_ref
    assert _max_err(make_runner('torch', tiny_pose)(x), ref) < 1e-4  # thread count changes summation order
    # export_onnx works for any single-input module, e.g. a detector with other output names
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()
    path = export_onnx(net, tmp_path / 'net.onnx', (1, 3, 32, 32), output_names=('feat',))
    out = make_runner('onnxruntime', path)(np.ones((1, 3, 32, 32), np.float32))
    with torch.no_grad():
        assert np.allclose(out[0], net(torch.ones(1, 3, 32, 32)).numpy(), atol=1e-5)


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(Error, match='unknown backend'):
        make_runner('tflite', 'x.onnx')
    with pytest.raises(Error, match='not found'):
        make_runner('onnxruntime', tmp_path / 'missing.onnx')
    with pytest.raises(Error, match='opset'):
        export_onnx(torch.nn.Identity(), tmp_path / 'x.onnx', (1, 3, 8, 8), opset=18)


def test_tensorrt_reports_not_available_here(tmp_path):
    pytest.importorskip('torch')
    if torch.cuda.is_available():
        pytest.skip('a CUDA device is present; the gpu-marked tests cover TensorRT')
    with pytest.raises(Error, match='tensorrt not available'):
        make_runner('tensorrt', __file__)
