#!/usr/bin/python3
"""PyTorch eager fp32 inference of DeepLabV3+ (the tests' independent implementation,
tests/python/reference_deeplab.py), timed as the published evaluation runs it: eval mode,
no gradients, one 513 x 513 image at a time (the whole-image protocol), logits
upsampled and arg-maxed.

  eval_python.py --backbone resnet18|resnet101|mobilenetv2 [--images 8] [--size 513] [--threads 2]

Prints one JSON line: images/s (after one warm-up image).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "python"))
import reference_deeplab as ref  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", choices=["resnet18", "resnet101", "mobilenetv2"], default="resnet18")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", type=int, default=513)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = ref.DeepLab(args.backbone, 21).eval()
    images = torch.randn(args.images + 1, 1, 3, args.size, args.size)
    with torch.no_grad():
        model(images[0]).argmax(1)
        start = time.perf_counter()
        for image in images[1:]:
            model(image).argmax(1)
        seconds = time.perf_counter() - start
    print(json.dumps({"backbone": args.backbone, "images_per_second": args.images / seconds}))


if __name__ == "__main__":
    main()
