"""`make ui` in a real browser (headless Chromium): on a store made by a small ablation grid, the ablations
experiment opens on its runs and the compare page of the variant parents renders their names and AP."""
import csv
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_ablation_runs_and_their_comparison_render_in_a_browser(tmp_path, tiny_data, monkeypatch):
    pytest.importorskip('mlflow.server', reason='the MLflow server is not installed (make ui installs it)')
    sys.path.insert(0, str(REPO / 'tools'))
    import ui_screenshots
    if ui_screenshots.chromium() is None:
        pytest.skip('no Chromium (make test-slow installs Debian chromium)')
    from rtmpose.train.ablation import run_variant, summarize
    from tests.train.test_seeds import _tiny_grid
    store = f'sqlite:///{tmp_path}/mlflow.db'
    monkeypatch.setenv('RTMPOSE_NO_MLFLOW', '0')
    monkeypatch.setenv('MLFLOW_TRACKING_URI', store)
    params = _tiny_grid(tmp_path, tiny_data, seeds=[3, 4])
    for name in ('final', 'kernel1'):
        run_variant(name, params)
    summarize(params)
    summary = {r['variant']: r for r in csv.DictReader(open(tmp_path / 'summary.csv'))}

    port = _free_port()
    server = subprocess.Popen(['make', '--no-print-directory', 'ui', f'MLFLOW_TRACKING_URI={store}',
                               f'UI_PORT={port}'], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    url = f'http://127.0.0.1:{port}'
    try:
        t0 = time.time()
        while True:
            try:
                urllib.request.urlopen(f'{url}/health', timeout=5)
                break
            except OSError:
                assert server.poll() is None and time.time() - t0 < 300, server.stdout.read()
                time.sleep(2)
        pages = ui_screenshots.ablation_pages(store, url)
        runs_dom = ui_screenshots.render(pages['runs'], tmp_path / 'runs.png')
        compare_dom = ui_screenshots.render(pages['compare'], tmp_path / 'compare.png', size='1600,1000')
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    # the experiment opens on its runs (not MLflow 3's GenAI overview), with the description and both variants
    assert 'ablation-final' in runs_dom and 'ablation-kernel1' in runs_dom, runs_dom[-3000:]
    assert 'roadmap ablation grid' in runs_dom and 'Traces' not in runs_dom.split('ablation-final')[0][-2000:]
    # the compare page shows both variants, their AP_mean values and the settings that tell them apart
    for name in ('final', 'kernel1'):
        assert f'ablation-{name}' in compare_dom
        ap = float(summary[name]['AP_mean'])
        assert f'{ap:.4f}'.rstrip('0')[:5] in compare_dom or f'{ap:.3g}' in compare_dom, (name, ap)
    assert 'setting.model_overrides.final_layer_kernel_size' in compare_dom
    for png in ('runs.png', 'compare.png'):
        assert (tmp_path / png).stat().st_size > 20_000   # a rendered page, not a blank one
