"""`make ui`'s server, from the suite's pins, reads what rtmpose.mlflow_log logged, after the folder moved."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

STARTUP_S = 180          # MLflow's SQLite schema set-up plus the server's start take ~30-60 s on 2 cores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _request(url: str, body: dict | None = None, timeout: float = 10) -> bytes:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def log_runs(folder: Path, monkeypatch) -> None:
    """A finished run with a dict and a file artifact, and a skipped one, into <folder>/mlflow.db."""
    from rtmpose import mlflow_log
    monkeypatch.chdir(folder)
    monkeypatch.setenv('RTMPOSE_NO_MLFLOW', '0')
    monkeypatch.setenv('MLFLOW_TRACKING_URI', 'sqlite:///mlflow.db')       # as the Makefile sets it
    (folder / 'eval.json').write_text('{"AP": 0.5}\n')
    with mlflow_log.start_run('train', 'rtmpose-t', params={'model': 'rtmpose-t'}) as run:
        run.log_metrics({'AP': 0.5}, step=1)
        run.log_dict({'config': {'epochs': 1}}, 'config.json')
        run.log_artifact(str(folder / 'eval.json'), 'eval')
        assert run.active
    mlflow_log.record_skipped('train', 'rtmpose-x', 'no GPU for this size')


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ui_serves_runs_of_a_moved_store(tmp_path, monkeypatch):
    pytest.importorskip('mlflow.server', reason='the MLflow server is not installed (make ui installs it)')
    first, moved = tmp_path / 'clone', tmp_path / 'moved-clone'
    first.mkdir()
    log_runs(first, monkeypatch)
    shutil.move(first, moved)
    monkeypatch.chdir(tmp_path)
    db = (moved / 'mlflow.db').read_bytes()
    assert str(first).encode() not in db, 'the store names the absolute path of the clone'
    assert (moved / 'mlartifacts' / 'train').is_dir()

    port = _free_port()
    base = f'http://127.0.0.1:{port}'
    mlflow_bin = Path(sys.executable).parent / 'mlflow'
    log = open(tmp_path / 'server.log', 'wb')
    # the Makefile's command line, run from the folder holding mlflow.db
    server = subprocess.Popen([str(mlflow_bin), 'ui', '--backend-store-uri', 'sqlite:///mlflow.db',
                               '--host', '127.0.0.1', '--port', str(port), '--workers', '1'],
                              cwd=moved, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert server.poll() is None, (tmp_path / 'server.log').read_text()[-3000:]
            try:
                if _request(f'{base}/health', timeout=2).strip() == b'OK':
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, 'server did not answer in time: ' + \
                (tmp_path / 'server.log').read_text()[-3000:]
            time.sleep(1)
        exps = json.loads(_request(f'{base}/api/2.0/mlflow/experiments/search', {'max_results': 100}))
        (train,) = [e for e in exps['experiments'] if e['name'] == 'train']
        assert train['artifact_location'] == 'mlflow-artifacts:/train'
        runs = json.loads(_request(f'{base}/api/2.0/mlflow/runs/search',
                                   {'experiment_ids': [train['experiment_id']]}))['runs']
        by_name = {r['info']['run_name']: r for r in runs}
        assert set(by_name) == {'rtmpose-t', 'rtmpose-x'}
        done, skipped = by_name['rtmpose-t'], by_name['rtmpose-x']
        assert done['info']['status'] == 'FINISHED' and skipped['info']['status'] == 'FAILED'
        tags = {t['key']: t['value'] for t in skipped['data']['tags']}
        assert tags['skipped_reason'] == 'no GPU for this size' and tags['source_modified'] in ('true', 'false')
        assert {m['key']: m['value'] for m in done['data']['metrics']} == {'AP': 0.5}
        run_id = done['info']['run_id']
        listed = json.loads(_request(f'{base}/api/2.0/mlflow/artifacts/list?run_id={run_id}'))
        assert sorted(f['path'] for f in listed['files']) == ['config.json', 'eval']
        got = json.loads(_request(f'{base}/get-artifact?path=eval/eval.json&run_uuid={run_id}'))
        assert got == {'AP': 0.5}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:                            # its job consumers (huey) can outlive a SIGTERM: end the whole group
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.wait()
        log.close()
