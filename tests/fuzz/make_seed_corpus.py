#!/usr/bin/python3
"""Writes the fuzzers' seed corpus (tests/fuzz/corpus/HARNESS/) with real writers:
torch.save (both formats), PIL, scipy.io.savemat, and the shipped toy configs. Seeds
stay small (a few kilobytes) so that they live in the repository.

    make_seed_corpus.py [OUT_DIR]   (default: tests/fuzz/corpus next to this file)
"""
import io
import os
import shutil
import sys
import zipfile

import numpy as np
import scipy.io
import torch
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")


def folder(name):
    path = os.path.join(out, name)
    os.makedirs(path, exist_ok=True)
    return path


def save(path, obj, **kwargs):
    torch.save(obj, path, **kwargs)


pt = folder("fuzz_pytorch_checkpoint")
state = {"conv.weight": torch.arange(12, dtype=torch.float32).reshape(3, 1, 2, 2), "bn.num_batches_tracked": torch.tensor(3)}
save(os.path.join(pt, "state_dict_zip.pt"), state)
save(os.path.join(pt, "state_dict_legacy.pt"), state, _use_new_zipfile_serialization=False)
save(os.path.join(pt, "nested_zip.pt"), {"state_dict": state, "epoch": 4, "best": 0.5, "args": ["x", 1.5, None, True]})
save(os.path.join(pt, "views_zip.pt"), {"a": torch.arange(20.0)[3:9], "b": torch.arange(6.0).reshape(2, 3).t()})
save(os.path.join(pt, "half_legacy.pt"), {"w": torch.ones(4, dtype=torch.float16)}, _use_new_zipfile_serialization=False)

ours = folder("fuzz_segdistill_checkpoint")
checkpoint = {"format": "segdistill_checkpoint", "format_version": 2, "iteration": 8,
              "groups": {"model": {"conv.weight": torch.ones(2, 1, 1, 1), "bn.num_batches_tracked": torch.tensor(1)},
                         "optimizer": {"momentum_buffer.0.0": torch.zeros(2, 1, 1, 1)},
                         "rng": {"cpu": torch.zeros(16, dtype=torch.uint8)}},
              "text": {"config": "[model]\nnum_classes = 2\n"}}
save(os.path.join(ours, "checkpoint.pt"), checkpoint)
with zipfile.ZipFile(os.path.join(ours, "cycle.pt"), "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", b"\x80\x02]q\x00h\x00a.")

images = folder("fuzz_image_readers")
palette = Image.new("P", (6, 4))
palette.putpalette([i % 256 for i in range(768)])
palette.putdata([i % 5 for i in range(24)])
palette.save(os.path.join(images, "label_palette.png"))
Image.new("L", (5, 3), 7).save(os.path.join(images, "label_grey.png"))
Image.new("RGB", (8, 6), (200, 10, 30)).save(os.path.join(images, "image.jpg"), quality=50)
Image.new("RGB", (4, 4), (1, 2, 3)).save(os.path.join(images, "image.bmp"))
Image.new("RGB", (3, 5), (9, 9, 9)).save(os.path.join(images, "image.png"))
scipy.io.savemat(os.path.join(images, "label_v5.mat"), {"S": np.arange(12, dtype=np.uint8).reshape(3, 4)})
scipy.io.savemat(os.path.join(images, "label_v5_compressed.mat"), {"S": np.ones((4, 4), dtype=np.uint16)}, do_compression=True)
scipy.io.savemat(os.path.join(images, "label_sbd.mat"),
                 {"GTcls": {"Segmentation": np.arange(6, dtype=np.uint8).reshape(2, 3)}})

configs = folder("fuzz_config")
for name in ["toy/teacher.toml", "toy/student_tat.toml", "_base_/toy_data.toml"]:
    source = os.path.join(here, "..", "..", "configs", name)
    if os.path.exists(source):
        shutil.copy(source, os.path.join(configs, name.replace("/", "_")))
with open(os.path.join(configs, "dotted.toml"), "w") as f:
    f.write('a.b.c = [1, 2.5, "x.y"]\n[t]\n"q.k" = {u = [[1], [2]]} # comment [\n[[arr]]\nv = 1e3\n')
# Split lists and _base_ graphs: a list, then f1.toml..f8.toml, cut at "\n===\n".
lists = folder("fuzz_split_and_bases")
cut = "\n===\n"
seeds = {
    "voc_list": ["2007_000032\n2007_000039 SegmentationClass/2007_000039.png\n\n  2008_000002\t\n", "a = 1\n"],
    "diamond": ["x\n", '_base_ = ["f2.toml", "f3.toml"]\nk = 1\n', '_base_ = "f4.toml"\n[t]\na = 2\n',
                '_base_ = "f4.toml"\n[t]\nb = 3\n', "[t]\nc = 4\n"],
    "twice": ["y/z\n", '_base_ = ["f2.toml", "f2.toml"]\n', '_base_ = ["f3.toml", "f3.toml"]\n', "k = 3\n"],
    "cycle": ["../escape\n", '_base_ = "f2.toml"\n', '_base_ = "f1.toml"\n'],
    "delete": ["/abs\n", '_base_ = "f2.toml"\n[m]\n_delete_ = true\ntype = "b"\n', '[m]\ntype = "a"\nx = 1\n'],
}
for name, files in seeds.items():
    with open(os.path.join(lists, name + ".txt"), "w") as f:
        f.write(cut.join(files))
print("seed corpus written to", out)
