"""`rtmpose tables` on small recorded run data (fixtures/workspace): every cell is measured with its
provenance or `not measured` with a command, paper values never enter a measured column."""
import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from rtmpose.errors import Error
from rtmpose.reports.config import TablesConfig
from rtmpose.reports.measured import collect
from rtmpose.reports.report import build_reports, build_tables
from rtmpose.reports.tables import CSV_FIELDS, to_csv, to_markdown

ROOT = Path(__file__).resolve().parents[2]
PAPER = str(ROOT / 'reports' / 'paper')
WS = Path(__file__).parent / 'fixtures' / 'workspace'


def _cfg(root) -> TablesConfig:
    return TablesConfig(root=str(root), paper_dir=PAPER)


@pytest.fixture(scope='module')
def tables():
    return {t.id: t for t in build_tables(_cfg(WS), WS / 'params.yaml')}


def _cell(t, column, **labels):
    for row in t.rows:
        if all(row[k].text == v for k, v in labels.items()):
            return row[column]
    raise AssertionError(f'{t.id}: no row {labels}')


def test_all_twelve_tables_are_built(tables):
    assert sorted(tables) == [f'table{i:02d}' for i in range(1, 13)]


def test_every_cell_is_measured_with_provenance_or_not_measured_with_command(tables):
    counts = {'measured': 0, 'not measured': 0}
    for t in tables.values():
        for _, key, c in t.cells():
            assert c.kind in ('label', 'measured', 'not measured'), (t.id, key, c.kind)
            if c.kind == 'measured':
                p = c.provenance
                assert p is not None and p.source, (t.id, key)
                assert p.model or p.run, (t.id, key)
                counts['measured'] += 1
            elif c.kind == 'not measured':
                assert c.command.strip(), (t.id, key)
                assert c.measured is None
                counts['not measured'] += 1
    assert counts['measured'] > 20 and counts['not measured'] > 100


def test_csv_has_one_line_per_cell_with_provenance_or_command(tables):
    for t in tables.values():
        rows = list(csv.DictReader(io.StringIO(to_csv(t))))
        assert rows and list(rows[0]) == CSV_FIELDS
        assert len(rows) == sum(1 for _ in t.cells())
        for r in rows:
            if r['status'] == 'measured':
                assert r['source'] and r['measured'], r
            elif r['status'] == 'not measured':
                assert r['command'] and not r['measured'], r
            else:
                assert r['status'] == 'label'


def test_table1_complexity_comes_from_the_recorded_file(tables):
    c = _cell(tables['table01'], 'total_gflops', method='SimCC*')
    assert c.kind == 'measured' and c.measured == pytest.approx(4.027901952)
    assert c.paper == 4.03 and c.delta == '+0.00'
    assert 'complexity_tables.json' in c.provenance.source
    assert _cell(tables['table01'], 'ap', method='Heatmap').kind == 'not measured'


def test_accuracy_on_other_data_is_marked_not_comparable(tables):
    # the ablation AP comes from the synthetic set: shown, but the delta says it is not comparable
    c = _cell(tables['table03'], 'ap', ablation='kernel size', setting='7x7')
    assert c.kind == 'measured' and c.measured == pytest.approx(31.0) and c.paper == 73.3
    assert 'n/c' in c.delta and 'synthetic' in c.delta
    skipped = _cell(tables['table03'], 'ap', ablation='kernel size', setting='3x3')
    assert skipped.kind == 'not measured' and 'ablations.grid: paper' in skipped.command
    assert 'dvc repro ablation@kernel3' in skipped.command
    extra = _cell(tables['table03'], 'ap', setting='final recipe without the GAU')
    assert extra.kind == 'not measured' and extra.paper is None and 'ablation@no_gau' in extra.command


def test_coco_eval_fills_the_matching_row_only(tables):
    t4 = tables['table04']
    hit = _cell(t4, 'ap', method='RTMPose-m', detector='Faster-RCNN', extra_data='AIC(220K)')
    assert hit.kind == 'measured' and hit.measured == pytest.approx(74.93) and hit.delta == '-0.4'
    assert 'AP_H_56' in hit.provenance.box_source and hit.provenance.dataset == 'coco'
    # the COCO-only row and other detectors stay unmeasured
    assert _cell(t4, 'ap', method='RTMPose-m', detector='Faster-RCNN', extra_data='-').kind == 'not measured'
    assert _cell(t4, 'ap', method='RTMPose-m', detector='YOLOv3').kind == 'not measured'


def test_latency_is_measured_here_and_never_set_against_the_paper_at_1_thread(tables):
    # the recorded bench has 1-thread rows only: they fill the 1-thread column, which has no paper value beside
    # it; the paper's figure waits for an all-cores row, with the command that times one
    one = _cell(tables['table11'], 'cpu_1t_ms', method='RTMPose-t')
    assert one.kind == 'measured' and one.measured == pytest.approx(4.10) and one.paper is None and not one.delta
    assert one.provenance.machine == 'Test CPU @ 2.0GHz' and one.provenance.backend.startswith('onnxruntime')
    allc = _cell(tables['table11'], 'cpu_ms', method='RTMPose-t')
    assert allc.kind == 'not measured' and allc.paper == pytest.approx(3.204) and '--threads 1 all' in allc.command
    assert _cell(tables['table11'], 'gpu_ms', method='RTMPose-t').kind == 'not measured'
    # the end-to-end row of rtmpose-m must not be taken for the model-only span
    assert _cell(tables['table11'], 'cpu_1t_ms', method='RTMPose-m', dataset='COCO').measured == pytest.approx(13.2)


def test_snapdragon_is_not_measured_and_the_cpu_proxy_is_labelled(tables):
    t = tables['table10']
    phone = _cell(t, 'ncnn_ms', method='RTMPose-t')
    assert phone.kind == 'not measured' and 'Snapdragon' in phone.command and phone.paper == 9.02
    proxy = _cell(t, 'proxy_ncnn_cpu_ms', method='RTMPose-t')
    assert proxy.kind == 'measured' and proxy.measured == pytest.approx(4.6) and proxy.paper is None
    assert 'not comparable with the phone' in proxy.note
    assert 'proxy' in dict(t.columns)['proxy_ncnn_cpu_ms']


def test_pipeline_table_uses_pipeline_csv(tables):
    c = _cell(tables['table12'], 'cpu_ms', method='RTMDet-nano + RTMPose-t')
    assert c.kind == 'measured' and c.measured == pytest.approx(15.3)
    assert _cell(tables['table12'], 'mobile_ms', method='RTMDet-nano + RTMPose-t').kind == 'not measured'


def test_training_settings_come_from_the_recorded_run(tables):
    t = tables['table07']
    lr = _cell(t, 'value', setting='base learning rate')
    assert lr.kind == 'measured' and lr.measured == 0.004 and lr.delta == '+0.0000'
    assert lr.provenance.run == 'rtmpose-t_synthetic'
    ema = _cell(t, 'value', setting='EMA decay')
    assert ema.measured == 'no EMA (rtmpose-t)' and ema.delta == 'same'  # the paper has no EMA for t either
    assert _cell(t, 'value', setting='training epochs').delta == 'differs (30 vs 420 fine-tune)'
    assert _cell(t, 'value', setting='batch size').delta == 'differs (total 32 vs 1024)'


def test_paper_numbers_never_fill_measured_cells_without_inputs(tmp_path):
    """An empty workspace: all cells not measured, except Table 7 (labelled package defaults)."""
    for t in build_tables(_cfg(tmp_path), tmp_path / 'params.yaml'):
        for _, key, c in t.cells():
            if t.id == 'table07' and c.kind == 'measured':
                assert 'defaults' in c.provenance.source
                continue
            assert c.kind in ('label', 'not measured'), (t.id, key)


def test_markdown_marks_each_cell_and_lists_sources(tables):
    md = to_markdown(tables['table11'])
    assert 'measured \\| paper \\| delta' in md
    assert 'not measured [' in md and 'from reports/bench/latency.csv:2' in md


def test_build_reports_writes_tables_figures_and_fidelity(tmp_path):
    ws = tmp_path / 'ws'
    shutil.copytree(WS, ws)
    written = build_reports(_cfg(ws), ws / 'params.yaml')
    for i in range(1, 13):
        assert (ws / f'reports/tables/table{i:02d}.md').stat().st_size > 200
        assert (ws / f'reports/tables/table{i:02d}.csv').is_file()
    for name in ('fig1_speed_accuracy', 'fig3_roadmap'):
        assert (ws / f'reports/figures/{name}.png').read_bytes()[:4] == b'\x89PNG'
        assert b'<svg' in (ws / f'reports/figures/{name}.svg').read_bytes()[:2000]
    fid = (ws / 'reports/fidelity.md').read_text()
    for topic in ('aic-coco-256x192', 'ground-truth', 'final_layer_kernel_size=1', 'eps 1e-3', 'min(max_x, max_y)',
                  '-0.5 px', 'opset 11'):
        assert topic in fid, topic
    # 12 paper tables + Table 13 (not in the paper); Fig. 1, Fig. 3, the Table 13 Pareto plot (png + svg each); fidelity
    assert len(written) == 13 + 1 + 6 + 1   # tables 1-13, the trained-model table, 6 figures, fidelity
    assert "Inference-side choices" in fid


def test_unreadable_inputs_are_listed_not_used(tmp_path):
    (tmp_path / 'reports/eval').mkdir(parents=True)
    (tmp_path / 'reports/eval/bad.json').write_text(json.dumps({'info': {'model': 'rtmpose-t'}}))
    m = collect(tmp_path)
    assert m.evals == [] and m.skipped == ['reports/eval/bad.json']


def test_missing_paper_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(Error, match='paper tables folder not found'):
        build_tables(TablesConfig(root=str(tmp_path), paper_dir=str(tmp_path / 'nope')), tmp_path / 'params.yaml')


def test_harness_rows_fill_peers_and_rows_that_did_not_run_stay_unmeasured(tables):
    t = tables['table11']
    tiny = _cell(t, 'cpu_1t_ms', method='TinyPose')
    assert tiny.kind == 'measured' and tiny.measured == pytest.approx(3.0)
    assert tiny.provenance.machine == 'Test CPU @ 2.0GHz'          # from reports/bench/machine.json
    # Table 11's TinyPose is the 256x192 model (0.33 GFLOPs), not Table 4's 128x96 (0.08)
    assert _cell(t, 'gflops', method='TinyPose').measured == pytest.approx(0.3207)
    assert _cell(t, 'cpu_1t_ms', method='LiteHRNet-30').kind == 'not measured'
    # the TensorRT row has status "not available": no GPU cell may claim it
    assert _cell(t, 'gpu_ms', method='RTMPose-t').kind == 'not measured'


def test_one_run_can_fill_several_paper_rows(tables):
    # the final recipe is both the 7x7-kernel row and the 1/tau = 10 row of Table 3
    c = _cell(tables['table03'], 'ap', ablation='1/tau', setting='10')
    assert c.kind == 'measured' and c.provenance.run == 'ablation-final'


def test_cli_paths_resolve_flag_over_set_over_params_section(tmp_path, capsys):
    from rtmpose.cli import main
    from rtmpose.reports.cli import configure, resolve
    import argparse
    ws = tmp_path / 'ws'
    shutil.copytree(WS, ws)
    p = argparse.ArgumentParser()
    configure(p)
    cfg = resolve(p.parse_args(['--root', str(ws)]))
    # the section's value, the run and ablation folders from train.* / ablations.results_dir, defaults otherwise
    assert cfg.out == 'reports/tables' and cfg.train_run == 'rtmpose-t_synthetic'
    assert cfg.runs_dir == 'experiments/runs' and cfg.ablation_results == 'experiments/ablations/results'
    assert cfg.figures == 'reports/figures' and cfg.root == str(ws)
    assert resolve(p.parse_args(['--root', str(ws), '--set', 'out=a'])).out == 'a'
    assert resolve(p.parse_args(['--root', str(ws), '--set', 'out=a', '--out', 'b'])).out == 'b'
    assert main(['tables', '--root', str(ws), '--paper-dir', PAPER, '--out', 'mine', '--no-figures']) == 0
    assert (ws / 'mine/table07.md').is_file() and (ws / 'reports/fidelity.md').is_file()
    assert not (ws / 'reports/tables').exists() and not (ws / 'reports/figures').exists()
    # the same tables as the library builds from the same inputs
    assert (ws / 'mine/table07.csv').read_text() == to_csv(
        next(t for t in build_tables(_cfg(ws), ws / 'params.yaml') if t.id == 'table07'))


def test_cli_run_folder_is_not_repeated_under_tables(tmp_path, capsys):
    from rtmpose.cli import main
    params = tmp_path / 'params.yaml'
    params.write_text('train: {name: r, runs_dir: experiments/runs}\nablations: {results_dir: x}\n'
                      'tables: {runs_dir: elsewhere}\n')
    assert main(['tables', '--params', str(params), '--root', str(tmp_path), '--no-figures']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'runs_dir' in err[0] and 'train.runs_dir' in err[0]
    params.write_text('train: {name: r, runs_dir: experiments/runs}\nablations: {results_dir: x}\n')
    assert main(['tables', '--params', str(params), '--root', str(tmp_path), '--no-figures']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(params) in err[0] and "'tables'" in err[0]
