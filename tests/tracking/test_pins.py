"""The MLflow client the suite logs with and the server `make ui` installs are one release."""
import re
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ('mlflow', 'mlflow-skinny', 'mlflow-tracing')


def pins() -> dict[str, str]:
    out = {}
    for line in (REPO / 'constraints.txt').read_text().splitlines():
        m = re.match(r'\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s#;]+)', line)
        if m:
            out[m.group(1).lower().replace('_', '-')] = m.group(2)
    return out


def test_mlflow_packages_pinned_together():
    p = pins()
    assert all(name in p for name in PACKAGES), f'constraints.txt must pin {", ".join(PACKAGES)}'
    assert p['mlflow'] == p['mlflow-skinny'] == p['mlflow-tracing'], {n: p[n] for n in PACKAGES}


def test_pyproject_range_admits_the_pin():
    from packaging.requirements import Requirement
    text = (REPO / 'pyproject.toml').read_text()
    (spec,) = re.findall(r'"(mlflow-skinny[^"]*)"', text)
    assert Requirement(spec).specifier.contains(pins()['mlflow-skinny'])


def test_installed_client_matches_the_pin():
    try:
        installed = metadata.version('mlflow-skinny')
    except metadata.PackageNotFoundError:
        pytest.skip('mlflow-skinny is not installed')
    assert installed == pins()['mlflow-skinny'], 'run `make install` (constraints.txt changed)'
    try:                                            # the server, once `make ui` installed it
        server = metadata.version('mlflow')
    except metadata.PackageNotFoundError:
        return
    assert server == installed
