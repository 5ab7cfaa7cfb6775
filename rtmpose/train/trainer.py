"""The training loop: DDP, AdamW + warm-up/cosine, EMA, AMP on GPU, validation, crash-safe resume.

A run writes to <runs_dir>/<name>/: config.json (resolved settings + their official sources),
last.pth (every epoch and, if set, every N iterations; atomic), best.pth, final.pth (inference
weights: the EMA weights when EMA is on, as released mmpose checkpoints hold), log.csv (one row per
epoch) and metrics.json. Running the same command again resumes from last.pth.
"""
from __future__ import annotations

import contextlib
import dataclasses
import csv
import io
import math
import os
import random
import sys
import time

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from rtmpose.checkpoint import check_state_dict, load_into, read_checkpoint, save_atomic, state_dict_of
from rtmpose.data.collate import collate
from rtmpose.errors import Error
from rtmpose.io import folder_lock, portable_path, remove_stale_temps, write_json_atomic, write_text_atomic
from rtmpose.train import distributed as D
from rtmpose.train.config import RESUME_FREE as _RESUME_FREE, SOURCES, SPREAD_FREE, TrainConfig, as_dict
from rtmpose.train.data import ResumableSampler, build_train_set, build_val_set, set_epoch
from rtmpose.train.optim import ExpMomentumEMA, Schedule, build_optimizer

LOG_FIELDS = ('epoch', 'iter', 'loss', 'lr', 'epoch_time_s', 'AP', 'AR', 'PCKh')


def log(d: D.Dist, msg: str) -> None:
    if d.main:
        tqdm.write(f'rtmpose train: {msg}', file=sys.stderr)


def seed_everything(seed: int, rank: int) -> None:
    random.seed(seed + rank)
    np.random.seed((seed + rank) % 2 ** 32)
    torch.manual_seed(seed + rank)


def rng_state() -> dict:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    st = {'python': random.getstate(), 'numpy': (name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss,
                                                 cached), 'torch': torch.get_rng_state()}
    if torch.cuda.is_available():
        st['cuda'] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict) -> None:
    py = st['python']
    random.setstate((py[0], tuple(py[1]), py[2]))
    name, keys, pos, has_gauss, cached = st['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(st['torch'])
    if 'cuda' in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st['cuda'])


def reproducibility(cfg: TrainConfig, device: torch.device) -> dict:
    """What makes a rerun repeat this run bit for bit: same commit and these (seed, library versions,
    threads, CPU, deterministic flag). Recorded in config.json and as MLflow params."""
    import platform

    import cv2

    from rtmpose.system import cpu_name
    return {'seed': cfg.seed, 'deterministic': cfg.deterministic, 'torch': torch.__version__,
            'numpy': np.__version__, 'opencv': cv2.__version__, 'python': platform.python_version(),
            'torch_threads': torch.get_num_threads(), 'torch_interop_threads': torch.get_num_interop_threads(),
            'opencv_threads': cv2.getNumThreads(), 'omp_num_threads': os.environ.get('OMP_NUM_THREADS', ''),
            'cpu': cpu_name(), 'device': str(device),
            'cuda': torch.version.cuda if device.type == 'cuda' else ''}


def build(cfg: TrainConfig, meta, device: torch.device):
    """The RTMPose model of `cfg` in training mode on `device`, from `init_checkpoint` / `init_backbone`."""
    from rtmpose.evaluation.runner import model_build_overrides
    from rtmpose.models import create, entry
    entry(cfg.model, 'rtmpose')   # the trainer's loss and labels are SimCC: RTMPose models only
    model = create(cfg.model, cfg.init_checkpoint, **model_build_overrides(cfg.model_overrides, meta.num_keypoints))
    if cfg.init_backbone:
        load_into(model.backbone, cfg.init_backbone, prefix='backbone.')
    model = model.to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    set_train_mode(model, cfg.frozen_stages)
    return model


_BACKBONE_LAYERS = ('stem', 'stage1', 'stage2', 'stage3', 'stage4')


def set_train_mode(model, frozen_stages: int) -> None:
    """Training mode, except the first `frozen_stages + 1` backbone layers (stem, stage1..4), which stay in
    eval mode without gradients: mmdet CSPNeXt._freeze_stages, re-applied whenever training resumes."""
    model.train()
    for name in _BACKBONE_LAYERS[:frozen_stages + 1]:
        layer = getattr(model.backbone, name)
        layer.eval()
        for p in layer.parameters():
            p.requires_grad_(False)


def _comparable(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in _RESUME_FREE}


def _write_log(path: str, rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=LOG_FIELDS, extrasaction='ignore')
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, '') for k in LOG_FIELDS})
    write_text_atomic(path, buf.getvalue())


def plot_curve(rows: list[dict], path: str, title: str) -> None:
    """Training loss and validation AP per epoch as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ep = [r['epoch'] for r in rows]
    ax.plot(ep, [r['loss'] for r in rows], 'b-o', ms=3, label='train loss')
    ax.set_xlabel('epoch')
    ax.set_ylabel('KL loss', color='b')
    key = 'PCKh' if any(r.get('PCKh') not in (None, '') for r in rows) else 'AP'
    val = [(r['epoch'], r[key]) for r in rows if r.get(key) not in (None, '')]
    if val:
        ax2 = ax.twinx()
        ax2.plot(*zip(*val), 'r-s', ms=3, label=f'val {key}')
        ax2.set_ylabel(f'val {key}', color='r')
    ax.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=100)
    plt.close(fig)
    from rtmpose.io import write_bytes_atomic
    write_bytes_atomic(path, buf.getvalue())


def validate(cfg: TrainConfig, model, meta, device, progress: bool) -> dict[str, float]:
    from rtmpose.evaluation.runner import evaluate
    ds, ann = build_val_set(cfg, model.codec(), meta)
    return evaluate(model, ds, ann, cfg.dataset, meta.flip_indices, meta.sigmas, cfg.val_batch_size,
                    cfg.num_workers, device, cfg.flip_test, progress=progress)


def train(cfg: TrainConfig, resume: bool = True, progress: bool = True, run=None,
          max_iters: int | None = None, on_end=None) -> dict:
    """Train; returns the final metrics (on rank 0). `max_iters` stops early; `on_end(model, ema, dist)`
    is called on every rank after the last step (e.g. to compare weights across ranks).

    The run folder is locked (rtmpose.io.folder_lock, rank 0 only) for the whole run: a second run of
    the same name fails naming the holder instead of resuming from a live run's last.pth."""
    from rtmpose.models import entry
    entry(cfg.model, 'rtmpose')   # an unknown model fails before a run folder is created
    d = D.setup(cfg.device)
    with contextlib.ExitStack() as stack:
        problem = None
        if d.main:
            try:
                stack.enter_context(folder_lock(cfg.out_dir, 'run folder', on_message=lambda m: log(d, m)))
                removed = remove_stale_temps(cfg.out_dir)
                if removed:
                    log(d, f'removed {len(removed)} temporary file(s) of a killed run: {", ".join(removed[:3])}')
            except Error as e:
                problem = str(e)
        problem = D.broadcast_object(d, problem)   # every rank stops, not only the one that tried
        if problem is not None:
            D.cleanup()
            raise Error(problem)
        return _train(cfg, d, resume, progress, run, max_iters, on_end)


def _train(cfg: TrainConfig, d: D.Dist, resume: bool, progress: bool, run, max_iters: int | None,
           on_end) -> dict:
    from rtmpose import KLDiscretLoss
    from rtmpose.data.meta import get_meta
    device = d.device
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True)
    meta = get_meta(cfg.dataset)
    out = cfg.out_dir
    last_path = os.path.join(out, 'last.pth')
    seed_everything(cfg.seed, d.rank)
    model = build(cfg, meta, device)
    codec = model.codec()
    train_set = build_train_set(cfg, codec, meta)
    if cfg.feature_cache:
        from rtmpose.train.feature_cache import wrap
        train_set = wrap(train_set, cfg, model, codec, device, d.world_size)
    from_features = bool(cfg.feature_cache)   # the head trains on the cached backbone outputs
    sampler = ResumableSampler(len(train_set), d.rank, d.world_size, shuffle=True, seed=cfg.seed)
    drop_last = sampler.per_rank % cfg.batch_size == 1  # a batch of one cannot train BatchNorm
    ipe = sampler.per_rank // cfg.batch_size if drop_last else math.ceil(sampler.per_rank / cfg.batch_size)
    total_batch = cfg.batch_size * d.world_size
    lr0 = cfg.base_lr * total_batch / cfg.auto_scale_lr_base if cfg.auto_scale_lr else cfg.base_lr
    optimizer = build_optimizer(model, lr0, cfg.weight_decay, cfg.norm_decay_mult, cfg.bias_decay_mult,
                                cfg.adam_eps)
    schedule = Schedule(lr0, cfg.epochs * ipe, ipe, cfg.warmup_iters, cfg.warmup_start_factor,
                        cfg.cosine_begin_epoch, cfg.epochs, eta_min=cfg.base_lr * cfg.cosine_min_factor)
    ema = ExpMomentumEMA(model, cfg.ema_momentum, cfg.ema_gamma,
                         fixed=tuple(f'backbone.{n}.' for n in _BACKBONE_LAYERS[:cfg.frozen_stages + 1])
                         ) if cfg.ema else None
    loss_fn = KLDiscretLoss(beta=cfg.loss_beta, label_softmax=cfg.label_softmax, use_target_weight=True)
    amp = cfg.amp and device.type == 'cuda'
    scaler = torch.amp.GradScaler('cuda') if amp else None
    cpu_bf16 = cfg.cpu_bf16 and device.type == 'cpu'
    autocast = (torch.autocast('cuda', dtype=torch.float16) if amp else
                torch.autocast('cpu', dtype=torch.bfloat16) if cpu_bf16 else contextlib.nullcontext())
    net = D.wrap_model(model, d)
    if cfg.compile:
        net = torch.compile(net)
    resolved = as_dict(cfg)
    derived = {'world_size': d.world_size, 'total_batch': total_batch, 'scaled_lr': lr0, 'iters_per_epoch': ipe,
               'eta_min': cfg.base_lr * cfg.cosine_min_factor, 'device': str(device), 'amp': amp,
               'cpu_bf16': cpu_bf16,
               'num_train_instances': len(train_set), 'num_keypoints': meta.num_keypoints}
    repro = reproducibility(cfg, device)

    epoch, skip, it, rows, best = 0, 0, 0, [], None
    partial = [0.0, 0.0]  # this rank's loss sum and count in the running epoch, for mid-epoch resume
    if resume and os.path.isfile(last_path):
        try:
            ck = read_checkpoint(last_path)
        except Error as e:
            raise Error(f'{e}; use --fresh to start over') from None
        if not isinstance(ck, dict) or 'model' not in ck or 'config' not in ck:
            raise Error(f'{last_path}: not a training checkpoint of this suite; use --fresh to start over')
        if _comparable(ck['config']) != _comparable(resolved):
            diff = sorted(k for k in _comparable(resolved) if ck['config'].get(k) != resolved.get(k))
            raise Error(f'{last_path}: written with other settings ({", ".join(diff[:5])}); '
                        'use --fresh to start over or another name')
        sd = state_dict_of(ck['model'], last_path)
        check_state_dict(model, sd, last_path)
        model.load_state_dict(sd)
        if ema is not None:
            ema.load_state_dict(ck['ema'])
        optimizer.load_state_dict(ck['optimizer'])
        if scaler is not None and ck.get('scaler'):
            scaler.load_state_dict(ck['scaler'])
        epoch, skip, it = ck['epoch'], ck['iter_in_epoch'], ck['iter']
        rows, best = list(ck.get('log', [])), ck.get('best')
        states = ck['rng']
        if len(states) != d.world_size:
            raise Error(f'{last_path}: saved by {len(states)} processes, now {d.world_size}')
        set_rng_state(states[d.rank])
        partial[:] = list(states[d.rank].get('partial_loss', [0.0, 0.0]))
        log(d, f'resumed from {last_path} at epoch {epoch + 1}, iteration {it}')
    elif d.main:
        os.makedirs(out, exist_ok=True)
    D.barrier(d)

    def save(path: str, epoch_: int, skip_: int) -> None:
        states = D.all_gather_object(d, {**rng_state(), 'partial_loss': list(partial) if skip_ else [0.0, 0.0]})
        if not d.main:
            return
        infer = (ema.module if ema is not None else model).state_dict()
        save_atomic({'state_dict': infer, 'model': model.state_dict(),
                     'ema': ema.state_dict() if ema is not None else None,
                     'optimizer': optimizer.state_dict(), 'scaler': scaler.state_dict() if scaler else None,
                     'epoch': epoch_, 'iter_in_epoch': skip_, 'iter': it, 'rng': states, 'config': resolved,
                     'log': rows, 'best': best, 'meta': {'model': cfg.model, 'dataset': cfg.dataset}}, path)

    if d.main:
        write_json_atomic(os.path.join(out, 'config.json'),
                          {'config': resolved, 'derived': derived, 'reproducibility': repro, 'sources': SOURCES})
        if run is not None:
            run.log_params({**resolved, **{f'derived.{k}': v for k, v in derived.items()},
                            **{f'reproducibility.{k}': v for k, v in repro.items()}})
            run.log_dict({'config': resolved, 'derived': derived, 'reproducibility': repro, 'sources': SOURCES},
                         'config.json')
    log(d, f'{cfg.model} on {cfg.dataset}: {len(train_set)} instances, {ipe} iterations/epoch x {cfg.epochs} '
           f'epochs, batch {cfg.batch_size} x {d.world_size} process(es), lr {lr0:.3g}, device {device}'
           + (', AMP' if amp else '') + (', bf16 autocast' if cpu_bf16 else '')
           + (', channels-last' if cfg.channels_last else '') + (', compiled' if cfg.compile else '')
           + (', EMA' if ema else ''))

    stop = False
    while epoch < cfg.epochs and not stop:
        set_epoch(train_set, epoch)
        sampler.set_epoch(epoch, skip * cfg.batch_size)
        loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.num_workers,
                            collate_fn=collate, drop_last=drop_last, pin_memory=device.type == 'cuda')
        t0, loss_sum = time.time(), torch.tensor(partial if skip else [0.0, 0.0], dtype=torch.float64)
        bar = tqdm(loader, desc=f'epoch {epoch + 1}/{cfg.epochs}', disable=not (progress and d.main),
                   leave=False, initial=skip, total=ipe)
        for i, batch in enumerate(bar, start=skip):
            lr = schedule.apply(optimizer, it)
            inputs = batch['features' if from_features else 'image'].to(device, non_blocking=True).float()
            if cfg.channels_last:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            tx = batch['x_labels'].to(device).float()
            ty = batch['y_labels'].to(device).float()
            w = batch['weights'].to(device).float()
            with autocast:
                sx, sy = model.head((inputs,)) if from_features else net(inputs)
            loss = loss_fn(sx.float(), sy.float(), tx, ty, w)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                if cfg.clip_grad:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                if cfg.clip_grad:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
                optimizer.step()
            if ema is not None:
                ema.update(model)
            it += 1
            loss_sum += torch.tensor([loss.item(), 1.0], dtype=torch.float64)
            partial[:] = loss_sum.tolist()
            bar.set_postfix(loss=f'{loss.item():.4f}', lr=f'{lr:.2e}')
            if cfg.checkpoint_every_iters and it % cfg.checkpoint_every_iters == 0 and i + 1 < ipe:
                save(last_path, epoch, i + 1)
            if max_iters is not None and it >= max_iters:
                stop = True
                break
        bar.close()
        if stop:
            break
        if d.enabled:
            torch.distributed.all_reduce(loss_sum)
        row = {'epoch': epoch + 1, 'iter': it, 'loss': float(loss_sum[0] / max(loss_sum[1], 1)), 'lr': lr,
               'epoch_time_s': round(time.time() - t0, 2)}
        epoch += 1
        skip = 0
        if epoch % cfg.val_interval == 0 or (epoch == cfg.epochs and cfg.validate_at_end):
            metrics = {}
            if d.main:
                metrics = validate(cfg, ema.module if ema is not None else model, meta, device, progress)
                set_train_mode(model, cfg.frozen_stages)   # without EMA the validated module is the model
            metrics = D.broadcast_object(d, metrics)
            row.update(metrics)
            main_key = 'PCKh' if 'PCKh' in metrics else 'AP'
            if best is None or metrics[main_key] > best[1]:  # same decision on every rank
                best = (epoch, metrics[main_key])
                rows.append(row)
                save(os.path.join(out, 'best.pth'), epoch, 0)
                rows.pop()
        rows.append(row)
        if cfg.save_last:
            save(last_path, epoch, 0)
        if d.main:
            _write_log(os.path.join(out, 'log.csv'), rows)
            msg = ', '.join(f'{k} {v:.4g}' for k, v in row.items() if k in ('loss', 'lr', 'AP', 'PCKh'))
            log(d, f'epoch {epoch}/{cfg.epochs}: {msg} ({row["epoch_time_s"]:.1f} s)')
            if run is not None:
                run.log_metrics({k: v for k, v in row.items() if k != 'epoch' and isinstance(v, (int, float))},
                                step=epoch)

    if on_end is not None:
        on_end(model, ema, d)
    final = {}
    if d.main and not stop:
        final_path = os.path.join(out, 'final.pth')
        infer = (ema.module if ema is not None else model).state_dict()
        save_atomic({'state_dict': infer, 'meta': {'model': cfg.model, 'dataset': cfg.dataset,
                                                    'model_overrides': cfg.model_overrides,
                                                    'ema': ema is not None}, 'config': resolved}, final_path)
        last_val = next((r for r in reversed(rows) if 'AP' in r or 'PCKh' in r), {})
        final = {k: v for k, v in last_val.items() if k not in ('epoch', 'iter', 'lr', 'epoch_time_s')}
        final.update({'final_loss': rows[-1]['loss'] if rows else float('nan'), 'epochs': cfg.epochs,
                      'iterations': it, 'best_epoch': best[0] if best else None,
                      'train_time_s': round(sum(r['epoch_time_s'] for r in rows), 1)})
        write_json_atomic(os.path.join(out, 'metrics.json'), final)
        plot_curve(rows, os.path.join(out, 'curve.png'), f'{cfg.name}: {cfg.model} on {cfg.dataset}')
        if run is not None:
            # each metric once, under one name: AP/AR/loss are already logged per epoch (the last step is the
            # final value); only what the epochs did not log is added here
            logged = {k for r in rows for k in r}
            # (iterations is the last `iter`, epochs a parameter, final_loss the last `loss`)
            run.log_metrics({k: v for k, v in final.items() if isinstance(v, (int, float)) and k not in logged
                             and k not in ('final_loss', 'iterations', 'epochs')})
            run.set_tags({'checkpoint': portable_path(final_path), 'run_dir': portable_path(out)})
            for name in ('config.json', 'log.csv', 'metrics.json', 'curve.png'):
                run.log_artifact(os.path.join(out, name))
    D.barrier(d)
    D.cleanup()
    return final


def _spread_inputs(cfg: TrainConfig) -> dict:
    """What else the spread depends on: the starting weights' sha256 and the prepared data's settings."""
    import json

    from rtmpose.io import sha256_file
    try:
        with open(os.path.join(cfg.data_dir, 'manifest.json')) as f:
            data = json.load(f).get('params')
    except (OSError, ValueError):
        data = None
    return {'init_backbone_sha256': sha256_file(cfg.init_backbone) if cfg.init_backbone else None,
            'init_checkpoint_sha256': sha256_file(cfg.init_checkpoint) if cfg.init_checkpoint else None,
            'data_params': data}


def seed_runs(cfg: TrainConfig) -> list[TrainConfig]:
    """The runs of `cfg`, one per seed of `cfg.seeds` (just `cfg` when empty): the first keeps `cfg.name`
    (the model the later stages use), the others are <name>-seed<S>."""
    import dataclasses
    if not cfg.seeds:
        return [cfg]
    return [dataclasses.replace(cfg, seed=s, name=cfg.name if i == 0 else f'{cfg.name}-seed{s}')
            for i, s in enumerate(cfg.seeds)]


def run_training(cfg: TrainConfig, source: str, resume: bool = True, progress: bool = True, mlflow: bool = True,
                 report_dir: str | None = None, seeds_json: str | None = None) -> dict:
    """`train` recorded as an MLflow run (experiment `train`, tagged with the settings' `source`) on the
    main process, once per seed of `cfg.seeds` (then as child runs of one parent run `<name>`, which gets
    the mean AP and its 95% t-interval); with `report_dir`, also copy the first seed's metrics.json,
    log.csv and curve.png there (DVC metrics and plots); with `seeds_json`, write the spread over seeds there
    (per-seed metrics, mean, 95% t-interval). Returns the first seed's final metrics (empty on other ranks)."""
    from rtmpose.io import write_bytes_atomic
    from rtmpose.mlflow_log import start_run
    from rtmpose.train.stats import t_interval
    main = int(os.environ.get('RANK', '0')) == 0
    tags = {'source': source, 'model': cfg.model, 'dataset': cfg.dataset}
    runs = seed_runs(cfg)
    finals = []
    if len(runs) == 1:   # one seed: one plain run, no parent
        with start_run('train', cfg.name, tags=tags, enabled=main and mlflow) as mlrun:
            finals.append(train(runs[0], resume=resume, progress=progress, run=mlrun))
        stats = None
    else:
        with start_run('train', f'{cfg.name}-seeds', tags={**tags, 'seeds': ' '.join(map(str, cfg.seeds))},
                       enabled=main and mlflow) as parent:
            parent_id = parent.run_id
            for one in runs:
                with start_run('train', one.name, tags={**tags, 'seed': one.seed}, enabled=main and mlflow,
                               parent=parent_id) as mlrun:
                    finals.append(train(one, resume=resume, progress=progress, run=mlrun))
            key = 'PCKh' if main and 'PCKh' in finals[0] else 'AP'
            stats = t_interval([f.get(key, float('nan')) for f in finals]) if main else None
            if stats:
                parent.log_metrics({f'{key}_mean': stats['mean'], **({f'{key}_ci_low': stats['low'],
                                                                      f'{key}_ci_high': stats['high']}
                                                                     if stats['n'] > 1 else {})})
    if main and report_dir:
        for name in ('metrics.json', 'log.csv', 'curve.png'):
            with open(os.path.join(cfg.out_dir, name), 'rb') as f:
                write_bytes_atomic(os.path.join(report_dir, name), f.read())
    if main and seeds_json:
        key = 'PCKh' if 'PCKh' in finals[0] else 'AP'
        st = {k: None if isinstance(v, float) and math.isnan(v) else v   # JSON has no NaN
              for k, v in (stats or t_interval([f.get(key, float('nan')) for f in finals])).items()}
        write_json_atomic(seeds_json, {
            'metric': key, 'n_seeds': st['n'], f'{key}_mean': st['mean'], f'{key}_sd': st['sd'],
            f'{key}_ci_low': st['low'], f'{key}_ci_high': st['high'], f'{key}_ci_half_width': st['half_width'],
            'interval': 't-interval over seeds, 95% (none with one seed)',
            # the settings the spread belongs to (rtmpose tables compares a run of the same settings with it)
            'settings': {k: v for k, v in dataclasses.asdict(cfg).items() if k not in SPREAD_FREE},
            'inputs': _spread_inputs(cfg),
            'per_seed': [{'seed': one.seed, 'run': one.name, **f} for one, f in zip(runs, finals)]})
    return finals[0] if finals else {}
