"""Peers that run in their own runtime: MediaPipe BlazePose lite/full/heavy, driven as a subprocess.

mediapipe 0.10.21 pins numpy<2 and protobuf<5, so it lives in harness/.venv-mediapipe
(`bash tools/setup_mediapipe.sh`). The worker prints its raw timings as JSON; where the environment or
a model is missing the row says why instead of carrying a number.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from rtmpose.harness.timing import summarize

VENV = os.environ.get('RTMPOSE_MEDIAPIPE_VENV', 'harness/.venv-mediapipe')
WORKER = Path(__file__).resolve().parents[2] / 'tools' / 'blazepose_worker.py'
COMPLEXITY = {'blazepose-lite': 0, 'blazepose-full': 1, 'blazepose-heavy': 2}


def run_external(names: list[str], warmup: int, runs: int, timeout: float = 900) -> list[dict[str, Any]]:
    rows = []
    python = Path(VENV) / 'bin' / 'python'
    for name in names:
        row = dict(model=name, backend='mediapipe', precision='fp32', threads=1, span='e2e', status='ok',
                   input='full frame')
        if name not in COMPLEXITY:
            row['status'] = f'not run: unknown external peer {name!r}'
        elif not python.is_file():
            row['status'] = f'not run: {VENV} missing (bash tools/setup_mediapipe.sh)'
        elif not WORKER.is_file():
            row['status'] = f'not run: {WORKER} missing'
        else:
            try:
                res = subprocess.run([str(python), str(WORKER), '--complexity', str(COMPLEXITY[name]),
                                      '--warmup', str(warmup), '--runs', str(runs)],
                                     capture_output=True, text=True, timeout=timeout,
                                     env={**os.environ, 'OMP_NUM_THREADS': '1'})
                if res.returncode != 0:
                    last = (res.stderr.strip().splitlines() or ['no output'])[-1]
                    row['status'] = f'not run: worker failed ({last[:160]})'
                else:
                    data = json.loads(res.stdout.strip().splitlines()[-1])
                    times = np.array(data['times_ms'])
                    h, w = data['frame_hw']
                    row.update(summarize(times), _times=times, weights=f'mediapipe {data["mediapipe"]} released',
                               input=f'full frame {h}x{w} (detector + landmarks)')
            except subprocess.TimeoutExpired:
                row['status'] = f'not run: worker exceeded {timeout:.0f} s'
            except (ValueError, KeyError) as e:
                row['status'] = f'not run: unreadable worker output ({e})'
        rows.append(row)
    return rows
