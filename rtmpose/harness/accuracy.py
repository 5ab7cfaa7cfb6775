"""The `deploy` stage: the trained model through every backend x precision, accuracy as COCO AP on the val
set, the AP change against PyTorch fp32 with a paired bootstrap interval, a gate on it, the latency of what
passed, and the AP cost of each inference-side choice on which mmpose, its deployment SDK and rtmlib differ.

    rtmpose deploy --params params.yaml        (DVC stage `deploy`)

Outputs (params.yaml `deploy.out`): accuracy.csv (one row per backend x precision), choices.csv (one row per
inference-side choice), summary.md, and an MLflow run in experiment `deploy`.

AP interval: paired bootstrap over images. COCOeval's per-image matching (evaluate()) is run once per
configuration; each resample draws images with replacement and recomputes COCO AP exactly as
COCOeval.accumulate does (area all, maxDets 20, 10 OKS thresholds x 101 recall points) over the drawn
images, for the reference and the configuration with the same draw. So every resample is pycocotools' AP of
that multiset of images, at a fraction of the cost of re-running COCOeval.

Gate: an artifact passes when the file as it is now passes the raw-output gate (rtmpose.deploy.gate, re-run
here on held-out val crops) and the lower end of its delta-AP interval is >= -tolerance_ap. Only passing artifacts are timed.
"""
from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rtmpose.errors import Error

ACCURACY_FIELDS = ('model', 'input', 'backend', 'precision', 'executed_precision', 'artifact', 'AP', 'delta_AP',
                   'delta_ci_low', 'delta_ci_high', 'delta_ci_half_width',
                   'kpt_err_px_median', 'kpt_err_px_p95', 'latency_ms_median', 'threads', 'gate', 'reason')
CHOICE_FIELDS = ('choice', 'default', 'alternative', 'AP_default', 'AP_alternative', 'delta_AP', 'delta_ci_low',
                 'delta_ci_high', 'note')


@dataclass
class DeploySettings:
    """params.yaml `deploy`: what the deploy stage exports, evaluates and times."""
    checkpoint: str | None = None            # the `train` stage's final.pth
    model: str = 'rtmpose-t'
    dataset: str = 'synthetic'
    data_dir: str | None = None              # prepared data set: val split for AP, train split for calibration
    split: str = 'val'
    calibration_split: str = 'train'
    calibration_count: int = 64
    targets: list[str] = field(default_factory=lambda: [
        'onnxruntime:fp32', 'onnxruntime:int8', 'onnxruntime:mixed', 'openvino:fp32', 'openvino:fp16',
        'openvino:bf16', 'openvino:int8', 'openvino:mixed', 'ncnn:fp32', 'ncnn:fp16', 'ncnn:int8'])
    tolerance_ap: float = 0.02               # gate: delta_ci_low >= -tolerance_ap (AP in [0, 1])
    bootstrap: int = 1000
    seed: int = 0
    threads: int = 1
    warmup: int = 20
    runs: int = 100
    flip_test: bool = True
    nms_thr: float | None = 0.9
    keypoint_score_thr: float = 0.2
    bbox_file: str | None = None             # detector boxes (COCO results) for the GT-vs-detector choice
    choices: bool = True
    exports: str = 'harness/deploy-exports'
    out: str = 'reports/deploy'

    def validate(self, where: str) -> None:
        for name in ('threads', 'runs', 'bootstrap', 'calibration_count'):
            if getattr(self, name) < 1:
                raise Error(f'{where}: {name} must be >= 1, got {getattr(self, name)}')
        if self.tolerance_ap < 0:
            raise Error(f'{where}: tolerance_ap must be >= 0')
        from rtmpose.deploy.backends import PRECISIONS, backend
        for t in self.targets:
            b, _, p = t.partition(':')
            try:
                backend(b)
            except Error as e:
                raise Error(f'{where}: targets: {e}') from None
            if p not in PRECISIONS:
                raise Error(f'{where}: targets: {t!r}: precision must be one of {", ".join(PRECISIONS)}')


# COCO AP per image and its paired bootstrap: rtmpose.evaluation.per_image
from rtmpose.evaluation.per_image import ImageEval, PairedBootstrap, image_eval, paired_delta  # noqa: E402,F401


# ---------------------------------------------------------------- predictions of one configuration
@dataclass
class Setup:
    template: torch.nn.Module        # the trained PyTorch model
    ann: str
    root: str
    gt: dict
    meta: Any


def _setup(s: DeploySettings) -> Setup:
    from rtmpose.data.meta import get_meta
    from rtmpose.data.prepared import prepared_split
    from rtmpose.deploy.package import build_source
    from rtmpose.io import read_json
    if not s.checkpoint or not os.path.isfile(s.checkpoint):
        raise Error(f'{s.checkpoint}: trained checkpoint not found (run the `train` stage first)')
    if not s.data_dir:
        raise Error('deploy: no data_dir (params.yaml deploy.data_dir)')
    ann, root = prepared_split(s.data_dir, s.split)
    src = build_source(s.model, s.checkpoint)
    return Setup(src.module, ann, root, read_json(ann, 'annotation file'), get_meta(s.dataset))


class _Variant(torch.nn.Module):
    """The model with an inference-side choice changed: input channel order swapped (a BGR image fed to an
    RGB model), or the keypoint score as the mean of the two SimCC maxima (rtmlib) instead of the min."""

    def __init__(self, model: torch.nn.Module, swap_channels: bool = False, mean_score: bool = False):
        super().__init__()
        self.model, self.swap, self.mean_score = model, swap_channels, mean_score
        self.config = model.config

    def codec(self):
        base = self.model.codec()
        if not self.mean_score:
            return base

        class MeanScore:
            def __getattr__(self, name):
                return getattr(base, name)

            def decode(self, sx, sy):
                locs, _ = base.decode(sx, sy)
                sx, sy = np.asarray(sx), np.asarray(sy)
                scores = 0.5 * (sx.max(-1) + sy.max(-1))          # rtmlib get_simcc_maximum
                locs[scores <= 0.0] = -1.0 / base.split_ratio
                return locs, scores
        return MeanScore()

    def forward(self, x):
        if self.swap:
            from rtmpose.models.rtmpose import MEAN, STD
            mean = torch.tensor(MEAN, dtype=x.dtype).view(1, 3, 1, 1)
            std = torch.tensor(STD, dtype=x.dtype).view(1, 3, 1, 1)
            raw = x * std + mean                                   # back to RGB pixel values
            x = (raw.flip(1) - mean) / std                         # BGR pixels normalised as if RGB
        return self.model(x)


def predictions(st: Setup, model: torch.nn.Module, s: DeploySettings, flip_test: bool | None = None,
                padding: float | None = None, bbox_file: str | None = None, desc: str = 'eval'):
    """(Predictions, COCO results) of `model` on the val split, the evaluation code path of `rtmpose eval`."""
    from torch.utils.data import DataLoader

    from rtmpose.data.collate import collate
    from rtmpose.data.dataset import TopDownDataset
    from rtmpose.evaluation.coco import results_list
    from rtmpose.evaluation.predict import predict
    from rtmpose.evaluation.runner import _input_boxes
    from rtmpose.topdown import BBOX_PADDING
    ds = TopDownDataset(st.ann, st.root, model.codec(), st.meta, train=False, bbox_file=bbox_file,
                        bbox_padding=BBOX_PADDING if padding is None else padding)
    loader = DataLoader(ds, batch_size=32, shuffle=False, num_workers=0, collate_fn=collate)
    pred = predict(model, loader, st.meta.flip_indices, s.flip_test if flip_test is None else flip_test, 'cpu',
                   progress=sys.stderr.isatty(), desc=desc)
    boxes = _input_boxes(ds)
    if boxes is not None and len(boxes) == len(pred.image_ids):
        pred.bboxes = boxes
    return pred, results_list(pred, st.meta.sigmas, 'bbox_keypoint', s.keypoint_score_thr, s.nms_thr)


def keypoint_error(ref, alt) -> tuple[float, float]:
    """(median, p95) of the per-keypoint distance in image pixels between two predictions of the same
    instances (same loader order)."""
    if not np.array_equal(ref.instance_ids, alt.instance_ids):
        raise Error('keypoint error: the predictions cover different instances')
    d = np.linalg.norm(alt.keypoints - ref.keypoints, axis=-1).reshape(-1)
    return float(np.median(d)), float(np.percentile(d, 95))


# ---------------------------------------------------------------- the stage
def _latency(runner, input_size, s: DeploySettings) -> float:
    from rtmpose.harness.timing import measure
    w, h = input_size
    x = np.random.default_rng(0).standard_normal((1, 3, h, w)).astype(np.float32)
    return float(np.median(measure(lambda: runner(x), s.warmup, s.runs, runner.sync)))


def accuracy_rows(s: DeploySettings, st: Setup, ref_pred, boot: PairedBootstrap) -> list[dict]:
    from rtmpose.deploy import gate
    from rtmpose.deploy.artifact import RunnerModule
    from rtmpose.deploy.backends import backend
    from rtmpose.deploy.calibration import Calibration, gate_crops
    from rtmpose.deploy.package import ExportSpec, export, runner_for
    from rtmpose.deploy.runners import executed_precision
    cal = Calibration(s.data_dir, s.calibration_split, s.calibration_count, s.dataset)
    input_size = tuple(st.template.config.input_size)
    # the raw-output gate on held-out val crops: a calibrated int8 model is judged on data, not on noise
    gate_inputs = gate_crops(cal, input_size)
    rows = []
    for target in s.targets:
        b, _, p = target.partition(':')
        row = {'model': s.model, 'input': f'{input_size[1]}x{input_size[0]}', 'backend': b, 'precision': p,
               'threads': s.threads}
        try:
            rec = export(ExportSpec(s.model, b, p, checkpoint=s.checkpoint, calibration=cal), s.exports,
                         threads=s.threads, verbose=False)
        except Error as e:
            rows.append(row | {'artifact': '', 'gate': 'not exported', 'reason': str(e).splitlines()[0],
                               'latency_ms_median': 'not measured'})
            print(f'deploy: {target}: not exported: {e}', file=sys.stderr)
            continue
        artifact = Path(rec['dir']) / rec['main_file']
        row['artifact'] = os.path.relpath(artifact) if not os.path.relpath(artifact).startswith('..') else str(artifact)
        runner = runner_for(rec, s.threads)
        # the raw-output gate again, on the file as it is now (not the record written at export time)
        g = gate.check(runner, st.template, lambda sx, sy: st.template.codec().decode(sx, sy), input_size, p,
                       backend(b).tolerance(p), gate_inputs)
        row['executed_precision'] = executed_precision(runner)   # what the runtime ran (read back, or probed)
        pred, results = predictions(st, RunnerModule(runner, st.template), s, desc=target)
        ev = image_eval(st.gt, results, st.meta.sigmas)
        delta, lo, hi = boot.delta(ev)
        med, p95 = keypoint_error(ref_pred, pred)
        row.update(AP=ev.ap, delta_AP=delta, delta_ci_low=lo, delta_ci_high=hi, delta_ci_half_width=(hi - lo) / 2,
                   kpt_err_px_median=med,
                   kpt_err_px_p95=p95)
        reasons = []
        if not g.passed:
            reasons.append(f'output gate: rel. diff {g.rel_diff:.3g} (tol {g.tol_rel_diff:g}), keypoint shift '
                           f'{g.mean_kpt_px:.3g} px (tol {g.tol_mean_px:g})')
        if lo < -s.tolerance_ap:
            reasons.append(f'delta AP interval low {lo:+.4f} < -{s.tolerance_ap:g}')
        if reasons:
            row.update(gate='fail', reason='; '.join(reasons), latency_ms_median='not timed (failed the gate)')
        else:
            row.update(gate='pass', reason='', latency_ms_median=_latency(runner, input_size, s))
        print(f'deploy: {target}: AP {ev.ap:.4f} delta {delta:+.4f} [{lo:+.4f}, {hi:+.4f}] gate {row["gate"]}'
              f'{" (" + row["reason"] + ")" if reasons else ""}', file=sys.stderr)
        rows.append(row)
    return rows


def choice_rows(s: DeploySettings, st: Setup, boot: PairedBootstrap) -> list[dict]:
    """The AP change of each inference-side choice against the mmpose defaults (PyTorch fp32)."""
    m, ref_eval = st.template, boot.ref
    variants = [
        ('keypoint score', 'min of the SimCC maxima (mmpose)', 'mean of the SimCC maxima (rtmlib)',
         dict(model=_Variant(m, mean_score=True))),
        ('input channel order', 'RGB (as trained)', 'BGR fed to the RGB model', dict(model=_Variant(m, swap_channels=True))),
        ('box padding', '1.25 (mmpose)', '1.0', dict(model=m, padding=1.0)),
        ('flip test', 'on', 'off', dict(model=m, flip_test=not s.flip_test)),
    ]
    rows = []
    for name, default, alt, kw in variants:
        _, results = predictions(st, kw.pop('model'), s, desc=name, **kw)
        ev = image_eval(st.gt, results, st.meta.sigmas)
        delta, lo, hi = boot.delta(ev)
        rows.append({'choice': name, 'default': default, 'alternative': alt, 'AP_default': ref_eval.ap,
                     'AP_alternative': ev.ap, 'delta_AP': delta, 'delta_ci_low': lo, 'delta_ci_high': hi,
                     'note': ''})
    det = {'choice': 'person boxes', 'default': 'ground truth', 'alternative': 'RTMDet detections'}
    if s.bbox_file:
        _, results = predictions(st, m, s, bbox_file=s.bbox_file, desc='detector boxes')
        ev = image_eval(st.gt, results, st.meta.sigmas)
        delta, lo, hi = boot.delta(ev)
        rows.append(det | {'AP_default': ref_eval.ap, 'AP_alternative': ev.ap, 'delta_AP': delta,
                           'delta_ci_low': lo, 'delta_ci_high': hi, 'note': s.bbox_file})
    else:
        rows.append(det | {'AP_default': ref_eval.ap, 'AP_alternative': 'not measured', 'delta_AP': 'not measured',
                           'delta_ci_low': '', 'delta_ci_high': '',
                           'note': 'no detector results given; measure with: rtmpose deploy --params params.yaml '
                                   '--bbox-file DETS.json (COCO detection results of RTMDet)'})
    return rows


def _fmt(v, spec='+.4f'):
    return format(v, spec) if isinstance(v, float) else str(v)


def summary_md(s: DeploySettings, ref_ap: float, rows: list[dict], choices: list[dict]) -> str:
    lines = [f'# Deployment accuracy ({s.model}, {os.path.basename(s.checkpoint or "")}, {s.dataset} {s.split})', '',
             f'PyTorch fp32 AP {ref_ap:.4f}. Delta AP against it with a 95 % paired bootstrap interval over '
             f'images ({s.bootstrap} resamples, seed {s.seed}; each resample is COCO AP recomputed from '
             f'COCOeval\'s per-image matching). Gate: the raw-output gate on held-out val crops passed and the '
             f'interval low >= -{s.tolerance_ap:g}. '
             f'Latency: median of {s.runs} runs after {s.warmup} warm-up, batch 1, {s.threads} thread(s); '
             'only artifacts that pass are timed.', '',
             '| backend | precision | AP | delta AP [95 % CI] | CI half-width | kpt err px (median / p95) | latency ms | gate |',
             '|---|---|---|---|---|---|---|---|']
    for r in rows:
        if 'AP' not in r:
            lines.append(f'| {r["backend"]} | {r["precision"]} | - | - | - | - | - | {r["gate"]}: {r["reason"]} |')
            continue
        gate = r['gate'] + (f': {r["reason"]}' if r['reason'] else '')
        lat = _fmt(r['latency_ms_median'], '.2f')
        prec = r['precision'] + (f' (executed {r["executed_precision"]})'
                                 if r.get('executed_precision') not in (None, '', r['precision']) else '')
        lines.append(f'| {r["backend"]} | {prec} | {r["AP"]:.4f} | {r["delta_AP"]:+.4f} '
                     f'[{r["delta_ci_low"]:+.4f}, {r["delta_ci_high"]:+.4f}] | '
                     f'{(r["delta_ci_high"] - r["delta_ci_low"]) / 2:.4f} | {r["kpt_err_px_median"]:.2f} / '
                     f'{r["kpt_err_px_p95"]:.2f} | {lat} | {gate} |')
    if choices:
        lines += ['', '## Inference-side choices (PyTorch fp32, against the mmpose defaults)', '',
                  '| choice | default | alternative | delta AP [95 % CI] | note |', '|---|---|---|---|---|']
        for c in choices:
            ci = (f' [{c["delta_ci_low"]:+.4f}, {c["delta_ci_high"]:+.4f}]'
                  if isinstance(c['delta_ci_low'], float) else '')
            lines.append(f'| {c["choice"]} | {c["default"]} | {c["alternative"]} | {_fmt(c["delta_AP"])}{ci} | '
                         f'{c["note"]} |')
    return '\n'.join(lines) + '\n'


def _log_targets(rows: list[dict], parent: str | None, mlflow: bool) -> None:
    """A child run of the deploy run per backend x precision: AP, its paired change and interval, keypoint
    error, latency; the gate and its reason as tags and description; a target that was not exported is a
    FAILED run tagged skipped with the reason."""
    from rtmpose.mlflow_log import record_skipped, start_run
    for r in rows:
        name = f'{r["backend"]}/{r["precision"]}'
        params = {k: r.get(k) for k in ('model', 'input', 'backend', 'precision', 'executed_precision', 'threads')}
        if r['gate'] == 'not exported':
            record_skipped('deploy', name, r['reason'], params=params, tags={'gate': 'not exported'}, parent=parent,
                           enabled=mlflow)
            continue
        note = 'passed the gate' if r['gate'] == 'pass' else f'failed the gate: {r["reason"]}'
        with start_run('deploy', name, params=params, parent=parent, enabled=mlflow,
                       tags={'gate': r['gate'], 'gate_reason': r['reason'] or None, 'mlflow.note.content': note}) as c:
            c.log_metrics({k: r[k] for k in ('AP', 'delta_AP', 'delta_ci_low', 'delta_ci_high', 'kpt_err_px_median',
                                              'kpt_err_px_p95', 'latency_ms_median')
                           if isinstance(r.get(k), (int, float))})


def run_deploy(s: DeploySettings, mlflow: bool = True) -> int:
    """The `deploy` stage. Exit status 0 (a failing artifact is a row of the table, not an error)."""
    from rtmpose.io import folder_locks
    torch.set_num_threads(max(1, s.threads))
    with folder_locks([s.out, s.exports], 'deploy folder'):
        return _deploy(s, mlflow)


def _deploy(s: DeploySettings, mlflow: bool) -> int:
    from rtmpose.io import write_csv_atomic, write_text_atomic
    from rtmpose.mlflow_log import start_run
    st = _setup(s)
    out = Path(s.out)
    with start_run('deploy', f'{s.model}-deploy', params=asdict(s), enabled=mlflow) as run:
        ref_pred, ref_results = predictions(st, st.template, s, desc='pytorch fp32')
        ref_eval = image_eval(st.gt, ref_results, st.meta.sigmas)
        w, h = st.template.config.input_size
        rows = [{'model': s.model, 'input': f'{h}x{w}', 'backend': 'pytorch', 'precision': 'fp32',
                 'executed_precision': 'fp32',
                 'artifact': s.checkpoint,
                 'AP': ref_eval.ap, 'delta_AP': 0.0, 'delta_ci_low': 0.0, 'delta_ci_high': 0.0,
                 'delta_ci_half_width': 0.0, 'kpt_err_px_median': 0.0, 'kpt_err_px_p95': 0.0, 'latency_ms_median': 'see reports/bench',
                 'threads': s.threads, 'gate': 'reference', 'reason': ''}]
        boot = PairedBootstrap(ref_eval, s.bootstrap, s.seed)
        rows += accuracy_rows(s, st, ref_pred, boot)
        choices = choice_rows(s, st, boot) if s.choices else []
        write_csv_atomic(out / 'accuracy.csv', rows, ACCURACY_FIELDS, float_format='.6g')
        write_csv_atomic(out / 'choices.csv', choices, CHOICE_FIELDS, float_format='.6g')
        write_text_atomic(out / 'summary.md', summary_md(s, ref_eval.ap, rows[1:], choices))
        run.log_metrics({'AP_pytorch_fp32': ref_eval.ap})
        for name in ('accuracy.csv', 'choices.csv', 'summary.md'):
            run.log_artifact(str(out / name))
        _log_targets(rows[1:], run.run_id, mlflow)
    print(f'deploy: wrote {out / "accuracy.csv"}, {out / "choices.csv"}, {out / "summary.md"}')
    return 0
