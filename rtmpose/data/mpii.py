"""MPII Human Pose, official release (mpii_human_pose_v1_u12_1.mat, read with scipy.io.loadmat).

--raw layout:
    mpii_human_pose_v1_u12_2/mpii_human_pose_v1_u12_1.mat   (or the .mat directly in --raw)
    images/*.jpg
Only people of training images (img_train == 1) carry public joints. They are split deterministically:
images whose position in annolist is a multiple of 10 go to val, the rest to train. This is NOT the
Tompson validation split mmpose uses (annotations/mpii_val.json), so PCKh here is not comparable with
the model zoo's 0.907.
Per person: joints (16, MPII joint ids = mmpose order) become COCO keypoints, 1-based MATLAB pixels
shifted to 0-based; v = 2 if is_visible else 1, unannotated joints (0, 0, 0). The box follows mmpose
MpiiDataset: centre = objpos with y + 15 * scale, minus 1; side = scale * 200; stored unclipped as
bbox (xywh) and as bbox_center / bbox_scale (pre-padding pixels), with head_box (x1, y1, x2, y2) for PCKh.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rtmpose.data.checks import Checker, check_images, image_size, person_category, require_dir
from rtmpose.data.meta import DATASET_META
from rtmpose.io import sha256_file
from rtmpose.errors import Error

MAT_NAMES = ('mpii_human_pose_v1_u12_2/mpii_human_pose_v1_u12_1.mat', 'mpii_human_pose_v1_u12_1.mat')
PIXEL_STD = 200.0


def _list(x) -> list:
    """loadmat(squeeze_me=True) turns 1-element struct arrays into scalars and empty ones into arrays."""
    if isinstance(x, np.ndarray):
        return list(x.ravel())
    return [x]


def _num(x) -> float | None:
    if isinstance(x, np.ndarray):
        if x.size != 1:
            return None
        x = x.item()
    if isinstance(x, str):
        x = x.strip()
        return float(x) if x else None
    return float(x)


def find_mat(raw: Path) -> Path:
    for name in MAT_NAMES:
        if (raw / name).is_file():
            return raw / name
    raise Error(f'{raw}: MPII annotation {MAT_NAMES[0]} not found')


def read_release(mat: Path, images_root: Path, skip_invalid: bool, skipped: list) -> dict[str, dict]:
    import scipy.io
    try:
        release = scipy.io.loadmat(mat, struct_as_record=False, squeeze_me=True)['RELEASE']
        annolist, img_train = _list(release.annolist), np.atleast_1d(release.img_train)
    except (ValueError, KeyError, AttributeError, TypeError, OSError) as e:
        raise Error(f'{mat}: not a readable MPII release .mat ({type(e).__name__}: {e})') from None
    if len(img_train) != len(annolist):
        raise Error(f'{mat}: annolist has {len(annolist)} entries but img_train {len(img_train)}')
    check = Checker(mat, skip_invalid)
    splits = {'train': ([], []), 'val': ([], [])}
    for idx, (entry, is_train) in enumerate(zip(annolist, img_train)):
        if int(is_train) != 1:
            continue
        try:
            name = str(entry.image.name)
        except AttributeError:
            raise Error(f'{mat}: annolist {idx}: no image name') from None
        people = []
        for r, rect in enumerate(_list(getattr(entry, 'annorect', np.array([])))):
            if not hasattr(rect, 'annopoints') or not hasattr(rect, 'scale') or not hasattr(rect, 'objpos'):
                continue                                     # unannotated person (no joints released)
            points = _list(getattr(rect.annopoints, 'point', np.array([]))) if not isinstance(
                rect.annopoints, np.ndarray) else []
            scale = _num(rect.scale)
            if not points or scale is None:
                continue
            people.append((r, rect, points, scale))
        if not people:
            continue
        record = f'annolist {idx} (image {name})'
        w, h = image_size(images_root / name, mat, record)
        image_id = idx + 1
        images, anns = splits['val' if idx % 10 == 0 else 'train']
        images.append({'id': image_id, 'file_name': f'images/{name}', 'width': w, 'height': h})
        for r, rect, points, scale in people:
            rec = f'{record} annorect {r}'
            kp = np.zeros((16, 3))
            bad = None
            for p in points:
                jid = int(_num(p.id))
                if not 0 <= jid < 16:
                    bad = f'joint id {jid} outside 0..15'
                    break
                vis = _num(getattr(p, 'is_visible', None)) if hasattr(p, 'is_visible') else None
                kp[jid] = [_num(p.x) - 1, _num(p.y) - 1, 2 if vis is None or vis >= 1 else 1]
            if bad:
                check.fail(rec, bad)
                continue
            if scale <= 0:
                check.fail(rec, f'scale {scale:g} is zero or negative')
                continue
            center = np.array([_num(rect.objpos.x), _num(rect.objpos.y)], np.float64)
            center[1] += 15.0 * scale
            center -= 1
            side = scale * PIXEL_STD
            bbox = [float(center[0] - side / 2), float(center[1] - side / 2), side, side]
            keypoints = [round(float(v), 3) for v in kp.reshape(-1)]
            if not check.instance(rec, keypoints, 16, bbox, w, h):
                continue
            head = [_num(getattr(rect, k)) for k in ('x1', 'y1', 'x2', 'y2')]
            if None in head or head[2] <= head[0] or head[3] <= head[1]:
                check.fail(rec, f'head box {head} has zero or negative size')
                continue
            anns.append({'id': image_id * 100 + r, 'image_id': image_id, 'category_id': 1, 'bbox': bbox,
                         'bbox_center': center.tolist(), 'bbox_scale': [side, side],
                         'area': float(max(side * side * 0.53, 1.0)), 'iscrowd': 0, 'keypoints': keypoints,
                         'num_keypoints': int((kp[:, 2] > 0).sum()), 'head_box': [h_ - 1 for h_ in head]})
    skipped.extend(check.skipped)
    cats = [person_category(DATASET_META['mpii'])]
    return {s: {'images': im, 'annotations': an, 'categories': cats} for s, (im, an) in splits.items()}


def convert(raw: Path, decode: str = 'sample', skip_invalid: bool = False) -> tuple[dict, dict, list]:
    require_dir(raw, 'raw MPII release')
    require_dir(raw / 'images', 'MPII image')
    mat = find_mat(raw)
    skipped: list[str] = []
    splits = read_release(mat, raw / 'images', skip_invalid, skipped)
    for coco in splits.values():
        check_images(coco['images'], raw, mat, decode)
    return splits, {mat.relative_to(raw).as_posix(): sha256_file(mat)}, skipped
