import numpy as np
import pytest

from rtmpose.data.meta import DATASET_META

COCO_SIGMAS = np.asarray(DATASET_META['coco'].sigmas)


def make_gt(num_images: int = 6, per_image: int = 3, k: int = 17, seed: int = 0, width: int = 640,
            height: int = 480, crowd_index: bool = False) -> dict:
    """A small COCO keypoint file with random people of varied size (some medium, some large)."""
    rng = np.random.default_rng(seed)
    images, anns = [], []
    for i in range(num_images):
        img = {'id': i + 1, 'file_name': f'{i + 1:06d}.jpg', 'width': width, 'height': height}
        if crowd_index:
            img['crowdIndex'] = float(rng.uniform(0, 1))
        images.append(img)
        for j in range(per_image):
            w, h = rng.uniform(40, 260), rng.uniform(60, 300)
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            kx, ky = rng.uniform(x, x + w, k), rng.uniform(y, y + h, k)
            v = rng.choice([0, 1, 2], size=k, p=[0.15, 0.15, 0.7])
            kp = np.stack([np.where(v > 0, kx, 0), np.where(v > 0, ky, 0), v], 1).reshape(-1)
            anns.append({'id': (i + 1) * 100 + j, 'image_id': i + 1, 'category_id': 1, 'iscrowd': 0,
                         'bbox': [float(x), float(y), float(w), float(h)], 'area': float(w * h * 0.7),
                         'keypoints': [float(t) for t in kp], 'num_keypoints': int((v > 0).sum())})
    return {'images': images, 'annotations': anns,
            'categories': [{'id': 1, 'name': 'person', 'supercategory': 'person'}]}


def predictions_from_gt(gt: dict, noise: float, seed: int = 1, drop: float = 0.0, k: int = 17):
    """Predictions at the ground truth plus Gaussian noise (pixels), scores in (0.1, 1)."""
    from rtmpose.evaluation.coco import Predictions
    rng = np.random.default_rng(seed)
    rows = [a for a in gt['annotations'] if rng.uniform() >= drop]
    kp = np.asarray([a['keypoints'] for a in rows], np.float64).reshape(len(rows), k, 3)
    boxes = np.asarray([a['bbox'] for a in rows], np.float64)
    xy = kp[..., :2].copy()
    unl = kp[..., 2] == 0  # unlabelled points: somewhere in the box
    centre = boxes[:, None, :2] + boxes[:, None, 2:] / 2
    xy[unl] = np.broadcast_to(centre, xy.shape)[unl]
    xy += rng.normal(0, noise, xy.shape)
    return Predictions(image_ids=np.asarray([a['image_id'] for a in rows]),
                       instance_ids=np.asarray([a['id'] for a in rows]),
                       keypoints=xy, keypoint_scores=rng.uniform(0.1, 1.0, (len(rows), k)),
                       bbox_scores=rng.uniform(0.5, 1.0, len(rows)),
                       areas=boxes[:, 2] * boxes[:, 3] * 1.5625)


@pytest.fixture
def coco_gt():
    return make_gt()
