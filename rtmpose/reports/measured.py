"""What this suite measured, read from the stage outputs (DVC outputs) with where each value came from.

Inputs (all optional; a missing one leaves its cells `not measured`), at the paths of
rtmpose.reports.config.TablesConfig (params.yaml `tables`; defaults shown):
- reports/complexity.json            `rtmpose info` (stage complexity): params / GFLOPs per RTMPose model
- reports/complexity_tables.json    `rtmpose tables --complexity-json` (stage complexity-tables): Table 1
                                     baselines and RTMPose variants (133 / 14 keypoints, 256x256)
- reports/eval/*.json                `rtmpose eval` results: model, data set, box source, metrics
- reports/bench/latency.csv          `rtmpose bench` timings: model, backend, machine, span, mean/median ms
- reports/bench/pipeline.csv         `rtmpose bench` pipeline timings (detector + pose): weights, the boxes the
                                     pose stage ran on and the people the detector found in the timed frame
- reports/pipeline/accuracy.json     `rtmpose pipeline-accuracy`: pose AP with ground-truth vs detector boxes
- reports/pipeline/skip_frame.csv    skip-frame detection per interval K (AP, ms/frame); optional
- <train.runs_dir>/<train.name>/config.json  resolved training settings of the run (+ metrics.json)
- <ablations.results_dir>/*.json     one file per roadmap ablation variant (stage ablation@<variant>)
Column and key names are matched loosely (e.g. `mean_ms` or `latency_ms`) so a renamed field does not
silently drop a measurement; a row without a usable value is skipped and counted in `skipped`.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rtmpose.reports.config import TablesConfig


@dataclass(frozen=True)
class Provenance:
    source: str                 # file (and row) the value was read from
    run: str = ''               # run name / MLflow run id
    model: str = ''
    dataset: str = ''
    box_source: str = ''        # ground-truth boxes or a detector's
    backend: str = ''
    machine: str = ''

    def describe(self) -> str:
        parts = [f'{k}={v}' for k, v in (('run', self.run), ('model', self.model), ('dataset', self.dataset),
                                          ('boxes', self.box_source), ('backend', self.backend),
                                          ('machine', self.machine)) if v]
        return '; '.join(parts + [f'from {self.source}'])


@dataclass(frozen=True)
class Value:
    value: float | str
    provenance: Provenance


def _first(d: dict, *names: str, default: Any = None) -> Any:
    for n in names:
        if n in d and d[n] not in (None, ''):
            return d[n]
    return default


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _read_json(path: Path) -> Any:
    """The file's JSON, or None when it is missing or unreadable. Deliberately lenient (unlike
    rtmpose.io.read_json): every input here is optional and a missing one leaves its cells `not measured`."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _read_csv(path: Path) -> list[dict]:
    try:
        with open(path, newline='') as f:
            return [dict(r, _line=i + 2) for i, r in enumerate(csv.DictReader(f))]
    except (OSError, csv.Error):
        return []


@dataclass
class Measurements:
    root: Path
    config: TablesConfig = field(default_factory=TablesConfig)
    complexity: dict[str, dict] = field(default_factory=dict)
    baselines: dict[str, dict] = field(default_factory=dict)
    evals: list[dict] = field(default_factory=list)
    latency: list[dict] = field(default_factory=list)
    pipeline: list[dict] = field(default_factory=list)
    pipeline_accuracy: dict = field(default_factory=dict)     # reports/pipeline/accuracy.json, as written
    skip_frame: list[dict] = field(default_factory=list)      # reports/pipeline/skip_frame.csv rows
    runs: dict[str, dict] = field(default_factory=dict)
    ablations: dict[str, dict] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    machine: str = ''
    machine_cores: int | None = None          # usable (else logical) cores of the bench machine (machine.json)
    machine_peak: float | None = None         # its fp32 peak per core, GMAC/s (machine.json floor.peak_gmacs)

    def source(self, name: str) -> str:
        """The input file TablesConfig field `name` names, as provenance shows it (relative to the root)."""
        return self.rel(self.root / getattr(self.config, name))

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    # -- complexity ---------------------------------------------------------------------------------
    def model_complexity(self, model: str, key: str) -> Value | None:
        """key: 'gflops' or 'params_m' of an RTMPose model from reports/complexity.json."""
        src = self.source('complexity')
        row = self.complexity.get(model)
        if row is None:
            src, row = self.source('complexity_tables'), self.baselines.get(model)
        if row is None or _float(row.get(key)) is None:
            return None
        return Value(float(row[key]), Provenance(src, model=f"{model} ({row.get('input', '?')}, K={row.get('num_keypoints', '?')})",
                                                 backend='PyTorch (MAC counter)', machine='any'))

    def baseline(self, name: str, key: str) -> Value | None:
        row = self.baselines.get(name)
        if row is None or key not in row:
            return None
        return Value(row[key], Provenance(self.source('complexity_tables'), model=f"{name} ({row.get('input', '?')})",
                                          backend='PyTorch (MAC counter)', machine='any'))

    def bench_gflops(self, model: str) -> Value | None:
        """GFLOPs the speed harness recorded for a model it timed (peers included)."""
        for r in self.latency:
            if r['model'] == model and r.get('gflops') is not None:
                return Value(r['gflops'], Provenance(f"{r['_file']}:{r['_line']}", model=model,
                                                     backend='harness MAC counter', machine='any'))
        return None

    # -- accuracy -----------------------------------------------------------------------------------
    def eval_metric(self, model: str, dataset: str, metric: str = 'AP', box_source: str | None = None,
                    num_keypoints: int | None = None) -> Value | None:
        """The latest matching evaluation (files sorted by name; later files win)."""
        hit = None
        for e in self.evals:
            if e['model'] != model or e['dataset'] != dataset:
                continue
            if box_source is not None and e['box_source'] != box_source:
                continue
            if num_keypoints is not None and e.get('num_keypoints') not in (None, num_keypoints):
                continue
            v = next((_float(e['metrics'][k]) for k in _candidates(metric) if k in e['metrics']), None)
            if v is not None:
                hit = Value(v * 100 if v <= 1.0 else v, Provenance(e['_file'], run=e['run'], model=model,
                                                                    dataset=dataset, box_source=e['box_source'],
                                                                    backend=e['backend'], machine=e['machine']))
        return hit

    def ablation(self, variant: str, metric: str = 'AP') -> Value | None:
        r = self.ablations.get(variant)
        if not r or r.get('status') != 'done':
            return None
        v = _float((r.get('metrics') or {}).get(metric))
        if v is None:
            return None
        return Value(v * 100 if v <= 1.0 else v,
                     Provenance(r['_file'], run=r.get('run', ''), model=r.get('model', ''), dataset=r.get('dataset', ''),
                                box_source=r.get('box_source', 'ground truth'), backend='PyTorch',
                                machine=r.get('machine', '')))

    # -- speed --------------------------------------------------------------------------------------
    def timing(self, model: str, backend: str, span: str = 'model', stat: str = 'mean', table: str = 'latency',
               precision: str | None = None, threads: str | None = None) -> dict | None:
        """The timing row for (model, backend, span), normalized (see _norm_timing); rows of `precision` when
        there are any. threads: None = 1-thread rows first (the paper's stated CPU protocol), '1' = 1-thread
        rows only, 'all' = rows that used every core of their machine only."""
        rows = [r for r in (self.latency if table == 'latency' else self.pipeline)
                if r['model'] == model and r['backend'] == backend.lower()
                and not (r['span'] and span and r['span'] != span) and r.get(stat) is not None]
        if precision is not None and any(r['precision'] == precision for r in rows):
            rows = [r for r in rows if r['precision'] == precision]
        if threads == 'all':
            rows = [r for r in rows if r['all_cores']]
        elif threads is not None:
            rows = [r for r in rows if r['threads'] == str(threads)]
        if not rows:
            return None
        return sorted(rows, key=lambda r: r['threads'] == '1')[-1]

    def provenance(self, r: dict) -> Provenance:
        detail = ', '.join(x for x in (r['precision'], _threads_text(r), f"span {r['span']}" if r['span'] else '',
                                       r['extra']) if x)
        return Provenance(f"{r['_file']}:{r['_line']}", run=r['run'], model=r['model'],
                          dataset=f"input {r['input']}" if r.get('input') else '',
                          backend=f"{r['backend']} ({detail})" if detail else r['backend'], machine=r['machine'])

    def latency_ms(self, model: str, backend: str, span: str = 'model', stat: str = 'mean',
                   table: str = 'latency', precision: str | None = None, threads: str | None = None) -> Value | None:
        """A timing (`stat` ms) for (model, backend, span), chosen as `timing` chooses its row."""
        r = self.timing(model, backend, span, stat, table, precision, threads)
        return None if r is None else Value(r[stat], self.provenance(r))

    def backends(self, table: str = 'latency') -> list[str]:
        rows = self.latency if table == 'latency' else self.pipeline
        return sorted({r['backend'] for r in rows})

    # -- training settings --------------------------------------------------------------------------
    def run_config(self, name: str | None = None, model: str | None = None) -> tuple[str, dict] | None:
        for run_name, r in sorted(self.runs.items()):
            cfg = r.get('config') or {}
            if (name is None or run_name == name) and (model is None or cfg.get('model') == model):
                return run_name, r
        return None


def _mkey(k: str) -> str:
    """'coco/AP' -> 'ap', 'body/AP' -> 'body_ap', 'PCKh' -> 'pckh' (prefixes naming the data set drop)."""
    k = k.lower().replace('-', '_')
    head, _, tail = k.rpartition('/')
    if head in ('coco', 'crowdpose', 'ap10k', 'mpii', 'coco_wholebody', 'synthetic', 'val'):
        return tail
    return k.replace('/', '_')


def _candidates(metric: str) -> list[str]:
    m = _mkey(metric)
    return [m, m.replace('wholebody_', 'whole_body_'), m.replace('wb_', 'wholebody_'), m.replace('wb_', '')]


def _norm_eval(d: dict, path: str) -> dict | None:
    """`rtmpose eval --out` JSON: metrics at the top level plus an `info` block (model, dataset, boxes, ...)."""
    info = d.get('info') if isinstance(d.get('info'), dict) else {}
    d = {**d, **info}
    metrics = d.get('metrics') if isinstance(d.get('metrics'), dict) else {
        k: v for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
        and k not in ('nms_thr', 'keypoint_score_thr', 'num_keypoints', 'flip_test')}
    model = _first(d, 'model', 'model_name')
    dataset = _first(d, 'dataset', 'data_set')
    if not model or not dataset or not metrics:
        return None
    boxes = str(_first(d, 'box_source', 'boxes', 'bbox_file', default='ground truth'))
    if boxes.lower().startswith(('gt', 'ground')):
        boxes = 'ground truth'
    run = str(_first(d, 'run', 'name', 'run_id', 'checkpoint', default=''))
    return dict(model=str(model), dataset=str(dataset), box_source=boxes,
                metrics={_mkey(k): v for k, v in metrics.items()},
                num_keypoints=_first(d, 'num_keypoints'), run=run,
                backend=str(_first(d, 'backend', default='PyTorch')) + (', flip test' if d.get('flip_test') else ''),
                machine=str(_first(d, 'machine', 'device', default='')), _file=path)


def _threads_text(r: dict) -> str:
    if not r['threads']:
        return ''
    return f"{r['threads']} thr" + (' = all cores' if r.get('all_cores') else '')


def _norm_timing(r: dict, path: str, machine: str, machine_cores: int | None = None) -> dict | None:
    """A row of reports/bench/latency.csv (`rtmpose bench`) or pipeline.csv (`rtmpose demo --bench`)."""
    model = _first(r, 'model', 'pose_model', 'name')
    backend = _first(r, 'backend', 'runtime')
    mean = _float(_first(r, 'mean_ms', 'latency_ms'))
    if not model or not backend or mean is None or _first(r, 'status', default='ok') != 'ok':
        return None
    extra = ', '.join(f'{k} {r[k]}' for k in ('weights', 'boxes', 'people') if r.get(k))
    threads = str(_first(r, 'threads', default=''))
    cores = _float(_first(r, 'cores', default=machine_cores))
    flag = str(_first(r, 'all_cores', default='')).lower()
    # rows written before the bench recorded `all_cores`: all cores when the threads covered the machine's cores
    all_cores = flag == 'true' if flag in ('true', 'false') else bool(
        cores and _float(threads) is not None and _float(threads) >= cores)
    rate, fraction = _float(_first(r, 'achieved_gflops_per_s')), _float(_first(r, 'fraction_of_peak'))
    n = _float(_first(r, 'cores_for_peak')) or (min(_float(threads) or 1.0, cores) if cores else _float(threads) or 1.0)
    per_core = _float(_first(r, 'gmacs_per_core')) or (rate / n if rate is not None else None)
    peak_core = _float(_first(r, 'peak_gmacs_per_core')) or (
        _float(_first(r, 'peak_gmacs')) / n if _float(_first(r, 'peak_gmacs')) else None)
    if r.get('det_model'):  # pipeline rows: the detector and its input are part of what was timed
        extra = f"detector {r['det_model']} {r.get('det_input', '')}, " + extra
    return dict(model=str(model), backend=str(backend).lower(), mean=mean,
                median=_float(_first(r, 'median_ms')), min=_float(_first(r, 'min_ms')), fps=_float(_first(r, 'fps')),
                gflops=_float(_first(r, 'gflops')),
                span=str(_first(r, 'span', default='')).lower().replace('end-to-end', 'e2e'),
                precision=str(_first(r, 'precision', default='')), threads=threads, all_cores=all_cores,
                cores=int(cores) if cores else None, gmacs_per_core=per_core, peak_gmacs_per_core=peak_core,
                fraction_of_peak=fraction if fraction is not None else (
                    per_core / peak_core if per_core is not None and peak_core else None),
                executed_precision=str(_first(r, 'executed_precision', default='')),
                machine=str(_first(r, 'machine', default=machine)),
                input=str(_first(r, 'input', default='')), extra=extra,
                weights=str(_first(r, 'weights', default='')), boxes=str(_first(r, 'boxes', default='')),
                people=_float(_first(r, 'people')),
                run=str(_first(r, 'run', 'export_key', default='')), _file=path, _line=r.get('_line', 0))


def _pipeline_accuracy_ok(d: Any) -> bool:
    """accuracy.json with both pose APs and their paired difference (the cells Table 12 shows)."""
    return (isinstance(d, dict) and all(isinstance(d.get(k), dict) and _float(d[k].get(v)) is not None
                                        for k, v in (('gt_boxes', 'AP'), ('detector_boxes', 'AP'), ('delta_AP', 'value'))))


def collect(root: str | os.PathLike = '.', config: TablesConfig | None = None) -> Measurements:
    """Read every measurement input that exists, at the paths of `config` under `root`."""
    root = Path(root)
    cfg = config or TablesConfig()
    m = Measurements(root, cfg)
    c = _read_json(root / cfg.complexity)
    if isinstance(c, dict):
        m.complexity = {k: v for k, v in c.items() if isinstance(v, dict)}
    b = _read_json(root / cfg.complexity_tables)
    if isinstance(b, dict):
        m.baselines = {k: v for k, v in b.items() if isinstance(v, dict)}
    for p in sorted((root / cfg.eval_dir).glob('**/*.json')):
        d = _read_json(p)
        for item in (d if isinstance(d, list) else [d]):
            e = _norm_eval(item, m.rel(p)) if isinstance(item, dict) else None
            (m.evals.append(e) if e else m.skipped.append(m.rel(p)))
    bench_machine = _read_json(root / cfg.bench_machine)
    machine = str(bench_machine.get('cpu', '')) if isinstance(bench_machine, dict) else ''
    m.machine = machine
    cores = None
    if isinstance(bench_machine, dict):
        cores = _float(_first(bench_machine, 'usable_cores', 'logical_cores'))
        m.machine_cores = int(cores) if cores else None
        m.machine_peak = _float((bench_machine.get('floor') or {}).get('peak_gmacs'))
    for p, target in ((root / cfg.bench_latency, m.latency), (root / cfg.bench_pipeline, m.pipeline)):
        for r in _read_csv(p):
            if _first(r, 'status', default='ok') != 'ok':
                continue  # a backend that could not run here (e.g. TensorRT): its cells stay not measured
            t = _norm_timing(r, m.rel(p), machine or f'unrecorded (no {m.source("bench_machine")})',
                             int(cores) if cores else None)
            (target.append(t) if t else m.skipped.append(f'{m.rel(p)}:{r["_line"]}'))
    acc = _read_json(root / cfg.pipeline_accuracy)
    if _pipeline_accuracy_ok(acc):
        m.pipeline_accuracy = acc
    elif acc is not None:
        m.skipped.append(m.source('pipeline_accuracy'))
    m.skip_frame = [r for r in _read_csv(root / cfg.pipeline_skip_frame) if _float(r.get('det_interval')) is not None]
    for cfg_path in sorted((root / cfg.runs_dir).glob(f'{cfg.train_run or "*"}/config.json')):
        d = _read_json(cfg_path)
        if isinstance(d, dict):
            metrics = _read_json(cfg_path.parent / 'metrics.json')
            m.runs[cfg_path.parent.name] = dict(config=d.get('config', d), sources=d.get('sources', {}),
                                                derived=d.get('derived', {}), metrics=metrics or {},
                                                _file=m.rel(cfg_path))
    for p in sorted((root / cfg.ablation_results).glob('*.json')):
        d = _read_json(p)
        if isinstance(d, dict):
            m.ablations[p.stem] = dict(d, _file=m.rel(p))
    return m
