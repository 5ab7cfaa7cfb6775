"""Every model the suite builds, behind one factory: `create(name, checkpoint=None, **overrides)`.

The families (one file each, readable top to bottom):
- rtmpose   RTMPose t/s/m/l/x and the 384x288 variants (rtmpose.py: CSPNeXt + RTMCC head, SimCC outputs)
- detector  RTMDet nano/tiny person detectors (rtmdet.py)
- baseline  the Table 1 ResNet-50 baselines: SimpleBaseline heatmaps, SimCC, SimCC* (baselines/)
- peer      the speed peers of Tables 4/5/11: PP-TinyPose, LiteHRNet-30, HRNet-w32/w48 (baselines/peers.py)

`MODELS` is the one table of names; `create` loads a checkpoint through `rtmpose.checkpoint` (strict
names and shapes) for every family alike.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from rtmpose.errors import Error
from rtmpose.models.baselines.peers import PEERS, build_peer, decode_heatmaps
from rtmpose.models.baselines.simple_baseline import BASELINE_CONFIGS, build_baseline
from rtmpose.models.rtmdet import DETECTOR_CONFIGS, build_detector
from rtmpose.models.rtmpose import MEAN, MODEL_CONFIGS, MODEL_NAMES, STD, RTMPose, RTMPoseConfig, build_model, \
    model_config

FAMILIES = ('rtmpose', 'detector', 'baseline', 'peer')


@dataclass(frozen=True)
class ModelEntry:
    name: str
    family: str                       # one of FAMILIES
    output: str                       # 'simcc' | 'heatmap' | 'detection'
    build: Callable[..., nn.Module]   # (**overrides) -> eval-mode module with default initialisation


def _table() -> dict[str, ModelEntry]:
    table: dict[str, ModelEntry] = {}
    for name in MODEL_CONFIGS:
        table[name] = ModelEntry(name, 'rtmpose', 'simcc', lambda n=name, **o: build_model(n, **o))
    for name in DETECTOR_CONFIGS:
        table[name] = ModelEntry(name, 'detector', 'detection', lambda n=name, **o: build_detector(n, **o))
    for name, cfg in BASELINE_CONFIGS.items():
        out = 'heatmap' if cfg.head == 'heatmap' else 'simcc'
        table[name] = ModelEntry(name, 'baseline', out, lambda n=name, **o: build_baseline(n, **o))
    for name in PEERS:
        table[name] = ModelEntry(name, 'peer', 'heatmap', lambda n=name, **o: build_peer(n, **o))
    return table


MODELS: dict[str, ModelEntry] = _table()


def model_names(*families: str) -> tuple[str, ...]:
    """Names of the given families (all when none is given), in table order."""
    return tuple(n for n, e in MODELS.items() if not families or e.family in families)


def entry(name: str, *families: str) -> ModelEntry:
    """The table entry of `name`, or a one-line Error listing the names of `families` (all by default)."""
    e = MODELS.get(name)
    if e is None or (families and e.family not in families):
        raise Error(f'unknown model {name!r}; choose one of: {", ".join(model_names(*families))}')
    return e


def create(name: str, checkpoint: str | None = None, **overrides) -> nn.Module:
    """Build model `name` in eval mode with `overrides` of its config, then load `checkpoint` strictly.

    `checkpoint` may be a released mmpose/mmdet file, a bare state dict or one of this suite's checkpoints.
    """
    model = entry(name).build(**overrides)
    if checkpoint is not None:
        from rtmpose.checkpoint import load_into
        load_into(model, checkpoint)
    return model.eval()


def input_size(model: nn.Module) -> tuple[int, int]:
    """(w, h) of the network input of any model `create` builds."""
    config = getattr(model, 'config', None)
    size = getattr(config, 'input_size', None) if config is not None else getattr(model, 'input_size', None)
    if size is None:
        raise Error(f'{type(model).__name__}: no input size')
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


__all__ = ['FAMILIES', 'MEAN', 'MODELS', 'MODEL_CONFIGS', 'MODEL_NAMES', 'STD', 'ModelEntry', 'RTMPose',
           'RTMPoseConfig', 'build_model', 'create', 'decode_heatmaps', 'entry', 'input_size', 'model_config',
           'model_names']
