#!/usr/bin/python3
"""An independent implementation of the published TaT training step (written from the
published recipe's facts, not from its code), for the training-step parity test.

  published_train_step.py start DIR
      writes DIR/student0.pth (DeepLabV3+ ResNet-18, PyTorch's default initialisation),
      DIR/teacher0.pth (DeepLabV3+ ResNet-18, other weights; see TEACHER) and a folder data set of two 257 x 257
      images (DIR/data/images/*.png, DIR/data/labels/*.png, 21 classes and void 255)
  published_train_step.py train DIR --distillers FILE --iterations K --lr LR --out FILE [--out-after-first FILE] [--float64]
      K published steps on the fixed batch of both images, from DIR's student, teacher and
      the embeddings in FILE (segdistill's `export-checkpoint --section distillers`);
      writes the student's and the embeddings' parameters after the last step

The step (published recipe, section 1): teacher and student in train mode, the teacher's
decoder feature computed with autograd on and detached for the loss, per sample
L_b = beta * patch_group + gamma * anchor_point with the embeddings applied to that sample
alone, loss = CE / B + alpha * sum_b L_b / B, SGD with Nesterov momentum 0.9 and weight
decay 5e-4 in three groups (backbone lr, ASPP + decoder 10 lr, embeddings lr), cosine LR
over the K iterations. Dropout is off on both networks (the test compares deterministic
steps), ASPP dropout being absent from the distillation forward anyway.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_deeplab as ref  # noqa: E402
import tat_reference as tat  # noqa: E402

# A random DeepLabV3+ ResNet-101 in train mode is numerically chaotic: in float32 its
# decoder feature differs from float64 by 9e-4 (relative, measured on this batch), and the
# near one-hot attention (d = 1024 channels per head) amplifies feature differences about
# 44 times into the embeddings' gradients, so two correct float32 implementations of the
# step would differ by 2-4%. A ResNet-18 teacher (float32 error 8e-6) keeps the step
# comparable; everything the step does is the same.
TEACHER = "resnet18"
SIZE = 257
CLASSES = 21
ALPHA, BETA, GAMMA = 0.1, 1.0, 0.4
PATCHES, HEADS, ANCHORS = 16, 64, 32
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def without_dropout(model):
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    return model


def extract_feature(model, x):
    """(decoder feature: last_conv[0:6] output, logits at the input size), as the
    published extract_feature: no ASPP dropout, the decoder's dropouts applied."""
    high, low = model.backbone(x)
    aspp = model.aspp
    parts = [aspp.aspp1(high), aspp.aspp2(high), aspp.aspp3(high), aspp.aspp4(high)]
    pooled = F.interpolate(aspp.global_avg_pool(high), size=parts[0].shape[2:], mode="bilinear", align_corners=True)
    a = F.relu(aspp.bn1(aspp.conv1(torch.cat(parts + [pooled], 1))))
    dec = model.decoder
    low = F.relu(dec.bn1(dec.conv1(low)))
    a = F.interpolate(a, size=low.shape[2:], mode="bilinear", align_corners=True)
    feature = dec.last_conv[0:6](torch.cat([a, low], 1))
    logits = dec.last_conv[6:](feature)
    return feature, F.interpolate(logits, size=x.shape[2:], mode="bilinear", align_corners=True)


class Embed(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv2d = nn.Conv2d(cin, cout, 1, bias=False)
        self.norm = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.norm(self.conv2d(x))


class Distiller(nn.Module):
    def __init__(self, channels=256):
        super().__init__()
        self.embed_query = Embed(channels, channels)
        self.embed_key = Embed(channels, channels)
        self.embed_value = Embed(channels, channels)

    def forward(self, fs, ft):
        """Sum over the batch of beta * patch_group + gamma * anchor_point, one sample at a time."""
        total = 0.0
        for b in range(fs.shape[0]):
            s, t = fs[b:b + 1], ft[b:b + 1].detach()
            q, k, v = self.embed_query(s)[0], self.embed_key(t)[0], self.embed_value(s)[0]
            target = t[0]
            pg = tat.attention_loss(tat.stacked(q, PATCHES, PATCHES), tat.stacked(k, PATCHES, PATCHES),
                                    tat.stacked(v, PATCHES, PATCHES), tat.stacked(target, PATCHES, PATCHES), HEADS)
            ap = tat.attention_loss(tat.pooled(q, ANCHORS, ANCHORS), tat.pooled(k, ANCHORS, ANCHORS),
                                    tat.pooled(v, ANCHORS, ANCHORS), tat.pooled(target, ANCHORS, ANCHORS), 1)
            total = total + BETA * pg + GAMMA * ap
        return total


def start(args):
    torch.manual_seed(0)
    student = ref.DeepLab("resnet18", CLASSES)
    torch.save(student.state_dict(), os.path.join(args.dir, "student0.pth"))
    torch.manual_seed(1)
    teacher = ref.DeepLab(TEACHER, CLASSES)
    torch.save(teacher.state_dict(), os.path.join(args.dir, "teacher0.pth"))
    rng = np.random.default_rng(3)
    for folder in ("images", "labels"):
        os.makedirs(os.path.join(args.dir, "data", folder), exist_ok=True)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    for i in range(2):
        # Smooth colour fields with noise: natural-looking statistics for BatchNorm.
        image = np.stack([127 + 100 * np.sin(xx / (9 + 4 * c + i) + yy / (13 + c)) for c in range(3)], 2)
        image = np.clip(image + rng.normal(0, 20, image.shape), 0, 255).astype(np.uint8)
        label = ((xx // 37 + yy // 29 + 5 * i) % CLASSES).astype(np.uint8)
        label[rng.random(label.shape) < 0.05] = 255
        Image.fromarray(image, "RGB").save(os.path.join(args.dir, "data", "images", "s%d.png" % i))
        Image.fromarray(label, "L").save(os.path.join(args.dir, "data", "labels", "s%d.png" % i))


def load_batch(directory):
    images, labels = [], []
    for i in range(2):
        image = np.asarray(Image.open(os.path.join(directory, "data", "images", "s%d.png" % i)).convert("RGB"), np.float32)
        image = (image / 255.0 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
        images.append(torch.from_numpy(image.transpose(2, 0, 1).copy()))
        labels.append(torch.from_numpy(np.asarray(Image.open(os.path.join(directory, "data", "labels", "s%d.png" % i)),
                                                  np.float32).copy()))
    return torch.stack(images), torch.stack(labels)


def train(args):
    torch.set_num_threads(args.threads)
    student = without_dropout(ref.DeepLab("resnet18", CLASSES))
    student.load_state_dict(torch.load(os.path.join(args.dir, "student0.pth")))
    teacher = without_dropout(ref.DeepLab(TEACHER, CLASSES))
    teacher.load_state_dict(torch.load(os.path.join(args.dir, "teacher0.pth")))
    distiller = Distiller()
    exported = torch.load(args.distillers)
    distiller.load_state_dict({k[len("0."):]: v for k, v in exported.items() if k.startswith("0.")})
    image, label = load_batch(args.dir)
    if args.float64:
        student.double(), teacher.double(), distiller.double()
        image = image.double()

    head = list(student.aspp.parameters()) + list(student.decoder.parameters())
    embeds = [p for e in (distiller.embed_key, distiller.embed_query, distiller.embed_value) for p in e.parameters()]
    optimizer = torch.optim.SGD([{"params": student.backbone.parameters()}, {"params": head}, {"params": embeds}],
                                lr=args.lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    criterion = nn.CrossEntropyLoss(ignore_index=255)
    for step in range(args.iterations):
        lr = 0.5 * args.lr * (1 + math.cos(math.pi * step / args.iterations))
        for group, factor in zip(optimizer.param_groups, (1, 10, 1)):
            group["lr"] = lr * factor
        for m in (student, teacher, distiller):
            m.train()
        optimizer.zero_grad()
        ft, _ = extract_feature(teacher, image)
        fs, logits = extract_feature(student, image)
        batch = image.shape[0]
        loss = criterion(logits, label.long()) / batch + ALPHA * distiller(fs, ft) / batch
        loss.backward()
        optimizer.step()
        print("iteration %d: lr %.6g loss %.6f" % (step, lr, loss.item()))
        if args.out_after_first and step == 0:
            save_parameters(student, distiller, args.out_after_first)
    save_parameters(student, distiller, args.out)


def save_parameters(student, distiller, path):
    out = {"student." + k: v.detach().clone() for k, v in student.named_parameters()}
    out.update({"distiller." + k: v.detach().clone() for k, v in distiller.named_parameters()})
    torch.save({k: v.double() for k, v in out.items()}, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("start")
    s.add_argument("dir")
    t = sub.add_parser("train")
    t.add_argument("dir")
    t.add_argument("--distillers", required=True)
    t.add_argument("--iterations", type=int, required=True)
    t.add_argument("--lr", type=float, required=True)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--float64", action="store_true", help="compute in float64 (the reference without rounding noise)")
    t.add_argument("--out", required=True)
    t.add_argument("--out-after-first", help="also save the parameters after the first iteration, whose cosine learning "
                   "rate is the base one whatever --iterations: the result of a 1-iteration run")
    args = parser.parse_args()
    {"start": start, "train": train}[args.command](args)


if __name__ == "__main__":
    main()
