"""The roadmap ablation grid (paper Sec. 3, Fig. 3, Table 3), declared once in params.yaml `ablations`, and
its runner.

Each variant is a list of `rtmpose train --set` overrides on the base experiment file, plus the paper rows
it reproduces (`roadmap`: a table02 row key; `table03`: a table03 row key) and the grids it belongs to.
`ablations.grid` picks the grid: `default` (small, minutes on a CPU) or `paper` (every variant). One DVC
stage per variant (`ablation@<name>`) runs `rtmpose ablate <name>`, which calls `run_variant` here: train
and evaluate in this process, tag the MLflow runs with the roadmap step, and write
<results_dir>/<name>.json atomically. A variant outside the chosen grid writes a `skipped` record, so the
table says how to run it. rtmpose.reports only reads those files.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from rtmpose.errors import Error
from rtmpose.io import folder_lock, read_json, write_json_atomic
from rtmpose.settings import build, resolve

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
    variants: dict = field(default_factory=dict)


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


def run_name(variant: str) -> str:
    return f'ablation-{variant}'


def _tag_mlflow(run: str, tags: dict) -> None:
    """Tag the train and eval MLflow runs named `run` with the roadmap step; quiet if MLflow is off."""
    if os.environ.get('RTMPOSE_NO_MLFLOW') == '1':
        return
    try:
        import mlflow
        from mlflow.tracking import MlflowClient
        mlflow.set_tracking_uri(os.environ.get('MLFLOW_TRACKING_URI', 'sqlite:///mlflow.db'))
        client = MlflowClient()
        for exp_name in ('train', 'eval'):
            exp = client.get_experiment_by_name(exp_name)
            if exp is None:
                continue
            runs = client.search_runs([exp.experiment_id], f"tags.mlflow.runName = '{run}'",
                                      order_by=['attributes.start_time DESC'], max_results=1)
            for r in runs:
                for k, v in tags.items():
                    client.set_tag(r.info.run_id, k, str(v))
    except Exception as e:  # tracking must never fail a run
        print(f'rtmpose: MLflow tagging skipped ({str(e).splitlines()[0][:160]})', file=sys.stderr)


def _train_and_evaluate(cfg: Ablations, run: str, sets: list[str]) -> tuple[str, dict]:
    """Train `run` from the base experiment with `sets`, from scratch, then evaluate its final.pth on
    `cfg.eval_dataset`: what `rtmpose train --config BASE --set name=RUN --set runs_dir=DIR --set ...
    --fresh` and `rtmpose eval --checkpoint DIR/RUN/final.pth --dataset D --out DIR/RUN/eval.json
    --name RUN` do. Returns the run folder and the written eval.json."""
    from rtmpose.evaluation.config import EvalConfig
    from rtmpose.evaluation.runner import run_evaluation
    from rtmpose.train.config import load_config
    from rtmpose.train.trainer import run_training
    train_cfg = load_config(experiment=cfg.base, sets=[f'name={run}', f'runs_dir={cfg.runs_dir}', *sets])
    run_dir = os.path.join(cfg.runs_dir, run)
    eval_out = os.path.join(run_dir, 'eval.json')
    # the run folder stays locked from training through its eval.json (the trainer's lock nests in it)
    with folder_lock(run_dir, 'ablation run folder'):
        print(f'rtmpose ablate: training {run} ({cfg.base} + {len(sets)} settings)', flush=True)
        run_training(train_cfg, source=cfg.base, resume=False, progress=False)
        print(f'rtmpose ablate: evaluating {run} on {cfg.eval_dataset}', flush=True)
        run_evaluation(EvalConfig(checkpoint=os.path.join(run_dir, 'final.pth'), dataset=cfg.eval_dataset,
                                  out=eval_out, name=run), progress=False)
    return run_dir, read_json(eval_out, 'evaluation results')


def run_variant(name: str, params_path: str = 'params.yaml') -> dict:
    """Run ablation variant `name` of `params_path` (or record why not) and write its results JSON."""
    from rtmpose.system import cpu_name
    cfg, variants = load_ablations(params_path)
    if name not in variants:
        raise Error(f'{params_path}: no ablation variant {name!r} (known: {", ".join(variants)})')
    v = variants[name]
    out = os.path.join(cfg.results_dir, f'{name}.json')
    record = dict(variant=name, roadmap=v.roadmap, table03=v.table03, grid=cfg.grid, grids=v.grids,
                  description=v.description, sets=list(cfg.train_sets) + list(v.sets))
    if v.unsupported:
        record.update(status='unsupported', reason=v.unsupported)
    elif cfg.grid not in v.grids:
        record.update(status='skipped', reason=f'not in the {cfg.grid!r} grid; set ablations.grid: paper')
        record['grid'] = 'paper'
    else:
        run = run_name(name)
        run_dir, ev = _train_and_evaluate(cfg, run, record['sets'])
        info = ev.pop('info', {})
        record.update(status='done', run=run, run_dir=run_dir, metrics=ev, model=info.get('model', ''),
                      dataset=info.get('dataset', cfg.eval_dataset), box_source=info.get('boxes', ''),
                      machine=cpu_name())
        _tag_mlflow(run, {'roadmap_step': v.roadmap or '', 'table03': v.table03 or '', 'ablation': name,
                          'ablation_grid': cfg.grid})
    write_json_atomic(out, record)
    return record
