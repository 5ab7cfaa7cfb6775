"""One callable per backend: float32 numpy (N, 3, H, W) in, list of numpy outputs out.

    runner = make_runner('onnxruntime', 'rtmpose-t.onnx', threads=1)
    simcc_x, simcc_y = runner(batch)

Runtimes: onnxruntime, openvino, ncnn, tensorrt (lazy import, GPU), torch (eager) and torch-compile; which
backend uses which is the table in rtmpose.deploy.backends.
CPU backends are pinned to `threads` intra-op threads (the paper times ONNX Runtime with one).
`runner.sync` is a callable to run before reading a clock on asynchronous devices (None on CPU).
`runner.info` records what the runtime really used: OpenVINO's inference precision as the plugin reads it back;
ncnn's executed precision, found by running the model with its fp16 options on and off (ncnn keeps the options
as set whatever the CPU can do; its x86 wheel runs an fp16 request in fp32, bit for bit, and such a runner is
refused: "ncnn fp16 requested, executed fp32").
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rtmpose.errors import Error

# int8 / mixed IRs carry their quantized operations; the rest (the head of `mixed`) runs in f32
_OV_PRECISION = {'fp32': 'f32', 'fp16': 'f16', 'bf16': 'bf16', 'int8': 'f32', 'mixed': 'f32'}


@dataclass
class Runner:
    """A backend session behind a plain call. `info` records what was actually used."""
    backend: str
    precision: str
    threads: int
    fn: Callable[[np.ndarray], list[np.ndarray]]
    sync: Callable[[], None] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        return self.fn(x)


def executed_precision(runner: Runner) -> str:
    """What the runtime says it executed: ncnn's output comparison (`executed_precision`), OpenVINO's inference
    precision as the plugin reads it back (float precisions), else the requested precision."""
    info = runner.info or {}
    if info.get('executed_precision'):
        return str(info['executed_precision'])
    used = str(info.get('INFERENCE_PRECISION_HINT', ''))
    if used and runner.precision in ('fp32', 'fp16', 'bf16'):
        return {'f32': 'fp32', 'f16': 'fp16', 'bf16': 'bf16'}.get(used, used)
    return runner.precision


def _need_file(model_file, backend: str) -> str:
    if not isinstance(model_file, (str, os.PathLike)):
        raise Error(f'{backend}: expected a model file path, got {type(model_file).__name__}')
    path = os.fspath(model_file)
    if not os.path.isfile(path):
        raise Error(f'{path}: model file not found')
    return path


def onnxruntime_runner(path: str, threads: int, precision: str) -> Runner:
    import onnxruntime as ort
    if precision not in ('fp32', 'int8', 'mixed'):
        raise Error(f'onnxruntime on CPU runs fp32 and quantized (int8 / mixed) files, not {precision}')
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        sess = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
    except Exception as e:
        raise Error(f'{path}: onnxruntime cannot load it ({str(e).splitlines()[0][:160]})') from None
    name = sess.get_inputs()[0].name
    outputs = [o.name for o in sess.get_outputs()]

    def fn(x):
        return sess.run(outputs, {name: x})
    return Runner('onnxruntime', precision, threads, fn,
                  info={'intra_op_num_threads': threads, 'inter_op_num_threads': 1, 'graph_optimization': 'ENABLE_ALL',
                        'onnxruntime': ort.__version__, 'outputs': outputs})


def openvino_runner(path: str, threads: int, precision: str) -> Runner:
    import openvino as ov
    import openvino.properties as props
    import openvino.properties.hint as hints
    core = ov.Core()
    config = {props.inference_num_threads: threads, hints.performance_mode: hints.PerformanceMode.LATENCY,
              hints.inference_precision: _OV_PRECISION[precision], props.num_streams: 1}
    compiled = core.compile_model(path, 'CPU', config)
    request = compiled.create_infer_request()
    n_out = len(compiled.outputs)

    def fn(x):
        request.infer({0: x})
        return [request.get_output_tensor(i).data.copy() for i in range(n_out)]
    used = compiled.get_property(hints.inference_precision).to_string()  # what the plugin will really use
    return Runner('openvino', precision, threads, fn,
                  info={'INFERENCE_NUM_THREADS': threads, 'INFERENCE_PRECISION_HINT': used,
                        'openvino': ov.get_version()})


NCNN_FP16_OPTIONS = ('use_fp16_packed', 'use_fp16_storage', 'use_fp16_arithmetic')


def _ncnn_net(path: str, threads: int, fp16: bool):
    import ncnn
    net = ncnn.Net()
    net.opt.num_threads = threads
    net.opt.use_vulkan_compute = False
    # fp32 means fp32 everywhere: ncnn otherwise stores activations in fp16/bf16 where the CPU allows
    for name in NCNN_FP16_OPTIONS:
        setattr(net.opt, name, fp16)
    net.opt.use_bf16_storage = False
    bin_path = os.path.splitext(path)[0] + '.bin'
    if net.load_param(path) != 0 or net.load_model(bin_path) != 0:
        raise Error(f'{path}: ncnn cannot load it (needs {bin_path} beside it)')
    return net


def _ncnn_fn(net) -> Callable[[np.ndarray], list[np.ndarray]]:
    import ncnn
    in_name = net.input_names()[0]
    out_names = list(net.output_names())

    def fn(x):
        results = [[] for _ in out_names]
        for sample in x:  # ncnn Mats carry no batch axis
            ex = net.create_extractor()
            ex.input(in_name, ncnn.Mat(np.ascontiguousarray(sample)))
            for i, name in enumerate(out_names):
                _, out = ex.extract(name)
                results[i].append(np.array(out))
        return [np.stack(r) for r in results]
    return fn


def ncnn_input_shape(path: str) -> tuple[int, int, int] | None:
    """(C, H, W) of the first input as the .param file declares it (Input layer: 0=W 1=H 2=C), None if absent."""
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 4 and parts[0] == 'Input':
                    start = 4 + int(parts[2]) + int(parts[3])
                    kv = dict(p.split('=', 1) for p in parts[start:] if '=' in p)
                    w, h, c = (int(kv.get(k, 0)) for k in ('0', '1', '2'))
                    return (c, h, w) if c > 0 and h > 0 and w > 0 else None
    except (OSError, ValueError):
        return None
    return None


def executed_precision_of(fp16_outputs: list[np.ndarray], fp32_outputs: list[np.ndarray]) -> str:
    """'fp32' when the outputs of the run with fp16 options are bit-identical to those of the run without (the
    runtime did not act on the request), else 'fp16' (at least part of the network ran in half precision)."""
    same = len(fp16_outputs) == len(fp32_outputs) and all(
        a.shape == b.shape and np.array_equal(a, b, equal_nan=True) for a, b in zip(fp16_outputs, fp32_outputs))
    return 'fp32' if same else 'fp16'


def ncnn_cpu_support() -> dict[str, Any]:
    """The half-precision capabilities the ncnn binding reports, and the kernel's F16C / AVX512-FP16 flags (the
    binding has no x86 F16C check)."""
    import ncnn

    from rtmpose.system import cpu_flags
    out: dict[str, Any] = {}
    for name in ('cpu_support_arm_asimdhp', 'cpu_support_x86_avx2', 'cpu_support_x86_avx512_fp16'):
        fn = getattr(ncnn, name, None)
        if callable(fn):
            out[name] = bool(fn())
    flags = cpu_flags()
    if flags:
        out['cpuinfo_f16c'] = 'f16c' in flags
        out['cpuinfo_avx512_fp16'] = 'avx512_fp16' in flags
    return out


def ncnn_executed_precision(path: str, threads: int = 1, shape: tuple[int, int, int] | None = None,
                            seed: int = 0) -> dict[str, Any]:
    """Run the model at `path` once with ncnn's fp16 options on and once off, on the same seeded input, and say
    what ran: ncnn keeps its options as they were set (reading them back after loading says nothing), so the
    outputs decide."""
    shape = shape or ncnn_input_shape(path)
    if shape is None:
        raise Error(f'{path}: the ncnn param file declares no input shape to probe its precision with')
    x = np.random.default_rng(seed).standard_normal((1, *shape)).astype(np.float32)
    half = _ncnn_fn(_ncnn_net(path, threads, True))(x)
    full = _ncnn_fn(_ncnn_net(path, threads, False))(x)
    if not all(np.isfinite(o).all() for o in full):
        raise Error(f'{path}: the ncnn precision probe gave non-finite outputs; it cannot say what ran')
    return dict(executed_precision=executed_precision_of(half, full),
                fp16_probe_max_abs_diff=max(float(np.abs(a - b).max()) for a, b in zip(half, full)),
                **ncnn_cpu_support())


def _support_text(info: dict[str, Any]) -> str:
    keys = [k for k in info if k.startswith(('cpu_support_', 'cpuinfo_'))]
    return ', '.join(f'{k} {info[k]}' for k in keys) or 'no capability reported'


def ncnn_runner(path: str, threads: int, precision: str) -> Runner:
    import ncnn
    if precision not in ('fp32', 'fp16'):
        raise Error(f'ncnn: precision {precision} not supported (fp32 or fp16)')
    fp16 = precision == 'fp16'
    net = _ncnn_net(path, threads, fp16)
    run = _ncnn_fn(net)
    info: dict[str, Any] = {'num_threads': threads, **{name: fp16 for name in NCNN_FP16_OPTIONS},
                            'ncnn': ncnn.__version__, 'executed_precision': 'fp32' if not fp16 else 'not probed yet'}
    if not fp16:
        return Runner('ncnn', precision, threads, run, info=info)

    def refuse_fp32() -> None:
        if info['executed_precision'] != 'fp16':
            raise Error(f'ncnn fp16 requested, executed fp32: with its fp16 storage/arithmetic options on, ncnn '
                        f'{ncnn.__version__} gives outputs bit-identical to fp32 on this CPU ({_support_text(info)}); '
                        'an fp16 row would be an fp32 timing under another name')

    shape = ncnn_input_shape(path)
    if shape is not None:                 # the file declares its input: probe now
        info.update(ncnn_executed_precision(path, threads, shape))
        refuse_fp32()
        return Runner('ncnn', precision, threads, run, info=info)

    def fn(x):                            # pnnx writes no input shape: the first input is the probe
        if info['executed_precision'] == 'not probed yet':
            half, full = run(x), _ncnn_fn(_ncnn_net(path, threads, False))(x)
            info.update(executed_precision=executed_precision_of(half, full),
                        fp16_probe_max_abs_diff=max(float(np.abs(a - b).max()) for a, b in zip(half, full)),
                        **ncnn_cpu_support())
            refuse_fp32()
            return half
        refuse_fp32()
        return run(x)
    return Runner('ncnn', precision, threads, fn, info=info)


@functools.lru_cache(maxsize=None)
def ncnn_fp16_support() -> dict[str, Any]:
    """What this machine's ncnn runs when fp16 is requested, from a small convolution + inner-product network
    with fp16 weights written here (no converter needed): `executed_precision` and the capability flags."""
    import struct
    import tempfile
    rng = np.random.default_rng(0)
    c, k, o, n = 3, 3, 8, 16
    w = rng.standard_normal((o, c, k, k)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    fc_w = rng.standard_normal((4, o * 7 * 7)).astype(np.float32)   # 16x16, 3x3 stride 2: 7x7
    fc_b = rng.standard_normal(4).astype(np.float32)
    fp16_tag = struct.pack('<I', 0x01306B47)          # ncnn's marker of fp16 weights in a .bin file
    with tempfile.TemporaryDirectory(prefix='rtmpose-ncnn-probe-') as tmp:
        param = os.path.join(tmp, 'probe.param')
        with open(param, 'w') as f:
            f.write(f'7767517\n4 4\nInput in0 0 1 in0 0={n} 1={n} 2={c}\n'
                    f'Convolution conv0 1 1 in0 c0 0={o} 1={k} 11={k} 2=1 12=1 3=2 13=2 4=0 14=0 5=1 6={w.size}\n'
                    f'ReLU relu0 1 1 c0 r0\n'
                    f'InnerProduct fc0 1 1 r0 out0 0=4 1=1 2={fc_w.size}\n')
        with open(os.path.join(tmp, 'probe.bin'), 'wb') as f:
            f.write(fp16_tag + w.astype(np.float16).tobytes() + b.tobytes()
                    + fp16_tag + fc_w.astype(np.float16).tobytes() + fc_b.tobytes())
        return ncnn_executed_precision(param, 1, (c, n, n))


def tensorrt_runner(path: str, threads: int, precision: str) -> Runner:
    from rtmpose.deploy.export import tensorrt_unavailable_reason
    reason = tensorrt_unavailable_reason()
    if reason:
        raise Error(f'tensorrt not available: {reason}')
    import tensorrt as trt
    import torch
    logger = trt.Logger(trt.Logger.WARNING)
    with open(path, 'rb') as f:
        engine = trt.Runtime(logger).deserialize_cuda_engine(f.read())
    if engine is None:
        raise Error(f'{path}: tensorrt cannot deserialize the engine')
    context = engine.create_execution_context()
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
    outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
    stream = torch.cuda.Stream()
    buffers = {n: torch.empty(tuple(engine.get_tensor_shape(n)), dtype=torch.float32, device='cuda')
               for n in outputs}

    def fn(x):
        x_gpu = torch.from_numpy(np.ascontiguousarray(x)).cuda(non_blocking=True)
        context.set_input_shape(inputs[0], tuple(x.shape))
        context.set_tensor_address(inputs[0], x_gpu.data_ptr())
        for n in outputs:
            context.set_tensor_address(n, buffers[n].data_ptr())
        context.execute_async_v3(stream.cuda_stream)
        stream.synchronize()
        return [buffers[n].cpu().numpy() for n in outputs]
    return Runner('tensorrt', precision, threads, fn, sync=torch.cuda.synchronize,
                  info={'tensorrt': trt.__version__, 'device': torch.cuda.get_device_name()})


def torch_runner(model, threads: int, precision: str, compile: bool = False) -> Runner:
    import torch
    from torch import nn
    if isinstance(model, (str, os.PathLike)):
        model = torch.jit.load(_need_file(model, 'torch'), map_location='cpu')
    if not isinstance(model, nn.Module) and not isinstance(model, torch.jit.ScriptModule):
        raise Error(f'torch: expected an nn.Module or a TorchScript file, got {type(model).__name__}')
    cuda = torch.cuda.is_available() and precision == 'fp16'
    if precision == 'fp16' and not cuda:
        raise Error('torch fp16 needs a CUDA device (CPU half precision is not a deployment target)')
    if precision == 'bf16':
        raise Error('torch: bf16 is not a supported precision here (fp32 or fp16 on CUDA)')
    torch.set_num_threads(threads)
    model = model.eval()
    if cuda:
        model = model.cuda().half()
    net = torch.compile(model) if compile else model

    def fn(x):
        if torch.get_num_threads() != threads:  # a process-wide setting: other runners may have changed it
            torch.set_num_threads(threads)
        t = torch.from_numpy(np.ascontiguousarray(x))
        if cuda:
            t = t.cuda().half()
        with torch.inference_mode():
            out = net(t)
        out = out if isinstance(out, (tuple, list)) else (out,)
        return [o.float().cpu().numpy() for o in out]
    return Runner('torch-compile' if compile else 'torch', precision, threads, fn,
                  sync=torch.cuda.synchronize if cuda else None,
                  info={'torch': torch.__version__, 'num_threads': threads, 'compiled': compile})


def make_runner(backend: str, model_file: str | os.PathLike | Any, threads: int = 1,
                precision: str = 'fp32') -> Runner:
    """A Runner for `backend` (a name of rtmpose.deploy.backends.BACKENDS) on `model_file` (.onnx, OpenVINO
    .xml/.onnx, ncnn .param, TensorRT engine, or an nn.Module / TorchScript file for 'torch' and
    'torch-compile')."""
    from rtmpose.deploy.backends import PRECISIONS, backend as backend_entry
    entry = backend_entry(backend)
    if precision not in PRECISIONS:
        raise Error(f'unknown precision {precision!r}; choose one of: {", ".join(PRECISIONS)}')
    if not isinstance(threads, int) or threads < 1:
        raise Error(f'threads must be a positive integer, got {threads!r}')
    if entry.from_module:
        return entry.runner(model_file, threads, precision)
    return entry.runner(_need_file(model_file, backend), threads, precision)
