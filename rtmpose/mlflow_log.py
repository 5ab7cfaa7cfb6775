"""MLflow tracking for every train, eval and bench run; tracking never stops the work, and never fails silently.

Default store: a SQLite file in the repo (`sqlite:///mlflow.db`); `MLFLOW_TRACKING_URI` overrides it (e.g. an
`mlflow server` over HTTP for a cluster). When a call fails, a transient cause (a database locked by another
writer, a server that does not answer) is retried with back-off for about 15 s; a lasting one (a read-only
store, a refused parameter) is said in one line naming what was not logged and the root cause, the command
goes on without tracking for that run, and the run is ended FAILED with the tag `tracking_incomplete` (never
left RUNNING or shown FINISHED with missing metrics). A later run in the same process starts normally.

Artifacts: MLflow's SQL store turns every local artifact location into an absolute path of this clone
(`file:///home/.../mlruns/1`), which breaks once the clone moves. Experiments this module creates in a
SQLite store get `mlflow-artifacts:/<experiment>` instead, the location the tracking server itself hands out:
`mlflow ui` run next to the database (as `make ui` does) serves it from `./mlartifacts/<experiment>/...`,
and this module writes artifacts there directly (the folder `mlartifacts/` next to the .db file). Nothing in
the database names the clone's path. Experiments that already exist keep the location they were created with.

Tags on every run: `git_revision` (the commit, never `-dirty`), `source_modified` (true when package code,
tests, tools or configuration differ from that commit; pipeline outputs such as reports/ or dvc.lock do
not count) and, for a condition that did not run, `skipped=true` + `skipped_reason` with status FAILED:

    with start_run('bench', name) as run:
        if not available:
            run.skip('onnxruntime-gpu not installed')     # run ends FAILED, tagged skipped_reason
            return
    record_skipped('bench', name, 'no CUDA device')       # same, for a run never started
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

DEFAULT_URI = 'sqlite:///mlflow.db'
ARTIFACTS_DIR = 'mlartifacts'            # next to the SQLite file; `mlflow ui`'s default --artifacts-destination
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# what `source_modified` looks at: code and configuration, not the outputs the pipeline rewrites
SOURCE_PATHS = ('rtmpose', 'tests', 'tools', ':(glob)experiments/*.yaml', ':(glob)experiments/ablations/*.yaml',
                'pyproject.toml', 'constraints.txt', 'params.yaml', 'dvc.yaml', 'Makefile')
# experiment -> its description (shown on the experiment page); experiments are created as model-development
# experiments (MLflow 3's `mlflow.experimentKind`), so that the UI opens them on their runs
EXPERIMENTS = {
    'train': 'Training runs (rtmpose train / pretrain): settings, loss and validation AP per epoch, the curve.',
    'eval': 'Evaluations (rtmpose eval): COCO AP/AR of a checkpoint or an exported artifact on a prepared set.',
    'ablations': 'The roadmap ablation grid (rtmpose ablate): one parent run per variant with its effective settings,'
                 ' mean AP, 95% interval and paired delta against the final recipe; a train and an eval child run'
                 ' per seed. Compare the parents to compare variants.',
    'bench': 'Latency (rtmpose bench): one parent run per invocation, a child run per model x backend x precision x'
             ' threads x span condition with the median and its interval; the latency table and figure are the'
             " parent's artifacts. Skipped conditions are FAILED runs tagged with the reason.",
    'deploy': 'Deployment accuracy (rtmpose deploy): AP of every backend x precision against PyTorch fp32 with its'
              ' paired interval, the gate and the latency of what passed.',
}
TRANSIENT = ('database is locked', 'database table is locked', 'timed out', 'timeout', 'connection refused',
             'temporarily unavailable', 'max retries exceeded', '503', '502')
RETRY_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0)


def root_cause(e: BaseException) -> str:
    """The innermost message of an exception chain (SQLAlchemy's `orig`, __cause__, __context__): 'attempt to
    write a readonly database' rather than the autoflush error wrapped around it."""
    seen = []
    while e is not None and e not in seen:
        seen.append(e)
        e = getattr(e, 'orig', None) or e.__cause__ or e.__context__
    for x in reversed(seen):
        text = str(x).strip()
        if text:
            return text.splitlines()[0][:200]
    return type(seen[-1]).__name__


def _say(msg: str) -> None:
    print(f'rtmpose: MLflow: {msg}', file=sys.stderr)


def _quiet_loggers() -> None:
    """MLflow and SQLAlchemy log INFO lines and whole tracebacks (~90 lines for a read-only store) of the errors
    this module reports in one line with their root cause."""
    import logging
    for name, level in (('mlflow', logging.CRITICAL), ('alembic', logging.WARNING), ('sqlalchemy', logging.CRITICAL)):
        logging.getLogger(name).setLevel(level)


def _retrying(call, *args, **kwargs):
    """`call(*args, **kwargs)`, retried with back-off while its failure is transient."""
    import time
    for wait in RETRY_WAITS + (None,):
        try:
            return call(*args, **kwargs)
        except Exception as e:
            cause = root_cause(e).lower()
            if wait is None or not any(t in cause for t in TRANSIENT):
                raise
            time.sleep(wait)


def _git(args: list[str], root: str | os.PathLike) -> subprocess.CompletedProcess:
    return subprocess.run(['git', *args], cwd=root, capture_output=True, text=True, timeout=5)


def git_revision(root: str | os.PathLike | None = None) -> str:
    """The commit checked out in the project (`unknown` outside a git clone); never marked dirty."""
    try:
        r = _git(['rev-parse', 'HEAD'], root or PROJECT_ROOT)
        return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else 'unknown'
    except (OSError, subprocess.SubprocessError):
        return 'unknown'


def source_modified(root: str | os.PathLike | None = None, paths: tuple[str, ...] = SOURCE_PATHS) -> str:
    """'true' when SOURCE_PATHS (tracked or new, not ignored) differ from the commit, else 'false'/'unknown'."""
    try:
        r = _git(['status', '--porcelain', '--', *paths], root or PROJECT_ROOT)
        return ('true' if r.stdout.strip() else 'false') if r.returncode == 0 else 'unknown'
    except (OSError, subprocess.SubprocessError):
        return 'unknown'


def git_tags(root: str | os.PathLike | None = None) -> dict[str, str]:
    return {'git_revision': git_revision(root), 'source_modified': source_modified(root)}


def local_artifacts_root(tracking_uri: str) -> Path | None:
    """<folder of the SQLite file>/mlartifacts for a sqlite: URI, else None (a server or other store)."""
    if not tracking_uri.startswith('sqlite:'):
        return None
    path = tracking_uri[len('sqlite:'):]
    if not path.startswith('///'):
        return None                     # sqlite:// (in memory) or an unusual form: leave artifacts to MLflow
    db = path[3:].split('?', 1)[0]      # sqlite:///rel.db -> rel.db, sqlite:////abs.db -> /abs.db
    return Path(os.path.abspath(db)).parent / ARTIFACTS_DIR


def _artifact_location(experiment: str) -> str:
    return 'mlflow-artifacts:/' + (re.sub(r'[^A-Za-z0-9._-]+', '_', experiment).strip('.') or 'experiment')


def _set_experiment(mlflow, experiment: str, tracking_uri: str) -> None:
    """set_experiment, creating it (in a SQLite store with a relocatable artifact location) as a
    model-development experiment with its description, so that `mlflow ui` opens it on its runs."""
    if local_artifacts_root(tracking_uri) is not None:
        db = tracking_uri[len('sqlite:///'):].split('?', 1)[0]
        if not os.path.exists(db):
            # a new store: create it as the server would, so even MLflow's 'Default' experiment gets
            # mlflow-artifacts:/0 rather than an absolute ./mlruns of this clone (before any client opens it)
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
            SqlAlchemyStore(tracking_uri, 'mlflow-artifacts:/')
    client = mlflow.MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        location = _artifact_location(experiment) if local_artifacts_root(tracking_uri) is not None else None
        try:
            client.create_experiment(experiment, artifact_location=location, tags=experiment_tags(experiment))
        except Exception:
            if client.get_experiment_by_name(experiment) is None:   # not merely created by a racing run
                raise
    elif exp.tags.get('mlflow.experimentKind') is None:
        for k, v in experiment_tags(experiment).items():
            client.set_experiment_tag(exp.experiment_id, k, v)
    mlflow.set_experiment(experiment)


def experiment_tags(experiment: str) -> dict[str, str]:
    """MLflow 3 opens an experiment on its GenAI (traces) overview unless it is a model-development one."""
    return {'mlflow.experimentKind': 'custom_model_development',
            'mlflow.note.content': EXPERIMENTS.get(experiment, f'rtmpose-suite runs: {experiment}')}


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
    """Thin handle over an active MLflow run; every method is a no-op when tracking is off. A call that fails
    for good is said once in one line; the run then stops tracking and ends FAILED, tagged incomplete."""

    def __init__(self, mlflow=None, artifact_dir: Path | None = None, name: str | None = None):
        self._mlflow = mlflow
        self._module = mlflow               # kept to end the run even after tracking stopped
        self._artifact_dir = artifact_dir   # set when this module writes the run's artifacts itself
        self.name = name or 'run'
        self.status = 'FINISHED'            # what the run ends with when its block exits normally
        self.skipped_reason: str | None = None
        self.lost: list[str] = []           # what could not be logged

    def skip(self, reason: str) -> None:
        """Record that this condition did not run: status FAILED, tags skipped=true, skipped_reason."""
        self.skipped_reason = str(reason)
        self.status = 'FAILED'
        self.set_tags({'skipped': 'true', 'skipped_reason': self.skipped_reason[:5000],
                       'mlflow.note.content': f'not run: {self.skipped_reason[:4000]}'})

    @property
    def active(self) -> bool:
        return self._mlflow is not None

    @property
    def run_id(self) -> str | None:
        """The MLflow run id (to nest child runs under this one), None when tracking is off."""
        if self._module is None:
            return None
        try:
            active = self._module.active_run()
            return active.info.run_id if active else None
        except Exception:
            return None

    def _lose(self, what: str, e: BaseException) -> None:
        self.lost.append(what)
        _say(f'{what} not logged to run {self.name!r} ({root_cause(e)}); the command goes on without tracking '
             'this run, which ends FAILED and tagged tracking_incomplete')
        self._mlflow = None

    def _call(self, name: str, *args, **kwargs) -> None:
        if self._mlflow is None:
            return
        try:
            _retrying(getattr(self._mlflow, name), *args, **kwargs)
        except Exception as e:  # a tracking failure must never stop a training run
            self._lose(name, e)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Parameters as strings; a value that is not set (None) is left out rather than logged as 'None'."""
        flat = {k: str(v)[:500] for k, v in _flatten(params).items() if v is not None}
        if flat:
            self._call('log_params', flat)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self._call('log_metrics', {k: float(v) for k, v in metrics.items()}, step=step)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        tags = {k: str(v) for k, v in tags.items() if v is not None}
        if tags:
            self._call('set_tags', tags)

    def _local(self, write, what: str) -> None:
        if self._mlflow is None:
            return
        try:
            write()
        except Exception as e:
            self._lose(what, e)

    def log_artifact(self, path: str, artifact_path: str | None = None) -> None:
        if self._artifact_dir is None:
            self._call('log_artifact', path, artifact_path)
            return

        def write():
            dest = self._artifact_dir / (artifact_path or '')
            dest.mkdir(parents=True, exist_ok=True)
            if os.path.isdir(path):
                shutil.copytree(path, dest / os.path.basename(os.path.normpath(path)), dirs_exist_ok=True)
            else:
                shutil.copy2(path, dest / os.path.basename(path))
        self._local(write, 'log_artifact')

    def log_dict(self, obj: Any, name: str) -> None:
        if self._artifact_dir is None:
            self._call('log_dict', obj, name)
            return

        def write():
            dest = self._artifact_dir / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(('.yaml', '.yml')):
                import yaml
                dest.write_text(yaml.safe_dump(obj, sort_keys=False))
            else:
                dest.write_text(json.dumps(obj, indent=2))
        self._local(write, 'log_dict')


@contextlib.contextmanager
def start_run(experiment: str, run_name: str | None = None, params: Mapping[str, Any] | None = None,
              tags: Mapping[str, Any] | None = None, enabled: bool = True,
              parent: str | None = None, resume: str | None = None) -> Iterator[Run]:
    """`with start_run('train', 'rtmpose-t') as run: run.log_metrics(...)`; yields a no-op Run if off.

    parent: a run id (Run.run_id) to nest this run under, in this process or another one (a seed of an
    ablation variant under the variant's run).
    resume: the id of an existing run to continue (e.g. the run of a killed process whose finished work is
    reused); a new run is started when it no longer exists.

    The run ends FINISHED, KILLED on Ctrl-C or SIGTERM, FAILED if the block raises otherwise, or FAILED with a
    skipped_reason after run.skip().
    """
    mlflow = None
    artifact_dir = None
    if enabled and os.environ.get('RTMPOSE_NO_MLFLOW') != '1':
        # fail fast on an unreachable server instead of MLflow's minutes of retries (ours are bounded)
        os.environ.setdefault('MLFLOW_HTTP_REQUEST_MAX_RETRIES', '0')
        os.environ.setdefault('MLFLOW_HTTP_REQUEST_TIMEOUT', '5')
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                import mlflow as _mlflow
            _quiet_loggers()
            uri = os.environ.get('MLFLOW_TRACKING_URI', DEFAULT_URI)
            _mlflow.set_tracking_uri(uri)
            _retrying(_set_experiment, _mlflow, experiment, uri)
            source = {'mlflow.source.name': 'rtmpose ' + ' '.join(sys.argv[1:2]) if sys.argv[1:2] else 'rtmpose',
                      'mlflow.source.type': 'LOCAL'}
            active = None
            if resume:
                try:
                    active = _retrying(_mlflow.start_run, run_id=resume)
                except Exception:
                    active = None
            if active is None:
                active = (_retrying(_mlflow.start_run, run_name=run_name, nested=True, parent_run_id=parent,
                                    tags=source) if parent
                          else _retrying(_mlflow.start_run, run_name=run_name, tags=source))
            mlflow = _mlflow
            root, art = local_artifacts_root(uri), active.info.artifact_uri or ''
            if root is not None and art.startswith('mlflow-artifacts:'):
                artifact_dir = root / urlparse(art).path.lstrip('/')
        except Exception as e:
            _say(f'run {run_name!r} of experiment {experiment!r} not recorded ({root_cause(e)}); the command goes '
                 'on without tracking it')
            mlflow = None
            try:   # whatever MLflow left on its stack of active runs, so a later run starts normally
                while _mlflow.active_run() is not None:
                    _mlflow.end_run('FAILED')
            except Exception:
                pass
    run = Run(mlflow, artifact_dir, run_name)
    run.set_tags({**git_tags(), **(tags or {})})
    if params:
        run.log_params(params)
    ended = None
    try:
        yield run
    except KeyboardInterrupt:       # Ctrl-C, or SIGTERM (rtmpose.errors.Terminated): stopped, not broken
        ended = 'KILLED'
        raise
    except BaseException:
        ended = 'FAILED'
        raise
    finally:
        _end(run, ended)


def _end(run: Run, ended: str | None) -> None:
    """End `run` with its status; a run that lost what it should have logged ends FAILED and tagged so."""
    module = run._module
    if module is None:
        return
    status = ended or run.status
    try:
        if run.lost:
            status = 'FAILED' if status == 'FINISHED' else status
            _retrying(module.set_tags, {'tracking_incomplete': 'true', 'tracking_lost': ', '.join(run.lost)[:500]})
    except Exception:
        pass
    try:
        _retrying(module.end_run, status=status)
    except Exception as e:
        _say(f'run {run.name!r} could not be ended {status} ({root_cause(e)})')
        try:   # end_run pops MLflow's stack of active runs first: make sure it is empty
            while module.active_run() is not None:
                module.end_run(status)
        except Exception:
            pass


def close_stale_runs(experiment: str, tags: Mapping[str, str]) -> int:
    """Mark KILLED the runs of `experiment` still RUNNING whose tags match `tags`: the runs a killed process
    left open. Call it only while holding the lock that makes this process their only possible writer.
    Returns how many were closed (0 when tracking is off or fails)."""
    if os.environ.get('RTMPOSE_NO_MLFLOW') == '1':
        return 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            import mlflow as _mlflow
        client = _mlflow.MlflowClient(os.environ.get('MLFLOW_TRACKING_URI', DEFAULT_URI))
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            return 0
        where = ' and '.join([f"attributes.status = 'RUNNING'"] + [f"tags.{k} = '{v}'" for k, v in tags.items()])
        runs = client.search_runs([exp.experiment_id], filter_string=where, max_results=1000)
        for r in runs:
            client.set_tag(r.info.run_id, 'killed_reason', 'its process was killed; a later run closed it')
            client.set_terminated(r.info.run_id, status='KILLED')
        return len(runs)
    except Exception as e:
        _say(f'closing the runs a killed process left RUNNING failed ({root_cause(e)})')
        return 0


def update_run(experiment: str, run_id: str | None, metrics: Mapping[str, float] | None = None,
               tags: Mapping[str, Any] | None = None, artifacts: list[str] | None = None) -> None:
    """Add metrics, tags and artifact files to a finished run (e.g. aggregates computed once every child run is
    done); quiet when tracking is off, one line when it fails."""
    if not run_id or os.environ.get('RTMPOSE_NO_MLFLOW') == '1':
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            import mlflow as _mlflow
        client = _mlflow.MlflowClient(os.environ.get('MLFLOW_TRACKING_URI', DEFAULT_URI))
        for k, v in (metrics or {}).items():
            client.log_metric(run_id, k, float(v))
        for k, v in (tags or {}).items():
            client.set_tag(run_id, k, str(v))
        uri = os.environ.get('MLFLOW_TRACKING_URI', DEFAULT_URI)
        root = local_artifacts_root(uri)
        for path in artifacts or []:
            art = client.get_run(run_id).info.artifact_uri or ''
            if root is not None and art.startswith('mlflow-artifacts:'):   # written where `mlflow ui` serves them
                dest = root / urlparse(art).path.lstrip('/')
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest / os.path.basename(path))
            else:
                client.log_artifact(run_id, path)
    except Exception as e:
        _say(f'updating run {run_id} of {experiment} failed ({root_cause(e)})')


def record_skipped(experiment: str, run_name: str | None, reason: str, params: Mapping[str, Any] | None = None,
                   tags: Mapping[str, Any] | None = None, enabled: bool = True, parent: str | None = None) -> None:
    """Log a condition that did not run at all: a run with status FAILED, skipped=true, skipped_reason and the
    reason as its description."""
    with start_run(experiment, run_name, params=params, tags=tags, enabled=enabled, parent=parent) as run:
        run.skip(reason)
