"""reports/fidelity.md: where the paper, the official configs and this suite's defaults differ, and which
one each table used. Suite defaults are read from the code (not restated), so the report follows it."""
from __future__ import annotations

import inspect
import math
import os
from collections import defaultdict

from rtmpose.reports.measured import Measurements
from rtmpose.reports.tables import Table

_CFG = 'mmpose 1.3.2 configs/body_2d_keypoint/rtmpose/coco/'


def _default(fn, name: str):
    try:
        return inspect.signature(fn).parameters[name].default
    except (KeyError, TypeError, ValueError):
        return '?'


def _suite_facts() -> dict[str, str]:
    """Read the suite's actual defaults; a failed import is reported, not guessed."""
    f: dict[str, str] = {}
    try:
        from rtmpose.models import MODEL_CONFIGS
        from rtmpose.models.rtmcc_head import GAUConfig, RTMCCHead
        m = MODEL_CONFIGS['rtmpose-m']
        g = GAUConfig()
        f['head'] = (f'RTMPoseConfig sets final_layer_kernel_size={m.final_layer_kernel_size}, act_fn={g.act_fn}, '
                     f'use_rel_bias={g.use_rel_bias}, pos_enc={g.pos_enc}, hidden_dims={g.hidden_dims} for every size '
                     f'(RTMCCHead signature default kernel: {_default(RTMCCHead.__init__, "final_layer_kernel_size")})')
        f['bn'] = f'RTMPoseConfig bn_eps={m.bn_eps}, bn_momentum={m.bn_momentum}'
        f['sigma'] = f'rtmpose-m sigma={m.sigma}, split ratio {m.simcc_split_ratio}'
    except Exception as e:  # pragma: no cover - reported in the file
        f['head'] = f['bn'] = f['sigma'] = f'could not read the model defaults ({e})'
    try:
        import numpy as np

        from rtmpose.codec import SimCCCodec
        c = SimCCCodec((192, 256), (4.9, 5.66), 2.0)
        sx = np.full((1, 2, 384), -1.0, np.float32)
        sy = np.full((1, 2, 512), -1.0, np.float32)
        sx[0, 0, 100], sy[0, 0, 50] = 0.9, 0.4
        k, s = c.decode(sx, sy)
        f['decode'] = (f'SimCCCodec.decode: score of a point with max_x=0.9, max_y=0.4 -> {float(s[0, 0]):.2f} '
                       f'(min); a point with non-positive score -> location {k[0, 1].tolist()} (-1 / split ratio)')
    except Exception as e:  # pragma: no cover
        f['decode'] = f'could not run the codec ({e})'
    try:
        from rtmpose.deploy import export as ex
        f['opset'] = f'rtmpose.deploy.export default opset {getattr(ex, "DEFAULT_OPSET", "?")}'
    except Exception as e:
        f['opset'] = f'export module not importable here ({str(e).splitlines()[0]})'
    try:
        from rtmpose.train.config import TrainConfig
        t = TrainConfig()
        f['train'] = (f'TrainConfig defaults: model {t.model}, dataset {t.dataset}, repeat {t.repeat}, extra_train '
                      f'{t.extra_train or "none"}, clip_grad {t.clip_grad}, epochs {t.epochs}, stage2 {t.stage2_epochs}, '
                      f'weight_decay {t.weight_decay}, EMA {t.ema} (momentum {t.ema_momentum}), flip_test {t.flip_test}')
    except Exception as e:
        f['train'] = f'training config not importable here ({str(e).splitlines()[0]})'
    try:
        from rtmpose.evaluation.config import EvalConfig
        e = EvalConfig()
        f['eval'] = (f'rtmpose eval default boxes: {"ground truth" if e.bbox_file is None else e.bbox_file}; '
                     f'nms_thr {e.nms_thr}, keypoint_score_thr {e.keypoint_score_thr}, flip_test {e.flip_test}')
    except Exception as ex_:
        f['eval'] = f'evaluation config not importable here ({str(ex_).splitlines()[0]})'
    try:
        from rtmpose.paper import paper_cpu_rates
        rates = [r for r in paper_cpu_rates() if r.table == 'table11' and r.model and r.gmacs is not None]
        peak = rates[0].peak if rates else float('nan')
        f['cpu'] = (f'one i7-11700 core peaks at {peak:.1f} GMAC/s in fp32; the RTMPose rows imply '
                    + ', '.join(f'{r.label.split(" (")[0]} {r.gmacs:.0f}' for r in rates[:4])
                    + ' GMAC/s: not 1-thread fp32 runs (section below)')
    except Exception as e:  # pragma: no cover - reported in the file
        f['cpu'] = f'the paper CPU\'s facts could not be read ({str(e).splitlines()[0]})'
    return f


def _divergences(f: dict[str, str]) -> list[tuple[str, str, str, str, str]]:
    """(topic, paper, official configs / code, this suite, tables affected)."""
    return [
        ('RTMPose-m 75.8 AP checkpoint',
         'Sec. 1 / abstract: 75.8 AP (flip test); Table 11: 75.3; Sec. 3.4: 73.7 COCO-only',
         f'the 75.8 checkpoint comes from {_CFG}rtmpose-m_8xb256-420e_aic-coco-256x192.py (COCO x3 + AIC); '
         f'the COCO-only {_CFG}rtmpose-m_8xb256-420e_coco-256x192.py gives 74.6',
         f['train'] + '; AIC+COCO is an experiment setting (repeat 3 + extra_train AIC)',
         'tables 4 (AIC rows vs "-" rows), 10, 11, Fig. 1 (paper AP)'),
        ('Person boxes in evaluation',
         'detected boxes (COCO_val2017_detections_AP_H_56_person.json, a 56.4 AP human detector)',
         'the configs leave bbox_file commented out, so a plain `tools/test.py` scores ground-truth boxes',
         f['eval'] + '; every measured AP cell records its box source',
         'tables 4, 5, 6, 8, 10-12'),
        ('RTMCCHead settings',
         'Sec. 3.4: 7x7 final conv; GAU with squared ReLU attention',
         'RTMCCHead class defaults final_layer_kernel_size=1, act ReLU, use_rel_bias=True; the RTMPose configs set '
         'kernel 7, SiLU, use_rel_bias=False, pos_enc=False explicitly',
         f['head'], 'tables 2, 3 (ablations override the fields explicitly), 4-12'),
        ('BatchNorm statistics',
         'not stated',
         'CSPNeXt class default BN eps 1e-3 / momentum 0.03; RTMPose configs use SyncBN (eps 1e-5, momentum 0.1)',
         f['bn'], 'every trained model; complexity unaffected'),
        ('Keypoint score',
         'not stated',
         'mmpose SimCCLabel.decode: score = min(max_x, max_y); rtmlib: 0.5 * (max_x + max_y); the score feeds '
         'bbox_keypoint rescoring and OKS-NMS, so AP can move',
         f['decode'], 'all AP cells'),
        ('Invalid locations',
         'not stated',
         'mmpose sets the bin to -1 when the score <= 0, then divides by simcc_split_ratio: -0.5 px, not -1',
         f['decode'], 'all AP cells (rare points)'),
        ('ONNX export',
         'MMDeploy export (Sec. 4.3)',
         'mmdeploy configs/mmpose/pose-detection_simcc_onnxruntime_dynamic.py: opset 11, outputs simcc_x / simcc_y',
         f['opset'] + ' (legacy exporter); outputs simcc_x / simcc_y, post-processing not exported',
         'tables 10-12, Fig. 1 (measured latencies)'),
        ('CPU latency protocol',
         'Table 11: ONNX Runtime on an i7-11700, 1 thread; Table 13 / Fig. 1 reuse those figures',
         f['cpu'],
         'every size timed at 1 thread and on all cores in one run (bench.threads [1, all]); the paper\'s figure '
         'beside our all-cores one, our rate per core beside its implied rate, ratios between models per protocol',
         'tables 11-13, Fig. 1'),
        ('Timed span',
         '50 warm-up + 200 runs, batch 1',
         'the official profiler times only the backend call for ORT / TRT / ncnn but pre- and post-processing for PyTorch',
         'the harness times the same span for every backend and reports model-only and end-to-end separately',
         'tables 10-12, Fig. 1'),
        ('Gradient clipping',
         'not stated',
         'the spec lists clip_grad max_norm 35 for the COCO-only config; rtmpose.train.config.SOURCES records none '
         'in the mmpose 1.3.2 RTMPose body configs',
         f['train'], 'table 7 (not a column of the paper table)'),
        ('Table 1 baselines',
         'Heatmap / SimCC / SimCC* on ResNet-50 at 256x192',
         'td-hm_res50_8xb64-210e_coco-256x192.py (HeatmapHead), simcc_res50_8xb64-210e_coco-256x192.py (SimCCHead '
         'with its default deconv head), SimCC* = the same with deconv_out_channels=None as in '
         'simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192.py',
         'rtmpose.models.baselines: equal to fvcore on the official modules in params and FLOPs (tests/models/'
         'test_baselines.py); head FLOPs include the per-keypoint Linear layers (K=17 rows), which is what makes '
         'SimCC 1.472 G; SimCC* head params 0.0787 M print as 0.079',
         'table 1'),
        ('Roadmap ablations',
         'Sec. 3 / Fig. 3 / Table 3 on RTMPose-m, COCO, 210-420 epochs, 8 GPUs',
         'no official ablation configs',
         'params.yaml `ablations`: RTMPose-t on the embedded synthetic set with a CPU schedule (input 128x96, sigma '
         'scaled to (2.45, 2.83), lr 5e-4 at batch 16, 8 epochs of 480 instances, every variant\'s backbone '
         'initialised from the committed pre-trained backbone (stage `pretrain`) as the paper initialises from a '
         'pre-trained CSPNeXt, then FROZEN (frozen_stages 4; its outputs cached per seed and epoch and shared by '
         'the variants), heads from scratch: the grid measures head and loss choices on fixed features, where the '
         'paper trains the whole network); earlier roadmap steps are approximated by switching the final '
         'recipe\'s fields back (kernel 1, no GAU, feature dim = the flattened map, beta 1 without label softmax, '
         'one shared sigma = SimCC\'s 6.0 scaled to the input, no EMA, cosine from epoch 0, single-stage '
         'augmentation without CoarseDropout); the ResNet SimCC* step cannot be trained by `rtmpose train`; '
         'heatmap pre-training, AIC data and flip-test steps have no variant',
         'tables 2, 3, Fig. 3'),
        ('Pre-trained backbone',
         'CSPNeXt pre-trained on ImageNet, then with a UDP heatmap head on COCO (Sec. 4.1), 210 epochs',
         'init_cfg=Pretrained(prefix="backbone.") from cspnext-*_udp-aic-coco_210e checkpoints',
         'stage `pretrain` (frozen; pretrained/*.pth and its provenance .json committed): RTMPose-t trained with '
         'the SimCC recipe itself (not a UDP heatmap head, no ImageNet stage) on 20000 synthetic images of another '
         'seed than the default set; only the backbone is carried over (train.init_backbone), as in the configs',
         'trained model table, tables 2, 3, Fig. 3'),
        ('Table 7 batch size', '1024', '256 per GPU x 8 GPUs (auto_scale_lr base 1024)',
         'batch_size is per process; the resolved total is recorded per run', 'table 7'),
        ('Person detector (RTMDet-nano)',
         'RTMDet-nano 320x320 in the pose pipeline (Table 12, Sec. 1: 73.2 AP with RTMPose-m)',
         f'{_DET_CFG}, on mmdet 3.3.0\'s RTMDet recipe; the released weights are '
         'rtmdet_nano_8xb32-100e_coco-obj365-person (COCO + Objects365 person, by its name)',
         'trained here on the synthetic pre-training set with a shortened recipe and RTMDet\'s second-stage '
         'augmentation throughout (section "The person detector\'s training" below)',
         'table 12 (pipeline latency and pipeline accuracy)'),
    ]


def _used(tables: list[Table]) -> dict[str, set[str]]:
    used: dict[str, set[str]] = defaultdict(set)
    for t in tables:
        for _, _, c in t.cells():
            if c.kind == 'measured' and c.provenance is not None:
                p = c.provenance
                used[t.id].add('; '.join(x for x in (p.dataset and f'data {p.dataset}', p.box_source and f'boxes {p.box_source}',
                                                     p.backend and f'backend {p.backend}', p.machine and f'machine {p.machine}',
                                                     f'source {p.source.split(":")[0]}') if x))
    return used


def fidelity_report(tables: list[Table], m: Measurements, paper: dict | None = None,
                    params: str | os.PathLike | None = None) -> str:
    """The report; `params` (params.yaml) names the detector's training images (section `pretrain`)."""
    f = _suite_facts()
    lines = ['# Fidelity report: paper vs official configs vs this suite', '',
             'Generated by `rtmpose tables` (do not edit). "This suite" values are read from the code at generation '
             'time. Every table cell names its own source; this page says which convention it follows.', '',
             '## Where they differ', '',
             '| topic | paper | official configs / code | this suite | tables |', '|---|---|---|---|---|']
    esc = lambda s: str(s).replace('|', '\\|')  # noqa: E731
    for row in _divergences(f):
        lines.append('| ' + ' | '.join(esc(x) for x in row) + ' |')
    lines += cpu_protocol_section(paper, m).splitlines()
    lines += detector_section(m, params).splitlines()
    lines += ['', '## What each table used', '']
    used = _used(tables)
    for t in tables:
        n_meas = sum(1 for _, _, c in t.cells() if c.kind == 'measured')
        n_not = sum(1 for _, _, c in t.cells() if c.kind == 'not measured')
        lines.append(f'### {t.caption}')
        lines.append(f'- {n_meas} measured cells, {n_not} not measured.')
        for u in sorted(used.get(t.id, ())):
            lines.append(f'- measured with: {u}')
        for n in t.notes:
            lines.append(f'- {n}')
        lines.append('')
    if m.skipped:
        lines += ['## Inputs that could not be read', ''] + [f'- {s}' for s in m.skipped] + ['']
    return '\n'.join(lines) + '\n'


_DET_CFG = 'mmpose projects/rtmpose/rtmdet/person/rtmdet_nano_320-8xb32_coco-person.py'
_MMDET = 'mmdet 3.3.0 configs/rtmdet/'


def _detector_config(path: str):
    """(DetectorTrainConfig of the experiment file, what was read): the dataclass defaults when it is missing."""
    from rtmpose.settings import read_params, resolve
    from rtmpose.train.detector import DetectorTrainConfig
    if not os.path.isfile(path):
        return DetectorTrainConfig(), 'not found: DetectorTrainConfig defaults shown'
    try:
        return resolve(DetectorTrainConfig, values=read_params(path), where=path), 'read at generation time'
    except Exception as e:  # reported in the file, never guessed
        return DetectorTrainConfig(), f'unreadable ({str(e).splitlines()[0]}): DetectorTrainConfig defaults shown'


def _training_images(cfg, params: str | os.PathLike | None) -> tuple[int | None, str]:
    """How many training images the detector saw and where they come from: the `pretrain` section of params.yaml
    renders `cfg.data_dir` when its train.data_dir is the same folder."""
    from rtmpose.settings import read_params
    try:
        pre = read_params(params).get('pretrain') or {} if params and os.path.isfile(params) else {}
    except Exception:
        pre = {}
    data, train = pre.get('data') or {}, pre.get('train') or {}
    if train.get('data_dir') == cfg.data_dir and data.get('num_train'):
        n = int(data['num_train'])
        n = min(n, cfg.train_limit) if cfg.train_limit else n
        return n, (f'{n} images of the embedded synthetic pre-training set (`{cfg.data_dir}`, rendered by '
                   f'`rtmpose pretrain`: params.yaml pretrain.data, seed {data.get("seed", "?")})')
    return None, f'the prepared set `{cfg.data_dir}` (image count not found in params.yaml pretrain.data)'


def detector_section(m: Measurements, params: str | os.PathLike | None = None) -> str:
    """'The person detector's training': each simplification against mmdet 3.3.0's RTMDet recipe (mmpose's nano
    person config), with the schedule read from the experiment file, and what is verified against mmdet."""
    from rtmpose.reports.measured import _read_json
    cfg_path, prov_path = m.source('detector_config'), m.source('detector_provenance')
    cfg, how = _detector_config(os.path.join(m.root, m.config.detector_config))
    n, data = _training_images(cfg, params)
    ipe = math.ceil(n / cfg.batch_size) if n else None
    iters = f'{cfg.epochs} epochs x {ipe} iterations' if ipe else f'{cfg.epochs} epochs'
    prov = _read_json(m.root / m.config.detector_provenance)
    if isinstance(prov, dict):
        box = next((v for v in (prov.get('held_out_box_AP'), prov.get('box_AP'), prov.get('metrics'), prov) if isinstance(v, dict) and 'AP' in v), None)
        prov_text = f'`{prov_path}` (the provenance of the committed weights' + (
            f'; box AP {float(box["AP"]):.3f}' if box and isinstance(box.get('AP'), (int, float)) else '') + ')'
    else:
        prov_text = f'`{prov_path}` (the provenance of the committed weights: not written yet)'
    notes = prov.get('notes') if isinstance(prov, dict) else None
    lo, hi = cfg.scale_range
    rows = [
        ('augmentation',
         f'two stages: CachedMosaic (+ CachedMixUp in {_MMDET}rtmdet_tiny_8xb32-300e_coco.py; Mosaic only in the nano '
         'person config) then RandomResize, RandomCrop, YOLOXHSVRandomAug, RandomFlip 0.5, Pad 114; PipelineSwitchHook '
         'to the second stage (RandomResize ratio 0.5-1.5 keep-ratio, RandomCrop, HSV, flip, pad) for the last 20 of '
         '300 epochs; mmdet\'s RandomCrop drops a crop that keeps no box and the dataset draws another image',
         f'the second stage throughout: RandomResize ratio {lo:g}-{hi:g} keep-ratio + RandomCrop to {cfg.input_size} + '
         f'{"YOLOXHSVRandomAug" if cfg.hsv else "no HSV"} + RandomFlip {cfg.flip_prob:g} + Pad 114; no CachedMosaic / '
         'CachedMixUp first stage and no PipelineSwitchHook; a crop that keeps no box still trains (all background) '
         'instead of being redrawn'),
        ('schedule',
         '300 epochs of COCO train2017 at 8 GPUs x 32 = 256 images per iteration',
         f'{iters} at batch {cfg.batch_size} on one process'),
        *([('schedule as run', 'one uninterrupted run', f'from the provenance\'s notes: {notes}')]
          if isinstance(notes, str) and notes.strip() else []),
        ('learning rate',
         'AdamW 4e-3, weight decay 0.05 (none on norms and biases); LinearLR from 1e-5 over 1000 iterations, flat, '
         'cosine from epoch 150 to 0.05 x lr',
         f'AdamW {cfg.base_lr:g} (the same, not scaled for the {256 // max(cfg.batch_size, 1)}x smaller batch), weight '
         f'decay {cfg.weight_decay:g}; warm-up from {cfg.warmup_start_factor:g} over {cfg.warmup_iters} iterations, '
         f'flat, cosine from epoch {cfg.epochs // 2} of {cfg.epochs} to {cfg.cosine_min_factor:g} x lr'),
        ('EMA', 'ExpMomentumEMA momentum 2e-4, gamma 2000',
         f'ExpMomentumEMA momentum {cfg.ema_momentum:g}, gamma {cfg.ema_gamma}' if cfg.ema else 'no EMA'),
        ('data', 'COCO train2017, one class (person); box AP on COCO val2017',
         f'{data}, one class (person), instead of COCO; box AP on `{cfg.val_dir or cfg.data_dir}` val'),
        ('initialisation',
         f'mmdet init_weights; {_MMDET}rtmdet_tiny_8xb32-300e_coco.py loads an ImageNet-pretrained CSPNeXt '
         '(cspnext-tiny_imagenet_600e.pth); the nano person config inherits rtmdet_l\'s backbone, which names none',
         'mmdet\'s init_weights (rtmpose.train.rtmdet_loss.init_detector_weights), without an ImageNet-pretrained '
         'CSPNeXt backbone: nothing can be downloaded here'),
        ('objective: verified',
         'DynamicSoftLabelAssigner (topk 13), QualityFocalLoss (beta 2), GIoULoss (weight 2)',
         'against the real mmdet 3.3.0 on fixed inputs (tests/train/test_rtmdet_loss.py): the assigner\'s '
         'assignments identical, QualityFocalLoss / GIoULoss values and their gradients bit-identical (observed; '
         'the test allows 1e-5 relative for another summation order)'),
        ('training loop: verified', 'mmengine Runner.train',
         'six steps of mmengine\'s Runner.train on the person config (2 images, deterministic stage-2 pipeline, '
         'warm-up 3, six 1-iteration epochs) against rtmpose.train.detector (tests/train/test_rtmdet_train_parity.py, '
         'fixture from tools/make_rtmdet_train_fixtures.py): losses and weights bit-identical, learning rates equal, '
         'EMA equal to its fixture\'s float16 storage. Its sampler takes the trainer\'s per-epoch order (DataLoader '
         'shuffling draws a worker seed from the generator before the permutation, DefaultSampler does not): both '
         'fair shuffles, different orders'),
    ]
    esc = lambda x: str(x).replace('|', '\\|')  # noqa: E731
    lines = ['', '## The person detector\'s training: against mmdet 3.3.0\'s RTMDet recipe', '',
             f'Reference: {_DET_CFG} (on {_MMDET}rtmdet_l_8xb32-300e_coco.py) and {_MMDET}rtmdet_tiny_8xb32-300e_coco.py. '
             f'This suite: rtmpose/train/detector.py with `{cfg_path}` ({how}). Sources: `{cfg_path}`; {prov_text}.', '',
             '| aspect | mmdet 3.3.0 / mmpose recipe | this suite |', '|---|---|---|']
    lines += [f'| {esc(a)} | {esc(b)} | {esc(c)} |' for a, b, c in rows]
    return '\n'.join(lines) + '\n'


def deploy_choices_section(choices: list[dict], source: str = 'reports/deploy/choices.csv') -> str:
    """'Inference-side choices' section: the AP change of each choice on which mmpose, its deployment SDK and
    rtmlib differ, measured by the deploy stage on the trained model (paired bootstrap interval)."""
    lines = ['', '## Inference-side choices: what each costs in AP', '',
             'Measured by the `deploy` stage on the trained model and the val set (PyTorch fp32), each choice against '
             'the mmpose default; delta AP with a 95 % paired bootstrap interval over images '
             f'(`{source}`). mmpose scores a keypoint by the min of its two SimCC maxima, rtmlib by their mean; '
             'the models are trained on RGB; mmpose pads boxes by 1.25.', '']
    if not choices:
        return '\n'.join(lines + ['not measured: `rtmpose deploy --params params.yaml`', ''])
    lines += ['| choice | default | alternative | AP default | AP alternative | delta AP [95% CI] | note |',
              '|---|---|---|---|---|---|---|']
    for c in choices:
        def num(k, spec='.4f'):
            try:
                return format(float(c[k]), spec)
            except (TypeError, ValueError, KeyError):
                return str(c.get(k, ''))
        ci = f' [{num("delta_ci_low", "+.4f")}, {num("delta_ci_high", "+.4f")}]' if c.get('delta_ci_low') else ''
        lines.append(f'| {c["choice"]} | {c["default"]} | {c["alternative"]} | {num("AP_default")} | '
                     f'{num("AP_alternative")} | {num("delta_AP", "+.4f")}{ci} | {c.get("note", "")} |')
    return '\n'.join(lines) + '\n'


def _fmt_ratio(v) -> str:
    return f'{v:.2f}x' if isinstance(v, float) else str(v)


def cpu_protocol_section(paper: dict | None, m: Measurements) -> str:
    """'The paper's CPU figures': the paper CPU's per-core fp32 peak and its derivation, the MAC rate every paper
    CPU latency implies with its verdict, and the comparisons that follow from it (ratios between models under
    one protocol, our rate per core), all computed here from reports/paper/ and the bench outputs."""
    from rtmpose.reports.build import CMD_BENCH_ALL, PEERS, T11_REF, _paper_cpu
    if paper is None:
        from rtmpose.errors import Error
        from rtmpose.paper import load_paper
        try:
            paper = load_paper()
        except Error:
            paper = None
    cpu, rates = _paper_cpu(paper) if paper is not None else (None, {})
    lines = ['', '## The paper\'s CPU figures: what they imply, and what they are compared with', '']
    if cpu is None or paper is None:
        return '\n'.join(lines + ['not derivable: reports/paper/cpu_i7_11700.yaml (the paper CPU\'s facts) is missing', ''])
    rows = list(rates.values())
    t11 = [r for r in rows if r.table == 'table11']
    printed = [r for r in rows if r.table != 'spec_latencies' and r.gmacs is not None]   # the spec repeats them
    over = [r for r in printed if r.one_core_plausible is False]
    fits = [r for r in t11 if r.one_core_plausible]
    rtm = [r for r in t11 if r.model]
    lo, hi = (min(r.fraction for r in rtm), max(r.fraction for r in rtm)) if rtm else (0, 0)
    lines += [f'**Finding.** The paper times ONNX Runtime on an {cpu.name} and states '
              f'{cpu.protocol.get("threads", 1)} thread (Table 11). One core of that CPU peaks at '
              f'**{cpu.per_core_gmacs:.1f} GMAC/s in fp32** ({cpu.derivation}; one MAC = one FLOP, the paper\'s '
              f'convention). Its RTMPose latencies imply {lo:.2f}x to {hi:.2f}x that rate, so they cannot be '
              'single-threaded fp32 runs (more threads or another precision are likely), while '
              + (', '.join(r.label.split(' (')[0] for r in fits) or 'no peer') +
              ' fit within one core. '
              f'{len(over)} of the {len(printed)} CPU latencies of Tables 11 and 12 are above one core\'s peak. '
              'A ratio between two of its figures may therefore compare two '
              'protocols, and dividing our 1-thread latency by the paper\'s figure compares ours with something that '
              'was not 1 thread: the tables set the paper\'s figure beside our all-cores figure, our rate per core beside '
              'its implied rate, and ratios between models under one protocol beside the paper\'s.', '',
              'Sources of the CPU facts: ' + '; '.join(f'{k}: {v}' for k, v in cpu.sources.items()) + '.', '',
              '| paper table | row | GFLOPs | CPU ms | implied GMAC/s = GFLOPs / s | x one core\'s fp32 peak | verdict |',
              '|---|---|---|---|---|---|---|']
    for r in rows:
        g = '–' if r.gflops is None else f'{r.gflops:g}'
        rate = '–' if r.gmacs is None else f'{r.gflops:g} / {r.ms / 1e3:g} s = {r.gmacs:.1f}'
        frac = '–' if r.fraction is None else f'{r.fraction:.2f}'
        lines.append(f'| {r.table} | {r.label} | {g} | {r.ms:g} | {rate} | {frac} | {r.verdict()} |')
    # ratios between models: ours under one protocol each, the paper's as printed
    t = paper['table11']
    ref = t.row(T11_REF)
    lines += ['', '### Latency ratios to RTMPose-t: ours under one protocol, the paper\'s', '',
              '| model | ours, 1 thread | ours, all cores | paper | paper\'s two figures |', '|---|---|---|---|---|']
    for r in t.rows:
        if r['dataset'] != 'COCO' or r['key'] == T11_REF:
            continue
        model = r.get('model') or PEERS.get(r['method'])
        cells = []
        for threads in ('1', 'all'):
            a = m.timing(model, 'onnxruntime', precision='fp32', threads=threads) if model else None
            b = m.timing('rtmpose-t', 'onnxruntime', precision='fp32', threads=threads)
            cells.append(_fmt_ratio(a['mean'] / b['mean']) if a and b else
                         f'not measured (`{CMD_BENCH_ALL}`)' if threads == 'all' else 'not measured')
        a, b = rates.get(('table11', r['key'])), rates.get(('table11', T11_REF))
        kind = ('one protocol possible' if a is None or b is None or a.one_core_plausible == b.one_core_plausible
                else 'within one core\'s peak vs above it: two protocols')
        lines.append(f'| {r["method"]} | {cells[0]} | {cells[1]} | {r["cpu_ms"] / ref["cpu_ms"]:.2f}x '
                     f'({r["cpu_ms"]:g} / {ref["cpu_ms"]:g} ms) | {kind} |')
    # our rate per core
    lines += ['', '### Our MAC rate per core (ONNX Runtime fp32, model span)', '',
              f'Per core = GFLOPs / mean latency / min(threads, cores); % of this machine\'s per-core fp32 peak '
              f'({f"{m.machine_peak:.1f} GMAC/s, " if m.machine_peak else ""}reports/bench/summary.md). Beside it, '
              f'the paper\'s implied rate on the one core it states, against {cpu.per_core_gmacs:.1f}.', '',
              '| model | ours 1 thread: GMAC/s per core (%) | ours all cores: GMAC/s per core (%) | paper implied '
              '(x one i7-11700 core\'s peak) |', '|---|---|---|---|']
    for r in t.rows:
        if r['dataset'] != 'COCO':
            continue
        model = r.get('model') or PEERS.get(r['method'])
        cells = []
        for threads in ('1', 'all'):
            x = m.timing(model, 'onnxruntime', precision='fp32', threads=threads) if model else None
            if x is None or x.get('gmacs_per_core') is None:
                cells.append('not measured' + (f' (`{CMD_BENCH_ALL}`)' if threads == 'all' else ''))
            else:
                pct = x.get('fraction_of_peak')
                cells.append(f"{x['gmacs_per_core']:.1f}" + (f' ({100 * pct:.0f}%)' if pct is not None else '')
                             + (f', {x["threads"]} threads' if threads == 'all' else ''))
        p = rates.get(('table11', r['key']))
        paper_cell = '–' if p is None or p.gmacs is None else f'{p.gmacs:.1f} ({p.fraction:.2f}x)'
        lines.append(f'| {r["method"]} | {cells[0]} | {cells[1]} | {paper_cell} |')
    return '\n'.join(lines) + '\n'
