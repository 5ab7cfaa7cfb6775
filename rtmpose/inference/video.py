"""Reading an image, a folder of images or a video as frames; writing a video as frames come."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rtmpose.errors import Error

IMAGE_EXTS = {'.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp'}
VIDEO_EXTS = {'.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg'}


def kind_of(path: str | os.PathLike) -> str:
    p = Path(path)
    if not p.exists():
        raise Error(f'{p}: input not found')
    if p.is_dir():
        return 'folder'
    ext = p.suffix.lower()
    if ext in IMAGE_EXTS:
        return 'image'
    if ext in VIDEO_EXTS:
        return 'video'
    raise Error(f'{p}: unsupported input type {ext or "(no extension)"} '
                f'(images: {", ".join(sorted(IMAGE_EXTS))}; videos: {", ".join(sorted(VIDEO_EXTS))})')


def read_image(path: str | os.PathLike) -> np.ndarray:
    import cv2
    from rtmpose.io import quiet_stderr
    data = np.fromfile(str(path), np.uint8)
    with quiet_stderr():   # libjpeg's own warning line would precede the one-line error
        img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise Error(f'{path}: not a readable image')
    return img


def folder_images(path: str | os.PathLike) -> list[Path]:
    files = sorted(p for p in Path(path).iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file())
    if not files:
        raise Error(f'{path}: no images in folder')
    return files


class VideoReader:
    """Frames of a video file; `stopped` tells why iteration ended early (None: end of stream)."""

    def __init__(self, path: str | os.PathLike):
        import cv2
        from rtmpose.io import quiet_stderr
        self.path = str(path)
        with quiet_stderr():   # ffmpeg's own warning lines would precede the one-line error
            self.cap = cv2.VideoCapture(self.path)
            opened = self.cap.isOpened()
            ok, first = self.cap.read() if opened else (False, None)
        if not opened:
            raise Error(f'{path}: not a readable video')
        if not ok or first is None:
            self.cap.release()
            raise Error(f'{path}: not a readable video (no frame could be decoded)')
        self._first = first
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS)) or 25.0
        self.count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 0
        self.size = (first.shape[1], first.shape[0])
        self.stopped: str | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        frame, index = self._first, 0
        while frame is not None:
            yield frame
            index += 1
            ok, frame = self.cap.read()
            if not ok:
                frame = None
                if self.count and index < self.count:
                    self.stopped = f'decoding failed at frame {index} of {self.count}'
        self.cap.release()


class VideoWriter:
    """Write frames as they come into `path` (a temporary name until `close`, then renamed), so a run
    that breaks still leaves a finalised, playable file of what was processed."""

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int]):
        import cv2
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f'.{self.path.stem}.tmp{self.path.suffix}')
        fourcc = cv2.VideoWriter_fourcc(*('mp4v' if self.path.suffix.lower() == '.mp4' else 'MJPG'))
        self.writer = cv2.VideoWriter(str(self.tmp), fourcc, fps, size)
        if not self.writer.isOpened():
            raise Error(f'{path}: cannot open a video writer for this container')
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        self.writer.write(frame)
        self.frames += 1

    def close(self) -> None:
        self.writer.release()
        if self.frames:
            os.replace(self.tmp, self.path)
        elif self.tmp.exists():
            self.tmp.unlink()
