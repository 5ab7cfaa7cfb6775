"""`rtmpose bench --sweep people|batch|threads`: how latency scales, each sweep interleaved within itself.

- people: the top-down pose stage of one frame with 1..12 people (rtmpose.inference.synthetic frames and their
  boxes), two ways: `batched` (every crop in one backend call, rtmpose.inference.pose.PoseEstimator) and
  `per-crop` (crop, run at batch 1 and decode person by person, the way rtmlib's top-down loop runs it), on a
  dynamic-batch export, at each of `sweep_people_threads` (default: 1 and all cores). Writes
  sweep_people.csv, sweep_people.png/.svg (latency vs people, one line per mode and thread count) and
  sweep_people.md with the paper's "real time within 6 persons" as a measured sentence per model.
- batch: the model span at batch 1, 2, 4, 8 (dynamic-batch export): latency per call and per image.
- threads: the whole `rtmpose bench` at threads 1..all cores, written to <out>/sweep-threads/.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from rtmpose.errors import Error
from rtmpose.harness.bench import BenchConfig, thread_counts
from rtmpose.harness.timing import summarize_timing, time_interleaved

SWEEPS = ('people', 'batch', 'threads')
PEOPLE_FIELDS = ['model', 'backend', 'precision', 'threads', 'mode', 'people', 'median_ms', 'median_ci_lo_ms',
                 'median_ci_hi_ms', 'mean_ms', 'p90_ms', 'min_ms', 'iqr_rel', 'drift', 'cold_ms', 'cores_used',
                 'cores_warn', 'fps', 'ms_per_person', 'runs', 'export_key']
BATCH_FIELDS = ['model', 'backend', 'precision', 'threads', 'batch', 'median_ms', 'median_ci_lo_ms', 'median_ci_hi_ms',
                'mean_ms', 'p90_ms', 'min_ms', 'iqr_rel', 'drift', 'cold_ms', 'cores_used', 'cores_warn',
                'ms_per_image', 'images_per_s', 'speedup_per_image_vs_b1', 'runs', 'export_key']
STATS = ('median_ms', 'median_ci_lo_ms', 'median_ci_hi_ms', 'mean_ms', 'p90_ms', 'min_ms', 'iqr_rel', 'drift',
         'cold_ms', 'cores_used', 'cores_warn')


def all_cores() -> int:
    from rtmpose.system import usable_cores
    return usable_cores()


def _threads(values: list[int | str]) -> list[int]:
    """Thread counts of a sweep (`all` / 0: every usable core); empty: 1 and all cores."""
    return thread_counts(values) if values else sorted({1, all_cores()})


def _stats(t, threads, cfg: BenchConfig) -> dict[str, Any]:
    s = summarize_timing(t, threads, iqr_warn=cfg.iqr_warn, drift_warn=cfg.drift_warn,
                         tail_min_count=cfg.tail_min_count, bootstrap=cfg.bootstrap)
    return {k: s[k] for k in STATS}


def _open(model: str, backend: str, precision: str, threads: int, cfg: BenchConfig):
    from rtmpose.deploy.package import ExportSpec, open_export
    record, source, runner = open_export(ExportSpec(model, backend, precision, seed=cfg.seed, dynamic_batch=True),
                                         cfg.sweep_exports, threads)
    if runner is None:
        raise Error(f'{record["key"]} failed its accuracy gate: not timed')
    return record, source, runner


# ---------------------------------------------------------------- people per frame
def people_frame(people: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from rtmpose.inference.synthetic import make_video
    v = make_video(n_frames=1, n_people=people, size=(640, 480), seed=seed)
    return v.frames[0], np.asarray(v.boxes[0], np.float32)


def sweep_people(cfg: BenchConfig, progress: bool = True) -> list[dict[str, Any]]:
    from rtmpose.inference.pose import PoseEstimator
    rows = []
    backend, precision = cfg.sweep_people_backend, 'fp32'
    frames = {n: people_frame(n, cfg.seed) for n in cfg.sweep_people}
    for model in cfg.sweep_people_models:
        # every thread count, mode and people count of one model takes turns in one interleaved run, so a
        # slow phase of a shared machine hits 1 thread and all cores alike
        fns, syncs, keys = {}, {}, {}
        for threads in _threads(cfg.sweep_people_threads):
            record, source, runner = _open(model, backend, precision, threads, cfg)
            est = PoseEstimator(runner, source.input_size, source.module.codec())
            keys[threads] = record['key']
            for n, (frame, boxes) in frames.items():
                fns[(threads, 'batched', n)] = (lambda f=frame, b=boxes, e=est: e(f, b))
                fns[(threads, 'per-crop', n)] = (lambda f=frame, b=boxes, e=est: [e(f, b[i:i + 1])
                                                                                   for i in range(len(b))])
                syncs[(threads, 'batched', n)] = syncs[(threads, 'per-crop', n)] = runner.sync
        timings = time_interleaved(fns, cfg.sweep_warmup, cfg.sweep_runs, cfg.block, syncs, progress=progress)
        for (threads, mode, n), t in timings.items():
            s = _stats(t, threads, cfg)
            rows.append(dict(model=model, backend=backend, precision=precision, threads=threads, mode=mode,
                             people=n, fps=1e3 / s['median_ms'], ms_per_person=s['median_ms'] / n,
                             runs=cfg.sweep_runs, export_key=keys[threads], **s))
    rows.sort(key=lambda r: (r['model'], r['threads'], r['mode'], r['people']))
    return rows


def realtime_sentences(rows: list[dict[str, Any]], people: int = 6, fps: float = 30.0) -> list[str]:
    """The paper's "real time within 6 persons", measured: one sentence per model, thread count and mode."""
    out = []
    for r in rows:
        if r['people'] != people:
            continue
        verdict = 'real time' if r['fps'] >= fps else 'not real time'
        out.append(f"{r['model']}: {people} people in {r['median_ms']:.1f} ms per frame "
                   f"[95% CI {r['median_ci_lo_ms']:.1f}, {r['median_ci_hi_ms']:.1f}] = {r['fps']:.1f} FPS at "
                   f"{r['threads']} thread{'s' if r['threads'] > 1 else ''}, {r['mode']} ({verdict} at {fps:.0f} FPS)")
    for model in dict.fromkeys(r['model'] for r in rows):
        for threads in dict.fromkeys(r['threads'] for r in rows if r['model'] == model):
            swept = sorted((r for r in rows if r['model'] == model and r['threads'] == threads
                            and r['mode'] == 'batched'), key=lambda r: r['people'])
            most = 0
            for r in swept:          # the largest count up to which every swept count is real time
                if r['fps'] < fps:
                    break
                most = r['people']
            thr = f"{threads} thread{'s' if threads > 1 else ''}"
            out.append(f"{model}, {thr}, batched: real time ({fps:.0f} FPS) up to {most} "
                       f"{'person' if most == 1 else 'people'} per frame"
                       if most else f'{model}, {thr}, batched: below {fps:.0f} FPS already with '
                       f"{swept[0]['people']} {'person' if swept[0]['people'] == 1 else 'people'}")
    return out


def people_ratios(rows: list[dict[str, Any]], people: int = 6) -> list[str]:
    out = []
    idx = {(r['model'], r['threads'], r['mode'], r['people']): r for r in rows}
    for (m, t, mode, n), r in idx.items():
        if mode == 'batched' and n == people and (m, t, 'per-crop', n) in idx:
            p = idx[(m, t, 'per-crop', n)]
            out.append(f"{m}, {t} thread{'s' if t > 1 else ''}, {n} people: per-crop / batched median = "
                       f"{p['median_ms'] / r['median_ms']:.2f}x ({p['median_ms']:.1f} / {r['median_ms']:.1f} ms)")
    return out


def plot_people(rows: list[dict[str, Any]], stem: Path, fps: float) -> list[str]:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    plt.rcParams['svg.hashsalt'] = 'rtmpose'
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for key in dict.fromkeys((r['model'], r['threads'], r['mode']) for r in rows):
        pts = [r for r in rows if (r['model'], r['threads'], r['mode']) == key]
        x = [r['people'] for r in pts]
        y = np.array([r['median_ms'] for r in pts])
        lo = y - np.array([r['median_ci_lo_ms'] for r in pts])
        hi = np.array([r['median_ci_hi_ms'] for r in pts]) - y
        ax.errorbar(x, y, yerr=[lo, hi], marker='o' if key[2] == 'batched' else 's', capsize=2,
                    linestyle='-' if key[2] == 'batched' else '--',
                    label=f'{key[0]} {key[2]}, {key[1]} thr')
    ax.axhline(1e3 / fps, color='grey', linewidth=0.8, linestyle=':', label=f'{fps:.0f} FPS')
    ax.set_xlabel('people per frame')
    ax.set_ylabel('pose stage latency per frame (ms, median, 95% CI)')
    ax.set_title('Top-down pose stage vs people per frame')
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    from rtmpose.io import write_figures
    paths = write_figures(fig, stem)
    plt.close(fig)
    return paths


def people_markdown(rows, cfg: BenchConfig) -> str:
    from rtmpose.system import describe_machine
    m = describe_machine()
    lines = ['# Top-down pose stage vs people per frame', '',
             f'Machine: {m["cpu"]}, {m["logical_cores"]} logical cores. Backend {cfg.sweep_people_backend}, fp32, '
             f'dynamic-batch export, seeded random weights. {cfg.sweep_warmup} warm-up + {cfg.sweep_runs} timed runs '
             f'per point, all points of a model (every thread count, mode and people count) interleaved in blocks '
             f'of {cfg.block}. Span: crop every '
             'person from the 640x480 frame, normalise, network, SimCC decode, map back. `batched`: one call for '
             'all crops; `per-crop`: crop, call and decode one person at a time (rtmlib\'s loop). '
             f'Real time = at least {cfg.realtime_fps:.0f} FPS of the pose stage alone (no detector).', '',
             '## Measured statements', '']
    lines += [f'- {s}' for s in realtime_sentences(rows, 6, cfg.realtime_fps)]
    lines += ['', '## Per-crop / batched at 6 people', '']
    lines += [f'- {s}' for s in people_ratios(rows, 6)]
    lines += ['', '![latency vs people](sweep_people.svg)', '',
              '| model | thr | mode | people | median ms [95% CI] | FPS | ms / person | cores |',
              '|---|---|---|---|---|---|---|---|']
    lines += [f"| {r['model']} | {r['threads']} | {r['mode']} | {r['people']} | {r['median_ms']:.2f} "
              f"[{r['median_ci_lo_ms']:.2f}, {r['median_ci_hi_ms']:.2f}] | {r['fps']:.1f} | {r['ms_per_person']:.2f} | "
              f"{r['cores_used']:.2f}{' (!)' if r['cores_warn'] else ''} |" for r in rows]
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------- batch
def sweep_batch(cfg: BenchConfig, progress: bool = True) -> list[dict[str, Any]]:
    rows = []
    for model in cfg.models:
        for backend in cfg.sweep_batch_backends:
            for threads in cfg.thread_counts():
                try:
                    record, source, runner = _open(model, backend, 'fp32', threads, cfg)
                except Error as e:
                    rows.append(dict(model=model, backend=backend, precision='fp32', threads=threads,
                                     batch='', export_key=f'not run: {e}'))
                    continue
                w, h = source.input_size
                rng = np.random.default_rng(cfg.seed)
                xs = {b: rng.standard_normal((b, 3, h, w)).astype(np.float32) for b in cfg.sweep_batches}
                timings = time_interleaved({b: (lambda x=x: runner(x)) for b, x in xs.items()}, cfg.sweep_warmup,
                                           cfg.sweep_runs, cfg.block, {b: runner.sync for b in xs}, progress=progress)
                base = None
                for b, t in timings.items():
                    s = _stats(t, threads, cfg)
                    per = s['median_ms'] / b
                    base = per if b == 1 else base
                    rows.append(dict(model=model, backend=backend, precision='fp32', threads=threads, batch=b,
                                     ms_per_image=per, images_per_s=1e3 / per,
                                     speedup_per_image_vs_b1=(base / per) if base else '', runs=cfg.sweep_runs,
                                     export_key=record['key'], **s))
    return rows


# ---------------------------------------------------------------- the command
def sweep_command(cfg: BenchConfig, which: str, progress: bool = True) -> int:
    from rtmpose.io import folder_locks
    if which not in SWEEPS:
        raise Error(f'unknown sweep {which!r}; choose from: {", ".join(SWEEPS)}')
    with folder_locks([cfg.out, cfg.sweep_exports], 'sweep folder'):
        return _sweep(cfg, which, progress)


def _sweep(cfg: BenchConfig, which: str, progress: bool) -> int:
    from rtmpose.io import write_csv_atomic, write_text_atomic
    out = Path(cfg.out)
    if which == 'threads':
        from rtmpose.harness.bench import bench_command
        sub = replace(cfg, threads=thread_counts(cfg.sweep_threads) if cfg.sweep_threads
                      else list(range(1, all_cores() + 1)),
                      out=str(out / 'sweep-threads'), external=[])
        return bench_command(sub)
    if which == 'batch':
        rows = sweep_batch(cfg, progress)
        write_csv_atomic(out / 'sweep_batch.csv', rows, BATCH_FIELDS)
        for r in rows:
            if r.get('batch') != '':
                print(f"{r['model']} {r['backend']} t{r['threads']} batch {r['batch']}: {r['median_ms']:.2f} ms/call, "
                      f"{r['ms_per_image']:.2f} ms/image")
        print(f'wrote {out}/sweep_batch.csv')
        return 0
    rows = sweep_people(cfg, progress)
    write_csv_atomic(out / 'sweep_people.csv', rows, PEOPLE_FIELDS)
    plot_people(rows, out / 'sweep_people', cfg.realtime_fps)
    write_text_atomic(out / 'sweep_people.md', people_markdown(rows, cfg))
    if cfg.mlflow:
        _log_people(rows, cfg)
    for s in realtime_sentences(rows, 6, cfg.realtime_fps) + people_ratios(rows, 6):
        print(s)
    print(f'wrote {out}/sweep_people.csv, sweep_people.md, sweep_people.png/.svg')
    return 0


def _log_people(rows, cfg: BenchConfig) -> None:
    from rtmpose.mlflow_log import start_run
    for r in rows:
        name = f"{r['model']}/{r['backend']}/t{r['threads']}/{r['mode']}/{r['people']}p"
        with start_run('bench-people', name, params={k: r[k] for k in ('model', 'backend', 'threads', 'mode',
                                                                       'people', 'runs', 'export_key')}) as run:
            run.log_metrics({k: float(r[k]) for k in ('median_ms', 'median_ci_lo_ms', 'median_ci_hi_ms', 'mean_ms',
                                                       'p90_ms', 'fps', 'cores_used') if r[k] == r[k]})
