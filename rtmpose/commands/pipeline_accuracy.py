"""`rtmpose pipeline-accuracy`: pose AP with the detector's boxes against ground-truth boxes (paired 95%
interval over images) and the detector's box AP; params.yaml section `pipeline_accuracy` or flags."""
from __future__ import annotations

import argparse

_FLAGS = ('pose_checkpoint', 'detector_checkpoint', 'detector', 'detector_input_size', 'data_dir', 'split',
          'bootstrap', 'out')


def configure(p: argparse.ArgumentParser) -> None:
    from rtmpose.harness.pipeline_accuracy import PipelineAccuracyConfig
    from rtmpose.settings import default_of
    for name in _FLAGS:
        kind = int if name in ('bootstrap', 'detector_input_size') else str
        p.add_argument('--' + name.replace('_', '-'), type=kind,
                       help=f'(default {default_of(PipelineAccuracyConfig, name)})')
    p.add_argument('--params', help='read the settings from this params.yaml (section pipeline_accuracy)')
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override a setting')
    p.add_argument('--no-progress', action='store_true', help='no progress bars')


def run(args: argparse.Namespace) -> int:
    from rtmpose.harness.pipeline_accuracy import PipelineAccuracyConfig, measure
    from rtmpose.settings import resolve
    cfg = resolve(PipelineAccuracyConfig, params=args.params, section='pipeline_accuracy' if args.params else None,
                  sets=args.set, flags={n: getattr(args, n) for n in _FLAGS})
    r = measure(cfg, progress=not args.no_progress)
    d = r['delta_AP']
    print(f'rtmpose pipeline-accuracy: box AP {r["box_AP"]["AP"]:.3f}; pose AP {r["gt_boxes"]["AP"]:.3f} with '
          f'ground-truth boxes, {r["detector_boxes"]["AP"]:.3f} with the detector\'s: {d["value"]:+.3f} '
          f'[{d["ci95"][0]:+.3f}, {d["ci95"][1]:+.3f}] -> {cfg.out}')
    return 0
