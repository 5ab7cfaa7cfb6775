"""Training-pipeline throughput (samples/s in one process = per DataLoader worker), RTMPose-m 256x192
stage-1 and stage-2 augmentation and the validation pipeline, on the synthetic set. OMP_NUM_THREADS=1."""
import os

import cv2
import pytest

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
        for i in range(n):
            ds[i]

    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.stats is None:  # benchmarks disabled (the default test run): the pipeline ran once
        return
    rate = n / benchmark.stats.stats.mean
    benchmark.extra_info['samples_per_s_per_worker'] = rate
    print(f'\n{mode}: {rate:.1f} samples/s per worker')
