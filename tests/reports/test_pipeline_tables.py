"""Table 12's pipeline: the people the detector found and its weights (reports/bench/pipeline.csv), the
pipeline's accuracy with ground-truth vs detector boxes (reports/pipeline/accuracy.json), skip-frame notes, and
the fidelity report's section on the detector's training."""
import json
from pathlib import Path

import pytest

from rtmpose.reports.build import detector_weights, table12
from rtmpose.reports.config import TablesConfig
from rtmpose.reports.fidelity import detector_section
from rtmpose.reports.measured import collect
from rtmpose.reports.report import build_reports
from rtmpose.reports.tables import to_csv, to_markdown

ROOT = Path(__file__).resolve().parents[2]
PAPER = str(ROOT / 'reports' / 'paper')
HEAD = ('det_model,det_input,pose_model,backend,threads,weights,boxes,people,det_mean_ms,pose_mean_ms,mean_ms,'
        'median_ms,min_ms,max_ms,fps,warmup,runs\n')
ACCURACY = {
    'pose_checkpoint': 'experiments/runs/synthetic-t/final.pth',
    'detector_checkpoint': 'pretrained/rtmdet-nano_synthetic-320.pth', 'detector': 'rtmdet-nano',
    'data': 'datasets/synthetic val (400 images)',
    'box_AP': {'AP': 0.62, 'AP50': 0.9, 'AP75': 0.7, 'AR': 0.7, 'images': 400, 'detections': 3000,
               'AP_ci_low': 0.6, 'AP_ci_high': 0.64, 'bootstrap': 1000},
    'detections_file': 'reports/pipeline/accuracy.detections.json',
    'gt_boxes': {'AP': 0.624, 'AP_ci': [0.60, 0.65], 'AP50': 0.9, 'AP75': 0.7, 'AR': 0.7, 'boxes': 'ground truth'},
    'detector_boxes': {'AP': 0.58, 'AP_ci': [0.55, 0.61], 'AP50': 0.88, 'AP75': 0.6, 'AR': 0.65,
                       'boxes': 'detections.json'},
    'delta_AP': {'value': -0.044, 'ci95': [-0.06, -0.03], 'paired_bootstrap': 1000, 'seed': 0},
    'paper': 'RTMPose-m on COCO val: 75.8 AP with ground-truth boxes, 73.2 with RTMDet boxes (-2.6)'}
SKIP = ('det_interval,frames,detector_runs,pose_AP,pose_AP_ci_lo,pose_AP_ci_hi,delta_AP,delta_ci_lo,delta_ci_hi,'
        'box_AP,box_AP_ci_lo,box_AP_ci_hi,mota,idf1,id_switches,ms_mean,ms_ci_lo,ms_ci_hi,ms_median\n'
        '1,100,100,0.61,0.59,0.63,0.0,0.0,0.0,0.6,0.55,0.65,0.95,0.97,0,21.5,21.0,22.0,21.4\n'
        '5,100,20,0.6,0.58,0.62,-0.01,-0.02,0.001,0.6,0.55,0.65,0.93,0.96,2,9.25,9.0,9.5,9.2\n')


def _row(t, method):
    return next(r for r in t.rows if r['method'].text == method)


def _t12(ws, paper):
    return table12(paper['table12'], collect(ws, TablesConfig(root=str(ws))), paper)


def _write_accuracy(ws, data=ACCURACY):
    (ws / 'reports/pipeline').mkdir(parents=True, exist_ok=True)
    (ws / 'reports/pipeline/accuracy.json').write_text(json.dumps(data))


# -- 1. people found and detector weights ----------------------------------------------------------------------
def test_weights_column_reads_the_new_and_the_old_form():
    assert detector_weights('detector trained, pose random') == ('trained', 'random')
    assert detector_weights('detector random, pose trained') == ('random', 'trained')
    assert detector_weights('random') == ('random', 'random')


def test_table12_says_how_many_people_the_trained_detector_found(ws, paper):
    (ws / 'reports/bench/pipeline.csv').write_text(
        HEAD + 'rtmdet-nano,320,rtmpose-t,onnxruntime,1,"detector trained, pose random",detector,3,'
               '6.1,9.2,15.3,15.1,14.5,18.0,65.4,50,200\n')
    t = _t12(ws, paper)
    row = _row(t, 'RTMDet-nano + RTMPose-t')
    assert row['cpu_ms'].kind == 'measured' and row['cpu_ms'].measured == pytest.approx(15.3)
    assert row['timed_with'].text == '3 people found by the detector per frame; detector trained, pose random'
    # rows that were not timed say nothing about a frame
    assert _row(t, 'RTMDet-nano + RTMPose-m')['timed_with'].text == ''
    md = to_markdown(t)
    assert 'people the detector found' in md and '3 people found by the detector per frame; detector trained' in md


def test_table12_older_rows_with_random_weights_still_render(ws, paper):
    (ws / 'reports/bench/pipeline.csv').write_text(
        HEAD + 'rtmdet-nano,320,rtmpose-s,onnxruntime,1,random,ground-truth (detector found none),1,'
               '14.9,20.9,36.4,36.1,34.9,44.6,27.4,50,200\n')
    row = _row(_t12(ws, paper), 'RTMDet-nano + RTMPose-s')
    assert row['cpu_ms'].kind == 'measured' and row['cpu_ms'].measured == pytest.approx(36.4)
    assert row['timed_with'].text == ('1 person on ground-truth boxes (the detector found none); '
                                      'detector random, pose random')


# -- 2. pipeline accuracy: ground-truth vs detector boxes ---------------------------------------------------------
def test_pipeline_accuracy_fills_the_measured_models_row_beside_the_paper(ws, paper):
    _write_accuracy(ws)
    t = _t12(ws, paper)
    row = _row(t, 'RTMDet-nano + RTMPose-t')
    ref, det, delta = row['acc_ref'], row['acc_det'], row['acc_delta']
    assert ref.kind == det.kind == delta.kind == 'measured'
    assert ref.measured == '62.4 [60.0, 65.0]' and det.measured == '58.0 [55.0, 61.0]'
    assert delta.measured == '-4.4 [-6.0, -3.0]' and 'paired bootstrap' in delta.note and '1000' in delta.note
    assert ref.paper == 68.5 and det.paper == 64.4 and delta.paper == pytest.approx(-4.1)
    for c in (ref, det, delta):   # never a difference against COCO numbers
        assert c.delta.startswith('n/c: measured on the embedded synthetic set (rtmpose-t trained on it, '
                                  'rtmdet-nano pre-trained on the synthetic pre-training set)')
        assert c.provenance.source == 'reports/pipeline/accuracy.json' and c.provenance.model == 'rtmdet-nano + rtmpose-t'
    assert ref.provenance.box_source == 'ground truth' and 'rtmdet-nano_synthetic-320' in det.provenance.box_source
    # the paper's RTMPose-m pair stands on its own row: 75.8 (reference boxes) vs 73.2 (RTMDet-nano), -2.6
    m = _row(t, 'RTMDet-nano + RTMPose-m')
    assert (m['acc_ref'].paper, m['acc_det'].paper, m['acc_delta'].paper) == (75.8, 73.2, pytest.approx(-2.6))
    assert m['acc_ref'].kind == 'not measured' and '--set model=rtmpose-m' in m['acc_ref'].command
    md = to_markdown(t)
    assert '-4.4 [-6.0, -3.0] [' in md and '\\| -4.1 \\| n/c: measured on the embedded synthetic set' in md
    assert 'box AP there: 62.0 [60.0, 64.0] on 400 images' in md
    assert '56.4-AP human detector' in md and 'not on ground-truth boxes' in md
    csv_rows = [r for r in to_csv(t).splitlines() if ',acc_delta,' in r and ',measured,' in r]
    assert len(csv_rows) == 1 and 'reports/pipeline/accuracy.json' in csv_rows[0]


def test_pipeline_accuracy_absent_is_not_measured_with_the_command(ws, paper):
    t = _t12(ws, paper)
    row = _row(t, 'RTMDet-nano + RTMPose-t')
    for key in ('acc_ref', 'acc_det', 'acc_delta'):
        c = row[key]
        assert c.kind == 'not measured' and c.measured is None
        assert c.command == 'dvc repro pipeline_accuracy'
    assert row['acc_ref'].paper == 68.5
    md = to_markdown(t)
    assert 'not measured here: `dvc repro pipeline_accuracy`' in md
    assert 'Not measured yet.' in md


def test_pipeline_accuracy_without_its_values_is_listed_as_unreadable(ws, paper):
    _write_accuracy(ws, {k: v for k, v in ACCURACY.items() if k != 'delta_AP'})
    m = collect(ws, TablesConfig(root=str(ws)))
    assert m.pipeline_accuracy == {} and 'reports/pipeline/accuracy.json' in m.skipped
    assert _row(_t12(ws, paper), 'RTMDet-nano + RTMPose-t')['acc_delta'].kind == 'not measured'


def test_the_pose_model_comes_from_the_file_when_it_names_one(ws, paper):
    _write_accuracy(ws, dict(ACCURACY, pose_model='rtmpose-s'))
    t = _t12(ws, paper)
    assert _row(t, 'RTMDet-nano + RTMPose-s')['acc_det'].kind == 'measured'
    assert _row(t, 'RTMDet-nano + RTMPose-t')['acc_det'].kind == 'not measured'


def test_skip_frame_results_add_one_note_per_interval(ws, paper):
    assert not any('Skip-frame' in n for n in _t12(ws, paper).notes)      # no file: no note
    (ws / 'reports/pipeline').mkdir(parents=True)
    (ws / 'reports/pipeline/skip_frame.csv').write_text(SKIP)
    notes = _t12(ws, paper).notes
    assert any(n.startswith('Skip-frame detection on the synthetic video (reports/pipeline/skip_frame.csv') and
               'delta AP paired against K=1' in n for n in notes)
    assert ('K=1: pose AP 61.0 [59.0, 63.0]; delta AP +0.0 [+0.0, +0.0]; 21.50 ms/frame [21.00, 22.00]; '
            'detector on 100 of 100 frames') in notes
    assert ('K=5: pose AP 60.0 [58.0, 62.0]; delta AP -1.0 [-2.0, +0.1]; 9.25 ms/frame [9.00, 9.50]; '
            'detector on 20 of 100 frames') in notes
    # a file whose MOTA matches poses (it has the box MOTA beside it) says so
    (ws / 'reports/pipeline/skip_frame.csv').write_text(
        SKIP.replace('ms_median\n', 'ms_median,mota_box\n').replace(',21.4\n', ',21.4,-0.3\n')
        .replace(',9.2\n', ',9.2,-0.4\n'))
    assert ('K=5: pose AP 60.0 [58.0, 62.0]; delta AP -1.0 [-2.0, +0.1]; 9.25 ms/frame [9.00, 9.50]; '
            'MOTA 0.930 (poses at OKS 0.5), 2 identity switches; detector on 20 of 100 frames') in _t12(ws, paper).notes


# -- 3. the fidelity report: the detector's training ---------------------------------------------------------------
def _detector_inputs(ws, provenance: bool = False):
    (ws / 'experiments/detector').mkdir(parents=True)
    (ws / 'experiments/detector/rtmdet-nano_synthetic.yaml').write_text(
        'name: rtmdet-nano_synthetic\nmodel: rtmdet-nano\ninput_size: 320\ndata_dir: datasets/synthetic-pretrain\n'
        'val_dir: datasets/synthetic\nepochs: 5\nbatch_size: 32\nbase_lr: 0.004\nwarmup_iters: 1000\n')
    params = ws / 'params.yaml'
    params.write_text(params.read_text() + 'pretrain:\n  data: {seed: 1, num_train: 20000}\n'
                                           '  train: {data_dir: datasets/synthetic-pretrain}\n')
    if provenance:
        (ws / 'pretrained').mkdir()
        (ws / 'pretrained/rtmdet-nano_synthetic-320.json').write_text(json.dumps(
            {'box_AP': {'AP': 0.615}, 'notes': 'Resumed from epoch 5 with epochs 8: a warm restart.'}))
    return params


def test_fidelity_names_each_simplification_of_the_detector_recipe(ws):
    params = _detector_inputs(ws)
    text = detector_section(collect(ws, TablesConfig(root=str(ws))), params)
    assert "## The person detector's training: against mmdet 3.3.0's RTMDet recipe" in text
    for fact in ('no CachedMosaic / CachedMixUp first stage and no PipelineSwitchHook',
                 'RandomResize ratio 0.5-1.5 keep-ratio + RandomCrop to 320 + YOLOXHSVRandomAug + RandomFlip 0.5 + Pad 114',
                 'still trains (all background) instead of being redrawn',
                 '5 epochs x 625 iterations at batch 32 on one process', '8 GPUs x 32 = 256',
                 'AdamW 0.004 (the same, not scaled', 'over 1000 iterations', 'cosine from epoch 2 of 5 to 0.05 x lr',
                 'ExpMomentumEMA momentum 0.0002, gamma 2000',
                 '20000 images of the embedded synthetic pre-training set', 'seed 1', 'one class (person)',
                 'without an ImageNet-pretrained CSPNeXt backbone', 'tests/train/test_rtmdet_loss.py',
                 "six steps of mmengine's Runner.train", 'tests/train/test_rtmdet_train_parity.py',
                 'rtmdet_nano_320-8xb32_coco-person.py', 'rtmdet_tiny_8xb32-300e_coco.py',
                 '`experiments/detector/rtmdet-nano_synthetic.yaml` (read at generation time)',
                 '`pretrained/rtmdet-nano_synthetic-320.json` (the provenance of the committed weights: not written yet)'):
        assert fact in text, fact
    assert 'schedule as run' not in text          # no provenance, no notes


def test_fidelity_reads_the_schedule_from_the_experiment_file_and_the_provenance_when_present(ws):
    params = _detector_inputs(ws, provenance=True)
    y = ws / 'experiments/detector/rtmdet-nano_synthetic.yaml'
    y.write_text(y.read_text().replace('epochs: 5', 'epochs: 8').replace('batch_size: 32', 'batch_size: 16'))
    text = detector_section(collect(ws, TablesConfig(root=str(ws))), params)
    assert '8 epochs x 1250 iterations at batch 16' in text and 'cosine from epoch 4 of 8' in text
    assert 'the provenance of the committed weights; box AP 0.615' in text
    assert "| schedule as run | one uninterrupted run | from the provenance's notes: Resumed from epoch 5 with epochs 8" in text


def test_fidelity_report_file_carries_the_detector_section(ws):
    params = _detector_inputs(ws)
    build_reports(TablesConfig(root=str(ws), paper_dir=PAPER), params, figures=False)
    fid = (ws / 'reports/fidelity.md').read_text()
    assert "## The person detector's training" in fid and '5 epochs x 625 iterations' in fid
    assert '| Person detector (RTMDet-nano) |' in fid
    assert fid.index("## The paper's CPU figures") < fid.index("## The person detector's training") < fid.index(
        '## What each table used')
