"""`rtmpose info`: parameters and GFLOPs (one MAC = one FLOP) of every model, optionally as CSV/JSON.

Settings (rtmpose.complexity.ComplexityConfig) resolve as everywhere: explicit arguments > --set > the
--params section `complexity` > the dataclass default.
"""
from __future__ import annotations

import argparse
import json


def configure(p: argparse.ArgumentParser) -> None:
    from rtmpose.complexity import ComplexityConfig
    from rtmpose.settings import default_of
    p.add_argument('models', nargs='*', help='model names (default: every RTMPose model)')
    p.add_argument('--num-keypoints', type=int, help=f'(default {default_of(ComplexityConfig, "num_keypoints")})')
    p.add_argument('--json', metavar='PATH', help='also write the numbers as JSON')
    p.add_argument('--checkpoint', metavar='PATH',
                   help='check that this checkpoint loads strictly into the (single) named model')
    p.add_argument('--params', metavar='YAML', help="take models and keypoints from this file's `complexity` section")
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override a setting')


def run(args: argparse.Namespace) -> int:
    from rtmpose.complexity import ComplexityConfig, complexity_rows
    from rtmpose.settings import resolve
    cfg = resolve(ComplexityConfig, params=args.params, section='complexity' if args.params else None,
                  sets=args.set, flags={'models': args.models or None, 'num_keypoints': args.num_keypoints},
                  where=None if args.params else 'info settings')
    if args.checkpoint:
        return _check_checkpoint(cfg.models, cfg.num_keypoints, args.checkpoint)
    rows = complexity_rows(cfg.models, cfg.num_keypoints)
    print(f'{"model":<20}{"input":>9}{"K":>5}{"params (M)":>12}{"GFLOPs":>9}')
    for r in rows:
        print(f'{r["model"]:<20}{r["input"]:>9}{r["num_keypoints"]:>5}{r["params_m"]:>12.3f}{r["gflops"]:>9.3f}')
    print('GFLOPs count one multiply-accumulate as one FLOP (the paper\'s and OpenMMLab\'s convention).')
    if args.json:
        from rtmpose.io import write_text_atomic
        write_text_atomic(args.json, json.dumps({r['model']: r for r in rows}, indent=2) + '\n')
    return 0


def _check_checkpoint(names: list[str], num_keypoints: int, checkpoint: str) -> int:
    from rtmpose.checkpoint import load_into
    from rtmpose.errors import Error
    from rtmpose.models import create, entry
    if len(names) != 1:
        raise Error('--checkpoint needs exactly one model name')
    entry(names[0], 'rtmpose')
    model = create(names[0], num_keypoints=num_keypoints)
    raw = load_into(model, checkpoint)   # strict names and shapes; the raw file for its meta keys
    meta = raw.get('meta') if isinstance(raw, dict) else None
    print(f'{checkpoint}: loads into {names[0]} (K={num_keypoints}): '
          f'{len(model.state_dict())} tensors matched by name and shape'
          + (f'; meta keys: {", ".join(sorted(map(str, meta)))}' if isinstance(meta, dict) else ''))
    return 0
