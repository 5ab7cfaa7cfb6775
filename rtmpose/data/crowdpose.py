"""CrowdPose: 14 keypoints, crowdIndex per image.

--raw layout (the release's json/ and images/ folders):
    json/crowdpose_trainval.json   (-> train, as mmpose's RTMPose CrowdPose config trains on trainval)
    json/crowdpose_test.json       (-> val, the config's val/test set)
    images/*.jpg
"""
from __future__ import annotations

from pathlib import Path

from rtmpose.data.checks import require_dir
from rtmpose.data.coco import convert_coco_style
from rtmpose.data.meta import DATASET_META

SPLIT_FILES = {'train': 'json/crowdpose_trainval.json', 'val': 'json/crowdpose_test.json'}


def convert(raw: Path, decode: str = 'sample', skip_invalid: bool = False) -> tuple[dict, dict, list]:
    require_dir(raw, 'raw CrowdPose release')
    inputs: dict[str, str] = {}
    skipped: list[str] = []
    k = DATASET_META['crowdpose'].num_keypoints
    splits = {split: convert_coco_style(raw, ann, 'images', k, decode, skip_invalid, inputs, skipped,
                                        extra_img_keys=('crowdIndex',))
              for split, ann in SPLIT_FILES.items()}
    return splits, inputs, skipped
