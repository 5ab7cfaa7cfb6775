"""Two CPU processes (gloo) under torchrun train in step: the same parameters on both ranks."""
import os
import subprocess
import sys

import torch

from tests.train.conftest import REPO, tiny_config

SCRIPT = '''
import sys, torch
from rtmpose.train.config import load_config
from rtmpose.train.trainer import train

def dump(model, ema, d):
    torch.save({'params': {k: p.detach().clone() for k, p in model.named_parameters()},
                'ema': {k: v.clone() for k, v in ema.module.state_dict().items()}}, f'{sys.argv[2]}/rank{d.rank}.pt')

train(load_config(experiment=sys.argv[1]), resume=False, progress=False, on_end=dump)
'''


def test_two_gloo_ranks_stay_in_step(tmp_path, tiny_data):
    cfg = tiny_config(tmp_path, tiny_data, name='ddp', epochs=1, batch_size=2, val_interval=5)
    script = tmp_path / 'ddp_train.py'
    script.write_text(SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS='1', RTMPOSE_NO_MLFLOW='1')
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
                        str(script), cfg, str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'batch 2 x 2 process(es)' in r.stderr
    a, b = torch.load(tmp_path / 'rank0.pt'), torch.load(tmp_path / 'rank1.pt')
    fresh = {k: p for k, p in __import__('rtmpose').build_model('rtmpose-t', input_size=(64, 64)).named_parameters()}
    moved = 0
    for k, v in a['params'].items():
        assert torch.equal(v, b['params'][k]), f'{k} differs between ranks'
        moved += int(not torch.equal(v, fresh[k]))
    assert moved > 0.9 * len(a['params'])  # they did train
    for k, v in a['ema'].items():  # the EMA follows the same weights; BN statistics come from rank 0 (broadcast)
        if 'running' not in k and 'num_batches' not in k:
            assert torch.equal(v, b['ema'][k]), k


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@__import__('pytest').mark.slow
def test_two_torchrun_nodes_train_the_steps_of_one_process_with_the_global_batch(tmp_path, tiny_data):
    """`rtmpose train` unchanged under two torchrun agents (--nnodes 2, c10d rendezvous on 127.0.0.1, one
    gloo process each, batch 4 each) ends where one process with batch 8 ends.

    The same samples meet in each step (rank r takes every second index of the epoch's order: the two halves
    of the single process's batch) and the backbone is frozen (frozen_stages: 4, BatchNorm on its running
    statistics: per-process batch statistics would be another computation, SyncBatchNorm being CUDA-only).
    What differs is float rounding: DDP averages the two halves' mean gradients, the single process takes one
    mean, a relative difference of a few units of 2^-24. Adam's steps are lr * m / (sqrt(v) + eps), insensitive
    to a relative change of the gradient except where |g| ~ eps, so each step moves a weight by at most about
    lr * 1e-6 differently; we allow steps * lr * 1e-4 (100x that) absolute, and require the runs to have moved
    the head by far more than the tolerance."""
    import pytest
    from rtmpose.checkpoint import read_checkpoint
    common = dict(epochs=1, stage2_epochs=0, val_interval=5, validate_at_end=False, frozen_stages=4, ema=True,
                  warmup_iters=1, repeat=2)
    one = tiny_config(tmp_path, tiny_data, name='one', batch_size=8, **common)
    two = tiny_config(tmp_path, tiny_data, name='two', batch_size=4, **common)
    env = dict(os.environ, OMP_NUM_THREADS='1', RTMPOSE_NO_MLFLOW='1')
    r = subprocess.run([sys.executable, '-m', 'rtmpose.cli', 'train', '-c', one, '--no-progress'], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    port = _free_port()
    agents = [subprocess.Popen([sys.executable, '-m', 'torch.distributed.run', '--nnodes', '2', '--nproc_per_node',
                                '1', '--rdzv-backend', 'c10d', '--rdzv-endpoint', f'127.0.0.1:{port}', '--rdzv-id',
                                'rtmpose-test', '-m', 'rtmpose.cli', 'train', '-c', two, '--no-progress'],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]
    outs = [a.communicate(timeout=600) for a in agents]
    for a, (out, err) in zip(agents, outs):
        assert a.returncode == 0, err[-3000:]
    assert any('batch 4 x 2 process(es)' in err for _, err in outs)
    a = read_checkpoint(tmp_path / 'runs' / 'one' / 'last.pth')
    b = read_checkpoint(tmp_path / 'runs' / 'two' / 'last.pth')
    steps = a['iter']
    assert steps == b['iter'] and steps >= 4
    tol = steps * 4e-3 * 1e-4    # lr 4e-3 (tiny_config)
    for key in ('model', 'state_dict'):   # the raw weights and the EMA weights
        for k, v in a[key].items():
            if v.is_floating_point():
                diff = float((v - b[key][k]).abs().max())
                assert diff <= tol, (key, k, diff, tol)
    # the weights the runs started from (the trainer's seeding, rank 0): training moved the head far more
    import torch

    from rtmpose.data.meta import get_meta
    from rtmpose.train.config import load_config
    from rtmpose.train.trainer import build, seed_everything
    cfg = load_config(experiment=one)
    seed_everything(cfg.seed, 0)
    init = build(cfg, get_meta(cfg.dataset), torch.device('cpu')).state_dict()
    moved = max(float((a['model'][k] - init[k]).abs().max()) for k in init
                if k.startswith('head.') and init[k].is_floating_point())
    assert moved > 100 * tol, (moved, tol)
