"""How well the pipeline did on a video with ground truth (`rtmpose demo VIDEO --ground-truth ANNOTATIONS.json`).

The input is the demo's own record of the video (one entry per frame: the tracked people with their box,
keypoints and keypoint scores, and the milliseconds the frame took) and the COCO annotations of the video
(`rtmpose prepare synthetic-video`: images with `frame_index`, annotations with `track_id`). Frames are
matched by position: the demo's i-th frame is the i-th image in frame_index order.

- Pose AP over all frames: COCO keypoint AP (pycocotools, the data set's OKS sigmas) of the people the
  pipeline reports, with the pipeline's own boxes; a person's score is the mean of its keypoint scores
  above 0.2 (mmpose's rescoring with a box score of 1: the tracker keeps no detector score).
- Box AP: COCO bbox AP of the same people's boxes: the pipeline's pose-derived boxes, not the detector's.
  The tracker's box is the extent of the confident keypoints grown by `expansion` about its centre (what the
  next frame is cropped with; the detector's own box when fewer than two keypoints are confident); it is
  shrunk back by `expansion` to the keypoints' extent. The ground-truth box is the figure's drawn pixels
  (head, limb widths), so this AP is low at the strict IoU thresholds by construction: compare it across K,
  not with a detector's box AP.
- CLEAR-MOT of the poses with the tracker's identities (`mot`): MOTA, IDF1, identity switches, misses and
  false positives, a person matched to a ground-truth person when their OKS (COCO's object keypoint
  similarity, the data set's sigmas and the ground truth's area) is at least 0.5, the threshold of AP50. The
  pipeline's output is a pose per person; its box is the crop window of the next frame, so matching by pose
  scores the tracker on what it reports. Ground-truth people with no labelled keypoint (only a limb's pixels
  inside the frame) cannot be matched by pose and are left out, as COCO's keypoint AP leaves them out;
  reported people with no keypoint scoring above 0.2 are left out with them.
- CLEAR-MOT of the pose-derived boxes at IoU 0.5 (`mot_box`, rtmpose.evaluation.mot, the MOTChallenge
  convention), which suffers from the box definitions' mismatch described above.
- Milliseconds per frame: the whole tracker call (detector when it runs, crops, one batched pose call,
  decoding, NMS, tracking, smoothing), timed per frame after a warm-up; mean with a 95% bootstrap interval
  over frames, median, p90.

Intervals: 95% percentile moving-block bootstrap over frames (seeded): consecutive frames are alike, so
resamples are made of circular blocks of `block` consecutive frames (1 s of video by default) instead of
single frames, which would understate the spread. With several detection intervals K, AP differences are
paired against the first K on the same resamples (AP per resample from rtmpose.evaluation.per_image).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from rtmpose.errors import Error

MOT_IOU = 0.5          # CLEAR-MOT match threshold of boxes (the MOTChallenge convention)
MOT_OKS = 0.5          # CLEAR-MOT match threshold of poses (COCO's AP50 threshold)
RESCORE_THR = 0.2      # mmpose CocoMetric keypoint_score_thr


def _frame_images(coco: Mapping, n_frames: int, where: str) -> list[int]:
    try:
        images = sorted(coco['images'], key=lambda im: im['frame_index'])
    except (KeyError, TypeError):
        raise Error(f'{where}: not a video annotation file (images need a frame_index)') from None
    if len(images) < n_frames:
        raise Error(f'{where}: {len(images)} annotated frames, but the video gave {n_frames}')
    return [im['id'] for im in images[:n_frames]]


def frames_subset(coco: Mapping, image_ids: Sequence[int]) -> dict:
    """The ground truth restricted to `image_ids` (the frames the demo processed)."""
    keep = set(image_ids)
    return {**coco, 'images': [im for im in coco['images'] if im['id'] in keep],
            'annotations': [a for a in coco['annotations'] if a['image_id'] in keep]}


def tight_box(box: Sequence[float], expansion: float) -> list[float]:
    """xywh of a tracker box (x1y1x2y2, grown by `expansion` about its centre) shrunk back by `expansion`."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / expansion, (y2 - y1) / expansion
    return [cx - w / 2, cy - h / 2, w, h]


def person_score(keypoint_scores: Sequence[float]) -> float:
    s = np.asarray(keypoint_scores, np.float64)
    good = s[s > RESCORE_THR]
    return float(good.mean()) if len(good) else 0.0


def oks_matrix(gt_xy: np.ndarray, gt_v: np.ndarray, gt_area: np.ndarray, pred_xy: np.ndarray,
               sigmas: Sequence[float]) -> np.ndarray:
    """(G, P) object keypoint similarity of predicted poses (P, K, 2) with ground-truth poses (G, K, 2), their
    labels (G, K) (> 0: labelled) and areas (G,): pycocotools' COCOeval.computeOks for ground truth with at
    least one labelled keypoint, exp(-d^2 / (2 area (2 sigma)^2)) averaged over the labelled keypoints."""
    var = (2 * np.asarray(sigmas, np.float64)) ** 2
    d2 = ((np.asarray(pred_xy, np.float64)[None] - np.asarray(gt_xy, np.float64)[:, None]) ** 2).sum(-1)
    e = d2 / var / (np.asarray(gt_area, np.float64)[:, None, None] + np.spacing(1)) / 2      # (G, P, K)
    labelled = (np.asarray(gt_v) > 0)[:, None, :]
    return (np.exp(-e) * labelled).sum(-1) / np.maximum(labelled.sum(-1), 1)


def pose_frames_from_coco(coco: Mapping, image_ids: Sequence[int]) -> list[list[tuple[int, np.ndarray, float]]]:
    """Per frame of `image_ids` (in order): (track_id, keypoints (K, 3), area) of the ground-truth people with
    at least one labelled keypoint."""
    frames: dict[int, list] = {i: [] for i in image_ids}
    for a in coco['annotations']:
        if a['image_id'] in frames and a.get('num_keypoints', 1) > 0:
            kp = np.asarray(a['keypoints'], np.float64).reshape(-1, 3)
            if (kp[:, 2] > 0).any():
                frames[a['image_id']].append((int(a['track_id']), kp, float(a['area'])))
    return [frames[i] for i in image_ids]


def pose_clear_mot(gt_frames: Sequence, pred_frames: Sequence, sigmas: Sequence[float],
                   oks_threshold: float = MOT_OKS) -> dict:
    """CLEAR-MOT and identity metrics (the keys of rtmpose.evaluation.mot.METRICS) of tracked poses: per frame,
    ground truth (track_id, keypoints (K, 3), area) and predictions (track_id, keypoints (K, 2)), matched at
    OKS >= `oks_threshold`; the distance of a pair is 1 - OKS (MOTP is its mean over matches)."""
    import motmetrics as mm

    from rtmpose.evaluation.mot import summarise
    acc = mm.MOTAccumulator(auto_id=True)
    for gt, pred in zip(gt_frames, pred_frames, strict=True):
        dist = np.empty((len(gt), len(pred)))
        if len(gt) and len(pred):
            oks = oks_matrix(np.stack([g[1][:, :2] for g in gt]), np.stack([g[1][:, 2] for g in gt]),
                             np.asarray([g[2] for g in gt]), np.stack([p[1] for p in pred]), sigmas)
            dist = np.where(oks >= oks_threshold, 1 - oks, np.nan)
        acc.update([g[0] for g in gt], [p[0] for p in pred], dist)
    return summarise(acc)


def results_of(doc: Mapping, image_ids: Sequence[int], expansion: float) -> tuple[list, list, list, list]:
    """(COCO keypoint results, COCO bbox results, CLEAR-MOT box frames, CLEAR-MOT pose frames) of the demo
    record `doc`."""
    kpts, boxes, mot, poses = [], [], [], []
    for frame, image_id in zip(doc['frames'], image_ids):
        tracked, posed = [], []
        for p in frame['people']:
            score = person_score(p['keypoint_scores'])
            xy = np.asarray(p['keypoints'], np.float64).reshape(-1, 2)
            sc = np.asarray(p['keypoint_scores'], np.float64).reshape(-1, 1)
            box = tight_box(p['box'], expansion)
            kpts.append({'image_id': image_id, 'category_id': 1, 'score': score,
                         'keypoints': np.concatenate([xy, sc], 1).ravel().tolist()})
            boxes.append({'image_id': image_id, 'category_id': 1, 'score': score, 'bbox': box})
            tracked.append((int(p['id']), box))
            if (sc > RESCORE_THR).any():
                posed.append((int(p['id']), xy))
        mot.append(tracked)
        poses.append(posed)
    return kpts, boxes, mot, poses


def block_draws(n: int, block: int, count: int, seed: int) -> np.ndarray:
    """(count, n) frame positions: each resample is ceil(n / block) circular blocks of `block` consecutive
    frames from random starts, cut to n."""
    block = max(1, min(int(block), n))
    starts = np.random.default_rng(seed).integers(0, n, (count, -(-n // block)))
    return ((starts[:, :, None] + np.arange(block)) % n).reshape(count, -1)[:, :n]


def _ci(values: np.ndarray) -> list[float]:
    lo, hi = np.percentile(values, [2.5, 97.5])
    return [float(lo), float(hi)]


def frame_times(doc: Mapping, draws: np.ndarray) -> dict:
    ms = np.asarray([f['ms'] for f in doc['frames'] if 'ms' in f], np.float64)
    if len(ms) != len(doc['frames']):
        return {}
    return {'mean': float(ms.mean()), 'ci95': _ci(ms[draws].mean(axis=1)), 'median': float(np.median(ms)),
            'p90': float(np.percentile(ms, 90)), 'frames': int(len(ms))}


def score_runs(docs: Sequence[Mapping], coco: Mapping, sigmas, expansion: float, bootstrap: int = 1000,
               seed: int = 0, where: str = 'ground truth', block: int | None = None) -> list[dict]:
    """One entry per demo record in `docs` (same video, e.g. one per detection interval): pose AP, box AP,
    CLEAR-MOT and ms/frame with 95% intervals; AP deltas paired against docs[0]. `block`: frames per bootstrap
    block (default: the video's fps from the annotations, else 15)."""
    from rtmpose.evaluation.mot import clear_mot, frames_from_coco
    from rtmpose.evaluation.per_image import image_eval
    if not docs:
        return []
    n = len(docs[0]['frames'])
    if any(len(d['frames']) != n for d in docs):
        raise Error(f'{where}: the runs processed different numbers of frames')
    ids = _frame_images(coco, n, where)
    gt = frames_subset(coco, ids)
    gt_tracks = frames_from_coco(gt)
    gt_poses = pose_frames_from_coco(gt, ids)
    evals = []
    for d in docs:
        kpts, boxes, mot, poses = results_of(d, ids, expansion)
        evals.append((image_eval(gt, kpts, sigmas), image_eval(gt, boxes, iou_type='bbox'), mot, poses))
    if block is None:
        fps = next((v.get('fps') for v in coco.get('videos', []) if v.get('fps')), None)
        block = round(fps) if fps else 15
    for pose_ev, box_ev, *_ in evals:   # COCOeval orders images by id; the blocks need frame order
        if pose_ev.img_ids != sorted(ids) or box_ev.img_ids != sorted(ids):
            raise Error(f'{where}: the evaluation covers other images than the frames')
    order = np.argsort(np.argsort(ids))          # frame position -> position in COCOeval's sorted ids
    draws = block_draws(n, block, bootstrap, seed)
    eval_draws = order[draws]
    ref_pose = np.asarray([evals[0][0].ap_of(x) for x in eval_draws])
    ref_box = np.asarray([evals[0][1].ap_of(x) for x in eval_draws])
    out = []
    for i, (d, (pose_ev, box_ev, mot, poses)) in enumerate(zip(docs, evals)):
        pose_aps = ref_pose if i == 0 else np.asarray([pose_ev.ap_of(x) for x in eval_draws])
        box_aps = ref_box if i == 0 else np.asarray([box_ev.ap_of(x) for x in eval_draws])
        delta, (lo, hi) = pose_ev.ap - evals[0][0].ap, _ci(pose_aps - ref_pose)
        box_delta, (box_lo, box_hi) = box_ev.ap - evals[0][1].ap, _ci(box_aps - ref_box)
        people = [len(f['people']) for f in d['frames']]
        out.append({
            'det_interval': int(d['settings']['det_interval']), 'frames': n,
            'detector_runs': int(sum(bool(f.get('detected')) for f in d['frames'])),
            'people_per_frame': float(np.mean(people)) if people else 0.0,
            'gt_people_per_frame': float(np.mean([len(f) for f in gt_tracks])),
            'pose_AP': pose_ev.ap, 'pose_AP_ci95': _ci(pose_aps),
            'pose_AP50': pose_ev.stats[1] if pose_ev.stats else 0.0,
            'delta_pose_AP': {'vs_det_interval': int(docs[0]['settings']['det_interval']), 'value': delta,
                              'ci95': [lo, hi]},
            'box_AP': box_ev.ap, 'box_AP_ci95': _ci(box_aps),
            'delta_box_AP': {'value': box_delta, 'ci95': [box_lo, box_hi]},
            'mot': pose_clear_mot(gt_poses, poses, sigmas, MOT_OKS),
            'mot_box': clear_mot(gt_tracks, mot, MOT_IOU),
            'ms_per_frame': frame_times(d, draws),
            'bootstrap': {'resamples': int(bootstrap), 'block_frames': int(min(block, n)), 'seed': seed},
        })
    return out
