"""The speed peers of the paper's Table 4/5 as plain PyTorch heatmap models (speed and complexity only).

- HRNet-w32 / w48 + HeatmapHead: mmpose 1.3.2 models/backbones/hrnet.py with
  configs/body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py (w48: 384x288).
- LiteHRNet-30 + HeatmapHead: mmpose 1.3.2 models/backbones/litehrnet.py with
  td-hm_litehrnet-30_8xb64-210e_coco-256x192.py (LITE modules (3, 8, 3), reduce ratio 8).
- PP-TinyPose: PaddleDetection configs/keypoint/tiny_pose/tinypose_128x96.yml, i.e. LiteHRNet
  `wider_naive` (NAIVE ShuffleNet modules (2, 4, 2), channels 40/80/160/320) + a 1x1 conv to the joints
  (ppdet/modeling/backbones/lite_hrnet.py, ppdet/modeling/architectures/keypoint_hrnet.py).

Outputs are heatmaps (N, K, H/4, W/4); `decode_heatmaps` takes the argmax, enough for the export gate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rtmpose.errors import Error


def _cbr(cin: int, cout: int, k: int = 1, s: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    """conv (no bias) + BN (+ ReLU): mmcv ConvModule with norm_cfg=BN."""
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _shuffle(x: torch.Tensor, groups: int = 2) -> torch.Tensor:
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def _fuse_outputs(out: list[torch.Tensor], fuse: nn.ModuleList, double_first: bool) -> list[torch.Tensor]:
    """Multi-resolution fusion. `double_first` reproduces LiteHRNet's quirk: its sum starts from out[0] and
    then adds the j == 0 term again (and the in-place `+=` makes branch 0 the fused sum for later rows)."""
    out = list(out)
    result = []
    for i, row in enumerate(fuse):
        terms = [out[j] if i == j else row[j](out[j]) for j in range(len(out))]
        y = sum(terms[1:], terms[0])
        if double_first:
            y = y + terms[0]
            if i == 0:
                out[0] = y
        result.append(F.relu(y))
    return result


def _fuse_layers(channels: list[int], n_out: int, dw_down: bool) -> nn.ModuleList:
    """Upsample: 1x1 conv + BN + nearest; downsample: strided 3x3 (depthwise + 1x1 for LiteHRNet) + BN."""
    rows = nn.ModuleList()
    for i in range(n_out):
        row = nn.ModuleList()
        for j, cj in enumerate(channels):
            if j > i:
                row.append(nn.Sequential(nn.Conv2d(cj, channels[i], 1, bias=False), nn.BatchNorm2d(channels[i]),
                                         nn.Upsample(scale_factor=2 ** (j - i), mode='nearest')))
            elif j == i:
                row.append(nn.Identity())
            else:
                steps = []
                for k in range(i - j):
                    last = k == i - j - 1
                    cout = channels[i] if last else cj
                    if dw_down:
                        step = [nn.Conv2d(cj, cj, 3, 2, 1, groups=cj, bias=False), nn.BatchNorm2d(cj),
                                nn.Conv2d(cj, cout, 1, bias=False), nn.BatchNorm2d(cout)]
                    else:
                        step = [nn.Conv2d(cj, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout)]
                    if not last:
                        step.append(nn.ReLU())
                    steps.append(nn.Sequential(*step))
                row.append(nn.Sequential(*steps))
        rows.append(row)
    return rows


# ---------------------------------------------------------------- HRNet
class _Basic(nn.Module):
    expansion = 1

    def __init__(self, cin: int, c: int, down: nn.Module | None = None):
        super().__init__()
        self.body = nn.Sequential(_cbr(cin, c, 3), _cbr(c, c, 3, act=False))
        self.down = down

    def forward(self, x):
        return F.relu(self.body(x) + (x if self.down is None else self.down(x)))


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, c: int, down: nn.Module | None = None):
        super().__init__()
        self.body = nn.Sequential(_cbr(cin, c, 1), _cbr(c, c, 3), _cbr(c, c * 4, 1, act=False))
        self.down = down

    def forward(self, x):
        return F.relu(self.body(x) + (x if self.down is None else self.down(x)))


class _HRModule(nn.Module):
    def __init__(self, channels: list[int], blocks: int, multiscale_output: bool):
        super().__init__()
        self.branches = nn.ModuleList(nn.Sequential(*[_Basic(c, c) for _ in range(blocks)]) for c in channels)
        n_out = len(channels) if multiscale_output else 1
        self.fuse = _fuse_layers(channels, n_out, dw_down=False) if len(channels) > 1 else None

    def forward(self, xs):
        out = [b(x) for b, x in zip(self.branches, xs)]
        return out if self.fuse is None else _fuse_outputs(out, self.fuse, double_first=False)


def _transition(pre: list[int], cur: list[int], dw: bool) -> nn.ModuleList:
    layers = nn.ModuleList()
    for i, c in enumerate(cur):
        if i < len(pre):
            if c == pre[i]:
                layers.append(nn.Identity())
            elif dw:
                layers.append(nn.Sequential(nn.Conv2d(pre[i], pre[i], 3, 1, 1, groups=pre[i], bias=False),
                                            nn.BatchNorm2d(pre[i]), _cbr(pre[i], c, 1)))
            else:
                layers.append(_cbr(pre[i], c, 3))
        else:
            steps = []
            for j in range(i + 1 - len(pre)):
                cin = pre[-1]
                cout = c if j == i - len(pre) else cin
                if dw:
                    steps.append(nn.Sequential(nn.Conv2d(cin, cin, 3, 2, 1, groups=cin, bias=False),
                                               nn.BatchNorm2d(cin), _cbr(cin, cout, 1)))
                else:
                    steps.append(_cbr(cin, cout, 3, 2))
            layers.append(nn.Sequential(*steps))
    return layers


def _apply_transition(trans: nn.ModuleList, ys: list[torch.Tensor]) -> list[torch.Tensor]:
    return [t(ys[j] if j < len(ys) else ys[-1]) for j, t in enumerate(trans)]


class HRNet(nn.Module):
    """HRNet-W{width} (stages (1, 1, 4, 3) modules; BASIC blocks x4) returning the top branch."""

    def __init__(self, width: int = 32):
        super().__init__()
        w = width
        self.stem = nn.Sequential(_cbr(3, 64, 3, 2), _cbr(64, 64, 3, 2))
        down = nn.Sequential(nn.Conv2d(64, 256, 1, bias=False), nn.BatchNorm2d(256))
        self.layer1 = nn.Sequential(_Bottleneck(64, 64, down), *[_Bottleneck(256, 64) for _ in range(3)])
        stage_channels = [[w, 2 * w], [w, 2 * w, 4 * w], [w, 2 * w, 4 * w, 8 * w]]
        pre = [256]
        self.transitions, self.stages = nn.ModuleList(), nn.ModuleList()
        for s, (chs, n_modules) in enumerate(zip(stage_channels, (1, 4, 3))):
            self.transitions.append(_transition(pre, chs, dw=False))
            last_stage = s == 2  # stage 4: multiscale_output=False in mmpose's hrnet.py
            self.stages.append(nn.Sequential(*[
                _HRModule(chs, 4, multiscale_output=not (last_stage and m == n_modules - 1))
                for m in range(n_modules)]))
            pre = chs
        self.out_channels = w

    def forward(self, x):
        ys = [self.layer1(self.stem(x))]
        for trans, stage in zip(self.transitions, self.stages):
            ys = stage(_apply_transition(trans, ys))
        return ys[0]


# ---------------------------------------------------------------- LiteHRNet (and PP-TinyPose)
class _Stem(nn.Module):
    def __init__(self, cin: int = 3, stem: int = 32, out: int = 32, expand_ratio: float = 1.0):
        super().__init__()
        mid, branch = int(round(stem * expand_ratio)), stem // 2
        inc = out - branch if stem == out else out - stem
        self.conv1 = _cbr(cin, stem, 3, 2)
        self.branch1 = nn.Sequential(_cbr(branch, branch, 3, 2, groups=branch, act=False), _cbr(branch, inc, 1))
        self.branch2 = nn.Sequential(_cbr(branch, mid, 1), _cbr(mid, mid, 3, 2, groups=mid, act=False),
                                     _cbr(mid, branch if stem == out else stem, 1))

    def forward(self, x):
        x1, x2 = self.conv1(x).chunk(2, dim=1)
        return _shuffle(torch.cat((self.branch1(x1), self.branch2(x2)), 1))


class _ShuffleUnit(nn.Module):
    """ShuffleNetV2 unit with stride 1 (the only one LiteHRNet's NAIVE modules use)."""

    def __init__(self, c: int):
        super().__init__()
        b = c // 2
        self.branch2 = nn.Sequential(_cbr(b, b, 1), _cbr(b, b, 3, groups=b, act=False), _cbr(b, b, 1))

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        return _shuffle(torch.cat((x1, self.branch2(x2)), 1))


class _SpatialWeighting(nn.Module):
    def __init__(self, c: int, ratio: int = 4):
        super().__init__()
        self.conv1 = nn.Conv2d(c, int(c / ratio), 1)
        self.conv2 = nn.Conv2d(int(c / ratio), c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.conv2(F.relu(self.conv1(F.adaptive_avg_pool2d(x, 1)))))


class _ConditionalChannelWeighting(nn.Module):
    def __init__(self, channels: list[int], reduce_ratio: int):
        super().__init__()
        self.half = [c // 2 for c in channels]
        total = sum(self.half)
        self.crw1 = _cbr(total, int(total / reduce_ratio), 1)
        self.crw2 = nn.Sequential(nn.Conv2d(int(total / reduce_ratio), total, 1, bias=False), nn.BatchNorm2d(total))
        self.dw = nn.ModuleList(_cbr(c, c, 3, groups=c, act=False) for c in self.half)
        self.sw = nn.ModuleList(_SpatialWeighting(c) for c in self.half)

    def forward(self, xs):
        parts = [x.chunk(2, dim=1) for x in xs]
        x1, x2 = [p[0] for p in parts], [p[1] for p in parts]
        mini = x2[-1].shape[-2:]
        pooled = torch.cat([F.adaptive_avg_pool2d(s, mini) for s in x2[:-1]] + [x2[-1]], 1)
        weights = torch.sigmoid(self.crw2(self.crw1(pooled))).split(self.half, 1)
        x2 = [s * F.interpolate(a, size=s.shape[-2:], mode='nearest') for s, a in zip(x2, weights)]
        x2 = [sw(dw(s)) for s, dw, sw in zip(x2, self.dw, self.sw)]
        return [_shuffle(torch.cat((a, b), 1)) for a, b in zip(x1, x2)]


class _LiteHRModule(nn.Module):
    def __init__(self, channels: list[int], blocks: int, reduce_ratio: int, module_type: str):
        super().__init__()
        self.lite = module_type == 'LITE'
        if self.lite:
            self.layers = nn.Sequential(*[_ConditionalChannelWeighting(channels, reduce_ratio)
                                          for _ in range(blocks)])
        else:
            self.layers = nn.ModuleList(nn.Sequential(*[_ShuffleUnit(c) for _ in range(blocks)]) for c in channels)
        self.fuse = _fuse_layers(channels, len(channels), dw_down=True)

    def forward(self, xs):
        out = self.layers(xs) if self.lite else [b(x) for b, x in zip(self.layers, xs)]
        return _fuse_outputs(out, self.fuse, double_first=True)


@dataclass(frozen=True)
class LiteHRNetSpec:
    num_modules: tuple[int, int, int]
    module_type: str
    reduce_ratio: int
    channels: tuple[int, ...] = (40, 80, 160, 320)
    blocks: int = 2


LITE_HRNET_30 = LiteHRNetSpec((3, 8, 3), 'LITE', 8)
WIDER_NAIVE = LiteHRNetSpec((2, 4, 2), 'NAIVE', 1)   # PP-TinyPose's backbone


class LiteHRNet(nn.Module):
    """Lite-HRNet with the iterative head; returns the highest-resolution branch (stride 4)."""

    def __init__(self, spec: LiteHRNetSpec):
        super().__init__()
        self.stem = _Stem()
        pre = [32]
        self.transitions, self.stages = nn.ModuleList(), nn.ModuleList()
        for s, n_modules in enumerate(spec.num_modules):
            chs = list(spec.channels[:s + 2])
            self.transitions.append(_transition(pre, chs, dw=True))
            self.stages.append(nn.Sequential(*[_LiteHRModule(chs, spec.blocks, spec.reduce_ratio, spec.module_type)
                                               for _ in range(n_modules)]))
            pre = chs
        rev = pre[::-1]
        # IterativeHead: depthwise 3x3 + BN, then 1x1 + BN + ReLU, coarse to fine
        self.head = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False), nn.BatchNorm2d(c),
                          _cbr(c, rev[i + 1] if i + 1 < len(rev) else c, 1)) for i, c in enumerate(rev))
        self.out_channels = pre[0]

    def forward(self, x):
        ys = [self.stem(x)]
        for trans, stage in zip(self.transitions, self.stages):
            ys = stage(_apply_transition(trans, ys))
        last = None
        for proj, s in zip(self.head, ys[::-1]):
            if last is not None:
                s = s + F.interpolate(last, size=s.shape[-2:], mode='bilinear', align_corners=True)
            last = proj(s)
        return last


# ---------------------------------------------------------------- top-down heatmap models
class HeatmapPoseModel(nn.Module):
    """Backbone + final 1x1 conv to K heatmaps (mmpose HeatmapHead with deconv_out_channels=None)."""

    def __init__(self, backbone: nn.Module, num_keypoints: int, input_size: tuple[int, int]):
        super().__init__()
        self.backbone = backbone
        self.final_layer = nn.Conv2d(backbone.out_channels, num_keypoints, 1)
        self.input_size = tuple(input_size)   # (w, h)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.backbone(images))


@dataclass(frozen=True)
class PeerSpec:
    name: str
    input_size: tuple[int, int]          # (w, h)
    published_gflops: float | None       # the source's own count
    published_params_m: float | None
    source: str


PEERS: dict[str, PeerSpec] = {
    'tinypose-128x96': PeerSpec('tinypose-128x96', (96, 128), 0.08156, 1.32,
                                'PaddleDetection configs/keypoint/tiny_pose/README.md (81.56 MFLOPs, 1.32 M)'),
    'tinypose-256x192': PeerSpec('tinypose-256x192', (192, 256), 0.32624, 1.32,
                                 'PaddleDetection configs/keypoint/tiny_pose/README.md (326.24 MFLOPs, 1.32 M)'),
    'litehrnet-30': PeerSpec('litehrnet-30', (192, 256), 0.31, 1.8,
                             'mmpose model zoo, LiteHRNet-30 COCO 256x192 (0.31 GFLOPs, 1.8 M)'),
    'hrnet-w32': PeerSpec('hrnet-w32', (192, 256), 7.1, 28.5, 'mmpose model zoo, HRNet-w32 COCO 256x192'),
    'hrnet-w48-384x288': PeerSpec('hrnet-w48-384x288', (288, 384), 32.9, 63.6,
                                  'mmpose model zoo, HRNet-w48 COCO 384x288'),
}
PEER_NAMES = tuple(PEERS)


def build_peer(name: str, num_keypoints: int = 17) -> HeatmapPoseModel:
    """A peer model by name, in eval mode, with PyTorch's default initialisation (speed only)."""
    if name not in PEERS:
        raise Error(f'unknown peer model {name!r}; choose one of: {", ".join(PEER_NAMES)}')
    if name.startswith('tinypose'):
        backbone = LiteHRNet(WIDER_NAIVE)
    elif name == 'litehrnet-30':
        backbone = LiteHRNet(LITE_HRNET_30)
    else:
        backbone = HRNet(48 if 'w48' in name else 32)
    return HeatmapPoseModel(backbone, num_keypoints, PEERS[name].input_size).eval()


def decode_heatmaps(heatmaps: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(N, K, h, w) heatmaps -> argmax keypoints (N, K, 2) in input pixels and their scores (N, K)."""
    heatmaps = np.asarray(heatmaps)
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, -1)
    idx = flat.argmax(-1)
    xy = np.stack((idx % w, idx // w), -1).astype(np.float32)
    stride = np.array([input_size[0] / w, input_size[1] / h], np.float32)
    return xy * stride, flat.max(-1)
