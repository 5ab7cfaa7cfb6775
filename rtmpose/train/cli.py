"""`rtmpose train`: train from params.yaml (section `train`) or an experiment file, resuming by default."""
from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('--params', default='params.yaml', help='parameters file (default: params.yaml)')
    p.add_argument('--section', default='train', help='section of the parameters file (default: train)')
    p.add_argument('--config', '-c', metavar='EXPERIMENT.yaml',
                   help='experiment file (experiments/*.yaml) instead of the params.yaml section')
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                   help='override a setting (YAML value; dotted keys, e.g. model_overrides.use_gau=false)')
    p.add_argument('--fresh', action='store_true', help='ignore an existing last.pth and start over')
    p.add_argument('--report-dir', metavar='DIR',
                   help='also copy metrics.json, log.csv and curve.png here (DVC metrics and plots)')
    p.add_argument('--seeds-json', metavar='FILE',
                   help='write the spread over the seeds of `seeds` here (per-seed metrics, mean, 95%% t-interval)')
    p.add_argument('--no-progress', action='store_true', help='no progress bars')
    p.add_argument('--no-mlflow', action='store_true', help='do not record an MLflow run')


def run(args: argparse.Namespace) -> int:
    from rtmpose.train.config import load_config
    from rtmpose.train.trainer import run_training

    cfg = load_config(args.params, args.section, args.config, args.set)
    final = run_training(cfg, source=args.config or f'{args.params}:{args.section}', resume=not args.fresh,
                         progress=not args.no_progress, mlflow=not args.no_mlflow, report_dir=args.report_dir,
                         seeds_json=args.seeds_json)
    if final:   # empty on every process but the main one
        shown = ', '.join(f'{k} {v:.4f}' for k, v in final.items() if k in ('AP', 'AP50', 'PCKh', 'final_loss'))
        print(f'rtmpose train: done: {cfg.out_dir}/final.pth ({shown})')
    return 0
