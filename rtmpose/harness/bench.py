"""`rtmpose bench`: time every (model, backend, precision, threads, span) in one interleaved run.

Protocol (RTMPose paper, section 4 speed): batch 1, 50 warm-up runs, 200 timed runs, CPU backends
single-threaded unless asked otherwise. Two spans for every backend:
- model: the backend call only, its input already prepared;
- e2e:   affine crop from the full image + normalise + backend call + decode + map back to the image.
Only exports that passed the accuracy gate are timed; a failed or unavailable one gets a row saying why.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rtmpose.deploy.plan import ExportPlan
from rtmpose.errors import Error
from rtmpose.harness.timing import summarize, time_callables

SPANS = ('model', 'e2e')
REFERENCE_MODEL = 'rtmpose-t'
# the published ONNX Runtime latency (i7-11700, 1 thread, RTMPose paper Tables 4/5) of a model
PAPER_LATENCIES = 'spec_latencies'
PAPER_ORT_COLUMN = 'ort_i7_11700_ms'
FIELDS = ['model', 'backend', 'precision', 'threads', 'span', 'status', 'mean_ms', 'median_ms', 'p90_ms', 'min_ms',
          'max_ms', 'std_ms', 'fps', 'runs', 'gflops', 'params_m', 'achieved_gflops_per_s', 'fraction_of_peak',
          'paper_ort_ms', 'ratio_to_paper', 'gate_rel_diff', 'gate_kpt_px', 'input', 'weights', 'export_key']
RATIO_FIELDS = ['kind', 'model', 'backend', 'precision', 'threads', 'span', 'reference', 'ratio_mean',
                'ratio_median']


@dataclass
class BenchConfig(ExportPlan):
    """The `bench` section: which exports (ExportPlan: models, peers, backends, precisions, exports, seed)
    and how to time them."""
    threads: list[int] = field(default_factory=lambda: [1])
    spans: list[str] = field(default_factory=lambda: ['model', 'e2e'])
    peer_spans: list[str] = field(default_factory=lambda: ['model', 'e2e'])
    warmup: int = 50
    runs: int = 200
    block: int = 10
    external: list[str] = field(default_factory=lambda: ['blazepose-lite', 'blazepose-full', 'blazepose-heavy'])
    out: str = 'reports/bench'
    mlflow: bool = True

    def __post_init__(self):
        if self.warmup < 0 or self.runs < 1 or self.block < 1:
            raise Error('bench: warmup >= 0, runs >= 1 and block >= 1 are required')
        bad = sorted((set(self.spans) | set(self.peer_spans)) - set(SPANS))
        if bad:
            raise Error(f'bench: unknown span {bad[0]!r} (known: {", ".join(SPANS)})')
        if any(not isinstance(t, int) or t < 1 for t in self.threads):
            raise Error(f'bench: threads must be positive integers, got {self.threads}')

    def validate(self, where: str) -> None:
        super().validate(where)
        from rtmpose.harness.external import COMPLEXITY
        bad = [n for n in self.external if n not in COMPLEXITY]
        if bad:
            raise Error(f'{where}: unknown external peer {bad[0]!r}; choose from: {", ".join(COMPLEXITY)}')


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


@functools.lru_cache(maxsize=None)
def paper_ort_ms(model: str) -> float | str:
    """The paper's ONNX Runtime latency of `model` (reports/paper/spec_latencies.yaml), '' if not published."""
    from rtmpose.paper import paper_value
    value = paper_value(PAPER_LATENCIES, model, PAPER_ORT_COLUMN)
    return '' if value is None else value


# ---------------------------------------------------------------- the end-to-end span
def bench_image(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed 640x480 BGR frame and a person-sized box in it (content does not change the cost)."""
    from rtmpose.seeded import rng_for
    img = rng_for(seed, 'bench-image').integers(0, 256, (480, 640, 3), dtype=np.uint8)
    return img, np.array([[220.0, 40.0, 420.0, 460.0]], np.float32)


class TopdownE2E:
    """One person, the e2e span: crop with a single warpAffine + fused normalise (rtmpose.topdown.BoxCrop,
    whose box geometry is computed once as a tracker-driven pipeline would), run, decode, map back."""

    def __init__(self, runner: Callable, decode: Callable, input_size: tuple[int, int], bbox: np.ndarray):
        from rtmpose.topdown import BoxCrop
        self.runner, self.decode = runner, decode
        self.box_crop = BoxCrop(bbox, input_size)
        self.prepare = self.box_crop
        self.center, self.scale = self.box_crop.center, self.box_crop.scale

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self.runner(self.box_crop(image))
        kpts, scores = self.decode(*out)
        return self.box_crop.to_image(kpts), scores


# ---------------------------------------------------------------- the run
def _conditions(cfg: BenchConfig) -> list[Condition]:
    spans = {'models': tuple(cfg.spans), 'peers': tuple(cfg.peer_spans)}
    return [Condition(spec.model, spec.backend, spec.precision, t, spans=spans[group])
            for group, specs in cfg.groups() for spec in specs for t in cfg.threads]


def _prepare(cond: Condition, cfg: BenchConfig) -> None:
    from rtmpose.deploy.package import ExportSpec, open_export
    try:
        cond.record, cond.source, cond.runner = open_export(
            ExportSpec(cond.model, cond.backend, cond.precision, seed=cfg.seed), cfg.exports, cond.threads)
    except Error as e:
        cond.status = f'not run: {e}'
        return
    if cond.runner is None:
        cond.status = 'failed accuracy gate'


def _complexity(model: str) -> tuple[float, float]:
    from rtmpose.complexity import model_complexity
    c = model_complexity(model)
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
                       paper_ort_ms=paper_ort_ms(c.model))
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
            pr = paper_ort_ms(r['model'])
            lines.append(f'| {r["model"]} | {r["ratio_mean"]:.2f} | {r["ratio_median"]:.2f} | '
                         f'{pr / paper_ort_ms(REFERENCE_MODEL):.2f} |' if pr else
                         f'| {r["model"]} | {r["ratio_mean"]:.2f} | {r["ratio_median"]:.2f} | |')
    over = [r for r in ratio_rows if r['kind'] == 'e2e_vs_model']
    if over:
        lines += ['', '## End-to-end overhead (e2e / model, mean)', '']
        lines += [f'- {r["model"]} {r["backend"]} {r["precision"]} t{r["threads"]}: {r["ratio_mean"]:.3f}'
                  for r in over]
    return '\n'.join(lines) + '\n'


def write_reports(rows, floor, cfg: BenchConfig) -> dict[str, Any]:
    from rtmpose.io import write_csv_atomic, write_json_atomic, write_text_atomic
    from rtmpose.system import describe_machine
    machine = describe_machine()
    ratio_rows = ratios(rows)
    out = Path(cfg.out)
    write_csv_atomic(out / 'latency.csv', rows, FIELDS)
    write_csv_atomic(out / 'ratios.csv', ratio_rows, RATIO_FIELDS)
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


def bench_command(cfg: BenchConfig) -> int:
    """`rtmpose bench`: time every condition, write the reports into `cfg.out`, print the table."""
    rows, floor = run_bench(cfg)
    write_reports(rows, floor, cfg)
    print_table(rows)
    print(f'wrote {cfg.out}/latency.csv, ratios.csv, summary.md')
    return 0
