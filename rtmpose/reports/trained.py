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


def spread_verdict(ap: float | None, seeds: dict | None, run_config: dict | None) -> str:
    """Whether this run's AP lies inside the committed interval over seeds, and whether the two share
    settings (a different recipe is not expected to fall inside)."""
    if ap is None:
        return 'no train-stage evaluation yet: rtmpose eval --params params.yaml'
    if not seeds or seeds.get('AP_ci_low') is None:
        return 'no committed spread over >= 2 seeds (reports/train/seeds.json; see README, "Spread over seeds")'
    low, high, n = seeds['AP_ci_low'], seeds['AP_ci_high'], seeds.get('n_seeds')
    from rtmpose.train.trainer import SPREAD_FREE
    same = run_config is not None and seeds.get('settings') is not None and all(
        run_config.get(k) == v for k, v in seeds['settings'].items() if k not in SPREAD_FREE)
    where = 'inside' if low <= ap <= high else 'OUTSIDE'
    text = (f'this run\'s AP {100 * ap:.1f} lies {where} the committed 95% interval [{100 * low:.1f}, '
            f'{100 * high:.1f}] over {n} seeds')
    if not same:
        text += ' (settings differ from those the spread was measured with: not expected to match)'
    return text


def trained_report(cfg: TablesConfig) -> tuple[str, str]:
    """(markdown, csv) of the trained-model table."""
    at = lambda p: os.path.join(cfg.root, p)   # noqa: E731
    pre = _load(at(cfg.pretrained))
    ev = _load(at(cfg.train_eval))
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
        rows.append(dict(stage='pretrain', what='not measured: dvc unfreeze pretrain && dvc repro pretrain',
                         source=cfg.pretrained))
    if ev:
        rows.append(dict(stage='train (this run)', what='embedded val, ground-truth boxes, flip test (rtmpose eval)',
                         **{k: ev.get(k) for k in METRICS}, source=cfg.train_eval))
    else:
        rows.append(dict(stage='train (this run)', what='not measured: dvc repro eval', source=cfg.train_eval))
    if seeds and seeds.get('n_seeds', 0) >= 2:
        per = seeds.get('per_seed', [])
        rows.append(dict(stage=f"train spread ({seeds['n_seeds']} seeds, committed)",
                         what=f"mean [95% t-interval] over seeds {', '.join(str(p['seed']) for p in per)}",
                         AP=seeds.get('AP_mean'), **{k: sum(p.get(k, 0) for p in per) / len(per)
                                                     for k in METRICS[1:] if all(k in p for p in per)},
                         interval=f"[{_pct(seeds.get('AP_ci_low'))}, {_pct(seeds.get('AP_ci_high'))}]",
                         source=cfg.train_seeds))
    verdict = spread_verdict(ev.get('AP') if ev else None, seeds, run_cfg)
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
