"""Post-training quantized exports (int8, mixed) and the reduced-precision table entries, on real runtimes."""
import numpy as np
import onnx
import pytest

from rtmpose.deploy.backends import BACKENDS, QUANTIZED, backend, check_available
from rtmpose.deploy.calibration import Calibration, calibration_crops, crops_digest
from rtmpose.deploy.package import ExportSpec, build_source, export, runner_for
from rtmpose.errors import Error


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return tmp_path_factory.mktemp('qexports')


@pytest.mark.parametrize('precision', QUANTIZED)
def test_onnxruntime_quantized_round_trip(root, precision):
    rec = export(ExportSpec('rtmpose-t', 'onnxruntime', precision), root, verbose=False)
    assert rec['status'] == 'ok', rec['gate']
    model = onnx.load(str(root / rec['key'] / 'model.onnx'))
    ops = [n for n in model.graph.node]
    q = [n for n in ops if n.op_type == 'QuantizeLinear']
    assert len(q) > 10                                      # QDQ format: quantized activations
    # per-channel weights: a DequantizeLinear with a vector of scales
    inits = {t.name: t for t in model.graph.initializer}
    per_channel = [n for n in ops if n.op_type == 'DequantizeLinear' and n.input[1] in inits
                   and len(inits[n.input[1]].dims) == 1 and inits[n.input[1]].dims[0] > 1]
    assert per_channel
    head_q = [n for n in q if n.name.startswith('/head/') or any(i.startswith('/head/') for i in n.input)]
    if precision == 'mixed':
        assert not head_q                                  # the head stays fp32
    else:
        assert head_q
    # the runner on the artifact is close to PyTorch on an input it was not calibrated on, not equal to it
    src = build_source('rtmpose-t')
    x = calibration_crops(Calibration(count=2, seed=99), src.input_size)
    got = runner_for(rec)(x[:1])
    import torch
    with torch.no_grad():
        ref = [t.numpy() for t in src.module(torch.from_numpy(x[:1]))]
    rel = max(np.abs(g - r).max() for g, r in zip(got, ref)) / max(np.abs(r).max() for r in ref)
    assert 0 < rel < 0.25


def test_calibration_set_enters_the_key(root):
    a = export(ExportSpec('rtmpose-t', 'onnxruntime', 'int8'), root, verbose=False)
    b = export(ExportSpec('rtmpose-t', 'onnxruntime', 'int8', calibration=Calibration(count=16)), root,
               verbose=False)
    assert a['key'] != b['key'] and '_cal64-' in a['key'] and '_cal16-' in b['key']
    assert a['calibration_digest'] != b['calibration_digest']
    fp32 = export(ExportSpec('rtmpose-t', 'onnxruntime'), root, verbose=False)
    assert '_cal' not in fp32['key']
    c = calibration_crops(Calibration(count=4), (192, 256))
    assert crops_digest(c) == crops_digest(c.copy()) and crops_digest(c) != crops_digest(c[:3])


def test_ncnn_int8_says_why_not():
    reason = BACKENDS['ncnn'].precision_unavailable('int8')
    assert reason and ('ncnn2' in reason)
    with pytest.raises(Error, match='ncnn int8 not available'):
        check_available(backend('ncnn'), 'int8')
    with pytest.raises(Error, match='onnxruntime exports support'):
        check_available(backend('onnxruntime'), 'bf16')


@pytest.mark.slow
@pytest.mark.parametrize('precision', ['int8', 'mixed', 'bf16'])
def test_openvino_reduced_precisions_round_trip(root, precision):
    reason = BACKENDS['openvino'].precision_unavailable(precision)
    if reason:   # e.g. bf16 on a CPU without AVX512-BF16 / AMX: refused in one line, nothing exported
        with pytest.raises(Error, match=f'openvino {precision} not available: the OpenVINO CPU plugin reports'):
            export(ExportSpec('rtmpose-t', 'openvino', precision), root, verbose=False)
        return
    rec = export(ExportSpec('rtmpose-t', 'openvino', precision), root, verbose=False)
    assert rec['status'] == 'ok', rec['gate']
    xml = (root / rec['key'] / 'model.xml').read_text()
    assert ('FakeQuantize' in xml or 'FakeConvert' in xml) == (precision in QUANTIZED)
    assert rec['gate']['rel_diff'] > 0     # really reduced precision, not the fp32 model again


def test_calibration_crops_come_from_the_training_split(tmp_path):
    from rtmpose.data.synthetic import make_synthetic
    make_synthetic(tmp_path / 'syn', seed=1, num_train=3, num_val=1, width=96, height=96, max_people=2, progress=False)
    cal = Calibration(str(tmp_path / 'syn'), count=2)
    a = calibration_crops(cal, (48, 64))
    assert a.shape == (2, 3, 64, 48) and a.dtype == np.float32 and a.std() > 0.1
    assert crops_digest(a) == crops_digest(calibration_crops(cal, (48, 64)))          # deterministic
    assert crops_digest(a) != crops_digest(calibration_crops(Calibration(count=2), (48, 64)))   # not the seeded set
    with pytest.raises(Error, match='not found'):
        calibration_crops(Calibration(str(tmp_path / 'nope')), (48, 64))


@pytest.mark.parametrize('flags, machine, expected', [
    ({'avx2', 'fma'}, 'x86_64', 'w7'),                    # VPMADDUBSW: 16-bit sums saturate with 8-bit weights
    ({'avx2', 'avx512f', 'avx512_vnni'}, 'x86_64', ''),   # VPDPBUSD: 32-bit sums
    ({'avx2', 'avx_vnni'}, 'x86_64', ''),
    ({'asimd'}, 'aarch64', ''),
])
def test_onnxruntime_int8_uses_7_bit_weights_where_8_bit_saturate(monkeypatch, flags, machine, expected):
    import platform

    from rtmpose import system
    from rtmpose.deploy.backends import export_variant
    monkeypatch.setattr(system, 'cpu_flags', lambda: frozenset(flags))
    monkeypatch.setattr(platform, 'machine', lambda: machine)
    assert export_variant('onnxruntime', 'int8') == expected
    assert export_variant('onnxruntime', 'mixed') == expected
    assert export_variant('openvino', 'int8') == expected and export_variant('openvino', 'mixed') == expected
    assert export_variant('onnxruntime', 'fp32') == '' and export_variant('openvino', 'fp16') == ''
    assert export_variant('ncnn', 'int8') == ''
