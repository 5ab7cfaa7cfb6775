"""Export a PyTorch module to each deployment backend's file format.

All writers go through a temporary name and a rename, so an interrupted export leaves nothing
half-written. The ONNX file is the hub: OpenVINO, ncnn and TensorRT are converted from it.

- ONNX: the legacy TorchScript exporter (`dynamo=False`), opset 17 by default (the official
  mmdeploy config `configs/mmpose/pose-detection_simcc_onnxruntime_dynamic.py` uses opset 11), outputs
  named `simcc_x` / `simcc_y`, post-processing not exported, simplified with onnxslim.
- ncnn: through pnnx from the legacy (opset <= 17) ONNX only: pnnx mis-converts opset >= 18 graphs
  (ReduceL2 axes are lost), see environment notes.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from rtmpose.errors import Error

DEFAULT_OPSET = 17
POSE_OUTPUTS = ('simcc_x', 'simcc_y')


def _tmp_sibling(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; exports are ordinary shared files
    return Path(tmp)


def export_onnx(model: nn.Module, path: str | os.PathLike, input_shape: Sequence[int],
                output_names: Sequence[str] = POSE_OUTPUTS, dynamic_batch: bool = False,
                opset: int = DEFAULT_OPSET, input_name: str = 'input', simplify: bool = True) -> Path:
    """Export any eval-mode module taking one float32 (N, C, H, W) tensor to a single-file ONNX.

    `dynamic_batch` makes axis 0 of the input and of every output symbolic. Returns the path.
    """
    if opset >= 18:
        # the legacy exporter stops at 17, and ncnn's converter breaks on >= 18 graphs
        raise Error(f'ONNX opset {opset}: only opset <= 17 is supported (legacy exporter)')
    path = Path(path)
    model = model.eval()
    dummy = torch.zeros(tuple(int(s) for s in input_shape), dtype=torch.float32)
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {name: {0: 'batch'} for name in (input_name, *output_names)}
    tmp = _tmp_sibling(path)
    try:
        with torch.no_grad():
            torch.onnx.export(model, (dummy,), str(tmp), dynamo=False, opset_version=opset,
                              input_names=[input_name], output_names=list(output_names),
                              dynamic_axes=dynamic_axes, do_constant_folding=True)
        if simplify:
            import onnx
            import onnxslim
            slim = onnxslim.slim(onnx.load(str(tmp)))
            onnx.save(slim, str(tmp))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _save_ir_atomic(model, xml_path: Path) -> Path:
    """Write an OpenVINO model as IR (.xml + .bin, weights as stored) through a temporary folder."""
    import openvino as ov
    with tempfile.TemporaryDirectory(dir=xml_path.parent, prefix='.ov-') as tmp:
        tmp_xml = Path(tmp) / xml_path.name
        ov.save_model(model, str(tmp_xml), compress_to_fp16=False)
        os.replace(tmp_xml.with_suffix('.bin'), xml_path.with_suffix('.bin'))
        os.replace(tmp_xml, xml_path)
    return xml_path


def export_openvino(onnx_path: str | os.PathLike, xml_path: str | os.PathLike) -> Path:
    """ONNX -> OpenVINO IR (.xml + .bin) with fp32 weights; precision is chosen when compiling."""
    import openvino as ov
    xml_path = Path(xml_path).absolute()
    model = ov.convert_model(str(onnx_path))
    return _save_ir_atomic(model, xml_path)


def export_ncnn(onnx_path: str | os.PathLike, param_path: str | os.PathLike, input_shape: Sequence[int],
                fp16: bool = False) -> Path:
    """Legacy-opset ONNX -> ncnn (.param + .bin) via the pnnx converter; fp16=False keeps fp32 weights."""
    import onnx
    opset = max((o.version for o in onnx.load(str(onnx_path), load_external_data=False).opset_import
                 if o.domain in ('', 'ai.onnx')), default=0)
    if opset >= 18:
        raise Error(f'{onnx_path}: opset {opset} ONNX cannot be converted to ncnn correctly; export with opset <= 17')
    import pnnx
    param_path = Path(param_path).absolute()
    param_path.parent.mkdir(parents=True, exist_ok=True)
    shape = ','.join(str(int(s)) for s in input_shape)
    with tempfile.TemporaryDirectory(dir=param_path.parent, prefix='.pnnx-') as tmp:
        tmp = Path(tmp)
        src = tmp / 'model.onnx'
        shutil.copyfile(onnx_path, src)
        cmd = [pnnx.EXEC_PATH, str(src), f'inputshape=[{shape}]', f'fp16={int(fp16)}',
               f'ncnnparam={tmp / "model.ncnn.param"}', f'ncnnbin={tmp / "model.ncnn.bin"}',
               f'pnnxparam={tmp / "model.pnnx.param"}', f'pnnxbin={tmp / "model.pnnx.bin"}',
               f'pnnxpy={tmp / "model_pnnx.py"}', f'pnnxonnx={tmp / "model.pnnx.onnx"}',
               f'ncnnpy={tmp / "model_ncnn.py"}']
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        if res.returncode != 0 or not (tmp / 'model.ncnn.param').exists():
            tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ['no output']
            raise Error(f'pnnx failed on {onnx_path}: {tail[0][:200]}')
        os.replace(tmp / 'model.ncnn.bin', param_path.with_suffix('.bin'))
        os.replace(tmp / 'model.ncnn.param', param_path)
    return param_path


def tensorrt_unavailable_reason() -> str | None:
    """None when TensorRT and a CUDA device can be used here, else a short reason."""
    try:
        import tensorrt  # noqa: F401
    except Exception as e:
        return f'tensorrt cannot be imported ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ""})'
    if not torch.cuda.is_available():
        return 'no CUDA device visible to torch'
    return None


def export_tensorrt(onnx_path: str | os.PathLike, engine_path: str | os.PathLike, fp16: bool = True,
                    workspace_gb: float = 1.0) -> Path:
    """Build a serialized TensorRT engine from ONNX (static shapes). Needs tensorrt and a CUDA GPU."""
    reason = tensorrt_unavailable_reason()
    if reason:
        raise Error(f'tensorrt not available: {reason}')
    import tensorrt as trt
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT >= 10
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, 'rb') as f:
        if not parser.parse(f.read()):
            raise Error(f'tensorrt cannot parse {onnx_path}: {parser.get_error(0)}')
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    engine = builder.build_serialized_network(network, config)
    if engine is None:
        raise Error(f'tensorrt failed to build an engine from {onnx_path}')
    from rtmpose.io import write_bytes_atomic
    write_bytes_atomic(engine_path, bytes(engine))
    return Path(engine_path)


# ---------------------------------------------------------------- post-training quantization
# What `mixed` keeps in floating point: the first convolution (it sees the raw normalised image) and the
# whole RTMCC head (final 7x7 conv, MLP, GAU, SimCC classifiers), whose outputs are the logits the codec
# takes the argmax of. Node names are those torch.onnx gives (`/head/gau/...`), kept by OpenVINO.
MIXED_FLOAT_PATTERNS = (r'^/head/', r'^/backbone/stem/stem\.0/')


class _CropsReader:
    """onnxruntime.quantization.CalibrationDataReader over (N, 3, H, W) crops, one sample per call."""

    def __init__(self, input_name: str, crops):
        self.input_name, self.crops, self.i = input_name, crops, 0

    def get_next(self):
        if self.i >= len(self.crops):
            return None
        self.i += 1
        return {self.input_name: self.crops[self.i - 1:self.i]}

    def rewind(self):
        self.i = 0


def quantize_onnxruntime(onnx_path: str | os.PathLike, out_path: str | os.PathLike, crops,
                         float_patterns: Sequence[str] = (), reduce_range: bool = False) -> Path:
    """Static post-training int8 quantization with ONNX Runtime: QDQ format, per-channel int8 weights,
    uint8 activations calibrated (MinMax) on `crops`; nodes whose name matches a regex in
    `float_patterns` stay fp32 (nodes_to_exclude). `reduce_range`: 7-bit weights, which ONNX Runtime's
    documentation recommends on x86 CPUs without VNNI (rtmpose.system.int8_dot_saturates)."""
    import re

    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model = onnx.load(str(onnx_path))
    input_name = model.graph.input[0].name
    exclude = [n.name for n in model.graph.node if any(re.search(p, n.name) for p in float_patterns)]
    reader = type('Reader', (_CropsReader, CalibrationDataReader), {})(input_name, crops)
    out_path = Path(out_path)
    tmp = _tmp_sibling(out_path)
    pre = _tmp_sibling(out_path)
    try:
        quant_pre_process(str(onnx_path), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(tmp), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        nodes_to_exclude=exclude or None, reduce_range=reduce_range)
        os.replace(tmp, out_path)
    finally:
        for p in (tmp, pre):
            if p.exists():
                p.unlink()
    return out_path


def quantize_openvino(xml_path: str | os.PathLike, crops, float_patterns: Sequence[str] = (),
                      reduce_range: bool = False) -> Path:
    """NNCF post-training int8 quantization of an OpenVINO IR in place (calibrated on `crops`); operations
    whose name matches a regex in `float_patterns` stay in floating point (nncf.IgnoredScope). `reduce_range`:
    7-bit weights in every layer (NNCF's overflow fix, which by default covers the first layer only), for x86
    CPUs without VNNI (rtmpose.system.int8_dot_saturates)."""
    import logging

    import nncf
    import openvino as ov
    nncf.set_log_level(logging.ERROR)   # one INFO line per operation otherwise
    xml_path = Path(xml_path).absolute()
    model = ov.Core().read_model(str(xml_path))
    dataset = nncf.Dataset([crops[i:i + 1] for i in range(len(crops))])
    ignored = nncf.IgnoredScope(patterns=list(float_patterns), validate=False) if float_patterns else None
    kwargs = {'ignored_scope': ignored} if ignored else {}
    if reduce_range:
        from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix
        kwargs['advanced_parameters'] = AdvancedQuantizationParameters(overflow_fix=OverflowFix.ENABLE)
    quantized = nncf.quantize(model, dataset, subset_size=len(crops), preset=nncf.QuantizationPreset.MIXED,
                              **kwargs)
    return _save_ir_atomic(quantized, xml_path)


def ncnn_int8_unavailable_reason() -> str | None:
    """None when ncnn's int8 tools (ncnn2table, ncnn2int8) are on PATH, else why not."""
    missing = [t for t in ('ncnn2table', 'ncnn2int8') if shutil.which(t) is None]
    if missing:
        return (f'the ncnn Python wheel ships no {" / ".join(missing)} (ncnn int8 needs them: build ncnn '
                'from source with NCNN_BUILD_TOOLS=ON and put them on PATH)')
    return None
