"""`rtmpose export`: export a model to a backend, run the accuracy gate, keep it in the export cache."""
from __future__ import annotations

import argparse

from rtmpose.deploy.backends import BACKEND_NAMES, PRECISIONS
from rtmpose.deploy.plan import ExportSettings
from rtmpose.settings import default_of


def configure(p: argparse.ArgumentParser) -> None:
    d = lambda name: default_of(ExportSettings, name)  # noqa: E731
    p.add_argument('model', nargs='?', help='model name (rtmpose-t ... or a peer such as litehrnet-30)')
    p.add_argument('--backend', choices=BACKEND_NAMES)
    p.add_argument('--precision', choices=PRECISIONS, help=f'default {d("precision")}')
    p.add_argument('--checkpoint', help='weights file (default: seeded random weights, fine for speed)')
    p.add_argument('--seed', type=int, help=f'seed of the random weights (default {d("seed")})')
    p.add_argument('--out', help=f'export cache folder (default {d("exports")}; with --params its `exports` key)')
    p.add_argument('--opset', type=int, help=f'ONNX opset, <= 17; the official config uses 11 (default {d("opset")})')
    p.add_argument('--dynamic-batch', action='store_true', default=None, help='symbolic batch axis in the ONNX file')
    p.add_argument('--threads', type=int, help=f'threads for the accuracy-gate run (default {d("threads")})')
    p.add_argument('--calibration-data', metavar='DIR',
                   help='int8 / mixed: prepared data set whose train split gives the calibration crops '
                        '(default: seeded inputs, fine for speed only)')
    p.add_argument('--calibration-count', type=int, help=f'calibration crops (default {d("calibration_count")})')
    p.add_argument('--force', action='store_true', default=None, help='rebuild even if a cached export exists')
    p.add_argument('--params', metavar='YAML',
                   help="export every model/backend/precision of this file's `bench` section instead")


def run(args: argparse.Namespace) -> int:
    from rtmpose.deploy.plan import resolve_plan, run_export
    from rtmpose.settings import resolve
    settings = resolve(ExportSettings, where='command line', flags=dict(
        model=args.model, backend=args.backend, precision=args.precision, checkpoint=args.checkpoint,
        seed=args.seed, opset=args.opset, dynamic_batch=args.dynamic_batch, threads=args.threads,
        force=args.force, exports=args.out, calibration_data=args.calibration_data,
        calibration_count=args.calibration_count))
    plan = resolve_plan(args.params, flags={'exports': args.out, 'seed': args.seed}) if args.params else None
    return run_export(settings, plan)
