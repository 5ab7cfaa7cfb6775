"""`rtmpose prepare DATASET --raw DIR --out DIR`, and `rtmpose prepare synthetic --out DIR`.

Settings (rtmpose.data.prepare.ReleaseConfig, rtmpose.data.synthetic.SyntheticConfig) resolve as everywhere:
explicit flag > --set > the --params section data.DATASET > the dataclass default.
"""
from __future__ import annotations

import argparse

from rtmpose.data.prepare import DECODE_CHOICES, REAL, ReleaseConfig
from rtmpose.settings import default_of

_SYNTHETIC_FLAGS = ('seed', 'num_train', 'num_val', 'width', 'height', 'max_people', 'occluder_prob')


def configure(parser: argparse.ArgumentParser) -> None:
    from rtmpose.data.synthetic import SyntheticConfig
    parser.add_argument('dataset', choices=REAL + ('synthetic',), help='which release to convert')
    parser.add_argument('--raw', help='folder holding the release in its native layout (real data sets)')
    parser.add_argument('--out', required=True, help='output folder (replaced atomically)')
    parser.add_argument('--decode', choices=DECODE_CHOICES,
                        help='decode-check images: none, a deterministic sample of 64 per split, all (default '
                             f'{default_of(ReleaseConfig, "decode")}); existence is always checked for every image')
    parser.add_argument('--skip-invalid', action='store_true', default=None,
                        help='drop invalid annotations (listed in the manifest) instead of failing')
    parser.add_argument('--ap10k-split', type=int,
                        help=f'AP-10K split 1, 2 or 3 (default {default_of(ReleaseConfig, "split")})')
    syn = parser.add_argument_group('synthetic')
    for name in _SYNTHETIC_FLAGS:
        kind = type(default_of(SyntheticConfig, name))
        syn.add_argument('--' + name.replace('_', '-'), type=kind,
                         help=f'(default {default_of(SyntheticConfig, name)})')
    parser.add_argument('--params', help='read the settings from this params.yaml (section data.DATASET); '
                                         'used by the DVC stages')
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override a setting')


def run(args: argparse.Namespace) -> int:
    import time

    from rtmpose.data.prepare import prepare_dataset
    from rtmpose.data.synthetic import SyntheticConfig
    from rtmpose.settings import resolve
    start = time.perf_counter()
    if args.dataset == 'synthetic':
        cls, flags = SyntheticConfig, {name: getattr(args, name) for name in _SYNTHETIC_FLAGS}
    else:
        cls, flags = ReleaseConfig, dict(raw=args.raw, decode=args.decode, skip_invalid=args.skip_invalid,
                                         split=args.ap10k_split)
    settings = resolve(cls, params=args.params, section=f'data.{args.dataset}' if args.params else None,
                       sets=args.set, flags=flags, where=None if args.params else f'{args.dataset} settings')
    manifest = prepare_dataset(args.dataset, args.out, settings)
    counts = ', '.join(f'{s}: {v["images"]} images / {v["instances"]} instances / '
                       f'{v["keypoints_labelled"]} labelled keypoints' for s, v in manifest['splits'].items())
    print(f'{args.dataset} -> {args.out} ({counts}) in {time.perf_counter() - start:.1f} s')
    return 0
