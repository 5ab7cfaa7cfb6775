"""`rtmpose deploy`: the trained model through every backend x precision of params.yaml `deploy`: AP on the
val set against PyTorch fp32 (paired bootstrap interval), the gate, the latency of what passed, and the AP
cost of the inference-side choices (rtmpose.harness.accuracy). DVC stage `deploy`."""
from __future__ import annotations

import argparse

from rtmpose.settings import default_of


def configure(p: argparse.ArgumentParser) -> None:
    from rtmpose.harness.accuracy import DeploySettings
    d = lambda name: default_of(DeploySettings, name)  # noqa: E731
    p.add_argument('--params', metavar='YAML', help="take the settings from this file's `deploy` section")
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', dest='sets',
                   help='override a key of that section (repeatable)')
    p.add_argument('--checkpoint', help='trained checkpoint (params.yaml deploy.checkpoint)')
    p.add_argument('--data-dir', help='prepared data set (val split for AP, train split for calibration)')
    p.add_argument('--targets', nargs='+', metavar='BACKEND:PRECISION', help=f'default {" ".join(d("targets"))}')
    p.add_argument('--tolerance-ap', type=float, help=f'gate: delta-AP interval low >= -this (default {d("tolerance_ap")})')
    p.add_argument('--bbox-file', help='detector results (COCO) for the GT-vs-detector-boxes choice')
    p.add_argument('--out', help=f'report folder (default {d("out")})')
    p.add_argument('--no-mlflow', action='store_true', help='do not log the MLflow run')


def run(args: argparse.Namespace) -> int:
    import os
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    from rtmpose.harness.accuracy import DeploySettings, run_deploy
    from rtmpose.settings import resolve
    s = resolve(DeploySettings, params=args.params, section='deploy' if args.params else None, sets=args.sets,
                where=None if args.params else 'command line',
                flags=dict(checkpoint=args.checkpoint, data_dir=args.data_dir, targets=args.targets,
                           tolerance_ap=args.tolerance_ap, bbox_file=args.bbox_file, out=args.out))
    return run_deploy(s, mlflow=not args.no_mlflow)
