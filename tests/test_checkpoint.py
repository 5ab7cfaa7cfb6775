"""Safe, strict checkpoint loading: released mmpose files (numpy in meta), bare state dicts, own files."""
import os
import pickle
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch

from rtmpose import Error, build_model
from rtmpose.checkpoint import OpaqueObject, load_into, read_checkpoint, save_atomic


class _Numpy1Pickler(pickle._Pickler):
    """Writes numpy globals under numpy 1.x names (numpy.core...), as released mmpose checkpoints have."""

    def save_global(self, obj, name=None):
        module = getattr(obj, '__module__', '') or ''
        if module.startswith('numpy._core'):
            name = name or obj.__qualname__
            self.write(pickle.GLOBAL + module.replace('numpy._core', 'numpy.core').encode() + b'\n'
                       + name.encode() + b'\n')
            self.memoize(obj)
            return
        super().save_global(obj, name)


class _Numpy1PickleModule:
    Pickler = _Numpy1Pickler
    __name__ = 'pickle'


class Unknown:
    def __init__(self):
        self.x = 1


class Evil:
    def __reduce__(self):
        return (os.system, ('touch /tmp/rtmpose-evil-marker',))


def _mmpose_like(model, extra_meta=None):
    meta = {'mmengine_version': '0.10.7', 'epoch': 420, 'seed': 21,
            'dataset_meta': {'dataset_name': 'coco', 'sigmas': np.linspace(0.025, 0.107, 17).astype(np.float32),
                             'flip_indices': [0, 2, 1], 'keypoint_colors': np.zeros((17, 3), np.uint8),
                             'upper_body_ids': np.int64(5)}}
    meta.update(extra_meta or {})
    return {'meta': meta, 'state_dict': OrderedDict(model.state_dict())}


def test_released_mmpose_format_loads_with_numpy1_names(tmp_path):
    src = build_model('rtmpose-t')
    path = tmp_path / 'rtmpose-t_simcc-coco.pth'
    torch.save(_mmpose_like(src), path, pickle_module=_Numpy1PickleModule)
    names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    assert any(n.startswith('numpy.core.') for n in names)  # the file really uses numpy 1 names
    with pytest.raises(Exception):
        torch.load(path, weights_only=True)  # torch alone refuses it
    dst = build_model('rtmpose-t')
    raw = load_into(dst, path)
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v)
    np.testing.assert_allclose(raw['meta']['dataset_meta']['sigmas'][0], 0.025, rtol=1e-6)


def test_unknown_objects_become_inert_and_code_never_runs(tmp_path):
    marker = '/tmp/rtmpose-evil-marker'
    if os.path.exists(marker):
        os.remove(marker)
    src = build_model('rtmpose-t')
    path = tmp_path / 'foreign.pth'
    torch.save(_mmpose_like(src, {'hook': Unknown()}), path)
    raw = read_checkpoint(path)
    assert isinstance(raw['meta']['hook'], OpaqueObject)  # e.g. an mmengine HistoryBuffer
    load_into(build_model('rtmpose-t'), path)
    evil = tmp_path / 'evil.pth'
    torch.save(_mmpose_like(src, {'payload': Evil()}), evil)
    with pytest.raises(Error, match=r'evil.pth: not a readable .*(posix|os)\.system'):
        read_checkpoint(evil)
    assert not os.path.exists(marker)


def _differs(module, reference: dict) -> int:
    """How many float tensors of `module` differ from `reference` (the same keys)."""
    sd = module.state_dict()
    assert sd.keys() == reference.keys()
    return sum(not torch.equal(sd[k], v) for k, v in reference.items() if v.is_floating_point())


def test_bare_state_dict_own_format_and_ddp_prefix(tmp_path):
    from rtmpose.seeded import seeded_state_dict
    src = build_model('rtmpose-t')
    # seeded values everywhere, BN statistics included: a fresh model differs from it in every float tensor
    src.load_state_dict(seeded_state_dict(src.state_dict(), seed=1))
    ref = src.state_dict()
    floats = sum(v.is_floating_point() for v in ref.values())
    bare = tmp_path / 'bare.pth'
    torch.save(ref, bare)
    dst = build_model('rtmpose-t')
    assert _differs(dst, ref) == floats
    load_into(dst, bare)
    assert _differs(dst, ref) == 0
    ddp = tmp_path / 'ddp.pth'
    save_atomic({'model': {f'module.{k}': v for k, v in ref.items()}, 'epoch': 3}, ddp)
    dst = build_model('rtmpose-t')
    load_into(dst, ddp)                             # the `module.` prefix of a DDP state dict is dropped
    assert _differs(dst, ref) == 0
    backbone_only = build_model('rtmpose-t').backbone
    backbone_ref = {k[len('backbone.'):]: v for k, v in ref.items() if k.startswith('backbone.')}
    assert _differs(backbone_only, backbone_ref) == sum(v.is_floating_point() for v in backbone_ref.values())
    load_into(backbone_only, bare, prefix='backbone.')
    assert _differs(backbone_only, backbone_ref) == 0


def test_wrong_size_names_file_and_first_key(tmp_path):
    path = tmp_path / 's.pth'
    torch.save({'state_dict': build_model('rtmpose-s').state_dict()}, path)
    with pytest.raises(Error, match=r"s\.pth: key 'backbone\.stem\.0\.conv\.weight' has shape"):
        build_model('rtmpose-t', checkpoint=str(path))


def test_wrong_keypoint_count(tmp_path):
    path = tmp_path / 'wb.pth'
    torch.save({'state_dict': build_model('rtmpose-t', num_keypoints=133).state_dict()}, path)
    with pytest.raises(Error, match="head.final_layer.weight"):
        build_model('rtmpose-t', checkpoint=str(path))


def test_missing_and_unexpected_keys(tmp_path):
    sd = build_model('rtmpose-t').state_dict()
    missing = dict(sd)
    missing.pop('head.cls_y.weight')
    torch.save(missing, tmp_path / 'missing.pth')
    with pytest.raises(Error, match="missing key 'head.cls_y.weight'"):
        build_model('rtmpose-t', checkpoint=str(tmp_path / 'missing.pth'))
    extra = dict(sd, **{'head.extra.weight': torch.zeros(1)})
    torch.save(extra, tmp_path / 'extra.pth')
    with pytest.raises(Error, match="unexpected key 'head.extra.weight'"):
        build_model('rtmpose-t', checkpoint=str(tmp_path / 'extra.pth'))


@pytest.mark.parametrize('content', [b'', b'not a checkpoint at all', b'PK\x03\x04garbage'])
def test_corrupt_files(tmp_path, content):
    path = tmp_path / 'bad.pth'
    path.write_bytes(content)
    with pytest.raises(Error, match='bad.pth: not a readable PyTorch checkpoint'):
        read_checkpoint(path)


def test_truncated_and_foreign_files(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save(build_model('rtmpose-t').state_dict(), good)
    data = good.read_bytes()
    (tmp_path / 'trunc.pth').write_bytes(data[: len(data) // 2])
    with pytest.raises(Error, match='trunc.pth: not a readable'):
        read_checkpoint(tmp_path / 'trunc.pth')
    torch.save({'epoch': 3, 'note': 'no tensors'}, tmp_path / 'notensors.pth')
    with pytest.raises(Error, match='no state dict found'):
        build_model('rtmpose-t', checkpoint=str(tmp_path / 'notensors.pth'))
    with pytest.raises(Error, match='not found'):
        read_checkpoint(tmp_path / 'absent.pth')


def test_cli_reports_one_line_without_traceback(tmp_path):
    path = tmp_path / 's.pth'
    torch.save({'state_dict': build_model('rtmpose-s').state_dict()}, path)
    bad = subprocess.run([sys.executable, '-m', 'rtmpose.cli', 'info', 'rtmpose-t', '--checkpoint', str(path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert 'Traceback' not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and 's.pth' in bad.stderr
    ok = subprocess.run([sys.executable, '-m', 'rtmpose.cli', 'info', 'rtmpose-s', '--checkpoint', str(path)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert '254 tensors matched' in ok.stdout


def test_save_atomic_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / 'ckpt.pth'
    save_atomic({'a': torch.ones(2)}, path)

    def boom(*a, **k):
        raise RuntimeError('disk full')
    monkeypatch.setattr(torch, 'save', boom)
    with pytest.raises(RuntimeError):
        save_atomic({'a': torch.zeros(2)}, path)
    assert torch.equal(torch.load(path)['a'], torch.ones(2))
    assert os.listdir(tmp_path) == ['ckpt.pth']
