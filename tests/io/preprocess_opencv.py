#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Reference tensors for repvk::preprocess from OpenCV (an implementation none of us
wrote): cv2.resize INTER_LINEAR, the centre crop and ImageNet mean/std, per case.
Usage: preprocess_opencv.py PHOTO.jpg OUT_DIR. Writes OUT_DIR/case_N.png (lossless, so
both sides see the same pixels), case_N.f32 (resized from float32 pixels),
case_N.u8.f32 (resized from uint8 pixels, as cv2.imread + cv2.resize users do) and
manifest.txt: "N height width shorter" per line (shorter 0 = stretch).
Exit status 77 when cv2 is missing (the test then skips)."""
import os
import sys

try:
    import cv2
    import numpy as np
except ImportError as e:
    print(f"preprocess_opencv.py: {e} (install python3-opencv)")
    sys.exit(77)

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def smooth_random(w, h, seed):
    g = np.random.default_rng(seed)
    small = g.integers(0, 256, (max(2, h // 8), max(2, w // 8), 3)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    big += g.normal(0, 20, big.shape)  # sharp detail too, so interpolation errors show
    return np.clip(big, 0, 255).astype(np.uint8)


def reference(rgb, h, w, shorter):
    ih, iw = rgb.shape[:2]
    if shorter:
        # torchvision Resize(shorter): the shorter side becomes `shorter`, the longer
        # floor(shorter * long / short); then CenterCrop((h, w)) at floor offsets.
        if iw <= ih:
            rw, rh = shorter, shorter * ih // iw
        else:
            rw, rh = shorter * iw // ih, shorter
    else:
        rw, rh = w, h
    top, left = (rh - h) // 2, (rw - w) // 2
    out = []
    for src in (rgb.astype(np.float32) / 255.0, rgb):
        r = cv2.resize(src, (rw, rh), interpolation=cv2.INTER_LINEAR)
        r = r[top:top + h, left:left + w].astype(np.float32)
        if src.dtype == np.uint8:
            r = r / 255.0
        out.append(((r - MEAN) / STD).transpose(2, 0, 1).astype("<f4"))
    return out


def main():
    photo, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    bgr = cv2.imread(photo, cv2.IMREAD_COLOR)
    if bgr is None:
        sys.exit(f"cannot read {photo}")
    photo_rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    cases = [  # image, model height, width, shorter side (0 = stretch)
        (photo_rgb, 224, 224, 256),          # the ImageNet evaluation transform, landscape
        (photo_rgb, 224, 224, 0),            # stretch, as files without a resize record
        (smooth_random(300, 500, 1), 224, 224, 256),  # portrait
        (smooth_random(150, 100, 2), 224, 224, 232),  # upscaling
        (smooth_random(333, 251, 3), 200, 160, 210),  # non-square crop, odd offsets
    ]
    with open(os.path.join(out, "manifest.txt"), "w") as m:
        for n, (rgb, h, w, shorter) in enumerate(cases):
            cv2.imwrite(os.path.join(out, f"case_{n}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            ref_f, ref_u8 = reference(rgb, h, w, shorter)
            ref_f.tofile(os.path.join(out, f"case_{n}.f32"))
            ref_u8.tofile(os.path.join(out, f"case_{n}.u8.f32"))
            m.write(f"{n} {h} {w} {shorter}\n")


if __name__ == "__main__":
    main()
