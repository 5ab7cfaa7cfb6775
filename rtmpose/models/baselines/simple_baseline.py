"""The Table 1 baselines on ResNet-50: heatmap SimpleBaseline, SimCC with deconvolutions, SimCC* without.

State-dict names follow mmpose 1.3.2's TopdownPoseEstimator (`backbone.*`, `head.*`):
- HeatmapHead (mmpose/models/heads/heatmap_heads/heatmap_head.py): 3 x [ConvTranspose2d(k4, s2, p1,
  no bias) -> BN -> ReLU] with 256 channels (`deconv_layers.{0..8}`), then a 1x1 `final_layer` with bias.
  Config: configs/body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py
  (heatmap 64x48, MSRAHeatmap sigma 2).
- SimCCHead (mmpose/models/heads/coord_cls_heads/simcc_head.py) with its class defaults, as
  configs/body_2d_keypoint/simcc/coco/simcc_res50_8xb64-210e_coco-256x192.py uses it: the same HeatmapHead
  under `deconv_head`, the 64x48 map flattened to 3072, `mlp_head_x` / `mlp_head_y` Linear layers with bias.
- SimCC* ("w/o deconv", as configs/body_2d_keypoint/simcc/coco/simcc_mobilenetv2_wo-deconv-...py sets
  `deconv_out_channels=None`): a 1x1 `final_layer` on the 8x6 map, flattened to 48, then the two Linear layers.
Codec for both SimCC models: SimCCLabel(input_size=(192, 256), sigma=6.0, simcc_split_ratio=2.0).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rtmpose.errors import Error
from rtmpose.models.baselines.resnet import ResNet


def _deconv_layers(in_channels: int, channels=(256, 256, 256)) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c in channels:  # kernel 4 -> padding 1, output_padding 0 (HeatmapHead._make_deconv_layers)
        layers += [nn.ConvTranspose2d(in_channels, c, 4, stride=2, padding=1, output_padding=0, bias=False),
                   nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        in_channels = c
    return nn.Sequential(*layers)


def init_head_weights(head: nn.Module) -> None:
    """HeatmapHead / SimCCHead default_init_cfg: Normal(0.001) on (transposed) convs, BN 1/0, Linear Normal(0.01)."""
    for m in head.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, std=0.001)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.constant_(m.bias, 0)


class HeatmapHead(nn.Module):
    """Deconvolution head of Simple Baselines: (N, C, h, w) -> heatmaps (N, K, 8h, 8w)."""

    def __init__(self, in_channels: int, out_channels: int, deconv_channels=(256, 256, 256)):
        super().__init__()
        self.deconv_layers = _deconv_layers(in_channels, deconv_channels)
        self.conv_layers = nn.Identity()
        self.final_layer = nn.Conv2d(deconv_channels[-1], out_channels, 1)
        self.init_weights()

    def init_weights(self) -> None:
        init_head_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.conv_layers(self.deconv_layers(x)))


class SimCCHead(nn.Module):
    """SimCC head: optional deconvolutions, 1x1 conv to K maps, flatten, per-axis Linear classifiers."""

    def __init__(self, in_channels: int, out_channels: int, input_size: tuple[int, int],
                 in_featuremap_size: tuple[int, int], simcc_split_ratio: float = 2.0, deconv: bool = True):
        super().__init__()
        if deconv:
            self.deconv_head = HeatmapHead(in_channels, out_channels)
            map_size = (in_featuremap_size[0] * 8, in_featuremap_size[1] * 8)
        else:
            self.deconv_head = None
            self.final_layer = nn.Conv2d(in_channels, out_channels, 1)
            map_size = tuple(in_featuremap_size)
        flatten_dims = map_size[0] * map_size[1]
        self.mlp_head_x = nn.Linear(flatten_dims, int(input_size[0] * simcc_split_ratio))
        self.mlp_head_y = nn.Linear(flatten_dims, int(input_size[1] * simcc_split_ratio))
        self.init_weights()

    def init_weights(self) -> None:
        init_head_weights(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.deconv_head(x) if self.deconv_head is not None else self.final_layer(x)
        x = torch.flatten(x, 2)
        return self.mlp_head_x(x), self.mlp_head_y(x)


@dataclass(frozen=True)
class BaselineConfig:
    head: str                                # 'heatmap' | 'simcc' | 'simcc-wo-deconv'
    depth: int = 50
    input_size: tuple[int, int] = (192, 256)  # (w, h)
    num_keypoints: int = 17
    simcc_split_ratio: float = 2.0
    sigma: float = 6.0                        # SimCCLabel sigma (simcc configs); the heatmap codec uses 2.0

    @property
    def featuremap_size(self) -> tuple[int, int]:
        return (self.input_size[0] // 32, self.input_size[1] // 32)

    @property
    def representation(self) -> str:
        """What the head outputs per keypoint (Table 1's "Repr. Size")."""
        w, h = self.input_size
        if self.head == 'heatmap':
            return f'{h // 4}x{w // 4}'
        return f'{int(h * self.simcc_split_ratio)}+{int(w * self.simcc_split_ratio)}'


BASELINE_CONFIGS = {
    'simplebaseline-res50': BaselineConfig('heatmap'),
    'simcc-res50': BaselineConfig('simcc'),
    'simcc-res50-wo-deconv': BaselineConfig('simcc-wo-deconv'),
}
BASELINE_NAMES = tuple(BASELINE_CONFIGS)


class TopdownBaseline(nn.Module):
    """ResNet backbone + one of the Table 1 heads; input normalised RGB crops (N, 3, H, W)."""

    def __init__(self, config: BaselineConfig):
        super().__init__()
        self.config = config
        self.backbone = ResNet(config.depth)
        c = self.backbone.out_channels
        if config.head == 'heatmap':
            self.head = HeatmapHead(c, config.num_keypoints)
        elif config.head in ('simcc', 'simcc-wo-deconv'):
            self.head = SimCCHead(c, config.num_keypoints, config.input_size, config.featuremap_size,
                                  config.simcc_split_ratio, deconv=config.head == 'simcc')
        else:
            raise Error(f'unknown baseline head {config.head!r}; choose heatmap, simcc or simcc-wo-deconv')

    def forward(self, images: torch.Tensor):
        return self.head(self.backbone(images))


def build_baseline(name: str, checkpoint: str | None = None, **overrides) -> TopdownBaseline:
    """Build a Table 1 baseline by name (eval mode), optionally loading an mmpose checkpoint strictly."""
    from dataclasses import replace
    if name not in BASELINE_CONFIGS:
        raise Error(f'unknown baseline {name!r}; choose one of: {", ".join(BASELINE_NAMES)}')
    try:
        config = replace(BASELINE_CONFIGS[name], **overrides)
    except TypeError as e:
        raise Error(f'bad setting for {name}: {e}') from None
    model = TopdownBaseline(config)
    if checkpoint is not None:
        from rtmpose.checkpoint import load_into
        load_into(model, checkpoint)
    return model.eval()
