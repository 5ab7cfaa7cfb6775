"""An exported artifact (ONNX, OpenVINO IR, ncnn, TensorRT engine) behind the PyTorch model's interface, so
the evaluation code (boxes, flip test, decoding, rescoring, OKS-NMS, COCOeval) runs unchanged on it.

    wrap = artifact_wrapper('harness/exports/<key>/model.onnx')
    rtmpose.evaluation.runner.evaluate_checkpoint(cfg, model_wrapper=wrap)

The PyTorch model built from the checkpoint only supplies the architecture's description (input size,
keypoint count, SimCC codec); every forward pass goes through the deploy runner of the file's backend.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rtmpose.deploy.runners import Runner, make_runner
from rtmpose.errors import Error

# file suffix -> backend of rtmpose.deploy.backends (the runtime that opens it)
SUFFIX_BACKEND = {'.onnx': 'onnxruntime', '.xml': 'openvino', '.param': 'ncnn', '.engine': 'tensorrt'}


class RunnerModule(torch.nn.Module):
    """A torch module whose forward runs `runner` one sample at a time (exports have batch 1), with the
    template model's `config` and `codec()`."""

    def __init__(self, runner: Runner, template: torch.nn.Module):
        super().__init__()
        self.runner = runner
        self.config = template.config
        self._codec = template.codec()

    def codec(self):
        return self._codec

    def forward(self, images: torch.Tensor):
        x = images.detach().cpu().float().numpy()
        outs = [self.runner(np.ascontiguousarray(x[i:i + 1])) for i in range(len(x))]
        return tuple(torch.from_numpy(np.concatenate([o[k] for o in outs]).astype(np.float32))
                     for k in range(len(outs[0])))


def export_record_of(model_file: str | os.PathLike) -> dict[str, Any] | None:
    """export.json beside the file (an export-cache folder), or None."""
    meta = Path(model_file).parent / 'export.json'
    if not meta.is_file():
        return None
    try:
        return json.loads(meta.read_text())
    except json.JSONDecodeError:
        return None


def describe(model_file: str | os.PathLike, backend: str | None = None, precision: str | None = None
             ) -> dict[str, Any]:
    """{'backend', 'precision', 'checkpoint', 'model', 'gate'} of an artifact: flags first, then its export.json,
    then the file suffix (precision fp32)."""
    path = Path(model_file)
    if not path.is_file():
        raise Error(f'{path}: model file not found')
    record = export_record_of(path) or {}
    backend = backend or record.get('backend')
    if backend in (None, 'onnx'):
        backend = SUFFIX_BACKEND.get(path.suffix)
    if backend is None:
        raise Error(f'{path}: cannot tell the backend from the suffix {path.suffix!r} '
                    f'(known: {", ".join(SUFFIX_BACKEND)}); give --backend')
    return {'backend': backend, 'precision': precision or record.get('precision') or 'fp32',
            'checkpoint': record.get('checkpoint'), 'model': record.get('model'),
            'gate': (record.get('status') if record else None)}


def open_artifact(model_file: str | os.PathLike, template: torch.nn.Module, backend: str | None = None,
                  precision: str | None = None, threads: int = 1) -> RunnerModule:
    """The artifact as a module; checks once that it takes the template's input size."""
    d = describe(model_file, backend, precision)
    path = Path(model_file)
    implied = SUFFIX_BACKEND.get(path.suffix)
    if implied is not None and d['backend'] != implied:
        raise Error(f'{path}: a {path.suffix} file is a {implied} model, which {d["backend"]} does not open '
                    f'(give --backend {implied}, or leave --backend out)')
    try:
        runner = make_runner(d['backend'], os.fspath(model_file), threads, d['precision'])
    except Error:
        raise
    except Exception as e:
        raise Error(f'{path}: {d["backend"]} cannot open it ({_first_line(e)})') from None
    w, h = template.config.input_size
    try:
        outs = runner(np.zeros((1, 3, h, w), np.float32))
    except Exception as e:
        raise Error(f'{model_file}: does not run on a 1x3x{h}x{w} input, the model\'s '
                    f'({_first_line(e)})') from None
    _check_simcc_outputs(path, outs, template)
    module = RunnerModule(runner, template)
    module.description = d
    return module


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__


def _check_simcc_outputs(path: Path, outs, template) -> None:
    """The artifact's outputs must be the template's SimCC vectors (x: 1 x K x W*split, y: 1 x K x H*split):
    a heatmap model (TinyPose, SimpleBaseline) or another keypoint count is refused in one line."""
    codec = template.codec()
    k = template.config.num_keypoints
    w, h = codec.input_size
    want = [(1, k, codec.num_bins[0]), (1, k, codec.num_bins[1])]
    got = [tuple(np.asarray(o).shape) for o in outs]
    if got != want:
        kind = 'a heatmap model\'s output (one 1 x K x h x w map)' if len(got) == 1 and len(got[0]) == 4 else \
            'not the SimCC vectors of this model'
        raise Error(f'{path}: its outputs {", ".join("x".join(map(str, g)) for g in got)} are {kind}; '
                    f'`rtmpose eval --model-file` evaluates SimCC models (expected '
                    f'{", ".join("x".join(map(str, g)) for g in want)} for {k} keypoints at {w}x{h})')


def artifact_wrapper(model_file: str | os.PathLike, backend: str | None = None, precision: str | None = None,
                     threads: int = 1):
    """template model -> RunnerModule on `model_file` (what evaluate_checkpoint's model_wrapper takes)."""
    return lambda template: open_artifact(model_file, template, backend, precision, threads)
