#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Draws assets/photos/landscape.jpg: a synthetic colour "photo" (sky, sun, clouds,
mountains, a lake with reflections, a house, grass, sensor noise) for the demo and the
preprocessing tests. Made here so that no third-party image needs a licence.
Usage: /usr/bin/python3 make_landscape.py OUT.jpg   (needs python3-opencv, numpy)"""
import sys

import cv2
import numpy as np

W, H = 640, 427
rng = np.random.default_rng(2402)
y, x = np.mgrid[0:H, 0:W].astype(np.float32)
img = np.zeros((H, W, 3), np.float32)  # RGB, 0..1

horizon = 250
t = y / horizon
sky = np.stack([0.35 + 0.45 * t, 0.55 + 0.35 * t, 0.95 - 0.1 * t], -1)
img[:] = sky
sun = np.exp(-((x - 470) ** 2 + (y - 80) ** 2) / (2 * 28.0 ** 2))
glow = np.exp(-((x - 470) ** 2 + (y - 80) ** 2) / (2 * 110.0 ** 2))
img += (sun[..., None] * 1.5 + glow[..., None] * 0.2) * np.array([1.0, 0.9, 0.6], np.float32)
clouds = np.zeros((H, W), np.float32)
for _ in range(14):
    cx, cy, r = rng.uniform(0, W), rng.uniform(20, 160), rng.uniform(15, 45)
    clouds += np.exp(-((x - cx) ** 2 / (2 * (2.2 * r) ** 2) + (y - cy) ** 2 / (2 * r ** 2)))
clouds = np.clip(clouds - 0.5, 0, 1) * 0.8
img = img * (1 - clouds[..., None] * 0.8) + clouds[..., None] * 0.8 * np.array([1, 1, 1], np.float32)

def ridge(base, amp, rough, seed):
    g = np.random.default_rng(seed)
    n = 65
    h = np.zeros(n)
    step, a = 32, amp
    h[0], h[-1] = g.uniform(-a, a), g.uniform(-a, a)
    while step >= 1:
        for i in range(step, n - 1, 2 * step):
            h[i] = 0.5 * (h[i - step] + h[i + step]) + g.uniform(-a, a)
        step //= 2
        a *= rough
    return base + np.interp(np.arange(W), np.linspace(0, W - 1, n), h)

for base, amp, colour, seed in [(170, 60, (0.45, 0.5, 0.65), 1), (205, 45, (0.25, 0.38, 0.3), 2)]:
    top = ridge(base, amp, 0.55, seed)
    mask = (y >= top[None, :]) & (y < horizon)
    shade = 0.85 + 0.15 * np.sin(x / 23.0 + y / 17.0)
    img[mask] = (np.array(colour, np.float32) * shade[..., None])[mask]

# Lake: the scene above the horizon mirrored, darker and rippled.
lake_top, lake_bottom = horizon, 330
for row in range(lake_top, lake_bottom):
    src = 2 * horizon - row - 1
    shift = (3 * np.sin(row * 0.9 + np.arange(W) * 0.05)).astype(int)
    img[row] = np.roll(img[src], shift, axis=0) * 0.75 + np.array([0.02, 0.05, 0.1])
# Grass in the foreground.
grass = (y >= lake_bottom)
tex = rng.normal(0, 0.05, (H, W)).astype(np.float32)
img[grass] = (np.array([0.25, 0.5, 0.15], np.float32) + tex[..., None] * np.array([0.5, 1, 0.3]))[grass]
# A house by the lake.
cv2.rectangle(img, (90, 280), (190, 350), (0.7, 0.2, 0.15), -1)
cv2.fillPoly(img, [np.array([[80, 282], [140, 235], [200, 282]], np.int32)], (0.35, 0.2, 0.15))
cv2.rectangle(img, (125, 310), (150, 350), (0.3, 0.2, 0.1), -1)
cv2.rectangle(img, (160, 295), (180, 315), (0.9, 0.85, 0.5), -1)
cv2.rectangle(img, (100, 295), (118, 315), (0.9, 0.85, 0.5), -1)
# A tree.
cv2.rectangle(img, (540, 290), (552, 380), (0.3, 0.2, 0.1), -1)
for k in range(25):
    cx, cy = int(546 + rng.normal(0, 22)), int(270 + rng.normal(0, 22))
    g = rng.uniform(0.3, 0.5)
    cv2.circle(img, (cx, cy), int(rng.uniform(14, 24)), (0.1, g, 0.1), -1)

img = cv2.GaussianBlur(img, (0, 0), 1.1)  # lens softness
img += rng.normal(0, 0.012, img.shape).astype(np.float32)  # sensor noise
out = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
cv2.imwrite(sys.argv[1], cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
