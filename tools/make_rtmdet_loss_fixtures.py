"""Generate the RTMDet training-objective fixture tests/fixtures/rtmdet/loss.npz from the real mmdet 3.3.0.

Run inside the reference environment, from the repo root:
    .refenv/bin/python tools/make_rtmdet_loss_fixtures.py [OUT_DIR]
On fixed head outputs of two 320x320 images (RTMDet-nano's levels 40, 20, 10; distances that give boxes of
every size, some priors outside every ground truth) and fixed ground truths (overlapping people, a small one,
one touching the border, an image with one person), it stores:
- the official DynamicSoftLabelAssigner's result per image (assigned gt index, max overlaps, labels);
- RTMDetSepBNHead.loss_by_feat (the nano person config's QualityFocalLoss + GIoULoss, train_cfg) per level,
  and the gradients of their sum with respect to the class logits and the distances.
The inputs are stored too (a few thousand floats), so the test needs nothing else.
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
from make_rtmdet_fixtures import official_detector  # noqa: E402

OUT = 'tests/fixtures/rtmdet'
SIZE = 320
GT = [np.array([[40., 30., 130., 250.], [100., 50., 190., 260.], [250., 200., 275., 250.],
                [0., 120., 60., 319.]], np.float32),
      np.array([[150., 20., 230., 180.]], np.float32)]


def inputs(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for s in (8, 16, 32):
        n = SIZE // s
        out[f'cls_{s}'] = rng.normal(-2.0, 1.5, (2, 1, n, n)).astype(np.float32)
        # distances (left, top, right, bottom) in pixels: from under a stride to ~10 strides
        out[f'reg_{s}'] = (np.exp(rng.uniform(-0.5, 2.3, (2, 4, n, n))) * s).astype(np.float32)
    for i, g in enumerate(GT):
        out[f'gt_{i}'] = g
    return out


def main() -> None:
    out_dir = sys.argv[1] if len(sys.argv) > 1 else OUT
    _stub_compiled_ops()
    import mmdet
    import mmengine
    from mmengine.structures import InstanceData
    model, cfg, size = official_detector('rtmdet-nano')
    assert size == SIZE
    head = model.bbox_head
    head.train()
    arrays = inputs()
    cls = [torch.tensor(arrays[f'cls_{s}'], requires_grad=True) for s in (8, 16, 32)]
    reg = [torch.tensor(arrays[f'reg_{s}'], requires_grad=True) for s in (8, 16, 32)]
    gts = [InstanceData(bboxes=torch.tensor(g), labels=torch.zeros(len(g), dtype=torch.long)) for g in GT]
    metas = [dict(img_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE), batch_input_shape=(SIZE, SIZE))] * 2
    losses = head.loss_by_feat(cls, reg, gts, metas)
    total = sum(sum(v) for v in losses.values())
    total.backward()
    result = {f'loss_cls_{s}': float(v) for s, v in zip((8, 16, 32), losses['loss_cls'])}
    result.update({f'loss_bbox_{s}': float(v) for s, v in zip((8, 16, 32), losses['loss_bbox'])})
    for s, c, r in zip((8, 16, 32), cls, reg):
        arrays[f'grad_cls_{s}'] = c.grad.numpy()
        arrays[f'grad_reg_{s}'] = r.grad.numpy()
    # the assigner alone, image by image, on the same (detached) predictions loss_by_feat gives it
    priors = torch.cat(head.prior_generator.grid_priors([c.shape[-2:] for c in cls], with_stride=True, device='cpu'))
    from mmdet.structures.bbox import distance2bbox
    for i in range(2):
        scores = torch.cat([c[i].detach().permute(1, 2, 0).reshape(-1, 1) for c in cls])
        dist = torch.cat([r[i].detach().permute(1, 2, 0).reshape(-1, 4) for r in reg])
        pred = InstanceData(scores=scores, bboxes=distance2bbox(priors[:, :2], dist), priors=priors)
        a = head.assigner.assign(pred, gts[i])
        arrays[f'assigned_gt_{i}'] = a.gt_inds.numpy()
        arrays[f'assigned_labels_{i}'] = a.labels.numpy()
        arrays[f'max_overlaps_{i}'] = a.max_overlaps.numpy()
        result[f'positives_{i}'] = int((a.gt_inds > 0).sum())
    os.makedirs(out_dir, exist_ok=True)
    np.savez_compressed(f'{out_dir}/loss.npz', **arrays)
    result['versions'] = dict(mmdet=mmdet.__version__, mmengine=mmengine.__version__, torch=torch.__version__)
    result['train_cfg'] = cfg.model.train_cfg.to_dict()
    result['loss_cfg'] = dict(loss_cls=cfg.model.bbox_head.loss_cls.to_dict(),
                              loss_bbox=cfg.model.bbox_head.loss_bbox.to_dict())
    with open(f'{out_dir}/loss.json', 'w') as f:
        json.dump(result, f, indent=1)
    print('wrote', out_dir, json.dumps(result))


if __name__ == '__main__':
    main()
