"""Helpers of the robustness corpus: bad input through the real CLI must fail in one line, with nothing half-written."""
import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rtmpose(*args: str, timeout: int = 60, user: int | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1', RTMPOSE_NO_MLFLOW='1')
    cmd = [sys.executable, '-m', 'rtmpose.cli', *args]
    if user is not None:
        cmd = ['setpriv', f'--reuid={user}', f'--regid={user}', '--clear-groups', *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)


def assert_one_line_error(r: subprocess.CompletedProcess, *needles: str) -> str:
    """Non-zero exit, stderr exactly one non-empty line (no traceback, no decoder warning) holding `needles`."""
    lines = r.stderr.splitlines()
    assert r.returncode != 0, r.stdout + r.stderr
    assert len(lines) == 1 and lines[0].strip(), r.stderr
    assert 'Traceback' not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def snapshot(path) -> dict:
    """Every file under `path` with its bytes (to check that nothing was changed or left behind)."""
    out = {}
    for root, dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            with open(p, 'rb') as fh:
                out[os.path.relpath(p, path)] = fh.read()
        for d in dirs:
            out[os.path.relpath(os.path.join(root, d), path) + '/'] = b''
    return out


def tiny_experiment(folder, data_dir: str, **kw) -> str:
    cfg = dict(name='tiny', runs_dir=str(folder / 'runs'), model='rtmpose-t', dataset='synthetic', data_dir=data_dir,
               model_overrides={'input_size': [64, 64], 'sigma': [1.63, 1.89]}, epochs=1, stage2_epochs=0,
               batch_size=4, val_batch_size=4, num_workers=0, auto_scale_lr=False, warmup_iters=1, ema=False,
               device='cpu')
    cfg.update(kw)
    path = folder / 'tiny.yaml'
    path.write_text(yaml.safe_dump(cfg))
    return str(path)
