"""`rtmpose eval`: evaluate a checkpoint (official mmpose or this suite's) on a prepared data set.

Settings come from a params.yaml section (`--section eval`) and/or flags; flags win. Boxes are the
ground-truth ones unless --bbox-file gives a COCO detection-results file; the output says which.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field


@dataclass
class EvalConfig:
    checkpoint: str | None = None
    model: str | None = None                  # default: from the checkpoint's own config, else rtmpose-m
    model_overrides: dict = field(default_factory=dict)
    dataset: str | None = None                # DATASET_META key; default: from the checkpoint, else coco
    data_dir: str | None = None               # prepared layout; default datasets/<dataset>
    split: str = 'val'
    bbox_file: str | None = None              # COCO detection results (paper: person detector AP 56.4)
    bbox_score_thr: float = 0.0               # mmpose det_bbox_thr default
    flip_test: bool = True
    nms_thr: float | None = 0.9
    keypoint_score_thr: float = 0.2
    batch_size: int = 64
    num_workers: int = 2
    device: str = 'auto'
    out: str | None = None                    # metrics JSON
    results_file: str | None = None           # COCO keypoint results JSON
    name: str | None = None


_FLAGS = ('checkpoint', 'model', 'dataset', 'data_dir', 'split', 'bbox_file', 'batch_size', 'num_workers', 'device',
          'out', 'results_file', 'name', 'nms_thr', 'keypoint_score_thr')


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('--params', help='parameters file to read a section from (e.g. params.yaml)')
    p.add_argument('--section', default='eval', help='section of --params (default: eval)')
    p.add_argument('--checkpoint', help='checkpoint file (mmpose release, bare state dict or final.pth)')
    p.add_argument('--model', help='model name (rtmpose-t/s/m/l, ...); default from the checkpoint')
    p.add_argument('--dataset', help='data set name (coco, crowdpose, coco-wholebody, ap10k, mpii, synthetic)')
    p.add_argument('--data-dir', help='prepared data set folder (default datasets/<dataset>)')
    p.add_argument('--split', help='split to evaluate (default val)')
    p.add_argument('--bbox-file', help='COCO detection results for the person boxes (default: ground truth)')
    p.add_argument('--no-flip', action='store_true', help='no flip test')
    p.add_argument('--nms-thr', type=float, help='OKS-NMS threshold (default 0.9)')
    p.add_argument('--keypoint-score-thr', type=float, help='rescoring threshold (default 0.2)')
    p.add_argument('--batch-size', type=int)
    p.add_argument('--num-workers', type=int)
    p.add_argument('--device', choices=('auto', 'cpu', 'cuda'))
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override a setting')
    p.add_argument('--out', help='write the metrics JSON here')
    p.add_argument('--results-file', help='write the COCO keypoint results JSON here')
    p.add_argument('--name', help='MLflow run name')
    p.add_argument('--no-progress', action='store_true')
    p.add_argument('--no-mlflow', action='store_true')


def resolve(args: argparse.Namespace) -> EvalConfig:
    from rtmpose.settings import build as fill, read_params as load_params, params_section as section
    from rtmpose.train.config import apply_overrides
    values: dict = {}
    if args.params:
        values = dict(section(load_params(args.params), args.section, args.params))
    for key in _FLAGS:
        v = getattr(args, key, None)
        if v is not None:
            values[key] = v
    if args.no_flip:
        values['flip_test'] = False
    values = apply_overrides(values, args.set)
    return fill(EvalConfig, values, f'{args.params}: {args.section}' if args.params else 'rtmpose eval')


def evaluate_checkpoint(cfg: EvalConfig, progress: bool = True) -> dict:
    """Build the model, load the checkpoint, predict and score. Returns metrics plus a description."""
    import os

    from rtmpose import build_model
    from rtmpose.checkpoint import check_state_dict, read_checkpoint, state_dict_of
    from rtmpose.data.dataset import TopDownDataset
    from rtmpose.data.meta import get_meta
    from rtmpose.data.prepared import prepared_split
    from rtmpose.errors import Error
    from rtmpose.evaluation.runner import evaluate, metric_mode
    from rtmpose.train.distributed import pick_device

    if not cfg.checkpoint:
        raise Error('rtmpose eval: --checkpoint is required')
    raw = read_checkpoint(cfg.checkpoint)
    own = raw.get('config', {}) if isinstance(raw, dict) and isinstance(raw.get('config'), dict) else {}
    model_name = cfg.model or own.get('model') or 'rtmpose-m'
    dataset = cfg.dataset or own.get('dataset') or 'coco'
    meta = get_meta(dataset)
    overrides = {**own.get('model_overrides', {}), **cfg.model_overrides} if cfg.model is None or \
        cfg.model == own.get('model') else dict(cfg.model_overrides)
    overrides.setdefault('num_keypoints', meta.num_keypoints)
    for key in ('input_size', 'sigma'):
        if isinstance(overrides.get(key), list):
            overrides[key] = tuple(overrides[key])
    model = build_model(model_name, **overrides)
    sd = state_dict_of(raw, cfg.checkpoint)
    check_state_dict(model, sd, cfg.checkpoint)
    model.load_state_dict(sd)
    device = pick_device(cfg.device)
    model.to(device).eval()
    data_dir = cfg.data_dir or own.get('data_dir') or os.path.join('datasets', dataset)
    ann, root = prepared_split(data_dir, cfg.split)
    ds = TopDownDataset(ann, root, model.codec(), meta, train=False, bbox_file=cfg.bbox_file,
                        bbox_score_thr=cfg.bbox_score_thr)
    boxes = (f'detections from {cfg.bbox_file} ({len(ds)} boxes with score >= {cfg.bbox_score_thr})'
             if cfg.bbox_file else f'ground-truth boxes ({len(ds)} instances)')
    metrics = evaluate(model, ds, ann, dataset, meta.flip_indices, meta.sigmas, cfg.batch_size, cfg.num_workers,
                       device, cfg.flip_test, cfg.nms_thr, cfg.keypoint_score_thr, cfg.results_file, progress)
    info = {'model': model_name, 'checkpoint': os.path.abspath(cfg.checkpoint), 'dataset': dataset,
            'data_dir': data_dir, 'split': cfg.split, 'boxes': boxes, 'flip_test': cfg.flip_test,
            'metric': metric_mode(dataset), 'nms_thr': cfg.nms_thr, 'keypoint_score_thr': cfg.keypoint_score_thr,
            'device': str(device)}
    return {'metrics': metrics, 'info': info}


def run(args: argparse.Namespace) -> int:
    from rtmpose.io import write_json_atomic
    from rtmpose.mlflow_log import start_run
    cfg = resolve(args)
    name = cfg.name or f'{cfg.model or "checkpoint"}-{cfg.dataset or "auto"}'
    with start_run('eval', name, params=asdict(cfg), enabled=not args.no_mlflow) as mlrun:
        result = evaluate_checkpoint(cfg, progress=not args.no_progress)
        mlrun.log_metrics({k.replace('@', '_at_').replace(' ', '_'): v for k, v in result['metrics'].items()})
        mlrun.set_tags({k: v for k, v in result['info'].items()})
        if cfg.out:
            write_json_atomic(cfg.out, {**result['metrics'], 'info': result['info']})
            mlrun.log_artifact(cfg.out)
    info, m = result['info'], result['metrics']
    print(f'rtmpose eval: {info["model"]} on {info["dataset"]} {info["split"]} with {info["boxes"]}, '
          f'flip test {"on" if info["flip_test"] else "off"}')
    for k, v in m.items():
        print(f'  {k:<20} {v:.4f}')
    return 0
