"""rtmpose.mlflow_log without a real store: git tags, skipped runs, where artifacts go."""
import subprocess
import sys
import types
from pathlib import Path

import pytest

from rtmpose import mlflow_log


def _git(root, *args):
    subprocess.run(['git', *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    _git(tmp_path, 'init', '-q')
    _git(tmp_path, 'config', 'user.email', 't@example.invalid')
    _git(tmp_path, 'config', 'user.name', 't')
    for rel in ('rtmpose/a.py', 'reports/table.md', 'dvc.lock', 'pyproject.toml', 'experiments/x.yaml',
                'experiments/ablations/results/r.json'):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text('0\n')
    _git(tmp_path, 'add', '.')
    _git(tmp_path, 'commit', '-q', '-m', 'init')
    return tmp_path


def test_pipeline_outputs_do_not_mark_the_source_modified(repo):
    head = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=repo, capture_output=True, text=True).stdout.strip()
    for rel in ('reports/table.md', 'dvc.lock', 'experiments/ablations/results/r.json'):
        (repo / rel).write_text('1\n')
    (repo / 'reports/new.md').write_text('new\n')
    assert mlflow_log.git_tags(repo) == {'git_revision': head, 'source_modified': 'false'}


@pytest.mark.parametrize('rel', ['rtmpose/a.py', 'pyproject.toml', 'experiments/x.yaml', 'rtmpose/new.py'])
def test_source_changes_are_recorded_apart_from_the_commit(repo, rel):
    (repo / rel).write_text('changed\n')
    tags = mlflow_log.git_tags(repo)
    assert tags['source_modified'] == 'true' and not tags['git_revision'].endswith('-dirty')
    assert len(tags['git_revision']) == 40


def test_outside_a_clone(tmp_path):
    assert mlflow_log.git_tags(tmp_path) == {'git_revision': 'unknown', 'source_modified': 'unknown'}


def test_artifacts_root_sits_next_to_the_sqlite_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert mlflow_log.local_artifacts_root('sqlite:///mlflow.db') == tmp_path / 'mlartifacts'
    assert mlflow_log.local_artifacts_root('sqlite:////srv/x/m.db') == Path('/srv/x/mlartifacts')
    assert mlflow_log.local_artifacts_root('http://127.0.0.1:5000') is None
    assert mlflow_log._artifact_location('eval') == 'mlflow-artifacts:/eval'
    assert mlflow_log._artifact_location('a b/../c') == 'mlflow-artifacts:/a_b_.._c'


class FakeMlflow(types.ModuleType):
    """Records what start_run asks of mlflow, over an http URI (no SQLite schema set-up)."""

    def __init__(self):
        super().__init__('mlflow')
        self.calls = []

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)

        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            if name == 'start_run':
                return types.SimpleNamespace(info=types.SimpleNamespace(artifact_uri='mlflow-artifacts:/x/1/artifacts'))
            if name == 'MlflowClient':   # an experiment that exists, already a model-development one
                exp = types.SimpleNamespace(experiment_id='1', tags={'mlflow.experimentKind': 'custom_model_development'})
                return types.SimpleNamespace(get_experiment_by_name=lambda n: exp)
        return call


@pytest.fixture
def fake(monkeypatch):
    f = FakeMlflow()
    monkeypatch.setitem(sys.modules, 'mlflow', f)
    monkeypatch.setenv('RTMPOSE_NO_MLFLOW', '0')
    monkeypatch.setenv('MLFLOW_TRACKING_URI', 'http://127.0.0.1:9')
    return f


def _ended(f):
    return [c[2]['status'] for c in f.calls if c[0] == 'end_run']


def test_skip_ends_failed_with_reason(fake):
    with mlflow_log.start_run('bench', 'trt-fp16') as run:
        run.skip('TensorRT not installed')
    tags = {k: v for c in fake.calls if c[0] == 'set_tags' for k, v in c[1][0].items()}
    assert tags['skipped'] == 'true' and tags['skipped_reason'] == 'TensorRT not installed'
    assert {'git_revision', 'source_modified'} <= set(tags)
    assert _ended(fake) == ['FAILED'] and run.skipped_reason == 'TensorRT not installed'


def test_record_skipped_and_normal_statuses(fake):
    mlflow_log.record_skipped('bench', 'ncnn', 'no ncnn build')
    with mlflow_log.start_run('bench', 'ok'):
        pass
    with pytest.raises(ValueError), mlflow_log.start_run('bench', 'boom'):
        raise ValueError
    assert _ended(fake) == ['FAILED', 'FINISHED', 'FAILED']


def test_skip_without_tracking_is_a_noop_that_remembers(monkeypatch):
    monkeypatch.setenv('RTMPOSE_NO_MLFLOW', '1')
    with mlflow_log.start_run('bench', 'x') as run:
        run.skip('nothing here')
        run.log_dict({'a': 1}, 'a.json')
    assert not run.active and run.status == 'FAILED' and run.skipped_reason == 'nothing here'
