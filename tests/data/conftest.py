import os

import pytest

os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')


@pytest.fixture(scope='session')
def synthetic_dir(tmp_path_factory):
    """A small synthetic set shared by the data tests."""
    from rtmpose.data.synthetic import make_synthetic
    out = tmp_path_factory.mktemp('synthetic') / 'synthetic'
    make_synthetic(out, seed=3, num_train=12, num_val=6, progress=False)
    return out


# the native-format fixture builders live next to the tests
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
