"""The embedded default data set: rendered stick-and-limb people with the 17 COCO keypoints.

Every image is drawn from its own RNG (seed, split, index), so the same seed gives byte-identical files
and generation order does not matter. Conventions follow COCO person_keypoints:
- keypoints (x, y, v): v=2 visible, v=1 labelled but covered (by a later figure or an occluder
  rectangle), v=0 and (0, 0) when the point falls outside the image;
- bbox: tight xywh box of the figure's drawn pixels inside the image (amodal: a covered part counts);
- area: number of the figure's drawn pixels inside the image (OKS uses it as the object scale);
- segmentation: the outer contours of that mask as polygons.
Every figure faces the camera (eyes and nose drawn on the head), so the person's left is on the image
right. That cue is mirror-consistent: a flipped figure is again a valid figure with swapped labels, so
RandomFlip and flip test behave as on real people. (A colour-per-side cue would not survive flipping.)
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rtmpose.data.meta import DATASET_META
from rtmpose.data.prepared import staged_dir, write_prepared
from rtmpose.errors import Error
from rtmpose.settings import check_ranges

COCO_NAMES = DATASET_META['coco'].keypoint_names
_IDX = {n: i for i, n in enumerate(COCO_NAMES)}
JPEG_QUALITY = 92
_SHIFT = 4                      # cv2 sub-pixel drawing: coordinates carry 4 fractional bits
VAL_ID_OFFSET = 10_000_000      # image ids of the val split start here (train starts at 1)


@dataclass
class SyntheticConfig:
    seed: int = 0
    num_train: int = 600
    num_val: int = 100
    width: int = 320
    height: int = 240
    max_people: int = 3
    occluder_prob: float = 0.35

    def validate(self, where: str) -> None:
        check_ranges(self, where, probabilities=('occluder_prob',),
                     at_least={'num_train': 1, 'num_val': 1, 'width': 64, 'height': 64, 'max_people': 1})


def _rng(seed: int, split: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, split, index])


def _direction(up: np.ndarray, side: np.ndarray, angle: float, sign: float) -> np.ndarray:
    """Unit vector `angle` radians away from straight down, rotating outward for side `sign`."""
    return np.cos(angle) * -up + np.sin(angle) * side * sign


def _pose_params(rng: np.random.Generator) -> dict:
    """The random draws of one pose, in the order `_pose` has always made them: the lean, the body's
    proportions, and per side the arm angles (a1 upper arm, a2 forearm, radians from straight down,
    outward positive), the arm and leg segment length factors, the leg angles (b1 thigh, b2 shin); then
    the head's yaw."""
    lean = rng.normal(0.0, 0.12)
    if rng.random() < 0.08:                    # a few strongly tilted bodies (bending, falling)
        lean += rng.choice([-1, 1]) * rng.uniform(0.5, 1.2)
    q = {'lean': lean, 'torso': rng.uniform(0.85, 1.1), 'sw': rng.uniform(0.9, 1.25),
         'hw': rng.uniform(0.55, 0.75)}
    for name in ('left', 'right'):
        a1 = rng.uniform(-0.35, 2.9)
        a2 = a1 + rng.uniform(-2.3, 1.3)
        f1, f2 = (rng.uniform(0.55, 1.0, 2) if rng.random() < 0.3 else (1.0, 1.0))
        if rng.random() < 0.15:                # raised leg: kicking, sitting, climbing
            b1 = rng.uniform(0.6, 1.6)
        else:
            b1 = rng.uniform(-0.2, 0.55)
        b2 = b1 + rng.uniform(-0.9, 0.35)
        thigh, shin = rng.uniform(0.8, 1.05), rng.uniform(0.8, 1.05)
        q.update({f'{name}_a1': a1, f'{name}_a2': a2, f'{name}_f1': f1, f'{name}_f2': f2,
                  f'{name}_b1': b1, f'{name}_b2': b2, f'{name}_thigh': thigh, f'{name}_shin': shin})
    q['yaw'] = rng.uniform(-0.45, 0.45)
    return q


def _joints(q: dict, u: float) -> dict[str, np.ndarray]:
    """Joint positions relative to the hip centre for pose parameters `q` (`_pose_params`) and a figure of
    unit `u` (about a head height); '_head' and '_up' (the body's unit up vector) are for drawing."""
    lean = q['lean']
    up = np.array([np.sin(lean), -np.cos(lean)])
    side = np.array([-up[1], up[0]])           # points to the person's left = image right
    torso = 3.0 * u * q['torso']
    neck = up * torso
    sw, hw = u * q['sw'], u * q['hw']
    j: dict[str, np.ndarray] = {}
    for name, sign in (('left', 1.0), ('right', -1.0)):
        shoulder = neck - up * 0.25 * u + side * sign * sw
        hip = side * sign * hw
        elbow = shoulder + _direction(up, side, q[f'{name}_a1'], sign) * 1.5 * u * q[f'{name}_f1']
        wrist = elbow + _direction(up, side, q[f'{name}_a2'], sign) * 1.3 * u * q[f'{name}_f2']
        knee = hip + _direction(up, side, q[f'{name}_b1'], sign) * 2.0 * u * q[f'{name}_thigh']
        ankle = knee + _direction(up, side, q[f'{name}_b2'], sign) * 1.9 * u * q[f'{name}_shin']
        j.update({f'{name}_shoulder': shoulder, f'{name}_elbow': elbow, f'{name}_wrist': wrist,
                  f'{name}_hip': hip, f'{name}_knee': knee, f'{name}_ankle': ankle})
    head = neck + up * 0.95 * u
    yaw = q['yaw']
    j['nose'] = head - up * 0.12 * u + side * yaw * 0.35 * u
    for name, sign in (('left', 1.0), ('right', -1.0)):
        j[f'{name}_eye'] = head + up * 0.12 * u + side * (sign * 0.24 + yaw * 0.3) * u
        j[f'{name}_ear'] = head + up * 0.02 * u + side * (sign * 0.55 - yaw * 0.08) * u
    j['_head'] = head
    j['_up'] = up
    return j


def _pose(rng: np.random.Generator, u: float) -> dict[str, np.ndarray]:
    """Joint positions relative to the hip centre for a figure of unit `u` (about a head height)."""
    return _joints(_pose_params(rng), u)


def _colour(rng: np.random.Generator, sat=(60, 255), val=(60, 255)) -> tuple[int, int, int]:
    import cv2
    hsv = np.array([[[rng.integers(0, 180), rng.integers(*sat), rng.integers(*val)]]], np.uint8)
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    import cv2
    grid = rng.integers(0, 256, (int(rng.integers(2, 7)), int(rng.integers(2, 7)), 3)).astype(np.uint8)
    img = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    fine = rng.normal(0, 1, (h // 8 + 1, w // 8 + 1, 1)).astype(np.float32)
    img += cv2.resize(fine, (w, h), interpolation=cv2.INTER_LINEAR)[..., None] * rng.uniform(5, 30)
    if rng.random() < 0.4:                      # stripes or a floor/wall edge
        period = rng.uniform(6, 40)
        ang = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w]
        img += (np.sin((xx * np.cos(ang) + yy * np.sin(ang)) / period * 2 * np.pi) * rng.uniform(10, 40))[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(3, 12))):  # clutter: boxes, discs and thick bars (limb-like distractors)
        c = _colour(rng)
        kind = rng.integers(0, 3)
        p = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        if kind == 0:
            q = (p[0] + int(rng.integers(-60, 60)), p[1] + int(rng.integers(-60, 60)))
            cv2.rectangle(img, p, q, c, -1 if rng.random() < 0.6 else int(rng.integers(1, 4)))
        elif kind == 1:
            cv2.circle(img, p, int(rng.integers(3, 25)), c, -1, cv2.LINE_AA)
        else:
            q = (p[0] + int(rng.integers(-70, 70)), p[1] + int(rng.integers(-70, 70)))
            cv2.line(img, p, q, c, int(rng.integers(2, 10)), cv2.LINE_AA)
    # desaturate part way: scenes are less garish than uniform random colours, figures stand out more
    grey = img.mean(axis=2, keepdims=True)
    alpha = rng.uniform(0.3, 0.7)
    img = img * (1 - alpha) + grey * alpha
    noise = rng.normal(0, rng.uniform(2, 12), img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(p[0] * (1 << _SHIFT))), int(round(p[1] * (1 << _SHIFT)))


def _draw_figure(canvas: np.ndarray, mask: np.ndarray, j: dict[str, np.ndarray], u: float,
                 rng: np.random.Generator) -> None:
    """Draw one figure on `canvas` (anti-aliased) and its silhouette on `mask` (0/1)."""
    import cv2
    shirt, pants, skin = _colour(rng), _colour(rng), _colour(rng, sat=(40, 140), val=(90, 240))
    shoe, joint = _colour(rng, val=(20, 120)), _colour(rng, val=(30, 200))
    arm_t, leg_t = max(2, int(0.42 * u)), max(3, int(0.55 * u))

    def line(a, b, colour, t):
        cv2.line(canvas, _pt(a), _pt(b), colour, t, cv2.LINE_AA, _SHIFT)
        cv2.line(mask, _pt(a), _pt(b), 1, t, cv2.LINE_8, _SHIFT)

    def disc(c, r, colour):
        cv2.circle(canvas, _pt(c), int(round(r * (1 << _SHIFT))), colour, -1, cv2.LINE_AA, _SHIFT)
        cv2.circle(mask, _pt(c), int(round(r * (1 << _SHIFT))), 1, -1, cv2.LINE_8, _SHIFT)

    for s in ('left', 'right'):                 # legs first: torso and arms may cover them
        line(j[f'{s}_hip'], j[f'{s}_knee'], pants, leg_t)
        line(j[f'{s}_knee'], j[f'{s}_ankle'], pants, int(leg_t * 0.85))
        disc(j[f'{s}_knee'], leg_t * 0.45, joint)
        disc(j[f'{s}_ankle'], leg_t * 0.6, shoe)
    torso = np.array([_pt(j['left_shoulder']), _pt(j['right_shoulder']), _pt(j['right_hip']),
                      _pt(j['left_hip'])], np.int32)
    cv2.fillConvexPoly(canvas, torso, shirt, cv2.LINE_AA, _SHIFT)
    cv2.fillConvexPoly(mask, torso, 1, cv2.LINE_8, _SHIFT)
    neck = j['_head'] - j['_up'] * 0.75 * u
    line(neck, (j['left_shoulder'] + j['right_shoulder']) / 2, skin, max(2, int(0.4 * u)))
    disc(j['_head'], 0.6 * u, skin)
    for s in ('left', 'right'):
        disc(j[f'{s}_ear'], 0.14 * u, skin)
        line(j[f'{s}_shoulder'], j[f'{s}_elbow'], shirt, arm_t)
        line(j[f'{s}_elbow'], j[f'{s}_wrist'], skin, int(arm_t * 0.85))
        disc(j[f'{s}_elbow'], arm_t * 0.45, joint)
        disc(j[f'{s}_wrist'], arm_t * 0.6, skin)
    dark = (20, 20, 20)
    for s in ('left', 'right'):                 # the face marks the front: it defines left/right
        cv2.circle(canvas, _pt(j[f'{s}_eye']), int(0.09 * u * (1 << _SHIFT)) + 8, dark, -1, cv2.LINE_AA, _SHIFT)
    cv2.circle(canvas, _pt(j['nose']), int(0.07 * u * (1 << _SHIFT)) + 8, (40, 40, 160), -1, cv2.LINE_AA, _SHIFT)


def _polygons(mask: np.ndarray) -> list[list[float]]:
    import cv2
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys = []
    for c in contours:
        c = cv2.approxPolyDP(c, 1.0, True).reshape(-1, 2)
        if len(c) >= 3:
            polys.append([float(v) for v in c.reshape(-1)])
    return polys


def render_image(rng: np.random.Generator, cfg: SyntheticConfig) -> tuple[np.ndarray, list[dict]]:
    """One image and its person annotations (without ids)."""
    import cv2
    w, h = cfg.width, cfg.height
    img = _background(rng, w, h)
    people = []
    for _ in range(int(rng.integers(1, cfg.max_people + 1))):
        height_px = rng.uniform(0.4, 1.0) * h
        u = height_px / 8.5
        j = _pose(rng, u)
        pts = np.stack([j[n] for n in COCO_NAMES])
        lo, hi = pts.min(0) - u, pts.max(0) + u
        target = np.array([rng.uniform(0.12, 0.88) * w, rng.uniform(0.3, 0.7) * h])
        offset = target - (lo + hi) / 2
        j = {k: (v + offset if not k.startswith('_up') else v) for k, v in j.items()}
        mask = np.zeros((h, w), np.uint8)
        _draw_figure(img, mask, j, u, rng)
        kpts = np.stack([j[n] for n in COCO_NAMES])
        # covered by later figures: start with each figure's own mask, occlude when later ones are drawn
        for p in people:
            p['cover'] |= mask.astype(bool)
        people.append({'kpts': kpts, 'mask': mask, 'cover': np.zeros((h, w), bool)})
    if rng.random() < cfg.occluder_prob and people:
        target = people[int(rng.integers(0, len(people)))]
        ys, xs = np.nonzero(target['mask'])
        if len(xs):
            cx, cy = int(xs[rng.integers(len(xs))]), int(ys[rng.integers(len(ys))])
            rw, rh = int(rng.uniform(0.12, 0.35) * w), int(rng.uniform(0.12, 0.35) * h)
            x1, y1 = cx - rw // 2, cy - rh // 2
            xa, ya, xb, yb = _paste(img, _background(rng, rw, rh), x1, y1)
            for p in people:
                p['cover'][ya:yb, xa:xb] = True
    anns = [a for a in (_annotation(p['kpts'], p['mask'], p['cover']) for p in people) if a is not None]
    return img, anns


def _paste(img: np.ndarray, patch: np.ndarray, x1: int, y1: int) -> tuple[int, int, int, int]:
    """Copy `patch` onto `img` with its top-left corner at (x1, y1), clipped to the image; returns the
    covered region (xa, ya, xb, yb), end-exclusive."""
    h, w = img.shape[:2]
    ph, pw = patch.shape[:2]
    xa, ya, xb, yb = max(x1, 0), max(y1, 0), min(x1 + pw, w), min(y1 + ph, h)
    img[ya:yb, xa:xb] = patch[ya - y1:yb - y1, xa - x1:xb - x1]
    return xa, ya, xb, yb


def _annotation(kpts: np.ndarray, mask: np.ndarray, cover: np.ndarray) -> dict | None:
    """The COCO annotation (without ids) of one figure: its 17 keypoints (K, 2), its drawn pixels `mask`
    (H, W) 0/1, and the pixels `cover`ed in front of it (H, W) bool. None when no drawn pixel lies in the
    image."""
    h, w = mask.shape
    kp = []
    for x, y in kpts:
        if 0 <= x < w and 0 <= y < h:
            v = 1 if cover[int(y), int(x)] else 2
            kp += [round(float(x), 2), round(float(y), 2), v]
        else:
            kp += [0.0, 0.0, 0]
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return None
    x0, y0 = int(xs.min()), int(ys.min())
    return {
        'bbox': [float(x0), float(y0), float(xs.max() + 1 - x0), float(ys.max() + 1 - y0)],
        'area': float(len(xs)), 'keypoints': kp, 'num_keypoints': int(sum(v > 0 for v in kp[2::3])),
        'segmentation': _polygons(mask), 'iscrowd': 0, 'category_id': 1,
    }


def _categories() -> list[dict]:
    meta = DATASET_META['coco']
    return [{'id': 1, 'name': 'person', 'supercategory': 'person', 'keypoints': list(meta.keypoint_names),
             'skeleton': [[a + 1, b + 1] for a, b in meta.skeleton]}]


def make_synthetic(out_dir: str | os.PathLike, seed: int = 0, num_train: int = 600, num_val: int = 100,
                   width: int = 320, height: int = 240, max_people: int = 3,
                   occluder_prob: float = 0.35, progress: bool = True) -> dict:
    """Render the synthetic set into `out_dir` (replaced atomically); return its manifest."""
    import cv2
    from tqdm import tqdm
    cfg = SyntheticConfig(seed, num_train, num_val, width, height, max_people, occluder_prob)
    if not 0 <= occluder_prob <= 1:
        raise Error(f'synthetic: occluder_prob must be a probability in [0, 1] (got {occluder_prob})')
    if num_train < 1 or num_val < 1:
        raise Error(f'synthetic: num_train and num_val must be >= 1 (got {num_train}, {num_val})')
    if width < 64 or height < 64 or max_people < 1:
        raise Error(f'synthetic: image size must be at least 64x64 and max_people >= 1 (got {width}x{height}, '
                    f'{max_people})')
    with staged_dir(out_dir) as tmp:
        splits = {}
        for split_no, (split, count) in enumerate((('train', num_train), ('val', num_val))):
            (tmp / 'images' / split).mkdir(parents=True)
            images, anns = [], []
            # a bar on a terminal only (disable=None): no bar lines in logs or around a one-line error
            for i in tqdm(range(count), desc=f'synthetic {split}', disable=None if progress else True, leave=False):
                img, people = render_image(_rng(seed, split_no, i), cfg)
                image_id = split_no * VAL_ID_OFFSET + i + 1
                name = f'images/{split}/{image_id:08d}.jpg'
                ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY,
                                                     cv2.IMWRITE_JPEG_OPTIMIZE, 0, cv2.IMWRITE_JPEG_PROGRESSIVE, 0])
                if not ok:
                    raise Error(f'{name}: JPEG encoding failed')
                (tmp / name).write_bytes(buf.tobytes())
                images.append({'id': image_id, 'file_name': name, 'width': width, 'height': height})
                for k, ann in enumerate(people):
                    anns.append({'id': image_id * 10 + k, 'image_id': image_id, **ann})
            splits[split] = {'images': images, 'annotations': anns, 'categories': _categories(),
                             'info': {'description': 'rtmpose-suite synthetic people', 'seed': seed}}
        manifest = write_prepared(tmp, 'synthetic', splits, image_root='.', inputs={},
                                  extra={'params': asdict(cfg)})
    return manifest
