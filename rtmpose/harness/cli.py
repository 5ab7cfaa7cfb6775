"""`rtmpose bench`: the paper's speed protocol over models x backends x precisions x threads x spans."""
from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('--params', metavar='YAML', help="take every setting from this file's `bench` section")
    p.add_argument('--models', nargs='+', help='RTMPose models (default: t, s, m, l)')
    p.add_argument('--peers', nargs='*', help='peer models timed in the same run')
    p.add_argument('--backends', nargs='+', help='backends for the RTMPose models')
    p.add_argument('--peer-backends', nargs='+', help='backends for the peers')
    p.add_argument('--precisions', nargs='+')
    p.add_argument('--threads', nargs='+', type=int)
    p.add_argument('--spans', nargs='+', choices=('model', 'e2e'))
    p.add_argument('--peer-spans', nargs='+', choices=('model', 'e2e'))
    p.add_argument('--warmup', type=int)
    p.add_argument('--runs', type=int)
    p.add_argument('--block', type=int, help='runs per turn when interleaving conditions')
    p.add_argument('--external', nargs='*', help='runtime peers (blazepose-lite/full/heavy); empty list: none')
    p.add_argument('--exports', help='export cache folder (default harness/exports)')
    p.add_argument('--out', help='report folder (default reports/bench)')
    p.add_argument('--no-mlflow', action='store_true')


def run(args: argparse.Namespace) -> int:
    import os
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    from rtmpose.harness.bench import BenchConfig, print_table, run_bench, write_reports
    from rtmpose.settings import build as fill, read_params as load_params, params_section as section
    values = {}
    if args.params:
        values = dict(section(load_params(args.params), 'bench', args.params))
    for key in ('models', 'peers', 'backends', 'peer_backends', 'precisions', 'threads', 'spans', 'peer_spans', 'warmup', 'runs',
                'block', 'external', 'exports', 'out'):
        v = getattr(args, key)
        if v is not None:
            values[key] = v
    if args.no_mlflow:
        values['mlflow'] = False
    cfg = fill(BenchConfig, values, f'{args.params or "command line"}: bench')
    rows, floor = run_bench(cfg)
    write_reports(rows, floor, cfg)
    print_table(rows)
    print(f'wrote {cfg.out}/latency.csv, ratios.csv, summary.md')
    return 0
