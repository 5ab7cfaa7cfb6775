"""COCO-WholeBody v1.0: 133 keypoints = body 17 + foot 6 + face 68 + left hand 21 + right hand 21.

--raw layout:
    annotations/coco_wholebody_train_v1.0.json
    annotations/coco_wholebody_val_v1.0.json
    train2017/*.jpg   val2017/*.jpg     (the COCO 2017 images)
The output `keypoints` holds all 133 points in that order (mmpose CocoWholeBodyDataset concatenates
keypoints + foot_kpts + face_kpts + lefthand_kpts + righthand_kpts); the *_valid flags and the
face/hand boxes are kept for the whole-body metric; PARTS gives each part's index range.
"""
from __future__ import annotations

from pathlib import Path

from rtmpose.data.checks import Checker, require_dir
from rtmpose.data.coco import convert_coco_style

PARTS = {'body': (0, 17), 'foot': (17, 23), 'face': (23, 91), 'lefthand': (91, 112), 'righthand': (112, 133)}
_FIELDS = (('keypoints', 17), ('foot_kpts', 6), ('face_kpts', 68), ('lefthand_kpts', 21), ('righthand_kpts', 21))
EXTRA_KEYS = ('face_box', 'lefthand_box', 'righthand_box', 'face_valid', 'foot_valid', 'lefthand_valid',
              'righthand_valid')
SPLIT_FILES = {'train': ('annotations/coco_wholebody_train_v1.0.json', 'train2017'),
               'val': ('annotations/coco_wholebody_val_v1.0.json', 'val2017')}


def _keypoints(ann: dict, check: Checker, record: str) -> list | None:
    out = []
    for name, k in _FIELDS:
        part = ann.get(name)
        if not isinstance(part, list) or len(part) != 3 * k:
            n = len(part) // 3 if isinstance(part, list) else 'no'
            check.fail(record, f'{name} has {n} points, expected {k}')
            return None
        out += part
    for box in ('face_box', 'lefthand_box', 'righthand_box'):
        valid = ann.get(box.replace('_box', '_valid'), False)
        b = ann.get(box)
        if valid and (not isinstance(b, list) or len(b) != 4 or b[2] <= 0 or b[3] <= 0):
            check.fail(record, f'{box} {b!r} has zero or negative size but is marked valid')
            return None
    return out


def convert(raw: Path, decode: str = 'sample', skip_invalid: bool = False) -> tuple[dict, dict, list]:
    require_dir(raw, 'raw COCO-WholeBody release')
    inputs: dict[str, str] = {}
    skipped: list[str] = []
    splits = {split: convert_coco_style(raw, ann, img_dir, 133, decode, skip_invalid, inputs, skipped,
                                        keypoints_of=_keypoints, extra_ann_keys=EXTRA_KEYS)
              for split, (ann, img_dir) in SPLIT_FILES.items()}
    return splits, inputs, skipped
