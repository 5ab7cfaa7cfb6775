"""The embedded default's trained model (not a paper table): the pre-trained starting point, the `train`
stage's model as this run measured it, and the committed spread over seeds it should fall in.

reports/tables/trained.{md,csv}. A rerun whose AP lies outside the committed 95% interval of the same
settings is marked OUTSIDE (another machine's kernels, another library version, or a changed recipe).
"""
from __future__ import annotations

import csv
import io
import json
import os

from rtmpose.reports.config import TablesConfig

METRICS = ('AP', 'AP50', 'AP75', 'AR')


def _load(path: str) -> dict | None:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _pct(v) -> str:
    return '–' if not isinstance(v, (int, float)) else f'{100 * v:.1f}'


def prediction_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Where one more run of the same settings falls with probability `confidence` (normal seeds' spread):
    mean +/- t_{(1+c)/2, n-1} * sd * sqrt(1 + 1/n). Wider than the interval of the mean, which a single run is
    not an estimate of."""
    import math

    from scipy import stats
    n = len(values)
    if n < 2:
        return None
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * sd * math.sqrt(1 + 1 / n)
    return mean - half, mean + half


def spread_verdict(ap: float | None, seeds: dict | None, run_config: dict | None,
                   backbone_sha256: str | None = None) -> str:
    """This run's AP (the trainer's validation, as the committed seeds') against the committed spread: equal
    to the committed run of its seed, or not; inside the 95% prediction interval for one run of the same
    settings, or OUTSIDE. Says when the settings or the starting weights differ (then nothing is expected)."""
    if ap is None:
        return 'no train-stage metrics yet: dvc repro train'
    per = [p for p in (seeds or {}).get('per_seed', []) if isinstance(p.get('AP'), (int, float))]
    interval = prediction_interval([p['AP'] for p in per])
    if interval is None:
        return 'no committed spread over >= 2 seeds (reports/train/seeds.json; see README, "Spread over seeds")'
    from rtmpose.train.config import SPREAD_FREE
    run_config = run_config or {}
    differ = sorted(k for k, v in (seeds.get('settings') or {}).items()
                    if k not in SPREAD_FREE and run_config.get(k) != v)
    committed_sha = (seeds.get('inputs') or {}).get('init_backbone_sha256')
    low, high = interval
    where = 'inside' if low <= ap <= high else 'OUTSIDE'
    text = (f'this run\'s AP {100 * ap:.2f} lies {where} the 95% prediction interval for one run, '
            f'[{100 * low:.2f}, {100 * high:.2f}], from the {len(per)} committed seeds')
    same_seed = next((p for p in per if p.get('seed') == run_config.get('seed')), None)
    if same_seed is not None:
        d = ap - same_seed['AP']
        text += (f'; the committed run of the same seed ({same_seed["seed"]}) scored {100 * same_seed["AP"]:.2f}: '
                 + ('equal' if d == 0 else f'{100 * d:+.2f} (float summation order: another CPU\'s kernels or '
                                           'another library version)'))
    if differ:
        text += f' (settings differ from those of the spread: {", ".join(differ)}; not expected to match)'
    elif committed_sha and backbone_sha256 and committed_sha != backbone_sha256:
        text += ' (the pre-trained weights differ from those of the spread; not expected to match)'
    return text


def trained_report(cfg: TablesConfig) -> tuple[str, str]:
    """(markdown, csv) of the trained-model table."""
    at = lambda p: os.path.join(cfg.root, p)   # noqa: E731
    pre = _load(at(cfg.pretrained))
    ev = _load(at(cfg.train_eval))
    metrics = _load(at(cfg.train_metrics))
    seeds = _load(at(cfg.train_seeds))
    run_cfg = _load(at(os.path.join(cfg.runs_dir, cfg.train_run or 'synthetic-t', 'config.json')))
    run_cfg = (run_cfg or {}).get('config', run_cfg)
    rows = []
    if pre:
        held = pre.get('held_out_metrics', {})
        rows.append(dict(stage='pretrain', what=f"held-out val of the pre-training set ({pre.get('held_out', '')}), "
                                                f"{pre.get('epochs')} epochs on {pre.get('data', {}).get('train', {}).get('images')} images",
                         **{k: held.get(k) for k in METRICS}, source=cfg.pretrained))
    else:
        rows.append(dict(stage='pretrain', what='not measured: dvc unfreeze pretrain && dvc repro pretrain '
                                                '(or rtmpose pretrain --params params.yaml)',
                         source=cfg.pretrained))
    if metrics:
        rows.append(dict(stage='train (this run)', what='embedded val, ground-truth boxes, flip test (the trainer\'s '
                                                        'final validation, as each committed seed\'s)',
                         **{k: metrics.get(k) for k in METRICS}, source=cfg.train_metrics))
    else:
        rows.append(dict(stage='train (this run)', what='not measured: dvc repro train', source=cfg.train_metrics))
    if ev:
        rows.append(dict(stage='eval (this run)', what='the same model through rtmpose eval (OKS-NMS, rescoring)',
                         **{k: ev.get(k) for k in METRICS}, source=cfg.train_eval))
    if seeds and seeds.get('n_seeds', 0) >= 2:
        per = seeds.get('per_seed', [])
        rows.append(dict(stage=f"train spread ({seeds['n_seeds']} seeds, committed)",
                         what=f"mean [95% t-interval] over seeds {', '.join(str(p['seed']) for p in per)}",
                         AP=seeds.get('AP_mean'), **{k: sum(p.get(k, 0) for p in per) / len(per)
                                                     for k in METRICS[1:] if all(k in p for p in per)},
                         interval=f"[{_pct(seeds.get('AP_ci_low'))}, {_pct(seeds.get('AP_ci_high'))}] (mean)",
                         source=cfg.train_seeds))
    verdict = spread_verdict(metrics.get('AP') if metrics else None, seeds, run_cfg, (pre or {}).get('sha256'))
    cols = ['stage', 'what', *METRICS, 'interval', 'source']
    md = ['# The embedded default\'s trained RTMPose-t (not in the paper)', '',
          'COCO keypoint AP (pycocotools, x100) of the pre-trained starting point and of the `train` stage\'s model; '
          'the paper\'s RTMPose-t reaches 68.5 on COCO val (n/c: another data set).', '',
          '| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
    for r in rows:
        md.append('| ' + ' | '.join(_pct(r.get(c)) if c in METRICS else str(r.get(c, '')) for c in cols) + ' |')
    md += ['', f'- {verdict}.',
           '- Spread over seeds: `dvc unfreeze train-seeds && dvc repro train-seeds` (or the stage\'s command in '
           'dvc.yaml) trains the `train` section once per seed and rewrites reports/train/seeds.json.', '']
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols + ['verdict'], lineterminator='\n')
    w.writeheader()
    for r in rows:
        w.writerow({**{c: r.get(c, '') for c in cols}, 'verdict': verdict if r['stage'].startswith('train (this') else ''})
    return '\n'.join(md), buf.getvalue()
