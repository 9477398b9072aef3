#!/usr/bin/env bash
# Create (or update) the project's virtual environment: ./scripts/setup.sh [EXTRA[,EXTRA...]]
# EXTRA defaults to "dev" (train + serve + headless OpenCV + test tools). On a device pick by need:
#   edge             classify image files with a TFLite artifact (the smallest install)
#   onnx             + ONNX Runtime, for .onnx artifacts
#   camera           + OpenCV's GUI build: `edgetk camera` with its overlay window (needs a display)
#   camera-headless  + OpenCV's headless build: `edgetk camera` on a board or server, JSON lines
#   serve / train    the REST service / training and export (both run ONNX artifacts too)
# e.g. ./scripts/setup.sh camera,onnx. Sizes: benchmarks/edge/install_footprint.md.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-dev}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# The GUI and headless OpenCV builds ship the same cv2 module: installing one over the other
# leaves a broken mix, so refuse and say how to switch.
want_gui=0
case ",$extra," in *,camera,*) want_gui=1 ;; esac
case ",$extra," in *,camera-headless,*|*,dev,*) [ "$want_gui" = 1 ] && {
  echo "error: '$extra' asks for both OpenCV builds (camera and camera-headless / dev); pick one" >&2
  exit 2; } ;; esac
if [ "$want_gui" = 1 ]; then other=opencv-python-headless; else other=opencv-python; fi
case ",$extra," in *,camera,*|*,camera-headless,*|*,dev,*)
  if .venv/bin/python -m pip show -q "$other" >/dev/null 2>&1; then
    echo "error: .venv already has $other; remove it first (.venv/bin/pip uninstall -y $other)," \
      "the two OpenCV builds cannot be installed side by side" >&2
    exit 1
  fi ;;
esac
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[${extra}]"
echo "edgetk installed in .venv with the '${extra}' extra: $(.venv/bin/edgetk --version)"
