"""Complexity of the models the tables need beyond `rtmpose info`: the Table 1 baselines, RTMPose
variants with other keypoint counts / input sizes (WholeBody 133, CrowdPose 14, AP-10K/MPII 256x256), the
RTMDet-nano person detector and the speed peers (PP-TinyPose, LiteHRNet, HRNet)."""
from __future__ import annotations

import torch

from rtmpose.complexity import complexity, count_flops, model_complexity
from rtmpose.models import input_size

# id: (model name, overrides); ids use '@' for the variant, as in the tables
RTMPOSE_VARIANTS = {
    'rtmpose-m@133': ('rtmpose-m', dict(num_keypoints=133)),
    'rtmpose-l@133': ('rtmpose-l', dict(num_keypoints=133)),
    'rtmpose-l-384x288@133': ('rtmpose-l-384x288', dict(num_keypoints=133)),
    'rtmpose-x@133': ('rtmpose-x', dict(num_keypoints=133)),
    'rtmpose-m@14': ('rtmpose-m', dict(num_keypoints=14)),
    'rtmpose-m@256x256': ('rtmpose-m', dict(input_size=(256, 256))),
    'rtmpose-m@256x256-16': ('rtmpose-m', dict(input_size=(256, 256), num_keypoints=16)),
}


def baseline_complexity() -> dict[str, dict]:
    from rtmpose.models import create, model_names
    out = {}
    for name in model_names('baseline'):
        m = create(name)
        w, h = input_size(m)
        c = complexity(m, (1, 3, h, w))
        with torch.no_grad():
            feats = m.backbone(torch.zeros(c.input_shape))
        out[name] = dict(input=f'{h}x{w}', num_keypoints=m.config.num_keypoints, repr_size=m.config.representation,
                         total_gflops=c.gflops, total_params_m=c.params_m,
                         head_gflops=count_flops(m.head, feats) / 1e9,
                         head_params_m=sum(p.numel() for p in m.head.parameters()) / 1e6)
    return out


def _row(name: str, keypoint_column: int | str, **overrides) -> dict:
    """Complexity of model `name` with config `overrides`, batch 1 at its input size."""
    c = model_complexity(name, **overrides)
    h, w = c.input_shape[2:]
    return dict(model=name, input=f'{h}x{w}', num_keypoints=keypoint_column, params=c.params,
                params_m=round(c.params_m, 3), gflops=round(c.gflops, 4))


def variant_complexity() -> dict[str, dict]:
    from rtmpose.models import model_config
    return {vid: _row(name, model_config(name, **overrides).num_keypoints, **overrides)
            for vid, (name, overrides) in RTMPOSE_VARIANTS.items()}


def detector_complexity() -> dict[str, dict]:
    """RTMDet-nano at its person-pipeline test scale (Tables 5 and 12 add it to the pose model)."""
    return {'rtmdet-nano': _row('rtmdet-nano', 'n/a')}


def peer_complexity() -> dict[str, dict]:
    """The speed peers at the sizes the tables time (TinyPose 128x96 and 256x192: Table 4's 0.08 and 0.33 rows)."""
    from rtmpose.models import model_names
    return {name: _row(name, 17) for name in model_names('peer')}


def table_complexity() -> dict[str, dict]:
    return {**baseline_complexity(), **variant_complexity(), **detector_complexity(), **peer_complexity()}
