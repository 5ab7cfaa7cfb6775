"""Training RTMDet (the person detector) on a prepared COCO-format set, and its box AP.

The recipe is mmdet 3.3.0's RTMDet (configs/rtmdet/rtmdet_tiny_8xb32-300e_coco.py and mmpose's
rtmdet_nano_320-8xb32_coco-person.py): AdamW lr 4e-3, weight decay 0.05 (none on norms and biases), linear
warm-up over 1000 iterations, flat, then cosine to 0.05 x lr over the second half; ExpMomentumEMA (momentum
2e-4, gamma 2000); the objective of rtmpose.train.rtmdet_loss (bit-identical to mmdet's). The optimiser
groups, schedule and EMA are the pose trainer's (rtmpose.train.optim), which follow the same mmengine code.

Simplified augmentation (named in reports/fidelity.md): the pipeline of RTMDet's second stage throughout,
RandomResize (keep ratio, `scale_range` x the input size) + RandomCrop to the input + YOLOXHSVRandomAug +
RandomFlip 0.5 + Pad 114; no CachedMosaic / CachedMixUp. A crop that keeps no box still trains (all
background) instead of being redrawn. Randomness of a sample comes from Generator([seed, epoch, index]).

Box AP: the EMA model on the val split, mmdet's test-time decoding (rtmpose.models.rtmdet_decode.decode, the
person config's test_cfg: score > 0.05, nms 0.6, 100 per image), COCO bbox metric (pycocotools), with a 95%
bootstrap interval over images.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from rtmpose.errors import Error
from rtmpose.settings import check_ranges


# Settings a run may change when it resumes: the length of the schedule and how fast it computes, not what.
RESUMABLE_CHANGES = ('epochs', 'val_interval', 'threads', 'channels_last')


@dataclass
class DetectorTrainConfig:
    name: str = 'rtmdet-nano'
    runs_dir: str = 'experiments/runs'
    model: str = 'rtmdet-nano'
    input_size: int = 320
    data_dir: str = 'datasets/synthetic'         # a prepared set (rtmpose prepare): train and val splits
    val_dir: str | None = None                   # box AP on this prepared set's val split (default data_dir)
    epochs: int = 300
    batch_size: int = 32
    base_lr: float = 4e-3
    weight_decay: float = 0.05
    warmup_iters: int = 1000
    warmup_start_factor: float = 1e-5
    cosine_min_factor: float = 0.05
    ema: bool = True
    ema_momentum: float = 0.0002
    ema_gamma: int = 2000
    scale_range: list = dataclasses.field(default_factory=lambda: [0.5, 1.5])   # RandomResize ratio_range
    flip_prob: float = 0.5
    hsv: bool = True
    seed: int = 0
    threads: int = 0                             # torch threads (0: torch's default)
    channels_last: bool = False                  # NHWC activations: the same computation in another memory
                                                 # order (rounding differs), about 25% faster on CPU
    num_workers: int = 0
    val_interval: int = 10                       # epochs between box-AP evaluations (and at the end)
    train_limit: int = 0                         # use only the first N training images (0: all)
    val_limit: int = 0
    bootstrap: int = 1000                        # resamples of the val images for the AP interval

    def validate(self, where: str) -> None:
        from rtmpose.models.rtmdet import DETECTOR_NAMES
        if self.model not in DETECTOR_NAMES:
            raise Error(f'{where}: model must be one of {", ".join(DETECTOR_NAMES)}, got {self.model!r}')
        check_ranges(self, where, probabilities=('flip_prob',),
                     at_least={'input_size': 32, 'epochs': 1, 'batch_size': 1, 'warmup_iters': 0, 'threads': 0,
                               'num_workers': 0, 'val_interval': 1, 'train_limit': 0, 'val_limit': 0,
                               'bootstrap': 0}, positive=('base_lr', 'ema_momentum', 'ema_gamma'))
        if self.input_size % 32:
            raise Error(f'{where}: input_size must be a multiple of 32 (the coarsest stride), got {self.input_size}')
        lo, hi = (list(self.scale_range) + [None, None])[:2]
        if len(self.scale_range) != 2 or not (0 < lo <= hi):
            raise Error(f'{where}: scale_range must be [low, high] with 0 < low <= high, got {self.scale_range}')

    @property
    def out_dir(self) -> str:
        return os.path.join(self.runs_dir, self.name)


def _read_boxes(ann_file: str, image_root: str, limit: int = 0) -> list[dict]:
    """[{id, file, width, height, boxes (G, 4) xyxy}] of a COCO file; crowd and <1 px boxes are left out
    (mmdet FilterAnnotations min_gt_bbox_wh=(1, 1))."""
    with open(ann_file) as f:
        coco = json.load(f)
    per_image: dict[int, list] = {im['id']: [] for im in coco['images']}
    for a in coco['annotations']:
        x, y, w, h = a['bbox']
        if not a.get('iscrowd', 0) and w >= 1 and h >= 1 and a['image_id'] in per_image:
            per_image[a['image_id']].append([x, y, x + w, y + h])
    images = sorted(coco['images'], key=lambda im: im['id'])
    if limit:
        images = images[:limit]
    return [{'id': im['id'], 'file': os.path.join(image_root, im['file_name']), 'width': im['width'],
             'height': im['height'], 'boxes': np.asarray(per_image[im['id']], np.float32).reshape(-1, 4)}
            for im in images]


def _normalise(img: np.ndarray) -> torch.Tensor:
    from rtmpose.models.rtmdet import DET_MEAN, DET_STD
    x = (img.astype(np.float32) - np.array(DET_MEAN, np.float32)) / np.array(DET_STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


class DetectionSet(Dataset):
    """Images with their person boxes, as the model sees them: (3, S, S) normalised BGR and (G, 4) xyxy boxes
    in input pixels."""

    def __init__(self, items: list[dict], cfg: DetectorTrainConfig, train: bool):
        self.items, self.cfg, self.train, self.epoch = items, cfg, train, 0

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        import cv2
        from rtmpose.models.rtmdet_decode import resize_pad
        item = self.items[index]
        img = cv2.imread(item['file'], cv2.IMREAD_COLOR)
        if img is None:
            raise Error(f'{item["file"]}: cannot read the image')
        boxes = item['boxes'].copy()
        size = self.cfg.input_size
        if not self.train:
            padded, (sx, sy) = resize_pad(img, size)
            return _normalise(padded), torch.from_numpy(boxes * np.array([sx, sy, sx, sy], np.float32))
        rng = np.random.default_rng([self.cfg.seed, self.epoch, index])
        img, boxes = random_resize_crop(img, boxes, size, rng, self.cfg.scale_range)
        if self.cfg.hsv:
            from rtmpose.data.transforms import yolox_hsv
            img = yolox_hsv(img, rng)
        if rng.random() < self.cfg.flip_prob:
            img = img[:, ::-1]
            boxes = boxes.copy()
            boxes[:, [0, 2]] = img.shape[1] - boxes[:, [2, 0]]
        out = np.full((size, size, 3), 114, np.uint8)
        out[:img.shape[0], :img.shape[1]] = img
        return _normalise(out), torch.from_numpy(np.ascontiguousarray(boxes, np.float32))


def random_resize_crop(img: np.ndarray, boxes: np.ndarray, size: int, rng: np.random.Generator,
                       scale_range) -> tuple[np.ndarray, np.ndarray]:
    """RandomResize(scale=(size, size), ratio_range, keep_ratio) then RandomCrop(size, size): boxes shifted,
    clipped to the crop, and those left with no width or height dropped."""
    import cv2
    ratio = rng.uniform(*scale_range)
    h, w = img.shape[:2]
    target = size * ratio
    s = min(target / max(h, w), target / min(h, w))
    nw, nh = max(1, int(w * s + 0.5)), max(1, int(h * s + 0.5))
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    boxes = boxes * np.array([nw / w, nh / h, nw / w, nh / h], np.float32)
    oy = int(rng.integers(0, max(nh - size, 0) + 1))
    ox = int(rng.integers(0, max(nw - size, 0) + 1))
    img = img[oy:oy + size, ox:ox + size]
    boxes = boxes - np.array([ox, oy, ox, oy], np.float32)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, img.shape[1])
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, img.shape[0])
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return img, boxes[keep]


def _collate(batch):
    return torch.stack([b[0] for b in batch]), [b[1] for b in batch]


def detections(model: torch.nn.Module, items: list[dict], input_size: int) -> list[dict]:
    """COCO detection results of `model` (eval mode) on `items`: mmdet's test-time decoding (the person
    config's test_cfg), boxes in original image pixels."""
    import cv2

    from rtmpose.models.rtmdet_decode import DetectorSettings, decode, preprocess
    settings = DetectorSettings(input_size=input_size)
    out = []
    model.eval()
    with torch.no_grad():
        for item in items:
            x, scale = preprocess(cv2.imread(item['file'], cv2.IMREAD_COLOR), input_size)
            boxes, scores = decode([o.numpy() for o in model(torch.from_numpy(x))], scale, settings)
            out += [{'image_id': item['id'], 'category_id': 1, 'score': float(sc),
                     'bbox': [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]}
                    for b, sc in zip(boxes, scores)]
    return out


def box_ap(dets: list[dict], items: list[dict], ann_file: str, bootstrap: int = 1000, seed: int = 0) -> dict:
    """COCO bbox AP of the detections `dets` (`detections`) on `items` (pycocotools), with a 95% percentile
    bootstrap over images (rtmpose.evaluation.per_image: one COCOeval, AP recomputed per resample from its
    per-image matching)."""
    from rtmpose.evaluation.per_image import image_eval
    with open(ann_file) as f:
        gt = json.load(f)
    ids = {it['id'] for it in items}
    gt = {**gt, 'images': [im for im in gt['images'] if im['id'] in ids],
          'annotations': [a for a in gt['annotations'] if a['image_id'] in ids]}
    ev = image_eval(gt, dets, iou_type='bbox')
    stats = ev.stats or (0.0,) * 12
    result = {'AP': ev.ap, 'AP50': stats[1], 'AP75': stats[2], 'AR': stats[8], 'images': len(ids),
              'detections': len(dets)}
    if bootstrap:
        draws = np.random.default_rng(seed).integers(0, len(ev.img_ids), (bootstrap, len(ev.img_ids)))
        lo, hi = np.percentile([ev.ap_of(idx) for idx in draws], [2.5, 97.5])
        result.update(AP_ci_low=float(lo), AP_ci_high=float(hi), bootstrap=bootstrap)
    return result


def train_detector(cfg: DetectorTrainConfig, resume: bool = True, progress: bool = True,
                   mlflow: bool = True, max_iters: int | None = None) -> dict:
    """Train; resumable from last.pth; writes final.pth (EMA weights), last.pth, log.csv, metrics.json in the run
    folder (locked for the run) and returns the final metrics (box AP on the val split)."""
    from rtmpose.io import folder_lock, remove_stale_temps
    from rtmpose.mlflow_log import start_run
    with contextlib.ExitStack() as stack:
        stack.enter_context(folder_lock(cfg.out_dir, 'run folder'))
        remove_stale_temps(cfg.out_dir)
        run = stack.enter_context(start_run('train-detector', cfg.name, tags={'model': cfg.model},
                                            enabled=mlflow))
        run.log_params({k: v for k, v in dataclasses.asdict(cfg).items()})
        return _train(cfg, resume, progress, run, max_iters)


def _train(cfg: DetectorTrainConfig, resume: bool, progress: bool, run, max_iters: int | None) -> dict:
    from rtmpose.checkpoint import read_checkpoint, save_atomic
    from rtmpose.data.prepared import prepared_split
    from rtmpose.io import write_json_atomic, write_text_atomic
    from rtmpose.models.rtmdet import build_detector
    from rtmpose.train.optim import ExpMomentumEMA, Schedule, build_optimizer
    from rtmpose.train.rtmdet_loss import init_detector_weights, rtmdet_loss
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    ann, root = prepared_split(cfg.data_dir, 'train')
    val_ann, val_root = prepared_split(cfg.val_dir or cfg.data_dir, 'val')
    train_items = _read_boxes(ann, root, cfg.train_limit)
    val_items = _read_boxes(val_ann, val_root, cfg.val_limit)
    model = build_detector(cfg.model, input_size=cfg.input_size).train()
    init_detector_weights(model, torch.Generator().manual_seed(cfg.seed))
    layout = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    data = DetectionSet(train_items, cfg, train=True)
    ipe = math.ceil(len(data) / cfg.batch_size)
    optimizer = build_optimizer(model, cfg.base_lr, cfg.weight_decay)
    schedule = Schedule(cfg.base_lr, cfg.epochs * ipe, ipe, cfg.warmup_iters, cfg.warmup_start_factor,
                        None, cfg.epochs, eta_min=cfg.base_lr * cfg.cosine_min_factor)
    ema = ExpMomentumEMA(model, cfg.ema_momentum, cfg.ema_gamma) if cfg.ema else None
    out = cfg.out_dir
    last = os.path.join(out, 'last.pth')
    epoch, step, rows = 0, 0, []
    settings = dataclasses.asdict(cfg)
    if resume and os.path.exists(last):
        ck = read_checkpoint(last)
        changed = sorted(k for k, v in ck['config'].items() if k not in RESUMABLE_CHANGES and settings.get(k) != v)
        if changed:
            raise Error(f'{last}: saved with other settings ({", ".join(changed)}); --fresh starts over')
        model.load_state_dict(ck['model'])
        optimizer.load_state_dict(ck['optimizer'])
        if ema is not None:
            ema.load_state_dict(ck['ema'])
        epoch, step, rows = ck['epoch'], ck['iter'], ck['log']
        torch.set_rng_state(ck['rng'])
        print(f'rtmpose train-detector: resuming {last} at epoch {epoch + 1}', file=sys.stderr)
    print(f'rtmpose train-detector: {cfg.model} at {cfg.input_size}, {len(train_items)} images, {cfg.epochs} '
          f'epochs x {ipe} iterations, batch {cfg.batch_size}, lr {cfg.base_lr:g}', file=sys.stderr)
    g = torch.Generator()
    final = {}
    while epoch < cfg.epochs:
        data.epoch = epoch
        g.manual_seed(cfg.seed + epoch)
        loader = DataLoader(data, batch_size=cfg.batch_size, shuffle=True, generator=g, collate_fn=_collate,
                            num_workers=cfg.num_workers)
        model.train()
        t0, losses = time.time(), []
        bar = _bar(loader, progress, f'epoch {epoch + 1}/{cfg.epochs}')
        for images, boxes in bar:
            lr = schedule.apply(optimizer, step)
            outs = model(images.contiguous(memory_format=layout))
            loss = rtmdet_loss(list(outs[:3]), list(outs[3:]), boxes,
                               [torch.zeros(len(b), dtype=torch.long) for b in boxes])
            optimizer.zero_grad(set_to_none=True)
            loss['loss'].backward()
            optimizer.step()
            if ema is not None:
                ema.update(model)
            step += 1
            losses.append([float(loss['loss_cls'].detach()), float(loss['loss_bbox'].detach())])
            if max_iters is not None and step >= max_iters:
                break
        epoch += 1
        mean = np.mean(losses, axis=0) if losses else [float('nan')] * 2
        row = {'epoch': epoch, 'iter': step, 'loss_cls': float(mean[0]), 'loss_bbox': float(mean[1]), 'lr': lr,
               'epoch_time_s': round(time.time() - t0, 1)}
        end = epoch >= cfg.epochs or (max_iters is not None and step >= max_iters)
        if epoch % cfg.val_interval == 0 or end:
            dets = detections(ema.module if ema is not None else model, val_items, cfg.input_size)
            row.update(box_ap(dets, val_items, val_ann, bootstrap=cfg.bootstrap if end else 0, seed=cfg.seed))
        rows.append(row)
        print('rtmpose train-detector: ' + ', '.join(f'{k} {v:.4g}' if isinstance(v, float) else f'{k} {v}'
                                                     for k, v in row.items()), file=sys.stderr)
        run.log_metrics({k: v for k, v in row.items() if isinstance(v, (int, float)) and k != 'epoch'}, step=epoch)
        save_atomic({'model': model.state_dict(), 'optimizer': optimizer.state_dict(),
                     'ema': ema.state_dict() if ema is not None else None, 'epoch': epoch, 'iter': step,
                     'log': rows, 'config': settings, 'rng': torch.get_rng_state()}, last)
        if end:
            final = row
            break
    weights = {k: v.contiguous() for k, v in (ema.module if ema is not None else model).state_dict().items()}
    save_atomic({'state_dict': weights, 'meta': {'model': cfg.model, 'input_size': cfg.input_size}},
                os.path.join(out, 'final.pth'))
    keys = sorted({k for r in rows for k in r})
    write_text_atomic(os.path.join(out, 'log.csv'),
                      ','.join(keys) + '\n' + ''.join(','.join(str(r.get(k, '')) for k in keys) + '\n' for r in rows))
    write_json_atomic(os.path.join(out, 'metrics.json'), final)
    return final


def _bar(it, progress: bool, desc: str):
    if not progress:
        return it
    from tqdm import tqdm
    return tqdm(it, desc=desc, leave=False, file=sys.stderr)
