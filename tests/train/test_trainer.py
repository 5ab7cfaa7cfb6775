"""The training loop on a tiny real configuration: learning, outputs, errors, MLflow."""
import json
import os

import pytest
import torch

from rtmpose.errors import Error
from rtmpose.train.config import load_config
from tests.train.conftest import run_cli, tiny_config


def _loss_on(model, items, loss_fn):
    import copy
    model = copy.deepcopy(model).train()  # batch statistics: running ones lag after a few steps
    with torch.no_grad():
        x = torch.stack([it['image'] for it in items])
        sx, sy = model(x)
        return float(loss_fn(sx, sy, torch.stack([it['x_labels'] for it in items]),
                             torch.stack([it['y_labels'] for it in items]),
                             torch.stack([it['weights'] for it in items])))


def test_short_training_decreases_the_loss(tmp_path, tiny_data):
    from rtmpose import KLDiscretLoss
    from rtmpose.data.dataset import TopDownDataset
    from rtmpose.data.prepared import prepared_split
    from rtmpose.train import trainer
    # ten epochs of one full batch: the first 8 people, no augmentation, flat lr after a 2-step warm-up. Every
    # step is then a step on the same objective as the one measured below (the same 8 crops, train-mode BN on
    # those 8), and AdamW with a small flat lr on a fixed batch is a descent method: each step lowers that loss.
    # Measured: the loss falls to 0.44, 0.44 and 0.35 of its start for seeds 21, 1 and 2 (so the claim, < 0.7,
    # has a margin far beyond what rounding on another CPU can change). One epoch over the whole augmented set
    # (the previous form of this test) moved it by +4 % to -7 % depending on the seed: no claim either way.
    off = {'flip_prob': 0.0, 'half_body_prob': 0.0, 'shift_prob': 0.0, 'scale_prob': 0.0, 'rotate_prob': 0.0,
           'hue_delta': 0, 'saturation_delta': 0, 'value_delta': 0, 'blur_prob': 0.0, 'median_blur_prob': 0.0,
           'dropout_prob': 0.0}
    cfg = load_config(experiment=tiny_config(tmp_path, tiny_data, epochs=10, stage2_epochs=0, ema=False,
                                             warmup_iters=2, base_lr=1e-3, cosine_begin_epoch=10, batch_size=8,
                                             train_limit=8, augment=off, val_interval=10))
    seen = {}
    trainer.train(cfg, resume=False, progress=False,
                  on_end=lambda model, ema, d: seen.update(model=model))
    from rtmpose.data.meta import get_meta
    trainer.seed_everything(cfg.seed, 0)  # the same initial weights as the trainer drew
    fresh = trainer.build(cfg, get_meta('synthetic'), torch.device('cpu'))
    ann, root = prepared_split(tiny_data, 'train')
    ds = TopDownDataset(ann, root, fresh.codec(), 'synthetic', train=False)
    items = [ds[i] for i in range(8)]                      # train_limit: the first 8 instances
    loss_fn = KLDiscretLoss()
    before, after = _loss_on(fresh, items, loss_fn), _loss_on(seen['model'], items, loss_fn)
    assert after < 0.7 * before, (before, after)
    out = cfg.out_dir
    for name in ('config.json', 'last.pth', 'final.pth', 'log.csv', 'metrics.json', 'curve.png'):
        assert os.path.isfile(os.path.join(out, name)), name
    conf = json.load(open(os.path.join(out, 'config.json')))
    assert conf['config']['model'] == 'rtmpose-t' and 'rtmpose-m_8xb256-420e_coco' in conf['sources']['base_lr']


def test_set_overrides_and_unknown_setting(tmp_path, tiny_data):
    path = tiny_config(tmp_path, tiny_data)
    cfg = load_config(experiment=path, sets=['model_overrides.use_gau=false', 'loss_beta=5', 'epochs=3'])
    assert cfg.model_overrides['use_gau'] is False and cfg.model_overrides['input_size'] == [64, 64]
    assert cfg.loss_beta == 5 and cfg.epochs == 3
    with pytest.raises(Error, match="unknown setting 'lr'"):
        load_config(experiment=path, sets=['lr=1'])


def test_checkpoint_of_another_size_is_a_one_line_error(tmp_path, tiny_data):
    from rtmpose import build_model
    ck = tmp_path / 's.pth'
    torch.save({'state_dict': build_model('rtmpose-s').state_dict()}, ck)
    r = run_cli(['train', '-c', tiny_config(tmp_path, tiny_data), '--set', f'init_checkpoint={ck}', '--no-progress'])
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'another model size' in lines[0] and 'Traceback' not in r.stderr
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a checkpoint at all')
    r = run_cli(['train', '-c', tiny_config(tmp_path, tiny_data), '--set', f'init_backbone={bad}', '--no-progress'])
    assert r.returncode == 2 and 'not a readable PyTorch checkpoint' in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_corrupt_last_checkpoint_is_a_one_line_error(tmp_path, tiny_data):
    path = tiny_config(tmp_path, tiny_data, name='corrupt')
    last = tmp_path / 'runs' / 'corrupt' / 'last.pth'
    last.parent.mkdir(parents=True)
    last.write_bytes(b'\x00' * 100)
    r = run_cli(['train', '-c', path, '--no-progress'])
    assert r.returncode == 2 and str(last) in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_unreachable_mlflow_training_goes_on(tmp_path, tiny_data):
    path = tiny_config(tmp_path, tiny_data, name='nomlflow', epochs=1)
    r = run_cli(['train', '-c', path, '--no-progress'],
                env={'RTMPOSE_NO_MLFLOW': '0', 'MLFLOW_TRACKING_URI': 'http://127.0.0.1:9'})
    assert r.returncode == 0, r.stderr
    said = [line for line in r.stderr.splitlines() if 'MLflow' in line]
    assert len(said) == 1 and 'not recorded' in said[0] and 'Connection refused' in said[0], r.stderr
    assert os.path.isfile(tmp_path / 'runs' / 'nomlflow' / 'final.pth')


@pytest.mark.slow  # MLflow's SQLite schema set-up alone takes ~30 s here
def test_mlflow_records_the_run(tmp_path, tiny_data):
    pytest.importorskip('mlflow')
    db = tmp_path / 'mlflow.db'
    path = tiny_config(tmp_path, tiny_data, name='tracked', epochs=1)
    r = run_cli(['train', '-c', path, '--no-progress'],
                env={'RTMPOSE_NO_MLFLOW': '0', 'MLFLOW_TRACKING_URI': f'sqlite:///{db}'})
    assert r.returncode == 0, r.stderr
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=f'sqlite:///{db}')
    exp = client.get_experiment_by_name('train')
    (run,) = client.search_runs([exp.experiment_id])
    assert run.data.params['model'] == 'rtmpose-t' and run.data.params['loss_beta'] == '10.0'
    assert 'loss' in run.data.metrics and 'AP' in run.data.metrics
    # each metric once, under one name (no final/AP beside AP, no final/loss or final/final_loss beside loss)
    assert not [k for k in run.data.metrics if k.startswith('final/') or k == 'final_loss']
    assert run.data.params['reproducibility.seed'] == '21' and run.data.params['reproducibility.torch']
    assert run.data.params['reproducibility.torch_threads'] == '1'
    assert run.data.tags['checkpoint'].endswith('final.pth') and run.data.tags['git_revision']
    hist = client.get_metric_history(run.info.run_id, 'loss')
    assert [m.step for m in hist] == [1]


def test_every_experiment_file_resolves():
    import glob
    from tests.train.conftest import REPO
    files = sorted(glob.glob(os.path.join(REPO, 'experiments', 'rtmpose-*.yaml')))
    assert len(files) >= 12
    for f in files:
        cfg = load_config(experiment=f)
        assert cfg.name == os.path.basename(f)[:-5], f
    t = load_config(experiment=os.path.join(REPO, 'experiments', 'rtmpose-t_coco-256x192.yaml'))
    assert (t.weight_decay, t.ema, t.clip_grad, t.base_lr) == (0.0, False, None, 4e-3)
    aic = load_config(experiment=os.path.join(REPO, 'experiments', 'rtmpose-m_aic-coco-256x192.yaml'))
    assert aic.repeat == 3 and aic.extra_train[0]['keypoint_mapping'] == 'aic_to_coco'


@pytest.mark.gpu
def test_amp_and_cuda_path(tmp_path, tiny_data):
    from rtmpose.train import trainer
    cfg = load_config(experiment=tiny_config(tmp_path, tiny_data, name='gpu', epochs=1, device='cuda', amp=True))
    final = trainer.train(cfg, resume=False, progress=False)
    assert final['final_loss'] == final['final_loss']  # finite
    assert json.load(open(os.path.join(cfg.out_dir, 'config.json')))['derived']['amp'] is True
