"""Fig. 1 (speed vs accuracy) and a Fig. 3-style roadmap chart; paper and measured points kept apart."""
from __future__ import annotations

import io
import os

from rtmpose.io import write_bytes_atomic
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
    paths = []
    for ext in ('png', 'svg'):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=150 if ext == 'png' else None, bbox_inches='tight',
                    metadata={'Date': None} if ext == 'svg' else {'Software': None})
        path = os.path.join(out_dir, f'{name}.{ext}')
        write_bytes_atomic(path, buf.getvalue())
        paths.append(path)
    return paths


def _points(paper: dict[str, PaperTable]) -> list[dict]:
    """Paper points: the spec's published latencies (+ Table 11's HRNet) with their COCO AP."""
    names = {'tinypose-128x96': 'TinyPose', 'tinypose-256x192': 'TinyPose', 'litehrnet-30': 'LiteHRNet-30'}
    pts = []
    for r in paper['spec_latencies'].rows:
        pts.append(dict(model=r['model'], label=names.get(r['model'], r['model'].replace('rtmpose-', 'RTMPose-')), ap=r['ap'],
                        cpu=r.get('ort_i7_11700_ms'), gpu=r.get('trt_fp16_gtx1660ti_ms'), rtm=r['model'].startswith('rtmpose')))
    for r in paper['table11'].rows:
        if r['method'] == 'HRNet-w32+UDP':
            pts.append(dict(model='hrnet-w32', label='HRNet-w32+UDP', ap=r['ap'], cpu=r['cpu_ms'], gpu=r['gpu_ms'], rtm=False))
    return pts


def speed_accuracy(paper: dict[str, PaperTable], m: Measurements, out_dir: str) -> list[str]:
    plt = _plt()
    pts = _points(paper)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    panels = (('cpu', 'onnxruntime', 'CPU: ONNX Runtime, 1 thread (paper: i7-11700)'),
              ('gpu', 'tensorrt', 'GPU: TensorRT FP16 (paper: GTX 1660 Ti)'))
    for ax, (key, backend, title) in zip(axes, panels):
        rtm = sorted((p for p in pts if p['rtm'] and p[key] and p['model'] != 'rtmpose-m-384x288'), key=lambda p: p[key])
        ax.plot([p[key] for p in rtm], [p['ap'] for p in rtm], '-', color=PAPER_STYLE['color'], alpha=0.5)
        for p in pts:
            if not p[key]:
                continue
            ax.scatter(p[key], p['ap'], color=PAPER_STYLE['color'] if p['rtm'] else '#7f7f7f', marker='o', zorder=3)
            ax.annotate(p['label'], (p[key], p['ap']), textcoords='offset points', xytext=(5, -10), fontsize=8)
        n_meas = 0
        for p in pts:
            v = m.latency_ms(p['model'], backend)
            if v is None:
                continue
            ev = m.eval_metric(p['model'], 'coco', 'AP')
            ap = ev.value if ev is not None else p['ap']
            ax.scatter(v.value, ap, s=60, zorder=4, **MEASURED_STYLE)
            if p[key]:
                ax.annotate('', (v.value, ap), (p[key], p['ap']), arrowprops=dict(arrowstyle='->', color='#d62728', alpha=0.5))
            n_meas += 1
        ax.set_xscale('log')
        from matplotlib.ticker import FuncFormatter
        fmt = FuncFormatter(lambda v, _: f'{v:g}')
        ax.xaxis.set_major_formatter(fmt)
        ax.xaxis.set_minor_formatter(fmt)
        ax.tick_params(axis='x', which='minor', labelsize=7)
        ax.set_xlabel('latency per pose, batch 1 (ms, log scale)')
        ax.set_ylabel('COCO val2017 AP')
        ax.set_title(title, fontsize=10)
        ax.grid(True, which='both', alpha=0.3)
        if n_meas == 0:
            ax.text(0.98, 0.3, f'measured: none yet (rtmpose bench --backends {backend})', transform=ax.transAxes,
                    fontsize=8, color='#d62728', ha='right')
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], marker='o', color=PAPER_STYLE['color'], ls='', label='paper / spec (RTMPose)'),
               Line2D([], [], marker='o', color='#7f7f7f', ls='', label='paper / spec (peers)'),
               Line2D([], [], marker='s', mfc='none', mec='#d62728', ls='', label='latency measured here (this machine); '
                      'AP from the paper unless evaluated on COCO')]
    fig.legend(handles=handles, loc='lower center', ncol=3, fontsize=8, bbox_to_anchor=(0.5, -0.04))
    fig.suptitle('Fig. 1: speed vs accuracy (RTMPose sizes and peers)', fontsize=11)
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
        ax2.set_xlim(0, max(100.0, max(v for _, v in got) * 1.1))
    ax2.set_xlabel('AP on the embedded synthetic set (measured here, short schedule)')
    ax2.set_title('measured ablation grid (not comparable in absolute value):\nmean, 95% t-interval over seeds; '
                  'paired delta vs final recipe (n.s.: interval contains 0)', fontsize=9)
    fig.suptitle('Roadmap: step-by-step gains (paper) beside the suite\'s ablation runs', fontsize=11)
    fig.tight_layout()
    paths = _save(fig, out_dir, 'fig3_roadmap')
    plt.close(fig)
    return paths


def deploy_pareto(points: list[dict], front: list[dict], out_dir: str, name: str = 'table13_pareto') -> list[str]:
    """Table 13's figure (not in the paper): AP vs latency per backend x precision of the trained size, the
    Pareto front joined; gate failures drawn hollow at their AP without a latency (they are not timed, so at
    the right edge). `points` / `front` as rtmpose.reports.build.deploy_points / pareto_front give them."""
    plt = _plt()
    with_ap = [p for p in points if p['ap'] is not None]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if not with_ap:
        ax.text(0.5, 0.5, 'no deploy accuracy measured yet (rtmpose deploy --params params.yaml)',
                ha='center', va='center', transform=ax.transAxes)
    timed = [p for p in with_ap if p['latency_ms'] is not None]
    right = max([p['latency_ms'] for p in timed], default=1.0) * 1.15
    markers = {'fp32': 'o', 'fp16': 's', 'bf16': 'D', 'int8': '^', 'mixed': 'v'}
    colors = {'onnxruntime': '#1f77b4', 'openvino': '#2ca02c', 'ncnn': '#ff7f0e', 'torch': '#7f7f7f'}
    for p in with_ap:
        x = p['latency_ms'] if p['latency_ms'] is not None else right
        style = dict(marker=markers.get(p['precision'], 'o'), s=50)
        c = colors.get(p['backend'], '#9467bd')
        if p['latency_ms'] is None:
            ax.scatter([x], [p['ap']], facecolors='none', edgecolors=c, **style)
        else:
            ax.scatter([x], [p['ap']], color=c, **style)
        ax.annotate(f'{p["backend"]} {p["precision"]}', (x, p['ap']), fontsize=7, xytext=(4, 3),
                    textcoords='offset points')
    f = sorted(front, key=lambda p: p['latency_ms'])
    if f:
        ax.plot([p['latency_ms'] for p in f], [p['ap'] for p in f], '--', color='#d62728', lw=1.2,
                label='Pareto front (gate passed)')
        ax.legend(loc='lower right', fontsize=8)
    model = with_ap[0]['model'] if with_ap else ''
    ax.set_xlabel('latency ms (batch 1, 1 thread; hollow: failed the gate, not timed)')
    ax.set_ylabel('AP (val)')
    ax.set_title(f'Not in the paper: {model} deployment speed vs accuracy on this machine', fontsize=10)
    ax.grid(alpha=0.3)
    paths = _save(fig, out_dir, name)
    plt.close(fig)
    return paths
