"""Training settings: one small dataclass filled from params.yaml, an experiment file and --set overrides
(through rtmpose.settings.resolve, the one precedence of every command).

Defaults are the official RTMPose-m COCO recipe (mmpose 1.3.2
configs/body_2d_keypoint/rtmpose/coco/rtmpose-m_8xb256-420e_coco-256x192.py); `SOURCES` names the
official file behind every setting and where the paper or this suite differs.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from rtmpose.errors import Error
from rtmpose.io import read_yaml_mapping
from rtmpose.settings import build, check_ranges, resolve

_M = 'configs/body_2d_keypoint/rtmpose/coco/rtmpose-m_8xb256-420e_coco-256x192.py'


@dataclass
class ExtraTrainSet:
    """A second training set combined with the main one (mmpose CombinedDataset), e.g. AIC for AIC+COCO."""
    data_dir: str
    dataset: str                                 # DATASET_META key of its own annotation
    repeat: int = 1
    keypoint_mapping: str | None = None          # 'aic_to_coco' maps AIC points onto COCO's (rtmpose.data.meta)


# settings that may change between a kill and a resume without changing the result
RESUME_FREE = frozenset({'num_workers', 'checkpoint_every_iters', 'notes', 'runs_dir', 'val_batch_size'})
# settings that do not change what a seed's run computes beyond its seed (its name, where it is written)
SPREAD_FREE = RESUME_FREE | {'name', 'seed', 'seeds'}


@dataclass
class TrainConfig:
    name: str = 'rtmpose-m_coco'                 # outputs go to <runs_dir>/<name>/
    runs_dir: str = 'experiments/runs'
    model: str = 'rtmpose-m'
    model_overrides: dict = field(default_factory=dict)  # rtmpose.models.create(**overrides): kernel size, use_gau, gau, sigma
    dataset: str = 'coco'                        # DATASET_META key: keypoint count, flip pairs, sigmas
    data_dir: str = 'datasets/coco'              # prepared layout: train.json, val.json, manifest.json
    repeat: int = 1                              # RepeatDataset times of the main set (3 for AIC+COCO)
    extra_train: list = field(default_factory=list)  # list of ExtraTrainSet mappings
    train_limit: int | None = None               # use only the first N training instances (smoke runs)
    val_limit: int | None = None
    epochs: int = 420
    stage2_epochs: int = 30                      # weak augmentation for the last N epochs
    batch_size: int = 256                        # per process
    val_batch_size: int = 64
    num_workers: int = 2
    base_lr: float = 4e-3
    weight_decay: float = 0.05
    norm_decay_mult: float = 0.0
    bias_decay_mult: float = 0.0
    auto_scale_lr: bool = True
    auto_scale_lr_base: int = 1024
    warmup_iters: int = 1000
    warmup_start_factor: float = 1e-5
    cosine_begin_epoch: int | None = None        # None: epochs // 2
    cosine_min_factor: float = 0.05              # eta_min = base_lr * factor (unscaled, as in the configs)
    clip_grad: float | None = None               # max L2 norm of the gradients; None: no clipping
    adam_eps: float = 1e-8                       # AdamW eps (mmengine optim_wrapper.optimizer.eps)
    ema: bool = True
    ema_momentum: float = 0.0002
    ema_gamma: int = 2000
    loss_beta: float = 10.0
    label_softmax: bool = True
    seed: int = 21
    seeds: list = field(default_factory=list)    # train once per seed: the first keeps `name`, the others
    #                                              <name>-seed<S>; reports mean and t-interval (empty: `seed`)
    threads: int | None = None                   # torch intra-op threads of each process (None: torch's default,
    #                                              i.e. OMP_NUM_THREADS); recorded in config.json
    deterministic: bool = False                  # torch.use_deterministic_algorithms (CPU resume equality)
    val_interval: int = 10                       # epochs; the last epoch is validated too unless
    validate_at_end: bool = True                 # is false (the ablation grid evaluates each run with `eval`)
    checkpoint_every_iters: int | None = None    # also write last.pth every N iterations
    save_last: bool = True                       # last.pth after every epoch (resume after a kill); the
    #                                              ablation grid's runs of seconds start over instead
    flip_test: bool = True
    amp: bool = True                             # mixed precision, GPU only
    channels_last: bool = False                  # NHWC weights and inputs (fp32 math, other summation order)
    cpu_bf16: bool = False                       # bf16 autocast on CPU (fast only with AVX512-BF16 / AMX)
    compile: bool = False                        # torch.compile the model (minutes of compilation first)
    # each faster path is tested against fp32 in tests/train/test_fast_paths.py; what each pays on a CPU:
    # tools/train_throughput.py (README, 'Training speed')
    device: str = 'auto'                         # auto | cpu | cuda
    init_checkpoint: str | None = None           # whole model from an official or own checkpoint
    init_backbone: str | None = None             # only the backbone ('backbone.' keys)
    frozen_stages: int = -1                      # CSPNeXt stem + stages 1..N kept fixed (BN in eval, no
    #                                              gradients), as mmdet's CSPNeXt(frozen_stages=N); -1: none
    feature_cache: str | None = None             # with frozen_stages 4: a folder of the fixed backbone's
    #                                              outputs per epoch, shared by runs (rtmpose.train.feature_cache)
    augment: dict = field(default_factory=dict)  # rtmpose.data AugmentConfig fields
    notes: str = ''

    def validate(self, where: str) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.val_batch_size < 1:
            raise Error(f'{where}: epochs and batch sizes must be >= 1')
        if not 0 <= self.stage2_epochs <= self.epochs:
            raise Error(f'{where}: stage2_epochs must lie in [0, epochs]')
        if self.base_lr <= 0 or self.warmup_iters < 0:
            raise Error(f'{where}: base_lr must be > 0 and warmup_iters >= 0')
        if self.frozen_stages > 4:
            raise Error(f'{where}: frozen_stages must be at most 4 (CSPNeXt: the stem and four stages)')
        if self.device not in ('auto', 'cpu', 'cuda'):
            raise Error(f'{where}: device must be auto, cpu or cuda')
        check_ranges(self, where, at_least={'train_limit': 1, 'val_limit': 1, 'repeat': 1, 'num_workers': 0,
                                            'val_interval': 1, 'checkpoint_every_iters': 1,
                                            'auto_scale_lr_base': 1, 'ema_gamma': 0, 'cosine_begin_epoch': 0,
                                            'weight_decay': 0, 'norm_decay_mult': 0, 'bias_decay_mult': 0,
                                            'loss_beta': 0, 'frozen_stages': -1, 'threads': 1},
                     probabilities=('ema_momentum', 'cosine_min_factor'),
                     positive=('warmup_start_factor', 'clip_grad', 'adam_eps'))
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in self.seeds) or \
                len(set(self.seeds)) != len(self.seeds):
            raise Error(f'{where}: seeds must be distinct integers')
        for i, e in enumerate(self.extra_train):
            extra = build(ExtraTrainSet, e, f'{where}: extra_train[{i}]')
            check_ranges(extra, f'{where}: extra_train[{i}]', at_least={'repeat': 1})
        from rtmpose.data.transforms import AugmentConfig
        if not isinstance(self.augment, dict):
            raise Error(f'{where}: augment must be a mapping')
        build(AugmentConfig, self.augment, f'{where}: augment')

    @property
    def out_dir(self) -> str:
        return os.path.join(self.runs_dir, self.name)


# Where each setting comes from. Printed into the run's config.json and MLflow.
SOURCES = {
    'epochs': f'max_epochs=420 ({_M}); paper: 420 epochs',
    'stage2_epochs': f'stage2_num_epochs=30, mmdet.PipelineSwitchHook at max_epochs-30 ({_M}); paper Sec. 3.4: '
                     '180 strong + 30 weak epochs in the 210-epoch study',
    'batch_size': f'train_dataloader.batch_size=256 on 8 GPUs = 2048 ({_M}); paper Table 7: batch size 1024',
    'base_lr': f'AdamW lr=4e-3 ({_M}); CrowdPose 5e-4 (crowdpose/rtmpose-m_8xb64-210e_crowdpose-256x192.py)',
    'weight_decay': f'0.05 for m/l ({_M}), 0.0 for t/s (coco/rtmpose-t|s_8xb256-420e_coco-256x192.py)',
    'norm_decay_mult': f'paramwise_cfg norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate ({_M}); '
                       'mmengine DefaultOptimWrapperConstructor: only BatchNorm/GroupNorm/LayerNorm/InstanceNorm '
                       'count as norm layers and only parameters named "bias" as biases, so ScaleNorm.g, '
                       'Scale.scale and the GAU gamma/beta keep the full weight decay',
    'auto_scale_lr': f'auto_scale_lr base_batch_size=1024 ({_M}); mmengine applies it only with '
                     'tools/train.py --auto-scale-lr (lr x total_batch / 1024)',
    'warmup_iters': f'LinearLR start_factor=1e-5, by_epoch=False, end=1000 ({_M})',
    'cosine_min_factor': f'CosineAnnealingLR eta_min=base_lr*0.05 from max_epochs//2 to max_epochs, '
                         f'convert_to_iter_based ({_M}); eta_min is the unscaled config lr x 0.05',
    'adam_eps': 'not set in the configs: torch.optim.AdamW default 1e-8. Under DDP the processes\' gradients '
                'are averaged while each loss sums over its own samples (as mmengine), so N processes step on '
                '1/N of one process\'s gradient: AdamW ignores that scale except where gradients are near eps',
    'clip_grad': 'none in mmpose 1.3.2 RTMPose body configs (COCO-only and AIC+COCO alike); set it per '
                 'experiment if a config you follow has optim_wrapper.clip_grad (e.g. max_norm=35)',
    'ema': f'EMAHook ExpMomentumEMA momentum=0.0002 gamma=2000 update_buffers=True ({_M}); '
           'commented out for RTMPose-t (coco/rtmpose-t_8xb256-420e_coco-256x192.py); paper Table 7: '
           'EMA decay 0.9998 for s/m/l, none for t',
    'init_backbone': f'backbone init_cfg Pretrained prefix backbone. cspnext-*_udp-aic-coco_210e ({_M}); '
                     'paper Sec. 4.1: heatmap-based (UDP) pre-training with the same strategy, 210 epochs',
    'frozen_stages': 'backbone frozen_stages=-1 (mmdet CSPNeXt default; the official RTMPose configs freeze '
                     'nothing); the embedded ablation grid freezes the warm-started backbone (4: stem and '
                     'every stage) so that its variants differ only where they differ, in the head',
    'loss_beta': f'KLDiscretLoss beta=10, label_softmax=True ({_M}); paper: temperature tau',
    'seed': f'randomness seed=21 ({_M})',
    'val_interval': f'train_cfg val_interval=10 ({_M})',
    'flip_test': f'test_cfg flip_test=True ({_M}); SimCC vectors averaged',
    'amp': 'mixed precision is not in the configs (mmpose --amp flag); used here on GPU only',
    'repeat': 'AIC+COCO: COCO RepeatDataset times=3 + AIC via KeypointConverter '
              '(coco/rtmpose-m_8xb256-420e_aic-coco-256x192.py); the 75.8 AP checkpoint',
}


def load_config(params_path: str | None = 'params.yaml', params_section: str = 'train',
                experiment: str | None = None, sets: list[str] | None = None) -> TrainConfig:
    """params.yaml section, or an experiment file (which may name a `base` file), then --set overrides."""
    if experiment:
        return resolve(TrainConfig, values=_read_experiment(experiment), sets=sets, where=experiment)
    return resolve(TrainConfig, params=params_path, section=params_section, sets=sets)


def _read_experiment(path: str, depth: int = 0) -> dict:
    data = read_yaml_mapping(path, 'experiment file')
    base = data.pop('base', None)
    if base and depth < 5:
        merged = _read_experiment(os.path.join(os.path.dirname(path), base), depth + 1)
        merged.update(data)
        data = merged
    return data


def as_dict(cfg: TrainConfig) -> dict:
    return dataclasses.asdict(cfg)
