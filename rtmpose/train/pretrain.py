"""The embedded default's pre-trained starting point: RTMPose trained on a large synthetic set, published with
its provenance under `pretrained/`, from where the `train` stage and the ablation grid take the backbone.

The paper starts RTMPose from a CSPNeXt pre-trained on ImageNet and then with a heatmap (UDP) head on COCO
(Sec. 4.1; the official configs' `init_cfg=Pretrained(prefix='backbone.')`). Here the starting point is made
by the suite itself: `rtmpose pretrain --params params.yaml` renders the `pretrain.data` set (same generator
as the default set, another seed, tens of thousands of images; reused while its settings are unchanged),
trains `pretrain.train` on it (the SimCC recipe of `rtmpose train`, resumable after a kill) and writes
`pretrain.weights` (inference weights, EMA when on) and `<weights>.json` (command, settings, seeds, data size,
epochs, wall time, sha256, machine, held-out metrics). Only the backbone is carried over, as in the paper.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time
from dataclasses import dataclass, field

from rtmpose.errors import Error
from rtmpose.settings import build


@dataclass
class PretrainConfig:
    data: dict = field(default_factory=dict)     # rtmpose.data.synthetic.SyntheticConfig fields
    weights: str = 'pretrained/rtmpose-t_synthetic.pth'   # provenance: the same path with .json
    train: dict = field(default_factory=dict)    # rtmpose.train.config.TrainConfig fields (data_dir included)

    def validate(self, where: str) -> None:
        from rtmpose.data.synthetic import SyntheticConfig
        from rtmpose.train.config import TrainConfig
        build(SyntheticConfig, self.data, f'{where}: data')
        cfg = build(TrainConfig, self.train, f'{where}: train')
        if cfg.dataset != 'synthetic':
            raise Error(f'{where}: train.dataset must be synthetic (the set this stage renders), got {cfg.dataset!r}')
        if not self.weights.endswith('.pth'):
            raise Error(f'{where}: weights must be a .pth file, got {self.weights!r}')

    @property
    def provenance(self) -> str:
        return self.weights[:-len('.pth')] + '.json'


def _prepared_with(data_dir: str, settings) -> bool:
    """True when `data_dir` already holds the synthetic set of exactly these settings."""
    import json
    try:
        with open(os.path.join(data_dir, 'manifest.json')) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return False
    return manifest.get('dataset') == 'synthetic' and manifest.get('params') == dataclasses.asdict(settings)


def run_pretraining(pcfg: PretrainConfig, command: str, progress: bool = True, mlflow: bool = True) -> dict:
    """Render the pre-training set when needed, train, publish the weights and their provenance; returns
    the provenance record."""
    from rtmpose.checkpoint import read_checkpoint, save_atomic
    from rtmpose.data.prepared import read_manifest
    from rtmpose.data.synthetic import SyntheticConfig, make_synthetic
    from rtmpose.io import check_writable, sha256_file, write_json_atomic
    from rtmpose.mlflow_log import git_tags
    from rtmpose.system import cpu_name, library_versions
    from rtmpose.train.config import TrainConfig
    from rtmpose.train.trainer import run_training

    syn = build(SyntheticConfig, pcfg.data, 'pretrain.data')
    cfg = build(TrainConfig, pcfg.train, 'pretrain.train')
    for path in (pcfg.weights, pcfg.provenance):
        check_writable(path, 'pre-trained weights')
    start = time.time()
    data_time = None
    if not _prepared_with(cfg.data_dir, syn):
        print(f'rtmpose pretrain: rendering {syn.num_train} + {syn.num_val} synthetic images (seed {syn.seed}) '
              f'into {cfg.data_dir}', file=sys.stderr)
        make_synthetic(cfg.data_dir, progress=progress, **dataclasses.asdict(syn))
        data_time = round(time.time() - start, 1)
    splits = read_manifest(cfg.data_dir)['splits']
    final = run_training(cfg, source='pretrain.train', resume=True, progress=progress, mlflow=mlflow)
    run_dir = cfg.out_dir
    ck = read_checkpoint(os.path.join(run_dir, 'final.pth'))
    save_atomic({'state_dict': {k: v.contiguous() for k, v in ck['state_dict'].items()},   # NCHW on disk
                 'meta': {**ck.get('meta', {}), 'pretrained': 'rtmpose pretrain (pretrain section of params.yaml)'}},
                pcfg.weights)
    import torch
    record = {
        'weights': pcfg.weights,
        'sha256': sha256_file(pcfg.weights),
        'size_bytes': os.path.getsize(pcfg.weights),
        'command': command,
        'settings': {'data': dataclasses.asdict(syn), 'train': dataclasses.asdict(cfg)},
        'seeds': {'data': syn.seed, 'train': cfg.seed},
        'data': {split: {k: v for k, v in s.items() if k in ('images', 'instances', 'keypoints_labelled')}
                 for split, s in splits.items()},
        'epochs': cfg.epochs,
        'iterations': final.get('iterations'),
        'samples_seen': final.get('iterations', 0) * cfg.batch_size,
        'train_time_s': final.get('train_time_s'),
        'data_time_s': data_time,
        'wall_time_s_this_invocation': round(time.time() - start, 1),
        'held_out_metrics': {k: final[k] for k in ('AP', 'AP50', 'AP75', 'AR') if k in final},
        'held_out': f'{cfg.data_dir} val split (seed {syn.seed}; not the default set)',
        'machine': {'cpu': cpu_name(), 'logical_cores': os.cpu_count(), 'torch_threads': torch.get_num_threads(),
                    'device': 'cuda: ' + torch.cuda.get_device_name(0) if cfg.device != 'cpu'
                    and torch.cuda.is_available() else 'cpu', **library_versions(('torch', 'numpy'))},
        'git': git_tags(),
        'finished': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
        'carried_over': 'backbone only (init_backbone), as the paper\'s Pretrained(prefix="backbone.")',
    }
    write_json_atomic(pcfg.provenance, record)
    return record
