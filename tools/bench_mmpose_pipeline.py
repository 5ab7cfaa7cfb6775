"""Official mmpose 1.3.2 RTMPose-m stage-1 training pipeline on the synthetic set: samples/s in one process.

Run in the reference environment (OMP_NUM_THREADS=1):
    /work/refenv/bin/python tools/bench_mmpose_pipeline.py datasets/synthetic [N]
Compare with `make bench` (tests/benchmarks/test_data_pipeline.py). The official CoarseDropout arguments
are passed as in the config; albumentations in the reference env decides how it reads them.
"""
import os
import sys
import time

os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')


def main() -> None:
    sys.path.insert(0, os.path.dirname(__file__))
    from make_parity_fixtures import _stub_compiled_ops
    _stub_compiled_ops()          # mmdet.datasets imports mmcv.ops / torchvision (compiled parts absent)
    import cv2
    import numpy as np
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    import mmpose
    import mmdet.datasets.transforms  # noqa: F401  (registers mmdet.YOLOXHSVRandomAug)
    import mmpose.datasets  # noqa: F401  (registers the transforms)
    from mmpose.datasets import CocoDataset

    cv2.setNumThreads(1)
    root = sys.argv[1] if len(sys.argv) > 1 else 'datasets/synthetic'
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    init_default_scope('mmpose')
    cfg_file = os.path.join(os.path.dirname(mmpose.__file__),
                            '.mim/configs/body_2d_keypoint/rtmpose/coco/rtmpose-m_8xb256-420e_aic-coco-256x192.py')
    cfg = Config.fromfile(cfg_file)
    pipeline = [t for t in cfg.train_pipeline if t['type'] != 'PackPoseInputs']
    try:
        import albumentations  # noqa: F401
        note = 'full'
    except ImportError:           # the reference env may lack it: time the rest and say so
        pipeline = [t for t in pipeline if t['type'] != 'Albumentation']
        note = 'without the Albumentation step (albumentations not installed here)'
    ds = CocoDataset(ann_file=os.path.join(root, 'train.json'), data_root='', data_prefix=dict(img=root + '/'),
                     data_mode='topdown', pipeline=[], test_mode=False)
    compose = Compose(pipeline)
    np.random.seed(0)
    infos = [ds.get_data_info(i % len(ds)) for i in range(n)]
    for info in infos[:10]:
        compose(dict(info))
    start = time.perf_counter()
    for info in infos:
        compose(dict(info))
    dt = time.perf_counter() - start
    print(f'mmpose 1.3.2 stage-1 pipeline, {note}: {n / dt:.1f} samples/s (1 process, {n} samples)')


if __name__ == '__main__':
    main()
