"""rtmpose-suite: a faithful pure-PyTorch RTMPose with its codec, loss, data, training, deployment and reports."""
from rtmpose.codec import SimCCCodec
from rtmpose.errors import Error
from rtmpose.losses import KLDiscretLoss
from rtmpose.models import MODEL_NAMES, RTMPose, RTMPoseConfig, build_model, create, model_config

__version__ = '0.1.0'
__all__ = ['Error', 'KLDiscretLoss', 'MODEL_NAMES', 'RTMPose', 'RTMPoseConfig', 'SimCCCodec',
           'build_model', 'create', 'model_config']
