"""Evaluate a model on a prepared split: predictions over the top-down boxes, then the data set's metric."""
from __future__ import annotations

import json
import os

import numpy as np
import torch
from torch.utils.data import DataLoader

from rtmpose.errors import Error
from rtmpose.evaluation.coco import Predictions, keypoint_metrics
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
    from rtmpose.train.data import collate
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
