import pytest
import torch

from rtmpose import build_model
from rtmpose.seeded import seeded_state_dict


@pytest.fixture(scope='session')
def tiny_pose():
    """RTMPose-t with seeded, well-scaled weights (random init gives near-zero SimCC logits)."""
    model = build_model('rtmpose-t')
    model.load_state_dict(seeded_state_dict(model.state_dict(), seed=0))
    return model.eval()


@pytest.fixture(scope='session')
def tiny_onnx(tiny_pose, tmp_path_factory):
    from rtmpose.deploy.export import export_onnx
    return export_onnx(tiny_pose, tmp_path_factory.mktemp('onnx') / 't.onnx', (1, 3, 256, 192), dynamic_batch=True)


@pytest.fixture(scope='session')
def torch_ref(tiny_pose):
    from rtmpose.seeded import seeded_images
    x = seeded_images(2, 256, 192, seed=3)
    with torch.no_grad():
        return x.numpy(), [t.numpy() for t in tiny_pose(x)]
