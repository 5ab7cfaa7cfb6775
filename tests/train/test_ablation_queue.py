"""The grid fans out through DVC's experiment queue (experiments/ablations/README.md): one queued experiment
per variant, `dvc queue start --jobs N` runs them side by side, each one's results JSON committed to its
experiment. Checked on a tiny embedded setting in a temporary git repository."""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from tests.train.conftest import tiny_config

pytestmark = pytest.mark.slow   # DVC's queue workers take a while to start


def _sh(args, cwd, env, timeout=600):
    r = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f'{args}: {r.stdout}\n{r.stderr}'
    return r.stdout


def test_dvc_queue_runs_variants_as_experiments(tmp_path, tiny_data):
    dvc = os.path.join(os.path.dirname(sys.executable), 'dvc')
    if not os.path.exists(dvc) or shutil.which('git') is None:
        pytest.skip('needs dvc and git')
    repo = tmp_path / 'repo'
    repo.mkdir()
    shutil.copytree(tiny_data, repo / 'data')
    base = tiny_config(tmp_path, 'data', name='base', epochs=1, stage2_epochs=0, val_interval=1, runs_dir='runs')
    shutil.copy(base, repo / 'base.yaml')
    variants = {'final': {'grids': ['default'], 'table03': 'kernel7'},
                'kernel1': {'grids': ['default'], 'table03': 'kernel1',
                            'sets': ['model_overrides.final_layer_kernel_size=1']}}
    (repo / 'params.yaml').write_text(yaml.safe_dump({'ablations': {
        'grid': 'default', 'base': 'base.yaml', 'eval_dataset': 'synthetic', 'runs_dir': 'runs',
        'results_dir': 'results', 'summary': 'summary.csv', 'seeds': [1], 'jobs': 1, 'threads': 1,
        'train_sets': ['train_limit=8'], 'variants': variants}}))
    (repo / 'dvc.yaml').write_text(yaml.safe_dump({'stages': {'ablation': {
        'foreach': '${ablations.variants}',
        'do': {'cmd': 'rtmpose ablate ${key}', 'deps': ['base.yaml', 'data'],
               'params': ['ablations.seeds', 'ablations.train_sets', 'ablations.variants.${key}'],
               'outs': [{'results/${key}.json': {'cache': False}}]}}}}))
    (repo / '.gitignore').write_text('runs/\n')
    env = dict(os.environ, RTMPOSE_NO_MLFLOW='1', OMP_NUM_THREADS='1', DVC_NO_ANALYTICS='1',
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''),
               GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t', GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@t')
    _sh(['git', 'init', '-q'], repo, env)
    _sh([dvc, 'init', '-q'], repo, env)
    (repo / 'results').mkdir()
    for name in variants:   # tracked by git, so each experiment commits its own version
        (repo / 'results' / f'{name}.json').write_text('{}\n')
    _sh(['git', 'add', '-A'], repo, env)
    _sh(['git', 'commit', '-qm', 'tiny grid'], repo, env)
    # variant x seed: one queued experiment each, the same seed for both variants (paired)
    for name in variants:
        _sh([dvc, 'exp', 'run', '--queue', f'ablation@{name}', '-S', 'ablations.seeds=[7]', '-n', f'{name}-s7'],
            repo, env)
    _sh([dvc, 'queue', 'start', '--jobs', '2'], repo, env)
    deadline = time.time() + 900
    while time.time() < deadline:
        status = _sh([dvc, 'queue', 'status'], repo, env)
        if 'Queued' not in status and 'Running' not in status:
            break
        time.sleep(5)
    assert 'Failed' not in status, status + _sh([dvc, 'queue', 'logs', 'final-s7'], repo, env)
    _sh([dvc, 'queue', 'stop'], repo, env)
    refs = _sh(['git', 'for-each-ref', '--format=%(refname)', 'refs/exps'], repo, env).split()
    found = {}
    for ref in refs:
        for name in variants:
            shown = subprocess.run(['git', 'show', f'{ref}:results/{name}.json'], cwd=repo, env=env,
                                   capture_output=True, text=True)
            if shown.returncode == 0 and json.loads(shown.stdout).get('status') == 'done':
                found[name] = json.loads(shown.stdout)
    assert set(found) == set(variants), refs
    for name, r in found.items():
        assert [p['seed'] for p in r['per_seed']] == [7] and 'AP' in r['per_seed'][0]['metrics']
