"""Fresh clones of HEAD with a tiny override of params.yaml, and DVC run in them (tests/pipeline)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# dotted key -> value, applied to the clone's params.yaml
TINY = {
    'complexity.models': ['rtmpose-t'],
    'data.synthetic': {'seed': 0, 'num_train': 16, 'num_val': 8, 'width': 160, 'height': 128, 'max_people': 2,
                       'occluder_prob': 0.35},
    'train.epochs': 1, 'train.stage2_epochs': 0, 'train.batch_size': 8, 'train.val_interval': 1,
    'train.warmup_iters': 2, 'train.threads': 1, 'train.seeds': [21],
    'eval.batch_size': 16, 'eval.num_workers': 0,
    'ablations.seeds': [21, 22], 'ablations.jobs': 1,
    'bench.models': ['rtmpose-t'], 'bench.backends': ['onnxruntime'], 'bench.peers': [], 'bench.threads': [1],
    'bench.warmup': 2, 'bench.runs': 6, 'bench.block': 2, 'bench.bootstrap': 50,
    'pipeline.bench_pose_models': ['rtmpose-t'], 'pipeline.warmup': 2, 'pipeline.runs': 4,
    'pipeline.bench_image': 'datasets/synthetic/images/val/10000003.jpg',   # one of the 8 tiny val images
    'data.synthetic-video': {'seed': 0, 'frames': 30, 'width': 160, 'height': 128, 'fps': 15.0, 'max_people': 2,
                             'occluder_prob': 0.2},
    'pipeline.skip_frame_intervals': '1,5', 'pipeline.timing_warmup': 1, 'pipeline.bootstrap': 50,
    'deploy.targets': ['onnxruntime:fp32', 'onnxruntime:int8'], 'deploy.calibration_count': 8,
    'deploy.warmup': 2, 'deploy.runs': 4, 'deploy.bootstrap': 50, 'deploy.choices': False,
}
# outputs into which no timing enters: equal bytes in every clone
DETERMINISTIC = ('reports/eval/synthetic.json', 'reports/ablations/summary.csv', 'reports/tables/table02.csv',
                 'reports/tables/table03.csv', 'reports/tables/trained.csv', 'reports/complexity.json')
# JSON outputs compared without their timing fields
TIMED_JSON = {'reports/train/metrics.json': ('train_time_s',)}


def tiny_params(path: Path) -> None:
    params = yaml.safe_load(path.read_text())
    for key, value in TINY.items():
        node = params
        *parents, last = key.split('.')
        for p in parents:
            node = node[p]
        node[last] = value
    ab = params['ablations']
    ab['variants'] = {k: ab['variants'][k] for k in ('final', 'kernel1')}
    ab['train_sets'] = [s for s in ab['train_sets'] if not s.split('=')[0] in ('epochs', 'stage2_epochs',
                                                                                 'train_limit', 'batch_size')] + \
        ['epochs=1', 'stage2_epochs=0', 'train_limit=16', 'batch_size=8']
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def clone_env(clone: Path, mlflow: bool = True) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(('MLFLOW_', 'RTMPOSE_'))}
    env.update(PYTHONPATH=str(clone), PATH=f'{BIN}{os.pathsep}{env.get("PATH", "")}', DVC_NO_ANALYTICS='1',
               NO_ALBUMENTATIONS_UPDATE='1', OMP_NUM_THREADS='1', MLFLOW_TRACKING_URI='sqlite:///mlflow.db',
               GIT_CONFIG_NOSYSTEM='1')
    if not mlflow:
        env['RTMPOSE_NO_MLFLOW'] = '1'
    return env


def clone_tiny(dest: Path) -> Path:
    subprocess.run(['git', 'clone', '-q', str(REPO), str(dest)], check=True, timeout=120)
    tiny_params(dest / 'params.yaml')
    return dest


def dvc(clone: Path, *args: str, mlflow: bool = True) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / 'dvc'), *args], cwd=clone, env=clone_env(clone, mlflow),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, timeout: int = 400) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def comparable(clone: Path, rel: str) -> bytes:
    data = (clone / rel).read_bytes()
    if rel in TIMED_JSON:
        obj = json.loads(data)
        drop = TIMED_JSON[rel]

        def strip(o):
            if isinstance(o, dict):
                return {k: strip(v) for k, v in o.items() if k not in drop}
            if isinstance(o, list):
                return [strip(v) for v in o]
            return o
        return json.dumps(strip(obj), sort_keys=True).encode()
    return data


def outputs(clone: Path) -> list[Path]:
    """Every file the pipeline wrote that git does not ignore, plus the run folders' records."""
    listed = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=all'], cwd=clone,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    return [clone / line[3:] for line in listed if not line[3:].endswith(('params.yaml', 'dvc.lock'))]
