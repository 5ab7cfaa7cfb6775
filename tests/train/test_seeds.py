"""Seeds, intervals and paired differences of the ablation grid, and reruns that repeat bit for bit."""
import csv
import json
import os
import shutil

import pytest
import torch
import yaml

from rtmpose.errors import Error
from rtmpose.train.ablation import load_ablations, run_variant, summarize, t_interval
from tests.train.conftest import run_cli, tiny_config


def test_t_interval_is_the_student_t_interval_of_the_mean():
    st = t_interval([0.1, 0.2, 0.3], 0.95)
    # t_{0.975, 2} = 4.3027 (any t table); sd = 0.1
    assert st['n'] == 3 and st['mean'] == pytest.approx(0.2) and st['sd'] == pytest.approx(0.1)
    assert st['half_width'] == pytest.approx(4.3027 * 0.1 / 3 ** 0.5, rel=1e-4)
    assert (st['low'], st['high']) == pytest.approx((0.2 - st['half_width'], 0.2 + st['half_width']))
    one = t_interval([0.4])
    assert one['mean'] == 0.4 and one['low'] != one['low']   # NaN: no interval from one seed


def _results(tmp_path, aps: dict[str, dict[int, float]], seeds=(21, 22, 23), reference='final'):
    res = tmp_path / 'results'
    res.mkdir()
    variants = {}
    for name, per_seed in aps.items():
        variants[name] = {'grids': ['default'], 'table03': name}
        (res / f'{name}.json').write_text(json.dumps({
            'variant': name, 'status': 'done', 'table03': name, 'roadmap': None, 'wall_time_s': 1.0,
            'per_seed': [{'seed': s, 'metrics': {'AP': ap}} for s, ap in per_seed.items()]}))
    params = tmp_path / 'params.yaml'
    params.write_text(yaml.safe_dump({'ablations': {
        'results_dir': str(res), 'summary': str(tmp_path / 'summary.csv'), 'seeds': list(seeds),
        'reference': reference, 'variants': variants}}))
    return str(params)


def test_summary_pairs_differences_by_seed_and_marks_what_is_not_significant(tmp_path):
    params = _results(tmp_path, {
        'final': {21: 0.50, 22: 0.52, 23: 0.54},
        'kernel1': {21: 0.40, 22: 0.43, 23: 0.45},      # deltas -0.10 -0.09 -0.09: clearly below 0
        'beta1': {21: 0.51, 22: 0.51, 23: 0.55},        # deltas +0.01 -0.01 +0.01: interval holds 0
        'no_gau': {21: 0.30, 24: 0.90},                 # only seed 21 pairs with the reference
    })
    os.environ['RTMPOSE_NO_MLFLOW'] = '1'
    summarize(params)
    rows = {r['variant']: r for r in csv.DictReader(open(tmp_path / 'summary.csv'))}
    for col in ('variant', 'n_seeds', 'AP_mean', 'AP_ci_low', 'AP_ci_high', 'delta_AP', 'delta_ci_low',
                'delta_ci_high', 'significant', 'interval'):
        assert col in rows['final'], col
    assert 't-interval' in rows['final']['interval'] and '95%' in rows['final']['interval']
    f = t_interval([0.50, 0.52, 0.54])
    assert float(rows['final']['AP_mean']) == pytest.approx(0.52)
    assert float(rows['final']['AP_ci_low']) == pytest.approx(f['low'], abs=1e-6)
    assert rows['final']['delta_AP'] == '' and rows['final']['significant'] == ''
    k = rows['kernel1']
    d = t_interval([-0.10, -0.09, -0.09])
    assert float(k['delta_AP']) == pytest.approx(d['mean'], abs=1e-6)
    assert float(k['delta_ci_high']) == pytest.approx(d['high'], abs=1e-6) and float(k['delta_ci_high']) < 0
    assert k['significant'] == 'yes' and k['n_paired'] == '3'
    assert rows['beta1']['significant'] == 'n.s.'
    assert float(rows['beta1']['delta_ci_low']) < 0 < float(rows['beta1']['delta_ci_high'])
    # unpaired seeds are not mixed in: one pair gives a difference without an interval
    g = rows['no_gau']
    assert g['n_paired'] == '1' and float(g['delta_AP']) == pytest.approx(-0.20) and g['significant'] == ''
    assert g['n_seeds'] == '2'


def test_seeds_must_be_distinct_integers(tmp_path):
    p = tmp_path / 'params.yaml'
    p.write_text(yaml.safe_dump({'ablations': {'seeds': [1, 1]}}))
    with pytest.raises(Error, match='seeds must not repeat'):
        load_ablations(str(p))
    p.write_text(yaml.safe_dump({'ablations': {'seeds': []}}))
    with pytest.raises(Error, match='seeds must be a non-empty list'):
        load_ablations(str(p))


def _tiny_grid(tmp_path, tiny_data, seeds, jobs=1, experiment='ablations'):
    base = tiny_config(tmp_path, tiny_data, name='base', epochs=1, stage2_epochs=0, val_interval=1)
    params = tmp_path / 'params.yaml'
    params.write_text(yaml.safe_dump({'ablations': {
        'grid': 'default', 'base': base, 'eval_dataset': 'synthetic', 'runs_dir': str(tmp_path / 'runs'),
        'results_dir': str(tmp_path / 'results'), 'summary': str(tmp_path / 'summary.csv'),
        'seeds': seeds, 'jobs': jobs, 'threads': 1, 'experiment': experiment, 'train_sets': ['train_limit=8'],
        'variants': {
            'final': {'description': 'final recipe', 'roadmap': 'kernel7', 'table03': ['kernel7', 'beta10'],
                      'grids': ['default']},
            'kernel1': {'description': '1x1 final convolution', 'roadmap': 'separate_sigma', 'table03': 'kernel1',
                        'sets': ['model_overrides.final_layer_kernel_size=1'], 'grids': ['default']}}}}))
    return str(params)


def test_each_variant_trains_every_seed_and_records_them(tmp_path, tiny_data, monkeypatch):
    monkeypatch.setenv('RTMPOSE_NO_MLFLOW', '1')
    params = _tiny_grid(tmp_path, tiny_data, seeds=[3, 4])
    r = run_variant('final', params)
    assert r['status'] == 'done' and [p['seed'] for p in r['per_seed']] == [3, 4]
    assert r['runs'] == ['ablation-final-seed3', 'ablation-final-seed4']
    for p in r['per_seed']:
        cfg = json.loads(open(os.path.join(p['run_dir'], 'config.json')).read())
        assert cfg['config']['seed'] == p['seed'] and 'AP' in p['metrics']
        rep = p['reproducibility']
        assert rep['seed'] == p['seed'] and rep['torch'] == torch.__version__ and rep['torch_threads'] == 1
        assert rep['opencv_threads'] == 1 and rep['cpu'] and 'deterministic' in rep   # cv2.setNumThreads(0)
    # the two seeds are two different runs, and the record's mean is their mean
    a, b = (torch.load(os.path.join(p['run_dir'], 'final.pth'), weights_only=True)['state_dict']
            for p in r['per_seed'])
    assert any(not torch.equal(a[k], b[k]) for k in a)
    # (the record's means: test_variant_record_averages_the_seeds; this one-epoch run's AP is 0 for both seeds)
    assert r['AP']['n'] == 2 and set(r['metrics']) == set(r['per_seed'][0]['metrics'])
    saved = json.loads(open(tmp_path / 'results' / 'final.json').read())
    assert [p['seed'] for p in saved['per_seed']] == [3, 4]


def test_variant_record_averages_the_seeds(tmp_path, tiny_data, monkeypatch):
    """The variant's metrics are the mean over its seeds and its AP interval their t-interval, on per-seed
    results that differ (a real tiny run scores AP 0 for every seed, where any mean would be 0 == 0)."""
    import rtmpose.train.ablation as ablation
    monkeypatch.setenv('RTMPOSE_NO_MLFLOW', '1')
    params = _tiny_grid(tmp_path, tiny_data, seeds=[3, 4, 5])
    per_seed = {3: dict(AP=0.30, AR=0.50), 4: dict(AP=0.50, AR=0.60), 5: dict(AP=0.46, AR=0.64)}
    monkeypatch.setattr(ablation, '_run_jobs', lambda jobs, processes: [
        dict(seed=j['seed'], run=j['run'], run_dir=str(tmp_path / j['run']), metrics=per_seed[j['seed']],
             info={'model': 'rtmpose-t', 'dataset': 'synthetic', 'boxes': 'ground-truth boxes'},
             train_time_s=1.0, wall_s=1.0, reproducibility={}) for j in jobs])
    r = run_variant('final', params)
    assert r['status'] == 'done' and [p['seed'] for p in r['per_seed']] == [3, 4, 5]
    assert r['metrics']['AP'] == pytest.approx(0.42, abs=1e-12) and r['metrics']['AR'] == pytest.approx(0.58, abs=1e-12)
    st = t_interval([0.30, 0.50, 0.46])
    assert r['AP']['n'] == 3 and r['AP']['mean'] == pytest.approx(0.42, abs=1e-12)
    assert (r['AP']['low'], r['AP']['high']) == pytest.approx((st['low'], st['high']), abs=1e-12)
    assert st['low'] < 0.30 and st['high'] > 0.50             # a real interval, not a point
    assert json.loads((tmp_path / 'results' / 'final.json').read_text())['metrics'] == r['metrics']


def _train_once(tmp_path, path, copy_to):
    r = run_cli(['train', '-c', path, '--no-progress', '--fresh'])
    assert r.returncode == 0, r.stderr
    shutil.copytree(tmp_path / 'runs' / 'again', copy_to)


@pytest.mark.slow  # the default tier's fresh-clone test compares two clones' trained results byte for byte
def test_same_command_twice_gives_byte_identical_checkpoints_and_metrics(tmp_path, tiny_data):
    """Same commit, machine and threads (OMP_NUM_THREADS=1): a rerun repeats every weight and metric."""
    path = tiny_config(tmp_path, tiny_data, name='again', epochs=2, stage2_epochs=1, val_interval=1)
    _train_once(tmp_path, path, tmp_path / 'first')
    _train_once(tmp_path, path, tmp_path / 'second')
    one, two = tmp_path / 'first', tmp_path / 'second'
    assert (one / 'final.pth').read_bytes() == (two / 'final.pth').read_bytes()
    a = torch.load(one / 'last.pth', weights_only=False)
    b = torch.load(two / 'last.pth', weights_only=False)
    for part in ('model', 'state_dict'):
        assert a[part].keys() == b[part].keys()
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part
    # metrics exactly; only the wall-clock times may differ
    ma, mb = (json.loads((d / 'metrics.json').read_text()) for d in (one, two))
    ma.pop('train_time_s'), mb.pop('train_time_s')
    assert ma == mb and 'AP' in ma
    ca, cb = (json.loads((d / 'config.json').read_text()) for d in (one, two))
    assert ca == cb and ca['reproducibility']['omp_num_threads'] == '1'


@pytest.mark.slow  # MLflow's SQLite schema set-up alone takes ~30 s here
def test_mlflow_parent_run_per_variant_with_child_runs_per_seed(tmp_path, tiny_data, monkeypatch):
    pytest.importorskip('mlflow')
    uri = f'sqlite:///{tmp_path / "mlflow.db"}'
    monkeypatch.setenv('RTMPOSE_NO_MLFLOW', '0')
    monkeypatch.setenv('MLFLOW_TRACKING_URI', uri)
    params = _tiny_grid(tmp_path, tiny_data, seeds=[3, 4], jobs=2)   # two processes: children nest across them
    for name in ('final', 'kernel1'):
        run_variant(name, params)
    summarize(params)
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=uri)
    assert client.get_experiment_by_name('train') is None    # the grid is not mixed with the training runs
    exp = client.get_experiment_by_name('ablations')
    runs = client.search_runs([exp.experiment_id])
    parents = {r.info.run_name: r for r in runs if 'mlflow.parentRunId' not in r.data.tags}
    assert set(parents) == {'ablation-final', 'ablation-kernel1'}
    k1 = parents['ablation-kernel1']
    assert k1.data.tags['mlflow.note.content'] == '1x1 final convolution'
    assert k1.data.tags['roadmap_step'] == 'separate_sigma' and k1.data.tags['table03'] == 'kernel1'
    final = parents['ablation-final']
    # every variant carries its full effective settings: the final recipe shows its own kernel, 1/tau, GAU
    assert k1.data.params['setting.model_overrides.final_layer_kernel_size'] == '1'
    assert final.data.params['setting.model_overrides.final_layer_kernel_size'] == '7'
    assert final.data.params['setting.loss_beta'] == '10.0' and final.data.params['setting.model_overrides.use_gau'] == 'True'
    assert final.data.params['variant_sets'] == 'none (the final recipe)'
    for m in ('AP_mean', 'AP_ci_low', 'AP_ci_high', 'delta_AP', 'delta_ci_low', 'delta_ci_high'):
        assert m in k1.data.metrics, m
    assert 'delta_AP' not in final.data.metrics and final.data.tags['significant'] == 'reference'
    # the same values as the committed summary, and the summary table and figure as artifacts of each parent
    import csv
    summary = {r['variant']: r for r in csv.DictReader(open(tmp_path / 'summary.csv'))}
    for name, run in (('kernel1', k1), ('final', final)):
        assert run.data.metrics['AP_mean'] == pytest.approx(float(summary[name]['AP_mean']), abs=1e-6)
        from urllib.parse import urlparse

        from rtmpose.mlflow_log import local_artifacts_root
        folder = local_artifacts_root(uri) / urlparse(run.info.artifact_uri).path.lstrip('/')   # what `mlflow ui` serves
        assert {'summary.csv', 'ablation_ap.png'} <= set(os.listdir(folder)), folder
    assert k1.data.metrics['delta_AP'] == pytest.approx(float(summary['kernel1']['delta_AP']), abs=1e-6)
    children = [r for r in runs if r.data.tags.get('mlflow.parentRunId') == k1.info.run_id]
    assert sorted(r.info.run_name for r in children) == ['ablation-kernel1-seed3', 'ablation-kernel1-seed3-eval',
                                                          'ablation-kernel1-seed4', 'ablation-kernel1-seed4-eval']
    for r in children:   # the distinguishing setting on both the train and the eval runs, each run FINISHED
        assert r.data.params['setting.model_overrides.final_layer_kernel_size'] == '1'
        assert r.data.tags['seed'] in ('3', '4') and r.info.status == 'FINISHED'
        assert 'None' not in r.data.params.values()
    results = json.loads((tmp_path / 'results' / 'kernel1.json').read_text())
    for p in results['per_seed']:   # each seed's eval run holds that seed's metrics
        ev = next(r for r in children if r.info.run_name == f'ablation-kernel1-seed{p["seed"]}-eval')
        assert ev.data.metrics['AP'] == pytest.approx(p['metrics']['AP'], abs=1e-9)
    train_child = next(r for r in children if r.info.run_name == 'ablation-kernel1-seed3')
    assert train_child.data.params['reproducibility.seed'] == '3'
    assert train_child.data.params['reproducibility.torch_threads'] == '1'
    eval_child = next(r for r in children if r.info.run_name == 'ablation-kernel1-seed3-eval')
    assert 'AP' in eval_child.data.metrics


def test_train_stage_runs_every_seed_and_reports_the_interval(tmp_path, tiny_data):
    path = tiny_config(tmp_path, tiny_data, name='multi', epochs=1, stage2_epochs=0, seeds=[5, 6], train_limit=8)
    r = run_cli(['train', '-c', path, '--no-progress', '--report-dir', str(tmp_path / 'report'),
                 '--seeds-json', str(tmp_path / 'report/seeds.json')])
    assert r.returncode == 0, r.stderr
    first = json.loads((tmp_path / 'runs/multi/config.json').read_text())
    other = json.loads((tmp_path / 'runs/multi-seed6/config.json').read_text())
    assert first['config']['seed'] == 5 and other['config']['seed'] == 6
    assert first['reproducibility']['seed'] == 5
    seeds = json.loads((tmp_path / 'report/seeds.json').read_text())
    assert seeds['n_seeds'] == 2 and [p['seed'] for p in seeds['per_seed']] == [5, 6]
    assert [p['run'] for p in seeds['per_seed']] == ['multi', 'multi-seed6']
    assert 'AP_mean' in seeds and 'AP_ci_half_width' in seeds   # values: test_seeds_report_is_the_interval...
    # the report's metrics.json stays the first seed's (the model the later stages use)
    assert json.loads((tmp_path / 'report/metrics.json').read_text()) == \
        json.loads((tmp_path / 'runs/multi/metrics.json').read_text())
    bad = tiny_config(tmp_path, tiny_data, name='bad', seeds=[5, 5])
    r = run_cli(['train', '-c', bad, '--no-progress'])
    assert r.returncode == 2 and 'seeds must be distinct integers' in r.stderr


def test_seeds_report_is_the_interval_of_the_seeds(tmp_path, monkeypatch):
    """seeds.json holds the per-seed APs, their mean and t-interval, on APs that differ (a real one-epoch run
    scores AP 0 for every seed, where the mean and the half width would be 0 == 0)."""
    import dataclasses

    import rtmpose.train.trainer as trainer
    from rtmpose.train.config import TrainConfig
    aps = {5: 0.30, 6: 0.50, 7: 0.46}

    def fake_train(cfg, resume=True, progress=True, run=None, **kw):
        os.makedirs(cfg.out_dir, exist_ok=True)
        for name in ('metrics.json', 'log.csv', 'curve.png'):
            with open(os.path.join(cfg.out_dir, name), 'w') as f:
                f.write(json.dumps({'AP': aps[cfg.seed]}) if name == 'metrics.json' else name)
        return {'AP': aps[cfg.seed], 'final_loss': 1.0}
    monkeypatch.setattr(trainer, 'train', fake_train)
    cfg = dataclasses.replace(TrainConfig(), name='multi', runs_dir=str(tmp_path / 'runs'), seeds=[5, 6, 7])
    first = trainer.run_training(cfg, 'test', mlflow=False, report_dir=str(tmp_path / 'report'),
                                 seeds_json=str(tmp_path / 'report' / 'seeds.json'))
    assert first['AP'] == 0.30
    seeds = json.loads((tmp_path / 'report' / 'seeds.json').read_text())
    st = t_interval([0.30, 0.50, 0.46])
    assert seeds['n_seeds'] == 3 and [p['AP'] for p in seeds['per_seed']] == [0.30, 0.50, 0.46]
    assert seeds['AP_mean'] == pytest.approx(0.42, abs=1e-12)
    assert seeds['AP_ci_half_width'] == pytest.approx(st['half_width'], abs=1e-12) and st['half_width'] > 0.1
    assert (seeds['AP_ci_low'], seeds['AP_ci_high']) == pytest.approx((st['low'], st['high']), abs=1e-12)
    assert json.loads((tmp_path / 'report' / 'metrics.json').read_text()) == {'AP': 0.30}   # the first seed's
    assert seeds['settings']['epochs'] == cfg.epochs and 'seed' not in seeds['settings']   # what the spread is of
