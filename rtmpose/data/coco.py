"""COCO 2017 person keypoints, and the shared reader for every COCO-style release.

--raw layout (as distributed at cocodataset.org):
    annotations/person_keypoints_train2017.json
    annotations/person_keypoints_val2017.json
    train2017/*.jpg   val2017/*.jpg
Output file_names are relative to --raw ("val2017/000000000139.jpg"); image_root is the absolute --raw.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from rtmpose.data.checks import Checker, check_images, load_coco, require_dir, require_file
from rtmpose.data.meta import DATASET_META
from rtmpose.io import sha256_file

SPLIT_FILES = {'train': ('annotations/person_keypoints_train2017.json', 'train2017'),
               'val': ('annotations/person_keypoints_val2017.json', 'val2017')}
ANN_KEYS = ('id', 'image_id', 'category_id', 'bbox', 'area', 'iscrowd', 'keypoints', 'num_keypoints')
IMG_KEYS = ('id', 'file_name', 'width', 'height')


def convert_coco_style(raw: Path, ann_rel: str, image_dir: str, num_keypoints: int, decode: str,
                       skip_invalid: bool, inputs: dict[str, str], skipped: list[str],
                       keypoints_of: Callable[[dict, Checker, str], list | None] | None = None,
                       extra_ann_keys: tuple[str, ...] = (), extra_img_keys: tuple[str, ...] = (),
                       categories: list[dict] | None = None) -> dict:
    """Read one COCO-style split, validate it, return the normalised COCO dict.

    keypoints_of(ann, checker, record) may assemble the keypoint list from other fields (whole-body);
    it returns None to drop the record (when skipping invalid ones).
    """
    ann_file = require_file(raw / ann_rel, 'annotation file')
    require_dir(raw / image_dir, 'image')
    data = load_coco(ann_file)
    inputs[ann_rel] = sha256_file(ann_file)
    check = Checker(ann_file, skip_invalid)
    images, sizes = [], {}
    for i, img in enumerate(data['images']):
        check.image(img, i)
        out = {k: img[k] for k in IMG_KEYS + extra_img_keys if k in img}
        out['file_name'] = f'{image_dir}/{img["file_name"]}'
        images.append(out)
        sizes[img['id']] = (img['width'], img['height'])
    anns = []
    for i, ann in enumerate(data['annotations']):
        record = f'annotation {ann.get("id", f"#{i}")}' if isinstance(ann, dict) else f'annotation #{i}'
        if not isinstance(ann, dict) or 'image_id' not in ann or 'id' not in ann:
            check.fail(record, 'needs id and image_id')
            continue
        if ann['image_id'] not in sizes:
            check.fail(f'{record} (image id {ann["image_id"]})', 'refers to an image not in the file')
            continue
        w, h = sizes[ann['image_id']]
        record = f'{record} (image id {ann["image_id"]})'
        kpts = keypoints_of(ann, check, record) if keypoints_of else ann.get('keypoints')
        if kpts is None:
            continue
        crowd = bool(ann.get('iscrowd', 0))
        if not check.instance(record, kpts, num_keypoints, ann.get('bbox'), w, h, need_box=True):
            continue
        out = {k: ann[k] for k in ANN_KEYS + extra_ann_keys if k in ann}
        out['keypoints'] = kpts
        out.setdefault('category_id', 1)
        out['iscrowd'] = int(crowd)
        anns.append(out)
    check_images(images, raw, ann_file, decode)
    skipped.extend(check.skipped)
    cats = categories if categories is not None else data.get('categories', [])
    return {'images': images, 'annotations': anns, 'categories': cats}


def convert(raw: Path, decode: str = 'sample', skip_invalid: bool = False) -> tuple[dict, dict, list]:
    """-> (splits, inputs sha256, skipped records)."""
    require_dir(raw, 'raw COCO release')
    inputs: dict[str, str] = {}
    skipped: list[str] = []
    k = DATASET_META['coco'].num_keypoints
    splits = {split: convert_coco_style(raw, ann, img_dir, k, decode, skip_invalid, inputs, skipped)
              for split, (ann, img_dir) in SPLIT_FILES.items()}
    return splits, inputs, skipped


def single_person_subset(coco_val: dict) -> tuple[dict, list[int]]:
    """The single-person subset of COCO val2017, by this rule (deterministic, documented):

    an image qualifies when it has exactly one person annotation in total, that annotation is not a
    crowd region and has at least one labelled keypoint (num_keypoints > 0). Images with further
    people (labelled or not, crowd regions included) are excluded. The paper's subset has 1045
    images and no official script; see datasets/README.md for how the counts compare.
    """
    per_image: dict[int, list[dict]] = {}
    for ann in coco_val['annotations']:
        if ann.get('category_id', 1) == 1:
            per_image.setdefault(ann['image_id'], []).append(ann)
    keep = sorted(i for i, anns in per_image.items()
                  if len(anns) == 1 and not anns[0].get('iscrowd', 0) and anns[0].get('num_keypoints', 0) > 0)
    keep_set = set(keep)
    subset = {'images': [im for im in coco_val['images'] if im['id'] in keep_set],
              'annotations': [a for a in coco_val['annotations'] if a['image_id'] in keep_set],
              'categories': coco_val['categories']}
    return subset, keep


def convert_single_person(raw: Path, decode: str = 'sample', skip_invalid: bool = False
                          ) -> tuple[dict, dict, list, list[int]]:
    require_dir(raw, 'raw COCO release')
    inputs: dict[str, str] = {}
    skipped: list[str] = []
    ann, img_dir = SPLIT_FILES['val']
    val = convert_coco_style(raw, ann, img_dir, 17, decode, skip_invalid, inputs, skipped)
    subset, ids = single_person_subset(val)
    return {'val': subset}, inputs, skipped, ids
