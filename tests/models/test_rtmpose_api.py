import pytest
import torch

from rtmpose import MODEL_NAMES, Error, build_model, model_config

SHAPES = {'rtmpose-t': (256, 192), 'rtmpose-m-384x288': (384, 288), 'rtmpose-x': (384, 288)}


@pytest.mark.parametrize('name', sorted(SHAPES))
@pytest.mark.parametrize('k', [17, 133, 14, 16])
def test_output_shapes(name, k):
    h, w = SHAPES[name]
    model = build_model(name, num_keypoints=k)
    assert not model.training
    with torch.no_grad():
        sx, sy = model(torch.randn(2, 3, h, w))
    assert sx.shape == (2, k, w * 2) and sy.shape == (2, k, h * 2)


def test_every_name_builds_with_its_input_size():
    assert set(MODEL_NAMES) == {'rtmpose-t', 'rtmpose-s', 'rtmpose-m', 'rtmpose-l', 'rtmpose-m-384x288',
                                'rtmpose-l-384x288', 'rtmpose-x'}
    assert model_config('rtmpose-x').input_size == (288, 384)
    assert model_config('rtmpose-x').sigma == (6.0, 6.93)
    assert model_config('rtmpose-l').sigma == (4.9, 5.66)


def test_config_is_explicit_not_class_defaults():
    head = build_model('rtmpose-t').head
    assert head.final_layer.kernel_size == (7, 7)
    assert isinstance(head.gau.act_fn, torch.nn.SiLU)
    assert not head.gau.use_rel_bias and not head.gau.pos_enc
    assert head.gau.s == 128 and head.gau.e == 512


@pytest.mark.parametrize('overrides', [dict(final_layer_kernel_size=1), dict(use_gau=False),
                                       dict(gau=dict(hidden_dims=128)), dict(gau=dict(use_rel_bias=True)),
                                       dict(gau=dict(pos_enc=True, act_fn='ReLU'))])
def test_ablation_overrides_run(overrides):
    model = build_model('rtmpose-t', **overrides)
    with torch.no_grad():
        sx, sy = model(torch.randn(1, 3, 256, 192))
    assert sx.shape == (1, 17, 384) and torch.isfinite(sx).all()


def test_unknown_name_and_bad_override_are_user_errors():
    with pytest.raises(Error, match='unknown model'):
        build_model('rtmpose-q')
    with pytest.raises(Error, match='bad setting'):
        build_model('rtmpose-t', kernel=3)


def test_train_mode_backward():
    model = build_model('rtmpose-t').train()
    sx, sy = model(torch.randn(2, 3, 256, 192))
    (sx.sum() + sy.sum()).backward()
    assert model.backbone.stem[0].conv.weight.grad is not None
