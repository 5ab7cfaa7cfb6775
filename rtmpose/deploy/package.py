"""Cached, gated exports: harness/exports/<key>/ holds the backend files and export.json.

The key covers everything that changes the file: model, weights (checkpoint sha256 or 'random-seed-N'),
backend, precision, input size, batch mode and opset. An export is built in a temporary folder, run
through the accuracy gate, described in export.json (gate numbers included, failed or not) and renamed
into place, so a folder that exists is complete. A later call reuses it after checking file hashes.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rtmpose.deploy import gate
from rtmpose.deploy.export import DEFAULT_OPSET, POSE_OUTPUTS, export_ncnn, export_onnx, export_openvino, \
    export_tensorrt, tensorrt_unavailable_reason
from rtmpose.deploy.runners import BACKENDS, PRECISIONS, Runner, make_runner
from rtmpose.errors import Error
from rtmpose.io import write_json_atomic

DEFAULT_ROOT = 'harness/exports'
# backend -> (main file name, precisions it can export)
_FILES = {'onnx': 'model.onnx', 'onnxruntime': 'model.onnx', 'openvino': 'model.xml', 'ncnn': 'model.ncnn.param',
          'tensorrt': 'model.engine', 'torch': 'weights.pt', 'torch-compile': 'weights.pt'}
EXPORT_BACKENDS = tuple(_FILES)
_RUNTIME = {'onnx': 'onnxruntime'}   # the plain ONNX file is checked and timed with ONNX Runtime


@dataclass(frozen=True)
class ExportSpec:
    model: str
    backend: str
    precision: str = 'fp32'
    checkpoint: str | None = None
    seed: int = 0
    dynamic_batch: bool = False
    opset: int = DEFAULT_OPSET


@dataclass
class SourceModel:
    module: torch.nn.Module
    input_size: tuple[int, int]          # (w, h)
    weights: str                         # 'sha256:<hex>' or 'random-seed-N'
    kind: str                            # 'simcc' or 'heatmap'

    def decode(self, *outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == 'simcc':
            return self.module.codec().decode(outputs[0], outputs[1])
        from rtmpose.models.baselines.peers import decode_heatmaps
        return decode_heatmaps(outputs[0], self.input_size)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def model_names() -> tuple[str, ...]:
    from rtmpose.models import MODEL_NAMES
    from rtmpose.models.baselines.peers import PEER_NAMES
    return MODEL_NAMES + PEER_NAMES


def build_source(name: str, checkpoint: str | None = None, seed: int = 0) -> SourceModel:
    """The PyTorch model behind an export. Without a checkpoint the weights are seeded random values
    (fine for speed; well-scaled so the accuracy gate compares non-trivial outputs)."""
    from rtmpose.models import MODEL_NAMES, build_model
    from rtmpose.models.baselines.peers import PEER_NAMES, build_peer
    from rtmpose.seeded import seeded_state_dict
    if name in MODEL_NAMES:
        module = build_model(name, checkpoint)
        kind, size = 'simcc', module.config.input_size
    elif name in PEER_NAMES:
        if checkpoint:
            raise Error(f'{name}: peer models are timed with random weights; --checkpoint is not supported')
        module, kind = build_peer(name), 'heatmap'
        size = module.input_size
    else:
        raise Error(f'unknown model {name!r}; choose one of: {", ".join(model_names())}')
    if checkpoint:
        if not os.path.isfile(checkpoint):
            raise Error(f'{checkpoint}: checkpoint not found')
        weights = f'sha256:{sha256_file(checkpoint)}'
    else:
        module.load_state_dict(seeded_state_dict(module.state_dict(), seed))
        if kind == 'heatmap':
            _recalibrate_bn(module, size, seed)
        weights = f'random-seed-{seed}'
    return SourceModel(module.eval(), tuple(size), weights, kind)


def _recalibrate_bn(module: torch.nn.Module, input_size: tuple[int, int], seed: int) -> None:
    """Set BN statistics to those of seeded inputs. Deep multi-branch peers with random statistics blow
    activations up to ~1e4 and become ill-conditioned (summation order alone changes outputs by 1%);
    with matched statistics every BN output is ~N(0, 1) and export comparisons are meaningful."""
    from rtmpose.seeded import seeded_images
    w, h = input_size
    bns = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None   # cumulative average over the calibration batch
    module.train()
    with torch.no_grad():
        module(seeded_images(8, h, w, seed=seed + 1))
    module.eval()


def export_key(spec: ExportSpec, source: SourceModel) -> str:
    w, h = source.input_size
    weights = source.weights.replace('sha256:', 'sha')[:15]
    batch = 'dyn' if spec.dynamic_batch else 'b1'
    return f'{spec.model}_{spec.backend}_{spec.precision}_{h}x{w}_{batch}_op{spec.opset}_{weights}'


def _validate(spec: ExportSpec) -> None:
    if spec.backend not in EXPORT_BACKENDS:
        raise Error(f'unknown backend {spec.backend!r}; choose one of: {", ".join(EXPORT_BACKENDS)}')
    if spec.precision not in PRECISIONS:
        raise Error(f'unknown precision {spec.precision!r}; choose one of: {", ".join(PRECISIONS)}')
    allowed = {'onnx': ('fp32',), 'onnxruntime': ('fp32',), 'openvino': PRECISIONS, 'ncnn': ('fp32', 'fp16'),
               'tensorrt': ('fp32', 'fp16'), 'torch': ('fp32', 'fp16'), 'torch-compile': ('fp32', 'fp16')}
    if spec.precision not in allowed[spec.backend]:
        raise Error(f'{spec.backend} exports support {", ".join(allowed[spec.backend])}, not {spec.precision}')
    if spec.backend == 'tensorrt':
        reason = tensorrt_unavailable_reason()
        if reason:
            raise Error(f'tensorrt not available: {reason}')


def _versions() -> dict[str, str]:
    out = {'python': platform.python_version(), 'torch': torch.__version__}
    for mod in ('onnx', 'onnxruntime', 'onnxslim', 'openvino', 'ncnn', 'pnnx'):
        try:
            from importlib.metadata import version
            out[mod] = version(mod)
        except Exception:
            pass
    return out


def _write_backend_files(spec: ExportSpec, source: SourceModel, folder: Path) -> None:
    w, h = source.input_size
    shape = (1, 3, h, w)
    outputs = POSE_OUTPUTS if source.kind == 'simcc' else ('heatmaps',)
    if spec.backend in ('torch', 'torch-compile'):
        torch.save(source.module.state_dict(), folder / 'weights.pt')
        return
    onnx_path = export_onnx(source.module, folder / 'model.onnx', shape, outputs, spec.dynamic_batch, spec.opset)
    if spec.backend == 'openvino':
        export_openvino(onnx_path, folder / 'model.xml')
    elif spec.backend == 'ncnn':
        export_ncnn(onnx_path, folder / 'model.ncnn.param', shape, fp16=spec.precision == 'fp16')
    elif spec.backend == 'tensorrt':
        export_tensorrt(onnx_path, folder / 'model.engine', fp16=spec.precision == 'fp16')
    if spec.backend not in ('onnx', 'onnxruntime'):
        onnx_path.unlink()  # the hub file is not needed once converted


def runner_for(record: dict[str, Any], threads: int = 1, source: SourceModel | None = None) -> Runner:
    """A Runner on a cached export (rebuilding the PyTorch module for the torch backends)."""
    backend, precision = record['backend'], record['precision']
    path = Path(record['dir']) / _FILES[backend]
    if backend in ('torch', 'torch-compile'):
        if source is None:
            source = build_source(record['model'], record.get('checkpoint'), record.get('seed', 0))
        module = source.module
        module.load_state_dict(torch.load(path, map_location='cpu', weights_only=True))
        return make_runner(backend, module, threads, precision)
    return make_runner(_RUNTIME.get(backend, backend), path, threads, precision)


def load_record(folder: str | os.PathLike, verify: bool = True) -> dict[str, Any] | None:
    """export.json of a complete export folder, or None if absent or its files changed since."""
    folder = Path(folder)
    meta = folder / 'export.json'
    if not meta.is_file():
        return None
    record = json.loads(meta.read_text())
    record['dir'] = str(folder)
    if verify:
        for name, digest in record.get('files', {}).items():
            if not (folder / name).is_file() or sha256_file(folder / name) != digest:
                return None
    return record


def export(spec: ExportSpec, root: str | os.PathLike = DEFAULT_ROOT, force: bool = False, threads: int = 1,
           verbose: bool = True) -> dict[str, Any]:
    """Export (or reuse) one model/backend/precision, gate it, and return its export.json record."""
    _validate(spec)
    source = build_source(spec.model, spec.checkpoint, spec.seed)
    key = export_key(spec, source)
    root = Path(root)
    final = root / key
    if not force:
        record = load_record(final)
        if record is not None:
            record['reused'] = True
            return record
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{key}.', dir=root))
    try:
        t0 = time.perf_counter()
        _write_backend_files(spec, source, tmp)
        export_s = time.perf_counter() - t0
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        record = dict(asdict(spec), key=key, dir=str(final), input_size=list(source.input_size), kind=source.kind,
                      weights=source.weights, main_file=_FILES[spec.backend], files=files,
                      note=('random weights: valid for speed, not for accuracy'
                            if source.weights.startswith('random') else 'trained checkpoint'),
                      versions=_versions(), export_seconds=round(export_s, 2),
                      created=time.strftime('%Y-%m-%dT%H:%M:%S'))
        record['dir'] = str(tmp)
        runner = runner_for(record, threads, source)
        result = gate.check(runner, source.module, source.decode, source.input_size, spec.precision)
        record.update(dir=str(final), runner=_jsonable(runner.info), gate=result.to_dict(),
                      status='ok' if result.passed else 'failed')
        write_json_atomic(tmp / 'export.json', record)
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    record['reused'] = False
    if verbose:
        report(record)
    return record


def report(record: dict[str, Any]) -> None:
    import sys
    g = gate.GateResult(**record['gate'])
    if g.passed:
        print(f'{record["key"]}: {g.line()}')
    else:
        bar = '!' * 72
        print(f'{bar}\nEXPORT FAILED THE ACCURACY GATE: {record["key"]}\n  {g.line()}\n'
              f'  it stays in {record["dir"]} marked failed; the harness will not time it as good\n{bar}',
              file=sys.stderr)


def _jsonable(info: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (int, float, str, bool, list)) or v is None else str(v) for k, v in info.items()}
