"""`rtmpose prepare DATASET --raw DIR --out DIR`, and `rtmpose prepare synthetic --out DIR`.

Reads a release in its native layout, validates it, writes <out>/{train,val}.json + manifest.json
atomically (a failed run leaves no partial output). See datasets/README.md for each layout.
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

from rtmpose.errors import Error

REAL = ('coco', 'aic', 'coco-wholebody', 'crowdpose', 'ap10k', 'mpii', 'coco-singleperson')


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('dataset', choices=REAL + ('synthetic',), help='which release to convert')
    parser.add_argument('--raw', help='folder holding the release in its native layout (real data sets)')
    parser.add_argument('--out', required=True, help='output folder (replaced atomically)')
    parser.add_argument('--decode', choices=('none', 'sample', 'all'), default='sample',
                        help='decode-check images: none, a deterministic sample of 64 per split (default), all; '
                             'existence is always checked for every image')
    parser.add_argument('--skip-invalid', action='store_true',
                        help='drop invalid annotations (listed in the manifest) instead of failing')
    parser.add_argument('--ap10k-split', type=int, default=1, help='AP-10K split 1, 2 or 3')
    syn = parser.add_argument_group('synthetic')
    syn.add_argument('--seed', type=int, default=0)
    syn.add_argument('--num-train', type=int, default=600)
    syn.add_argument('--num-val', type=int, default=100)
    syn.add_argument('--width', type=int, default=320)
    syn.add_argument('--height', type=int, default=240)
    syn.add_argument('--max-people', type=int, default=3)
    syn.add_argument('--occluder-prob', type=float, default=0.35)
    parser.add_argument('--params', help='read the settings from this params.yaml (section data.DATASET); '
                                         'used by the DVC stages')


def prepare(dataset: str, raw: str | os.PathLike, out: str | os.PathLike, decode: str = 'sample',
            skip_invalid: bool = False, ap10k_split: int = 1) -> dict:
    """Convert one real release; return its manifest."""
    from rtmpose.data import aic, ap10k, coco, coco_wholebody, crowdpose, mpii
    from rtmpose.data.prepared import staged_dir, write_prepared
    raw_path = Path(raw).absolute()
    ids = None
    if dataset == 'coco-singleperson':
        splits, inputs, skipped, ids = coco.convert_single_person(raw_path, decode, skip_invalid)
    elif dataset == 'ap10k':
        splits, inputs, skipped = ap10k.convert(raw_path, decode, skip_invalid, ap10k_split)
    else:
        module = {'coco': coco, 'aic': aic, 'coco-wholebody': coco_wholebody, 'crowdpose': crowdpose,
                  'mpii': mpii}[dataset]
        splits, inputs, skipped = module.convert(raw_path, decode, skip_invalid)
    extra = {'decode_check': decode, 'skipped': {'count': len(skipped), 'first': skipped[:50]}}
    if ids is not None:
        extra['rule'] = ('val2017 images with exactly one person annotation, non-crowd, num_keypoints > 0 '
                         '(rtmpose.data.coco.single_person_subset)')
        extra['paper_count'] = 1045
    with staged_dir(out) as tmp:
        if ids is not None:
            (tmp / 'image_ids.json').write_text('[' + ','.join(map(str, ids)) + ']\n')
        manifest = write_prepared(tmp, dataset, splits, os.fspath(raw_path), inputs, extra)
    return manifest


@dataclass
class ReleaseConfig:
    raw: str = ''
    decode: str = 'sample'
    skip_invalid: bool = False
    split: int = 1          # AP-10K only


def _section(params: str, name: str) -> dict:
    from rtmpose.settings import read_params as load_params, params_section as section
    return section(load_params(params), f'data.{name}', params)


def run(args: argparse.Namespace) -> int:
    from rtmpose.settings import build as fill
    start = time.perf_counter()
    if args.dataset == 'synthetic':
        from rtmpose.data.synthetic import SyntheticConfig, make_synthetic
        settings = {'seed': args.seed, 'num_train': args.num_train, 'num_val': args.num_val, 'width': args.width,
                    'height': args.height, 'max_people': args.max_people, 'occluder_prob': args.occluder_prob}
        if args.params:
            values = _section(args.params, 'synthetic')
            settings = vars(fill(SyntheticConfig, values, f'{args.params}: data.synthetic'))
        manifest = make_synthetic(args.out, **settings)
    else:
        raw, decode, skip, split = args.raw, args.decode, args.skip_invalid, args.ap10k_split
        if args.params:                 # data.<name>: {raw, decode, skip_invalid, split}
            cfg = fill(ReleaseConfig, _section(args.params, args.dataset), f'{args.params}: data.{args.dataset}')
            raw, decode, skip, split = cfg.raw, cfg.decode, cfg.skip_invalid, cfg.split
        if not raw:
            raise Error(f'prepare {args.dataset}: --raw DIR is required (the release in its native layout)')
        manifest = prepare(args.dataset, raw, args.out, decode, skip, split)
    counts = ', '.join(f'{s}: {v["images"]} images / {v["instances"]} instances / '
                       f'{v["keypoints_labelled"]} labelled keypoints' for s, v in manifest['splits'].items())
    print(f'{args.dataset} -> {args.out} ({counts}) in {time.perf_counter() - start:.1f} s')
    return 0
