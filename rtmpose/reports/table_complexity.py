"""Complexity of the models the tables need beyond `rtmpose info`: the Table 1 baselines, RTMPose
variants with other keypoint counts / input sizes (WholeBody 133, CrowdPose 14, AP-10K/MPII 256x256) and
the RTMDet-nano person detector."""
from __future__ import annotations

import torch

from rtmpose.complexity import count_flops

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
    from rtmpose.models.baselines import BASELINE_NAMES, build_baseline
    out = {}
    for name in BASELINE_NAMES:
        m = build_baseline(name)
        w, h = m.config.input_size
        x = torch.zeros(1, 3, h, w)
        with torch.no_grad():
            feats = m.backbone(x)
        out[name] = dict(input=f'{h}x{w}', num_keypoints=m.config.num_keypoints, repr_size=m.config.representation,
                         total_gflops=count_flops(m, x) / 1e9, total_params_m=sum(p.numel() for p in m.parameters()) / 1e6,
                         head_gflops=count_flops(m.head, feats) / 1e9,
                         head_params_m=sum(p.numel() for p in m.head.parameters()) / 1e6)
    return out


def variant_complexity() -> dict[str, dict]:
    from rtmpose.complexity import complexity
    from rtmpose.models import build_model
    out = {}
    for vid, (name, overrides) in RTMPOSE_VARIANTS.items():
        m = build_model(name, **overrides)
        w, h = m.config.input_size
        c = complexity(m, (1, 3, h, w))
        out[vid] = dict(model=name, input=f'{h}x{w}', num_keypoints=m.config.num_keypoints, params=c.params,
                        params_m=round(c.params_m, 3), gflops=round(c.gflops, 4))
    return out


def detector_complexity() -> dict[str, dict]:
    """RTMDet-nano at its person-pipeline test scale (Tables 5 and 12 add it to the pose model)."""
    from rtmpose.complexity import complexity
    from rtmpose.models.rtmdet import build_detector
    m = build_detector('rtmdet-nano')
    s = m.config.input_size
    c = complexity(m, (1, 3, s, s))
    return {'rtmdet-nano': dict(model='rtmdet-nano', input=f'{s}x{s}', num_keypoints='n/a', params=c.params,
                                params_m=round(c.params_m, 3), gflops=round(c.gflops, 4))}


def table_complexity() -> dict[str, dict]:
    return {**baseline_complexity(), **variant_complexity(), **detector_complexity()}
