import torch

from rtmpose.data.meta import AIC_TO_COCO
from rtmpose.train.data import MappedKeypoints, Repeat, ResumableSampler, _mapping


class _Fake(torch.utils.data.Dataset):
    def __len__(self):
        return 3

    def __getitem__(self, i):
        k = 14
        return {'x_labels': torch.arange(k, dtype=torch.float32)[:, None].repeat(1, 4) + i,
                'y_labels': torch.ones(k, 5), 'weights': torch.ones(k), 'keypoints': torch.zeros(k, 2),
                'visible': torch.ones(k), 'image_id': i}


def test_aic_labels_move_to_coco_indices():
    ds = MappedKeypoints(_Fake(), _mapping('aic_to_coco', 14, 17), 17)
    item = ds[1]
    assert item['x_labels'].shape == (17, 4) and item['weights'].shape == (17,)
    for aic, coco in AIC_TO_COCO:
        assert torch.equal(item['x_labels'][coco], torch.full((4,), float(aic + 1)))
    unmapped = sorted(set(range(17)) - {c for _, c in AIC_TO_COCO})
    assert unmapped == [0, 1, 2, 3, 4]  # the face points: no label, no weight
    assert item['weights'][unmapped].sum() == 0 and item['x_labels'][unmapped].abs().sum() == 0


def test_sampler_resumes_mid_epoch_and_splits_ranks():
    s = ResumableSampler(10, seed=21)
    s.set_epoch(3)
    full = list(s)
    s.set_epoch(3, skip=4)
    assert list(s) == full[4:]
    s.set_epoch(4)
    assert list(s) != full  # reshuffled per epoch
    r0, r1 = ResumableSampler(11, 0, 2, seed=1), ResumableSampler(11, 1, 2, seed=1)
    a, b = list(r0), list(r1)
    assert len(a) == len(b) == 6 and set(a) | set(b) == set(range(11))
    assert len(Repeat(_Fake(), 3)) == 9
