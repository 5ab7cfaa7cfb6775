"""Parameters and fvcore GFLOPs of the official mmpose 1.3.2 peer models (runs in the reference env).

    /work/refenv/bin/python tools/peer_complexity_reference.py tests/fixtures/harness/peers_reference.json

PP-TinyPose is not in mmpose; its published numbers come from PaddleDetection's README.
"""
from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from make_parity_fixtures import _stub_compiled_ops, flops_fvcore, official_model  # noqa: E402

CONFIGS = {  # suite name: (config under mmpose/.mim/configs, input (h, w))
    'hrnet-w32': ('body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py', (256, 192)),
    'hrnet-w48-384x288': ('body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-384x288.py',
                          (384, 288)),
    'litehrnet-30': ('body_2d_keypoint/topdown_heatmap/coco/td-hm_litehrnet-30_8xb64-210e_coco-256x192.py',
                     (256, 192)),
}


def main(out: str) -> None:
    _stub_compiled_ops()
    import mmpose
    root = os.path.join(os.path.dirname(mmpose.__file__), '.mim', 'configs')
    result = {}
    for name, (cfg, (h, w)) in CONFIGS.items():
        model, _ = official_model(os.path.join(root, cfg), None)
        result[name] = dict(config=cfg, params=sum(p.numel() for p in model.parameters()),
                            gflops_fvcore=flops_fvcore(model, h, w), input_hw=[h, w])
        print(name, result[name])
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(result, f, indent=2)


if __name__ == '__main__':
    main(sys.argv[1])
