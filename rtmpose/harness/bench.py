"""`rtmpose bench`: time every (model, backend, precision, threads, span) in one interleaved run.

Protocol (RTMPose paper, section 4 speed): batch 1, 50 warm-up runs, 200 timed runs, CPU backends
single-threaded unless asked otherwise. Two spans for every backend:
- model: the backend call only, its input already prepared;
- e2e:   affine crop from the full image + normalise + backend call + decode + map back to the image.
Only exports that passed the accuracy gate are timed; a failed or unavailable one gets a row saying why.
"""
from __future__ import annotations

import csv
import io
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rtmpose.errors import Error
from rtmpose.harness.timing import summarize, time_callables

# Published ONNX Runtime latencies on an i7-11700, 1 thread (RTMPose paper, Table 4/5), ms.
PAPER_ORT_MS = {'rtmpose-t': 3.20, 'rtmpose-s': 4.48, 'rtmpose-m': 11.06, 'rtmpose-l': 18.85,
                'rtmpose-m-384x288': 24.78, 'tinypose-128x96': 10.58, 'litehrnet-30': 22.75}
SPANS = ('model', 'e2e')
REFERENCE_MODEL = 'rtmpose-t'
FIELDS = ['model', 'backend', 'precision', 'threads', 'span', 'status', 'mean_ms', 'median_ms', 'p90_ms', 'min_ms',
          'max_ms', 'std_ms', 'fps', 'runs', 'gflops', 'params_m', 'achieved_gflops_per_s', 'fraction_of_peak',
          'paper_ort_ms', 'ratio_to_paper', 'gate_rel_diff', 'gate_kpt_px', 'input', 'weights', 'export_key']


@dataclass
class BenchConfig:
    models: list[str] = field(default_factory=lambda: ['rtmpose-t', 'rtmpose-s', 'rtmpose-m', 'rtmpose-l'])
    peers: list[str] = field(default_factory=lambda: ['tinypose-128x96', 'tinypose-256x192', 'litehrnet-30',
                                                      'hrnet-w32', 'hrnet-w48-384x288'])
    backends: list[str] = field(default_factory=lambda: ['onnxruntime', 'openvino', 'ncnn', 'torch'])
    peer_backends: list[str] = field(default_factory=lambda: ['onnxruntime'])
    precisions: list[str] = field(default_factory=lambda: ['fp32'])
    threads: list[int] = field(default_factory=lambda: [1])
    spans: list[str] = field(default_factory=lambda: ['model', 'e2e'])
    peer_spans: list[str] = field(default_factory=lambda: ['model', 'e2e'])
    warmup: int = 50
    runs: int = 200
    block: int = 10
    external: list[str] = field(default_factory=lambda: ['blazepose-lite', 'blazepose-full', 'blazepose-heavy'])
    exports: str = 'harness/exports'
    out: str = 'reports/bench'
    seed: int = 0
    mlflow: bool = True

    def __post_init__(self):
        if self.warmup < 0 or self.runs < 1 or self.block < 1:
            raise Error('bench: warmup >= 0, runs >= 1 and block >= 1 are required')
        bad = sorted((set(self.spans) | set(self.peer_spans)) - set(SPANS))
        if bad:
            raise Error(f'bench: unknown span {bad[0]!r} (known: {", ".join(SPANS)})')
        if any(not isinstance(t, int) or t < 1 for t in self.threads):
            raise Error(f'bench: threads must be positive integers, got {self.threads}')


@dataclass
class Condition:
    model: str
    backend: str
    precision: str
    threads: int
    record: dict[str, Any] | None = None
    status: str = 'ok'
    runner: Any = None
    source: Any = None
    spans: tuple[str, ...] = SPANS

    @property
    def name(self) -> str:
        return f'{self.model}|{self.backend}|{self.precision}|t{self.threads}'


# ---------------------------------------------------------------- the end-to-end span
def bench_image(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed 640x480 BGR frame and a person-sized box in it (content does not change the cost)."""
    from rtmpose.seeded import rng_for
    img = rng_for(seed, 'bench-image').integers(0, 256, (480, 640, 3), dtype=np.uint8)
    return img, np.array([[220.0, 40.0, 420.0, 460.0]], np.float32)


class TopdownE2E:
    """One person: crop with a single warpAffine, normalise, run, decode, map back to the image.

    The centre/scale and the warp matrix depend only on the box, so they are computed once per box as a
    tracker-driven pipeline would; per frame the work is warpAffine + a fused normalise + model + decode.
    """

    def __init__(self, runner: Callable, decode: Callable, input_size: tuple[int, int], bbox: np.ndarray):
        import cv2
        from rtmpose.models.rtmpose import MEAN, STD
        from rtmpose.topdown import bbox_xyxy_to_center_scale, fix_aspect_ratio, get_warp_matrix
        self.cv2 = cv2
        self.runner, self.decode, self.input_size = runner, decode, tuple(input_size)
        w, h = self.input_size
        center, scale = bbox_xyxy_to_center_scale(bbox)
        self.center, self.scale = center, fix_aspect_ratio(scale, w / h)
        self.matrix = get_warp_matrix(self.center[0], self.scale[0], 0.0, self.input_size)
        self.crop = np.empty((h, w, 3), np.uint8)
        self.batch = np.empty((1, 3, h, w), np.float32)
        # BGR -> RGB and (x - mean) / std folded into one multiply-add per channel
        self.mul = (1.0 / np.array(STD, np.float32))[::-1].copy()
        self.add = (-np.array(MEAN, np.float32) / np.array(STD, np.float32))[::-1].copy()

    def prepare(self, image: np.ndarray) -> np.ndarray:
        self.cv2.warpAffine(image, self.matrix, self.input_size, dst=self.crop, flags=self.cv2.INTER_LINEAR)
        for c in range(3):   # crop channel c (BGR) -> input channel 2 - c (RGB)
            np.multiply(self.crop[..., c], self.mul[c], out=self.batch[0, 2 - c], casting='unsafe')
            self.batch[0, 2 - c] += self.add[c]
        return self.batch

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from rtmpose.topdown import crop_to_image
        out = self.runner(self.prepare(image))
        kpts, scores = self.decode(*out)
        return crop_to_image(kpts, self.center, self.scale, self.input_size), scores


# ---------------------------------------------------------------- machine description
def describe_machine() -> dict[str, Any]:
    cpu = 'unknown'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version
    libs = {}
    for pkg in ('torch', 'numpy', 'opencv-python-headless', 'onnxruntime', 'openvino', 'ncnn', 'pnnx', 'onnx'):
        try:
            libs[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return dict(cpu=cpu, logical_cores=os.cpu_count(), platform=platform.platform(),
                python=platform.python_version(), omp_num_threads=os.environ.get('OMP_NUM_THREADS', ''), **libs)


# ---------------------------------------------------------------- the run
def _conditions(cfg: BenchConfig) -> list[Condition]:
    out = []
    for models, backends, spans in ((cfg.models, cfg.backends, cfg.spans),
                                    (cfg.peers, cfg.peer_backends, cfg.peer_spans)):
        for m in models:
            for b in backends:
                for p in cfg.precisions:
                    for t in cfg.threads:
                        out.append(Condition(m, b, p, t, spans=tuple(spans)))
    return out


def _prepare(cond: Condition, cfg: BenchConfig) -> None:
    from rtmpose.deploy.package import ExportSpec, build_source, export, runner_for
    try:
        cond.record = export(ExportSpec(cond.model, cond.backend, cond.precision, seed=cfg.seed), cfg.exports)
    except Error as e:
        cond.status = f'not run: {e}'
        return
    if cond.record['status'] != 'ok':
        cond.status = 'failed accuracy gate'
        return
    cond.source = build_source(cond.model, None, cfg.seed)
    cond.runner = runner_for(cond.record, cond.threads, cond.source)


def _complexity(model: str) -> tuple[float, float]:
    from rtmpose.complexity import complexity
    from rtmpose.deploy.package import build_source
    src = build_source(model)
    w, h = src.input_size
    c = complexity(src.module, (1, 3, h, w))
    return c.gflops, c.params_m


def run_bench(cfg: BenchConfig) -> tuple[list[dict[str, Any]], dict[str, float]]:
    from rtmpose.harness.peak import achieved, peak_gflops
    conds = _conditions(cfg)
    for c in conds:
        _prepare(c, cfg)
    floor = peak_gflops(threads=1)
    print(f'single-core peak: {floor["peak_gflops"]:.1f} GFLOP/s (MAC convention, {floor["matmul_n"]}^3 matmul, '
          f'best of {floor["repeats"]})')
    image, bbox = bench_image(cfg.seed)
    fns, syncs = {}, {}
    for c in conds:
        if c.runner is None:
            continue
        e2e = TopdownE2E(c.runner, c.source.decode, c.source.input_size, bbox)
        x = e2e.prepare(image).copy()
        if 'model' in c.spans:
            fns[(c.name, 'model')] = (lambda r=c.runner, x=x: r(x))
            syncs[(c.name, 'model')] = c.runner.sync
        if 'e2e' in c.spans:
            fns[(c.name, 'e2e')] = (lambda f=e2e: f(image))
            syncs[(c.name, 'e2e')] = c.runner.sync
    times = time_callables(fns, cfg.warmup, cfg.runs, cfg.block, syncs) if fns else {}
    complexities = {m: _complexity(m) for m in dict.fromkeys(c.model for c in conds)}
    rows = []
    for c in conds:
        gflops, params_m = complexities[c.model]
        for span in c.spans:
            row = dict(model=c.model, backend=c.backend, precision=c.precision, threads=c.threads, span=span,
                       status=c.status, gflops=round(gflops, 4), params_m=round(params_m, 3),
                       paper_ort_ms=PAPER_ORT_MS.get(c.model, ''))
            if c.record:
                w, h = c.record['input_size']
                row.update(input=f'{h}x{w}', weights=c.record['weights'], export_key=c.record['key'],
                           gate_rel_diff=c.record['gate']['rel_diff'], gate_kpt_px=c.record['gate']['mean_kpt_px'])
            t = times.get((c.name, span))
            if t is not None:
                row.update(summarize(t))
                row.update(achieved(gflops, row['mean_ms'], floor['peak_gflops']))
                if row['paper_ort_ms'] and c.backend == 'onnxruntime' and span == 'model' and c.threads == 1:
                    row['ratio_to_paper'] = row['mean_ms'] / row['paper_ort_ms']
                row['_times'] = t
            rows.append(row)
    rows += external_rows(cfg)
    return rows, floor


def external_rows(cfg: BenchConfig) -> list[dict[str, Any]]:
    from rtmpose.harness.external import run_external
    return run_external(cfg.external, cfg.warmup, cfg.runs) if cfg.external else []


# ---------------------------------------------------------------- reports
def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every timed row against rtmpose-t on the same backend/precision/threads/span, and e2e vs model."""
    timed = {(r['model'], r['backend'], r['precision'], r['threads'], r['span']): r for r in rows if '_times' in r}
    out = []
    for (m, b, p, t, s), r in timed.items():
        ref = timed.get((REFERENCE_MODEL, b, p, t, s))
        if ref is not None:
            out.append(dict(kind='model_vs_rtmpose-t', model=m, backend=b, precision=p, threads=t, span=s,
                            reference=f'{REFERENCE_MODEL}', ratio_mean=r['mean_ms'] / ref['mean_ms'],
                            ratio_median=r['median_ms'] / ref['median_ms']))
        if s == 'e2e' and (m, b, p, t, 'model') in timed:
            base = timed[(m, b, p, t, 'model')]
            out.append(dict(kind='e2e_vs_model', model=m, backend=b, precision=p, threads=t, span='e2e',
                            reference='model span', ratio_mean=r['mean_ms'] / base['mean_ms'],
                            ratio_median=r['median_ms'] / base['median_ms']))
        if b != 'onnxruntime' and (m, 'onnxruntime', p, t, s) in timed:
            base = timed[(m, 'onnxruntime', p, t, s)]
            out.append(dict(kind='backend_vs_onnxruntime', model=m, backend=b, precision=p, threads=t, span=s,
                            reference='onnxruntime', ratio_mean=r['mean_ms'] / base['mean_ms'],
                            ratio_median=r['median_ms'] / base['median_ms']))
    return out


def _csv(rows: list[dict[str, Any]], fields: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction='ignore', lineterminator='\n')
    w.writeheader()
    for r in rows:
        w.writerow({k: (f'{v:.4g}' if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def _pct(v) -> str:
    return f'{100 * v:.1f}' if isinstance(v, float) else ''


def summary_markdown(rows, ratio_rows, floor, machine, cfg) -> str:
    lines = ['# Speed benchmark', '',
             f'Machine: {machine["cpu"]}, {machine["logical_cores"]} logical cores; onnxruntime '
             f'{machine.get("onnxruntime", "?")}, openvino {machine.get("openvino", "?")}, ncnn {machine.get("ncnn", "?")}, '
             f'torch {machine.get("torch", "?")}.',
             f'Protocol: batch 1, {cfg.warmup} warm-up + {cfg.runs} timed runs per condition, interleaved in blocks of '
             f'{cfg.block} across all conditions. Weights are seeded random values (speed only).',
             f'Single-core peak (matmul, MAC convention): {floor["peak_gflops"]:.1f} GFLOP/s.', '',
             '| model | backend | prec | thr | span | status | mean ms | median | p90 | FPS | % of peak | paper ORT ms |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        if '_times' in r:
            lines.append(f'| {r["model"]} | {r["backend"]} | {r["precision"]} | {r["threads"]} | {r["span"]} | ok | '
                         f'{r["mean_ms"]:.2f} | {r["median_ms"]:.2f} | {r["p90_ms"]:.2f} | {r["fps"]:.1f} | '
                         f'{_pct(r.get("fraction_of_peak"))} | {r.get("paper_ort_ms", "")} |')
        else:
            lines.append(f'| {r["model"]} | {r["backend"]} | {r["precision"]} | {r["threads"]} | {r["span"]} | '
                         f'{r["status"]} | | | | | | {r.get("paper_ort_ms", "")} |')
    paper = [r for r in ratio_rows if r['kind'] == 'model_vs_rtmpose-t' and r['backend'] == 'onnxruntime'
             and r['span'] == 'model' and r['threads'] == 1 and r['precision'] == 'fp32']
    if paper:
        lines += ['', '## Ratios to RTMPose-t (ONNX Runtime, 1 thread, model span; same interleaved run)', '',
                  '| model | ratio (mean) | ratio (median) | paper ratio |', '|---|---|---|---|']
        for r in sorted(paper, key=lambda r: r['ratio_mean']):
            pr = PAPER_ORT_MS.get(r['model'])
            lines.append(f'| {r["model"]} | {r["ratio_mean"]:.2f} | {r["ratio_median"]:.2f} | '
                         f'{pr / PAPER_ORT_MS[REFERENCE_MODEL]:.2f} |' if pr else
                         f'| {r["model"]} | {r["ratio_mean"]:.2f} | {r["ratio_median"]:.2f} | |')
    over = [r for r in ratio_rows if r['kind'] == 'e2e_vs_model']
    if over:
        lines += ['', '## End-to-end overhead (e2e / model, mean)', '']
        lines += [f'- {r["model"]} {r["backend"]} {r["precision"]} t{r["threads"]}: {r["ratio_mean"]:.3f}'
                  for r in over]
    return '\n'.join(lines) + '\n'


def write_reports(rows, floor, cfg: BenchConfig) -> dict[str, Any]:
    from rtmpose.io import write_json_atomic, write_text_atomic
    machine = describe_machine()
    ratio_rows = ratios(rows)
    out = Path(cfg.out)
    write_text_atomic(out / 'latency.csv', _csv(rows, FIELDS))
    write_text_atomic(out / 'ratios.csv', _csv(ratio_rows, ['kind', 'model', 'backend', 'precision', 'threads',
                                                            'span', 'reference', 'ratio_mean', 'ratio_median']))
    write_text_atomic(out / 'summary.md', summary_markdown(rows, ratio_rows, floor, machine, cfg))
    write_json_atomic(out / 'machine.json', dict(machine, floor=floor, config=asdict(cfg)))
    write_json_atomic(out / 'raw_timings.json', {
        f'{r["model"]}|{r["backend"]}|{r["precision"]}|t{r["threads"]}|{r["span"]}': [round(x, 5) for x in r['_times']]
        for r in rows if '_times' in r})
    if cfg.mlflow:
        log_mlflow(rows, machine, floor, cfg)
    return dict(machine=machine, ratios=ratio_rows)


def log_mlflow(rows, machine, floor, cfg: BenchConfig) -> None:
    """One MLflow run per condition and span in experiment 'bench', raw timings as an artifact."""
    from rtmpose.mlflow_log import start_run
    with tempfile.TemporaryDirectory() as tmp:
        for r in rows:
            name = f'{r["model"]}/{r["backend"]}/{r["precision"]}/t{r["threads"]}/{r["span"]}'
            params = {k: r.get(k) for k in ('model', 'backend', 'precision', 'threads', 'span', 'input', 'weights',
                                             'export_key')}
            params.update(warmup=cfg.warmup, runs=cfg.runs, block=cfg.block)
            tags = dict(status=r['status'], **{f'machine.{k}': v for k, v in machine.items()})
            with start_run('bench', name, params=params, tags=tags) as run:
                metrics = {k: r[k] for k in ('mean_ms', 'median_ms', 'p90_ms', 'min_ms', 'max_ms', 'std_ms', 'fps',
                                             'gflops', 'achieved_gflops_per_s', 'fraction_of_peak')
                           if isinstance(r.get(k), (int, float))}
                metrics['peak_gflops'] = floor['peak_gflops']
                run.log_metrics(metrics)
                if '_times' in r:
                    path = os.path.join(tmp, 'timings_ms.json')
                    with open(path, 'w') as f:
                        json.dump([float(x) for x in r['_times']], f)
                    run.log_artifact(path)


def print_table(rows) -> None:
    print(f'{"model":<20}{"backend":<13}{"prec":<6}{"thr":>4} {"span":<6}{"mean":>9}{"median":>9}{"p90":>9}'
          f'{"FPS":>8}  status')
    for r in rows:
        if '_times' in r:
            print(f'{r["model"]:<20}{r["backend"]:<13}{r["precision"]:<6}{r["threads"]:>4} {r["span"]:<6}'
                  f'{r["mean_ms"]:>9.2f}{r["median_ms"]:>9.2f}{r["p90_ms"]:>9.2f}{r["fps"]:>8.1f}  ok')
        else:
            print(f'{r["model"]:<20}{r["backend"]:<13}{r["precision"]:<6}{r["threads"]:>4} {r["span"]:<6}'
                  f'{"":>35}  {r["status"]}', file=sys.stdout)
