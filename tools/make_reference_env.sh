#!/usr/bin/env bash
# Build the official mmpose 1.3.2 reference environment used to (re)generate the parity fixtures.
# It is never a runtime dependency of the suite. Usage: tools/make_reference_env.sh [DIR] (default .refenv)
set -euo pipefail
DIR="${1:-.refenv}"
python3 -m venv "$DIR"
PIP="$DIR/bin/pip"
"$PIP" install -q torch==2.13.0
# mmcv-lite: no compiled ops (mmcv with ops takes ~45 min to build and has no wheels for this torch)
"$PIP" install -q "setuptools<81" mmengine==0.10.7 mmcv-lite==2.1.0
"$PIP" install -q --no-deps mmpose==1.3.2 mmdet==3.3.0
"$PIP" install -q json-tricks munkres scipy shapely six terminaltables tqdm pycocotools fvcore numpy cython wheel
# the xtcocotools wheel was built against numpy 1; build it against the installed numpy 2
"$PIP" install -q --no-build-isolation --no-binary xtcocotools xtcocotools || echo "xtcocotools did not build (only needed for CrowdPose/WholeBody parity)"
echo "reference environment ready: $DIR/bin/python"
