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
