import pytest

from tests.robustness.robust_helpers import rtmpose


@pytest.fixture(scope='session')
def tiny_set(tmp_path_factory):
    out = tmp_path_factory.mktemp('robust') / 'synthetic'
    r = rtmpose('prepare', 'synthetic', '--out', str(out), '--num-train', '8', '--num-val', '4', '--width', '96',
                '--height', '96', '--max-people', '1')
    assert r.returncode == 0, r.stderr
    return str(out)


from tests.train.conftest import tiny_data  # noqa: E402,F401  (the shrunk synthetic set, shared)
