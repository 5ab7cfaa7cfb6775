"""Statistics over seeds: the mean and Student-t interval of repeated training runs (the ablation grid and
the `train` stage's seeds)."""
from __future__ import annotations

import math


def t_interval(values: list[float], confidence: float = 0.95) -> dict:
    """Mean and Student-t interval of the mean over seeds: mean +/- t_{(1+c)/2, n-1} * sd / sqrt(n).
    With one value the interval is undefined (NaN)."""
    from scipy import stats
    xs = [float(x) for x in values]
    n = len(xs)
    mean = sum(xs) / n if n else float('nan')
    if n < 2:
        return dict(n=n, mean=mean, sd=float('nan'), half_width=float('nan'), low=float('nan'), high=float('nan'))
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)
    return dict(n=n, mean=mean, sd=sd, half_width=half, low=mean - half, high=mean + half)
