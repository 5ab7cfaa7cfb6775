"""Tracking never fails silently, provoked on a real SQLite store: a refused parameter, a read-only store, a lock
held by another writer. Each time the command says so in one line with the real cause, keeps working, leaves
no run open or falsely FINISHED, and a later run in the same process starts normally."""
import sqlite3
import subprocess
import threading
import time

import pytest

from rtmpose import mlflow_log


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('RTMPOSE_NO_MLFLOW', '0')
    # an absolute URI per test: MLflow keeps one SQLAlchemy store (and its open connections) per URI string
    monkeypatch.setenv('MLFLOW_TRACKING_URI', f'sqlite:///{tmp_path}/mlflow.db')
    return tmp_path


def _runs(experiment='train'):
    import os

    import mlflow
    client = mlflow.MlflowClient(os.environ['MLFLOW_TRACKING_URI'])
    exp = client.get_experiment_by_name(experiment)
    return {r.info.run_name: r for r in client.search_runs([exp.experiment_id])} if exp else {}


def _mlflow_lines(err: str) -> list[str]:
    return [x for x in err.splitlines() if x.strip()]


def test_a_refused_parameter_is_one_line_and_the_run_ends_incomplete(store, capsys):
    with mlflow_log.start_run('train', 'refused', params={'seeds': [21, 22]}) as run:
        run.log_metrics({'loss': 1.0}, step=1)
        run.log_params({'seeds': []})                 # MLflow refuses to change a parameter
        run.log_metrics({'loss': 0.5}, step=2)        # not logged any more, and no second message
    lines = _mlflow_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "log_params not logged to run 'refused'" in lines[0]
    assert 'Changing param values is not allowed' in lines[0] and 'Traceback' not in lines[0]
    with mlflow_log.start_run('train', 'later') as run:   # the same process: a normal run
        run.log_metrics({'loss': 0.25})
    runs = _runs()
    assert runs['refused'].info.status == 'FAILED'
    assert runs['refused'].data.tags['tracking_incomplete'] == 'true'
    assert runs['refused'].data.tags['tracking_lost'] == 'log_params'
    assert runs['later'].info.status == 'FINISHED' and runs['later'].data.metrics['loss'] == 0.25
    assert not capsys.readouterr().err


def test_a_read_only_store_is_one_line_with_the_real_cause(store, capsys):
    import sys
    # the store made by another process: this one holds no connection opened before the folder turns read-only
    subprocess.run([sys.executable, '-c', "from rtmpose import mlflow_log\n"
                    "with mlflow_log.start_run('train', 'before'): pass"], check=True, cwd=store)
    ro = store
    r = subprocess.run(['mount', '--bind', str(ro), str(ro)], capture_output=True)
    if r.returncode != 0:
        pytest.skip('cannot remount a folder read-only here')
    try:
        subprocess.run(['mount', '-o', 'remount,bind,ro', str(ro)], check=True, capture_output=True)
        import os
        os.chdir(ro)          # the working folder through the read-only mount (the old one stays writable)
        with mlflow_log.start_run('train', 'blocked') as run:
            run.log_metrics({'loss': 1.0})
            work = 'done'                              # the command's own work goes on
        lines = _mlflow_lines(capsys.readouterr().err)
        # a later run in the same process tries again (tracking is not switched off for the process): the
        # store is still read-only, so it is one more line, not silence
        with mlflow_log.start_run('train', 'again') as run:
            run.log_metrics({'loss': 0.5})
        again = _mlflow_lines(capsys.readouterr().err)
    finally:
        os.chdir('/')
        subprocess.run(['umount', '-l', str(ro)], capture_output=True)
        os.chdir(ro)
    assert work == 'done'
    assert len(lines) == 1, lines
    assert "run 'blocked'" in lines[0] and 'readonly database' in lines[0] and 'autoflush' not in lines[0]
    assert len(again) == 1 and "run 'again'" in again[0]
    assert set(_runs()) == {'before'}


def _hold_lock(seconds: float, ready: threading.Event) -> None:
    con = sqlite3.connect('mlflow.db', timeout=30, isolation_level=None)
    con.execute('BEGIN EXCLUSIVE')
    ready.set()
    time.sleep(seconds)
    con.execute('COMMIT')
    con.close()


@pytest.mark.slow
def test_a_lock_mid_run_is_waited_out(store, capsys, monkeypatch):
    monkeypatch.setattr(mlflow_log, 'RETRY_WAITS', (0.5, 1.0, 2.0))
    with mlflow_log.start_run('train', 'locked') as run:
        run.log_metrics({'loss': 1.0}, step=1)
        ready = threading.Event()
        # longer than the 20 s MLflow asks SQLite to wait (busy_timeout): our own retry takes it over
        holder = threading.Thread(target=_hold_lock, args=(21.0, ready))
        holder.start()
        ready.wait()
        run.log_metrics({'loss': 0.5}, step=2)         # blocked, retried once the lock is gone
        holder.join()
    assert not capsys.readouterr().err
    got = _runs()['locked']
    assert got.info.status == 'FINISHED' and got.data.metrics['loss'] == 0.5
    assert 'tracking_incomplete' not in got.data.tags


@pytest.mark.slow
def test_a_lock_that_outlasts_the_retries_marks_the_run(store, capsys, monkeypatch):
    monkeypatch.setattr(mlflow_log, 'RETRY_WAITS', (0.5,))
    with mlflow_log.start_run('train', 'starved') as run:
        ready = threading.Event()
        holder = threading.Thread(target=_hold_lock, args=(45.0, ready))   # > 2 x 20 s busy waits + 0.5 s
        holder.start()
        ready.wait()
        run.log_metrics({'loss': 0.5})
        holder.join()
    lines = _mlflow_lines(capsys.readouterr().err)
    assert len(lines) == 1 and 'database is locked' in lines[0]
    got = _runs()['starved']
    assert got.info.status == 'FAILED' and got.data.tags['tracking_incomplete'] == 'true'
