"""The one table of deployment backends, read by `rtmpose export`, `rtmpose bench`, the pipeline bench and
`rtmpose demo`.

A backend is: the function that writes its files into an export folder, the runner factory that loads
them, the main file's name, the precisions it can export, the accuracy-gate tolerance per precision
(rtmpose.deploy.gate.TOLERANCES unless the entry overrides one) and the runtime that runs it.
Adding a backend = one `Backend(...)` entry below plus its export and runner functions.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rtmpose.deploy import runners
from rtmpose.errors import Error

PRECISIONS = ('fp32', 'fp16', 'bf16', 'int8', 'mixed')
# post-training quantized precisions: calibrated on crops (rtmpose.deploy.calibration); `mixed` keeps the
# first convolution and the RTMCC head in floating point (rtmpose.deploy.export.MIXED_FLOAT_PATTERNS)
QUANTIZED = ('int8', 'mixed')

# (source, folder, spec) -> None: writes the backend's files into `folder`. `source` is a
# rtmpose.deploy.package.SourceModel (module, input_size, output_names), `spec` an ExportSpec.
ExportFn = Callable[[Any, Path, Any], None]
# (model file path, or the nn.Module for the torch backends, threads, precision) -> runners.Runner
RunnerFactory = Callable[[Any, int, str], runners.Runner]


@dataclass(frozen=True)
class Backend:
    name: str
    main_file: str                       # the file inside the export folder the runner opens
    precisions: tuple[str, ...]          # what it can export
    runtime: str                         # the runtime that runs (and times) it
    write: ExportFn
    runner: RunnerFactory
    from_module: bool = False            # the runner runs the rebuilt PyTorch module (the file holds weights)
    unavailable: Callable[[], str | None] | None = None   # None when usable here, else a short reason
    tolerances: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # overrides of gate.TOLERANCES
    # precision -> None when this machine / package can run it, else a short reason
    precision_unavailable: Callable[[str], str | None] | None = None

    def tolerance(self, precision: str) -> tuple[float, float]:
        """(relative max output difference, mean keypoint shift in px) the gate allows."""
        from rtmpose.deploy.gate import TOLERANCES
        return self.tolerances.get(precision) or TOLERANCES[precision]


# ---------------------------------------------------------------- export functions
def _input_shape(source) -> tuple[int, int, int, int]:
    w, h = source.input_size
    return (1, 3, h, w)


def _write_onnx(source, folder: Path, spec) -> Path:
    from rtmpose.deploy.export import export_onnx
    return export_onnx(source.module, folder / 'model.onnx', _input_shape(source), source.output_names,
                       spec.dynamic_batch, spec.opset)


def _float_patterns(precision: str) -> tuple[str, ...]:
    from rtmpose.deploy.export import MIXED_FLOAT_PATTERNS
    return MIXED_FLOAT_PATTERNS if precision == 'mixed' else ()


def export_variant(backend_name: str, precision: str) -> str:
    """What else (beyond model, weights, precision, input) changes an export's file on this machine: '' or a
    short tag for the export key. ONNX Runtime and OpenVINO int8 / mixed get 7-bit weights ('w7') on x86
    CPUs without VNNI, where 8-bit weights saturate their u8 x s8 kernels (rtmpose.system.int8_dot_saturates)."""
    from rtmpose.system import int8_dot_saturates
    if backend_name in ('onnxruntime', 'openvino') and precision in QUANTIZED and int8_dot_saturates():
        return 'w7'
    return ''


def _write_onnxruntime(source, folder: Path, spec) -> Path:
    """fp32: the ONNX file; int8 / mixed: the same file quantized statically (QDQ) in place (7-bit weights
    where export_variant says so)."""
    path = _write_onnx(source, folder, spec)
    if spec.precision in QUANTIZED:
        from rtmpose.deploy.export import quantize_onnxruntime
        quantize_onnxruntime(path, path, source.calibration_crops, _float_patterns(spec.precision),
                             reduce_range=export_variant(spec.backend, spec.precision) == 'w7')
    return path


def _via_onnx(convert: Callable[[Path, Path, Any, Any], None]) -> ExportFn:
    """An export that converts the ONNX hub file, which is deleted once converted."""
    def write(source, folder: Path, spec) -> None:
        onnx_path = _write_onnx(source, folder, spec)
        convert(onnx_path, folder, source, spec)
        onnx_path.unlink()
    return write


def _to_openvino(onnx_path: Path, folder: Path, source, spec) -> None:
    from rtmpose.deploy.export import export_openvino, quantize_openvino
    xml = export_openvino(onnx_path, folder / 'model.xml')
    if spec.precision in QUANTIZED:
        quantize_openvino(xml, source.calibration_crops, _float_patterns(spec.precision),
                          reduce_range=export_variant(spec.backend, spec.precision) == 'w7')


def _to_ncnn(onnx_path: Path, folder: Path, source, spec) -> None:
    from rtmpose.deploy.export import export_ncnn
    export_ncnn(onnx_path, folder / 'model.ncnn.param', _input_shape(source), fp16=spec.precision == 'fp16')


def _to_tensorrt(onnx_path: Path, folder: Path, source, spec) -> None:
    from rtmpose.deploy.export import export_tensorrt
    export_tensorrt(onnx_path, folder / 'model.engine', fp16=spec.precision == 'fp16')


def _write_torch_weights(source, folder: Path, spec) -> None:
    import torch
    torch.save(source.module.state_dict(), folder / 'weights.pt')


def _openvino_precision_unavailable(precision: str) -> str | None:
    """fp16 / bf16 need the CPU plugin to report the capability (AVX512-FP16 / AVX512-BF16 or AMX)."""
    need = {'fp16': 'FP16', 'bf16': 'BF16', 'int8': 'INT8', 'mixed': 'INT8'}.get(precision)
    if need is None:
        return None
    import openvino as ov
    caps = ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')
    return None if need in caps else f'the OpenVINO CPU plugin reports no {need} support on this CPU ({", ".join(caps)})'


def _ncnn_precision_unavailable(precision: str) -> str | None:
    """fp16: refused where ncnn runs an fp16 request in fp32 (its x86 wheel does, bit for bit); int8: needs
    tools the wheel lacks."""
    if precision == 'fp16':
        got = runners.ncnn_fp16_support()
        if got['executed_precision'] != 'fp16':
            flags = ', '.join(f'{k} {v}' for k, v in got.items() if k.startswith(('cpu_support_', 'cpuinfo_')))
            return (f'fp16 requested, executed fp32: with its fp16 storage/arithmetic options on, this ncnn gives '
                    f'outputs bit-identical to fp32 on this CPU ({flags})')
        return None
    if precision != 'int8':
        return None
    from rtmpose.deploy.export import ncnn_int8_unavailable_reason
    return ncnn_int8_unavailable_reason() or 'ncnn int8 (ncnn2table + ncnn2int8) is not wired into this suite'


def _tensorrt_unavailable() -> str | None:
    from rtmpose.deploy.export import tensorrt_unavailable_reason
    return tensorrt_unavailable_reason()


def _torch_runner(compile: bool) -> RunnerFactory:
    def make(model, threads: int, precision: str) -> runners.Runner:
        return runners.torch_runner(model, threads, precision, compile=compile)
    return make


# ---------------------------------------------------------------- the table
BACKENDS: dict[str, Backend] = {b.name: b for b in (
    # the plain ONNX file, checked and timed with ONNX Runtime
    Backend('onnx', 'model.onnx', ('fp32',), 'onnxruntime', _write_onnx, runners.onnxruntime_runner),
    # onnxruntime int8 / mixed: static QDQ quantization (per-channel int8 weights, uint8 activations)
    Backend('onnxruntime', 'model.onnx', ('fp32', 'int8', 'mixed'), 'onnxruntime', _write_onnxruntime,
            runners.onnxruntime_runner),
    # openvino fp16 / bf16: the fp32 IR compiled with that inference precision hint; int8 / mixed: NNCF
    Backend('openvino', 'model.xml', PRECISIONS, 'openvino', _via_onnx(_to_openvino), runners.openvino_runner,
            precision_unavailable=_openvino_precision_unavailable),
    # ncnn fp16: fp16 weights (pnnx fp16=1) and fp16 storage/arithmetic, refused where ncnn executes it in fp32
    # (x86 wheels: runners.ncnn_fp16_support); int8 needs tools the wheel lacks
    Backend('ncnn', 'model.ncnn.param', ('fp32', 'fp16', 'int8'), 'ncnn', _via_onnx(_to_ncnn), runners.ncnn_runner,
            precision_unavailable=_ncnn_precision_unavailable),
    Backend('tensorrt', 'model.engine', ('fp32', 'fp16'), 'tensorrt', _via_onnx(_to_tensorrt),
            runners.tensorrt_runner, unavailable=_tensorrt_unavailable),
    Backend('torch', 'weights.pt', ('fp32', 'fp16'), 'torch', _write_torch_weights, _torch_runner(False),
            from_module=True),
    Backend('torch-compile', 'weights.pt', ('fp32', 'fp16'), 'torch', _write_torch_weights, _torch_runner(True),
            from_module=True),
)}
BACKEND_NAMES = tuple(BACKENDS)
# what `rtmpose demo` runs the detector + pose pipeline on (the plain ONNX entry is onnxruntime's file)
PIPELINE_BACKENDS = tuple(n for n in BACKENDS if n not in ('onnx', 'torch-compile'))


def backend(name: str) -> Backend:
    """The table entry of `name`, or a one-line Error listing the backends."""
    b = BACKENDS.get(name)
    if b is None:
        raise Error(f'unknown backend {name!r}; choose one of: {", ".join(BACKEND_NAMES)}')
    return b


def check_available(b: Backend, precision: str) -> None:
    """One-line Errors for an unknown precision, one the backend cannot export, or a backend missing here."""
    if precision not in PRECISIONS:
        raise Error(f'unknown precision {precision!r}; choose one of: {", ".join(PRECISIONS)}')
    if precision not in b.precisions:
        raise Error(f'{b.name} exports support {", ".join(b.precisions)}, not {precision}')
    reason = b.unavailable() if b.unavailable else None
    if reason:
        raise Error(f'{b.name} not available: {reason}')
    reason = b.precision_unavailable(precision) if b.precision_unavailable else None
    if reason:
        raise Error(f'{b.name} {precision} not available: {reason}')
