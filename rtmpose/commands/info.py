"""`rtmpose info`: parameters and GFLOPs (one MAC = one FLOP) of every model, optionally as CSV/JSON."""
from __future__ import annotations

import argparse
import json

from rtmpose.io import write_text_atomic


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('models', nargs='*', help='model names (default: all)')
    p.add_argument('--num-keypoints', type=int, default=17)
    p.add_argument('--json', metavar='PATH', help='also write the numbers as JSON')
    p.add_argument('--checkpoint', metavar='PATH',
                   help='check that this checkpoint loads strictly into the (single) named model')
    p.add_argument('--params', metavar='YAML', help="take models and keypoints from this file's `complexity` section")


def run(args: argparse.Namespace) -> int:
    from rtmpose.complexity import model_complexity
    from rtmpose.models import MODEL_CONFIGS, MODEL_NAMES, model_config
    if args.params:
        from rtmpose.settings import read_params as load_params, params_section as section
        cfg = section(load_params(args.params), 'complexity', args.params)
        args.models, args.num_keypoints = cfg['models'], cfg['num_keypoints']
    names = args.models or list(MODEL_NAMES)
    if args.checkpoint:
        return _check_checkpoint(names, args)
    rows = []
    for name in names:
        model_config(name)  # raises a one-line Error for unknown names
        c = model_complexity(name, args.num_keypoints)
        w, h = MODEL_CONFIGS[name].input_size
        rows.append(dict(model=name, input=f'{h}x{w}', num_keypoints=args.num_keypoints,
                         params=c.params, params_m=round(c.params_m, 3), gflops=round(c.gflops, 4)))
    print(f'{"model":<20}{"input":>9}{"K":>5}{"params (M)":>12}{"GFLOPs":>9}')
    for r in rows:
        print(f'{r["model"]:<20}{r["input"]:>9}{r["num_keypoints"]:>5}{r["params_m"]:>12.3f}{r["gflops"]:>9.3f}')
    print('GFLOPs count one multiply-accumulate as one FLOP (the paper\'s and OpenMMLab\'s convention).')
    if args.json:
        write_text_atomic(args.json, json.dumps({r['model']: r for r in rows}, indent=2) + '\n')
    return 0


def _check_checkpoint(names: list[str], args: argparse.Namespace) -> int:
    from rtmpose.checkpoint import load_into
    from rtmpose.errors import Error
    from rtmpose.models import build_model
    if len(names) != 1:
        raise Error('--checkpoint needs exactly one model name')
    model = build_model(names[0], num_keypoints=args.num_keypoints)
    raw = load_into(model, args.checkpoint)
    meta = raw.get('meta') if isinstance(raw, dict) else None
    print(f'{args.checkpoint}: loads into {names[0]} (K={args.num_keypoints}): '
          f'{len(model.state_dict())} tensors matched by name and shape'
          + (f'; meta keys: {", ".join(sorted(map(str, meta)))}' if isinstance(meta, dict) else ''))
    return 0
