"""Tiny releases in each data set's native layout, written by the tests themselves."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

W, H = 64, 48


def image(path: Path, w: int = W, h: int = H) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), 127, np.uint8))


def kpts(k: int, x: float = 10, y: float = 12, v: int = 2) -> list:
    return [x, y, v] * k


def coco_like(root: Path, ann_rel: str, img_dir: str, k: int, n_images: int = 2, extra_img=None,
              extra_ann=None) -> dict:
    images, anns = [], []
    for i in range(1, n_images + 1):
        name = f'{i:012d}.jpg'
        image(root / img_dir / name)
        images.append({'id': i, 'file_name': name, 'width': W, 'height': H, **(extra_img or {})})
        anns.append({'id': 100 + i, 'image_id': i, 'category_id': 1, 'bbox': [5, 6, 30, 30], 'area': 500.0,
                     'iscrowd': 0, 'keypoints': kpts(k), 'num_keypoints': k, **(extra_ann or {})})
    data = {'images': images, 'annotations': anns, 'categories': [{'id': 1, 'name': 'person'}]}
    (root / ann_rel).parent.mkdir(parents=True, exist_ok=True)
    (root / ann_rel).write_text(json.dumps(data))
    return data


def make_coco(root: Path) -> None:
    for split in ('train', 'val'):
        coco_like(root, f'annotations/person_keypoints_{split}2017.json', f'{split}2017', 17)


def make_crowdpose(root: Path) -> None:
    for f in ('trainval', 'test'):
        coco_like(root, f'json/crowdpose_{f}.json', 'images', 14, extra_img={'crowdIndex': 0.3})


def make_ap10k(root: Path, split: int = 1) -> None:
    for f in ('train', 'val', 'test'):
        coco_like(root, f'annotations/ap10k-{f}-split{split}.json', 'data', 17)


def make_crowdpose_release(root: Path, ann_dir: str = 'json', same_ann_ids: bool = True) -> None:
    """CrowdPose as downloaded: train, val and test files; image ids distinct across them, as in the
    release (annotation ids start alike in each file when same_ann_ids, to exercise the renumbering)."""
    for n, f in enumerate(('train', 'val', 'test')):
        data = coco_like(root, f'{ann_dir}/crowdpose_{f}.json', 'images', 14, n_images=2 + n,
                         extra_img={'crowdIndex': 0.1 * (n + 1)})
        for im in data['images']:
            im['id'] += 1000 * (n + 1)
            new = f'{im["id"]:012d}.jpg'
            (root / 'images' / im['file_name']).replace(root / 'images' / new)
            im['file_name'] = new
        for i, a in enumerate(data['annotations']):
            a['image_id'] += 1000 * (n + 1)
            if not same_ann_ids:
                a['id'] += 1000 * (n + 1)
        (root / f'{ann_dir}/crowdpose_{f}.json').write_text(json.dumps(data))


def make_wholebody(root: Path) -> None:
    extra = {'foot_kpts': kpts(6), 'face_kpts': kpts(68), 'lefthand_kpts': kpts(21), 'righthand_kpts': kpts(21),
             'face_box': [8, 8, 10, 10], 'lefthand_box': [0, 0, 0, 0], 'righthand_box': [20, 20, 5, 5],
             'face_valid': True, 'lefthand_valid': False, 'righthand_valid': True, 'foot_valid': True}
    for split in ('train', 'val'):
        coco_like(root, f'annotations/coco_wholebody_{split}_v1.0.json', f'{split}2017', 17, extra_ann=extra)


def make_aic(root: Path) -> None:
    for folder, ann, imgs in (
            ('ai_challenger_keypoint_train_20170902', 'keypoint_train_annotations_20170909.json',
             'keypoint_train_images_20170902'),
            ('ai_challenger_keypoint_validation_20170911', 'keypoint_validation_annotations_20170911.json',
             'keypoint_validation_images_20170911')):
        recs = []
        for i in range(2):
            stem = f'{"ab"[i]}{i:039x}'
            image(root / folder / imgs / f'{stem}.jpg')
            kp = kpts(14, v=1)
            kp[2], kp[5], kp[8] = 2, 3, 1           # occluded, not labelled, visible
            recs.append({'image_id': stem, 'url': 'http://example.invalid',
                         'human_annotations': {'human1': [5, 6, 35, 40]}, 'keypoint_annotations': {'human1': kp}})
        (root / folder / ann).write_text(json.dumps(recs))


def mpii_release(n_images: int = 12) -> dict:
    """A RELEASE struct as scipy.io.savemat writes it: annolist entries with annorect / annopoints."""
    annolist = []
    for i in range(n_images):
        points = [{'x': 10.0 + j, 'y': 12.0, 'id': j, 'is_visible': 1 if j % 3 else 0} for j in range(16)]
        rect = {'x1': 20.0, 'y1': 5.0, 'x2': 30.0, 'y2': 15.0, 'scale': 0.1,
                'objpos': {'x': 32.0, 'y': 24.0}, 'annopoints': {'point': _struct_array(points)}}
        annolist.append({'image': {'name': f'{i:09d}.jpg'}, 'annorect': _struct_array([rect])})
    return {'annolist': _struct_array(annolist), 'img_train': np.ones(n_images, np.uint8)}


def _struct_array(items: list[dict]) -> np.ndarray:
    keys = list(items[0])
    arr = np.zeros((1, len(items)), dtype=[(k, object) for k in keys])
    for i, it in enumerate(items):
        for k in keys:
            arr[0, i][k] = it[k]
    return arr


def make_mpii(root: Path, release: dict | None = None) -> None:
    import scipy.io
    release = release or mpii_release()
    for e in release['annolist'][0]:
        image(root / 'images' / str(e['image']['name']))
    (root / 'mpii_human_pose_v1_u12_2').mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(root / 'mpii_human_pose_v1_u12_2/mpii_human_pose_v1_u12_1.mat', {'RELEASE': release})


MAKERS = {'coco': make_coco, 'coco-singleperson': make_coco, 'crowdpose': make_crowdpose, 'ap10k': make_ap10k,
          'coco-wholebody': make_wholebody, 'aic': make_aic, 'mpii': make_mpii}
