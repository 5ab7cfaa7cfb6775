"""`rtmpose train-detector`: train RTMDet on a prepared set (params.yaml section `detector.train`, or an
experiment file), resuming from the run folder's last.pth; prints the box AP with its interval."""
from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument('--params', default='params.yaml', help='parameters file (default: params.yaml)')
    p.add_argument('--section', default='detector.train', help='section of the parameters file '
                                                              '(default: detector.train)')
    p.add_argument('--config', '-c', metavar='EXPERIMENT.yaml', help='experiment file instead of the section')
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override a setting')
    p.add_argument('--fresh', action='store_true', help='ignore an existing last.pth and start over')
    p.add_argument('--no-progress', action='store_true', help='no progress bars')
    p.add_argument('--no-mlflow', action='store_true', help='do not record an MLflow run')
    p.add_argument('--publish', metavar='WEIGHTS.pth', help='when done, copy the EMA weights here with their '
                                                            'provenance beside them (the same name with .json)')
    p.add_argument('--notes', default='', help='with --publish: a note kept in the provenance (how the run went)')


def run(args: argparse.Namespace) -> int:
    from rtmpose.settings import resolve
    from rtmpose.train.detector import DetectorTrainConfig, train_detector
    if args.config:
        from rtmpose.settings import read_params
        cfg = resolve(DetectorTrainConfig, values=read_params(args.config), sets=args.set, where=args.config)
    else:
        cfg = resolve(DetectorTrainConfig, params=args.params, section=args.section, sets=args.set)
    if args.publish:
        from rtmpose.io import check_writable
        check_writable(args.publish, 'published weights')          # before hours of training
    final = (None if args.fresh else finished(cfg)) or train_detector(
        cfg, resume=not args.fresh, progress=not args.no_progress, mlflow=not args.no_mlflow)
    ci = (f' [{final["AP_ci_low"]:.3f}, {final["AP_ci_high"]:.3f}]' if 'AP_ci_low' in final else '')
    print(f'rtmpose train-detector: done: {cfg.out_dir}/final.pth (box AP {final.get("AP", float("nan")):.3f}{ci}, '
          f'AP50 {final.get("AP50", float("nan")):.3f})')
    if args.publish:
        record = publish(cfg, args.publish, ' '.join(['rtmpose', 'train-detector'] + _argv()), args.notes)
        print(f'rtmpose train-detector: published {record["weights"]} (sha256 {record["sha256"][:12]}) and '
              f'{provenance_path(args.publish)}')
    return 0


def provenance_path(weights: str) -> str:
    return weights[:-4] + '.json' if weights.endswith('.pth') else weights + '.json'


def finished(cfg) -> dict | None:
    """The last log row of a run that already reached cfg.epochs (final.pth written) with these settings, else
    None: a rerun of a finished run reports it instead of training again (and instead of rewriting its
    metrics.json). The run folder is not tied to the code: after a change to the trainer, --fresh trains anew.
    Settings are compared as train_detector's resume compares them (the checkpoint's keys, but for
    RESUMABLE_CHANGES), so both agree on what counts as the same run."""
    import dataclasses
    import os

    from rtmpose.checkpoint import read_checkpoint
    from rtmpose.train.detector import RESUMABLE_CHANGES
    last, final = os.path.join(cfg.out_dir, 'last.pth'), os.path.join(cfg.out_dir, 'final.pth')
    if not (os.path.isfile(last) and os.path.isfile(final)):
        return None
    ck = read_checkpoint(last)
    settings = dataclasses.asdict(cfg)
    changed = [k for k, v in ck['config'].items() if k not in RESUMABLE_CHANGES and settings.get(k) != v]
    if ck.get('epoch', 0) < cfg.epochs or changed:      # train_detector resumes, or refuses other settings
        return None
    print(f'rtmpose train-detector: {last} already finished its {cfg.epochs} epochs (--fresh trains anew)',
          flush=True)
    return ck['log'][-1]


def _argv() -> list[str]:
    import sys
    argv = sys.argv[1:]
    return argv[argv.index('train-detector') + 1:] if 'train-detector' in argv else argv


def publish(cfg, dest: str, command: str, notes: str = '') -> dict:
    """Copy the run's EMA weights (final.pth) to `dest` and write their provenance to `dest` with .json: the
    run's own settings (as last.pth saved them), the data, the per-epoch log with each epoch's wall time, the box
    AP with its interval, when the training ended, and the machine and git tree at publishing. The record is
    built before anything is written, so a failure leaves no weights without provenance."""
    import os
    import time

    import torch

    from rtmpose.checkpoint import read_checkpoint, save_atomic
    from rtmpose.data.prepared import read_manifest
    from rtmpose.io import sha256_file, write_json_atomic
    from rtmpose.mlflow_log import git_tags
    from rtmpose.system import cpu_name, library_versions
    final_path, last_path = os.path.join(cfg.out_dir, 'final.pth'), os.path.join(cfg.out_dir, 'last.pth')
    final, last = read_checkpoint(final_path), read_checkpoint(last_path)
    run = last['config']                      # what the run trained with (a resume may change epochs/threads)
    log, val_dir = last['log'], run.get('val_dir') or run['data_dir']
    end = log[-1]
    splits = {d: read_manifest(d)['splits'] for d in {run['data_dir'], val_dir}}
    record = {
        'weights': dest, 'command': command, 'model': run['model'], 'input_size': run['input_size'],
        'settings': run,
        'data': {'train': f'{run["data_dir"]} train: {splits[run["data_dir"]]["train"]["images"]} images, '
                          f'{splits[run["data_dir"]]["train"]["instances"]} people',
                 'held_out': f'{val_dir} val: {splits[val_dir]["val"]["images"]} images (box AP below)'},
        'epochs': end['epoch'], 'iterations': end['iter'], 'samples_seen': end['iter'] * run['batch_size'],
        'train_time_s': round(sum(r.get('epoch_time_s', 0) for r in log), 1),
        'held_out_box_AP': {k: end[k] for k in ('AP', 'AP_ci_low', 'AP_ci_high', 'bootstrap', 'AP50', 'AP75', 'AR',
                                                 'images', 'detections') if k in end},
        'log': log,
        'trained_until': time.strftime('%Y-%m-%dT%H:%M:%S%z', time.localtime(os.path.getmtime(last_path))),
        'machine': {'cpu': cpu_name(), 'logical_cores': os.cpu_count(),
                    'torch_threads': run.get('threads') or torch.get_num_threads(),
                    **library_versions(('torch', 'numpy'))},
        'git_at_publish': git_tags(), 'published': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
        **({'notes': notes} if notes else {}),
    }
    save_atomic({'state_dict': {k: v.contiguous() for k, v in final['state_dict'].items()},
                 'meta': {**final.get('meta', {}), 'trained': 'rtmpose train-detector (EMA weights)'}}, dest)
    record = {**record, 'sha256': sha256_file(dest), 'size_bytes': os.path.getsize(dest)}
    write_json_atomic(provenance_path(dest), record)
    return record
