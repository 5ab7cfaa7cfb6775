"""Fig. 1 (speed vs accuracy, and the CPU MAC rate per core behind it), a Fig. 3-style roadmap chart and Table
13's change-in-AP vs latency plot; paper and measured points kept apart."""
from __future__ import annotations

import os

from rtmpose.io import write_figures
from rtmpose.reports.ablations import delta_text, pct
from rtmpose.reports.measured import Measurements
from rtmpose.paper import PaperTable

PAPER_STYLE = dict(marker='o', color='#1f77b4')
MEASURED_STYLE = dict(marker='s', facecolors='none', edgecolors='#d62728', linewidths=1.6)


def _plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    plt.rcParams['svg.hashsalt'] = 'rtmpose'  # stable SVG ids between runs
    return plt


def _save(fig, out_dir: str, name: str) -> list[str]:
    return write_figures(fig, os.path.join(out_dir, name))


def _points(paper: dict[str, PaperTable]) -> list[dict]:
    """Paper points: the spec's published latencies (+ Table 11's HRNet) with their COCO AP, and whether the
    CPU latency is within one i7-11700 core's fp32 peak (`one_core`: None when no GFLOPs are published)."""
    from rtmpose.reports.build import _paper_cpu
    _, rates = _paper_cpu(paper)
    names = {'tinypose-128x96': 'TinyPose', 'tinypose-256x192': 'TinyPose', 'litehrnet-30': 'LiteHRNet-30'}
    pts = []
    for r in paper['spec_latencies'].rows:
        rate = rates.get(('spec_latencies', r['key']))
        pts.append(dict(model=r['model'], label=names.get(r['model'], r['model'].replace('rtmpose-', 'RTMPose-')), ap=r['ap'],
                        cpu=r.get('ort_i7_11700_ms'), gpu=r.get('trt_fp16_gtx1660ti_ms'), rtm=r['model'].startswith('rtmpose'),
                        one_core=None if rate is None else rate.one_core_plausible))
    for r in paper['table11'].rows:
        if r['method'] == 'HRNet-w32+UDP':
            rate = rates.get(('table11', r['key']))
            pts.append(dict(model='hrnet-w32', label='HRNet-w32+UDP', ap=r['ap'], cpu=r['cpu_ms'], gpu=r['gpu_ms'], rtm=False,
                            one_core=None if rate is None else rate.one_core_plausible))
    return pts


def _log_x(ax) -> None:
    from matplotlib.ticker import FuncFormatter
    ax.set_xscale('log')
    fmt = FuncFormatter(lambda v, _: f'{v:g}')
    ax.xaxis.set_major_formatter(fmt)
    ax.xaxis.set_minor_formatter(fmt)
    ax.tick_params(axis='x', which='minor', labelsize=7)


def _rate_panel(ax, paper: dict[str, PaperTable], m: Measurements) -> None:
    """GMAC/s per core: the paper's implied rate (its GFLOPs / its '1 thread' ms) against one i7-11700 core's fp32
    peak, beside ours per core at 1 thread and on all cores against this machine's per-core peak."""
    from rtmpose.reports.build import PEERS, _paper_cpu
    cpu, rates = _paper_cpu(paper)
    rows = [r for r in paper['table11'].rows if r['dataset'] == 'COCO']
    x = list(range(len(rows)))
    for i, r in enumerate(rows):
        rate = rates.get(('table11', r['key']))
        if rate is None or rate.gmacs is None:
            continue
        ax.bar(i, rate.gmacs, width=0.6, color=PAPER_STYLE['color'] if r.get('model') else '#7f7f7f', alpha=0.8)
        ax.text(i, rate.gmacs, f'{rate.gmacs:.0f}', ha='center', va='bottom', fontsize=7)
    if cpu is not None:
        ax.axhline(cpu.per_core_gmacs, color='black', ls='--', lw=1)
        ax.text(len(rows) - 0.5, cpu.per_core_gmacs, f'i7-11700 core, fp32: {cpu.macs_per_cycle} MAC/cycle x '
                f'{cpu.clock_ghz:g} GHz = {cpu.per_core_gmacs:.1f}', ha='right', va='bottom', fontsize=7)
    if m.machine_peak:
        ax.axhline(m.machine_peak, color='#d62728', ls=':', lw=1)
        ax.text(len(rows) - 0.5, m.machine_peak, f'this machine, per core: {m.machine_peak:.1f}', ha='right',
                va='top', fontsize=7, color='#d62728')
    for i, r in enumerate(rows):
        model = r.get('model') or PEERS.get(r['method'])
        for threads, style in (('1', dict(marker='s', color='#d62728')),
                               ('all', dict(marker='s', facecolors='none', edgecolors='#d62728'))):
            t = m.timing(model, 'onnxruntime', precision='fp32', threads=threads) if model else None
            if t is not None and t.get('gmacs_per_core') is not None:
                ax.scatter(i, t['gmacs_per_core'], s=40, zorder=4, **style)
    ax.set_xticks(x)
    ax.set_xticklabels([r['method'] for r in rows], rotation=45, ha='right', fontsize=7)
    ax.set_ylabel('GMAC/s per core (one MAC = one FLOP)')
    ax.set_title('CPU MAC rate per core: paper (implied) vs peak vs ours', fontsize=10)
    ax.grid(True, axis='y', alpha=0.3)


def speed_accuracy(paper: dict[str, PaperTable], m: Measurements, out_dir: str) -> list[str]:
    """Fig. 1: AP against latency, paper and measured apart. CPU: the paper's i7-11700 figures (marked * where
    they imply more than one core's fp32 peak) beside our ALL-CORES latency (arrows), our 1-thread latency shown
    apart; GPU as measured; a third panel with the MAC rate per core behind the comparison."""
    plt = _plt()
    pts = _points(paper)
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.0), gridspec_kw=dict(width_ratios=[1.15, 1.0, 0.9], wspace=0.3))
    cores = f', {m.machine_cores} cores' if m.machine_cores else ''
    panels = (('cpu', 'onnxruntime', f'CPU: ONNX Runtime; paper i7-11700 ("1 thread") vs this machine, all cores{cores}'),
              ('gpu', 'tensorrt', 'GPU: TensorRT FP16 (paper: GTX 1660 Ti)'))
    for ax, (key, backend, title) in zip(axes, panels):
        rtm = sorted((p for p in pts if p['rtm'] and p[key] and p['model'] != 'rtmpose-m-384x288'), key=lambda p: p[key])
        ax.plot([p[key] for p in rtm], [p['ap'] for p in rtm], '-', color=PAPER_STYLE['color'], alpha=0.5)
        for p in pts:
            if not p[key]:
                continue
            ax.scatter(p[key], p['ap'], color=PAPER_STYLE['color'] if p['rtm'] else '#7f7f7f', marker='o', zorder=3)
            star = '*' if key == 'cpu' and p['one_core'] is False else ''
            ax.annotate(p['label'] + star, (p[key], p['ap']), textcoords='offset points', xytext=(5, -10), fontsize=8)
        n_meas = 0
        for p in pts:
            ev = m.eval_metric(p['model'], 'coco', 'AP')
            ap = ev.value if ev is not None else p['ap']
            if key == 'cpu':
                v = m.latency_ms(p['model'], backend, precision='fp32', threads='all')
                one = m.latency_ms(p['model'], backend, precision='fp32', threads='1')
                if one is not None and (v is None or one.value != v.value):
                    ax.scatter(one.value, ap, s=45, marker='D', facecolors='none', edgecolors='#ff9896', zorder=4)
            else:
                v = m.latency_ms(p['model'], backend)
            if v is None:
                continue
            ax.scatter(v.value, ap, s=60, zorder=4, **MEASURED_STYLE)
            if p[key]:
                ax.annotate('', (v.value, ap), (p[key], p['ap']), arrowprops=dict(arrowstyle='->', color='#d62728', alpha=0.5))
            n_meas += 1
        _log_x(ax)
        ax.set_xlabel('latency per pose, batch 1 (ms, log scale)')
        ax.set_ylabel('COCO val2017 AP')
        lines = [title]
        if key == 'cpu':
            lines.append('* the paper\'s figure implies more MAC/s than one core\'s fp32 peak (right panel)')
        if n_meas == 0:
            lines.append('all cores: not measured (rtmpose bench --params params.yaml --threads 1 all)' if key == 'cpu'
                         else f'measured: none yet (rtmpose bench --backends {backend})')
        ax.set_title('\n'.join(lines), fontsize=8)
        ax.grid(True, which='both', alpha=0.3)
    _rate_panel(axes[2], paper, m)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], marker='o', color=PAPER_STYLE['color'], ls='', label='paper / spec (RTMPose)'),
               Line2D([], [], marker='o', color='#7f7f7f', ls='', label='paper / spec (peers)'),
               Line2D([], [], marker='s', mfc='none', mec='#d62728', ls='', label='measured here: CPU all cores / GPU '
                      '(AP from the paper unless evaluated on COCO)'),
               Line2D([], [], marker='D', mfc='none', mec='#ff9896', ls='', label='measured here, CPU 1 thread (no paper '
                      'figure of that protocol)'),
               Line2D([], [], marker='s', color='#d62728', ls='', label='ours per core: 1 thread (filled), all cores '
                      '(hollow)')]
    fig.legend(handles=handles, loc='upper center', ncol=3, fontsize=8, bbox_to_anchor=(0.5, -0.04))
    fig.suptitle('Fig. 1: speed vs accuracy (RTMPose sizes and peers)', fontsize=11, y=1.06)
    paths = _save(fig, out_dir, 'fig1_speed_accuracy')
    plt.close(fig)
    return paths


def roadmap_chart(paper: dict[str, PaperTable], m: Measurements, variants: dict[str, dict], out_dir: str) -> list[str]:
    plt = _plt()
    rows = paper['table02'].rows
    by_step = {v.get('roadmap'): k for k, v in variants.items() if v.get('roadmap')}
    labels = [r['change'] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5.5), sharey=True)
    y = list(range(len(rows)))[::-1]
    ax1.barh(y, [r['ap'] for r in rows], color='#1f77b4')
    for yi, r in zip(y, rows):
        ax1.text(r['ap'] + 0.05, yi, f"{r['ap']:.1f}", va='center', fontsize=8)
    lo = min(r['ap'] for r in rows)
    ax1.set_xlim(lo - 1.5, max(r['ap'] for r in rows) + 1.0)
    ax1.set_yticks(y)
    ax1.set_yticklabels(labels, fontsize=8)
    ax1.set_xlabel('COCO val2017 AP (paper, Sec. 3)')
    ax1.set_title('paper roadmap (Fig. 3)', fontsize=10)
    vals = []
    for yi, r in zip(y, rows):
        v = m.ablation(by_step[r['key']]) if r['key'] in by_step else None
        vals.append(v.value if v else None)
        if v is None:
            name = by_step.get(r['key'])
            why = ('' if name is None else ' (not trainable by rtmpose train)' if variants[name].get('unsupported')
                   else f' (ablations.grid: paper; dvc repro ablation@{name})'
                   if 'default' not in (variants[name].get('grids') or []) else f' (dvc repro ablation@{name})')
            ax2.text(0.01, yi, 'not measured' + why, va='center', fontsize=7, color='#7f7f7f',
                     transform=ax2.get_yaxis_transform())
    got = [(yi, v) for yi, v in zip(y, vals) if v is not None]
    if got:
        # error bars: the 95% t-interval over seeds from summary.csv (none where it was not summarized)
        errs, notes = [[], []], []
        for yi, r in zip(y, rows):
            if yi not in dict(got):
                continue
            name = by_step.get(r['key'])
            s = (variants.get(name) or {}).get('summary') or {}
            v, lo, hi = pct(s.get('AP_mean')) or dict(got)[yi], pct(s.get('AP_ci_low')), pct(s.get('AP_ci_high'))
            got[[g[0] for g in got].index(yi)] = (yi, v)   # the bar at the mean over seeds of summary.csv
            errs[0].append(max(v - lo, 0.0) if lo is not None else 0.0)
            errs[1].append(max(hi - v, 0.0) if hi is not None else 0.0)
            d = 'reference' if s and name == variants[name].get('reference') else delta_text(s)
            notes.append(f' {v:.1f}' + (f' [{lo:.1f}, {hi:.1f}]' if lo is not None else '') + (f'  {d}' if d else ''))
        ax2.barh([g[0] for g in got], [g[1] for g in got], color='#d62728', xerr=errs, capsize=3,
                 error_kw={'elinewidth': 1, 'ecolor': 'black'})
        for (yi, v), txt, hi in zip(got, notes, errs[1]):
            ax2.text(v + hi, yi, txt, va='center', fontsize=7)
        # an axis fitted to the measured bars (a 0-100 axis draws a near-chance grid as slivers), with room
        # for the labels right of the longest bar
        ax2.set_xlim(0, max(v + e for (_, v), e in zip(got, errs[1])) * 1.8)
    ax2.set_xlabel('AP on the embedded synthetic set (measured here, short schedule)')
    ax2.set_title('measured ablation grid (not comparable in absolute value):\nmean, 95% t-interval over seeds; '
                  'paired delta vs final recipe (n.s.: interval contains 0)', fontsize=9)
    fig.suptitle('Roadmap: step-by-step gains (paper) beside the suite\'s ablation runs', fontsize=11)
    fig.tight_layout()
    paths = _save(fig, out_dir, 'fig3_roadmap')
    plt.close(fig)
    return paths


def spread_labels(targets: list[float], gap: float, low: float = 0.0, high: float = 1.0) -> list[float]:
    """Label positions (same order as `targets`, axes fractions) as close to their targets as possible, at least
    `gap` apart: a forward pass pushes up, a backward pass from `high` pushes down (more labels than fit in
    [low, high] spread evenly past `low`)."""
    order = sorted(range(len(targets)), key=lambda i: targets[i])
    pos = [0.0] * len(targets)
    prev = None
    for i in order:
        pos[i] = max(targets[i], low) if prev is None else max(targets[i], prev + gap)
        prev = pos[i]
    nxt = None
    for i in reversed(order):
        pos[i] = min(pos[i], high) if nxt is None else min(pos[i], nxt - gap)
        nxt = pos[i]
    return pos


def pareto_figure(points: list[dict], front: list[dict]):
    """Table 13's figure: the CHANGE in AP against PyTorch fp32 with its 95% paired-bootstrap interval (error
    bars, a zero line) against latency, per backend x precision of the trained size; labels in a column beside
    the axes, joined to their points, so none overlaps another. Returns (figure, axes, label texts)."""
    from rtmpose.reports.build import precision_text
    plt = _plt()
    pts = [p for p in points if p.get('delta') is not None]
    fig, ax = plt.subplots(figsize=(7.5, max(4.5, 0.26 * len(pts) + 2.0)))
    if not pts:
        ax.text(0.5, 0.5, 'no deploy accuracy measured yet (rtmpose deploy --params params.yaml)',
                ha='center', va='center', transform=ax.transAxes)
    timed = [p for p in pts if p['latency_ms'] is not None]
    right = max([p['latency_ms'] for p in timed], default=1.0) * 1.12
    markers = {'fp32': 'o', 'fp16': 's', 'bf16': 'D', 'int8': '^', 'mixed': 'v'}
    colors = {'onnxruntime': '#1f77b4', 'openvino': '#2ca02c', 'ncnn': '#ff7f0e', 'torch': '#7f7f7f'}
    ax.axhline(0.0, color='black', lw=0.9, zorder=1, label='no change (PyTorch fp32)')
    spans = [0.0]
    xy = []
    for p in pts:
        d = p['delta']
        lo, hi = p['ci'] or (d, d)
        x = p['latency_ms'] if p['latency_ms'] is not None else right
        c = colors.get(p['backend'], '#9467bd')
        hollow = p['latency_ms'] is None or not str(p['gate']).startswith('pass')
        ax.errorbar([x], [d], yerr=[[max(d - lo, 0.0)], [max(hi - d, 0.0)]], fmt=markers.get(p['precision'], 'o'),
                    color=c, mfc='none' if hollow else c, mec=c, ms=6, capsize=3, elinewidth=1.1, zorder=3)
        spans += [lo, hi]
        xy.append((x, d, lo, hi, c, p))
    f = sorted((p for p in front if p.get('delta') is not None), key=lambda p: p['latency_ms'])
    if f:
        ax.plot([p['latency_ms'] for p in f], [p['delta'] for p in f], '--o', color='#d62728', lw=1.0, ms=13,
                mfc='none', mew=1.2, zorder=2, label='Pareto front (gate passed)')
    pad = 0.12 * ((max(spans) - min(spans)) or 1e-3)
    ax.set_ylim(min(spans) - pad, max(spans) + pad)
    ax.set_xlim(0, right * 1.05)
    fig.canvas.draw()
    # label column: one text line per point, at least a line apart, joined to its point
    height_pt = ax.get_window_extent().height * 72.0 / fig.dpi
    gap = 1.45 * 7.0 / height_pt
    y0, y1 = ax.get_ylim()
    targets = [(d - y0) / (y1 - y0) for _, d, *_ in xy]
    texts = []
    for (x, d, lo, hi, c, p), ypos in zip(xy, spread_labels(targets, gap)):
        ns = ' n.s.' if lo <= 0.0 <= hi else ''
        where = '' if p['latency_ms'] is not None else ', not timed (failed the gate)'
        txt = (f'{p["backend"]} {precision_text(p)}: {d:+.4f} [{lo:+.4f}, {hi:+.4f}]{ns}{where}')
        texts.append(ax.annotate(txt, xy=(x, d), xycoords='data', xytext=(1.03, ypos), textcoords='axes fraction',
                                 fontsize=7, va='center', ha='left', color=c,
                                 arrowprops=dict(arrowstyle='-', color=c, lw=0.5, alpha=0.7, shrinkA=0, shrinkB=3)))
    model = pts[0]['model'] if pts else ''
    ax.set_xlabel('latency ms (batch 1, 1 thread); failed the gate: hollow at the right edge, not timed')
    ax.set_ylabel('ΔAP vs PyTorch fp32 (95% paired bootstrap interval)')
    ax.set_title(f'Not in the paper: {model} deployment, change in AP vs speed on this machine\n'
                 'an interval that crosses the zero line (n.s.) is no measurable change', fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc='lower left', fontsize=7)
    return fig, ax, texts


def deploy_pareto(points: list[dict], front: list[dict], out_dir: str, name: str = 'table13_pareto') -> list[str]:
    """Table 13's figure (not in the paper), as pareto_figure draws it; `points` / `front` as
    rtmpose.reports.build.deploy_points / pareto_front give them."""
    plt = _plt()
    fig, _, _ = pareto_figure(points, front)
    paths = _save(fig, out_dir, name)
    plt.close(fig)
    return paths
