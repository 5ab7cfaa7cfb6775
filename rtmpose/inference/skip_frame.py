"""The skip-frame report: what detecting every K frames buys (milliseconds per frame) and costs (pose AP, box
AP, identities) on a video with ground truth, from the metrics of `rtmpose demo --ground-truth` with several
detection intervals (rtmpose.inference.video_metrics).

Writes into the report folder: skip_frame.csv (one row per K, intervals as columns), skip_frame.png and .svg
(AP and ms/frame against K, 95% intervals as error bars) and skip_frame.md (the table and what the default K
buys and costs against the first K given, K = 1 in the stage). The drawn frames are written by the demo itself
(`frame_<index>.png`; rtmpose demo copies three into `<report>/frames/`, with the metrics as
`<report>/video_metrics.json`).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

COLUMNS = ('det_interval', 'frames', 'detector_runs', 'people_per_frame', 'gt_people_per_frame', 'pose_AP',
           'pose_AP_ci_lo', 'pose_AP_ci_hi', 'delta_AP', 'delta_ci_lo', 'delta_ci_hi', 'box_AP', 'box_AP_ci_lo',
           'box_AP_ci_hi', 'mota', 'idf1', 'id_switches', 'ms_mean', 'ms_ci_lo', 'ms_ci_hi', 'ms_median',
           'mota_box')


def snapshot_frames(coco: Mapping, n_frames: int, count: int = 3) -> list[int]:
    """`count` frame indices worth looking at: the most people in view, at least n_frames / (2 count) apart."""
    per_frame = [0] * n_frames
    index = {im['id']: im.get('frame_index') for im in coco.get('images', [])}
    for a in coco.get('annotations', []):
        f = index.get(a['image_id'])
        if f is not None and f < n_frames:
            per_frame[f] += 1
    gap = max(1, n_frames // (2 * count))
    chosen: list[int] = []
    for f in sorted(range(n_frames), key=lambda i: (-per_frame[i], i)):
        if all(abs(f - c) >= gap for c in chosen):
            chosen.append(f)
        if len(chosen) == count:
            break
    return sorted(chosen)


def rows_of(entries: Sequence[Mapping]) -> list[dict]:
    rows = []
    for e in entries:
        ms, d = e.get('ms_per_frame') or {}, e['delta_pose_AP']
        rows.append({'det_interval': e['det_interval'], 'frames': e['frames'], 'detector_runs': e['detector_runs'],
                     'people_per_frame': e['people_per_frame'], 'gt_people_per_frame': e['gt_people_per_frame'],
                     'pose_AP': e['pose_AP'], 'pose_AP_ci_lo': e['pose_AP_ci95'][0],
                     'pose_AP_ci_hi': e['pose_AP_ci95'][1], 'delta_AP': d['value'], 'delta_ci_lo': d['ci95'][0],
                     'delta_ci_hi': d['ci95'][1], 'box_AP': e['box_AP'], 'box_AP_ci_lo': e['box_AP_ci95'][0],
                     'box_AP_ci_hi': e['box_AP_ci95'][1], 'mota': e['mot']['mota'], 'idf1': e['mot']['idf1'],
                     'id_switches': e['mot']['num_switches'], 'ms_mean': ms.get('mean', ''),
                     'ms_ci_lo': (ms.get('ci95') or ['', ''])[0], 'ms_ci_hi': (ms.get('ci95') or ['', ''])[1],
                     'ms_median': ms.get('median', ''), 'mota_box': (e.get('mot_box') or {}).get('mota', '')})
    return rows


def summary_markdown(metrics: Mapping, default_k: int) -> str:
    rows = rows_of(metrics['entries'])
    ref = rows[0]
    models = metrics.get('models', {})
    lines = [
        '# Skip-frame detection on the synthetic video',
        '',
        f'Video: `{metrics["video"]}` ({ref["frames"]} frames, {ref["gt_people_per_frame"]:.2f} people per frame '
        f'in the ground truth `{metrics["ground_truth"]}`). Pipeline: {models.get("det_model")} '
        f'({models.get("weights")}) + {models.get("pose_model")} on {models.get("backend")}, '
        f'{models.get("threads")} thread(s); {metrics.get("timing", "")}.',
        '',
        'The detector runs on every K-th frame; in between, each person is cropped with the box of its last pose '
        '(paper Sec. 3.5, after BlazePose). Pose AP: COCO keypoint AP over all frames of the people the pipeline '
        'reports. MOTA, IDF1 and identity switches: CLEAR-MOT of the tracked poses, a person matched when its OKS '
        'with a ground-truth person is at least 0.5. Box AP and box MOTA: the same people\'s pose-derived boxes '
        '(keypoint extent) against the figures\' drawn extent at IoU 0.5, low by construction (compare them '
        'across K only). ms/frame: the whole tracker call. Brackets: 95% moving-block bootstrap intervals over '
        f'frames (blocks of 1 s); ΔAP is paired against K = {ref["det_interval"]} on the same resamples.',
        '',
        '| K | detector runs | people/frame | pose AP | ΔAP vs K=' + str(ref['det_interval']) +
        ' | MOTA | IDF1 | ID switches | box AP | box MOTA | ms/frame (mean) | median |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for r in rows:
        ms = (f'{r["ms_mean"]:.2f} [{r["ms_ci_lo"]:.2f}, {r["ms_ci_hi"]:.2f}]' if r['ms_mean'] != '' else
              'not measured')
        med = f'{r["ms_median"]:.2f}' if r['ms_median'] != '' else ''
        box_mota = f'{r["mota_box"]:.3f}' if r['mota_box'] != '' else ''
        lines.append(
            f'| {r["det_interval"]} | {r["detector_runs"]} | {r["people_per_frame"]:.2f} | '
            f'{100 * r["pose_AP"]:.1f} [{100 * r["pose_AP_ci_lo"]:.1f}, {100 * r["pose_AP_ci_hi"]:.1f}] | '
            f'{100 * r["delta_AP"]:+.1f} [{100 * r["delta_ci_lo"]:+.1f}, {100 * r["delta_ci_hi"]:+.1f}] | '
            f'{r["mota"]:.3f} | {r["idf1"]:.3f} | {r["id_switches"]} | '
            f'{100 * r["box_AP"]:.1f} [{100 * r["box_AP_ci_lo"]:.1f}, {100 * r["box_AP_ci_hi"]:.1f}] | '
            f'{box_mota} | {ms} | {med} |')
    lines += ['', verdict(rows, default_k), '']
    stills = metrics.get('stills_reference')
    if stills:
        lines += [stills_markdown(stills, rows[0]), '']
    return '\n'.join(lines)


def stills_markdown(stills: Mapping, ref: Mapping) -> str:
    """What the pipeline's pose AP is made of: the video's own frames scored as still images (`rtmpose
    pipeline-accuracy --data-dir` on the video's frames: top-down with ground-truth boxes, then with the
    detector's boxes, the eval protocol), beside the pipeline at the first K."""
    gt, det, box = stills['gt_boxes'], stills['detector_boxes'], stills['box_AP']
    d, data = stills['delta_AP'], stills.get('data', "the video's frames")

    def ap(x):
        return f'{100 * x["AP"]:.1f} [{100 * x["AP_ci"][0]:.1f}, {100 * x["AP_ci"][1]:.1f}]'
    return '\n'.join([
        '## The same frames as still images',
        '',
        f'Each frame scored on its own (`{data}`, JPEG as the data set\'s '
        'images): the eval protocol (flip test, all detections with OKS-NMS and rescoring) in PyTorch, no '
        'tracker. It separates what the video costs from what the detector and the tracker cost.',
        '',
        '| on the video\'s frames | pose AP |',
        '|---|---|',
        f'| ground-truth boxes | {ap(gt)} |',
        f'| the detector\'s boxes (box AP {100 * box["AP"]:.1f} '
        f'[{100 * box.get("AP_ci_low", float("nan")):.1f}, {100 * box.get("AP_ci_high", float("nan")):.1f}]) | '
        f'{ap(det)}; {100 * d["value"]:+.1f} [{100 * d["ci95"][0]:+.1f}, {100 * d["ci95"][1]:+.1f}] paired |',
        f'| the pipeline, K = {ref["det_interval"]} (tracker crops, its thresholds and smoothing, no flip) | '
        f'{100 * ref["pose_AP"]:.1f} [{100 * ref["pose_AP_ci_lo"]:.1f}, {100 * ref["pose_AP_ci_hi"]:.1f}] |',
        '',
        'Intervals of the first two rows: bootstrap over single frames (rtmpose pipeline-accuracy), narrower '
        'than the moving-block intervals above would be. Set the ground-truth-box row against the data set\'s '
        'val images (`reports/pipeline/accuracy.json`): what separates them is the video itself, whose occluders '
        'stand in the walkers\' path for the whole video and whose people enter and leave at the edges, so more '
        'keypoints are covered or cut off.',
    ])


def verdict(rows: Sequence[Mapping], default_k: int) -> str:
    """One paragraph: what the default K buys (time) and costs (AP, identities) against the first K."""
    ref = rows[0]
    row = next((r for r in rows if r['det_interval'] == default_k), None)
    if row is None or row is ref:
        return (f'The pipeline\'s default K = {default_k} was not among the intervals measured against a '
                'smaller one: no verdict.')
    parts = [f'**What K = {default_k} (params.yaml `pipeline.det_interval`) buys and costs against K = '
             f'{ref["det_interval"]}:** the detector runs on {row["detector_runs"]} of {row["frames"]} frames '
             f'instead of {ref["detector_runs"]}.']
    if ref['ms_mean'] != '' and row['ms_mean'] != '':
        saved = ref['ms_mean'] - row['ms_mean']
        parts.append(f'Mean time per frame {ref["ms_mean"]:.2f} -> {row["ms_mean"]:.2f} ms ({saved:+.2f} ms saved, '
                     f'{100 * saved / ref["ms_mean"]:.0f}%; intervals in the table, same run, same machine).')
    lo, hi = row['delta_ci_lo'], row['delta_ci_hi']
    if lo > 0:
        effect = 'higher, and the paired interval excludes zero'
    elif hi < 0:
        effect = 'lower, and the paired interval excludes zero'
    else:
        effect = 'not distinguishable from zero (the paired interval contains it)'
    parts.append(f'Pose AP changes by {100 * row["delta_AP"]:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] points: '
                 f'{effect}. Identity switches {ref["id_switches"]} -> {row["id_switches"]}, MOTA '
                 f'{ref["mota"]:.3f} -> {row["mota"]:.3f}. People who enter between two detections are '
                 'found only at the next detection, which is what a larger K costs in misses.')
    return ' '.join(parts)


def plot(rows: Sequence[Mapping], png: Path, default_k: int, stills: Mapping | None = None) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    ks = [r['det_interval'] for r in rows]
    fig, (ax_ap, ax_ms) = plt.subplots(1, 2, figsize=(9, 3.6))
    for key, label, marker in (('pose_AP', 'pose AP', 'o'), ('box_AP', 'box AP', 's')):
        y = [100 * r[key] for r in rows]
        err = [[100 * (r[key] - r[f'{key}_ci_lo']) for r in rows], [100 * (r[f'{key}_ci_hi'] - r[key]) for r in rows]]
        ax_ap.errorbar(ks, y, yerr=err, marker=marker, capsize=3, label=label)
    if stills:
        for key, label, style in (('gt_boxes', 'frames as stills, GT boxes', '--'),
                                  ('detector_boxes', 'frames as stills, detector boxes', ':')):
            ax_ap.axhline(100 * stills[key]['AP'], color='0.4', linestyle=style, linewidth=1, label=label)
    ax_ap.set_xlabel('detection interval K (frames)')
    ax_ap.set_ylabel('AP over all frames')
    ax_ap.legend(fontsize=7)
    timed = [r for r in rows if r['ms_mean'] != '']
    if timed:
        ax_ms.errorbar([r['det_interval'] for r in timed], [r['ms_mean'] for r in timed],
                       yerr=[[r['ms_mean'] - r['ms_ci_lo'] for r in timed], [r['ms_ci_hi'] - r['ms_mean'] for r in timed]],
                       marker='o', capsize=3, color='C2')
    ax_ms.set_xlabel('detection interval K (frames)')
    ax_ms.set_ylabel('ms per frame (mean, 95% CI)')
    for ax in (ax_ap, ax_ms):
        ax.set_xscale('log')
        ax.set_xticks(ks)
        ax.set_xticklabels([str(k) for k in ks])
        ax.axvline(default_k, color='0.7', linestyle=':', linewidth=1)
        ax.grid(alpha=0.3)
    fig.suptitle('Skip-frame detection: accuracy and time per frame against K')
    fig.tight_layout()
    from rtmpose.io import write_figures
    write_figures(fig, png.with_suffix(''), dpi=120, tight=False)
    plt.close(fig)


def write_report(metrics: Mapping, report_dir: str | os.PathLike, default_k: int) -> list[Path]:
    """skip_frame.csv, .md, .png and .svg in `report_dir`; returns their paths."""
    from rtmpose.io import write_csv_atomic, write_text_atomic
    out = Path(report_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = rows_of(metrics['entries'])
    write_csv_atomic(out / 'skip_frame.csv', rows, COLUMNS, float_format='.4f')
    write_text_atomic(out / 'skip_frame.md', summary_markdown(metrics, default_k))
    plot(rows, out / 'skip_frame.png', default_k, metrics.get('stills_reference'))
    return [out / f'skip_frame{s}' for s in ('.csv', '.md', '.png', '.svg')]
