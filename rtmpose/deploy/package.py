"""The one export cache, content-keyed and gated, used by `rtmpose export`, `rtmpose bench`, the pipeline
bench and `rtmpose demo`: harness/exports/<key>/ holds the backend files and export.json.

What each backend writes and how it is run comes from the backend table (rtmpose.deploy.backends).

The key covers everything that changes the file: model, weights (checkpoint sha256 or 'random-seed-N'),
backend, precision, input size, batch mode and opset. An export is built in a temporary folder, run
through the accuracy gate, described in export.json (gate numbers included, failed or not) and renamed
into place, so a folder that exists is complete. A later call reuses it after checking file hashes.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rtmpose.deploy import gate
from rtmpose.deploy.backends import QUANTIZED, backend, check_available, export_variant
from rtmpose.deploy.calibration import Calibration, calibration_crops, crops_digest, gate_crops
from rtmpose.deploy.export import DEFAULT_OPSET, POSE_OUTPUTS
from rtmpose.deploy.runners import Runner
from rtmpose.errors import Error
from rtmpose.io import remove_stale_temps, sha256_file, write_json_atomic
from rtmpose.system import library_versions

DEFAULT_ROOT = 'harness/exports'
EXPORT_FAMILIES = ('rtmpose', 'peer', 'detector')   # rtmpose.models families the cache exports


@dataclass(frozen=True)
class ExportSpec:
    model: str
    backend: str
    precision: str = 'fp32'
    checkpoint: str | None = None
    seed: int = 0
    dynamic_batch: bool = False
    opset: int = DEFAULT_OPSET
    input_side: int | None = None        # square input side of a detector (None: the model's own)
    # int8 / mixed: where the calibration crops come from (None: seeded inputs of the default count)
    calibration: Calibration | None = None


@dataclass
class SourceModel:
    module: torch.nn.Module
    input_size: tuple[int, int]          # (w, h)
    weights: str                         # 'sha256:<hex>' or 'random-seed-N'
    output: str                          # 'simcc', 'heatmap' or 'detection' (rtmpose.models MODELS[...].output)
    calibration_crops: Any = None        # (N, 3, H, W) float32, set by `export` for quantized precisions
    calibration_digest: str | None = None
    calibration_of: Any = None           # the Calibration the crops were made from

    @property
    def output_names(self) -> tuple[str, ...]:
        if self.output == 'simcc':
            return POSE_OUTPUTS
        if self.output == 'detection':
            from rtmpose.models.rtmdet import OUTPUT_NAMES
            return OUTPUT_NAMES
        return ('heatmaps',)

    @property
    def decode(self):
        """(*raw outputs) -> (keypoints, scores) in input pixels; None for detectors (no keypoints)."""
        if self.output == 'simcc':
            return lambda *outputs: self.module.codec().decode(outputs[0], outputs[1])
        if self.output == 'heatmap':
            from rtmpose.models import decode_heatmaps
            return lambda *outputs: decode_heatmaps(outputs[0], self.input_size)
        return None


def model_names() -> tuple[str, ...]:
    from rtmpose.models import model_names as names_of
    return names_of(*EXPORT_FAMILIES)


def build_source(name: str, checkpoint: str | None = None, seed: int = 0, input_side: int | None = None
                 ) -> SourceModel:
    """The PyTorch model behind an export (rtmpose.models.create). Without a checkpoint the weights are
    seeded random values (rtmpose.seeded: fine for speed; well-scaled so the accuracy gate compares
    non-trivial outputs)."""
    from rtmpose.models import create, entry, input_size
    from rtmpose.seeded import seeded_state_dict
    model_entry = entry(name, *EXPORT_FAMILIES)
    if checkpoint and model_entry.family == 'peer':
        raise Error(f'{name}: peer models are timed with random weights; --checkpoint is not supported')
    overrides = {}
    if input_side is not None:
        if model_entry.family != 'detector':
            raise Error(f'{name}: a square input side override is for detectors only')
        overrides['input_size'] = int(input_side)
    if checkpoint and not os.path.isfile(checkpoint):
        raise Error(f'{checkpoint}: checkpoint not found')
    if checkpoint and model_entry.family == 'rtmpose':
        overrides.update(checkpoint_overrides(checkpoint, name))
    module = create(name, checkpoint, **overrides)
    size = input_size(module)
    if checkpoint:
        weights = f'sha256:{sha256_file(checkpoint)}'
    else:
        module.load_state_dict(seeded_state_dict(module.state_dict(), seed))
        if model_entry.output == 'heatmap':
            _recalibrate_bn(module, size, seed)
        if model_entry.output == 'detection':
            _classifier_prior(module, seed)
        weights = f'random-seed-{seed}'
    return SourceModel(module.eval(), size, weights, model_entry.output)


def checkpoint_overrides(checkpoint: str, name: str) -> dict:
    """The architecture overrides one of this suite's checkpoints carries (input size, sigma, keypoint count of
    its data set), so a model trained at another input size is rebuilt as trained; {} for other files."""
    from rtmpose.checkpoint import read_checkpoint
    raw = read_checkpoint(checkpoint)
    own = raw.get('config') if isinstance(raw, dict) else None
    if not isinstance(own, dict) or own.get('model') not in (None, name):
        return {}
    from rtmpose.data.meta import get_meta
    from rtmpose.evaluation.runner import model_build_overrides
    k = get_meta(own['dataset']).num_keypoints if own.get('dataset') else 17
    return model_build_overrides(own.get('model_overrides') or {}, k)


def _classifier_prior(module: torch.nn.Module, seed: int, prior_prob: float = 0.01) -> None:
    """mmdet's init of RTMDet's classifiers (RTMDetSepBNHead.init_weights: weights ~N(0, 0.01), bias for a
    prior probability of 0.01), seeded: a random detector then scores every anchor ~0.01 and finds nobody,
    as an untrained one does, instead of reporting every anchor as a person."""
    from rtmpose.seeded import rng_for
    bias = float(-np.log((1 - prior_prob) / prior_prob))
    with torch.no_grad():
        for name, conv in module.named_modules():
            if name.startswith('bbox_head.rtm_cls.') and isinstance(conv, torch.nn.Conv2d):
                w = rng_for(seed, f'{name}.weight').normal(0.0, 0.01, tuple(conv.weight.shape))
                conv.weight.copy_(torch.from_numpy(w.astype(np.float32)))
                conv.bias.fill_(bias)


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
    key = f'{spec.model}_{spec.backend}_{spec.precision}_{h}x{w}_{batch}_op{spec.opset}_{weights}'
    if spec.precision in QUANTIZED:
        # the calibration set by content (its crops' hash covers data, split, count and seed)
        n = len(source.calibration_crops) if source.calibration_crops is not None else 0
        key += f'_cal{n}-{(source.calibration_digest or "none")[:10]}'
    variant = export_variant(spec.backend, spec.precision)
    return f'{key}_{variant}' if variant else key


def runner_for(record: dict[str, Any], threads: int = 1, source: SourceModel | None = None) -> Runner:
    """A Runner on a cached export (rebuilding the PyTorch module for the torch backends)."""
    entry = backend(record['backend'])
    path = Path(record['dir']) / entry.main_file
    if entry.from_module:
        if source is None:
            source = build_source(record['model'], record.get('checkpoint'), record.get('seed', 0),
                                  record.get('input_side'))
        module = source.module
        module.load_state_dict(torch.load(path, map_location='cpu', weights_only=True))  # the cache's own file
        return entry.runner(module, threads, record['precision'])
    from rtmpose.deploy.runners import make_runner
    runner = make_runner(record['backend'], path, threads, record['precision'])
    if runner.info.get('executed_precision') == 'not probed yet':
        # ncnn fp16 from a file that declares no input shape: probe what it executes now, on a seeded input of
        # the export's size, so a refusal comes here and no timed call pays for the probe
        from rtmpose.seeded import seeded_images
        w, h = record['input_size']
        runner(seeded_images(1, h, w, seed=0).numpy())
    return runner


def load_record(folder: str | os.PathLike, verify: bool = True) -> dict[str, Any] | None:
    """export.json of a complete export folder, or None if absent or its files changed since."""
    folder = Path(folder)
    meta = folder / 'export.json'
    if not meta.is_file():
        return None
    try:
        record = json.loads(meta.read_text())
        if not isinstance(record, dict):
            raise ValueError('not a JSON object')
    except (ValueError, UnicodeDecodeError, OSError) as e:   # truncated by a kill, or damaged: an absent entry
        import sys
        print(f'rtmpose: {meta}: unreadable export record ({str(e).splitlines()[0][:80]}); exporting again',
              file=sys.stderr)
        return None
    record['dir'] = str(folder)
    if verify:
        for name, digest in record.get('files', {}).items():
            if not (folder / name).is_file() or sha256_file(folder / name) != digest:
                return None
    return record


def export(spec: ExportSpec, root: str | os.PathLike = DEFAULT_ROOT, force: bool = False, threads: int = 1,
           verbose: bool = True, source: SourceModel | None = None) -> dict[str, Any]:
    """Export (or reuse) one model/backend/precision, gate it, and return its export.json record.

    `source` is the spec's build_source(...) when the caller already has it."""
    entry = backend(spec.backend)
    check_available(entry, spec.precision)
    if source is None:
        source = build_source(spec.model, spec.checkpoint, spec.seed, spec.input_side)
    cal = spec.calibration or Calibration()
    if spec.precision in QUANTIZED and (source.calibration_crops is None or source.calibration_of != cal):
        source.calibration_crops = calibration_crops(cal, source.input_size)
        source.calibration_digest = crops_digest(source.calibration_crops)
        source.calibration_of = cal
    key = export_key(spec, source)
    from rtmpose.io import folder_lock
    with folder_lock(root, 'export cache'):   # re-entrant: a command holding it already goes on
        return _export(spec, Path(root), key, source, entry, cal, force, threads, verbose)


def _export(spec: ExportSpec, root: Path, key: str, source: SourceModel, entry, cal, force: bool, threads: int,
            verbose: bool) -> dict[str, Any]:
    final = root / key
    if not force:
        record = load_record(final)
        if record is not None:
            record['reused'] = True
            return record
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(root)   # folders of writers killed mid-export (their pid is in the name)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{key}.tmp-{os.getpid()}-', dir=root))
    try:
        t0 = time.perf_counter()
        try:
            entry.write(source, tmp, spec)
        except OSError as e:   # e.g. a full disk deep inside a converter: name the export being written
            from rtmpose.io import naming
            raise naming(e, final) from None
        export_s = time.perf_counter() - t0
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        record = dict(asdict(spec), key=key, dir=str(final), input_size=list(source.input_size), output=source.output,
                      weights=source.weights, main_file=entry.main_file,
                      calibration_digest=source.calibration_digest, runtime=entry.runtime, files=files,
                      note=('random weights: valid for speed, not for accuracy'
                            if source.weights.startswith('random') else 'trained checkpoint'),
                      variant=export_variant(spec.backend, spec.precision),
                      versions=library_versions(), export_seconds=round(export_s, 2),
                      created=time.strftime('%Y-%m-%dT%H:%M:%S'))
        record['dir'] = str(tmp)
        runner = runner_for(record, threads, source)
        inputs = gate_crops(cal, source.input_size) if spec.precision in QUANTIZED else None
        result = gate.check(runner, source.module, source.decode, source.input_size, spec.precision,
                            entry.tolerance(spec.precision), inputs)
        record['gate_inputs'] = 'seeded' if inputs is None else f'{len(inputs)} held-out crops of {cal.data_dir}'
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


def open_export(spec: ExportSpec, root: str | os.PathLike = DEFAULT_ROOT, threads: int = 1, force: bool = False,
                verbose: bool = True) -> tuple[dict[str, Any], SourceModel, Runner | None]:
    """Export (or reuse) `spec` and, when it passed the accuracy gate, a Runner on it with `threads`.

    Returns (export.json record, the PyTorch source model, runner or None for a failed export)."""
    source = build_source(spec.model, spec.checkpoint, spec.seed, spec.input_side)
    record = export(spec, root, force=force, threads=threads, verbose=verbose, source=source)
    if record['status'] != 'ok':
        return record, source, None
    return record, source, runner_for(record, threads, source)


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
