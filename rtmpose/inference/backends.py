"""Models for the pipeline on any backend: build (checkpoint or random weights), export, make a runner.

Export and runners are the deployment package's (rtmpose.deploy.export / .runners); this module only
decides file names and which exports a backend needs. Exported files are cached beside each other in
`work_dir`, keyed by model name, input shape and the checkpoint's identity.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from rtmpose.errors import Error

EXPORT_BACKENDS = ('onnxruntime', 'openvino', 'ncnn', 'tensorrt')
PIPELINE_BACKENDS = ('torch',) + EXPORT_BACKENDS


def _tag(checkpoint: str | None) -> str:
    if checkpoint is None:
        return 'random'
    st = os.stat(checkpoint)
    key = f'{os.path.abspath(checkpoint)}:{st.st_size}:{st.st_mtime_ns}'
    return hashlib.sha1(key.encode()).hexdigest()[:10]


def make_model_runner(model, backend: str, name: str, input_shape: tuple[int, ...], output_names,
                      work_dir: str | os.PathLike, threads: int = 1, dynamic_batch: bool = False,
                      checkpoint: str | None = None):
    """A runner for `model` (an eval nn.Module) on `backend`: numpy (N, 3, H, W) -> list of numpy outputs."""
    from rtmpose.deploy.runners import make_runner
    if backend not in PIPELINE_BACKENDS:
        raise Error(f'unknown backend {backend!r}; choose one of: {", ".join(PIPELINE_BACKENDS)}')
    if backend == 'torch':
        return make_runner('torch', model, threads)
    from rtmpose.deploy import export
    stem = Path(work_dir) / f'{name}-{"x".join(map(str, input_shape[1:]))}-{_tag(checkpoint)}'
    stem = stem.with_name(stem.name + ('-dyn' if dynamic_batch else ''))
    onnx_path = stem.with_suffix('.onnx')
    if not onnx_path.exists():
        export.export_onnx(model, onnx_path, input_shape, output_names=output_names, dynamic_batch=dynamic_batch)
    if backend == 'onnxruntime':
        return make_runner('onnxruntime', onnx_path, threads)
    if backend == 'openvino':
        xml = stem.with_suffix('.xml')
        if not xml.exists():
            export.export_openvino(onnx_path, xml)
        return make_runner('openvino', xml, threads)
    if backend == 'ncnn':
        param = stem.with_suffix('.param')
        if not param.exists():
            export.export_ncnn(onnx_path, param, input_shape)
        return make_runner('ncnn', param, threads)
    engine = stem.with_suffix('.engine')
    if not engine.exists():
        export.export_tensorrt(onnx_path, engine)
    return make_runner('tensorrt', engine, threads)


def _seeded(build):
    """Random weights are drawn from a fixed seed, so cached exports stay those of the module."""
    import torch
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return build()


def build_pose(name: str, checkpoint: str | None, random_weights: bool):
    import rtmpose
    _need_weights('pose', checkpoint, random_weights, '--pose-checkpoint')
    return _seeded(lambda: rtmpose.build_model(name, checkpoint))


def build_det(name: str, checkpoint: str | None, random_weights: bool, input_size: int | None = None):
    from rtmpose.models.rtmdet import build_detector
    _need_weights('detector', checkpoint, random_weights, '--det-checkpoint')
    overrides = {} if input_size is None else {'input_size': int(input_size)}
    return _seeded(lambda: build_detector(name, checkpoint, **overrides))


def _need_weights(what: str, checkpoint: str | None, random_weights: bool, flag: str) -> None:
    if checkpoint is None and not random_weights:
        raise Error(f'no {what} checkpoint: pass {flag} PATH (official weights are not downloaded), '
                    'or --random-weights to exercise the pipeline with untrained weights')
