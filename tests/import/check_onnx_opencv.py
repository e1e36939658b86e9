#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks an exported ONNX file: onnx.checker, then OpenCV's DNN module on the given
pixels must reproduce the engine's logits within 1e-4 of the largest logit.
usage: check_onnx_opencv.py MODEL.onnx PIXELS.f32 LOGITS.f32 N C H W [REFERENCE]
(REFERENCE names where LOGITS.f32 came from in the printout; default "engine").
Exit status 77: onnx or cv2 is not installed (the caller skips)."""
import sys

try:
    import cv2
    import numpy as np
    import onnx
except ImportError as e:
    print("skip: %s (install python3-onnx python3-opencv)" % e)
    sys.exit(77)

path, pixels, logits = sys.argv[1:4]
n, c, h, w = (int(v) for v in sys.argv[4:8])
reference = sys.argv[8] if len(sys.argv) > 8 else "engine"
model = onnx.load(path)
onnx.checker.check_model(model, full_check=True)
x = np.fromfile(pixels, dtype="<f4").reshape(n, c, h, w)
want = np.fromfile(logits, dtype="<f4").reshape(n, -1)
net = cv2.dnn.readNetFromONNX(path)
net.setInput(x)
got = net.forward("logits")
err = float(np.abs(got - want).max() / np.abs(want).max())
print("onnx.checker ok; OpenCV %s vs %s: largest difference %.3g of the largest logit" % (cv2.__version__, reference, err))
same_top1 = bool((got.argmax(1) == want.argmax(1)).all())
print("top-1 agrees on all %d images: %s" % (n, same_top1))
sys.exit(0 if err <= 1e-4 else 1)
