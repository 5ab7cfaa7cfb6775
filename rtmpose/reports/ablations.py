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


def read_summary(path: str) -> dict[str, dict]:
    """summary.csv rows by variant, numbers as floats (None where empty); {} when the file is missing."""
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
            r['_file'] = path
            out[row['variant']] = r
    return out


def variant_table(params_path: str = 'params.yaml') -> dict[str, dict]:
    """Plain dicts for the table builders; empty when params.yaml has no valid `ablations` section.
    `summary` holds the variant's summary.csv row (or None when not summarized yet)."""
    from rtmpose.train.ablation import load_ablations   # reads the declarations only; trains nothing
    try:
        cfg, variants = load_ablations(params_path)
    except Error:
        return {}
    summary = read_summary(os.path.join(os.path.dirname(os.path.abspath(params_path)), cfg.summary))
    return {k: dict(roadmap=v.roadmap, table03=v.table03, grids=v.grids, description=v.description,
                    unsupported=v.unsupported, summary=summary.get(k), reference=cfg.reference)
            for k, v in variants.items()}


def pct(v: float | None) -> float | None:
    """AP in [0, 1] as the tables show it (percent)."""
    return None if v is None else v * 100


def interval_text(row: dict | None) -> str:
    """'12.3 [10.1, 14.5] (n=3)' in AP percent, or '' without an interval."""
    if not row or row.get('AP_mean') is None:
        return ''
    if row.get('AP_ci_low') is None:
        return f"{pct(row['AP_mean']):.1f} (n={row['n_seeds']}, no interval)"
    return f"{pct(row['AP_mean']):.1f} [{pct(row['AP_ci_low']):.1f}, {pct(row['AP_ci_high']):.1f}] (n={row['n_seeds']})"


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
