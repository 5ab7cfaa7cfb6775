"""Model definitions: one file per part."""
from rtmpose.models.rtmpose import MEAN, MODEL_CONFIGS, MODEL_NAMES, STD, RTMPose, RTMPoseConfig, build_model, model_config

__all__ = ['MEAN', 'MODEL_CONFIGS', 'MODEL_NAMES', 'STD', 'RTMPose', 'RTMPoseConfig', 'build_model', 'model_config']
