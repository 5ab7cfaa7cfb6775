"""The ablation grid's cells as one Slurm job array, through submitit (the launcher OpenMMLab's and FAIR's tools
use); the submitting host waits for the array and gets each cell's record back.

Cells are the same function as with the local executor (rtmpose.train.ablation._seed_job): each trains and
evaluates one variant x seed, logs to MLflow (a tracking server over HTTP when MLFLOW_TRACKING_URI says so:
SQLite cannot be shared between hosts) and writes its result atomically in its run folder, so a failed or
cancelled cell leaves every finished cell's result in place and a rerun submits only what is missing. Cells
never call DVC; only the submitting host runs `dvc repro`.

Terminal states: submitit reads them with `sacct`, which answers "Slurm accounting storage is disabled" on a
cluster without slurmdbd; submitit then reports every job UNKNOWN and would wait forever for a cancelled cell.
`ScontrolWatcher` reads them from `scontrol show job` instead, which slurmctld answers from memory (for
MinJobAge, 300 s by default, after a job ends), with or without accounting.
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rtmpose.errors import Error
from rtmpose.settings import check_ranges


@dataclass
class SlurmSettings:
    partition: str | None = None                 # None: the cluster's default partition
    time_min: int = 120                          # time limit of each cell
    cpus_per_task: int = 1
    gpus_per_task: int = 0
    mem_gb: float | None = None
    array_parallelism: int = 16                  # cells running at once (sbatch --array=...%N)
    log_dir: str = 'experiments/slurm-logs'      # submitit's folder: each cell's sbatch script, stdout, stderr
    poll_s: float = 5.0                          # how often the submitting host asks slurmctld
    additional: dict = field(default_factory=dict)   # further #SBATCH options, e.g. {account: x, qos: y}

    def validate(self, where: str) -> None:
        check_ranges(self, where, at_least={'time_min': 1, 'cpus_per_task': 1, 'gpus_per_task': 0,
                                            'array_parallelism': 1}, positive=('mem_gb', 'poll_s'))


GONE = 'GONE (no longer listed by slurmctld: CANCELLED while pending, or purged after MinJobAge)'


def _parse_scontrol(text: str) -> dict[str, dict[str, str]]:
    """`scontrol show job -o` lines -> {submitit job id ('123' or '123_4'): {'JobID', 'State', 'NodeList'}}.
    A pending array's remaining tasks come as one record with a task range ('0-3%2', '1,3'): each gets it."""
    out: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        fields = dict(tok.split('=', 1) for tok in line.split() if '=' in tok)
        if 'JobId' not in fields:
            continue
        state, nodes = fields.get('JobState', 'UNKNOWN'), fields.get('NodeList', '')
        array, tasks = fields.get('ArrayJobId'), fields.get('ArrayTaskId')
        if not array or not tasks:
            out[fields['JobId']] = {'JobID': fields['JobId'], 'State': state, 'NodeList': nodes}
            continue
        for part in tasks.split('%')[0].split(','):
            lo, _, hi = part.partition('-')
            for t in range(int(lo), int(hi or lo) + 1):
                key = f'{array}_{t}'
                out[key] = {'JobID': key, 'State': state, 'NodeList': nodes}
    return out


def _watcher_class():
    from submitit.slurm.slurm import SlurmInfoWatcher

    class ScontrolWatcher(SlurmInfoWatcher):
        """submitit's watcher, reading job states from `scontrol show job` (see the module docstring)."""

        def _make_command(self):
            return ['scontrol', 'show', 'job', '-o'] if self._registered - self._finished else None

        def read_info(self, string) -> dict[str, dict[str, str]]:
            if not isinstance(string, str):
                string = string.decode()
            info = _parse_scontrol(string)
            # A task cancelled while it still belonged to the array's pending record, or a job purged MinJobAge
            # after it ended, is no longer listed at all: it will never write a result (submitit checks the
            # result file before the state), so it is over. Without this it would stay PENDING forever.
            for job_id in self._registered - self._finished - set(info):
                info[job_id] = {'JobID': job_id, 'State': GONE, 'NodeList': ''}
            return info

    return ScontrolWatcher


def executor(settings: SlurmSettings):
    """A submitit SlurmExecutor with these settings (run_array gives its jobs the `scontrol` watcher)."""
    try:
        import submitit
        from submitit.slurm.slurm import SlurmExecutor
    except ImportError:
        raise Error('ablations.executor: slurm needs submitit (pip install submitit; make install installs it)') \
            from None
    ex = SlurmExecutor(folder=settings.log_dir)
    params: dict[str, Any] = dict(time=settings.time_min, cpus_per_task=settings.cpus_per_task,
                                  array_parallelism=settings.array_parallelism, ntasks_per_node=1, nodes=1)
    if settings.partition:
        params['partition'] = settings.partition
    if settings.gpus_per_task:
        params['gpus_per_node'] = settings.gpus_per_task
    if settings.mem_gb:
        params['mem'] = f'{int(settings.mem_gb * 1024)}MB'
    if settings.additional:
        params['additional_parameters'] = dict(settings.additional)
    ex.update_parameters(**params)
    del submitit
    return ex


def run_array(fn: Callable[[dict], dict], cells: Sequence[dict], settings: SlurmSettings,
              describe: Callable[[dict], str]) -> list[dict]:
    """Run `fn(cell)` for every cell as one Slurm job array and wait; returns the records in cell order. A cell
    that fails, is cancelled or times out is an Error naming it, its Slurm state and its log (after every
    other cell has ended: their results stay)."""
    if not cells:
        return []
    ex = executor(settings)
    os.makedirs(settings.log_dir, exist_ok=True)
    try:
        with ex.batch():
            jobs = [ex.submit(fn, c) for c in cells]
    except (subprocess.CalledProcessError, OSError) as e:
        raise Error(f'sbatch failed for the ablation array ({str(e).splitlines()[0][:160]})') from None
    # submitit builds an array's jobs with its own class, whose watcher asks sacct: ours asks scontrol
    watcher = _watcher_class()(delay_s=max(1, int(settings.poll_s)))
    for job in jobs:
        job.watcher = watcher
        watcher.register_job(job.job_id)
    print(f'rtmpose ablate: submitted {len(jobs)} cell(s) as Slurm job array {jobs[0].job_id.split("_")[0]} '
          f'(logs: {settings.log_dir})', flush=True)
    results, failed = [], []
    for cell, job in zip(cells, jobs):
        try:
            results.append(job.result())
        except Exception as e:   # submitit's UncompletedJobError / FailedJobError: the cell's own failure
            state = job.watcher.get_state(job.job_id, mode='cache')
            failed.append(f'{describe(cell)} (Slurm job {job.job_id}, {state}: {job.paths.stderr}; '
                          f'{str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__})')
    if failed:
        raise Error(f'{len(failed)} of {len(cells)} ablation cell(s) did not finish: {"; ".join(failed)}; the '
                    'finished cells are kept, a rerun submits only the missing ones')
    return results


def train_sbatch_script(config: str, nodes: int = 1, gpus_per_node: int = 1, cpus_per_task: int = 8,
                        time: str = '48:00:00', partition: str | None = None, log_dir: str = 'experiments/slurm-logs',
                        port: int = 29500, extra_args: Sequence[str] = ()) -> str:
    """An sbatch script that trains `config` on `nodes` nodes x `gpus_per_node` GPUs (one torchrun agent per
    node, c10d rendezvous on the first node, one process per GPU; a CPU-only run when gpus_per_node is 0).
    Slurm sends SIGTERM 120 s before the time limit: `rtmpose train` ends in one line with its last
    checkpoint, and the same script submitted again resumes from it."""
    if nodes < 1 or gpus_per_node < 0 or cpus_per_task < 1:
        raise Error('sbatch: nodes and cpus per task must be >= 1, gpus per node >= 0')
    procs = max(gpus_per_node, 1)
    lines = ['#!/bin/bash', '#SBATCH --job-name=rtmpose-train', f'#SBATCH --nodes={nodes}',
             '#SBATCH --ntasks-per-node=1', f'#SBATCH --cpus-per-task={cpus_per_task}', f'#SBATCH --time={time}',
             f'#SBATCH --output={log_dir}/%x-%j.out', '#SBATCH --signal=TERM@120']
    if gpus_per_node:
        lines.append(f'#SBATCH --gpus-per-node={gpus_per_node}')
    if partition:
        lines.append(f'#SBATCH --partition={partition}')
    args = ' '.join(extra_args)
    lines += ['set -euo pipefail',
              '# the first node hosts the rendezvous; every node runs one torchrun agent (srun: one task per node)',
              'head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
              f'export OMP_NUM_THREADS=${{OMP_NUM_THREADS:-{max(1, cpus_per_task // procs)}}}',
              '# runs log to the MLflow server of docs/cluster.md (make server) when MLFLOW_TRACKING_URI is set',
              f'srun torchrun --nnodes "$SLURM_NNODES" --nproc_per_node {procs} --rdzv-backend c10d \\',
              f'  --rdzv-endpoint "$head:{port}" --rdzv-id "$SLURM_JOB_ID" \\',
              f'  -m rtmpose.cli train -c {config} --no-progress{" " + args if args else ""}', '']
    return '\n'.join(lines)
