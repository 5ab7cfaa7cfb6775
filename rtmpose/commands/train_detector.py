"""`rtmpose train-detector`: train RTMDet on a prepared set (params.yaml section `detector.train`, or an
experiment file), resuming from the run folder's last.pth; prints the box AP with its interval."""
from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('--params', default='params.yaml', help='parameters file (default: params.yaml)')
    p.add_argument('--section', default='detector.train', help='section of the parameters file '
                                                              '(default: detector.train)')
    p.add_argument('--config', '-c', metavar='EXPERIMENT.yaml', help='experiment file instead of the section')
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override a setting')
    p.add_argument('--fresh', action='store_true', help='ignore an existing last.pth and start over')
    p.add_argument('--no-progress', action='store_true', help='no progress bars')
    p.add_argument('--no-mlflow', action='store_true', help='do not record an MLflow run')


def run(args: argparse.Namespace) -> int:
    from rtmpose.settings import resolve
    from rtmpose.train.detector import DetectorTrainConfig, train_detector
    if args.config:
        from rtmpose.settings import read_params
        cfg = resolve(DetectorTrainConfig, values=read_params(args.config), sets=args.set, where=args.config)
    else:
        cfg = resolve(DetectorTrainConfig, params=args.params, section=args.section, sets=args.set)
    final = train_detector(cfg, resume=not args.fresh, progress=not args.no_progress, mlflow=not args.no_mlflow)
    ci = (f' [{final["AP_ci_low"]:.3f}, {final["AP_ci_high"]:.3f}]' if 'AP_ci_low' in final else '')
    print(f'rtmpose train-detector: done: {cfg.out_dir}/final.pth (box AP {final.get("AP", float("nan")):.3f}{ci}, '
          f'AP50 {final.get("AP50", float("nan")):.3f})')
    return 0
