"""Hot paths of the pose pipeline with the paper's protocol (50 warm-up, 200 timed rounds). `make bench`."""
import numpy as np
import pytest

from rtmpose import build_model
from rtmpose.topdown import bbox_xyxy_to_center_scale, fix_aspect_ratio, normalize, warp_crop

PROTOCOL = dict(rounds=200, iterations=1, warmup_rounds=50)


@pytest.fixture(scope='module')
def frame():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)


def test_decode(benchmark):
    codec = build_model('rtmpose-t').codec()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((1, 17, 384), np.float32), rng.standard_normal((1, 17, 512), np.float32)
    kpts, _ = benchmark.pedantic(codec.decode, (x, y), **PROTOCOL)
    assert kpts.shape == (1, 17, 2)


def test_affine_crop_and_normalize(benchmark, frame):
    center, scale = bbox_xyxy_to_center_scale(np.array([[220.0, 40.0, 420.0, 460.0]]))
    scale = fix_aspect_ratio(scale, 192 / 256)
    out = benchmark.pedantic(lambda: normalize(warp_crop(frame, center[0], scale[0], (192, 256))), **PROTOCOL)
    assert out.shape == (1, 3, 256, 192)


def test_batch_of_crops_through_onnxruntime(benchmark, tmp_path_factory):
    from rtmpose.deploy.export import export_onnx
    from rtmpose.deploy.runners import make_runner
    path = export_onnx(build_model('rtmpose-t'), tmp_path_factory.mktemp('b') / 't.onnx', (1, 3, 256, 192),
                       dynamic_batch=True)
    runner = make_runner('onnxruntime', path, threads=1)
    batch = np.random.default_rng(0).standard_normal((8, 3, 256, 192)).astype(np.float32)
    out = benchmark.pedantic(runner, (batch,), rounds=50, iterations=1, warmup_rounds=5)
    assert out[0].shape == (8, 17, 384)
