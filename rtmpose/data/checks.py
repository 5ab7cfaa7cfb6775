"""Input validation shared by the converters: every problem becomes one line naming file, record and issue.

Strict by default (the first problem raises rtmpose.errors.Error). With skip_invalid=True a bad
*annotation* is dropped and listed in the manifest instead; missing files and broken JSON always fail.
Image checks: every referenced image must exist; decoding is checked on a deterministic sample
(`decode='sample'`: up to 64 images per split, evenly spaced), on all images (`'all'`) or not at all.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rtmpose.errors import Error
from rtmpose.io import imread_quiet, read_json

DECODE_MODES = ('none', 'sample', 'all')
DECODE_SAMPLE = 64


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise Error(f'{path}: {what} folder not found')
    return path


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise Error(f'{path}: {what} not found')
    return path


def load_coco(path: Path, keys=('images', 'annotations')) -> dict:
    data = read_json(path, 'annotation file')
    if not isinstance(data, dict) or any(not isinstance(data.get(k), list) for k in keys):
        raise Error(f'{path}: not a COCO-style file (needs lists {", ".join(keys)})')
    return data


@dataclass
class Checker:
    """Checks records of one input file; collects skipped records when skip_invalid."""
    file: Path
    skip_invalid: bool = False
    skipped: list[str] = field(default_factory=list)

    def fail(self, record: str, problem: str) -> bool:
        msg = f'{self.file}: {record}: {problem}'
        if not self.skip_invalid:
            raise Error(msg)
        self.skipped.append(msg)
        return False

    def image(self, img: Any, index: int) -> bool:
        if not isinstance(img, dict) or 'id' not in img or 'file_name' not in img:
            raise Error(f'{self.file}: image record {index}: needs id and file_name')
        w, h = img.get('width'), img.get('height')
        if not isinstance(w, (int, float)) or not isinstance(h, (int, float)) or w <= 0 or h <= 0:
            raise Error(f'{self.file}: image id {img["id"]}: missing or non-positive width/height')
        return True

    def instance(self, record: str, keypoints: Any, num_keypoints: int, bbox: Any, width: float,
                 height: float, need_box: bool = True) -> bool:
        """keypoints: flat [x, y, v] * K; bbox: xywh. False (when skipping) if the record is bad."""
        if not isinstance(keypoints, list) or len(keypoints) != 3 * num_keypoints:
            return self.fail(record, f'{count_keypoints(keypoints)}, expected {num_keypoints}')
        k = np.asarray(keypoints, np.float64).reshape(-1, 3)
        if not np.isfinite(k).all():
            return self.fail(record, 'non-finite keypoint values')
        if need_box:
            if not isinstance(bbox, list) or len(bbox) != 4 or not np.isfinite(bbox).all():
                return self.fail(record, f'bbox must be 4 numbers, got {bbox!r}')
            if bbox[2] <= 0 or bbox[3] <= 0:
                return self.fail(record, f'bbox has zero or negative size {bbox[2]}x{bbox[3]}')
        lab = k[:, 2] > 0
        out = lab & ((k[:, 0] < 0) | (k[:, 1] < 0) | (k[:, 0] > width) | (k[:, 1] > height))
        if out.any():
            i = int(np.flatnonzero(out)[0])
            return self.fail(record, f'keypoint {i} at ({k[i, 0]:g}, {k[i, 1]:g}) lies outside the '
                                     f'{width:g}x{height:g} image')
        return True


def check_images(images: list[dict], root: Path, ann_file: Path, decode: str) -> None:
    """Every image must exist; decode a sample / all of them; decoded size must match the record."""
    if decode not in DECODE_MODES:
        raise Error(f'decode check must be one of {", ".join(DECODE_MODES)} (got {decode!r})')
    for img in images:
        if not (root / img['file_name']).is_file():
            raise Error(f'{ann_file}: image id {img["id"]}: {root / img["file_name"]} does not exist')
    if decode == 'none' or not images:
        return
    picks = range(len(images)) if decode == 'all' else \
        sorted(set(np.linspace(0, len(images) - 1, min(DECODE_SAMPLE, len(images))).astype(int).tolist()))
    for i in picks:
        img = images[i]
        path = root / img['file_name']
        arr = imread_quiet(path)
        if arr is None:
            raise Error(f'{ann_file}: image id {img["id"]}: {path} does not decode as an image')
        if (arr.shape[1], arr.shape[0]) != (int(img['width']), int(img['height'])):
            raise Error(f'{ann_file}: image id {img["id"]}: {path} is {arr.shape[1]}x{arr.shape[0]}, '
                        f'annotation says {img["width"]}x{img["height"]}')


def count_keypoints(flat: Any) -> str:
    """'16 keypoints' for a flat [x, y, v] * K list (an integer count), or what is wrong with it."""
    if not isinstance(flat, list):
        return 'no keypoints'
    if len(flat) % 3:
        return f'{len(flat)} keypoint values (not a multiple of 3)'
    return f'{len(flat) // 3} keypoints'


def image_size(path: Path, ann_file: Path, record: str) -> tuple[int, int]:
    """(w, h) from the image header, for releases that do not store sizes (AIC, MPII)."""
    from PIL import Image, UnidentifiedImageError
    if not path.is_file():
        raise Error(f'{ann_file}: {record}: {path} does not exist')
    try:
        with Image.open(path) as im:
            return im.size
    except (UnidentifiedImageError, OSError):
        raise Error(f'{ann_file}: {record}: {path} does not decode as an image') from None


def person_category(meta) -> dict:
    return {'id': 1, 'name': 'person', 'supercategory': 'person', 'keypoints': list(meta.keypoint_names),
            'skeleton': [[a + 1, b + 1] for a, b in meta.skeleton]}
