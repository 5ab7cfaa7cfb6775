"""`rtmpose ablate NAME`: train and evaluate one roadmap ablation variant of params.yaml for every seed (DVC
stage ablation@NAME); `rtmpose ablate --summary`: means, intervals and paired differences of the grid
(DVC stage ablation-summary)."""
from __future__ import annotations

import argparse

from rtmpose.errors import Error


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('variant', nargs='?', help='a key of params.yaml ablations.variants')
    p.add_argument('--summary', action='store_true',
                   help='write ablations.summary (mean, 95%% t-interval, paired difference against the final '
                        'recipe) from the variants already run')
    p.add_argument('--params', default='params.yaml', help='parameters file holding the ablation grid')


def _fmt(v, digits: int = 4) -> str:
    return f'{v:.{digits}f}' if isinstance(v, float) else str(v)


def run(args: argparse.Namespace) -> int:
    from rtmpose.train.ablation import run_variant, summarize
    if args.summary == bool(args.variant):
        raise Error('give either a variant name or --summary')
    if args.summary:
        for r in summarize(args.params):
            delta = '' if r['delta_AP'] == '' else (
                f", delta {_fmt(r['delta_AP'])} [{_fmt(r['delta_ci_low'])}, {_fmt(r['delta_ci_high'])}]"
                f" {r['significant']}")
            print(f"rtmpose ablate: {r['variant']}: AP {_fmt(r['AP_mean'])} "
                  f"[{_fmt(r['AP_ci_low'])}, {_fmt(r['AP_ci_high'])}] over {r['n_seeds']} seed(s){delta}")
        return 0
    r = run_variant(args.variant, args.params)
    if r['status'] == 'done':
        ap = r['AP']
        shown = (f"AP {ap['mean']:.4f} [{ap['low']:.4f}, {ap['high']:.4f}] over {ap['n']} seed(s) "
                 f"({r['wall_time_s']:.0f} s)")
    else:
        shown = r.get('reason', '')
    print(f'rtmpose ablate: {args.variant}: {r["status"]} {shown}')
    return 0
