#!/usr/bin/python3
"""Writes small data sets in the real formats with the real third-party writers (PIL for
palette PNGs and JPEGs, scipy.io.savemat for .mat files), for the data tests.

Label values follow formulas the C++ tests recompute:
  VOC label of image k:   (x + 3*y + k) % 21, with a 255 border of width 2
  SBD label of image k:   (2*x + y + k) % 21 (no void)
  COCO S of image k:      (x + 7*y + k) % 183  (0 = unlabeled, 1..182 classes); image 3
                          ("v73") is a MATLAB v7.3 (HDF5) file with k = 5

  write_data_fixtures.py voc DIR        VOCdevkit/VOC2012 and benchmark_RELEASE/dataset under DIR
  write_data_fixtures.py cocostuff DIR  cocostuff-10k-v1.1 under DIR
  write_data_fixtures.py pngs DIR       single label PNGs of several kinds
  write_data_fixtures.py cityscapes DIR / camvid DIR / ade20k DIR / cocostuff164k DIR / vocaug DIR
                                        the CIRKD toolbox's data sets in their official layouts, with
                                        expected/ training-class PNGs (255 void) an independent mapping gives
"""
import os
import sys

import numpy as np
import scipy.io
from PIL import Image

W, H = 40, 30


def voc_palette():
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    return palette


def grid(w=W, h=H):
    return np.meshgrid(np.arange(w), np.arange(h))


def voc_label(k):
    x, y = grid()
    label = ((x + 3 * y + k) % 21).astype(np.uint8)
    label[:2, :] = label[-2:, :] = label[:, :2] = label[:, -2:] = 255
    return label


def sbd_label(k):
    x, y = grid()
    return ((2 * x + y + k) % 21).astype(np.uint8)


def image(k, w=W, h=H):
    rng = np.random.default_rng(k)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


def save_palette_png(array, path, bits=8):
    img = Image.fromarray(array, "P")
    img.putpalette(voc_palette())
    img.save(path, bits=bits) if bits != 8 else img.save(path)


def write_list(path, ids):
    with open(path, "w") as f:
        f.write("".join(i + "\n" for i in ids))


def voc(root):
    voc_root = os.path.join(root, "VOCdevkit", "VOC2012")
    for d in ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"]:
        os.makedirs(os.path.join(voc_root, d), exist_ok=True)
    voc_ids = ["2007_000001", "2007_000002", "2007_000003", "2008_000010", "2008_000011"]
    for k, i in enumerate(voc_ids):
        image(k).save(os.path.join(voc_root, "JPEGImages", i + ".jpg"), quality=95)
        save_palette_png(voc_label(k), os.path.join(voc_root, "SegmentationClass", i + ".png"))
    write_list(os.path.join(voc_root, "ImageSets/Segmentation/train.txt"), voc_ids[:3])
    write_list(os.path.join(voc_root, "ImageSets/Segmentation/val.txt"), voc_ids[3:])
    write_list(os.path.join(voc_root, "ImageSets/Segmentation/trainval.txt"), voc_ids)

    sbd_root = os.path.join(root, "benchmark_RELEASE", "dataset")
    for d in ["img", "cls"]:
        os.makedirs(os.path.join(sbd_root, d), exist_ok=True)
    # 2007_000002 is also in VOC train (VOC's label must win); 2008_000010 is VOC val
    # (excluded); 2009_000100..102 are SBD only.
    sbd_ids = {"2007_000002": 10, "2008_000010": 11, "2009_000100": 12, "2009_000101": 13, "2009_000102": 14}
    for i, k in sbd_ids.items():
        image(k).save(os.path.join(sbd_root, "img", i + ".jpg"), quality=95)
        gt = {"Segmentation": sbd_label(k), "Boundaries": np.zeros((1, 1)), "CategoriesPresent": np.array([1], np.uint8)}
        scipy.io.savemat(os.path.join(sbd_root, "cls", i + ".mat"), {"GTcls": gt}, do_compression=(k % 2 == 0))
    write_list(os.path.join(sbd_root, "train.txt"), ["2007_000002", "2008_000010", "2009_000100", "2009_000101"])
    write_list(os.path.join(sbd_root, "val.txt"), ["2009_000101", "2009_000102"])


def write_mat73(path, name, array):
    import h5py
    with h5py.File(path, "w", userblock_size=512) as f:
        dataset = f.create_dataset(name, data=array.T)
        # MATLAB's class attribute: a scalar, null-terminated fixed-length string.
        class_name = array.dtype.name.encode()
        string_type = h5py.h5t.C_S1.copy()
        string_type.set_size(len(class_name))
        string_type.set_strpad(h5py.h5t.STR_NULLTERM)
        attribute = h5py.h5a.create(dataset.id, b"MATLAB_class", string_type, h5py.h5s.create(h5py.h5s.SCALAR))
        attribute.write(np.array(class_name, dtype="S%d" % len(class_name)), mtype=string_type)
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    header = header.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as f:
        f.write(header.ljust(512, b"\0"))


def cocostuff(root):
    base = os.path.join(root, "cocostuff-10k-v1.1")
    for d in ["images", "annotations", "imageLists"]:
        os.makedirs(os.path.join(base, d), exist_ok=True)
    ids = ["COCO_train2014_000000000077", "COCO_train2014_000000000078", "COCO_train2014_000000000079"]
    for k, i in enumerate(ids):
        image(k, 48, 36).save(os.path.join(base, "images", i + ".jpg"), quality=95)
        x, y = grid(48, 36)
        s = ((x + 7 * y + k) % 183).astype(np.uint16)
        scipy.io.savemat(os.path.join(base, "annotations", i + ".mat"), {"S": s, "names": np.array(["x"])},
                         do_compression=(k != 1))
    # A v7.3 (HDF5) annotation too, as MATLAB writes it: a 512-byte header, the matrix
    # stored transposed (column-major) with its MATLAB class as an attribute.
    x, y = grid(48, 36)
    write_mat73(os.path.join(base, "annotations", "v73.mat"), "S", ((x + 7 * y + 5) % 183).astype(np.uint16))
    image(5, 48, 36).save(os.path.join(base, "images", "v73.jpg"), quality=95)
    ids.append("v73")
    write_list(os.path.join(base, "imageLists", "train.txt"), ids[:2])
    write_list(os.path.join(base, "imageLists", "test.txt"), ids[2:3])
    write_list(os.path.join(base, "imageLists", "all.txt"), ids)


def pngs(root):
    os.makedirs(root, exist_ok=True)
    x, y = grid()
    values = ((x * 7 + y) % 21).astype(np.uint8)
    values[0, :5] = 255
    save_palette_png(values, os.path.join(root, "palette8.png"))
    save_palette_png(((x + y) % 16).astype(np.uint8), os.path.join(root, "palette4.png"), bits=4)
    Image.fromarray(values, "L").save(os.path.join(root, "grey.png"))
    Image.fromarray(np.stack([values] * 3, -1), "RGB").save(os.path.join(root, "rgb.png"))


# Cityscapes label id -> training class (its facts, section 3.1); other ids in 0..33 are void.
CITYSCAPES_TRAIN_IDS = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12,
                        26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}


def cityscapes(root):
    """Images and *_gtFine_labelIds.png (8-bit grey, every label id 0..33) in the official
    layout, two cities in train and one in val; expected/ holds the training-class PNGs the
    mapping must give (255 void). cityscapes_outside/ has a label id 34."""
    samples = {"train": [("aachen", "aachen_000000_000019"), ("aachen", "aachen_000001_000019"),
                         ("bochum", "bochum_000000_000313")],
               "val": [("frankfurt", "frankfurt_000000_000294")]}
    for k, (split, city, name) in enumerate((s, c, n) for s, items in samples.items() for c, n in items):
        base = os.path.join(root, "cityscapes")
        for d in (f"leftImg8bit/{split}/{city}", f"gtFine/{split}/{city}", f"expected/{split}/{city}"):
            os.makedirs(os.path.join(base, d), exist_ok=True)
        image(k, 48, 24).save(os.path.join(base, f"leftImg8bit/{split}/{city}/{name}_leftImg8bit.png"))
        x, y = grid(48, 24)
        ids = ((x + 5 * y + k) % 34).astype(np.uint8)
        Image.fromarray(ids, "L").save(os.path.join(base, f"gtFine/{split}/{city}/{name}_gtFine_labelIds.png"))
        expected = np.vectorize(lambda v: CITYSCAPES_TRAIN_IDS.get(int(v), 255))(ids).astype(np.uint8)
        Image.fromarray(expected, "L").save(os.path.join(base, f"expected/{split}/{city}/{name}.png"))
    # The toolbox's list files: "image<TAB>label" relative to the root; one in another
    # order than the folders', one that leaves the root, one that names no image.
    base = os.path.join(root, "cityscapes")
    os.makedirs(os.path.join(base, "list"), exist_ok=True)
    with open(os.path.join(base, "list/train.lst"), "w") as f:
        for city, name in reversed(samples["train"]):
            f.write(f"leftImg8bit/train/{city}/{name}_leftImg8bit.png\tgtFine/train/{city}/{name}_gtFine_labelIds.png\n")
    with open(os.path.join(base, "list/escape.lst"), "w") as f:
        f.write("leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png\tx\n")
        f.write("leftImg8bit/../../outside_leftImg8bit.png\tx\n")
    with open(os.path.join(base, "list/other.lst"), "w") as f:
        f.write("gtFine/train/aachen/aachen_000000_000019_gtFine_labelIds.png\tx\n")
    # Not a Cityscapes image: a stray file beside the samples.
    with open(os.path.join(root, "cityscapes/leftImg8bit/train/aachen/notes.txt"), "w") as f:
        f.write("not an image\n")
    outside = os.path.join(root, "cityscapes_outside")
    os.makedirs(os.path.join(outside, "leftImg8bit/train/ulm"), exist_ok=True)
    os.makedirs(os.path.join(outside, "gtFine/train/ulm"), exist_ok=True)
    image(0, 16, 8).save(os.path.join(outside, "leftImg8bit/train/ulm/ulm_000000_000019_leftImg8bit.png"))
    ids = np.full((8, 16), 7, np.uint8)
    ids[3, 4] = 34
    Image.fromarray(ids, "L").save(os.path.join(outside, "gtFine/train/ulm/ulm_000000_000019_gtFine_labelIds.png"))


def camvid(root):
    """The SegNet release's layout: <split>/<name>.png, <split>annot/<name>.png (8-bit grey,
    values 0..11, 11 void); the toolbox's list files; camvid_outside/ has a value 12."""
    base = os.path.join(root, "camvid")
    samples = {"train": ["0001TP_006690", "0001TP_006720"], "val": ["0016E5_07959"], "test": ["Seq05VD_f00000"]}
    for k, (split, name) in enumerate((s, n) for s, names in samples.items() for n in names):
        for d in (split, split + "annot", "expected/" + split):
            os.makedirs(os.path.join(base, d), exist_ok=True)
        image(k, 36, 20).save(os.path.join(base, split, name + ".png"))
        x, y = grid(36, 20)
        values = ((x + 3 * y + k) % 12).astype(np.uint8)
        Image.fromarray(values, "L").save(os.path.join(base, split + "annot", name + ".png"))
        expected = np.where(values == 11, 255, values).astype(np.uint8)
        Image.fromarray(expected, "L").save(os.path.join(base, "expected", split, name + ".png"))
    # The toolbox's list: "image label", with the release's CamVid/ folder in front.
    os.makedirs(os.path.join(root, "camvid_list"), exist_ok=True)
    with open(os.path.join(root, "camvid_list", "camvid_trainval_list.txt"), "w") as f:
        for split in ("val", "train"):
            for name in samples[split]:
                f.write(f"camvid/{split}/{name}.png camvid/{split}annot/{name}.png\n")
    with open(os.path.join(root, "camvid_list", "bad_list.txt"), "w") as f:
        f.write("camvid/trainannot/0001TP_006690.png x\n")
    outside = os.path.join(root, "camvid_outside")
    for d in ("train", "trainannot"):
        os.makedirs(os.path.join(outside, d), exist_ok=True)
    image(0, 16, 8).save(os.path.join(outside, "train", "a.png"))
    values = np.full((8, 16), 3, np.uint8)
    values[5, 7] = 12
    Image.fromarray(values, "L").save(os.path.join(outside, "trainannot", "a.png"))


def ade20k(root):
    """ADEChallengeData2016: images/<split>/*.jpg and annotations/<split>/*.png (8-bit grey,
    0 other and 1..150); ade20k_outside/ has a value 151."""
    base = os.path.join(root, "ADEChallengeData2016")
    samples = {"training": ["ADE_train_00000002", "ADE_train_00000001"], "validation": ["ADE_val_00000001"]}
    for k, (split, name) in enumerate((s, n) for s, names in samples.items() for n in names):
        for d in ("images/" + split, "annotations/" + split, "expected/" + split):
            os.makedirs(os.path.join(base, d), exist_ok=True)
        image(k, 40, 24).save(os.path.join(base, "images", split, name + ".jpg"), quality=95)
        x, y = grid(40, 24)
        values = ((x + 40 * y + 7 * k) % 151).astype(np.uint8)
        Image.fromarray(values, "L").save(os.path.join(base, "annotations", split, name + ".png"))
        expected = np.where(values == 0, 255, values.astype(np.int64) - 1).astype(np.uint8)
        Image.fromarray(expected, "L").save(os.path.join(base, "expected", split, name + ".png"))
    # Not samples: a PNG beside the images.
    Image.fromarray(np.zeros((4, 4), np.uint8), "L").save(os.path.join(base, "images/training/thumbnail.png"))
    outside = os.path.join(root, "ade20k_outside")
    for d in ("images/training", "annotations/training"):
        os.makedirs(os.path.join(outside, d), exist_ok=True)
    image(0, 16, 8).save(os.path.join(outside, "images/training/ADE_train_00000009.jpg"))
    values = np.full((8, 16), 9, np.uint8)
    values[2, 3] = 151
    Image.fromarray(values, "L").save(os.path.join(outside, "annotations/training/ADE_train_00000009.png"))


# COCO category ids absent from the annotations (COCO-Stuff's label list), 1-based.
COCO_UNUSED_IDS = [12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91]


def cocostuff164k(root):
    """COCO-Stuff-164k's stuffthingmaps: images/<split>/<id>.jpg, annotations/<split>/<id>.png
    (8-bit grey, category id - 1 in 0..181, 255 unlabeled); expected/all182 and
    expected/used171 hold the two mappings; the toolbox's list; cocostuff164k_outside/ has
    a value 200."""
    base = os.path.join(root, "cocostuff164k")
    samples = {"train2017": ["000000000009", "000000000025"], "val2017": ["000000000139"]}
    used = [v for v in range(182) if v + 1 not in COCO_UNUSED_IDS]
    to171 = {v: i for i, v in enumerate(used)}
    for k, (split, name) in enumerate((s, n) for s, names in samples.items() for n in names):
        for d in ("images/" + split, "annotations/" + split, "expected/all182/" + split, "expected/used171/" + split):
            os.makedirs(os.path.join(base, d), exist_ok=True)
        image(k, 40, 24).save(os.path.join(base, "images", split, name + ".jpg"), quality=95)
        x, y = grid(40, 24)
        values = ((x + 40 * y + 11 * k) % 183).astype(np.uint8)
        values[values == 182] = 255
        values[0, :3] = 255
        Image.fromarray(values, "L").save(os.path.join(base, "annotations", split, name + ".png"))
        Image.fromarray(values, "L").save(os.path.join(base, "expected/all182", split, name + ".png"))
        mapped = np.vectorize(lambda v: to171.get(int(v), 255))(values).astype(np.uint8)
        Image.fromarray(mapped, "L").save(os.path.join(base, "expected/used171", split, name + ".png"))
    os.makedirs(os.path.join(base, "list"), exist_ok=True)
    write_list(os.path.join(base, "list", "coco_stuff_164k_train.txt"), list(reversed(samples["train2017"])))
    outside = os.path.join(root, "cocostuff164k_outside")
    for d in ("images/train2017", "annotations/train2017"):
        os.makedirs(os.path.join(outside, d), exist_ok=True)
    image(0, 16, 8).save(os.path.join(outside, "images/train2017/000000000001.jpg"))
    values = np.full((8, 16), 0, np.uint8)
    values[1, 1] = 200
    Image.fromarray(values, "L").save(os.path.join(outside, "annotations/train2017/000000000001.png"))


def vocaug(root):
    """The toolbox's VOC aug: SegmentationClassAug/<id>.png as 8-bit grey (0..20, 255
    void) beside VOC's palette SegmentationClass/, with its train_aug.txt and val.txt."""
    voc_root = os.path.join(root, "VOCAug")
    for d in ["JPEGImages", "SegmentationClass", "SegmentationClassAug", "list"]:
        os.makedirs(os.path.join(voc_root, d), exist_ok=True)
    ids = ["2007_000032", "2008_000008", "2011_003276"]
    for k, i in enumerate(ids):
        image(k).save(os.path.join(voc_root, "JPEGImages", i + ".jpg"), quality=95)
        Image.fromarray(voc_label(k), "L").save(os.path.join(voc_root, "SegmentationClassAug", i + ".png"))
        save_palette_png(voc_label(k), os.path.join(voc_root, "SegmentationClass", i + ".png"))
    write_list(os.path.join(voc_root, "list", "train_aug.txt"), ids[:2])
    write_list(os.path.join(voc_root, "list", "val.txt"), ids[2:])


if __name__ == "__main__":
    {"voc": voc, "cocostuff": cocostuff, "pngs": pngs, "cityscapes": cityscapes, "camvid": camvid, "ade20k": ade20k,
     "cocostuff164k": cocostuff164k, "vocaug": vocaug}[sys.argv[1]](sys.argv[2])
