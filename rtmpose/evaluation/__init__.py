"""Evaluation: COCO-style AP through the COCO API, PCKh, OKS-NMS, flip-test prediction."""
from rtmpose.evaluation.coco import Predictions, keypoint_metrics, rescore
from rtmpose.evaluation.nms import oks_iou, oks_nms
from rtmpose.evaluation.pckh import pckh

__all__ = ['Predictions', 'keypoint_metrics', 'oks_iou', 'oks_nms', 'pckh', 'rescore']
