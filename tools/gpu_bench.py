"""GPU rows: RTMPose-t/s/m/l latency on a CUDA GPU with PyTorch (eager fp16 and torch.compile fp16) at batch
1 and 6, and the throughput of one AMP training step. Not TensorRT, and not the paper's GTX 1660 Ti: the CSV
is labelled with the GPU name and the runtime, and reports/build.py never puts it into the paper's TensorRT
cells (Tables 11/12 keep those 'not measured').

    python tools/gpu_bench.py                                  # cuda: 50 warm-up + 200 runs per condition
    python tools/gpu_bench.py --device cpu --runs 2 --warmup 1 --models rtmpose-t --batches 1 --out /tmp/g.csv

Protocol: per condition, `warmup` untimed calls then `runs` timed calls, torch.cuda.synchronize() before each
clock reading (rtmpose.harness.timing.measure with sync); latency statistics from rtmpose.harness.timing.
The training step: AdamW, KLDiscretLoss on seeded SimCC targets, torch.autocast(fp16) + GradScaler on CUDA
(a CPU dry run stays fp32), reported as images per second.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys

import numpy as np
import torch

FIELDS = ['gpu', 'device', 'runtime', 'model', 'mode', 'precision', 'batch', 'median_ms', 'median_ci_lo_ms',
          'median_ci_hi_ms', 'mean_ms', 'p90_ms', 'p99_ms', 'p99_reliable', 'min_ms', 'iqr_rel', 'drift',
          'images_per_s', 'warmup', 'runs', 'status']
MODES = ('eager-fp16', 'compile-fp16', 'train-amp')


def device_label(device: torch.device) -> tuple[str, str]:
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device), f'torch {torch.__version__}, CUDA {torch.version.cuda}'
    return platform.processor() or platform.machine(), f'torch {torch.__version__}, CPU'


def _sync(device: torch.device):
    return torch.cuda.synchronize if device.type == 'cuda' else None


def time_inference(model, x, mode: str, device, warmup: int, runs: int) -> np.ndarray:
    from rtmpose.harness.timing import measure
    fn = torch.compile(model) if mode.startswith('compile') else model
    cuda = device.type == 'cuda'    # a CPU dry run stays fp32: it checks the script, not a speed

    @torch.inference_mode()
    def call():
        with torch.autocast(device.type, dtype=torch.float16, enabled=cuda):
            return fn(x)
    return measure(call, warmup=warmup, runs=runs, sync=_sync(device))


def time_train_step(model, x, device, warmup: int, runs: int) -> np.ndarray:
    from rtmpose.harness.timing import measure
    from rtmpose.losses import KLDiscretLoss
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    cuda = device.type == 'cuda'
    scaler = torch.amp.GradScaler('cuda', enabled=cuda)
    loss_fn = KLDiscretLoss()
    with torch.no_grad():
        px, py = model(x)
    gen = torch.Generator().manual_seed(0)
    tx, ty = torch.rand(px.shape, generator=gen).to(device), torch.rand(py.shape, generator=gen).to(device)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.float16, enabled=cuda):
            ox, oy = model(x)
            loss = loss_fn(ox.float(), oy.float(), tx, ty)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    t = measure(step, warmup=warmup, runs=runs, sync=_sync(device))
    model.eval()
    return t


def run(models, batches, modes, device_name: str, warmup: int, runs: int, out: str) -> list[dict]:
    import rtmpose
    from rtmpose.harness.timing import summarize
    from rtmpose.io import write_csv_atomic
    from rtmpose.seeded import rng_for
    device = torch.device(device_name)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('gpu_bench: no CUDA device (torch.cuda.is_available() is False); '
                         'use --device cpu for a dry run')
    gpu, runtime = device_label(device)
    rows = []
    for name in models:
        model = rtmpose.models.create(name).to(device).eval()
        w, h = model.config.input_size
        for batch in batches:
            x = torch.from_numpy(rng_for(0, f'gpu-bench-{batch}').standard_normal((batch, 3, h, w), dtype=np.float32))
            x = x.to(device)
            for mode in modes:
                row = dict(gpu=gpu, device=device.type, runtime=runtime, model=name, mode=mode, batch=batch,
                           precision='fp16 autocast' if device.type == 'cuda' else 'fp32 (CPU dry run)',
                           warmup=warmup, runs=runs, status='ok')
                try:
                    if mode == 'train-amp':
                        t = time_train_step(model, x, device, warmup, runs)
                    else:
                        t = time_inference(model, x, mode, device, warmup, runs)
                    s = summarize(t)
                    row.update({k: s[k] for k in FIELDS if k in s}, images_per_s=batch * 1e3 / s['median_ms'])
                except Exception as e:   # e.g. torch.compile without a C compiler / Triton: the row says why
                    row['status'] = f'not run: {type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ""}'
                rows.append(row)
                print(f"{gpu} {name} {mode} b{batch}: " + (f"{row['median_ms']:.3f} ms median, "
                      f"{row['images_per_s']:.1f} img/s" if row['status'] == 'ok' else row['status']))
    write_csv_atomic(out, rows, FIELDS)
    print(f'wrote {out}')
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--device', default='cuda', help='cuda, cuda:N, or cpu for a dry run')
    p.add_argument('--models', nargs='+', default=['rtmpose-t', 'rtmpose-s', 'rtmpose-m', 'rtmpose-l'])
    p.add_argument('--batches', nargs='+', type=int, default=[1, 6])
    p.add_argument('--modes', nargs='+', choices=MODES, default=list(MODES))
    p.add_argument('--warmup', type=int, default=50)
    p.add_argument('--runs', type=int, default=200)
    p.add_argument('--out', default=None, help='CSV (default reports/bench/gpu/<gpu name>.csv)')
    a = p.parse_args(argv)
    torch.manual_seed(0)
    out = a.out
    if out is None:
        dev = torch.device(a.device)
        label = device_label(dev)[0] if dev.type != 'cuda' or torch.cuda.is_available() else 'cuda'
        out = os.path.join('reports', 'bench', 'gpu', ''.join(c if c.isalnum() or c in '-_' else '_' for c in label)
                           + '.csv')
    run(a.models, a.batches, a.modes, a.device, a.warmup, a.runs, out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
