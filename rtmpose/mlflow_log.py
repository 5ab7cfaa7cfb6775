"""MLflow tracking for every train, eval and bench run, degrading to a no-op when it cannot log.

Default store: a SQLite file in the repo (`sqlite:///mlflow.db`); `MLFLOW_TRACKING_URI` overrides it.
If the store or server is unreachable, the run goes on and says so once.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

DEFAULT_URI = 'sqlite:///mlflow.db'
_warned = False


def _warn_once(msg: str) -> None:
    global _warned
    if not _warned:
        print(f'rtmpose: MLflow tracking disabled for this run: {msg}', file=sys.stderr)
        _warned = True


def git_revision() -> str:
    try:
        rev = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], capture_output=True,
                               text=True, timeout=5).stdout.strip()
        return rev + ('-dirty' if dirty else '') if rev else 'unknown'
    except (OSError, subprocess.SubprocessError):
        return 'unknown'


def _flatten(d: Mapping[str, Any], prefix: str = '') -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f'{prefix}{k}'
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + '.'))
        else:
            out[key] = v
    return out


class Run:
    """Thin handle over an active MLflow run; every method is a no-op when tracking is off."""

    def __init__(self, mlflow=None):
        self._mlflow = mlflow

    @property
    def active(self) -> bool:
        return self._mlflow is not None

    def _call(self, name: str, *args, **kwargs) -> None:
        if self._mlflow is None:
            return
        try:
            getattr(self._mlflow, name)(*args, **kwargs)
        except Exception as e:  # a tracking failure must never stop a training run
            _warn_once(f'{name} failed ({str(e).splitlines()[0][:160]})')
            self._mlflow = None

    def log_params(self, params: Mapping[str, Any]) -> None:
        flat = {k: str(v)[:500] for k, v in _flatten(params).items()}
        self._call('log_params', flat)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self._call('log_metrics', {k: float(v) for k, v in metrics.items()}, step=step)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._call('set_tags', {k: str(v) for k, v in tags.items()})

    def log_artifact(self, path: str, artifact_path: str | None = None) -> None:
        self._call('log_artifact', path, artifact_path)

    def log_dict(self, obj: Any, name: str) -> None:
        self._call('log_dict', obj, name)


@contextlib.contextmanager
def start_run(experiment: str, run_name: str | None = None, params: Mapping[str, Any] | None = None,
              tags: Mapping[str, Any] | None = None, enabled: bool = True) -> Iterator[Run]:
    """`with start_run('train', 'rtmpose-t') as run: run.log_metrics(...)`; yields a no-op Run if off."""
    mlflow = None
    if enabled and os.environ.get('RTMPOSE_NO_MLFLOW') != '1':
        # fail fast on an unreachable server instead of MLflow's minutes of retries
        os.environ.setdefault('MLFLOW_HTTP_REQUEST_MAX_RETRIES', '0')
        os.environ.setdefault('MLFLOW_HTTP_REQUEST_TIMEOUT', '5')
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                import mlflow as _mlflow
            _mlflow.set_tracking_uri(os.environ.get('MLFLOW_TRACKING_URI', DEFAULT_URI))
            _mlflow.set_experiment(experiment)
            _mlflow.start_run(run_name=run_name)
            mlflow = _mlflow
        except Exception as e:
            _warn_once(str(e).splitlines()[0][:200] if str(e) else type(e).__name__)
    run = Run(mlflow)
    run.set_tags({'git_revision': git_revision(), **(tags or {})})
    if params:
        run.log_params(params)
    status = 'FINISHED'
    try:
        yield run
    except BaseException:
        status = 'FAILED'
        raise
    finally:
        if run.active:
            try:
                mlflow.end_run(status=status)
            except Exception as e:
                _warn_once(str(e).splitlines()[0][:200])
