"""CLEAR-MOT and identity metrics of a tracker's boxes against ground-truth tracks, through py-motmetrics.

A frame is a list of (track_id, bbox_xywh); a video is the list of its frames in order. Ground truth and
hypotheses are matched per frame by box IoU: the distance of a pair is 1 - IoU, and a pair with IoU below
`iou_threshold` cannot be matched (motmetrics.distances.iou_matrix with max_iou = 1 - iou_threshold). The
accumulator keeps a match from the previous frame while its IoU allows, which is what makes an identity
switch countable:

    MOTA = 1 - (misses + false positives + identity switches) / ground-truth boxes
    MOTP = mean distance (1 - IoU) of the matched pairs (lower is better, motmetrics' convention)
    IDF1 = 2 IDTP / (ground-truth boxes + hypothesis boxes), with one global track-to-track assignment

mostly_tracked / mostly_lost count ground-truth tracks matched in at least 80% / less than 20% of their
frames.
With no ground-truth box, MOTA and MOTP are NaN.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from rtmpose.errors import Error

Frame = Sequence[tuple[int, Sequence[float]]]
METRICS = ('mota', 'motp', 'idf1', 'num_switches', 'num_false_positives', 'num_misses', 'num_objects',
           'num_frames', 'mostly_tracked', 'mostly_lost')
_FLOATS = ('mota', 'motp', 'idf1')


def iou_distances(gt_boxes: np.ndarray, pred_boxes: np.ndarray, max_distance: float) -> np.ndarray:
    """(G, P) matrix of 1 - IoU between xywh boxes, NaN (cannot pair) above `max_distance`: the values of
    motmetrics.distances.iou_matrix (its 1.4.0 release calls np.asfarray, which NumPy 2 no longer has, so
    the matrix is built here from its boxiou)."""
    import motmetrics as mm
    gt = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
    pred = np.asarray(pred_boxes, np.float64).reshape(-1, 4)
    if not len(gt) or not len(pred):
        return np.empty((len(gt), len(pred)))
    dist = 1 - mm.distances.boxiou(gt[:, None], pred[None, :])
    return np.where(dist > max_distance, np.nan, dist)


def _split(frame: Frame, what: str, index: int) -> tuple[list[int], np.ndarray]:
    ids, boxes = [], []
    for item in frame:
        try:
            track_id, box = item
            box = [float(v) for v in box]
        except (TypeError, ValueError):
            raise Error(f'{what} frame {index}: expected (track_id, [x, y, w, h]) pairs, '
                        f'got {item!r}') from None
        if len(box) != 4 or not np.isfinite(box).all() or box[2] < 0 or box[3] < 0:
            raise Error(f'{what} frame {index}: track {track_id}: bbox must be 4 finite numbers '
                        f'x, y, w >= 0, h >= 0, got {box!r}')
        ids.append(track_id)
        boxes.append(box)
    if len(set(ids)) != len(ids):
        raise Error(f'{what} frame {index}: a track id appears twice ({sorted(ids)})')
    return ids, np.asarray(boxes, np.float64).reshape(-1, 4)


def clear_mot(gt_frames: Sequence[Frame], pred_frames: Sequence[Frame], iou_threshold: float = 0.5) -> dict:
    """CLEAR-MOT and identity metrics of `pred_frames` against `gt_frames` (one list of (track_id, bbox_xywh)
    per frame, the same number of frames): {'mota', 'motp', 'idf1'} as floats, {'num_switches',
    'num_false_positives', 'num_misses', 'num_objects', 'num_frames', 'mostly_tracked', 'mostly_lost'} as
    ints."""
    import motmetrics as mm
    if len(gt_frames) != len(pred_frames):
        raise Error(f'clear_mot: {len(gt_frames)} ground-truth frames but {len(pred_frames)} '
                    f'predicted frames')
    if not 0 < iou_threshold <= 1:
        raise Error(f'clear_mot: iou_threshold must be in (0, 1], got {iou_threshold!r}')
    acc = mm.MOTAccumulator(auto_id=True)
    for t, (gt, pred) in enumerate(zip(gt_frames, pred_frames)):
        gt_ids, gt_boxes = _split(gt, 'ground-truth', t)
        pred_ids, pred_boxes = _split(pred, 'predicted', t)
        acc.update(gt_ids, pred_ids, iou_distances(gt_boxes, pred_boxes, 1 - iou_threshold))
    return summarise(acc)


def summarise(acc) -> dict:
    """METRICS of a filled motmetrics MOTAccumulator (floats for mota, motp, idf1; ints for the counts)."""
    import motmetrics as mm
    row = mm.metrics.create().compute(acc, metrics=list(METRICS), name='video').iloc[0]
    return {k: (float(row[k]) if k in _FLOATS else int(row[k])) for k in METRICS}


def frames_from_coco(coco: Mapping) -> list[list[tuple[int, list[float]]]]:
    """The per-frame (track_id, bbox_xywh) lists of a COCO video annotation file (images with `frame_index`,
    annotations with `track_id`, as rtmpose.data.synthetic_video writes), ordered by frame_index; a frame
    with no annotation gives an empty list. Within a frame, boxes keep the file's order."""
    try:
        images = sorted(coco['images'], key=lambda im: im['frame_index'])
        index = {im['id']: i for i, im in enumerate(images)}
        frames: list[list[tuple[int, list[float]]]] = [[] for _ in images]
        for ann in coco['annotations']:
            frames[index[ann['image_id']]].append((int(ann['track_id']), [float(v) for v in ann['bbox']]))
    except (KeyError, TypeError) as e:
        raise Error(f'frames_from_coco: not a COCO video annotation file (missing or bad {e})') from None
    return frames
