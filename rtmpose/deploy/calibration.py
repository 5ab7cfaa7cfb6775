"""Calibration crops for post-training quantization (int8 and mixed exports).

Crops are model inputs exactly as evaluation feeds them (ground-truth box, padding 1.25, affine warp,
RGB normalisation; no augmentation), drawn from a prepared split of the training set: the first `count`
instances of a seeded permutation, so a calibration set is a deterministic function of
(data set, split, count, seed). Without a data set (seeded random weights, speed only) the crops are
seeded normalised-image-like inputs. The content hash of the crops (with the count) enters the export
cache key, so a different calibration set is a different export.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np

from rtmpose.errors import Error

DEFAULT_COUNT = 64
CALIBRATION_SEED = 2024


@dataclass(frozen=True)
class Calibration:
    """Where the calibration crops come from (None data_dir: seeded inputs)."""
    data_dir: str | None = None
    split: str = 'train'
    count: int = DEFAULT_COUNT
    dataset: str | None = None           # metadata name; None: the prepared folder's manifest says
    seed: int = CALIBRATION_SEED


def calibration_crops(cal: Calibration, input_size: tuple[int, int]) -> np.ndarray:
    """(count, 3, H, W) float32 crops, normalised as the model's input."""
    if cal.count < 1:
        raise Error(f'calibration count must be >= 1, got {cal.count}')
    w, h = input_size
    if cal.data_dir is None:
        from rtmpose.seeded import seeded_images
        return seeded_images(cal.count, h, w, seed=cal.seed).numpy()
    from rtmpose.codec import SimCCCodec
    from rtmpose.data.dataset import TopDownDataset
    from rtmpose.data.meta import get_meta
    from rtmpose.data.prepared import prepared_split, read_manifest
    if not os.path.isdir(cal.data_dir):
        raise Error(f'{cal.data_dir}: calibration data set folder not found')
    ann, root = prepared_split(cal.data_dir, cal.split)
    dataset = cal.dataset or read_manifest(cal.data_dir).get('dataset') or 'coco'
    ds = TopDownDataset(ann, root, SimCCCodec(input_size=(w, h)), get_meta(dataset), train=False)
    if len(ds) == 0:
        raise Error(f'{ann}: no instances to calibrate on')
    order = np.random.default_rng(cal.seed).permutation(len(ds))[:cal.count]
    return np.stack([ds[int(i)]['image'].numpy() for i in order]).astype(np.float32)


def crops_digest(crops: np.ndarray) -> str:
    """Content hash of a calibration set (shape and count included)."""
    h = hashlib.sha256()
    h.update(repr((crops.shape, str(crops.dtype))).encode())
    h.update(np.ascontiguousarray(crops).tobytes())
    return h.hexdigest()


def gate_crops(cal: Calibration, input_size: tuple[int, int], count: int = 4) -> np.ndarray | None:
    """Held-out crops for the accuracy gate of an export calibrated on data: the prepared folder's `val`
    split when it has one (else the calibration split with another seed); None for seeded calibration."""
    if cal.data_dir is None:
        return None
    from rtmpose.data.prepared import read_manifest
    split = 'val' if 'val' in read_manifest(cal.data_dir).get('splits', {}) and cal.split != 'val' else cal.split
    return calibration_crops(Calibration(cal.data_dir, split, count, cal.dataset, cal.seed + 1), input_size)
