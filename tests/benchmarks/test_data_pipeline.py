"""Training-pipeline throughput (samples/s in one process = per DataLoader worker), RTMPose-m 256x192
stage-1 and stage-2 augmentation and the validation pipeline, on the synthetic set. OMP_NUM_THREADS=1."""
import os

import cv2
import pytest
import torch

from rtmpose.codec import SimCCCodec
from rtmpose.data.dataset import AugmentConfig, TopDownDataset
from rtmpose.data.prepared import prepared_split
from rtmpose.data.synthetic import make_synthetic

os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
N = 64


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory):
    cv2.setNumThreads(1)
    out = tmp_path_factory.mktemp('bench') / 'synthetic'
    make_synthetic(out, seed=0, num_train=40, num_val=10, progress=False)
    return out


@pytest.mark.parametrize('mode', ['stage1', 'stage2', 'val'])
def test_pipeline_samples_per_second(benchmark, synthetic, mode):
    split = 'val' if mode == 'val' else 'train'
    ann, root = prepared_split(synthetic, split)
    ds = TopDownDataset(ann, root, SimCCCodec((192, 256), (4.9, 5.66)), 'synthetic', train=mode != 'val',
                        aug=AugmentConfig(stage2_epoch=1), seed=0)
    ds.set_epoch(1 if mode == 'stage2' else 0)
    n = min(N, len(ds))

    def run():
        return [ds[i] for i in range(n)]

    items = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    # what is timed is the real pipeline: every sample a normalised 256x192 crop with SimCC labels whose
    # keypoints carry weight exactly where they have a label (benchmarks disabled: one pass, checked the same)
    assert len(items) == n
    for it in items:
        img, lx, ly, w = it['image'], it['x_labels'], it['y_labels'], it['weights']
        assert img.shape == (3, 256, 192) and img.dtype == torch.float32 and torch.isfinite(img).all()
        assert img.std() > 0.1                                            # not a blank crop
        assert lx.shape == (17, 384) and ly.shape == (17, 512) and w.shape == (17,)
        assert lx.min() >= 0 and lx.max() <= 1 and ly.min() >= 0 and ly.max() <= 1
        assert torch.equal(w > 0, lx.amax(-1) > 0) and torch.equal(w > 0, ly.amax(-1) > 0)
    assert sum(int((it['weights'] > 0).sum()) for it in items) > 8 * n   # most keypoints labelled
    if not benchmark.enabled:
        return
    rate = n / benchmark.stats.stats.mean
    benchmark.extra_info['samples_per_s_per_worker'] = rate
    print(f'\n{mode}: {rate:.1f} samples/s per worker')
