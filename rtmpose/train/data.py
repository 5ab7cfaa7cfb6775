"""Training and validation sets from prepared data, the combined AIC+COCO set and a resumable sampler.

Uses the data layer's contract: rtmpose.data.dataset.TopDownDataset(ann_file, image_root, codec, meta,
train, aug, seed, bbox_file) whose items are dicts (image, x_labels, y_labels, weights, image_id,
ann_id, center, scale, bbox_score, area) and whose augmentation draws depend only on
(seed, epoch, index), so a resumed run sees exactly the same samples.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset, Sampler, Subset

from rtmpose.errors import Error


def _mapping(name: str | None, src_k: int, dst_k: int) -> np.ndarray | None:
    """(src, dst) index pairs for a keypoint converter; None for identity."""
    if name is None:
        return None
    if name == 'aic_to_coco':
        from rtmpose.data.meta import AIC_TO_COCO
        return np.asarray(AIC_TO_COCO, np.int64)
    raise Error(f'keypoint_mapping {name!r}: known mappings: aic_to_coco')


class MappedKeypoints(Dataset):
    """Move SimCC labels and weights of another keypoint set onto the target set's indices.

    Equivalent to mmpose's KeypointConverter before GenerateTarget for the labels: unmapped target
    keypoints get zero labels and zero weight.
    """

    def __init__(self, base: Dataset, pairs: np.ndarray, num_keypoints: int):
        self.base, self.pairs, self.k = base, pairs, num_keypoints

    def __len__(self) -> int:
        return len(self.base)

    def set_epoch(self, epoch: int) -> None:
        _set_epoch(self.base, epoch)

    def __getitem__(self, i: int) -> dict:
        item = dict(self.base[i])
        src, dst = self.pairs[:, 0], self.pairs[:, 1]
        for key in ('x_labels', 'y_labels', 'weights', 'keypoints', 'visible'):
            if key not in item:
                continue
            v = torch.as_tensor(np.asarray(item[key]))
            out = torch.zeros((self.k,) + tuple(v.shape[1:]), dtype=v.dtype)
            out[dst] = v[src]
            item[key] = out
        return item


class Repeat(Dataset):
    """mmengine RepeatDataset: the same items `times` over (augmentation still differs per index)."""

    def __init__(self, base: Dataset, times: int):
        self.base, self.times = base, times

    def __len__(self) -> int:
        return len(self.base) * self.times

    def set_epoch(self, epoch: int) -> None:
        _set_epoch(self.base, epoch)

    def __getitem__(self, i: int):
        return self.base[i % len(self.base)]


def _set_epoch(ds, epoch: int) -> None:
    if hasattr(ds, 'set_epoch'):
        ds.set_epoch(epoch)
    for child in getattr(ds, 'datasets', []) or []:
        _set_epoch(child, epoch)
    if isinstance(ds, Subset):
        _set_epoch(ds.dataset, epoch)


def set_epoch(ds, epoch: int) -> None:
    """Switch every (nested) data set to `epoch` (seeds and the stage-2 augmentation)."""
    _set_epoch(ds, epoch)


def _augment(cfg, stage2_epoch: int):
    from rtmpose.data import dataset as dmod
    aug_cls = getattr(dmod, 'AugmentConfig', None)
    if aug_cls is None:
        return None
    values = dict(cfg.augment)
    import dataclasses
    names = {f.name for f in dataclasses.fields(aug_cls)}
    if 'stage2_epoch' in names and 'stage2_epoch' not in values:
        values['stage2_epoch'] = stage2_epoch
    from rtmpose.settings import build
    return build(aug_cls, values, 'augment')


def _topdown(ann_file, image_root, codec, meta, train, aug, seed, bbox_file=None):
    from rtmpose.data.dataset import TopDownDataset
    return TopDownDataset(ann_file, image_root, codec, meta, train=train, aug=aug, seed=seed, bbox_file=bbox_file)


def build_train_set(cfg, codec, meta) -> Dataset:
    from rtmpose.data.meta import get_meta
    from rtmpose.data.prepared import prepared_split
    aug = _augment(cfg, cfg.epochs - cfg.stage2_epochs)
    ann, root = prepared_split(cfg.data_dir, 'train')
    parts: list[Dataset] = [_topdown(ann, root, codec, meta, True, aug, cfg.seed)]
    if cfg.repeat > 1:
        parts[0] = Repeat(parts[0], cfg.repeat)
    for i, extra in enumerate(cfg.extra_train):
        from rtmpose.settings import build
        from rtmpose.train.config import ExtraTrainSet
        e = build(ExtraTrainSet, extra, f'extra_train[{i}]')
        emeta = get_meta(e.dataset)
        eann, eroot = prepared_split(e.data_dir, 'train')
        ds: Dataset = _topdown(eann, eroot, codec, emeta, True, aug, cfg.seed + 1000 * (i + 1))
        pairs = _mapping(e.keypoint_mapping, emeta.num_keypoints, meta.num_keypoints)
        if pairs is not None:
            ds = MappedKeypoints(ds, pairs, meta.num_keypoints)
        elif emeta.num_keypoints != meta.num_keypoints:
            raise Error(f'extra_train[{i}]: {e.dataset} has {emeta.num_keypoints} keypoints, '
                        f'{cfg.dataset} {meta.num_keypoints}; set keypoint_mapping')
        parts.append(Repeat(ds, e.repeat) if e.repeat > 1 else ds)
    ds = parts[0] if len(parts) == 1 else ConcatDataset(parts)
    if cfg.train_limit:
        ds = Subset(ds, range(min(cfg.train_limit, len(ds))))
    if len(ds) == 0:
        raise Error(f'{ann}: no training instances')
    return ds


def build_val_set(cfg, codec, meta, bbox_file: str | None = None, split: str = 'val') -> tuple[Dataset, str]:
    from rtmpose.data.prepared import prepared_split
    ann, root = prepared_split(cfg.data_dir, split)
    ds: Dataset = _topdown(ann, root, codec, meta, False, None, cfg.seed, bbox_file)
    if cfg.val_limit:
        ds = Subset(ds, range(min(cfg.val_limit, len(ds))))
    return ds, ann


class ResumableSampler(Sampler[int]):
    """mmengine DefaultSampler order (shuffle with generator seeded by seed + epoch, padded to a multiple
    of the world size, rank::world slice), starting `skip` samples into the epoch for mid-epoch resume."""

    def __init__(self, size: int, rank: int = 0, world_size: int = 1, shuffle: bool = True, seed: int = 0):
        self.size, self.rank, self.world, self.shuffle, self.seed = size, rank, world_size, shuffle, seed
        self.epoch, self.skip = 0, 0
        self.per_rank = math.ceil(size / world_size)

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip

    def indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            idx = torch.randperm(self.size, generator=g).tolist()
        else:
            idx = list(range(self.size))
        total = self.per_rank * self.world
        idx = (idx * math.ceil(total / self.size))[:total]
        return idx[self.rank:total:self.world]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices()[self.skip:])

    def __len__(self) -> int:
        return self.per_rank - self.skip
