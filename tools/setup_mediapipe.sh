#!/usr/bin/env bash
# Builds the isolated MediaPipe environment for the BlazePose peers (mediapipe 0.10.21 pins numpy<2 and
# protobuf<5, which the suite's own environment cannot have). Idempotent; nothing here is committed.
#   bash tools/setup_mediapipe.sh [harness/.venv-mediapipe]
set -euo pipefail
VENV=${1:-harness/.venv-mediapipe}
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/python" -m pip install -q "mediapipe==0.10.21"
# lite and heavy landmark models ship in the npm package @mediapipe/pose (full ships in the wheel)
MODDIR=$("$VENV/bin/python" -c "import mediapipe, os; print(os.path.join(os.path.dirname(mediapipe.__file__), 'modules', 'pose_landmark'))")
if [ ! -f "$MODDIR/pose_landmark_lite.tflite" ] || [ ! -f "$MODDIR/pose_landmark_heavy.tflite" ]; then
  TMP=$(mktemp -d)
  (cd "$TMP" && npm pack --silent @mediapipe/pose >/dev/null && tar xzf mediapipe-pose-*.tgz)
  for m in lite heavy; do cp "$TMP/package/pose_landmark_$m.tflite" "$MODDIR/"; done
  rm -rf "$TMP"
fi
touch "$VENV/.ready"
echo "mediapipe environment ready: $VENV"
