"""Generate tests/fixtures/baselines/ from the real mmpose 1.3.2: the Table 1 baselines (ResNet-50 heatmap,
SimCC with deconvolutions, SimCC* without), their state-dict layout, fvcore complexity and seeded outputs.

Run inside the reference environment, from the repo root:
    /work/refenv/bin/python tools/make_baseline_fixtures.py
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rtmpose.seeded import seeded_images, seeded_state_dict  # noqa: E402
from tools.make_parity_fixtures import _stub_compiled_ops  # noqa: E402

OUT = 'tests/fixtures/baselines'
CONFIGS = {
    'simplebaseline-res50': ('body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py', {}),
    'simcc-res50': ('body_2d_keypoint/simcc/coco/simcc_res50_8xb64-210e_coco-256x192.py', {}),
    # SimCC* = the same config with the upsampling removed, as the mobilenetv2 wo-deconv config does it
    'simcc-res50-wo-deconv': ('body_2d_keypoint/simcc/coco/simcc_res50_8xb64-210e_coco-256x192.py',
                              {'deconv_out_channels': None}),
}


def fvcore_counts(module, *inputs) -> float:
    from fvcore.nn import FlopCountAnalysis
    fca = FlopCountAnalysis(module, inputs)
    fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(fca.total())


class _Tensors(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.head(self.model.backbone(x))


def main() -> None:
    _stub_compiled_ops()
    import mmpose
    cfg_root = os.path.join(os.path.dirname(mmpose.__file__), '.mim', 'configs')
    os.makedirs(OUT, exist_ok=True)
    summary = {}
    for name, (rel, head_overrides) in CONFIGS.items():
        from mmengine.config import Config
        from mmengine.model import revert_sync_batchnorm
        from mmengine.registry import init_default_scope
        from mmpose.registry import MODELS
        cfg = Config.fromfile(os.path.join(cfg_root, rel))
        cfg.model.backbone.init_cfg = None
        cfg.model.head.update(head_overrides)
        init_default_scope('mmpose')
        model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
        sd = model.state_dict()
        model.load_state_dict(seeded_state_dict(sd, 0))
        x = seeded_images(1, 256, 192, 0)
        with torch.no_grad():
            feats = model.backbone(x)
            out = model.head(feats)
        arrays = {'backbone': feats[-1].numpy()[:, :8]}
        if isinstance(out, tuple):
            arrays.update(simcc_x=out[0].numpy(), simcc_y=out[1].numpy())
        else:
            arrays['heatmaps'] = out.numpy()[:, :3]  # three keypoints keep the fixture small
        np.savez_compressed(f'{OUT}/{name}.npz', **arrays)
        summary[name] = dict(
            config=rel, head_overrides={k: v for k, v in head_overrides.items()},
            keys={k: list(v.shape) for k, v in sd.items()},
            params=sum(p.numel() for p in model.parameters()),
            head_params=sum(p.numel() for p in model.head.parameters()),
            flops_fvcore=fvcore_counts(_Tensors(model), torch.zeros(1, 3, 256, 192)),
            head_flops_fvcore=fvcore_counts(model.head, tuple(model.backbone(torch.zeros(1, 3, 256, 192)))))
        print(name, len(sd), summary[name]['params'], summary[name]['flops_fvcore'], summary[name]['head_flops_fvcore'])
    import fvcore
    summary['versions'] = dict(mmpose=mmpose.__version__, torch=torch.__version__,
                               fvcore=getattr(fvcore, '__version__', 'unknown'))
    with open(f'{OUT}/reference.json', 'w') as f:
        json.dump(summary, f, indent=1, sort_keys=True)


if __name__ == '__main__':
    main()
