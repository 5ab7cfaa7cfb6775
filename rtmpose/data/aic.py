"""AI Challenger keypoint release (14 points) -> COCO-style.

--raw layout (the two release folders side by side):
    ai_challenger_keypoint_train_20170902/keypoint_train_annotations_20170909.json
    ai_challenger_keypoint_train_20170902/keypoint_train_images_20170902/*.jpg
    ai_challenger_keypoint_validation_20170911/keypoint_validation_annotations_20170911.json
    ai_challenger_keypoint_validation_20170911/keypoint_validation_images_20170911/*.jpg
Each JSON is a list of {image_id (file stem), human_annotations {humanN: [x1, y1, x2, y2]},
keypoint_annotations {humanN: [x, y, v] * 14}} with v 1 = visible, 2 = occluded, 3 = not labelled,
written as COCO v 2, 1, 0 (an unlabelled point becomes (0, 0, 0)). Images get integer ids in file order
(the release id is kept as `aic_image_id`); sizes come from the image headers; area = box w * h.
The AIC -> COCO keypoint mapping for AIC+COCO training is rtmpose.data.meta.AIC_TO_COCO.
"""
from __future__ import annotations

from pathlib import Path

from rtmpose.data.checks import Checker, check_images, count_keypoints, image_size, person_category, \
    require_dir, require_file
from rtmpose.data.meta import DATASET_META
from rtmpose.io import sha256_file
from rtmpose.errors import Error
from rtmpose.io import read_json

SPLIT_FILES = {
    'train': ('ai_challenger_keypoint_train_20170902', 'keypoint_train_annotations_20170909.json',
              'keypoint_train_images_20170902'),
    'val': ('ai_challenger_keypoint_validation_20170911', 'keypoint_validation_annotations_20170911.json',
            'keypoint_validation_images_20170911'),
}
AIC_TO_COCO_VISIBILITY = {1: 2, 2: 1, 3: 0}


def _split(raw: Path, folder: str, ann_name: str, img_dir: str, decode: str, skip_invalid: bool,
           inputs: dict, skipped: list) -> dict:
    from tqdm import tqdm
    ann_file = require_file(raw / folder / ann_name, 'AIC annotation file')
    require_dir(raw / folder / img_dir, 'AIC image')
    data = read_json(ann_file, 'annotation file')
    if not isinstance(data, list):
        raise Error(f'{ann_file}: expected a list of image records')
    inputs[f'{folder}/{ann_name}'] = sha256_file(ann_file)
    check = Checker(ann_file, skip_invalid)
    images, anns = [], []
    for i, rec in enumerate(tqdm(data, desc=ann_name, leave=False)):
        if not isinstance(rec, dict) or not {'image_id', 'human_annotations', 'keypoint_annotations'} <= rec.keys():
            raise Error(f'{ann_file}: record {i}: needs image_id, human_annotations and keypoint_annotations')
        image_id = i + 1
        file_name = f'{folder}/{img_dir}/{rec["image_id"]}.jpg'
        w, h = image_size(raw / file_name, ann_file, f'record {i} (image {rec["image_id"]})')
        images.append({'id': image_id, 'file_name': file_name, 'width': w, 'height': h,
                       'aic_image_id': rec['image_id']})
        for j, human in enumerate(sorted(rec['keypoint_annotations'])):
            record = f'record {i} (image {rec["image_id"]}) {human}'
            kp = rec['keypoint_annotations'][human]
            box = rec['human_annotations'].get(human)
            if not isinstance(box, list) or len(box) != 4:
                check.fail(record, f'human_annotations box {box!r} is not [x1, y1, x2, y2]')
                continue
            if not isinstance(kp, list) or len(kp) != 42:
                check.fail(record, f'{count_keypoints(kp)}, expected 14')
                continue
            coco_kp = []
            for x, y, v in zip(kp[0::3], kp[1::3], kp[2::3]):
                cv = AIC_TO_COCO_VISIBILITY.get(int(v))
                if cv is None:
                    coco_kp = None
                    check.fail(record, f'visibility {v} is not 1, 2 or 3')
                    break
                coco_kp += [float(x), float(y), cv] if cv else [0.0, 0.0, 0]
            if coco_kp is None:
                continue
            bbox = [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])]
            if not check.instance(record, coco_kp, 14, bbox, w, h):
                continue
            anns.append({'id': image_id * 100 + j, 'image_id': image_id, 'category_id': 1, 'bbox': bbox,
                         'area': bbox[2] * bbox[3], 'iscrowd': 0, 'keypoints': coco_kp,
                         'num_keypoints': sum(1 for v in coco_kp[2::3] if v > 0)})
    check_images(images, raw, ann_file, decode)
    skipped.extend(check.skipped)
    return {'images': images, 'annotations': anns, 'categories': [person_category(DATASET_META['aic'])]}


def convert(raw: Path, decode: str = 'sample', skip_invalid: bool = False) -> tuple[dict, dict, list]:
    require_dir(raw, 'raw AI Challenger release')
    inputs: dict[str, str] = {}
    skipped: list[str] = []
    splits = {split: _split(raw, *files, decode, skip_invalid, inputs, skipped)
              for split, files in SPLIT_FILES.items()}
    return splits, inputs, skipped
