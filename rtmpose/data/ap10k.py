"""AP-10K: 17 animal keypoints over many species (categories kept as in the release).

--raw layout (the release as distributed):
    annotations/ap10k-train-split1.json   (-> train)
    annotations/ap10k-val-split1.json     (-> val; mmpose's RTMPose AP-10K config validates on it)
    annotations/ap10k-test-split1.json    (-> test; the config's test set)
    data/*.jpg
`split` picks one of the release's three splits (1, 2 or 3); all three of its files are required.
"""
from __future__ import annotations

from pathlib import Path

from rtmpose.data.checks import require_dir
from rtmpose.data.coco import convert_coco_style
from rtmpose.data.meta import DATASET_META
from rtmpose.errors import Error

PARTS = ('train', 'val', 'test')


def convert(raw: Path, decode: str = 'sample', skip_invalid: bool = False, split: int = 1
            ) -> tuple[dict, dict, list]:
    if split not in (1, 2, 3):
        raise Error(f'AP-10K split must be 1, 2 or 3 (got {split})')
    require_dir(raw, 'raw AP-10K release')
    inputs: dict[str, str] = {}
    skipped: list[str] = []
    k = DATASET_META['ap10k'].num_keypoints
    splits = {}
    for name in PARTS:
        rel = f'annotations/ap10k-{name}-split{split}.json'
        coco = convert_coco_style(raw, rel, 'data', k, decode, skip_invalid, inputs, skipped)
        coco['info'] = {'description': f'AP-10K split {split} {name}', 'sources': [rel]}
        splits[name] = coco
    return splits, inputs, skipped
