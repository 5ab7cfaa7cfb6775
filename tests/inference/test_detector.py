"""RTMDet preprocessing, decoding and NMS against mmdet 3.3.0 / the mmpose demo (committed fixtures)."""
import json
from pathlib import Path

import numpy as np
import pytest

from rtmpose.inference.detector import DetectorSettings, decode, nms, person_filter, preprocess, resize_pad
from rtmpose.seeded import rng_for

FIX = Path(__file__).parents[1] / 'fixtures' / 'rtmdet'
REF = json.loads((FIX / 'reference.json').read_text())


@pytest.mark.parametrize('case', ['landscape', 'portrait', 'upscale'])
def test_resize_pad_matches_mmdet_test_pipeline(case):
    meta = REF['preprocess'][case]
    h, w = meta['shape']
    img = rng_for(3, f'image-{h}x{w}').integers(0, 256, (h, w, 3), dtype=np.uint8)
    out, scale_factor = resize_pad(img, meta['size'])
    np.testing.assert_array_equal(out, np.load(FIX / 'preprocess.npz')[case])
    np.testing.assert_allclose(scale_factor, meta['scale_factor'])


def test_preprocess_normalises_bgr_without_channel_swap():
    img = np.zeros((10, 20, 3), np.uint8)
    img[..., 0] = 103  # blue channel close to the blue mean
    x, _ = preprocess(img, 32)
    assert x.shape == (1, 3, 32, 32) and x.dtype == np.float32
    assert abs(x[0, 0, 0, 0] - (103 - 103.53) / 57.375) < 1e-6
    assert abs(x[0, 0, 31, 31] - (114 - 103.53) / 57.375) < 1e-6   # padding value


def test_decode_and_demo_filter_match_mmdet_and_mmpose():
    ref = np.load(FIX / 'postprocess.npz')
    meta = REF['postprocess']['meta']
    cfg = REF['postprocess']['test_cfg']
    settings = DetectorSettings(input_size=meta['img_shape'][0], pre_score_thr=cfg['score_thr'],
                                nms_pre=cfg['nms_pre'], pre_nms_thr=cfg['nms']['iou_threshold'],
                                max_per_img=cfg['max_per_img'], min_bbox_size=cfg['min_bbox_size'])
    outputs = [ref[k] for k in ('cls_8', 'cls_16', 'cls_32', 'reg_8', 'reg_16', 'reg_32')]
    boxes, scores = decode(outputs, tuple(meta['scale_factor']), settings)
    np.testing.assert_allclose(boxes, ref['mmdet_boxes'], atol=1e-3)
    np.testing.assert_allclose(scores, ref['mmdet_scores'], atol=1e-5)
    boxes, scores = person_filter(boxes, scores, settings)
    assert len(boxes) > 1
    np.testing.assert_allclose(boxes, ref['demo_boxes'], atol=1e-3)
    np.testing.assert_allclose(scores, ref['demo_scores'], atol=1e-5)


def test_nms_threshold_semantics():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 12], [20, 20, 30, 30], [1, 0, 11, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    keep = nms(boxes, scores, 0.5)
    assert keep.tolist() == [3, 2]            # box 3 wins and suppresses 0 (IoU 0.82) and 1
    assert nms(boxes, scores, 0.8).tolist() == [3, 1, 2]   # IoU(3,0)=0.82 > 0.8, IoU(3,1)=0.69 kept
    assert nms(boxes, scores, 0.9).tolist() == [3, 0, 1, 2]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []
