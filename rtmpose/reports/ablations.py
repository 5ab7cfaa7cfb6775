"""The ablation variants as the tables see them: what params.yaml `ablations.variants` declares (the
paper rows each reproduces) and, per variant, its row of the grid's summary.csv (mean AP and 95% interval
over seeds, paired difference against the final recipe). Running them is rtmpose.train.ablation's job
(`rtmpose ablate`, `rtmpose ablate --summary`); the tables only read what it wrote."""
from __future__ import annotations

import csv
import math
import os

from rtmpose.errors import Error


def _float(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def read_summary(path: str, shown_as: str | None = None) -> dict[str, dict]:
    """summary.csv rows by variant, numbers as floats (None where empty); {} when the file is missing.
    `_file` of each row is `shown_as` (the path as params.yaml names it) or `path`."""
    if not os.path.isfile(path):
        return {}
    out = {}
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            r = dict(row)
            for k in ('AP_mean', 'AP_sd', 'AP_ci_low', 'AP_ci_high', 'AP_ci_half_width', 'delta_AP',
                      'delta_ci_low', 'delta_ci_high', 'delta_ci_half_width'):
                r[k] = _float(row.get(k))
            r['n_seeds'] = int(row.get('n_seeds') or 0)
            r['_file'] = shown_as or path
            out[row['variant']] = r
    return out


def _git_show(root: str, rel: str) -> str | None:
    """The committed (HEAD) text of `rel` in the git work tree at `root`, or None (no git, not committed)."""
    import subprocess
    try:
        r = subprocess.run(['git', 'show', f'HEAD:{rel}'], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


def _schedule(result: dict | None) -> tuple | None:
    """What makes two runs of a variant comparable: its settings and seeds (from its results JSON)."""
    if not isinstance(result, dict) or result.get('status') != 'done':
        return None
    return tuple(result.get('sets') or ()), tuple(result.get('seeds') or ())


def committed_summary(root: str, summary_rel: str, results_rel: str, fresh: dict[str, dict]) -> dict[str, dict]:
    """The committed summary.csv rows of the variants whose committed results ran the same settings and seeds
    as the results in the work tree: the intervals a fresh measurement is checked against."""
    import io
    import json
    text = _git_show(root, summary_rel)
    if not text:
        return {}
    tmp = {}
    for row in csv.DictReader(io.StringIO(text)):
        tmp[row['variant']] = row
    out = {}
    for name in tmp:
        old = _git_show(root, f'{results_rel}/{name}.json')
        try:
            mine = _schedule(fresh.get(name))
            same = old is not None and mine is not None and _schedule(json.loads(old)) == mine
        except ValueError:
            same = False
        if same and _float(tmp[name].get('AP_ci_low')) is not None:
            out[name] = {'AP_ci_low': _float(tmp[name]['AP_ci_low']), 'AP_ci_high': _float(tmp[name]['AP_ci_high'])}
    return out


def variant_table(params_path: str = 'params.yaml') -> dict[str, dict]:
    """Plain dicts for the table builders; empty when params.yaml has no valid `ablations` section.
    `summary` holds the variant's summary.csv row (or None when not summarized yet); `committed` the interval
    of the committed summary when the committed results ran the same settings and seeds (else None)."""
    from rtmpose.io import read_json
    from rtmpose.train.ablation import load_ablations   # reads the declarations only; trains nothing
    try:
        cfg, variants = load_ablations(params_path)
    except Error:
        return {}
    root = os.path.dirname(os.path.abspath(params_path))
    summary = read_summary(os.path.join(root, cfg.summary), shown_as=cfg.summary)
    fresh = {}
    for k in variants:
        path = os.path.join(root, cfg.results_dir, f'{k}.json')
        if os.path.isfile(path):
            try:
                fresh[k] = read_json(path, 'ablation results')
            except Error:
                pass
    committed = committed_summary(root, os.path.relpath(os.path.join(root, cfg.summary), root),
                                  os.path.relpath(os.path.join(root, cfg.results_dir), root), fresh)
    return {k: dict(roadmap=v.roadmap, table03=v.table03, grids=v.grids, description=v.description,
                    unsupported=v.unsupported, summary=summary.get(k), reference=cfg.reference,
                    committed=committed.get(k))
            for k, v in variants.items()}


def pct(v: float | None) -> float | None:
    """AP in [0, 1] as the tables show it (percent)."""
    return None if v is None else v * 100


def interval_text(row: dict | None, committed: dict | None = None) -> str:
    """'12.3 [10.1, 14.5] (n=3)' in AP percent, or '' without an interval; a mean outside the committed
    interval of the same settings and seeds (another machine, other libraries) is marked."""
    if not row or row.get('AP_mean') is None:
        return ''
    if row.get('AP_ci_low') is None:
        text = f"{pct(row['AP_mean']):.1f} (n={row['n_seeds']}, no interval)"
    else:
        text = f"{pct(row['AP_mean']):.1f} [{pct(row['AP_ci_low']):.1f}, {pct(row['AP_ci_high']):.1f}] (n={row['n_seeds']})"
    if committed and not committed['AP_ci_low'] <= row['AP_mean'] <= committed['AP_ci_high']:
        text += (f" OUTSIDE the committed interval [{pct(committed['AP_ci_low']):.1f}, "
                 f"{pct(committed['AP_ci_high']):.1f}]")
    return text


def delta_text(row: dict | None) -> str:
    """The paired difference against the reference in AP points: '+2.1 [0.4, 3.8]', 'n.s. (+0.3 [-1.2, 1.8])'
    when its interval contains 0, '' for the reference itself or without pairs."""
    if not row or row.get('delta_AP') is None:
        return ''
    d = f"{pct(row['delta_AP']):+.1f}"
    if row.get('delta_ci_low') is None:
        return f'{d} (one paired seed, no interval)'
    d += f" [{pct(row['delta_ci_low']):+.1f}, {pct(row['delta_ci_high']):+.1f}]"
    return d if row.get('significant') == 'yes' else f'n.s. ({d})'
