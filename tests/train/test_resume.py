"""Crash safety for real: SIGKILL a training process mid-run, rerun the same command, compare the weights."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from rtmpose.checkpoint import read_checkpoint
from tests.train.conftest import REPO, tiny_config

ENV = dict(os.environ, OMP_NUM_THREADS='1', RTMPOSE_NO_MLFLOW='1')


def _train(cfg_path: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, '-m', 'rtmpose.cli', 'train', '-c', cfg_path, '--no-progress'],
                            cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # two full tiny runs plus a killed one: ~1-2 minutes here
def test_kill9_then_resume_equals_uninterrupted(tmp_path, tiny_data):
    common = dict(epochs=3, stage2_epochs=1, batch_size=4, checkpoint_every_iters=2, ema=True, val_interval=2)
    ref_cfg = tiny_config(tmp_path, tiny_data, name='straight', **common)
    p = _train(ref_cfg)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err

    cfg = tiny_config(tmp_path, tiny_data, name='killed', **common)
    last = tmp_path / 'runs' / 'killed' / 'last.pth'
    p = _train(cfg)
    deadline = time.time() + 600
    killed_at = None
    while time.time() < deadline and p.poll() is None:
        if last.is_file():
            ck = read_checkpoint(last)
            if ck['iter'] >= 7:  # in the second epoch, after a mid-epoch checkpoint
                os.kill(p.pid, signal.SIGKILL)
                killed_at = ck['iter']
                break
        time.sleep(0.2)
    p.communicate()
    assert killed_at is not None, 'training ended before it could be killed'
    assert not (tmp_path / 'runs' / 'killed' / 'final.pth').exists()

    p = _train(cfg)  # the same command resumes
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    assert 'resumed from' in err

    a = read_checkpoint(tmp_path / 'runs' / 'straight' / 'last.pth')
    b = read_checkpoint(last)
    assert a['iter'] == b['iter'] and a['epoch'] == b['epoch'] == 3
    for part in ('model', 'state_dict'):  # raw weights and the EMA weights
        for k, v in a[part].items():
            assert torch.equal(v, b[part][k]), f'{part}.{k} differs after resume'
    assert int(a['ema']['steps']) == int(b['ema']['steps'])
    assert [r['loss'] for r in a['log']] == [r['loss'] for r in b['log']]
