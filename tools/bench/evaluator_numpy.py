#!/usr/bin/python3
"""The evaluator's computation in numpy: read label/prediction PNG pairs with PIL,
accumulate the confusion matrix with np.bincount, derive mIoU. Prints pairs/s.

  evaluator_numpy.py LABEL_DIR PRED_DIR CLASSES
"""
import os
import sys
import time

import numpy as np
from PIL import Image


def main():
    labels, preds, classes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    names = sorted(os.listdir(labels))
    start = time.time()
    confusion = np.zeros(classes * classes, np.int64)
    for name in names:
        label = np.asarray(Image.open(os.path.join(labels, name)), np.int64)
        pred = np.asarray(Image.open(os.path.join(preds, name)), np.int64)
        valid = label != 255
        confusion += np.bincount(label[valid] * classes + pred[valid], minlength=classes * classes)
    confusion = confusion.reshape(classes, classes)
    tp = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        miou = np.nanmean(tp / union)
    seconds = time.time() - start
    print("numpy pairs=%d seconds=%.3f pairs_per_second=%.2f mIoU=%.6f" % (len(names), seconds, len(names) / seconds, miou))


if __name__ == "__main__":
    main()
