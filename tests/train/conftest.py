import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """A handful of synthetic images (the real generator, shrunk)."""
    from rtmpose.data.synthetic import make_synthetic
    out = tmp_path_factory.mktemp('data') / 'synthetic'
    make_synthetic(out, seed=0, num_train=12, num_val=6, width=128, height=128, max_people=2, progress=False)
    return str(out)


def tiny_config(tmp_path, data_dir: str, **kw) -> str:
    """RTMPose-t at a 64x64 input (sigma scaled with the input) on the tiny set, written as an experiment file."""
    cfg = dict(name='tiny', runs_dir=str(tmp_path / 'runs'), model='rtmpose-t', dataset='synthetic',
               data_dir=data_dir, model_overrides={'input_size': [64, 64], 'sigma': [1.63, 1.89]},
               epochs=2, stage2_epochs=1, batch_size=4, val_batch_size=8, num_workers=0, base_lr=4e-3,
               auto_scale_lr=False, weight_decay=0.0, warmup_iters=3, ema=True, ema_gamma=20, val_interval=1)
    cfg.update(kw)
    path = tmp_path / f'{cfg["name"]}.yaml'
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def run_cli(args: list[str], env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    e = dict(os.environ, OMP_NUM_THREADS='1', RTMPOSE_NO_MLFLOW='1')
    e.update(env or {})
    return subprocess.run([sys.executable, '-m', 'rtmpose.cli', *args], capture_output=True, text=True,
                          env=e, cwd=REPO, timeout=timeout)
