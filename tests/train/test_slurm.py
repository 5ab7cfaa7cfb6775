"""The ablation grid through the `slurm` executor on a real one-node Slurm (no accounting database), logging to
a real MLflow server: every cell COMPLETED, the same results as the local executor, a cancelled cell reported
by name with its log and resubmitted alone, no run, parameter or metric lost by the concurrent writers."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from tests.slurm_cluster import Cluster, available
from tests.train.conftest import REPO
from tests.train.test_seeds import _tiny_grid

TIMED = ('train_time_s', 'wall_s', 'wall_time_s', 'jobs', 'reused_seeds')


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    why = available()
    if why:
        pytest.skip(why)
    c = Cluster(tmp_path_factory.mktemp('slurm')).start()
    yield c
    c.stop()


def _slurm_grid(tmp_path, tiny_data, **slurm) -> str:
    path = _tiny_grid(tmp_path, tiny_data, seeds=[3, 4])
    params = yaml.safe_load(open(path))
    params['ablations'].update(executor='slurm', slurm={'log_dir': str(tmp_path / 'slurm-logs'), 'poll_s': 1,
                                                         'time_min': 20, **slurm})
    open(path, 'w').write(yaml.safe_dump(params))
    return path


def _ablate(variant, params, env, **kw):
    return subprocess.Popen([sys.executable, '-m', 'rtmpose.cli', 'ablate', variant, '--params', params], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _untimed(record: dict) -> dict:
    def strip(o):
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if k not in TIMED and k not in ('run_dir', 'checkpoint')}
        if isinstance(o, list):
            return [strip(v) for v in o]
        return o
    return strip(record)


@pytest.mark.cluster
@pytest.mark.timeout(1500)
def test_the_grid_on_slurm_equals_the_local_executor_and_resubmits_only_a_cancelled_cell(
        cluster, tmp_path, tiny_data):
    env = dict(cluster.env, OMP_NUM_THREADS='1', RTMPOSE_NO_MLFLOW='1')
    local_dir, slurm_dir = tmp_path / 'local', tmp_path / 'slurm'
    local_dir.mkdir()
    slurm_dir.mkdir()
    local = _tiny_grid(local_dir, tiny_data, seeds=[3, 4])
    on_slurm = _slurm_grid(slurm_dir, tiny_data)
    for variant in ('final', 'kernel1'):
        r = subprocess.run([sys.executable, '-m', 'rtmpose.cli', 'ablate', variant, '--params', local], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        p = _ablate(variant, on_slurm, env)
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, out + err
        assert 'as Slurm job array' in out
        a = json.loads((local_dir / 'results' / f'{variant}.json').read_text())
        b = json.loads((slurm_dir / 'results' / f'{variant}.json').read_text())
        assert _untimed(a) == _untimed(b), variant          # the same record, cell for cell
    states = subprocess.run(['scontrol', 'show', 'job', '-o'], env=env, capture_output=True, text=True).stdout
    assert states.count('JobState=COMPLETED') == 4 and 'JobState=FAILED' not in states

    # a cancelled cell: one at a time (array parallelism 1), the second task cancelled while it is pending
    (tmp_path / 'cancel').mkdir()
    grid = _slurm_grid(tmp_path / 'cancel', tiny_data, array_parallelism=1)
    p = _ablate('kernel1', grid, env)
    t0 = time.time()
    array = None
    while array is None:
        line = p.stdout.readline()
        assert line or p.poll() is None, p.stderr.read()
        if 'as Slurm job array' in line:
            array = line.split('job array ')[1].split()[0]
        assert time.time() - t0 < 300
    subprocess.run(['scancel', f'{array}_1'], env=env, check=True)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and 'kernel1 seed 4' in lines[0] and f'{array}_1' in lines[0], err
    assert 'CANCELLED' in lines[0] and 'slurm-logs' in lines[0] and 'a rerun submits only the missing' in lines[0]
    assert (tmp_path / 'cancel' / 'runs' / 'ablation-kernel1-seed3' / 'seed.json').exists()    # kept
    assert not (tmp_path / 'cancel' / 'results' / 'kernel1.json').exists()
    p = _ablate('kernel1', grid, env)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, out + err
    assert 'reusing finished seed(s) 3' in out and 'submitted 1 cell(s)' in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.cluster
@pytest.mark.timeout(1500)
def test_cells_on_slurm_log_to_an_mlflow_server_without_losing_anything(cluster, tmp_path, tiny_data):
    pytest.importorskip('mlflow.server', reason='the MLflow server is not installed (make server installs it)')
    port = _free_port()
    server = subprocess.Popen(['make', '--no-print-directory', 'server', f'SERVER_PORT={port}',
                               f'SERVER_STORE=sqlite:///{tmp_path}/server.db', f'SERVER_ARTIFACTS={tmp_path}/art'],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    uri = f'http://127.0.0.1:{port}'
    try:
        t0 = time.time()
        while True:
            try:
                urllib.request.urlopen(f'{uri}/health', timeout=5)
                break
            except OSError:
                assert server.poll() is None and time.time() - t0 < 300, server.stdout.read()
                time.sleep(2)
        env = dict(cluster.env, OMP_NUM_THREADS='1', MLFLOW_TRACKING_URI=uri)
        env.pop('RTMPOSE_NO_MLFLOW', None)
        grid = _slurm_grid(tmp_path, tiny_data)   # two cells at once: concurrent writers
        for variant in ('final', 'kernel1'):
            p = _ablate(variant, grid, env)
            out, err = p.communicate(timeout=600)
            assert p.returncode == 0, out + err
            assert 'MLflow' not in err, err   # no lost logging
        import mlflow
        client = mlflow.MlflowClient(uri)
        exp = client.get_experiment_by_name('ablations')
        runs = client.search_runs([exp.experiment_id], max_results=1000)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    assert all(r.info.status == 'FINISHED' for r in runs)
    parents = {r.info.run_name: r for r in runs if r.data.tags.get('stage') == 'variant'}
    assert set(parents) == {'ablation-final', 'ablation-kernel1'}
    for name, parent in parents.items():
        children = [r for r in runs if r.data.tags.get('mlflow.parentRunId') == parent.info.run_id]
        assert sorted(r.info.run_name for r in children) == sorted(
            f'{name}-seed{s}{e}' for s in (3, 4) for e in ('', '-eval'))
        results = json.loads((tmp_path / 'results' / f'{name.split("-", 1)[1]}.json').read_text())
        for c in children:
            assert c.data.params['setting.model_overrides.final_layer_kernel_size']
            if c.info.run_name.endswith('-eval'):
                seed = int(c.info.run_name.split('seed')[1].split('-')[0])
                want = next(p['metrics'] for p in results['per_seed'] if p['seed'] == seed)
                assert c.data.metrics['AP'] == pytest.approx(want['AP'], abs=1e-9)
            else:   # every epoch's loss and the run's settings
                assert 'loss' in c.data.metrics and 'reproducibility.seed' in c.data.params
        assert 'AP_mean' in parent.data.metrics


@pytest.mark.cluster
@pytest.mark.timeout(900)
def test_the_written_sbatch_script_trains_through_srun_and_torchrun(cluster, tmp_path, tiny_data):
    from tests.train.conftest import tiny_config
    cfg = tiny_config(tmp_path, tiny_data, name='sbatch', epochs=1, stage2_epochs=0, val_interval=5)
    script = tmp_path / 'train.sbatch'
    env = dict(cluster.env, OMP_NUM_THREADS='1', RTMPOSE_NO_MLFLOW='1',
               PATH=f'{os.path.dirname(sys.executable)}{os.pathsep}{os.environ["PATH"]}')
    r = subprocess.run([sys.executable, '-m', 'rtmpose.cli', 'sbatch', '-c', cfg, '--nodes', '1', '--gpus-per-node',
                        '0', '--cpus-per-task', '1', '--time', '00:10:00', '--log-dir', str(tmp_path / 'logs'),
                        '--out', str(script)], cwd=REPO, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = script.read_text()
    assert '#SBATCH --nodes=1' in text and '--rdzv-backend c10d' in text and '--signal=TERM@120' in text
    assert subprocess.run(['bash', '-n', str(script)]).returncode == 0
    (tmp_path / 'logs').mkdir()
    job = subprocess.run(['sbatch', '--parsable', str(script)], cwd=REPO, env=env, capture_output=True, text=True)
    assert job.returncode == 0, job.stderr
    job_id = job.stdout.strip().split(';')[0]
    t0 = time.time()
    while True:
        state = subprocess.run(['scontrol', 'show', 'job', '-o', job_id], env=env, capture_output=True,
                               text=True).stdout
        if 'JobState=COMPLETED' in state or 'JobState=FAILED' in state or 'JobState=CANCELLED' in state:
            break
        assert time.time() - t0 < 600, state
        time.sleep(2)
    log = next((tmp_path / 'logs').glob('rtmpose-train-*.out')).read_text()
    assert 'JobState=COMPLETED' in state, log[-3000:]
    assert (tmp_path / 'runs' / 'sbatch' / 'final.pth').exists() and 'rtmpose train: done' in log
