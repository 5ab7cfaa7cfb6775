"""The roadmap ablation grid (paper Sec. 3, Fig. 3, Table 3), declared once in params.yaml `ablations`, and
its runner.

Each variant is a list of `rtmpose train --set` overrides on the base experiment file, plus the paper rows
it reproduces (`roadmap`: a table02 row key; `table03`: a table03 row key) and the grids it belongs to.
`ablations.grid` picks the grid: `default` (small, minutes on a CPU) or `paper` (every variant). One DVC
stage per variant (`ablation@<name>`) runs `rtmpose ablate <name>`, which calls `run_variant` here: train
and evaluate the variant once per seed of `ablations.seeds` (the same seeds for every variant, so that
differences can be paired), `ablations.jobs` seeds at a time in separate processes of `ablations.threads`
threads each, and write <results_dir>/<name>.json atomically with the per-seed metrics. In MLflow
(experiment `ablations.experiment`) each variant is one parent run with one child run per seed for training
and one for evaluation. A variant outside the chosen grid writes a `skipped` record, so the table says how
to run it. `summarize` (stage `ablation-summary`, `rtmpose ablate --summary`) turns the results into
summary.csv: mean and 95% t-interval over seeds, and the paired difference against the final recipe with
its own t-interval. rtmpose.reports only reads those files.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

from rtmpose.errors import Error
from rtmpose.io import folder_lock, read_json, write_json_atomic
from rtmpose.settings import build, check_ranges, resolve
from rtmpose.train.stats import t_interval

GRIDS = ('default', 'paper')


@dataclass
class Variant:
    sets: list = field(default_factory=list)     # train --set KEY=VALUE overrides
    grids: list = field(default_factory=lambda: ['paper'])
    roadmap: str | None = None                   # reports/paper/table02.yaml row key
    table03: str | list | None = None            # reports/paper/table03.yaml row key(s)
    unsupported: str | None = None               # why the suite cannot train it (kept visible in the tables)
    description: str = ''


@dataclass
class Ablations:
    grid: str = 'default'
    base: str = 'experiments/ablations/base.yaml'
    train_sets: list = field(default_factory=list)  # applied to every variant (the short schedule)
    eval_dataset: str = 'synthetic'
    runs_dir: str = 'experiments/runs'
    results_dir: str = 'experiments/ablations/results'  # one <variant>.json each
    summary: str = 'reports/ablations/summary.csv'   # means, intervals and paired differences (rtmpose ablate --summary)
    seeds: list = field(default_factory=lambda: [21, 22, 23])  # every variant trains once per seed
    reference: str = 'final'                     # the variant the paired differences are taken against
    confidence: float = 0.95                     # of the t-intervals over seeds
    jobs: int = 1                                # seeds trained at the same time, one process each
    threads: int = 1                             # torch intra-op threads per process
    experiment: str = 'ablations'                # MLflow experiment of the grid (parent run per variant)
    executor: str = 'local'                      # local: `jobs` processes here; slurm: one job array (below)
    slurm: dict = field(default_factory=dict)    # rtmpose.train.slurm.SlurmSettings (partition, time, ...)
    variants: dict = field(default_factory=dict)

    def validate(self, where: str) -> None:
        check_ranges(self, where, at_least={'jobs': 1, 'threads': 1})
        if self.executor not in ('local', 'slurm'):
            raise Error(f'{where}: executor must be local or slurm, got {self.executor!r}')
        from rtmpose.train.slurm import SlurmSettings
        build(SlurmSettings, self.slurm, f'{where}: slurm')
        if not self.seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in self.seeds):
            raise Error(f'{where}: seeds must be a non-empty list of integers')
        if len(set(self.seeds)) != len(self.seeds):
            raise Error(f'{where}: seeds must not repeat')
        if not 0.5 <= self.confidence < 1:
            raise Error(f'{where}: confidence must lie in [0.5, 1)')


def load_ablations(params_path: str = 'params.yaml') -> tuple[Ablations, dict[str, Variant]]:
    cfg = resolve(Ablations, params=params_path, section='ablations')
    if cfg.grid not in GRIDS:
        raise Error(f'{params_path}: ablations.grid must be one of {", ".join(GRIDS)}, not {cfg.grid!r}')
    variants = {}
    for name, v in (cfg.variants or {}).items():
        var = build(Variant, v or {}, f'{params_path}: ablations.variants.{name}')
        for s in var.sets:
            if not isinstance(s, str) or '=' not in s:
                raise Error(f'{params_path}: ablations.variants.{name}.sets: {s!r} is not KEY=VALUE')
        bad = [g for g in var.grids if g not in GRIDS]
        if bad:
            raise Error(f'{params_path}: ablations.variants.{name}.grids: unknown grid {bad[0]!r}')
        variants[name] = var
    return cfg, variants


def run_name(variant: str, seed: int | None = None) -> str:
    return f'ablation-{variant}' if seed is None else f'ablation-{variant}-seed{seed}'


# the settings the roadmap and Table 3 vary, logged for every variant (the final recipe included), so that the
# MLflow compare page shows each variant's kernel, 1/tau, GAU, sigma... side by side
EFFECTIVE = ('model_overrides.final_layer_kernel_size', 'model_overrides.use_gau', 'model_overrides.gau.hidden_dims',
             'model_overrides.sigma', 'loss_beta', 'label_softmax', 'epochs', 'stage2_epochs', 'cosine_begin_epoch',
             'ema', 'norm_decay_mult', 'bias_decay_mult', 'augment.dropout_prob', 'frozen_stages', 'init_backbone')


def effective_params(train_cfg) -> dict[str, Any]:
    """The variant's effective values of EFFECTIVE (from its resolved settings and the model's defaults), as
    MLflow params `setting.<key>`."""
    import dataclasses

    from rtmpose.models import model_config
    values = dataclasses.asdict(train_cfg)
    model = dataclasses.asdict(model_config(train_cfg.model))
    out = {}
    for key in EFFECTIVE:
        node: Any = values
        for part in key.split('.'):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None and key.startswith('model_overrides.'):   # not overridden: the model's own value
            node = model
            for part in key.split('.')[1:]:
                node = node.get(part) if isinstance(node, dict) else None
        if key == 'augment.dropout_prob' and node is None:
            from rtmpose.data.transforms import AugmentConfig
            node = AugmentConfig().dropout_prob
        if node is not None:
            out[f'setting.{key}'] = node
    return out


def seed_train_config(base: str, run: str, runs_dir: str, sets: list[str], seed: int):
    """The TrainConfig of one seed of a variant: the base experiment file, the grid's schedule and the
    variant's own overrides (`sets`), the run's name, folder and seed."""
    from rtmpose.train.config import load_config
    return load_config(experiment=base, sets=[f'name={run}', f'runs_dir={runs_dir}', *sets, f'seed={seed}'])


def variant_train_config(cfg: Ablations, v: Variant, name: str, seed: int):
    return seed_train_config(cfg.base, run_name(name, seed), cfg.runs_dir, list(cfg.train_sets) + list(v.sets), seed)


def _seed_job(job: dict) -> dict:
    """Train and evaluate one seed of one variant: what `rtmpose train --config BASE --set name=RUN --set
    runs_dir=DIR --set ... --set seed=S --fresh` and `rtmpose eval --checkpoint DIR/RUN/final.pth --dataset D
    --out DIR/RUN/eval.json` do, as two MLflow child runs of the variant's run. Runs in a worker process
    (or in-process when jobs is 1); returns the per-seed record."""
    import torch

    from rtmpose.data.transforms import pin_opencv_threads
    from rtmpose.evaluation.config import EvalConfig
    from rtmpose.evaluation.runner import evaluate_checkpoint
    from rtmpose.mlflow_log import start_run
    from rtmpose.train.trainer import train
    torch.set_num_threads(job['threads'])
    pin_opencv_threads()
    run, seed = job['run'], job['seed']
    train_cfg = seed_train_config(job['base'], run, job['runs_dir'], job['sets'], seed)
    run_dir = train_cfg.out_dir
    eval_out = os.path.join(run_dir, 'eval.json')
    tags = {**job['tags'], 'seed': seed}
    t0 = time.time()
    # the run folder stays locked from training through its eval.json (the trainer's lock nests in it)
    with folder_lock(run_dir, 'ablation run folder'):
        print(f'rtmpose ablate: training {run} (seed {seed}, {job["threads"]} thread(s))', flush=True)
        with start_run(job['experiment'], run, params=job['params'], tags={**tags, 'stage': 'train'},
                       parent=job['parent']) as mlrun:
            train(train_cfg, resume=False, progress=False, run=mlrun)
        ecfg = EvalConfig(checkpoint=os.path.join(run_dir, 'final.pth'), dataset=job['eval_dataset'],
                          out=eval_out, name=f'{run}-eval', num_workers=0)
        with start_run(job['experiment'], f'{run}-eval', params={**job['params'], 'eval.dataset': ecfg.dataset,
                                                                  'eval.checkpoint': ecfg.checkpoint},
                       tags={**tags, 'stage': 'eval'}, parent=job['parent']) as mlrun:
            result = evaluate_checkpoint(ecfg, progress=False)
            mlrun.log_metrics({k.replace('@', '_at_').replace(' ', '_'): v for k, v in result['metrics'].items()})
            write_json_atomic(eval_out, {**result['metrics'], 'info': result['info']})
        repro = read_json(os.path.join(run_dir, 'config.json'), 'run settings').get('reproducibility', {})
        train_metrics = read_json(os.path.join(run_dir, 'metrics.json'), 'training metrics')
        record = dict(seed=seed, run=run, run_dir=run_dir, metrics=result['metrics'], info=result['info'],
                      train_time_s=train_metrics.get('train_time_s'), wall_s=round(time.time() - t0, 1),
                      reproducibility=repro)
        # the seed's result, written once it is complete: a rerun after a kill takes it instead of retraining
        write_json_atomic(os.path.join(run_dir, SEED_RECORD), {'digest': job['digest'], 'record': record})
    return record


SEED_RECORD = 'seed.json'


def seed_digest(train_cfg, eval_dataset: str) -> str:
    """What a seed's result depends on: its resolved settings, the content of the files they name (the
    warm-start weights, the prepared data) and the suite's code. A finished seed is reused only while
    this is unchanged."""
    import dataclasses
    import hashlib
    import json

    from rtmpose.data.prepared import read_manifest
    from rtmpose.io import sha256_file
    h = hashlib.sha256()
    settings = {k: v for k, v in dataclasses.asdict(train_cfg).items() if k not in ('notes',)}
    h.update(json.dumps({'train': settings, 'eval_dataset': eval_dataset}, sort_keys=True, default=str).encode())
    for path in (train_cfg.init_backbone, train_cfg.init_checkpoint):
        if path:
            h.update(sha256_file(path).encode() if os.path.isfile(path) else b'missing')
    try:
        h.update(json.dumps(read_manifest(train_cfg.data_dir), sort_keys=True).encode())
    except Error:
        h.update(b'no data')
    h.update(_code_digest().encode())
    return h.hexdigest()


def _code_digest() -> str:
    """sha256 over the package's Python sources (the code a seed's training and evaluation ran)."""
    import hashlib
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob('*.py')):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def finished_seed(run_dir: str, digest: str) -> dict | None:
    """The record of a seed that finished with these settings (None: train it)."""
    try:
        data = read_json(os.path.join(run_dir, SEED_RECORD), 'seed record')
    except Error:
        return None
    ok = isinstance(data, dict) and data.get('digest') == digest and isinstance(data.get('record'), dict)
    return data['record'] if ok else None


def _die_with_parent(parent: int) -> None:
    """Worker initializer: the kernel kills this worker when the process that started it dies (kill -9
    included), so a killed `rtmpose ablate` leaves no worker training on, or blocked on a pipe."""
    import ctypes
    import signal
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:   # the parent died before the call above
        os._exit(1)


def _run_jobs(jobs: list[dict], processes: int) -> list[dict]:
    """The seeds of a variant, `processes` at a time (separate spawned processes: one torch thread pool each).
    An interrupt (Ctrl-C, SIGTERM) stops the workers at once instead of waiting for their seeds."""
    if processes <= 1 or len(jobs) <= 1:
        return [_seed_job(j) for j in jobs]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    pool = ProcessPoolExecutor(max_workers=min(processes, len(jobs)), mp_context=mp.get_context('spawn'),
                               initializer=_die_with_parent, initargs=(os.getpid(),))
    try:
        results = list(pool.map(_seed_job, jobs))
    except BaseException:
        for proc in list((getattr(pool, '_processes', None) or {}).values()):
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results


def run_variant(name: str, params_path: str = 'params.yaml') -> dict:
    """Run ablation variant `name` of `params_path` for every seed (or record why not) and write its
    results JSON."""
    cfg, variants = load_ablations(params_path)
    if name not in variants:
        raise Error(f'{params_path}: no ablation variant {name!r} (known: {", ".join(variants)})')
    v = variants[name]
    out = os.path.join(cfg.results_dir, f'{name}.json')
    record = dict(variant=name, roadmap=v.roadmap, table03=v.table03, grid=cfg.grid, grids=v.grids,
                  description=v.description, sets=list(cfg.train_sets) + list(v.sets), seeds=list(cfg.seeds))
    if v.unsupported:
        record.update(status='unsupported', reason=v.unsupported)
    elif cfg.grid not in v.grids:
        record.update(status='skipped', reason=f'not in the {cfg.grid!r} grid; set ablations.grid: paper')
        record['grid'] = 'paper'
    else:
        with folder_lock(os.path.dirname(_parent_record(cfg, name)), 'ablation variant folder'):
            record = _run_seeds(cfg, v, name, record)
    write_json_atomic(out, record)
    return record


def _run_seeds(cfg: Ablations, v: Variant, name: str, record: dict) -> dict:
    """Every seed of variant `name` (finished ones reused), under one MLflow parent run (the killed run's, when
    a rerun continues it); returns the completed results record."""
    import hashlib
    import json

    from rtmpose.mlflow_log import close_stale_runs, start_run   # here: a skipped variant never imports MLflow
    from rtmpose.system import cpu_name
    t0 = time.time()
    table03 = v.table03 if isinstance(v.table03, str) or v.table03 is None else ','.join(v.table03)
    tags = {'ablation': name, 'roadmap_step': v.roadmap or '', 'table03': table03 or '',
            'ablation_grid': cfg.grid}
    params = {**effective_params(variant_train_config(cfg, v, name, cfg.seeds[0])), 'variant': name,
              'variant_sets': ' '.join(v.sets) or 'none (the final recipe)', 'seeds': list(cfg.seeds),
              'schedule': ' '.join(cfg.train_sets)}
    digests = {s: seed_digest(variant_train_config(cfg, v, name, s), cfg.eval_dataset) for s in cfg.seeds}
    done = {s: r for s in cfg.seeds
            if (r := finished_seed(variant_train_config(cfg, v, name, s).out_dir, digests[s])) is not None}
    variant_digest = hashlib.sha256(json.dumps([digests[s] for s in cfg.seeds]).encode()).hexdigest()
    previous = _read_parent(cfg, name)
    # this process holds the variant's lock: runs of it still RUNNING were left by a killed process
    closed = close_stale_runs(cfg.experiment, {'ablation': name})
    if closed:
        print(f'rtmpose ablate: {name}: marked {closed} run(s) of a killed process KILLED', flush=True)
    resume = previous.get('parent_run_id') if previous.get('digest') == variant_digest and done else None
    if done:
        print(f'rtmpose ablate: {name}: reusing finished seed(s) {", ".join(map(str, sorted(done)))}', flush=True)
    with start_run(cfg.experiment, run_name(name), params=None if resume else params, resume=resume,
                   tags={**tags, 'mlflow.note.content': v.description or name, 'description': v.description,
                         'stage': 'variant'}) as parent:
        parent_id = parent.run_id
        write_json_atomic(_parent_record(cfg, name), {'experiment': cfg.experiment, 'parent_run_id': parent_id or '',
                                                       'digest': variant_digest})
        # child runs: the variant's distinguishing settings; the grid's seeds and schedule stay on the parent
        # (a train child logs its own resolved settings, `seeds` and `epochs` among them: one value each)
        child_params = {k: val for k, val in params.items() if k not in ('seeds', 'schedule')}
        jobs = [dict(run=run_name(name, s), seed=s, base=cfg.base, runs_dir=cfg.runs_dir, sets=record['sets'],
                     eval_dataset=cfg.eval_dataset, threads=cfg.threads, experiment=cfg.experiment,
                     parent=parent_id, params=child_params, tags=tags, digest=digests[s])
                for s in cfg.seeds if s not in done]
        if cfg.executor == 'slurm':   # one job array; the cells log to MLflow under this parent run
            from rtmpose.train.slurm import SlurmSettings, run_array
            records = run_array(_seed_job, jobs, build(SlurmSettings, cfg.slurm, 'ablations.slurm'),
                                describe=lambda j: f'{name} seed {j["seed"]}')
        else:
            records = _run_jobs(jobs, cfg.jobs)
        ran = {r['seed']: r for r in records}
        per_seed = [done.get(s) or ran[s] for s in cfg.seeds]
        ap = [p['metrics'].get('AP', float('nan')) for p in per_seed]
        stats = t_interval(ap, cfg.confidence)
        parent.log_metrics({'AP_mean': stats['mean'], **({'AP_ci_low': stats['low'], 'AP_ci_high': stats['high']}
                                                         if stats['n'] > 1 else {})})
        wall = round(time.time() - t0, 1)
        parent.log_metrics({'wall_time_s': wall})
    first = per_seed[0]
    keys = [k for k in first['metrics'] if all(isinstance(p['metrics'].get(k), (int, float)) for p in per_seed)]
    record.update(status='done', run=run_name(name), runs=[p['run'] for p in per_seed], run_dir=first['run_dir'],
                  per_seed=per_seed, reused_seeds=sorted(done),
                  metrics={k: sum(p['metrics'][k] for p in per_seed) / len(per_seed) for k in keys},
                  AP=stats, interval=f't-interval over seeds, {cfg.confidence:.0%}',
                  model=first['info'].get('model', ''), dataset=first['info'].get('dataset', cfg.eval_dataset),
                  box_source=first['info'].get('boxes', ''), machine=cpu_name(), jobs=cfg.jobs,
                  threads=cfg.threads, wall_time_s=wall)
    return record


def _parent_record(cfg: Ablations, name: str) -> str:
    return os.path.join(cfg.runs_dir, run_name(name), 'mlflow.json')


def _read_parent(cfg: Ablations, name: str) -> dict:
    """The variant's MLflow parent run record (written when its run starts, beside the seeds' run folders,
    not in the results: a run id differs in every run, and the results of the same seeds must not)."""
    try:
        data = read_json(_parent_record(cfg, name), 'ablation MLflow record')
    except Error:
        return {}
    return data if isinstance(data, dict) else {}


def _parent_run_id(cfg: Ablations, name: str) -> str | None:
    return _read_parent(cfg, name).get('parent_run_id') or None


# -- statistics over seeds -----------------------------------------------------------------------------------

SUMMARY_FIELDS = ('variant', 'roadmap', 'table03', 'n_seeds', 'seeds', 'AP_mean', 'AP_sd', 'AP_ci_low',
                  'AP_ci_high', 'AP_ci_half_width', 'reference', 'n_paired', 'delta_AP', 'delta_ci_low',
                  'delta_ci_high', 'delta_ci_half_width', 'significant', 'interval')


def summarize(params_path: str = 'params.yaml') -> list[dict]:
    """summary.csv from the variants' results: per variant the AP mean and its t-interval over seeds, and the
    paired difference against `ablations.reference` over the seeds both ran (t-interval of the per-seed
    differences). `significant` is yes when that interval excludes 0, `n.s.` when it contains 0, and empty
    without a difference (the reference itself, fewer than two paired seeds). The aggregates are also added
    to each variant's MLflow parent run."""
    from rtmpose.io import write_csv_atomic
    from rtmpose.mlflow_log import update_run
    cfg, variants = load_ablations(params_path)
    done = {}
    for name in variants:
        path = os.path.join(cfg.results_dir, f'{name}.json')
        if os.path.isfile(path):
            r = read_json(path, 'ablation results')
            if isinstance(r, dict) and r.get('status') == 'done' and r.get('per_seed'):
                done[name] = r
    ap = {n: {p['seed']: float(p['metrics']['AP']) for p in r['per_seed'] if 'AP' in p['metrics']}
          for n, r in done.items()}
    ref = ap.get(cfg.reference, {})
    label = f't-interval over seeds, {cfg.confidence:.0%}; delta paired by seed against {cfg.reference}'
    rows = []
    for name, r in done.items():
        seeds = sorted(ap[name])
        st = t_interval([ap[name][s] for s in seeds], cfg.confidence)
        row = dict(variant=name, roadmap=r.get('roadmap') or '', table03=_join(r.get('table03')), n_seeds=st['n'],
                   seeds=' '.join(map(str, seeds)), AP_mean=st['mean'], AP_sd=st['sd'], AP_ci_low=st['low'],
                   AP_ci_high=st['high'], AP_ci_half_width=st['half_width'], reference=cfg.reference,
                   n_paired=0, delta_AP='', delta_ci_low='', delta_ci_high='', delta_ci_half_width='',
                   significant='', interval=label)
        paired = sorted(set(seeds) & set(ref))
        if name != cfg.reference and paired:
            d = t_interval([ap[name][s] - ref[s] for s in paired], cfg.confidence)
            row.update(n_paired=d['n'], delta_AP=d['mean'], delta_ci_low=d['low'], delta_ci_high=d['high'],
                       delta_ci_half_width=d['half_width'])
            if d['n'] > 1:
                row['significant'] = 'yes' if d['low'] > 0 or d['high'] < 0 else 'n.s.'
        rows.append(row)
    write_csv_atomic(cfg.summary, [{k: _cell(row[k]) for k in SUMMARY_FIELDS} for row in rows], SUMMARY_FIELDS)
    if rows and os.environ.get('RTMPOSE_NO_MLFLOW') != '1':
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            figure = os.path.join(tmp, 'ablation_ap.png')
            plot_summary(rows, figure, cfg.reference)
            for row in rows:
                # the paired difference and its verdict (AP_mean and its interval are the run's own already)
                metrics = {k: row[k] for k in ('delta_AP', 'delta_ci_low', 'delta_ci_high')
                           if isinstance(row[k], float) and not math.isnan(row[k])}
                verdict = row['significant'] or ('reference' if row['variant'] == cfg.reference else '')
                update_run(cfg.experiment, _parent_run_id(cfg, row['variant']), metrics,
                           {'significant': verdict} if verdict else None, artifacts=[cfg.summary, figure])
    return rows


def plot_summary(rows: list[dict], path: str, reference: str) -> None:
    """AP per variant with its 95% interval over seeds, the reference's mean as a line (a PNG for MLflow)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = sorted(rows, key=lambda r: r['AP_mean'])
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(rows) + 1.2))
    y = range(len(rows))
    ax.errorbar([r['AP_mean'] for r in rows], list(y), fmt='o', capsize=3,
                xerr=[[r['AP_mean'] - r['AP_ci_low'] for r in rows], [r['AP_ci_high'] - r['AP_mean'] for r in rows]]
                if all(r['n_seeds'] > 1 for r in rows) else None)
    ref = next((r for r in rows if r['variant'] == reference), None)
    if ref is not None:
        ax.axvline(ref['AP_mean'], color='grey', lw=0.8, ls='--')
    ax.set_yticks(list(y), [f"{r['variant']} ({r['significant'] or ('ref' if r is ref else '')})" for r in rows])
    ax.set_xlabel('AP (mean over seeds, 95% t-interval)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _join(v) -> str:
    return '' if v is None else v if isinstance(v, str) else ' '.join(v)


def _cell(v):
    if isinstance(v, float):
        return '' if math.isnan(v) else f'{v:.6f}'
    return v
