"""`rtmpose bench`: time every (model, backend, precision, threads, span) in one interleaved run.

Protocol (RTMPose paper, section 4 speed): batch 1, 50 warm-up runs, 200 timed runs, CPU backends
single-threaded unless asked otherwise; `threads` may also list `all` (or 0): every core this process may use,
recorded as the number it resolved to (`threads`, with `all_cores` true). The paper's "1 thread" ONNX Runtime
figures imply more multiply-accumulates per second than one core of its CPU can do in fp32
(rtmpose.paper.paper_cpu_rates), so they are set beside the all-cores rows (`ratio_to_paper`). Two spans for
every backend:
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
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rtmpose.deploy.plan import ExportPlan
from rtmpose.errors import Error
from rtmpose.harness.timing import summarize_timing, time_interleaved

SPANS = ('model', 'e2e')
REFERENCE_MODEL = 'rtmpose-t'
# the published ONNX Runtime latency (i7-11700, stated as 1 thread, RTMPose paper Table 11) of a model
PAPER_LATENCIES = 'spec_latencies'
PAPER_ORT_COLUMN = 'ort_i7_11700_ms'
ALL_THREADS = 'all'              # a `threads` entry meaning every usable core (0 means the same)
FIELDS = ['model', 'backend', 'precision', 'executed_precision', 'threads', 'cores', 'all_cores', 'span', 'status',
          'mean_ms', 'median_ms', 'median_ci_lo_ms',
          'median_ci_hi_ms', 'p90_ms', 'p90_reliable', 'p99_ms', 'p99_reliable', 'min_ms', 'max_ms', 'std_ms',
          'iqr_rel', 'iqr_warn', 'drift', 'drift_warn', 'cold_ms', 'cores_used', 'cores_warn', 'fps', 'runs',
          'repeats', 'repeat_median_ms', 'repeat_min_ms', 'repeat_max_ms', 'repeat_spread_rel',
          'gflops', 'published_gflops', 'params_m', 'achieved_gflops_per_s', 'gmacs_per_core', 'cores_for_peak',
          'peak_gmacs', 'peak_gmacs_per_core', 'fraction_of_peak', 'paper_ort_ms', 'ratio_to_paper', 'gate_rel_diff',
          'gate_kpt_px', 'input', 'weights', 'export_key']
STAT_KEYS = ('mean_ms', 'median_ms', 'median_ci_lo_ms', 'median_ci_hi_ms', 'p90_ms', 'p99_ms', 'min_ms', 'max_ms',
             'std_ms', 'iqr_rel', 'drift', 'cold_ms', 'cores_used', 'fps', 'gflops', 'published_gflops',
             'achieved_gflops_per_s', 'gmacs_per_core', 'peak_gmacs', 'peak_gmacs_per_core', 'fraction_of_peak',
             'repeat_spread_rel')
RATIO_FIELDS = ['kind', 'model', 'backend', 'precision', 'threads', 'span', 'reference', 'ratio_mean',
                'ratio_median']
Threads = list[int | str]


def thread_counts(values, cores: int | None = None) -> list[int]:
    """`threads` entries as thread counts: `all` (or 0) is every core this process may use
    (rtmpose.system.usable_cores); duplicates after resolving are dropped, order kept."""
    from rtmpose.system import usable_cores
    n = cores or usable_cores()
    out = []
    for v in values:
        t = n if v == ALL_THREADS or v == 0 else int(v)
        if t not in out:
            out.append(t)
    return out


def _bad_threads(values) -> bool:
    return any(not (v == ALL_THREADS or (isinstance(v, int) and not isinstance(v, bool) and v >= 0))
               for v in values)


@dataclass
class BenchConfig(ExportPlan):
    """The `bench` section: which exports (ExportPlan: models, peers, backends, precisions, exports, seed)
    and how to time them."""
    threads: Threads = field(default_factory=lambda: [1])     # counts, or `all` (0): every usable core
    spans: list[str] = field(default_factory=lambda: ['model', 'e2e'])
    peer_spans: list[str] = field(default_factory=lambda: ['model', 'e2e'])
    warmup: int = 50
    runs: int = 200
    block: int = 10
    repeats: int = 1                  # whole runs in separate processes (1 = this process only)
    iqr_warn: float = 0.10            # flag IQR/median above this (torch.utils.benchmark's 10%)
    drift_warn: float = 0.05          # flag |median(2nd half)/median(1st half) - 1| above this
    tail_min_count: int = 10          # a tail percentile q is reliable when runs * (1 - q) >= this
    bootstrap: int = 2000             # bootstrap resamples of the median's 95% interval (seeded)
    # sweeps (rtmpose bench --sweep people|batch|threads); empty thread lists: 1 and all cores / 1..all cores
    sweep_warmup: int = 10
    sweep_runs: int = 50
    sweep_people: list[int] = field(default_factory=lambda: list(range(1, 13)))
    sweep_people_models: list[str] = field(default_factory=lambda: ['rtmpose-t'])
    sweep_people_threads: Threads = field(default_factory=list)
    sweep_people_backend: str = 'onnxruntime'
    realtime_fps: float = 30.0        # "real time" in the people sweep's statements
    sweep_batches: list[int] = field(default_factory=lambda: [1, 2, 4, 8])
    sweep_batch_backends: list[str] = field(default_factory=lambda: ['onnxruntime'])
    sweep_threads: Threads = field(default_factory=list)
    sweep_exports: str = 'harness/sweep-exports'   # dynamic-batch exports of the people/batch sweeps
    external: list[str] = field(default_factory=lambda: ['blazepose-lite', 'blazepose-full', 'blazepose-heavy'])
    out: str = 'reports/bench'
    mlflow: bool = True

    def __post_init__(self):
        if self.warmup < 0 or self.runs < 1 or self.block < 1 or self.repeats < 1:
            raise Error('bench: warmup >= 0, runs >= 1, block >= 1 and repeats >= 1 are required')
        bad = sorted((set(self.spans) | set(self.peer_spans)) - set(SPANS))
        if bad:
            raise Error(f'bench: unknown span {bad[0]!r} (known: {", ".join(SPANS)})')
        for name in ('sweep_people', 'sweep_batches'):
            values = getattr(self, name)
            if any(not isinstance(t, int) or t < 1 for t in values):
                raise Error(f'bench: {name} must be positive integers, got {values}')
        for name in ('threads', 'sweep_people_threads', 'sweep_threads'):
            if _bad_threads(getattr(self, name)):
                raise Error(f'bench: {name} must be thread counts >= 1 or {ALL_THREADS!r} (0 means {ALL_THREADS}: '
                            f'every usable core), got {getattr(self, name)}')
        if not self.threads:
            raise Error('bench: threads must list at least one thread count')
        if self.sweep_runs < 1 or self.sweep_warmup < 0:
            raise Error('bench: sweep_runs >= 1 and sweep_warmup >= 0 are required')

    def thread_counts(self) -> list[int]:
        """`threads` resolved to numbers (`all` -> the cores this process may use)."""
        return thread_counts(self.threads)

    def validate(self, where: str) -> None:
        super().validate(where)
        from rtmpose.harness.external import COMPLEXITY
        bad = [n for n in self.external if n not in COMPLEXITY]
        if bad:
            raise Error(f'{where}: unknown external peer {bad[0]!r}; choose from: {", ".join(COMPLEXITY)}')
        from rtmpose.deploy.backends import BACKEND_NAMES
        from rtmpose.models import MODELS
        bad = [m for m in self.sweep_people_models if m not in MODELS]
        if bad:
            raise Error(f'{where}: unknown sweep_people_models entry {bad[0]!r}')
        bad = [b for b in [self.sweep_people_backend, *self.sweep_batch_backends] if b not in BACKEND_NAMES]
        if bad:
            raise Error(f'{where}: unknown sweep backend {bad[0]!r}; choose from: {", ".join(BACKEND_NAMES)}')


@dataclass
class Condition:
    model: str
    backend: str
    precision: str
    threads: int
    all_cores: bool = False              # threads covers every core this process may use
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
    from rtmpose.system import usable_cores
    spans = {'models': tuple(cfg.spans), 'peers': tuple(cfg.peer_spans)}
    cores = usable_cores()
    return [Condition(spec.model, spec.backend, spec.precision, t, all_cores=t >= cores, spans=spans[group])
            for group, specs in cfg.groups() for spec in specs for t in thread_counts(cfg.threads, cores)]


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


def published_gflops(model: str) -> float | str:
    """A peer's GFLOPs as its source publishes them (PeerSpec.published_gflops), '' for other models."""
    from rtmpose.models.baselines.peers import PEERS
    spec = PEERS.get(model)
    return '' if spec is None or spec.published_gflops is None else spec.published_gflops


PEAK_PROBE = '__peak_probe__'


def run_bench(cfg: BenchConfig, progress: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from rtmpose.harness.peak import _fma_library, achieved, cores_for_threads, cpu_flags, peak, peak_for_threads
    from rtmpose.system import usable_cores
    cores = usable_cores()
    conds = _conditions(cfg)
    for c in conds:
        _prepare(c, cfg)
    load_before = _loadavg()
    floor = peak(threads=1)
    floor['loadavg_before'] = load_before
    image, bbox = bench_image(cfg.seed)
    fns, syncs, threads = {}, {}, {}
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
        threads[(c.name, 'model')] = threads[(c.name, 'e2e')] = c.threads
    # the FMA loop takes turns with the conditions, so a calm moment of a shared machine that lets a model
    # run fast lets the probe run fast too: the peak is the best over the whole run
    fma = _fma_library(cpu_flags())
    if fns and not isinstance(fma, str):
        fn, lanes = fma
        fns[PEAK_PROBE] = lambda: fn(100_000)
    timings = time_interleaved(fns, cfg.warmup, cfg.runs, cfg.block, syncs, progress=progress) if fns else {}
    probe = timings.pop(PEAK_PROBE, None)
    if probe is not None:
        rate = float(100_000 * 16 * lanes / (probe.times_ms.min() / 1e3) / 1e9)
        fig = floor['figures']['fma_loop']
        if rate > (fig.get('gmacs') or 0):
            fig.update(gmacs=rate, how=fig['how'] + f'; best over {probe.times_ms.size} calls interleaved with the '
                       'timed conditions')
        if rate > floor['peak_gmacs']:
            floor.update(peak_gmacs=rate, peak_gflops=rate, peak_source='fma_loop')
        from rtmpose.harness.peak import judge_theoretical
        judge_theoretical(floor['figures'])
    print(f"single-core peak: {floor['peak_gmacs']:.1f} GMAC/s ({floor['peak_source']}; "
          + ', '.join(f"{k} {v['gmacs']:.1f}" for k, v in floor['figures'].items() if v.get('gmacs')) + ')')
    complexities = {m: _complexity(m) for m in dict.fromkeys(c.model for c in conds)}
    rows = []
    for c in conds:
        gflops, params_m = complexities[c.model]
        for span in c.spans:
            row = dict(model=c.model, backend=c.backend, precision=c.precision, threads=c.threads, cores=cores,
                       all_cores=c.all_cores, span=span, status=c.status, gflops=round(gflops, 4),
                       published_gflops=published_gflops(c.model),
                       params_m=round(params_m, 3), paper_ort_ms=paper_ort_ms(c.model))
            if c.record:
                w, h = c.record['input_size']
                row.update(input=f'{h}x{w}', weights=c.record['weights'], export_key=c.record['key'],
                           gate_rel_diff=c.record['gate']['rel_diff'], gate_kpt_px=c.record['gate']['mean_kpt_px'])
            if c.runner is not None:
                from rtmpose.deploy.runners import executed_precision
                row['executed_precision'] = executed_precision(c.runner)
            t = timings.get((c.name, span))
            if t is not None:
                row.update(summarize_timing(t, c.threads, iqr_warn=cfg.iqr_warn, drift_warn=cfg.drift_warn,
                                            tail_min_count=cfg.tail_min_count, bootstrap=cfg.bootstrap))
                bound = peak_for_threads(floor, c.threads, cores)
                row.update(achieved(gflops, row['mean_ms'], bound, cores_for_threads(c.threads, cores)),
                           peak_gmacs=bound)
                # the paper's "1 thread" figures are not one core in fp32 (their implied MAC rate is above one
                # core's peak): they stand beside the all-cores rows only
                if row['paper_ort_ms'] and c.backend == 'onnxruntime' and span == 'model' and c.all_cores:
                    row['ratio_to_paper'] = row['mean_ms'] / row['paper_ort_ms']
                row['_times'] = t.times_ms
            rows.append(row)
    rows += external_rows(cfg)
    floor['loadavg_after'] = _loadavg()
    return rows, floor


def _loadavg() -> str:
    try:
        return ' '.join(Path('/proc/loadavg').read_text().split()[:3])
    except OSError:
        return 'unknown'


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


def _thr(r) -> str:
    return f'{r["threads"]} (all)' if r.get('all_cores') in (True, 'True') else str(r['threads'])


def _prec(r) -> str:
    done = r.get('executed_precision')
    return r['precision'] + (f' (executed {done})' if done and done != r['precision'] else '')


def paper_ort_note() -> str:
    """What the `paper ORT ms` column is, with the paper CPU's per-core peak (rtmpose.paper.paper_cpu)."""
    from rtmpose.paper import paper_cpu
    try:
        cpu = paper_cpu()
        peak = f'{cpu.per_core_gmacs:.1f} GMAC/s: {cpu.derivation}'
    except Error as e:
        peak = f'peak unknown: {e}'
    return ('paper ORT ms: the paper\'s i7-11700 ONNX Runtime figure. It is stated as 1 thread, but for RTMPose it '
            f'implies more multiply-accumulates per second than one core of that CPU can do in fp32 ({peak}; '
            'reports/fidelity.md), so `ratio_to_paper` is recorded only on the all-cores rows, `thr` marked (all).')


def _flag(r, key) -> str:
    return ' (!)' if str(r.get(key)) in ('True', 'true') else ''


def peak_lines(floor) -> list[str]:
    """How the peak was found and which figure is the denominator."""
    lines = ['## Peak (the "% of peak" denominator)', '',
             f"Denominator: **{floor['peak_gmacs']:.1f} GMAC/s per core**, the `{floor['peak_source']}` figure, the "
             'largest of those below. One MAC = one FLOP, the paper\'s convention. Achieved = model GFLOPs / mean '
             'latency; per core = achieved / min(threads, cores); % of peak = per core / this per-core peak, so '
             '1-thread and all-cores rows read on one scale and none may exceed 100%.', '',
             '| figure | GMAC/s | how |', '|---|---|---|']
    for k, v in floor['figures'].items():
        g = v.get('gmacs')
        lines.append(f"| {k} | {g:.1f} | {v['how']} |" if g else f"| {k} | not measured | {v['how']} |")
    return lines


def summary_markdown(rows, ratio_rows, floor, machine, cfg) -> str:
    from rtmpose.harness.peak import check_fractions
    lines = ['# Speed benchmark', '',
             f'Machine: {machine["cpu"]}, {machine["logical_cores"]} logical cores; onnxruntime '
             f'{machine.get("onnxruntime", "?")}, openvino {machine.get("openvino", "?")}, ncnn {machine.get("ncnn", "?")}, '
             f'torch {machine.get("torch", "?")}. Load average (1/5/15 min) before the run {floor.get("loadavg_before", "?")}, '
             f'after {floor.get("loadavg_after", "?")}.',
             f'Protocol: batch 1, {cfg.warmup} warm-up + {cfg.runs} timed runs per condition, interleaved in blocks of '
             f'{cfg.block} across all conditions; {cfg.repeats} run(s) in separate processes. Weights are seeded '
             'random values (speed only).',
             f'Statistics: median with its 95% bootstrap interval ({cfg.bootstrap} seeded resamples); p90/p99 marked '
             f'(!) when runs x (1 - q) < {cfg.tail_min_count} (too few runs beyond them to trust); IQR/median marked '
             f'above {cfg.iqr_warn:.0%}; drift = median of the second half / first half - 1, marked above '
             f'{cfg.drift_warn:.0%}; cold = the first call; cores = process CPU time / wall time over the timed '
             'blocks, marked above the requested threads.', '',
             '| model | backend | prec | thr | span | status | median ms [95% CI] | mean | p90 | p99 | IQR/med | drift '
             '| cold ms | cores | FPS | GMAC/s | per core | % of per-core peak | paper ORT ms |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        if '_times' in r:
            cores = f'{r["cores_used"]:.2f}{_flag(r, "cores_warn")}' if isinstance(r.get('cores_used'), float) \
                and r['cores_used'] == r['cores_used'] else ''
            cold = f'{r["cold_ms"]:.1f}' if isinstance(r.get('cold_ms'), float) else ''
            rate = f'{r["achieved_gflops_per_s"]:.1f}' if isinstance(r.get('achieved_gflops_per_s'), float) else ''
            per_core = f'{r["gmacs_per_core"]:.1f}' if isinstance(r.get('gmacs_per_core'), float) else ''
            lines.append(
                f'| {r["model"]} | {r["backend"]} | {_prec(r)} | {_thr(r)} | {r["span"]} | ok | '
                f'{r["median_ms"]:.2f} [{r["median_ci_lo_ms"]:.2f}, {r["median_ci_hi_ms"]:.2f}] | {r["mean_ms"]:.2f} | '
                f'{r["p90_ms"]:.2f}{"" if r["p90_reliable"] else " (!)"} | '
                f'{r["p99_ms"]:.2f}{"" if r["p99_reliable"] else " (!)"} | '
                f'{100 * r["iqr_rel"]:.1f}%{_flag(r, "iqr_warn")} | {100 * r["drift"]:+.1f}%{_flag(r, "drift_warn")} | '
                f'{cold} | {cores} | {r["fps"]:.1f} | {rate} | {per_core} | {_pct(r.get("fraction_of_peak"))} | '
                f'{r.get("paper_ort_ms", "")} |')
        else:
            lines.append(f'| {r["model"]} | {r["backend"]} | {_prec(r)} | {_thr(r)} | {r["span"]} | '
                         f'{r["status"]} | | | | | | | | | | | | | {r.get("paper_ort_ms", "")} |')
    lines += ['', paper_ort_note(), ''] + peak_lines(floor) + ['']
    fr = [r for r in rows if isinstance(r.get('fraction_of_peak'), float)]
    over = check_fractions(fr)
    if fr:
        top = max(fr, key=lambda r: r['fraction_of_peak'])
        lines.append(f'Largest fraction of peak: {_pct(top["fraction_of_peak"])}% ({top["model"]} {top["backend"]} '
                     f'{top["span"]}, {top["threads"]} thr).' + (
                         f' **{len(over)} row(s) exceed 100%: the peak is wrong for them.**' if over else
                         ' No row exceeds the peak.'))
        best = {}
        for r in fr:
            if r['span'] == 'model' and r['threads'] == 1 and r['fraction_of_peak'] > best.get(r['model'], {}).get(
                    'fraction_of_peak', -1):
                best[r['model']] = r
        if best:
            lines += ['', 'Best backend per model (model span, 1 thread): ' + '; '.join(
                f'{m} {b["backend"]} {_pct(b["fraction_of_peak"])}%' for m, b in best.items()) + '.']
    reps = [r for r in rows if r.get('repeats', 1) and isinstance(r.get('repeat_spread_rel'), float)]
    if reps:
        lines += ['', f'## Between processes ({cfg.repeats} runs)', '',
                  '| model | backend | thr | span | median of medians | min | max | spread |', '|---|---|---|---|---|---|---|---|']
        lines += [f'| {r["model"]} | {r["backend"]} | {r["threads"]} | {r["span"]} | {r["repeat_median_ms"]:.2f} | '
                  f'{r["repeat_min_ms"]:.2f} | {r["repeat_max_ms"]:.2f} | {100 * r["repeat_spread_rel"]:.1f}% |'
                  for r in reps]
    peers = [r for r in rows if r.get('published_gflops') not in ('', None) and r['span'] in ('model', 'e2e')]
    if peers:
        lines += ['', '## Peer complexity: counted here vs published', '']
        seen = set()
        for r in peers:
            if r['model'] not in seen:
                seen.add(r['model'])
                lines.append(f'- {r["model"]} ({r.get("input", "")}): {r["gflops"]:.3f} GFLOPs counted, '
                             f'{r["published_gflops"]} published ({100 * (r["gflops"] / r["published_gflops"] - 1):+.1f}%)')
    paper = [r for r in ratio_rows if r['kind'] == 'model_vs_rtmpose-t' and r['backend'] == 'onnxruntime'
             and r['span'] == 'model' and r['precision'] == 'fp32']
    for threads in sorted({r['threads'] for r in paper}):
        group = [r for r in paper if r['threads'] == threads]
        lines += ['', f'## Ratios to RTMPose-t (ONNX Runtime, {threads} thread{"s" if threads > 1 else ""}, model span; '
                  'same interleaved run)', '',
                  '| model | ratio (mean) | ratio (median) | paper ratio (the paper\'s own protocol) |',
                  '|---|---|---|---|']
        for r in sorted(group, key=lambda r: r['ratio_mean']):
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


def _key(r) -> str:
    return f'{r["model"]}|{r["backend"]}|{r["precision"]}|t{r["threads"]}|{r["span"]}'


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
    raw = {_key(r): [round(x, 5) for x in r['_times']] for r in rows if '_times' in r}
    medians = {_key(r): r['_repeat_medians'] for r in rows if '_repeat_medians' in r}
    write_json_atomic(out / 'raw_timings.json', dict(raw, **({'repeat_medians': medians} if medians else {})))
    if cfg.mlflow:
        log_mlflow(rows, machine, floor, cfg)
    return dict(machine=machine, ratios=ratio_rows)


# MLflow metric names: grouped by what they measure, so that the UI's alphabetical columns read in order
MLFLOW_METRIC = {'median_ms': 'latency.a_median_ms', 'median_ci_lo_ms': 'latency.b_median_ci_low_ms',
                 'median_ci_hi_ms': 'latency.c_median_ci_high_ms', 'mean_ms': 'latency.d_mean_ms',
                 'p90_ms': 'latency.e_p90_ms', 'p99_ms': 'latency.f_p99_ms', 'min_ms': 'latency.g_min_ms',
                 'max_ms': 'latency.h_max_ms', 'std_ms': 'latency.i_std_ms', 'cold_ms': 'latency.j_cold_ms',
                 'fps': 'throughput.fps', 'cores_used': 'cpu.cores_used', 'gflops': 'model.gflops',
                 'published_gflops': 'model.published_gflops', 'achieved_gflops_per_s': 'efficiency.gmacs_per_s',
                 'gmacs_per_core': 'efficiency.gmacs_per_core', 'peak_gmacs': 'efficiency.peak_gmacs',
                 'peak_gmacs_per_core': 'efficiency.peak_gmacs_per_core',
                 'fraction_of_peak': 'efficiency.fraction_of_peak', 'iqr_rel': 'stability.iqr_rel',
                 'drift': 'stability.drift', 'repeat_spread_rel': 'stability.repeat_spread_rel'}


def plot_latency(rows, path: str) -> None:
    """Median latency with its 95% interval per condition (one row per model x backend x precision x threads
    x span), a PNG for the bench's MLflow parent run."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    timed = [r for r in rows if isinstance(r.get('median_ms'), float)]
    fig, ax = plt.subplots(figsize=(7, 0.32 * max(len(timed), 1) + 1.3))
    colours = {}
    for i, r in enumerate(timed):
        c = colours.setdefault(r['backend'], f'C{len(colours)}')
        lo, hi = r.get('median_ci_lo_ms'), r.get('median_ci_hi_ms')
        err = [[r['median_ms'] - lo], [hi - r['median_ms']]] if isinstance(lo, float) and isinstance(hi, float) \
            else None
        ax.errorbar([r['median_ms']], [i], xerr=err, fmt='o', color=c, capsize=2, ms=4)
    ax.set_yticks(range(len(timed)), [f"{r['model']} {r['backend']} {r['precision']} t{r['threads']} {r['span']}"
                                      for r in timed], fontsize=7)
    ax.set_xscale('log')
    ax.set_xlabel('median latency (ms, log scale), 95% bootstrap interval')
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def log_mlflow(rows, machine, floor, cfg: BenchConfig) -> None:
    """One MLflow parent run per bench invocation (the latency table, the summary and a latency figure as its
    artifacts), a child run per condition and span with its statistics and raw timings; a condition that did
    not run (unavailable, failed gate, missing side environment) is a FAILED child tagged with the reason."""
    from rtmpose.mlflow_log import record_skipped, start_run
    models = sorted({r['model'] for r in rows})
    with tempfile.TemporaryDirectory() as tmp, start_run(
            'bench', f'bench {time.strftime("%Y-%m-%d %H:%M")} ({len(rows)} conditions)',
            params={'models': ' '.join(models), 'backends': ' '.join(cfg.backends), 'threads': cfg.threads,
                    'spans': ' '.join(cfg.spans), 'warmup': cfg.warmup, 'runs': cfg.runs, 'block': cfg.block,
                    'repeats': cfg.repeats},
            tags={'stage': 'invocation', 'peak_source': floor['peak_source'],
                  'mlflow.note.content': f'{len(rows)} conditions of {", ".join(models)}; latency table, summary '
                                         'and figure in the artifacts',
                  **{f'machine.{k}': v for k, v in machine.items()}}) as parent:
        figure = os.path.join(tmp, 'latency.png')
        plot_latency(rows, figure)
        for name in ('latency.csv', 'ratios.csv', 'summary.md', 'machine.json'):
            if (Path(cfg.out) / name).is_file():
                parent.log_artifact(str(Path(cfg.out) / name))
        parent.log_artifact(figure)
        for r in rows:
            name = f'{r["model"]}/{r["backend"]}/{r["precision"]}/t{r["threads"]}/{r["span"]}'
            params = {k: r.get(k) for k in ('model', 'backend', 'precision', 'threads', 'span', 'input', 'weights',
                                             'export_key')}
            params.update(warmup=cfg.warmup, runs=cfg.runs, block=cfg.block, repeats=cfg.repeats)
            tags = dict(status=r['status'], stage='condition')
            if '_times' not in r:
                record_skipped('bench', name, r['status'], params=params, tags=tags, parent=parent.run_id)
                continue
            with start_run('bench', name, params=params, parent=parent.run_id, tags=dict(
                    tags, **{k: str(r.get(k)) for k in ('p90_reliable', 'p99_reliable', 'iqr_warn', 'drift_warn',
                                                       'cores_warn')})) as run:
                run.log_metrics({MLFLOW_METRIC.get(k, k): r[k] for k in STAT_KEYS
                                 if isinstance(r.get(k), (int, float)) and r[k] == r[k]})
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


def _repeat_child(cfg_json: str, out_json: str) -> None:
    """One repeat in its own process: time with `cfg_json`'s settings, write key -> median."""
    cfg = BenchConfig(**json.loads(Path(cfg_json).read_text()))
    rows, _ = run_bench(cfg, progress=False)
    Path(out_json).write_text(json.dumps({_key(r): r['median_ms'] for r in rows if '_times' in r}))


def add_repeats(rows, cfg: BenchConfig) -> None:
    """Run `cfg.repeats - 1` more whole benches, each in a fresh process, and add the between-process spread
    of every condition's median to its row (this process's run is the first repeat)."""
    import subprocess
    from dataclasses import replace

    from rtmpose.harness.timing import between_process
    medians = {_key(r): [r['median_ms']] for r in rows if '_times' in r}
    child_cfg = replace(cfg, repeats=1, external=[], mlflow=False)
    with tempfile.TemporaryDirectory() as tmp:
        cfg_json, out_json = Path(tmp) / 'cfg.json', Path(tmp) / 'medians.json'
        cfg_json.write_text(json.dumps(asdict(child_cfg)))
        for i in range(1, cfg.repeats):
            print(f'repeat {i + 1}/{cfg.repeats} in a new process')
            res = subprocess.run([sys.executable, '-c', 'import sys; from rtmpose.harness.bench import _repeat_child; '
                                  '_repeat_child(sys.argv[1], sys.argv[2])', str(cfg_json), str(out_json)],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                raise Error(f'bench repeat {i + 1} failed: {(res.stderr.strip().splitlines() or ["?"])[-1]}')
            for k, v in json.loads(out_json.read_text()).items():
                medians.setdefault(k, []).append(v)
    for r in rows:
        if '_times' in r:
            r.update(between_process(medians[_key(r)]), _repeat_medians=medians[_key(r)])


def bench_command(cfg: BenchConfig) -> int:
    """`rtmpose bench`: time every condition (`cfg.repeats` times in separate processes), write the reports
    into `cfg.out`, print the table."""
    from rtmpose.harness.peak import check_fractions
    from rtmpose.io import folder_locks
    with folder_locks([cfg.out, cfg.exports], 'bench folder'):
        rows, floor = run_bench(cfg)
        if cfg.repeats > 1:
            add_repeats(rows, cfg)
        write_reports(rows, floor, cfg)
    print_table(rows)
    for r in check_fractions(rows):
        print(f'warning: {r["model"]} {r["backend"]} {r["span"]} runs at {100 * r["fraction_of_peak"]:.0f}% of the '
              f'peak: the peak is wrong', file=sys.stderr)
    print(f'wrote {cfg.out}/latency.csv, ratios.csv, summary.md')
    return 0
