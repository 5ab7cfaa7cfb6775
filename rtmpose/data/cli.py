"""`rtmpose prepare DATASET --raw DIR --out DIR`, `rtmpose prepare synthetic --out DIR`, and
`rtmpose prepare synthetic-video --out DIR` (a video with per-frame COCO annotations and track ids).

Settings (rtmpose.data.prepare.ReleaseConfig, rtmpose.data.synthetic.SyntheticConfig,
rtmpose.data.synthetic_video.SyntheticVideoConfig) resolve as everywhere: explicit flag > --set > the --params
section data.DATASET > the dataclass default.
"""
from __future__ import annotations

import argparse

from rtmpose.data.prepare import DECODE_CHOICES, REAL, ReleaseConfig
from rtmpose.errors import Error
from rtmpose.settings import default_of

_SYNTHETIC_FLAGS = ('seed', 'num_train', 'num_val', 'width', 'height', 'max_people', 'occluder_prob')
_VIDEO_FLAGS = ('seed', 'frames', 'width', 'height', 'fps', 'max_people', 'occluder_prob')
_VIDEO_ONLY = ('frames', 'fps')


def configure(parser: argparse.ArgumentParser) -> None:
    from rtmpose.data.synthetic import SyntheticConfig
    from rtmpose.data.synthetic_video import SyntheticVideoConfig
    parser.add_argument('dataset', choices=REAL + ('synthetic', 'synthetic-video'),
                        help='which release to convert')
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
        video = default_of(SyntheticVideoConfig, name) if name in _VIDEO_FLAGS else None
        differs = video is not None and video != default_of(SyntheticConfig, name)
        also = f'; synthetic-video: {video}' if differs else ''
        syn.add_argument('--' + name.replace('_', '-'), type=kind,
                         help=f'(default {default_of(SyntheticConfig, name)}{also})')
    vid = parser.add_argument_group('synthetic-video',
                                    'also --seed, --width, --height, --max-people, --occluder-prob')
    for name in _VIDEO_ONLY:
        vid.add_argument('--' + name.replace('_', '-'), type=type(default_of(SyntheticVideoConfig, name)),
                         help=f'(default {default_of(SyntheticVideoConfig, name)})')
    parser.add_argument('--params', help='read the settings from this params.yaml (section data.DATASET); '
                                         'used by the DVC stages')
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override a setting')


def run(args: argparse.Namespace) -> int:
    import time

    from rtmpose.data.prepare import prepare_dataset
    from rtmpose.data.synthetic import SyntheticConfig
    from rtmpose.settings import resolve
    start = time.perf_counter()
    if args.dataset == 'synthetic-video':
        return _run_video(args, start)
    _refuse(args, _VIDEO_ONLY, 'applies to `prepare synthetic-video` only')
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


def _refuse(args: argparse.Namespace, names: tuple[str, ...], why: str) -> None:
    """An Error (`--FLAG why`) when one of the flags `names` was given."""
    given = [n for n in names if getattr(args, n, None) is not None]
    if given:
        raise Error(f'--{given[0].replace("_", "-")} {why}')


def _run_video(args: argparse.Namespace, start: float) -> int:
    import time

    from rtmpose.data.synthetic_video import SyntheticVideoConfig, make_synthetic_video
    from rtmpose.settings import resolve
    _refuse(args, ('raw', 'decode', 'skip_invalid', 'ap10k_split', 'num_train', 'num_val'),
            'does not apply to `prepare synthetic-video`')
    cfg = resolve(SyntheticVideoConfig, params=args.params,
                  section='data.synthetic-video' if args.params else None, sets=args.set,
                  flags={name: getattr(args, name) for name in _VIDEO_FLAGS},
                  where=None if args.params else 'synthetic-video settings')
    m = make_synthetic_video(args.out, cfg)
    ppf = m['people_per_frame']
    print(f'synthetic-video -> {args.out} ({m["video"]}: {m["frames"]} frames {cfg.width}x{cfg.height} at '
          f'{cfg.fps:g} fps; {m["tracks"]} tracks / {m["instances"]} instances / '
          f'{ppf["min"]}-{ppf["max"]} people per frame) in {time.perf_counter() - start:.1f} s')
    return 0
