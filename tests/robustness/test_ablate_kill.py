"""kill -9 of `rtmpose ablate` at several points: its workers die with it, a rerun reuses every seed that
finished, trains only what is missing, ends with the same results as an uninterrupted run, and closes the
MLflow runs the killed process left RUNNING."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.robustness.robust_helpers import REPO


def _params(tmp_path, data_dir: str, donor: str) -> str:
    base = yaml.safe_load(open(os.path.join(REPO, 'experiments/ablations/base.yaml')))
    base.update(data_dir=data_dir)
    (tmp_path / 'base.yaml').write_text(yaml.safe_dump(base))
    ab = {'grid': 'default', 'base': str(tmp_path / 'base.yaml'), 'eval_dataset': 'synthetic',
          'runs_dir': str(tmp_path / 'runs'), 'results_dir': str(tmp_path / 'results'),
          'summary': str(tmp_path / 'summary.csv'), 'seeds': [21, 22, 23, 24], 'jobs': 2, 'threads': 1,
          'experiment': 'ablations',
          'train_sets': ['epochs=2', 'stage2_epochs=1', 'batch_size=4', 'base_lr=0.0005', 'val_batch_size=8',
                         'warmup_iters=2', 'val_interval=1000', 'validate_at_end=false', 'save_last=false',
                         f'init_backbone={donor}', 'frozen_stages=4', 'num_workers=0', 'auto_scale_lr=false',
                         'model_overrides.input_size=[64, 64]', 'model_overrides.sigma=[1.63, 1.89]',
                         f'data_dir={data_dir}'],
          'variants': {'final': {'description': 'final', 'grids': ['default']}}}
    path = tmp_path / 'params.yaml'
    path.write_text(yaml.safe_dump({'ablations': ab}))
    return str(path)


def _start(params: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, '-m', 'rtmpose.cli', 'ablate', 'final', '--params', params], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _descendants(pid: int) -> list:
    import psutil
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 300) -> list:
    """kill -9 `proc` once `ready()` holds; returns the processes it had started."""
    t0 = time.time()
    while not ready():
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() - t0 < timeout, 'the run never reached the kill point'
        time.sleep(0.2)
    children = _descendants(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return children


def _results(tmp_path) -> dict:
    return json.loads((tmp_path / 'results' / 'final.json').read_text())


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_kill9_of_ablate_takes_its_workers_and_a_rerun_reuses_finished_seeds(tmp_path, tiny_data):
    import mlflow
    import psutil

    from tests.train.conftest import run_cli, tiny_config
    donor_cfg = tiny_config(tmp_path, tiny_data, name='donor', epochs=1, stage2_epochs=0)
    assert run_cli(['train', '-c', donor_cfg, '--no-progress']).returncode == 0
    donor = str(tmp_path / 'runs' / 'donor' / 'final.pth')
    params = _params(tmp_path, tiny_data, donor)
    env = dict(os.environ, OMP_NUM_THREADS='1', MLFLOW_TRACKING_URI=f'sqlite:///{tmp_path}/mlflow.db')
    env.pop('RTMPOSE_NO_MLFLOW', None)
    seed_record = lambda s: tmp_path / 'runs' / f'ablation-final-seed{s}' / 'seed.json'  # noqa: E731

    # 1. killed while its first two seeds train: the workers die with it, nothing is reusable yet
    proc = _start(params, env)
    children = _kill_when(proc, lambda: len([c for c in _descendants(proc.pid) if 'python' in c.name()]) >= 2
                          and (tmp_path / 'runs' / 'ablation-final-seed21').exists())
    assert children
    gone, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, f'workers outlived the killed parent: {alive}'

    # 2. killed after the first round of seeds finished (two seed records written)
    proc = _start(params, env)
    children = _kill_when(proc, lambda: seed_record(21).exists() and seed_record(22).exists())
    assert not psutil.wait_procs(children, timeout=20)[1]
    assert not (tmp_path / 'results' / 'final.json').exists()

    # 3. the rerun reuses 21 and 22, trains 23 and 24, closes what the killed runs left RUNNING
    r = subprocess.run([sys.executable, '-m', 'rtmpose.cli', 'ablate', 'final', '--params', params], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'reusing finished seed(s) 21, 22' in r.stdout and 'KILLED' in r.stdout
    assert 'training ablation-final-seed21' not in r.stdout and 'training ablation-final-seed23' in r.stdout
    got = _results(tmp_path)
    assert got['reused_seeds'] == [21, 22] and [p['seed'] for p in got['per_seed']] == [21, 22, 23, 24]
    client = mlflow.MlflowClient(env['MLFLOW_TRACKING_URI'])
    exp = client.get_experiment_by_name('ablations')
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    assert not [x for x in runs if x.info.status == 'RUNNING'], 'runs left RUNNING'
    assert any(x.info.status == 'KILLED' for x in runs)
    parent = [x for x in runs if x.info.run_name == 'ablation-final' and x.info.status == 'FINISHED']
    assert len(parent) == 1
    children = [x for x in runs if x.data.tags.get('mlflow.parentRunId') == parent[0].info.run_id
                and x.info.status == 'FINISHED']
    # the continued parent holds a finished train and eval run for every seed
    assert sorted(x.info.run_name for x in children) == sorted(
        f'ablation-final-seed{s}{e}' for s in (21, 22, 23, 24) for e in ('', '-eval'))

    # 4. the same results as an uninterrupted run of the same seeds (fresh folders)
    fresh = tmp_path / 'fresh'
    fresh.mkdir()
    params2 = _params(fresh, tiny_data, donor)
    r = subprocess.run([sys.executable, '-m', 'rtmpose.cli', 'ablate', 'final', '--params', params2], cwd=REPO,
                       env={**env, 'RTMPOSE_NO_MLFLOW': '1'}, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    ref = _results(fresh)
    assert [p['metrics'] for p in ref['per_seed']] == [p['metrics'] for p in got['per_seed']]
    import torch

    from rtmpose.checkpoint import read_checkpoint
    for seed in (21, 23):   # one reused from the killed run, one trained by the rerun: bit-equal weights
        a = read_checkpoint(tmp_path / 'runs' / f'ablation-final-seed{seed}' / 'final.pth')['state_dict']
        b = read_checkpoint(fresh / 'runs' / f'ablation-final-seed{seed}' / 'final.pth')['state_dict']
        assert all(torch.equal(a[k], b[k]) for k in a), seed
