"""Tables 2/3 and Fig. 3 read the grid's summary.csv: mean with its 95% interval over seeds, the paired
difference against the final recipe, `n.s.` when that interval contains 0."""
import csv
import shutil
from pathlib import Path

from rtmpose.reports.ablations import delta_text, interval_text, read_summary
from rtmpose.reports.config import TablesConfig
from rtmpose.reports.report import build_reports, build_tables
from rtmpose.train.ablation import SUMMARY_FIELDS

WS = Path(__file__).parent / 'fixtures' / 'workspace'
PAPER = str(Path(__file__).resolve().parents[2] / 'reports' / 'paper')


def _row(variant, mean, lo, hi, delta='', dlo='', dhi='', sig=''):
    r = {k: '' for k in SUMMARY_FIELDS}
    r.update(variant=variant, n_seeds=3, seeds='21 22 23', AP_mean=mean, AP_ci_low=lo, AP_ci_high=hi,
             reference='final', delta_AP=delta, delta_ci_low=dlo, delta_ci_high=dhi, significant=sig,
             interval='t-interval over seeds, 95%')
    return r


def _workspace(tmp_path) -> Path:
    ws = tmp_path / 'ws'
    shutil.copytree(WS, ws)
    (ws / 'reports/ablations').mkdir(parents=True)
    with open(ws / 'reports/ablations/summary.csv', 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=SUMMARY_FIELDS)
        w.writeheader()
        w.writerow(_row('final', 0.40, 0.36, 0.44))
        w.writerow(_row('kernel1', 0.30, 0.27, 0.33, -0.10, -0.13, -0.07, 'yes'))
        w.writerow(_row('no_gau', 0.39, 0.33, 0.45, -0.01, -0.05, 0.03, 'n.s.'))
    return ws


def _cell(t, column, **labels):
    for row in t.rows:
        if all(row[k].text == v for k, v in labels.items()):
            return row[column]
    raise AssertionError(f'{t.id}: no row {labels}')


def test_summary_texts():
    s = read_summary(str(WS / 'nothing.csv'))
    assert s == {}
    assert interval_text({'AP_mean': 0.4, 'AP_ci_low': 0.36, 'AP_ci_high': 0.44, 'n_seeds': 3}) == '40.0 [36.0, 44.0] (n=3)'
    assert delta_text({'delta_AP': -0.01, 'delta_ci_low': -0.05, 'delta_ci_high': 0.03, 'significant': 'n.s.'}) \
        == 'n.s. (-1.0 [-5.0, +3.0])'
    assert delta_text({'delta_AP': -0.1, 'delta_ci_low': -0.13, 'delta_ci_high': -0.07, 'significant': 'yes'}) \
        == '-10.0 [-13.0, -7.0]'


def test_table3_cells_carry_interval_and_paired_difference(tmp_path):
    ws = _workspace(tmp_path)
    tables = {t.id: t for t in build_tables(TablesConfig(root=str(ws), paper_dir=PAPER), ws / 'params.yaml')}
    t3 = tables['table03']
    assert _cell(t3, 'ci', ablation='kernel size', setting='7x7').text == '40.0 [36.0, 44.0] (n=3)'
    assert _cell(t3, 'vs_final', ablation='kernel size', setting='7x7').text == 'reference'
    assert _cell(t3, 'vs_final', ablation='kernel size', setting='1x1').text == '-10.0 [-13.0, -7.0]'
    assert _cell(t3, 'vs_final', setting='final recipe without the GAU').text.startswith('n.s.')
    assert _cell(t3, 'ci', ablation='kernel size', setting='3x3').text == ''    # not run: no interval
    assert any('t interval' in n.lower() or 't-interval' in n for n in t3.notes)
    t2 = tables['table02']
    assert any(r['ci'].text == '30.0 [27.0, 33.0] (n=3)' for r in t2.rows)   # kernel1 is the separate-sigma step
    written = build_reports(TablesConfig(root=str(ws), paper_dir=PAPER), ws / 'params.yaml')
    assert (ws / 'reports/figures/fig3_roadmap.png').read_bytes()[:4] == b'\x89PNG'
    assert any('fig3_roadmap' in str(w) for w in written)


def test_a_fresh_mean_outside_the_committed_interval_is_marked(tmp_path):
    """Committed summary + results with the same settings and seeds: a fresh mean outside the committed
    interval is marked; one inside, or one from other settings, is not."""
    import json
    import subprocess
    import yaml
    from rtmpose.reports.ablations import variant_table
    ws = tmp_path / 'repo'
    (ws / 'reports/ablations').mkdir(parents=True)
    (ws / 'results').mkdir()
    params = {'ablations': {'results_dir': 'results', 'summary': 'reports/ablations/summary.csv',
                            'seeds': [21, 22, 23], 'variants': {'final': {'grids': ['default']},
                                                                'kernel1': {'grids': ['default']}}}}
    (ws / 'params.yaml').write_text(yaml.safe_dump(params))

    def write(rows, sets):
        with open(ws / 'reports/ablations/summary.csv', 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=SUMMARY_FIELDS)
            w.writeheader()
            for r in rows:
                w.writerow(r)
        for r in rows:
            (ws / f"results/{r['variant']}.json").write_text(json.dumps(
                {'status': 'done', 'sets': sets[r['variant']], 'seeds': [21, 22, 23]}))

    git = dict(cwd=ws, check=True, capture_output=True)
    subprocess.run(['git', 'init', '-q'], **git)
    write([_row('final', 0.40, 0.36, 0.44), _row('kernel1', 0.30, 0.27, 0.33)],
          {'final': ['epochs=12'], 'kernel1': ['epochs=12', 'k=1']})
    subprocess.run(['git', 'add', '-A'], **git)
    subprocess.run(['git', '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'grid'], **git)
    # another machine: final moved outside its committed interval, kernel1 stayed inside; then kernel1's
    # settings change (a new schedule is not compared with the old one)
    write([_row('final', 0.47, 0.45, 0.49), _row('kernel1', 0.31, 0.28, 0.34)],
          {'final': ['epochs=12'], 'kernel1': ['epochs=12', 'k=1']})
    v = variant_table(str(ws / 'params.yaml'))
    assert 'OUTSIDE the committed interval [36.0, 44.0]' in interval_text(v['final']['summary'], v['final']['committed'])
    assert 'OUTSIDE' not in interval_text(v['kernel1']['summary'], v['kernel1']['committed'])
    write([_row('final', 0.47, 0.45, 0.49), _row('kernel1', 0.10, 0.08, 0.12)],
          {'final': ['epochs=12'], 'kernel1': ['epochs=24', 'k=1']})
    v = variant_table(str(ws / 'params.yaml'))
    assert v['kernel1']['committed'] is None
    assert 'OUTSIDE' not in interval_text(v['kernel1']['summary'], v['kernel1']['committed'])
