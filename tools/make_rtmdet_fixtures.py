"""Generate the RTMDet parity fixtures in tests/fixtures/rtmdet/ from the real mmdet 3.3.0.

Run inside the reference environment, from the repo root:
    /work/refenv/bin/python tools/make_rtmdet_fixtures.py [OUT_DIR]
Weights and inputs come from rtmpose.seeded (seeded), so only outputs are stored:
- raw head outputs of RTMDet-nano (mmpose's person config) and RTMDet-tiny (mmdet's coco config,
  num_classes=1) on seeded weights with perturbed BN statistics;
- the test pipeline (Resize keep_ratio + Pad 114) on a small synthetic image;
- post-processing: mmdet's predict_by_feat (test_cfg) then the mmpose demo filter (score > 0.3, nms 0.3).
  mmcv-lite lacks the compiled nms op; `_reference_nms` below replaces it with the same loop in Python.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'tools'))
from make_parity_fixtures import _stub_compiled_ops  # noqa: E402

from rtmpose.seeded import rng_for, seeded_images, seeded_state_dict  # noqa: E402

OUT = 'tests/fixtures/rtmdet'
CONFIGS = {
    # suite name: (config path, input size)
    'rtmdet-nano': ('mmpose', 'demo/mmdetection_cfg/rtmdet_nano_320-8xb32_coco-person.py', 320),
    'rtmdet-tiny': ('mmdet', 'configs/rtmdet/rtmdet_tiny_8xb32-300e_coco.py', 416),
}
PREPROCESS_CASES = {'landscape': (37, 50, 64), 'portrait': (61, 29, 64), 'upscale': (20, 24, 96)}


def _reference_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float, offset: int = 0):
    """Stand-in for mmcv's compiled CPU nms (mmcv/ops/csrc/pytorch/cpu/nms.cpp), absent in mmcv-lite:
    the same plain loop (sort by score, keep, suppress IoU > threshold, areas with `offset`)."""
    order = scores.sort(descending=True)[1].tolist()
    b = boxes.tolist()
    area = [(x2 - x1 + offset) * (y2 - y1 + offset) for x1, y1, x2, y2 in b]
    suppressed, keep = [False] * len(b), []
    for ii, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        for j in order[ii + 1:]:
            if suppressed[j]:
                continue
            w = max(0.0, min(b[i][2], b[j][2]) - max(b[i][0], b[j][0]) + offset)
            h = max(0.0, min(b[i][3], b[j][3]) - max(b[i][1], b[j][1]) + offset)
            inter = w * h
            if inter / (area[i] + area[j] - inter) > iou_threshold:
                suppressed[j] = True
    return torch.tensor(keep, dtype=torch.long)


def official_detector(name: str):
    import mmdet
    import mmpose
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmdet.registry import MODELS
    pkg, rel, size = CONFIGS[name]
    root = os.path.dirname((mmpose if pkg == 'mmpose' else mmdet).__file__)
    cfg = Config.fromfile(os.path.join(root, '.mim', rel))
    cfg.model.backbone.init_cfg = None
    cfg.model.bbox_head.num_classes = 1
    init_default_scope('mmdet')
    return revert_sync_batchnorm(MODELS.build(cfg.model)).eval(), cfg, size


def model_fixtures(seed: int = 0) -> dict:
    summary = {}
    for name in CONFIGS:
        model, cfg, size = official_detector(name)
        sd = model.state_dict()
        model.load_state_dict(seeded_state_dict(sd, seed))
        x = seeded_images(1, size, size, seed)
        with torch.no_grad():
            cls, reg = model.bbox_head(model.neck(model.backbone(x)))
        arrays = {f'cls_{s}': c.numpy() for s, c in zip((8, 16, 32), cls)}
        arrays.update({f'reg_{s}': r.numpy() for s, r in zip((8, 16, 32), reg)})
        np.savez_compressed(f'{OUT}/model_{name}.npz', **arrays)
        bn = next(m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
        summary[name] = dict(keys={k: list(v.shape) for k, v in sd.items()}, input_size=size,
                             params=sum(p.numel() for p in model.parameters()),
                             bn_eps=bn.eps, bn_momentum=bn.momentum,
                             test_cfg=cfg.model.test_cfg.to_dict())
        print(name, len(sd), summary[name]['params'])
    return summary


def synthetic_image(h: int, w: int, seed: int) -> np.ndarray:
    rng = rng_for(seed, f'image-{h}x{w}')
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def preprocess_fixtures() -> dict:
    from mmdet.datasets.transforms import Pad, Resize
    arrays, meta = {}, {}
    for case, (h, w, size) in PREPROCESS_CASES.items():
        img = synthetic_image(h, w, 3)
        r = Resize(scale=(size, size), keep_ratio=True)(dict(img=img, img_shape=img.shape[:2]))
        r = Pad(size=(size, size), pad_val=dict(img=(114, 114, 114)))(r)
        arrays[case] = r['img']
        meta[case] = dict(shape=[h, w], size=size, scale_factor=list(r['scale_factor']),
                          img_shape=list(r['img_shape']))
    np.savez_compressed(f'{OUT}/preprocess.npz', **arrays)
    return meta


def postprocess_fixtures() -> dict:
    """Raw outputs shaped like a 320 input, with a few confident clusters, through mmdet + mmpose demo."""
    from mmengine.config import ConfigDict
    from mmpose.evaluation.functional import nms
    model, cfg, size = official_detector('rtmdet-nano')
    rng = rng_for(4, 'postprocess')
    cls, reg = [], []
    for s in (8, 16, 32):
        n = size // s
        logits = rng.normal(-5.0, 1.5, (1, 1, n, n))
        for _ in range(3):  # confident blobs so NMS has overlapping candidates
            cy, cx = rng.integers(1, n - 1, 2)
            logits[0, 0, cy - 1:cy + 2, cx - 1:cx + 2] += rng.uniform(3.0, 7.0, (3, 3))
        cls.append(torch.from_numpy(logits.astype(np.float32)))
        reg.append(torch.from_numpy(rng.uniform(0.5, 6.0, (1, 4, n, n)).astype(np.float32) * s))
    meta = dict(img_shape=(size, size), scale_factor=(0.5, 0.5), ori_shape=(640, 640))
    test_cfg = ConfigDict(cfg.model.test_cfg)
    with torch.no_grad():
        res = model.bbox_head.predict_by_feat(cls, reg, batch_img_metas=[meta], cfg=test_cfg, rescale=True)[0]
    boxes, scores = res.bboxes.numpy(), res.scores.numpy()
    dets = np.concatenate([boxes, scores[:, None]], 1)
    dets = dets[scores > 0.3]
    keep = nms(dets, 0.3)
    arrays = {f'cls_{s}': c.numpy() for s, c in zip((8, 16, 32), cls)}
    arrays.update({f'reg_{s}': r.numpy() for s, r in zip((8, 16, 32), reg)})
    arrays.update(mmdet_boxes=boxes, mmdet_scores=scores, demo_boxes=dets[keep, :4], demo_scores=dets[keep, 4])
    np.savez_compressed(f'{OUT}/postprocess.npz', **arrays)
    print('postprocess: mmdet', len(boxes), 'demo', len(keep))
    return dict(meta={k: list(v) for k, v in meta.items()}, test_cfg=test_cfg.to_dict(),
                demo=dict(score_thr=0.3, nms_thr=0.3))


def main() -> None:
    global OUT
    if len(sys.argv) > 1:
        OUT = sys.argv[1]
    _stub_compiled_ops()
    sys.modules['mmcv._ext'].nms = _reference_nms
    os.makedirs(OUT, exist_ok=True)
    import mmdet
    import mmengine
    import mmpose
    meta = dict(mmpose=mmpose.__version__, mmdet=mmdet.__version__, mmengine=mmengine.__version__,
                torch=torch.__version__, numpy=np.__version__)
    result = dict(versions=meta, models=model_fixtures(), preprocess=preprocess_fixtures(),
                  postprocess=postprocess_fixtures())
    with open(f'{OUT}/reference.json', 'w') as f:
        json.dump(result, f, indent=1)
    print('wrote', OUT, meta)


if __name__ == '__main__':
    main()
