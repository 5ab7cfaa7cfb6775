"""`rtmpose check` refuses what would otherwise stop `dvc repro` halfway, in one line that names the key."""
from __future__ import annotations

import pytest
import yaml

from rtmpose.commands.check import check_params
from rtmpose.errors import Error
from tests.pipeline.clones import REPO


def _params(tmp_path, num_val: int, frame: str) -> str:
    params = yaml.safe_load((REPO / 'params.yaml').read_text())
    params['data']['synthetic']['num_val'] = num_val
    params['pipeline']['bench_image'] = frame
    out = tmp_path / 'params.yaml'
    out.write_text(yaml.safe_dump(params, sort_keys=False))
    return str(out)


def test_a_bench_frame_beyond_the_rendered_val_images_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)    # the paths params.yaml names are the repository's
    path = _params(tmp_path, 8, 'datasets/synthetic/images/val/10000230.jpg')
    with pytest.raises(Error, match=r'pipeline: bench_image .*10000230.jpg is val image 230 of the synthetic set, '
                                    r'but data.synthetic.num_val renders 8 \(images 10000001.jpg to 10000008.jpg\)'):
        check_params(path)


@pytest.mark.parametrize('frame', ['datasets/synthetic/images/val/10000008.jpg', '', 'my/own/frame.jpg'])
def test_a_bench_frame_among_the_rendered_images_or_elsewhere_passes(tmp_path, monkeypatch, frame):
    monkeypatch.chdir(REPO)    # the paths params.yaml names are the repository's
    assert 'pipeline' in check_params(_params(tmp_path, 8, frame))
