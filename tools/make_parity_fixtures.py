"""Generate the parity fixtures in tests/fixtures/parity/ from the real mmpose 1.3.2.

Run inside the reference environment (see docs/reference-environment.md), from the repo root:
    python tools/make_parity_fixtures.py [OUT_DIR]
Weights and inputs come from rtmpose.seeded (seeded), so only outputs are stored.
"""
from __future__ import annotations

import json
import os
import sys
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rtmpose.seeded import loss_inputs, rng_for, seeded_images, seeded_state_dict  # noqa: E402

OUT = 'tests/fixtures/parity'


def _inert_attr(attr: str):
    if attr.startswith('__'):
        raise AttributeError(attr)
    return type(attr, (), {'__init__': lambda self, *a, **k: None})


def _stub_compiled_ops() -> None:
    """mmpose.models imports mmcv.ops (compiled, absent in mmcv-lite) and torchvision: register inert stand-ins."""
    import importlib.machinery
    for name in ('mmcv._ext', 'torchvision', 'torchvision.transforms'):
        mod = types.ModuleType(name)
        mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
        mod.__getattr__ = _inert_attr
        sys.modules[name] = mod


def official_model(config_file: str, num_keypoints: int | None):
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    cfg = Config.fromfile(config_file)
    cfg.model.backbone.init_cfg = None
    if num_keypoints is not None:
        cfg.model.head.out_channels = num_keypoints
    init_default_scope('mmpose')
    return revert_sync_batchnorm(MODELS.build(cfg.model)).eval(), cfg


def flops_fvcore(model, h: int, w: int) -> float:
    from fvcore.nn import FlopCountAnalysis
    model_fwd = types.SimpleNamespace()
    wrapper = torch.nn.Sequential()
    wrapper.forward = lambda x: model.head(model.backbone(x))  # the tensor path only
    wrapper.add_module('m', model)
    fca = FlopCountAnalysis(wrapper, torch.zeros(1, 3, h, w))
    fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    del model_fwd
    return fca.total() / 1e9


MODELS_TO_CHECK = {
    # suite name: (config relative to mmpose/.mim/configs, keypoint override)
    'rtmpose-t': ('body_2d_keypoint/rtmpose/coco/rtmpose-t_8xb256-420e_coco-256x192.py', None),
    'rtmpose-s': ('body_2d_keypoint/rtmpose/coco/rtmpose-s_8xb256-420e_coco-256x192.py', None),
    'rtmpose-m': ('body_2d_keypoint/rtmpose/coco/rtmpose-m_8xb256-420e_coco-256x192.py', None),
    'rtmpose-l': ('body_2d_keypoint/rtmpose/coco/rtmpose-l_8xb256-420e_coco-256x192.py', None),
    'rtmpose-m-384x288': ('body_2d_keypoint/rtmpose/coco/rtmpose-m_8xb256-420e_aic-coco-384x288.py', None),
    'rtmpose-l-384x288': ('body_2d_keypoint/rtmpose/coco/rtmpose-l_8xb256-420e_aic-coco-384x288.py', None),
    'rtmpose-x': ('body_2d_keypoint/rtmpose/body8/rtmpose-x_8xb256-700e_body8-halpe26-384x288.py', 17),
    'rtmpose-m@133': ('wholebody_2d_keypoint/rtmpose/coco-wholebody/rtmpose-m_8xb64-270e_coco-wholebody-256x192.py', None),
}


def model_fixtures(seed: int = 0) -> dict:
    import mmpose
    cfg_root = os.path.join(os.path.dirname(mmpose.__file__), '.mim', 'configs')
    summary = {}
    for name, (rel, k) in MODELS_TO_CHECK.items():
        model, cfg = official_model(os.path.join(cfg_root, rel), k)
        sd = model.state_dict()
        model.load_state_dict(seeded_state_dict(sd, seed))
        w, h = cfg.codec.input_size
        x = seeded_images(1, h, w, seed)
        with torch.no_grad():
            px, py = model.head(model.backbone(x))
        np.savez_compressed(f'{OUT}/model_{name}.npz', simcc_x=px.numpy(), simcc_y=py.numpy())
        summary[name] = dict(config=rel, keys={key: list(v.shape) for key, v in sd.items()},
                             params=sum(p.numel() for p in model.parameters()),
                             gflops_fvcore=flops_fvcore(model, h, w), input_size=[w, h],
                             num_keypoints=cfg.model.head.out_channels)
        print(name, len(sd), summary[name]['params'], summary[name]['gflops_fvcore'])
    return summary


CODEC_CASES = {
    'coco-256x192': dict(input_size=(192, 256), sigma=(4.9, 5.66), simcc_split_ratio=2.0, normalize=False),
    'coco-384x288': dict(input_size=(288, 384), sigma=(6.0, 6.93), simcc_split_ratio=2.0, normalize=False),
    'normalized-ratio3': dict(input_size=(192, 256), sigma=6.0, simcc_split_ratio=3.0, normalize=True),
}


def codec_fixtures() -> dict:
    from mmpose.codecs import SimCCLabel
    out = {}
    for case, kw in CODEC_CASES.items():
        codec = SimCCLabel(**kw)
        rng = rng_for(1, case)
        w, h = kw['input_size']
        kpts = rng.uniform(-0.3, 1.3, (3, 17, 2)) * np.array([w, h])
        # boundary points: just inside / outside the 3-sigma window on each side
        s = np.array([kw['sigma']] * 2 if np.isscalar(kw['sigma']) else kw['sigma'])
        r = kw['simcc_split_ratio']
        edge = np.array([[-3 * s[0] / r - 0.4, 10], [-3 * s[0] / r - 0.6, 10], [w + 3 * s[0] / r - 0.4, 10],
                         [w + 3 * s[0] / r + 0.6, 10], [10, -3 * s[1] / r - 0.6], [10, h + 3 * s[1] / r + 0.4]])
        kpts[0, :len(edge)] = edge
        vis = rng.choice([0.0, 1.0, 0.3, 0.7], size=(3, 17), p=[0.2, 0.6, 0.1, 0.1])
        vis[0, :len(edge)] = 1.0
        enc = codec.encode(kpts, vis)
        wb, hb = int(round(w * r)), int(round(h * r))
        sx = rng.normal(0, 1, (3, 17, wb)).astype(np.float32)
        sy = rng.normal(0, 1, (3, 17, hb)).astype(np.float32)
        sx[1, :4] = -np.abs(sx[1, :4])  # non-positive maxima -> location -1
        sy[2, 5:8] = -np.abs(sy[2, 5:8]) - 0.01
        sx[2, 10, :] = 0.0              # score exactly 0
        dk, ds = codec.decode(sx, sy)
        out[case] = dict(keypoints=kpts, visible=vis, x_labels=enc['keypoint_x_labels'],
                         y_labels=enc['keypoint_y_labels'], weights=enc['keypoint_weights'],
                         simcc_x=sx, simcc_y=sy, decoded=dk, scores=ds)
        np.savez_compressed(f'{OUT}/codec_{case}.npz', **out[case])
    return {k: {kk: (list(v) if isinstance(v, tuple) else v) for kk, v in kw.items()} for k, kw in CODEC_CASES.items()}


LOSS_CASES = {
    'rtmpose': dict(beta=10.0, label_softmax=True, use_target_weight=True),
    'no-label-softmax': dict(beta=1.0, label_softmax=False, use_target_weight=True),
    'no-target-weight': dict(beta=5.0, label_softmax=True, use_target_weight=False),
    'label-beta-3': dict(beta=15.0, label_softmax=True, use_target_weight=True, label_beta=3.0),
}


def loss_fixtures() -> dict:
    from mmpose.models.losses import KLDiscretLoss
    arrays = loss_inputs()
    values = {}
    for case, kw in LOSS_CASES.items():
        loss = KLDiscretLoss(**kw)
        t = {k: torch.from_numpy(v) for k, v in arrays.items()}
        values[case] = float(loss((t['pred_x'], t['pred_y']), (t['target_x'], t['target_y']), t['weights']))
    return dict(cases=LOSS_CASES, values=values)


def main() -> None:
    global OUT
    if len(sys.argv) > 1:
        OUT = sys.argv[1]
    _stub_compiled_ops()
    os.makedirs(OUT, exist_ok=True)
    import mmdet
    import mmengine
    import mmpose
    meta = dict(mmpose=mmpose.__version__, mmdet=mmdet.__version__, mmengine=mmengine.__version__,
                torch=torch.__version__, numpy=np.__version__)
    result = dict(versions=meta, codec=codec_fixtures(), loss=loss_fixtures(), models=model_fixtures())
    with open(f'{OUT}/reference.json', 'w') as f:
        json.dump(result, f, indent=1)  # key order is part of what is checked
    print('wrote', OUT, meta)


if __name__ == '__main__':
    main()
