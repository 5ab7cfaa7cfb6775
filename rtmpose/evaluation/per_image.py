"""COCO AP per image and its paired bootstrap over images.

COCOeval's per-image matching (evaluate()) is run once per configuration; AP over any resample of the images
is then recomputed from those matchings as COCOeval.accumulate + summarize would (ImageEval.ap_of), so a
bootstrap of 1000 resamples costs a fraction of a second instead of 1000 COCOeval runs. Keypoints (OKS) and
boxes (IoU) alike.
"""
from __future__ import annotations

import contextlib
import copy
import io
from dataclasses import dataclass

import numpy as np

from rtmpose.errors import Error


@dataclass
class ImageEval:
    """COCOeval's per-image matching (area all, the last maxDets), the input of AP over any multiset of images."""
    img_ids: list[int]
    scores: list[np.ndarray]        # per image (D,)
    matched: list[np.ndarray]       # per image (T, D) bool
    ignored: list[np.ndarray]       # per image (T, D) bool
    num_gt: np.ndarray              # per image: non-ignored ground truths
    rec_thrs: np.ndarray
    ap: float                       # COCOeval's own AP (stats[0]) on all images
    stats: tuple = ()               # COCOeval's summary (AP, AP50, AP75, APm, APl, AR, ...) on all images

    def ap_of(self, idx: np.ndarray) -> float:
        """COCO AP over the images idx (positions, repeats allowed), as COCOeval.accumulate + summarize."""
        npig = int(self.num_gt[idx].sum())
        if npig == 0:
            return 0.0
        scores = np.concatenate([self.scores[i] for i in idx])
        if len(scores) == 0:
            return 0.0
        order = np.argsort(-scores, kind='mergesort')
        dtm = np.concatenate([self.matched[i] for i in idx], axis=1)[:, order]
        dtig = np.concatenate([self.ignored[i] for i in idx], axis=1)[:, order]
        tps = np.cumsum(dtm & ~dtig, axis=1, dtype=np.float64)
        fps = np.cumsum(~dtm & ~dtig, axis=1, dtype=np.float64)
        aps = []
        for tp, fp in zip(tps, fps):
            rc = tp / npig
            pr = tp / (fp + tp + np.spacing(1))
            pr = np.maximum.accumulate(pr[::-1])[::-1]
            inds = np.searchsorted(rc, self.rec_thrs, side='left')
            q = np.zeros(len(self.rec_thrs))
            ok = inds < len(pr)
            q[ok] = pr[inds[ok]]
            aps.append(q.mean())
        return float(np.mean(aps))


def image_eval(gt: dict, results: list[dict], sigmas=None, iou_type: str = 'keypoints') -> ImageEval:
    """Run COCOeval once (keypoints with these OKS sigmas, or iou_type 'bbox') and keep its per-image
    matching."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        dt = coco.loadRes(copy.deepcopy(results)) if results else None
        img_ids = sorted(coco.getImgIds())
        if dt is None:
            t = 10
            return ImageEval(img_ids, [np.zeros(0)] * len(img_ids), [np.zeros((t, 0), bool)] * len(img_ids),
                             [np.zeros((t, 0), bool)] * len(img_ids), np.zeros(len(img_ids), int),
                             np.linspace(0, 1, 101), 0.0)
        ev = COCOeval(coco, dt, iou_type)
        if iou_type == 'keypoints':
            ev.params.kpt_oks_sigmas = np.asarray(sigmas, np.float64)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    p = ev.params
    n_img, t = len(p.imgIds), len(p.iouThrs)
    max_det = p.maxDets[-1]
    scores, matched, ignored, num_gt = [], [], [], []
    for i in range(n_img):            # evalImgs order: category, area range, image; area 'all' comes first
        # (maxDets: the last of params.maxDets, 20 for keypoints, 100 for bbox)
        e = ev.evalImgs[i]
        if e is None:
            scores.append(np.zeros(0))
            matched.append(np.zeros((t, 0), bool))
            ignored.append(np.zeros((t, 0), bool))
            num_gt.append(0)
            continue
        scores.append(np.asarray(e['dtScores'][:max_det], np.float64))
        matched.append(np.asarray(e['dtMatches'][:, :max_det]) > 0)
        ignored.append(np.asarray(e['dtIgnore'][:, :max_det]).astype(bool))
        num_gt.append(int(np.count_nonzero(np.asarray(e['gtIgnore']) == 0)))
    return ImageEval(list(p.imgIds), scores, matched, ignored, np.asarray(num_gt), np.asarray(p.recThrs),
                     float(ev.stats[0]), tuple(float(x) for x in ev.stats))


class PairedBootstrap:
    """Paired bootstrap over the images of `ref`: the draws (seeded) and the reference AP of each are computed
    once and shared by every configuration compared with it."""

    def __init__(self, ref: ImageEval, n: int, seed: int):
        self.ref = ref
        m = len(ref.img_ids)
        self.draws = np.random.default_rng(seed).integers(0, m, (n, m))
        self.ref_aps = np.asarray([ref.ap_of(idx) for idx in self.draws])

    def delta(self, alt: ImageEval) -> tuple[float, float, float]:
        """(AP(alt) - AP(ref), 2.5 %, 97.5 % of the paired resampled differences)."""
        if self.ref.img_ids != alt.img_ids:
            raise Error('paired bootstrap: the two evaluations cover different images')
        deltas = np.asarray([alt.ap_of(idx) for idx in self.draws]) - self.ref_aps
        lo, hi = np.percentile(deltas, [2.5, 97.5])
        return alt.ap - self.ref.ap, float(lo), float(hi)


def paired_delta(ref: ImageEval, alt: ImageEval, n: int, seed: int) -> tuple[float, float, float]:
    """(AP(alt) - AP(ref), 2.5 %, 97.5 % of the paired bootstrap over images)."""
    return PairedBootstrap(ref, n, seed).delta(alt)
