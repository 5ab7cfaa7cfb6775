"""`rtmpose pretrain --params params.yaml`: render the pre-training set, train on it (resuming after a kill)
and publish the weights with their provenance (DVC stage `pretrain`, frozen: hours on 2 cores, run once)."""
from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('--params', default='params.yaml', help='parameters file (section `pretrain`)')
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                   help='override a setting, e.g. train.epochs=2 or data.num_train=500')
    p.add_argument('--no-progress', action='store_true', help='no progress bars')
    p.add_argument('--no-mlflow', action='store_true', help='do not record an MLflow run')


def run(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from rtmpose.settings import resolve
    from rtmpose.train.pretrain import PretrainConfig, run_pretraining
    cfg = resolve(PretrainConfig, params=args.params, section='pretrain', sets=args.set)
    command = 'rtmpose ' + ' '.join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ['pretrain'] \
        else f'rtmpose pretrain --params {args.params}'
    rec = run_pretraining(cfg, command, progress=not args.no_progress, mlflow=not args.no_mlflow)
    shown = ', '.join(f'{k} {v:.4f}' for k, v in rec['held_out_metrics'].items())
    print(f'rtmpose pretrain: done: {rec["weights"]} (sha256 {rec["sha256"][:12]}, held-out {shown})')
    return 0
