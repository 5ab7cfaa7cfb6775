"""Top-down keypoint data set: one sample per person instance, cropped to the model input.

Instance selection follows mmpose 1.3.2 BaseCocoStyleDataset (datasets/datasets/base/
base_coco_style_dataset.py): boxes clipped to the image as x1y1x2y2 in [0, w-1] x [0, h-1], visibility
min(1, v), and crowd / no-keypoint / empty-box instances dropped; with a detection file, every person
detection (category 1) at or above `bbox_score_thr` becomes an instance with dummy keypoints.
Randomness of a sample comes from Generator([seed, epoch, index]) so it does not depend on DataLoader
workers or the order in which samples are drawn.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from rtmpose import topdown
from rtmpose.codec import SimCCCodec
from rtmpose.data.meta import DatasetMeta, get_meta
from rtmpose.data.transforms import (AugmentConfig, PixelAugment, pin_opencv_threads, random_bbox_transform,
                                     random_flip, random_half_body, topdown_affine, yolox_hsv)
from rtmpose.errors import Error
from rtmpose.data.checks import count_keypoints
from rtmpose.io import imread_quiet, read_json

__all__ = ['TopDownDataset', 'AugmentConfig']


def _gt_instances(coco: dict, num_keypoints: int, ann_file: str) -> list[dict]:
    images = {img['id']: img for img in coco.get('images', [])}
    by_image: dict[int, list[dict]] = {i: [] for i in images}
    for ann in coco.get('annotations', []):
        if ann.get('image_id') in by_image:
            by_image[ann['image_id']].append(ann)
    out = []
    for img_id, img in images.items():          # image order, then annotation order, as pycocotools gives
        w, h = img['width'], img['height']
        for ann in by_image[img_id]:
            if 'bbox' not in ann or 'keypoints' not in ann or ann.get('iscrowd', 0):
                continue
            if not isinstance(ann['keypoints'], list) or len(ann['keypoints']) != 3 * num_keypoints:
                raise Error(f'{ann_file}: annotation {ann.get("id")}: {count_keypoints(ann["keypoints"])}, '
                            f'expected {num_keypoints}')
            kpts = np.asarray(ann['keypoints'], np.float32).reshape(-1, 3)
            if 'bbox_center' in ann and 'bbox_scale' in ann:   # MPII: centre/scale, unclipped (MpiiDataset)
                c, sc = np.asarray(ann['bbox_center'], np.float32), np.asarray(ann['bbox_scale'], np.float32)
                box = np.concatenate([c - sc / 2, c + sc / 2])
            else:
                x, y, bw, bh = ann['bbox']
                box = np.array([np.clip(x, 0, w - 1), np.clip(y, 0, h - 1),
                                np.clip(x + bw, 0, w - 1), np.clip(y + bh, 0, h - 1)], np.float32)
            num = ann['num_keypoints'] if 'num_keypoints' in ann else int(np.count_nonzero(kpts[:, :2].max(1)))
            if num == 0 or box[2] - box[0] <= 0 or box[3] - box[1] <= 0 or kpts[:, :2].max() <= 0:
                continue
            area = ann['area'] if 'area' in ann else max((box[2] - box[0]) * (box[3] - box[1]) * 0.53, 1.0)
            out.append({'image_id': img_id, 'ann_id': ann['id'], 'file_name': img['file_name'], 'bbox': box,
                        'keypoints': kpts[:, :2], 'visible': np.minimum(1, kpts[:, 2]),
                        'bbox_score': 1.0, 'area': float(area)})
    return out


def _det_instances(coco: dict, bbox_file: str, num_keypoints: int, thr: float) -> list[dict]:
    dets = read_json(bbox_file, 'detection results file')
    if not isinstance(dets, list):
        raise Error(f'{bbox_file}: expected a list of COCO detection results')
    images = {img['id']: img for img in coco.get('images', [])}
    out = []
    for i, det in enumerate(dets):
        if not isinstance(det, dict) or not {'image_id', 'bbox', 'score', 'category_id'} <= det.keys():
            raise Error(f'{bbox_file}: record {i}: needs image_id, category_id, bbox and score')
        if det['category_id'] != 1 or det['score'] < thr:
            continue
        img = images.get(det['image_id'])
        if img is None:
            raise Error(f'{bbox_file}: record {i}: image id {det["image_id"]} is not in the annotation file')
        box = topdown.bbox_xywh_to_xyxy(np.asarray(det['bbox'][:4], np.float32))
        out.append({'image_id': det['image_id'], 'ann_id': len(out), 'file_name': img['file_name'],
                    'bbox': box, 'keypoints': np.zeros((num_keypoints, 2), np.float32),
                    'visible': np.ones(num_keypoints, np.float32), 'bbox_score': float(det['score']),
                    'area': float((box[2] - box[0]) * (box[3] - box[1]))})
    return out


class TopDownDataset(torch.utils.data.Dataset):
    """Person instances of a COCO-style keypoint file, cropped and encoded for a SimCC model.

    meta: a DatasetMeta or a DATASET_META name. train=True applies the RTMPose augmentation (`aug`,
    default AugmentConfig()); call set_epoch(epoch) each epoch so stage 2 starts at aug.stage2_epoch.
    An index may also be given as (epoch, index) to carry the epoch into persistent DataLoader workers.
    """

    def __init__(self, ann_file: str | os.PathLike, image_root: str | os.PathLike, codec: SimCCCodec,
                 meta: DatasetMeta | str, train: bool, aug: AugmentConfig | None = None, seed: int = 0,
                 bbox_file: str | None = None, bbox_score_thr: float = 0.0,
                 bbox_padding: float = topdown.BBOX_PADDING):
        pin_opencv_threads()   # identical crops run after run (mmengine sets the same)
        self.ann_file, self.image_root = os.fspath(ann_file), Path(image_root)
        self.bbox_padding = float(bbox_padding)   # box -> crop scale factor (mmpose 1.25; some deployments 1.0)
        self.codec = codec
        self.meta = get_meta(meta) if isinstance(meta, str) else meta
        self.train, self.seed, self.epoch = train, int(seed), 0
        self.aug = (aug or AugmentConfig()) if train else None
        if train and bbox_file:
            raise Error('TopDownDataset: detection boxes (bbox_file) are for evaluation only')
        coco = read_json(self.ann_file, 'annotation file')
        if not isinstance(coco, dict) or 'images' not in coco:
            raise Error(f'{self.ann_file}: not a COCO keypoint file (no "images")')
        self.images = {img['id']: img for img in coco['images']}
        if bbox_file:
            self.instances = _det_instances(coco, os.fspath(bbox_file), self.meta.num_keypoints, bbox_score_thr)
        else:
            self.instances = _gt_instances(coco, self.meta.num_keypoints, self.ann_file)
        self._pixel: dict[tuple, PixelAugment] = {}

    def __len__(self) -> int:
        return len(self.instances)

    def __setstate__(self, state: dict) -> None:   # a DataLoader worker started by spawn
        pin_opencv_threads()
        self.__dict__.update(state)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _load(self, inst: dict) -> np.ndarray:
        path = self.image_root / inst['file_name']
        img = imread_quiet(path)   # no libjpeg warning line before the one-line error
        if img is None:
            raise Error(f'{path}: image missing or not decodable (image id {inst["image_id"]})')
        return img

    def __getitem__(self, index):
        epoch = self.epoch
        if isinstance(index, (tuple, list)):
            epoch, index = index
        inst = self.instances[index]
        img = self._load(inst)
        kpts, vis = inst['keypoints'].copy(), inst['visible'].copy()
        center, scale = topdown.bbox_xyxy_to_center_scale(inst['bbox'], self.bbox_padding)
        rot, flipped = 0.0, False
        rng = None
        if self.train:
            cfg = self.aug.for_epoch(epoch)
            rng = np.random.default_rng([self.seed, epoch, index])
            img, center, kpts, vis, flipped = random_flip(img, center, kpts, vis, self.meta.flip_indices, rng,
                                                          cfg.flip_prob)
            center, scale = random_half_body(kpts, vis, center, scale, self.meta.upper_body_ids,
                                             self.meta.lower_body_ids, rng, cfg)
            center, scale, rot = random_bbox_transform(center, scale, rng, cfg)
        crop, moved, scale = topdown_affine(img, kpts, center, scale, rot, self.codec.input_size)
        if self.train:
            crop = yolox_hsv(crop, rng, cfg.hue_delta, cfg.saturation_delta, cfg.value_delta)
            key = (cfg.blur_prob, cfg.median_blur_prob, cfg.dropout_prob, cfg.dropout_size)
            if key not in self._pixel:
                self._pixel[key] = PixelAugment(cfg)
            crop = self._pixel[key](crop, rng)
        x_labels, y_labels, weights = self.codec.encode(moved[None], vis[None])
        return {
            'image': torch.from_numpy(topdown.normalize(crop)[0]),
            'x_labels': torch.from_numpy(x_labels[0]),
            'y_labels': torch.from_numpy(y_labels[0]),
            'weights': torch.from_numpy(weights[0]),
            'keypoints': torch.from_numpy(moved),          # in crop pixels, for training accuracy
            'visible': torch.from_numpy(vis.astype(np.float32)),
            'image_id': inst['image_id'], 'ann_id': inst['ann_id'],
            'center': torch.from_numpy(np.asarray(center, np.float32)),
            'scale': torch.from_numpy(np.asarray(scale, np.float32)),
            'rotation': float(rot), 'flipped': flipped,
            'bbox_score': float(inst['bbox_score']), 'area': float(inst['area']),
        }
