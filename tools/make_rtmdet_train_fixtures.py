"""Generate tests/fixtures/rtmdet/train_steps.{npz,json}: a few RTMDet-nano training steps by mmengine's own
Runner.train (mmdet 3.3.0 / mmengine 0.10.7), for tests/train/test_rtmdet_train_parity.py.

Run inside the reference environment, from the repo root:
    .refenv/bin/python tools/make_rtmdet_train_fixtures.py [OUT_DIR]

What runs is the official person config (mmpose demo/mmdetection_cfg/rtmdet_nano_320-8xb32_coco-person.py,
num_classes=1) with only its sizes shrunk:
- data: mmdet's CocoDataset on a 2-image synthetic set (rtmpose.data.synthetic.make_synthetic, SYNTH below)
  through the config's second-stage pipeline made deterministic (RandomResize ratio_range (1, 1), RandomCrop,
  RandomFlip prob 0, Pad 114, PackDetInputs; YOLOXHSVRandomAug left out), the same as this suite's
  DetectionSet with scale_range [1, 1], hsv False, flip_prob 0; DefaultSampler(shuffle, seed 0), batch 2;
  the config's DetDataPreprocessor (mean/std, BGR);
- one substitution, the sampler: TrainerOrderSampler below gives the images in the order this suite's trainer
  draws them (DataLoader(shuffle=True, generator=Generator(seed + epoch))). mmengine's DefaultSampler draws
  torch.randperm(n) from Generator(seed + epoch) directly, while torch's DataLoader first draws its workers'
  base seed from that generator (torch/utils/data/dataloader.py, _BaseDataLoaderIter.__init__) and only then
  the RandomSampler's randperm: both are uniform shuffles, but different ones (for seed 0 and 2 images the
  order of 5 of the first 6 epochs differs). The order within a batch only reorders float32 sums, but AdamW's
  first steps are nearly sign(gradient) (m / sqrt(v) = g / |g| at step 1), so parameters whose gradient is
  float noise move by a whole lr either way: an equal order is needed to compare weights at all;
- optim_wrapper and param_scheduler of the config (AdamW 4e-3, wd 0.05, norm/bias decay 0, LinearLR warm-up
  and CosineAnnealingLR convert_to_iter_based) with warm-up end WARMUP and max_epochs EPOCHS (one iteration
  per epoch); EMAHook(ExpMomentumEMA, momentum 2e-4, update_buffers, priority 49); EpochBasedTrainLoop;
- initial weights: rtmpose.train.rtmdet_loss.init_detector_weights(seed 0) on this suite's RTMDet (the same
  state-dict names as mmdet's), given to the Runner through `load_from` (so Runner.train's own init_weights
  is overridden exactly as for a pretrained start).
Recorded per step (a hook): lr of every parameter group before the step, loss / loss_cls / loss_bbox of the
step (model.train_step's log_vars) and the image ids of the batch in order; per image, the uint8 input and
the gt boxes the model saw; per parameter, the weight decay of its group; at the end the model's state dict
(float32) and the EMA's minus the model's (float16: tiny values, kept small).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'tools'))
from make_parity_fixtures import _stub_compiled_ops  # noqa: E402
from make_rtmdet_fixtures import official_detector  # noqa: E402

OUT = 'tests/fixtures/rtmdet'
SIZE = 320
EPOCHS = 6            # one iteration per epoch (2 images, batch 2): warm-up t = 0, 1; flat t = 2; cosine t = 3..5
WARMUP = 3
SEED = 0
KEEP = 256          # entries kept per weight tensor (flattened) in the fixture
SYNTH = dict(seed=0, num_train=2, num_val=1, width=320, height=240, max_people=3)


def trainer_order(n: int, batch_size: int, seed: int) -> list[int]:
    """The index order of rtmpose.train.detector's DataLoader in the epoch whose generator seed is `seed`."""
    from torch.utils.data import DataLoader
    g = torch.Generator()
    g.manual_seed(seed)
    return [int(i) for b in DataLoader(range(n), batch_size=batch_size, shuffle=True, generator=g) for i in b]


def register_sampler():
    from mmengine.dataset import DefaultSampler
    from mmengine.registry import DATA_SAMPLERS

    @DATA_SAMPLERS.register_module(force=True)
    class TrainerOrderSampler(DefaultSampler):
        """DefaultSampler (set_epoch by DistSamplerSeedHook) with the trainer's per-epoch order."""

        def __init__(self, dataset, batch_size: int, seed: int):
            super().__init__(dataset, shuffle=True, seed=seed, round_up=False)
            self.batch_size = batch_size

        def __iter__(self):
            return iter(trainer_order(len(self.dataset), self.batch_size, self.seed + self.epoch))


def make_data(out_dir: str) -> None:
    from rtmpose.data.synthetic import make_synthetic
    make_synthetic(out_dir, progress=False, **SYNTH)


def initial_state_dict() -> dict:
    from rtmpose.models.rtmdet import build_detector
    from rtmpose.train.rtmdet_loss import init_detector_weights
    torch.manual_seed(SEED)
    ours = build_detector('rtmdet-nano', input_size=SIZE).train()
    init_detector_weights(ours, torch.Generator().manual_seed(SEED))
    return ours.state_dict()


def main() -> None:
    out_dir = sys.argv[1] if len(sys.argv) > 1 else OUT
    _stub_compiled_ops()
    sys.modules['torchvision'].__version__ = 'absent (inert stand-in)'   # read by mmengine's collect_env
    torch.set_num_threads(1)
    import mmdet
    import mmengine
    from mmengine.hooks import EMAHook, Hook
    from mmengine.runner import Runner
    register_sampler()
    model, cfg, size = official_detector('rtmdet-nano')
    assert size == SIZE
    model.train()
    work = tempfile.mkdtemp(prefix='rtmdet_train_')
    data_dir = os.path.join(work, 'data')
    make_data(data_dir)
    init = initial_state_dict()
    assert set(init) == set(model.state_dict()), 'state-dict names differ from mmdet'
    ck = os.path.join(work, 'init.pth')
    torch.save({'state_dict': init, 'meta': {}}, ck)

    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='RandomResize', scale=(SIZE, SIZE), ratio_range=(1.0, 1.0), keep_ratio=True),
        dict(type='RandomCrop', crop_size=(SIZE, SIZE)),
        dict(type='RandomFlip', prob=0.0),
        dict(type='Pad', size=(SIZE, SIZE), pad_val=dict(img=(114, 114, 114))),
        dict(type='PackDetInputs'),
    ]
    dataset = dict(type='CocoDataset', data_root=data_dir, ann_file='train.json', data_prefix=dict(img=''),
                   metainfo=dict(classes=('person',)), filter_cfg=dict(filter_empty_gt=True, min_size=32),
                   pipeline=pipeline)
    scheds = [dict(s) for s in cfg.param_scheduler]
    assert [s['type'] for s in scheds] == ['LinearLR', 'CosineAnnealingLR']
    scheds[0].update(end=WARMUP)
    scheds[1].update(begin=EPOCHS // 2, end=EPOCHS, T_max=EPOCHS // 2)
    ema_cfg = [dict(h) for h in cfg.custom_hooks if h['type'] == 'EMAHook']

    record = dict(lr=[], loss=[], loss_cls=[], loss_bbox=[], batch_ids=[])
    images, boxes = {}, {}

    class Record(Hook):
        priority = 'LOWEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            record['lr'].append(sorted({g['lr'] for g in runner.optim_wrapper.optimizer.param_groups}))

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            for k in ('loss', 'loss_cls', 'loss_bbox'):
                record[k].append(float(outputs[k]))
            ids = []
            for x, ds in zip(data_batch['inputs'], data_batch['data_samples']):
                i = int(ds.img_id)
                ids.append(i)
                images[i] = x.numpy()
                b = ds.gt_instances.bboxes
                boxes[i] = (b.tensor if hasattr(b, 'tensor') else b).numpy().astype(np.float32)
            record['batch_ids'].append(ids)

    runner = Runner(
        model=model, work_dir=os.path.join(work, 'run'), load_from=ck, default_scope='mmdet',
        train_dataloader=dict(batch_size=2, num_workers=0, persistent_workers=False,
                              sampler=dict(type='TrainerOrderSampler', batch_size=2, seed=SEED),
                              collate_fn=dict(type='pseudo_collate'), dataset=dataset),
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=EPOCHS, val_interval=EPOCHS + 1),
        optim_wrapper=cfg.optim_wrapper, param_scheduler=scheds,
        default_hooks=dict(timer=dict(type='IterTimerHook'), logger=dict(type='LoggerHook', interval=1),
                           param_scheduler=dict(type='ParamSchedulerHook'),
                           sampler_seed=dict(type='DistSamplerSeedHook'), checkpoint=None),
        custom_hooks=ema_cfg + [Record()], randomness=dict(seed=SEED), env_cfg=dict(cudnn_benchmark=False))
    runner.train()
    shutil.rmtree(work, ignore_errors=True)     # the data, the initial checkpoint, the Runner's logs
    ema = next(h for h in runner.hooks if isinstance(h, EMAHook)).ema_model
    sd = runner.model.state_dict()
    arrays = {}
    for k, v in sd.items():
        if v.is_floating_point():
            # the first KEEP entries of each tensor (flattened): after the steps every entry of every tensor has
            # moved, so a divergence anywhere shows there too, and the fixture stays small
            arrays[f'model.{k}'] = v.numpy().astype(np.float32).ravel()[:KEEP]
            arrays[f'ema_minus_model.{k}'] = (ema.module.state_dict()[k] - v).numpy().astype(np.float16).ravel()[:KEEP]
    for i in sorted(images):
        arrays[f'image_{i}'] = images[i]
        arrays[f'boxes_{i}'] = boxes[i]
    names = {id(p): n for n, p in runner.model.named_parameters()}
    decay = {names[id(p)]: g['weight_decay'] for g in runner.optim_wrapper.optimizer.param_groups
             for p in g['params']}
    result = dict(record, epochs=EPOCHS, warmup_iters=WARMUP, seed=SEED, input_size=SIZE, synthetic=SYNTH,
                  ema_steps=int(ema.steps), weight_decay=decay,
                  optim_wrapper=cfg.optim_wrapper.to_dict(), param_scheduler=scheds, ema_hook=ema_cfg,
                  versions=dict(mmdet=mmdet.__version__, mmengine=mmengine.__version__, torch=torch.__version__))
    os.makedirs(out_dir, exist_ok=True)
    np.savez_compressed(f'{out_dir}/train_steps.npz', **arrays)
    with open(f'{out_dir}/train_steps.json', 'w') as f:
        json.dump(result, f, indent=1, default=str)
    print('wrote', out_dir, json.dumps({k: result[k] for k in ('lr', 'loss_cls', 'loss_bbox', 'batch_ids')}))


if __name__ == '__main__':
    main()
