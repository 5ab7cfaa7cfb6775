"""Real-time inference: RTMDet person boxes, batched top-down RTMPose, skip-frame tracking, smoothing,
drawing and video I/O. Modules import their heavy dependencies lazily."""
