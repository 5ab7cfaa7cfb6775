import json

import numpy as np

from rtmpose.data.synthetic import make_synthetic


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def test_same_seed_gives_identical_bytes(tmp_path):
    a = make_synthetic(tmp_path / 'a', seed=7, num_train=4, num_val=2, progress=False)
    b = make_synthetic(tmp_path / 'b', seed=7, num_train=4, num_val=2, progress=False)
    c = make_synthetic(tmp_path / 'c', seed=8, num_train=4, num_val=2, progress=False)
    assert a == b
    fa, fb, fc = _files(tmp_path / 'a'), _files(tmp_path / 'b'), _files(tmp_path / 'c')
    assert fa == fb
    assert fa['train.json'] != fc['train.json']
    assert sorted(fa) == ['images/train/00000001.jpg', 'images/train/00000002.jpg', 'images/train/00000003.jpg',
                          'images/train/00000004.jpg', 'images/val/10000001.jpg', 'images/val/10000002.jpg',
                          'manifest.json', 'train.json', 'val.json']


def test_coco_conventions(synthetic_dir):
    import cv2
    from pycocotools.coco import COCO
    manifest = json.loads((synthetic_dir / 'manifest.json').read_text())
    assert manifest['image_root'] == '.' and manifest['dataset'] == 'synthetic'
    for split in ('train', 'val'):
        coco = COCO(str(synthetic_dir / f'{split}.json'))
        assert len(coco.getImgIds()) == manifest['splits'][split]['images']
        assert len(coco.getAnnIds()) == manifest['splits'][split]['instances']
        for ann in coco.loadAnns(coco.getAnnIds()):
            img = coco.imgs[ann['image_id']]
            assert cv2.imread(str(synthetic_dir / img['file_name'])).shape == (img['height'], img['width'], 3)
            k = np.array(ann['keypoints']).reshape(17, 3)
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= img['width'] and y + h <= img['height']
            assert 0 < ann['area'] <= w * h
            assert ann['num_keypoints'] == int((k[:, 2] > 0).sum())
            assert (k[k[:, 2] == 0, :2] == 0).all()
            lab = k[k[:, 2] > 0]
            assert ((lab[:, 0] >= 0) & (lab[:, 0] < img['width']) & (lab[:, 1] >= 0) & (lab[:, 1] < img['height'])).all()
    # the set exercises every visibility state across its instances
    anns = json.loads((synthetic_dir / 'train.json').read_text())['annotations']
    vis = np.concatenate([np.array(a['keypoints'][2::3]) for a in anns])
    assert {0, 1, 2} <= set(vis.tolist())                      # outside the image, covered, visible


def test_person_left_is_on_image_right(synthetic_dir):
    """Figures face the camera: in the body frame (up = hips -> shoulders), left joints lie on the image right."""
    anns = json.loads((synthetic_dir / 'train.json').read_text())['annotations']
    checked = 0
    for a in anns:
        k = np.array(a['keypoints']).reshape(17, 3)
        if not k[[5, 6, 11, 12], 2].all():
            continue
        up = (k[5, :2] + k[6, :2]) / 2 - (k[11, :2] + k[12, :2]) / 2
        side = np.array([-up[1], up[0]])               # image right when the body is upright
        for left, right in ((5, 6), (11, 12)):
            assert np.dot(k[left, :2] - k[right, :2], side) > 0
            checked += 1
    assert checked > 0
