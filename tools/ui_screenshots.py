"""Screenshots (and the rendered text) of `make ui`'s MLflow pages in headless Chromium: the ablation grid's runs
and the compare page of its variant parents. Used by tests/tracking/test_ui_browser.py and to make the images
the README shows:

    make ui &                                   # the server on 127.0.0.1:5000 over mlflow.db
    python tools/ui_screenshots.py --store sqlite:///mlflow.db --url http://127.0.0.1:5000 --out docs

MLflow 3 opens in its GenAI mode unless the address says otherwise: the pages are opened with
`?workflowType=machine_learning`, the address `make ui` prints.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

CHROMIUM_FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync',
                  '--hide-scrollbars')
ML = 'workflowType=machine_learning'


def chromium() -> str | None:
    return shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')


def render(url: str, png: str | Path | None = None, size: str = '1500,900', budget_ms: int = 25000) -> str:
    """The page's DOM after its scripts ran (Chromium's --dump-dom), and a screenshot when `png` is given."""
    exe = chromium()
    if exe is None:
        raise RuntimeError('no Chromium: apt-get install chromium')
    with tempfile.TemporaryDirectory() as profile:
        base = [exe, *CHROMIUM_FLAGS, f'--user-data-dir={profile}', f'--virtual-time-budget={budget_ms}',
                f'--window-size={size}']
        dom = subprocess.run([*base, '--dump-dom', url], capture_output=True, text=True, timeout=180).stdout
        if png is not None:
            subprocess.run([*base, f'--screenshot={png}', url], capture_output=True, timeout=180, check=True)
    return dom


def ablation_pages(store: str, url: str) -> dict[str, str]:
    """{'runs': runs list of the ablations experiment, 'compare': compare page of its variant parent runs}."""
    import mlflow
    client = mlflow.MlflowClient(store)
    exp = client.get_experiment_by_name('ablations')
    if exp is None:
        raise RuntimeError(f'{store}: no ablations experiment (run the ablation grid first)')
    parents = [r for r in client.search_runs([exp.experiment_id], max_results=1000)
               if r.data.tags.get('stage') == 'variant' and r.info.status == 'FINISHED']
    ids = json.dumps([r.info.run_id for r in parents])
    return {'runs': f'{url}/#/experiments/{exp.experiment_id}/runs?{ML}',
            'compare': f'{url}/#/compare-runs?runs={quote(ids)}&experiments={quote(json.dumps([exp.experiment_id]))}'
                       f'&{ML}'}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--store', default='sqlite:///mlflow.db')
    p.add_argument('--url', default='http://127.0.0.1:5000')
    p.add_argument('--out', default='docs')
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, page in ablation_pages(args.store, args.url).items():
        render(page, out / f'mlflow-ablations-{name}.png', size='1600,1000')
        print(f'{out}/mlflow-ablations-{name}.png <- {page}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
