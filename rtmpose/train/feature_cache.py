"""Backbone features of a frozen backbone, computed once and shared by every run that would compute the same.

With `frozen_stages: 4` the whole CSPNeXt is fixed (eval-mode BatchNorm, no gradients), so its output for a
training sample depends only on the backbone weights, the input size and the sample's augmentation, which
the data set seeds by (seed, epoch, index). `feature_cache: DIR` stores those outputs, one file per epoch,
keyed by everything they depend on; runs that differ only in the head, the loss, the labels (sigma) or the
optimisation (the ablation grid) then train the head on the stored features. The samples, their order, the
labels and every update are those of the same run without the cache: `CachedTrainSet` has the indices of
the data set it wraps and encodes the labels with the run's own codec from the stored keypoints.

Exactness: the features are computed in the very batches the run trains on (the sampler's order for the
epoch, cut at the batch size), with the same memory format and thread count, so each stored feature is the
output of the same kernels on the same input as in the run without the cache, bit for bit; a convolution's
output for one sample can depend on the other samples of its batch through the kernel the library picks for
the batch shape, so batching them otherwise would only be equal up to float re-association.
tests/train/test_feature_cache.py checks that the stored features equal a recomputation and that the run
with the cache ends with the same weights, bit for bit, as the run without it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os

import torch
from torch.utils.data import DataLoader, Dataset

from rtmpose.checkpoint import save_atomic
from rtmpose.data.collate import collate
from rtmpose.errors import Error
from rtmpose.io import ensure_folder, sha256_file

FORMAT = 2


def backbone_digest(backbone: torch.nn.Module) -> str:
    """sha256 over the backbone's parameters and buffers, in state-dict order."""
    h = hashlib.sha256()
    for name, t in backbone.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def epoch_batches(size: int, seed: int, epoch: int, batch_size: int) -> list[list[int]]:
    """The index batches a one-process run trains on in `epoch` (ResumableSampler's order, every sample
    included: a last batch the run drops is computed too, its features unused)."""
    from rtmpose.train.data import ResumableSampler
    sampler = ResumableSampler(size, 0, 1, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    order = sampler.indices()
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def run_key_parts(cfg, digest: str, input_size) -> dict:
    """What every epoch's features of a run depend on: backbone, data, seed, and how they are computed
    (batches, memory format, threads). The per-epoch parts are added by `epoch_key`."""
    from rtmpose.data.prepared import prepared_split
    ann, root = prepared_split(cfg.data_dir, 'train')
    return dict(format=FORMAT, backbone=digest, input_size=list(input_size), dataset=cfg.dataset,
                annotations=sha256_file(ann), images=os.path.abspath(root), train_limit=cfg.train_limit,
                repeat=cfg.repeat, extra_train=cfg.extra_train, seed=cfg.seed, batch_size=cfg.batch_size,
                channels_last=cfg.channels_last, threads=torch.get_num_threads())


def epoch_key(run_parts: dict, augment, epoch: int) -> str:
    """The file name of one epoch's features: the run's parts, the epoch and its effective augmentation
    (`augment`: the run's AugmentConfig, or None)."""
    effective = {k: v for k, v in dataclasses.asdict(augment.for_epoch(epoch)).items()
                 if not k.startswith('stage2_')} if augment is not None else {}
    parts = dict(run_parts, augment=effective, epoch=epoch)
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


class CachedTrainSet(Dataset):
    """The training set `base` (same length and indices) with the backbone output in place of the image.

    `set_epoch(e)` loads (or computes and stores) epoch e's features; items are
    {'features', 'x_labels', 'y_labels', 'weights'} with labels from `codec`."""

    def __init__(self, base: Dataset, cfg, model, codec, device: torch.device, folder: str):
        self.base, self.cfg, self.model, self.codec, self.device = base, cfg, model, codec, device
        self.folder = folder
        ensure_folder(folder, 'feature cache folder')
        from rtmpose.train.data import _augment
        self.run_parts = run_key_parts(cfg, backbone_digest(model.backbone), codec.input_size)
        self.augment = _augment(cfg, cfg.epochs - cfg.stage2_epochs)
        self.epoch, self.data = 0, None

    def __len__(self) -> int:
        return len(self.base)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        path = os.path.join(self.folder, epoch_key(self.run_parts, self.augment, epoch) + '.pt')
        data = None
        if os.path.isfile(path):
            try:
                data = torch.load(path, map_location='cpu', weights_only=True)
                if data['features'].shape[0] != len(self.base):
                    data = None
            except Exception:   # a damaged cache file is recomputed, never trusted
                data = None
        if data is None:
            data = self._compute(epoch)
            save_atomic(data, path)
        self.data = {'features': data['features'], 'keypoints': data['keypoints'].numpy(),
                     'visible': data['visible'].numpy()}

    @torch.no_grad()
    def _compute(self, epoch: int) -> dict:
        from rtmpose.train.data import set_epoch
        set_epoch(self.base, epoch)
        backbone = self.model.backbone
        was_training = backbone.training
        backbone.eval()
        batches = epoch_batches(len(self.base), self.cfg.seed, epoch, self.cfg.batch_size)
        feats = kpts = vis = None
        # its own random state: the loader's seed draw must not move the run's torch generator
        with torch.random.fork_rng(devices=[]):
            loader = DataLoader(self.base, batch_sampler=batches, num_workers=self.cfg.num_workers,
                                collate_fn=collate)
            for idx, batch in zip(batches, loader):
                image = batch['image'].to(self.device).float()
                if self.cfg.channels_last:
                    image = image.contiguous(memory_format=torch.channels_last)
                out = backbone(image)[-1].cpu().contiguous()
                if feats is None:
                    n = len(self.base)
                    feats = torch.empty((n,) + tuple(out.shape[1:]), dtype=out.dtype)
                    kpts = torch.empty((n,) + tuple(batch['keypoints'].shape[1:]), dtype=batch['keypoints'].dtype)
                    vis = torch.empty((n,) + tuple(batch['visible'].shape[1:]), dtype=batch['visible'].dtype)
                at = torch.as_tensor(idx)
                feats[at], kpts[at], vis[at] = out, batch['keypoints'], batch['visible']
        backbone.train(was_training)
        return {'features': feats, 'keypoints': kpts, 'visible': vis}

    def __getitem__(self, index: int) -> dict:
        if self.data is None:
            raise Error('CachedTrainSet: set_epoch must be called before reading items')
        kpts = self.data['keypoints'][index]
        vis = self.data['visible'][index]
        x_labels, y_labels, weights = self.codec.encode(kpts[None], vis[None])
        return {'features': self.data['features'][index], 'x_labels': torch.from_numpy(x_labels[0]),
                'y_labels': torch.from_numpy(y_labels[0]), 'weights': torch.from_numpy(weights[0])}


def wrap(train_set: Dataset, cfg, model, codec, device: torch.device, world_size: int) -> Dataset:
    """`train_set` served from the feature cache when the run asks for one (checks the conditions)."""
    if not cfg.feature_cache:
        return train_set
    if cfg.frozen_stages != 4:
        raise Error(f'feature_cache needs the whole backbone frozen (frozen_stages: 4, not {cfg.frozen_stages})')
    if world_size > 1:
        raise Error('feature_cache runs in one process (the features are shared through files, not DDP)')
    return CachedTrainSet(train_set, cfg, model, codec, device, cfg.feature_cache)
