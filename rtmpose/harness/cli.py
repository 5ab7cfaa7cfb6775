"""`rtmpose bench`: the paper's speed protocol over models x backends x precisions x threads x spans
(the `bench` section), or with --pipeline the detector + pose latency per frame (the `pipeline` section)."""
from __future__ import annotations

import argparse

from rtmpose.deploy.backends import BACKEND_NAMES, PRECISIONS
from rtmpose.harness.bench import SPANS, BenchConfig
from rtmpose.inference.pipeline import PipelineSettings
from rtmpose.settings import default_of


def _default(name: str) -> str:
    value = default_of(BenchConfig, name)
    return ' '.join(map(str, value)) if isinstance(value, list) else str(value)


def _thread_count(text: str) -> int | str:
    if text.strip().lower() == 'all':
        return 'all'
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a thread count or all, got {text!r}') from None
    if value < 0:
        raise argparse.ArgumentTypeError(f'expected a thread count >= 0 (0 = all), got {value}')
    return value


def configure(p: argparse.ArgumentParser) -> None:
    d = _default
    p.add_argument('--params', metavar='YAML', help="take the settings from this file's `bench` section "
                   '(`pipeline` section with --pipeline); flags override it')
    p.add_argument('--set', action='append', metavar='KEY=VALUE', dest='sets',
                   help='override a key of that section (repeatable)')
    p.add_argument('--models', nargs='+', help=f'RTMPose models (default {d("models")}); with --pipeline the '
                   f'pose models (default {" ".join(default_of(PipelineSettings, "bench_pose_models"))})')
    p.add_argument('--peers', nargs='*', help=f'peer models timed in the same run (default {d("peers")})')
    p.add_argument('--backends', nargs='+', choices=BACKEND_NAMES, metavar='BACKEND',
                   help=f'backends for the RTMPose models (default {d("backends")})')
    p.add_argument('--peer-backends', nargs='+', choices=BACKEND_NAMES, metavar='BACKEND',
                   help=f'backends for the peers (default {d("peer_backends")})')
    p.add_argument('--precisions', nargs='+', choices=PRECISIONS, metavar='PRECISION', help=f'default {d("precisions")}')
    p.add_argument('--threads', nargs='+', type=_thread_count, metavar='N|all',
                   help=f'thread counts; `all` (or 0) = every core this process may use, recorded as its number '
                   f'(default {d("threads")}; the like-for-like comparison with the paper\'s CPU figures is `1 all`)')
    p.add_argument('--spans', nargs='+', choices=SPANS, help=f'default {d("spans")}')
    p.add_argument('--peer-spans', nargs='+', choices=SPANS, help=f'default {d("peer_spans")}')
    p.add_argument('--warmup', type=int, help=f'warm-up runs (default {d("warmup")})')
    p.add_argument('--runs', type=int, help=f'timed runs (default {d("runs")})')
    p.add_argument('--repeats', type=int, help=f'whole runs, each in its own process; adds the between-process '
                   f'spread (default {d("repeats")})')
    p.add_argument('--block', type=int, help=f'runs per turn when interleaving conditions (default {d("block")})')
    p.add_argument('--external', nargs='*',
                   help=f'runtime peers, empty list: none (default {d("external")})')
    p.add_argument('--exports', help=f'export cache folder (default {d("exports")})')
    p.add_argument('--out', help=f'report folder (default {d("out")}); with --pipeline the CSV file '
                   f'(default {default_of(PipelineSettings, "bench_csv")})')
    p.add_argument('--sweep', choices=('people', 'batch', 'threads'),
                   help='a scaling sweep instead of the bench: people per frame (batched vs per-crop, '
                   f'{d("sweep_people_models")}), batch sizes ({d("sweep_batches")}) or threads (1..all cores); '
                   f'{d("sweep_warmup")} warm-up + {d("sweep_runs")} runs per point (sweep_* keys of the section)')
    p.add_argument('--no-mlflow', action='store_true', help='do not log MLflow runs')
    g = p.add_argument_group('pipeline latency (Table 12): detector + pose per frame, `pipeline` section')
    g.add_argument('--pipeline', action='store_true', help='time the detector + pose pipeline instead')
    g.add_argument('--image', help='frame to time (default: params.yaml pipeline.bench_image with --params, else a '
                                   'synthetic frame with ground-truth boxes)')
    g.add_argument('--pose-checkpoint', help='RTMPose checkpoint (then only the section\'s pose_model is timed)')
    g.add_argument('--det-checkpoint', help='RTMDet checkpoint')
    g.add_argument('--random-weights', action='store_true',
                   help='seeded random weights where no checkpoint is given (speed only)')
    g.add_argument('--quiet', action='store_true', help='no progress bar')


def run(args: argparse.Namespace) -> int:
    import os
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    from rtmpose.settings import resolve
    where = None if args.params else 'command line'
    if args.pipeline:
        from rtmpose.harness.pipeline import pipeline_command
        settings = resolve(PipelineSettings, params=args.params, section='pipeline' if args.params else None,
                           sets=args.sets, where=where, flags=dict(
                               bench_pose_models=args.models, warmup=args.warmup, runs=args.runs,
                               exports=args.exports, bench_csv=args.out))
        return pipeline_command(settings, args.image or settings.bench_image or None, args.pose_checkpoint,
                                args.det_checkpoint, args.random_weights, progress=not args.quiet)
    from rtmpose.harness.bench import bench_command
    cfg = resolve(BenchConfig, params=args.params, section='bench' if args.params else None, sets=args.sets,
                  where=where, flags=dict(
                      models=args.models, peers=args.peers, backends=args.backends, peer_backends=args.peer_backends,
                      precisions=args.precisions, threads=args.threads, spans=args.spans, peer_spans=args.peer_spans,
                      warmup=args.warmup, runs=args.runs, block=args.block, repeats=args.repeats, external=args.external,
                      exports=args.exports, out=args.out, mlflow=False if args.no_mlflow else None))
    if args.sweep:
        from rtmpose.harness.sweeps import sweep_command
        return sweep_command(cfg, args.sweep)
    return bench_command(cfg)
