"""`rtmpose ablate NAME`: train and evaluate one roadmap ablation variant of params.yaml (DVC stage ablation@NAME)."""
from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('variant', help='a key of params.yaml ablations.variants')
    p.add_argument('--params', default='params.yaml', help='parameters file holding the ablation grid')


def run(args: argparse.Namespace) -> int:
    from rtmpose.train.ablation import run_variant
    r = run_variant(args.variant, args.params)
    shown = f"AP {r['metrics'].get('AP', float('nan')):.4f}" if r['status'] == 'done' else r.get('reason', '')
    print(f'rtmpose ablate: {args.variant}: {r["status"]} {shown}')
    return 0
