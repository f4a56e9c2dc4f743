#!/usr/bin/python3
"""The published VOC training pipeline in Python with PIL + numpy, as the reference code
base writes it (flip, random scale crop with padding, Gaussian blur, normalise), one
process: images/s over a VOC-layout folder. Used by loader_throughput.sh.

  loader_python.py VOC_ROOT [--epochs E]
"""
import argparse
import random
import time

import numpy as np
from PIL import Image, ImageFilter, ImageOps

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def pipeline(img, mask, base=513, crop=513):
    if random.random() < 0.5:
        img, mask = img.transpose(Image.FLIP_LEFT_RIGHT), mask.transpose(Image.FLIP_LEFT_RIGHT)
    short = random.randint(int(base * 0.5), int(base * 2.0))
    w, h = img.size
    ow, oh = (int(w * short / h), short) if w > h else (short, int(h * short / w))
    img, mask = img.resize((ow, oh), Image.BILINEAR), mask.resize((ow, oh), Image.NEAREST)
    if short < crop:
        padh, padw = max(crop - oh, 0), max(crop - ow, 0)
        img = ImageOps.expand(img, border=(0, 0, padw, padh), fill=0)
        mask = ImageOps.expand(mask, border=(0, 0, padw, padh), fill=255)
    w, h = img.size
    x, y = random.randint(0, w - crop), random.randint(0, h - crop)
    img, mask = img.crop((x, y, x + crop, y + crop)), mask.crop((x, y, x + crop, y + crop))
    if random.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(radius=random.random()))
    image = (np.asarray(img, np.float32) / 255.0 - MEAN) / STD
    return image.transpose(2, 0, 1).copy(), np.asarray(mask, np.int64)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    ids = open(args.root + "/ImageSets/Segmentation/train.txt").read().split()
    random.seed(0)
    start, images = time.time(), 0
    for _ in range(args.epochs):
        random.shuffle(ids)
        for i in ids:
            img = Image.open("%s/JPEGImages/%s.jpg" % (args.root, i)).convert("RGB")
            mask = Image.open("%s/SegmentationClass/%s.png" % (args.root, i))
            pipeline(img, mask)
            images += 1
    seconds = time.time() - start
    print("python images=%d seconds=%.3f images_per_second=%.2f" % (images, seconds, images / seconds))


if __name__ == "__main__":
    main()
