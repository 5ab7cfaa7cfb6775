"""`rtmpose eval`: evaluate a checkpoint (official mmpose or this suite's) on a prepared data set.

Settings (rtmpose.evaluation.config.EvalConfig) resolve as everywhere: explicit flag > --set > the
--params section > the dataclass default. Boxes are the ground-truth ones unless --bbox-file gives a COCO
detection-results file; the output says which.
"""
from __future__ import annotations

import argparse

from rtmpose.evaluation.config import EvalConfig
from rtmpose.settings import default_of

# flags that set an EvalConfig field of the same name
_FLAGS = ('checkpoint', 'model', 'dataset', 'data_dir', 'split', 'bbox_file', 'batch_size', 'num_workers', 'device',
          'out', 'results_file', 'name', 'nms_thr', 'keypoint_score_thr', 'model_file', 'backend', 'precision',
          'threads')


def _default(name: str) -> str:
    return f'(default {default_of(EvalConfig, name)})'


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('--params', help='parameters file to read a section from (e.g. params.yaml)')
    p.add_argument('--section', default='eval', help='section of --params (default: eval)')
    p.add_argument('--checkpoint', help='checkpoint file (mmpose release, bare state dict or final.pth)')
    p.add_argument('--model', help='model name (rtmpose-t/s/m/l, ...); default from the checkpoint, else rtmpose-m')
    p.add_argument('--dataset', help='data set name (coco, crowdpose, coco-wholebody, ap10k, mpii, synthetic); '
                                     'default from the checkpoint, else coco')
    p.add_argument('--data-dir', help='prepared data set folder (params.yaml eval.data_dir; default: the checkpoint\'s, '
                                      'else an error)')
    p.add_argument('--split', help=f'split to evaluate {_default("split")}')
    p.add_argument('--bbox-file', help='COCO detection results for the person boxes (default: ground truth)')
    p.add_argument('--no-flip', action='store_true', default=None, help='no flip test')
    p.add_argument('--nms-thr', type=float, help=f'OKS-NMS threshold {_default("nms_thr")}')
    p.add_argument('--keypoint-score-thr', type=float, help=f'rescoring threshold {_default("keypoint_score_thr")}')
    p.add_argument('--batch-size', type=int, help=_default('batch_size'))
    p.add_argument('--num-workers', type=int, help=_default('num_workers'))
    p.add_argument('--device', choices=('auto', 'cpu', 'cuda'), help=_default('device'))
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override a setting')
    p.add_argument('--out', help='write the metrics JSON here')
    p.add_argument('--results-file', help='write the COCO keypoint results JSON here')
    p.add_argument('--name', help='MLflow run name')
    p.add_argument('--no-progress', action='store_true')
    p.add_argument('--no-mlflow', action='store_true')
    p.add_argument('--model-file', help='an exported artifact (ONNX .onnx, OpenVINO .xml, ncnn .param) to evaluate '
                                        'through its deploy runner instead of the PyTorch model; the checkpoint '
                                        '(default: the one in the artifact\'s export.json) gives the architecture')
    p.add_argument('--backend', help='backend of --model-file (default: its export.json, else its suffix)')
    p.add_argument('--precision', help='precision of --model-file (default: its export.json, else fp32)')
    p.add_argument('--threads', type=int, help=f'runtime threads for --model-file {_default("threads")}')


def resolve(args: argparse.Namespace) -> EvalConfig:
    from rtmpose import settings
    flags = {key: getattr(args, key, None) for key in _FLAGS}
    flags['flip_test'] = False if args.no_flip else None
    return settings.resolve(EvalConfig, params=args.params, section=args.section if args.params else None,
                            sets=args.set, flags=flags, where=None if args.params else 'eval settings')


def run(args: argparse.Namespace) -> int:
    from rtmpose.evaluation.runner import run_evaluation
    result = run_evaluation(resolve(args), progress=not args.no_progress, mlflow=not args.no_mlflow)
    return report(result)


def report(result: dict) -> int:
    info, m = result['info'], result['metrics']
    via = ''
    if 'artifact' in info:
        a = info['artifact']
        via = f' through {a["backend"]} {a["precision"]} ({a["model_file"]})'
    print(f'rtmpose eval: {info["model"]} on {info["dataset"]} {info["split"]} with {info["boxes"]}, '
          f'flip test {"on" if info["flip_test"] else "off"}{via}')
    for k, v in m.items():
        print(f'  {k:<20} {v:.4f}')
    return 0
