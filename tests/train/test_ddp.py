"""Two CPU processes (gloo) under torchrun train in step: the same parameters on both ranks."""
import os
import subprocess
import sys

import pytest
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


@pytest.mark.slow  # `make test` runs torchrun across two Slurm nodes in its cluster tier
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


@pytest.mark.cluster
def test_two_torchrun_nodes_train_the_steps_of_one_process_with_the_global_batch(tmp_path, tiny_data):
    """`rtmpose train` unchanged under two torchrun agents (--nnodes 2, c10d rendezvous on 127.0.0.1, one
    gloo process each, batch 4 each) against one node with two processes, and against one process with batch 8.

    The same samples meet in each step (rank r takes every second index of the epoch's order: the two halves
    of the single process's batch) and the backbone is the committed pre-trained one, frozen (frozen_stages: 4,
    BatchNorm on its running statistics: per-process batch statistics would be another computation,
    SyncBatchNorm being CUDA-only).

    Two nodes x one process is the computation of one node x two processes: bit-identical weights.

    Against one process: the loss sums over a process's samples (KLDiscretLoss, as mmpose) and DDP averages the
    processes' gradients without rescaling the loss (as mmengine), so two processes step on half the single
    process's gradient (to float rounding). AdamW's step lr * m / (sqrt(v) + eps) ignores that factor except
    through eps, and this head's first gradients are ~1e-10, far below the default eps 1e-8: with it the runs
    differ by ~3 lr (measured), a real property of mmengine-style DDP, not rounding. So these three runs set
    adam_eps 1e-30, which makes the step scale-free. What remains is the summation order of the gradient (DDP
    adds two half sums): a relative ~1e-6 on an element's gradient moves its step by about that, so elements
    must agree to steps * lr * 1e-3 (1000x margin); an element whose gradient is itself at rounding level (its
    terms cancel) can take a step of either sign, so up to 1 in 10^3 elements may exceed that."""
    from rtmpose.checkpoint import read_checkpoint
    common = dict(epochs=1, stage2_epochs=0, val_interval=5, validate_at_end=False, frozen_stages=4, ema=True,
                  warmup_iters=1, repeat=2, adam_eps=1e-30, init_backbone=os.path.join(REPO, 'pretrained', 'rtmpose-t_synthetic-96x128.pth'))
    one = tiny_config(tmp_path, tiny_data, name='one', batch_size=8, **common)
    local2 = tiny_config(tmp_path, tiny_data, name='local2', batch_size=4, **common)
    two = tiny_config(tmp_path, tiny_data, name='two', batch_size=4, **common)
    env = dict(os.environ, OMP_NUM_THREADS='1', RTMPOSE_NO_MLFLOW='1')
    cli = ['-m', 'rtmpose.cli', 'train', '--no-progress', '-c']
    r = subprocess.run([sys.executable, *cli, one], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
                        *cli, local2], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    port = _free_port()
    agents = [subprocess.Popen([sys.executable, '-m', 'torch.distributed.run', '--nnodes', '2', '--nproc_per_node',
                                '1', '--rdzv-backend', 'c10d', '--rdzv-endpoint', f'127.0.0.1:{port}', '--rdzv-id',
                                'rtmpose-test', *cli, two],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]
    outs = [a.communicate(timeout=600) for a in agents]
    for a, (out, err) in zip(agents, outs):
        assert a.returncode == 0, err[-3000:]
    assert any('batch 4 x 2 process(es)' in err for _, err in outs)
    a = read_checkpoint(tmp_path / 'runs' / 'one' / 'last.pth')
    b = read_checkpoint(tmp_path / 'runs' / 'two' / 'last.pth')
    c = read_checkpoint(tmp_path / 'runs' / 'local2' / 'last.pth')
    steps = a['iter']
    assert steps == b['iter'] == c['iter'] and steps >= 4
    for key in ('model', 'state_dict'):   # the raw weights and the EMA weights
        for k, v in b[key].items():
            assert torch.equal(v, c[key][k]), (key, k)

    lr = 4e-3    # tiny_config
    tol = steps * lr * 1e-3
    over = total = 0
    worst = 0.0
    for name, p in _trainable(one):
        diff = (a['model'][name] - b['model'][name]).abs()
        over += int((diff > tol).sum())
        total += diff.numel()
        worst = max(worst, float(diff.max()))
    print(f'{over} of {total} trainable elements differ by more than {tol:.3g} (worst {worst:.3g})')
    assert over <= total * 1e-3, (over, total, worst)
    # the EMA averages those weights: the same bound
    ema_over = sum(int(((a['state_dict'][k] - b['state_dict'][k]).abs() > tol).sum())
                   for k, v in a['state_dict'].items() if v.is_floating_point())
    assert ema_over <= total * 1e-3, ema_over
    # training moved the head far more than the tolerance: a comparison that could fail
    init = dict(_trainable(one))
    moved = max(float((a['model'][k] - init[k].detach()).abs().max()) for k in init if k.startswith('head.'))
    assert moved > 100 * tol, (moved, tol)

def _trainable(config_path: str) -> list[tuple[str, torch.nn.Parameter]]:
    """(name, parameter) in the optimizer's order, for the model this experiment file builds."""
    from rtmpose.data.meta import get_meta
    from rtmpose.train.config import load_config
    from rtmpose.train.optim import param_groups
    from rtmpose.train.trainer import build, seed_everything
    cfg = load_config(experiment=config_path)
    seed_everything(cfg.seed, 0)
    model = build(cfg, get_meta(cfg.dataset), torch.device('cpu'))
    params = dict(model.named_parameters())
    return [(n, params[n]) for g in param_groups(model, cfg.base_lr, cfg.weight_decay) for n in g['names']]
