"""Fixtures shared by the report tests: the paper's tables and a writable copy of the fixture workspace."""
import shutil
from pathlib import Path

import pytest

from rtmpose.paper import load_paper

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / 'fixtures'
WORKSPACE = FIXTURES / 'workspace'


@pytest.fixture(scope='module')
def paper():
    return load_paper(ROOT / 'reports' / 'paper')


@pytest.fixture
def ws(tmp_path):
    """A copy of the fixture workspace (reports/, experiments/ of a small run) to add results to."""
    d = tmp_path / 'ws'
    shutil.copytree(WORKSPACE, d)
    return d
