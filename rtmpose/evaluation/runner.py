"""Evaluate a model on a prepared split: predictions over the top-down boxes, then the data set's metric.

`evaluate` scores a model already in memory (the trainer's validation); `evaluate_checkpoint` builds the
model of a checkpoint and scores it (`rtmpose eval`, the ablation runner); `run_evaluation` does the same
inside an MLflow run and writes the metrics JSON.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict

import numpy as np
import torch
from torch.utils.data import DataLoader

from rtmpose.data.collate import collate
from rtmpose.errors import Error
from rtmpose.io import portable_path
from rtmpose.evaluation.coco import Predictions, keypoint_metrics
from rtmpose.evaluation.config import EvalConfig
from rtmpose.evaluation.pckh import pckh
from rtmpose.evaluation.predict import predict

# which metric each data set uses (mmpose configs: CocoMetric, CocoMetric iou_type keypoints_crowd,
# CocoWholeBodyMetric, MpiiPCKAccuracy)
METRIC_MODE = {'coco': 'coco', 'synthetic': 'coco', 'coco-singleperson': 'coco', 'ap10k': 'coco', 'aic': 'coco',
               'crowdpose': 'crowdpose', 'coco-wholebody': 'wholebody', 'mpii': 'pckh'}
MAIN_METRIC = {'pckh': 'PCKh'}


def metric_mode(dataset: str) -> str:
    if dataset not in METRIC_MODE:
        raise Error(f'no metric known for data set {dataset!r} (known: {", ".join(sorted(METRIC_MODE))})')
    return METRIC_MODE[dataset]


def _mpii_pckh(ann_file: str, pred: Predictions) -> dict[str, float]:
    with open(ann_file) as f:
        anns = {a['id']: a for a in json.load(f)['annotations']}
    gt, mask, head = [], [], []
    for aid in pred.instance_ids.tolist():
        a = anns.get(aid)
        if a is None:
            raise Error(f'{ann_file}: prediction for unknown annotation id {aid}')
        kp = np.asarray(a['keypoints'], np.float64).reshape(-1, 3)
        gt.append(kp[:, :2])
        mask.append(kp[:, 2] > 0)
        if 'head_size' in a:
            head.append(float(a['head_size']))
        elif 'head_box' in a:  # x1, y1, x2, y2; mmpose: 0.6 x the head box diagonal (SC_BIAS)
            x1, y1, x2, y2 = a['head_box']
            head.append(0.6 * float(np.hypot(x2 - x1, y2 - y1)))
        else:
            raise Error(f'{ann_file}: annotation {aid} has no head_size or head_box for PCKh')
    return pckh(pred.keypoints, np.stack(gt), np.stack(mask), np.asarray(head))


def _input_boxes(dataset) -> np.ndarray | None:
    """The unpadded input boxes (x, y, w, h) in loader order. mmpose writes them into the results as
    'bbox', which makes the COCO API take a detection's area from its box. Read from the data set's
    instance list (TopDownDataset.instances), since its items carry only centre and aspect-fixed scale."""
    from torch.utils.data import Subset
    indices = None
    if isinstance(dataset, Subset):
        dataset, indices = dataset.dataset, list(dataset.indices)
    instances = getattr(dataset, 'instances', None)
    if not instances or 'bbox' not in instances[0]:
        return None
    xyxy = np.asarray([inst['bbox'] for inst in instances], np.float64)
    if indices is not None:
        xyxy = xyxy[indices]
    return np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], 1)


def evaluate(model: torch.nn.Module, dataset, ann_file: str, dataset_name: str, flip_indices, sigmas,
             batch_size: int = 64, num_workers: int = 0, device: torch.device | str = 'cpu',
             flip_test: bool = True, nms_thr: float | None = 0.9, keypoint_score_thr: float = 0.2,
             results_file: str | None = None, progress: bool = True) -> dict[str, float]:
    mode = metric_mode(dataset_name)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=collate)
    pred = predict(model, loader, flip_indices, flip_test, device, progress)
    boxes = _input_boxes(dataset)
    if boxes is not None and len(boxes) == len(pred.image_ids):
        pred.bboxes = boxes
    if mode == 'pckh':
        return _mpii_pckh(ann_file, pred)
    if results_file:
        os.makedirs(os.path.dirname(os.path.abspath(results_file)), exist_ok=True)
    return keypoint_metrics(ann_file, pred, sigmas, mode, 'bbox_keypoint', keypoint_score_thr, nms_thr,
                            results_file)


def model_build_overrides(overrides: dict, num_keypoints: int) -> dict:
    """Config overrides for `rtmpose.models.create` as settings files spell them: the data set's keypoint
    count unless given, and YAML lists turned into the tuples the config expects."""
    out = dict(overrides)
    out.setdefault('num_keypoints', num_keypoints)
    for key in ('input_size', 'sigma'):
        if isinstance(out.get(key), list):
            out[key] = tuple(out[key])
    return out


def evaluate_checkpoint(cfg: EvalConfig, progress: bool = True, model_wrapper=None) -> dict:
    """Build the model, load the checkpoint, predict and score. Returns metrics plus a description.

    `model_wrapper` (model -> module with the same `config`, `codec()` and outputs), when given, replaces
    the PyTorch model for prediction: an exported artifact run by a deploy runner (rtmpose.deploy.artifact)."""
    from rtmpose.checkpoint import check_state_dict, read_checkpoint, state_dict_of
    from rtmpose.data.dataset import TopDownDataset
    from rtmpose.data.meta import get_meta
    from rtmpose.data.prepared import prepared_split
    from rtmpose.evaluation.device import pick_device
    from rtmpose.models import create, entry

    if not cfg.checkpoint:
        raise Error('no checkpoint given: use --checkpoint or set `checkpoint` in the parameters section')
    raw = read_checkpoint(cfg.checkpoint)   # read once: the weights and the settings this suite's checkpoints carry
    own = raw.get('config', {}) if isinstance(raw, dict) and isinstance(raw.get('config'), dict) else {}
    model_name = cfg.model or own.get('model') or 'rtmpose-m'
    dataset = cfg.dataset or own.get('dataset') or 'coco'
    meta = get_meta(dataset)
    overrides = {**own.get('model_overrides', {}), **cfg.model_overrides} if cfg.model is None or \
        cfg.model == own.get('model') else dict(cfg.model_overrides)
    entry(model_name, 'rtmpose')            # predictions decode SimCC: RTMPose models only
    data_dir = cfg.data_dir or own.get('data_dir')
    if not data_dir:
        raise Error('no data set folder given: use --data-dir or set `data_dir` in the parameters section '
                    '(params.yaml eval.data_dir)')
    model = create(model_name, **model_build_overrides(overrides, meta.num_keypoints))
    sd = state_dict_of(raw, cfg.checkpoint)
    check_state_dict(model, sd, cfg.checkpoint)
    model.load_state_dict(sd, strict=True)
    device = pick_device(cfg.device)
    model.to(device).eval()
    artifact = None
    if model_wrapper is not None:
        model, device = model_wrapper(model.cpu()), torch.device('cpu')
        artifact = getattr(model, 'description', {}) | {'model_file': portable_path(cfg.model_file or '')}
    ann, root = prepared_split(data_dir, cfg.split)
    ds = TopDownDataset(ann, root, model.codec(), meta, train=False, bbox_file=cfg.bbox_file,
                        bbox_score_thr=cfg.bbox_score_thr)
    boxes = (f'detections from {cfg.bbox_file} ({len(ds)} boxes with score >= {cfg.bbox_score_thr})'
             if cfg.bbox_file else f'ground-truth boxes ({len(ds)} instances)')
    metrics = evaluate(model, ds, ann, dataset, meta.flip_indices, meta.sigmas, cfg.batch_size, cfg.num_workers,
                       device, cfg.flip_test, cfg.nms_thr, cfg.keypoint_score_thr, cfg.results_file, progress)
    info = {'model': model_name, 'checkpoint': portable_path(cfg.checkpoint), 'dataset': dataset,
            'data_dir': data_dir, 'split': cfg.split, 'boxes': boxes, 'flip_test': cfg.flip_test,
            'metric': metric_mode(dataset), 'nms_thr': cfg.nms_thr, 'keypoint_score_thr': cfg.keypoint_score_thr,
            'device': str(device)}
    if artifact is not None:
        info['artifact'] = artifact
    return {'metrics': metrics, 'info': info}


def run_evaluation(cfg: EvalConfig, progress: bool = True, mlflow: bool = True, model_wrapper=None) -> dict:
    """`evaluate_checkpoint` recorded as an MLflow run (experiment `eval`); writes `cfg.out` as
    {metrics..., info} when set. Returns what `evaluate_checkpoint` returns."""
    from rtmpose.io import check_writable, write_json_atomic
    from rtmpose.mlflow_log import start_run
    if cfg.out:   # fail before evaluating, not after
        check_writable(cfg.out, 'metrics file')
    if cfg.results_file:
        check_writable(cfg.results_file, 'results file')
    from rtmpose.io import folder_locks
    outs = [os.path.dirname(os.path.abspath(p)) for p in (cfg.out, cfg.results_file) if p]
    with folder_locks(outs, 'evaluation output folder'):
        return _run_evaluation(cfg, progress, mlflow, model_wrapper)


def _run_evaluation(cfg: EvalConfig, progress: bool, mlflow: bool, model_wrapper) -> dict:
    from rtmpose.io import write_json_atomic
    from rtmpose.mlflow_log import start_run
    name = cfg.name or f'{cfg.model or "checkpoint"}-{cfg.dataset or "auto"}'
    with start_run('eval', name, params=asdict(cfg), enabled=mlflow) as mlrun:
        result = evaluate_checkpoint(cfg, progress=progress, model_wrapper=model_wrapper)
        mlrun.log_metrics({k.replace('@', '_at_').replace(' ', '_'): v for k, v in result['metrics'].items()})
        mlrun.set_tags({k: v if not isinstance(v, dict) else json.dumps(v) for k, v in result['info'].items()})
        if cfg.out:
            write_json_atomic(cfg.out, {**result['metrics'], 'info': result['info']})
            mlrun.log_artifact(cfg.out)
    return result
