"""What ncnn really executes when fp16 is asked: its options read back as set whatever the CPU does, so the
outputs with the options on and off decide; an fp16 request executed in fp32 is refused, never timed as fp16."""
import platform
import struct

import numpy as np
import pytest

from rtmpose.deploy import runners
from rtmpose.deploy.backends import backend, check_available
from rtmpose.deploy.runners import Runner, executed_precision, executed_precision_of, make_runner, ncnn_input_shape
from rtmpose.errors import Error

X86 = platform.machine().lower() in ('x86_64', 'amd64')
FP16_TAG = struct.pack('<I', 0x01306B47)        # ncnn's marker of fp16 weights in a .bin file


def _tiny_ncnn(folder, fp16_weights: bool, declare_shape: bool, stem: str = 'm') -> str:
    """A 3x3 convolution + ReLU written by hand (ncnn's param/bin format), with fp16 or fp32 weights."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    shape = ' 0=12 1=10 2=3' if declare_shape else ''
    param = folder / f'{stem}.param'
    param.write_text(f'7767517\n3 3\nInput in0 0 1 in0{shape}\n'
                     f'Convolution conv0 1 1 in0 c0 0=4 1=3 11=3 2=1 12=1 3=1 13=1 4=1 14=1 5=1 6={w.size}\n'
                     'ReLU relu0 1 1 c0 out0\n')
    weights = FP16_TAG + w.astype(np.float16).tobytes() if fp16_weights else struct.pack('<I', 0) + w.tobytes()
    (folder / f'{stem}.bin').write_bytes(weights + b.tobytes())
    return str(param)


def test_outputs_decide_what_ran():
    a = [np.array([1.0, 2.0], np.float32)]
    assert executed_precision_of(a, [a[0].copy()]) == 'fp32'
    assert executed_precision_of(a, [a[0] + np.float32(1e-3)]) == 'fp16'
    assert executed_precision_of([np.array([np.nan])], [np.array([np.nan])]) == 'fp32'
    assert executed_precision_of(a, [a[0].reshape(2, 1)]) == 'fp16'     # a different shape is not the same run


def test_input_shape_from_the_param_file(tmp_path):
    assert ncnn_input_shape(_tiny_ncnn(tmp_path, True, True)) == (3, 10, 12)
    assert ncnn_input_shape(_tiny_ncnn(tmp_path, True, False)) is None   # pnnx writes none


def test_executed_precision_of_runners():
    fn = lambda x: [x]  # noqa: E731
    assert executed_precision(Runner('openvino', 'bf16', 1, fn, info={'INFERENCE_PRECISION_HINT': 'f32'})) == 'fp32'
    assert executed_precision(Runner('openvino', 'fp16', 1, fn, info={'INFERENCE_PRECISION_HINT': 'f16'})) == 'fp16'
    assert executed_precision(Runner('openvino', 'int8', 1, fn, info={'INFERENCE_PRECISION_HINT': 'f32'})) == 'int8'
    assert executed_precision(Runner('ncnn', 'fp16', 1, fn, info={'executed_precision': 'fp32'})) == 'fp32'
    assert executed_precision(Runner('onnxruntime', 'fp32', 1, fn)) == 'fp32'


def test_fp32_runner_records_fp32(tmp_path):
    r = make_runner('ncnn', _tiny_ncnn(tmp_path, False, True), precision='fp32')
    assert r.info['executed_precision'] == 'fp32' and r.info['use_fp16_storage'] is False
    assert r(np.ones((1, 3, 10, 12), np.float32))[0].shape == (1, 4, 10, 12)   # 3x3, padding 1


@pytest.mark.skipif(not X86, reason="the pip wheel's fp16-in-fp32 behaviour is an x86 one")
def test_x86_wheel_runs_fp16_in_fp32_and_the_request_is_refused(tmp_path):
    got = runners.ncnn_fp16_support()
    assert got['executed_precision'] == 'fp32' and got['fp16_probe_max_abs_diff'] == 0.0
    with pytest.raises(Error, match='ncnn fp16 not available: fp16 requested, executed fp32'):
        check_available(backend('ncnn'), 'fp16')
    # the runner decides on the model itself: now when the file declares its input ...
    with pytest.raises(Error, match='ncnn fp16 requested, executed fp32'):
        make_runner('ncnn', _tiny_ncnn(tmp_path, True, True), precision='fp16')
    # ... else on its first input (pnnx declares none)
    lazy = make_runner('ncnn', _tiny_ncnn(tmp_path, True, False), precision='fp16')
    assert lazy.info['executed_precision'] == 'not probed yet'
    with pytest.raises(Error, match='executed fp32'):
        lazy(np.ones((1, 3, 10, 12), np.float32))
    assert lazy.info['executed_precision'] == 'fp32' and lazy.info['fp16_probe_max_abs_diff'] == 0.0


def _record(folder) -> dict:
    _tiny_ncnn(folder, True, False, stem='model.ncnn')      # pnnx's names, no declared input shape
    return dict(backend='ncnn', dir=str(folder), precision='fp16', input_size=[12, 10], model='tiny')


@pytest.mark.skipif(not X86, reason="the pip wheel's fp16-in-fp32 behaviour is an x86 one")
def test_a_cached_fp16_export_is_probed_when_its_runner_is_made(tmp_path):
    from rtmpose.deploy.package import runner_for
    with pytest.raises(Error, match='ncnn fp16 requested, executed fp32'):
        runner_for(_record(tmp_path))


def test_a_runtime_that_executes_fp16_keeps_the_row(tmp_path, monkeypatch):
    """Where the outputs differ (an ARM CPU with half-precision arithmetic), fp16 is what ran: no refusal."""
    monkeypatch.setattr(runners, 'executed_precision_of', lambda half, full: 'fp16')
    runners.ncnn_fp16_support.cache_clear()
    try:
        assert runners.ncnn_fp16_support()['executed_precision'] == 'fp16'
        check_available(backend('ncnn'), 'fp16')
        r = make_runner('ncnn', _tiny_ncnn(tmp_path, True, False), precision='fp16')
        assert r(np.ones((1, 3, 10, 12), np.float32))[0].shape == (1, 4, 10, 12)   # 3x3, padding 1
        assert executed_precision(r) == 'fp16' and r.info['use_fp16_arithmetic'] is True
        from rtmpose.deploy.package import runner_for
        cached = runner_for(_record(tmp_path))                  # probed before any timed call
        assert cached.info['executed_precision'] == 'fp16' and 'fp16_probe_max_abs_diff' in cached.info
    finally:
        runners.ncnn_fp16_support.cache_clear()
