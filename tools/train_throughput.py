"""Training throughput (samples/s) of the `train` stage's recipe under each faster CPU path, measured in one run.

    python tools/train_throughput.py --params params.yaml --out reports/train/throughput

Every condition trains the real trainer (rtmpose.train.trainer.train) for two epochs of `--samples` instances of
the prepared `train.data_dir` at the stage's input size and threads; the second epoch's wall time gives
samples/s (the first pays the one-off costs).
Conditions take turns (`--rounds` rounds, interleaved) so that a change in the machine's load hits them all;
the table gives the median over rounds and the ratio to the baseline (the previous `train` settings: batch 16,
NCHW, fp32, no loader worker). Writes <out>.csv and <out>.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# name: (--set overrides on the params.yaml `train` section, what it is)
CONDITIONS = {
    'baseline': (['batch_size=16', 'channels_last=false', 'num_workers=0'], 'batch 16, NCHW, fp32'),
    'batch32': (['batch_size=32', 'channels_last=false', 'num_workers=0'], 'batch 32'),
    'batch32_channels_last': (['batch_size=32', 'channels_last=true', 'num_workers=0'], 'batch 32, NHWC'),
    'batch32_channels_last_worker': (['batch_size=32', 'channels_last=true', 'num_workers=1'],
                                     'batch 32, NHWC, one loader worker (augmentation off the main process)'),
    'batch32_channels_last_bf16': (['batch_size=32', 'channels_last=true', 'num_workers=0', 'cpu_bf16=true'],
                                   'batch 32, NHWC, bf16 autocast'),
    'frozen_backbone_feature_cache': (['batch_size=32', 'channels_last=true', 'num_workers=0', 'frozen_stages=4'],
                                      'the grid\'s path: backbone frozen, its outputs from the feature cache, '
                                      'head trained only'),
}
OPTIONAL = {'batch32_channels_last_compile': (['batch_size=32', 'channels_last=true', 'num_workers=0', 'compile=true'],
                                              'batch 32, NHWC, torch.compile (compilation not counted)')}


def _config(params: str, sets: list[str], samples: int, run_dir: str, name: str):
    from rtmpose.train.config import load_config
    return load_config(params, 'train', sets=[*sets, f'train_limit={samples}', 'epochs=2', 'stage2_epochs=0',
                                              'validate_at_end=false', 'save_last=false', 'seeds=[]', 'ema=false',
                                              f'runs_dir={run_dir}', f'name={name}', 'warmup_iters=1'])


def measure(params: str, name: str, sets: list[str], samples: int, tmp: str, cache: str) -> float:
    """samples/s of condition `name`: the second of two epochs (the first pays the one-off costs: lazy imports in
    the data pipeline, oneDNN's kernel creation, a compiled graph)."""
    import json

    from rtmpose.train.trainer import train
    extra = []
    if 'frozen_stages=4' in sets:
        # fill the cache once (a first variant of the grid), then time a second head on the stored features
        sets = sets + [f'feature_cache={cache}']
        train(_config(params, sets, samples, tmp, f'{name}-fill'), resume=False, progress=False)
        sets = sets + ['model_overrides.final_layer_kernel_size=1']
    if 'compile=true' in sets:   # compile once on a short run; the timed run recompiles from the warm cache
        train(_config(params, sets, 64, tmp, f'{name}-compile'), resume=False, progress=False)
    cfg = _config(params, sets, samples, tmp, name)
    train(cfg, resume=False, progress=False)
    with open(os.path.join(cfg.out_dir, 'log.csv')) as f:
        rows = f.read().splitlines()
    epoch_time = float(rows[2].split(',')[4])
    n = json.load(open(os.path.join(cfg.out_dir, 'config.json')))['derived']['num_train_instances']
    return n / epoch_time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--params', default='params.yaml')
    p.add_argument('--samples', type=int, default=640, help='instances per timed epoch')
    p.add_argument('--rounds', type=int, default=2)
    p.add_argument('--compile', action='store_true', help='also torch.compile (minutes of compilation)')
    p.add_argument('--only', nargs='*', help='conditions to run (default: all)')
    p.add_argument('--out', default='reports/train/throughput')
    args = p.parse_args(argv)
    os.environ.setdefault('RTMPOSE_NO_MLFLOW', '1')
    from rtmpose.io import write_csv_atomic, write_text_atomic
    from rtmpose.system import cpu_flags, cpu_name
    conditions = {**CONDITIONS, **(OPTIONAL if args.compile else {})}
    if args.only:
        conditions = {k: v for k, v in conditions.items() if k in args.only or k == 'baseline'}
    got: dict[str, list[float]] = {k: [] for k in conditions}
    with tempfile.TemporaryDirectory() as tmp:
        cache = os.path.join(tmp, 'cache')
        for r in range(args.rounds):
            for name, (sets, _) in conditions.items():
                t0 = time.time()
                got[name].append(measure(args.params, f'{name}-r{r}', sets, args.samples, tmp, cache))
                print(f'round {r + 1}: {name}: {got[name][-1]:.1f} samples/s ({time.time() - t0:.0f} s)', flush=True)
    base = statistics.median(got['baseline'])
    rows = [{'condition': k, 'what': conditions[k][1], 'samples_per_s': statistics.median(v),
             'rounds': ' '.join(f'{x:.1f}' for x in v), 'ratio_to_baseline': statistics.median(v) / base}
            for k, v in got.items()]
    write_csv_atomic(args.out + '.csv', rows, ['condition', 'what', 'samples_per_s', 'rounds', 'ratio_to_baseline'])
    import torch
    flags = cpu_flags()
    lines = [f'# Training throughput ({cpu_name()}, {torch.get_num_threads()} torch threads)', '',
             f'`python tools/train_throughput.py --samples {args.samples} --rounds {args.rounds}'
             f'{" --compile" if args.compile else ""}`: the second of two epochs of {args.samples} instances of the '
             '`train` stage per condition, conditions interleaved, median over rounds. bf16 is fast only with AVX512-BF16 / AMX '
             f'(this CPU: {"avx512_bf16" in flags and "yes" or "no"}).', '',
             '| condition | what | samples/s | rounds | x baseline |', '|---|---|---|---|---|']
    lines += [f"| {r['condition']} | {r['what']} | {r['samples_per_s']:.1f} | {r['rounds']} | "
              f"{r['ratio_to_baseline']:.2f} |" for r in rows]
    write_text_atomic(args.out + '.md', '\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main())
