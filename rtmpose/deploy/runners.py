"""One callable per backend: float32 numpy (N, 3, H, W) in, list of numpy outputs out.

    runner = make_runner('onnxruntime', 'rtmpose-t.onnx', threads=1)
    simcc_x, simcc_y = runner(batch)

Runtimes: onnxruntime, openvino, ncnn, tensorrt (lazy import, GPU), torch (eager) and torch-compile; which
backend uses which is the table in rtmpose.deploy.backends.
CPU backends are pinned to `threads` intra-op threads (the paper times ONNX Runtime with one).
`runner.sync` is a callable to run before reading a clock on asynchronous devices (None on CPU).
"""
from __future__ import annotations

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


def ncnn_runner(path: str, threads: int, precision: str) -> Runner:
    import ncnn
    if precision not in ('fp32', 'fp16'):
        raise Error(f'ncnn: precision {precision} not supported (fp32 or fp16)')
    fp16 = precision == 'fp16'
    net = ncnn.Net()
    net.opt.num_threads = threads
    net.opt.use_vulkan_compute = False
    # fp32 means fp32 everywhere: ncnn otherwise stores activations in fp16/bf16 where the CPU allows
    net.opt.use_fp16_packed = fp16
    net.opt.use_fp16_storage = fp16
    net.opt.use_fp16_arithmetic = fp16
    net.opt.use_bf16_storage = False
    bin_path = os.path.splitext(path)[0] + '.bin'
    if net.load_param(path) != 0 or net.load_model(bin_path) != 0:
        raise Error(f'{path}: ncnn cannot load it (needs {bin_path} beside it)')
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
    return Runner('ncnn', precision, threads, fn,
                  info={'num_threads': threads, 'use_fp16_storage': fp16, 'use_fp16_arithmetic': fp16,
                        'ncnn': ncnn.__version__})


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
