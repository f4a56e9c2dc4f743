#!/usr/bin/python3
"""Random label / prediction PNG pairs written by PIL, and their metrics computed
independently with numpy, for the evaluator tests.

  metrics_reference.py DIR COUNT CLASSES SEED
      DIR/images/ID.png (for the folder data set), DIR/labels/ID.png (palette, with 255
      void), DIR/preds/ID.png (grey), DIR/expected.json (confusion matrix and metrics)
"""
import json
import os
import sys

import numpy as np
from PIL import Image


def main():
    root, count, classes, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = np.random.default_rng(seed)
    for d in ("images", "labels", "preds"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    confusion = np.zeros((classes, classes), np.int64)
    for i in range(count):
        h, w = rng.integers(20, 60, 2)
        # Skewed class frequencies. Labels use classes 0..C-3; predictions also C-2
        # (predicted, never in the labels) but never 1 (in the labels, never predicted)
        # and never C-1 (nowhere: no union), so every absent-class rule matters.
        weights = np.linspace(2, 1, classes - 2)
        label = rng.choice(classes - 2, size=(h, w), p=weights / weights.sum())
        label[rng.random((h, w)) < 0.1] = 255
        pred = np.where(rng.random((h, w)) < 0.6, label, rng.integers(0, classes - 1, (h, w)))
        pred[pred == 255] = 0
        pred[pred == 1] = 2
        name = "s%03d" % i
        img = Image.fromarray(label.astype(np.uint8), "P")
        img.putpalette([v for c in range(256) for v in (c, 255 - c, (7 * c) % 256)])
        img.save(os.path.join(root, "labels", name + ".png"))
        Image.fromarray(pred.astype(np.uint8), "L").save(os.path.join(root, "preds", name + ".png"))
        Image.fromarray(np.zeros((h, w, 3), np.uint8), "RGB").save(os.path.join(root, "images", name + ".png"))
        valid = label != 255
        confusion += np.bincount(label[valid] * classes + pred[valid], minlength=classes * classes).reshape(classes, classes)
    tp = np.diag(confusion).astype(np.float64)
    gt = confusion.sum(1).astype(np.float64)
    predicted = confusion.sum(0).astype(np.float64)
    union = gt + predicted - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = tp / union
        acc = tp / gt
    expected = {
        "confusion": confusion.tolist(),
        "iou": [None if np.isnan(v) else v for v in iou],
        "mIoU_union": float(np.nanmean(iou)),
        "mIoU_present": float(np.mean(np.nan_to_num(iou)[gt > 0])),
        "mIoU_all": float(np.mean(np.nan_to_num(iou))),
        "mAcc": float(np.nanmean(acc)),
        "mAcc_all": float(np.mean(np.nan_to_num(acc))),
        "aAcc": float(tp.sum() / gt.sum()),
        "fwIoU": float(np.nansum(gt / gt.sum() * iou)),
    }
    with open(os.path.join(root, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
