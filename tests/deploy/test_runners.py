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


@pytest.fixture(scope='module')
def responsive(tmp_path_factory):
    """tiny_pose's weights with BN statistics from seeded images, its ONNX file, two inputs and its outputs.
    (tiny_pose's own BN statistics shrink the input's effect ~10x per stage: its two reference images give
    logits equal to ~4e-4, so the comparisons above cannot see a runner that mishandles its input.)"""
    from rtmpose import build_model
    from rtmpose.seeded import seeded_images, seeded_state_dict
    from tests.pose_checks import calibrate_batchnorm
    model = build_model('rtmpose-t')
    model.load_state_dict(seeded_state_dict(model.state_dict(), seed=0))
    calibrate_batchnorm(model, seeded_images(8, 256, 192, seed=7))
    x = seeded_images(2, 256, 192, seed=3)
    with torch.no_grad():
        ref = [t.numpy() for t in model(x)]
    path = export_onnx(model, tmp_path_factory.mktemp('responsive') / 't.onnx', (1, 3, 256, 192), dynamic_batch=True)
    return model, path, x.numpy(), ref


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino', 'ncnn', 'torch'])
def test_runners_pass_the_input_through(responsive, backend, tmp_path):
    """Each runner on a model whose output follows its input: within the float32 bound of tests/pose_checks.py
    of PyTorch, while the two images' logits differ by far more, so a runner that reordered, transposed or
    ignored its input (or one image of the batch) would fail."""
    from tests.pose_checks import logit_tolerance
    model, path, x, ref = responsive
    tol = logit_tolerance(*ref)
    assert all(float(np.abs(r[0] - r[1]).max()) > 100 * tol for r in ref)
    if backend == 'openvino':
        runner = make_runner('openvino', export_openvino(path, tmp_path / 't.xml'), threads=1)
    elif backend == 'ncnn':
        runner = make_runner('ncnn', export_ncnn(path, tmp_path / 't.ncnn.param', (1, 3, 256, 192), fp16=False),
                             threads=1)
    elif backend == 'torch':
        runner = make_runner('torch', model)
    else:
        runner = make_runner('onnxruntime', path, threads=1)
    out = runner(x)
    assert [o.shape for o in out[:2]] == [r.shape for r in ref]
    assert _max_err(out, ref) <= tol


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
