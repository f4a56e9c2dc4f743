#!/usr/bin/python3
"""Independent PyTorch implementation of the CIRKD toolbox's networks (written from the
facts in ../shared/reference/cirkd_toolbox.md, section 4: ResNet v1s, MobileNetV3, the
DeepLabV3 and PSPNet heads, the auxiliary FCN head), in the toolbox's state-dict layout.
The tests use it to write checkpoints with random weights, as the toolbox's training
scripts save them (the plain state_dict()), and the outputs segdistill must reproduce.

  cirkd_networks_reference.py make --network NAME --out DIR [--format zip|legacy]
      [--height H --width W] [--classes K]
      writes DIR/checkpoint.pth and DIR/io.pt ({"input", "logits" (at the input size),
      "feature", optionally "aux_logits"}, eval mode)
  cirkd_networks_reference.py compare --network NAME --original FILE --exported FILE [--classes K]
      loads FILE strictly and checks every tensor equals the original's: "identical N"
  cirkd_networks_reference.py evaluate --network NAME --checkpoint FILE --out DIR [--classes K]
      IMAGE LABEL [IMAGE LABEL ...]
      the toolbox's evaluation (eval.py, utils/score.py): each image read as BGR, its mean
      subtracted, the whole image at its own size, logits resized to it (bilinear,
      align_corners), argmax; DIR/<i>.png the predictions (grey), DIR/expected.json the
      mIoU over all classes with the toolbox's formula on the labels (train ids, 255 void)

NAME: deeplabv3_resnet18, deeplabv3_resnet101, psp_resnet18, psp_mobilenetv3_small,
psp_mobilenetv3_large, deeplabv3_mobilenetv3_small, deeplabv3_mobilenetv3_large.
"""
import argparse
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def up(x, size):
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------- ResNet v1s (4.1)

class BasicV1b(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, dilation, previous_dilation, downsample):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, dilation, dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, previous_dilation, previous_dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class BottleneckV1b(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, dilation, previous_dilation, downsample):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNetV1s(nn.Module):
    def __init__(self, block, layers):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, 128, 3, 1, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(128)
        self.inplanes = 128
        self.layer1 = self._stage(block, 64, layers[0], 1, 1)
        self.layer2 = self._stage(block, 128, layers[1], 2, 1)
        self.layer3 = self._stage(block, 256, layers[2], 1, 2)
        self.layer4 = self._stage(block, 512, layers[3], 1, 4)

    def _stage(self, block, planes, blocks, stride, dilation):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes * block.expansion))
        # resnetv1b.py: dilation 1 or 2 -> first block dilation 1; 4 -> 2; then the stage's.
        first = 1 if dilation in (1, 2) else 2
        layers = [block(self.inplanes, planes, stride, first, dilation, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, 1, dilation, dilation, None))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x = F.max_pool2d(x, 3, 2, 1)
        c1 = self.layer1(x)
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        c4 = self.layer4(c3)
        return c1, c2, c3, c4


# ---------------------------------------------------------------- MobileNetV3 (4.5)

def hswish(x):
    return x * F.relu6(x + 3) / 6


def hsigmoid(x):
    return torch.clamp((x + 3) / 6, 0, 1)


class ConvBnAct(nn.Module):
    """conv + bn + activation; `adaptive`: TF SAME padding from the input size."""

    def __init__(self, cin, cout, k, stride, dilation, groups, adaptive, act):
        super().__init__()
        self.adaptive, self.k, self.stride, self.dilation, self.act = adaptive, k, stride, dilation, act
        pad = 0 if adaptive else dilation * (k - 1) // 2
        self.conv = nn.Conv2d(cin, cout, k, stride, pad, dilation, groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        if self.adaptive:
            def total(n):
                return max((-(-n // self.stride) - 1) * self.stride + (self.k - 1) * self.dilation + 1 - n, 0)
            ph, pw = total(x.shape[2]), total(x.shape[3])
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        x = self.bn(self.conv(x))
        return {"relu": F.relu, "hswish": hswish, None: lambda t: t}[self.act](x)


def make_divisible(value, divisor=8):
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


class SE(nn.Module):
    def __init__(self, channels):
        super().__init__()
        squeeze = make_divisible(channels // 4)
        self.conv1 = nn.Module()
        self.conv1.conv = nn.Conv2d(channels, squeeze, 1)
        self.conv2 = nn.Module()
        self.conv2.conv = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        g = F.relu(self.conv1.conv(F.adaptive_avg_pool2d(x, 1)))
        return x * hsigmoid(self.conv2.conv(g))


class InvertedResidualV3(nn.Module):
    def __init__(self, cin, k, mid, cout, se, act, stride, new_stride, dilation):
        super().__init__()
        self.residual = stride == 1 and cin == cout
        if mid != cin:
            self.expand_conv = ConvBnAct(cin, mid, 1, 1, 1, 1, False, act)
        self.depthwise_conv = ConvBnAct(mid, mid, k, new_stride, dilation, mid, stride == 2, act)
        if se:
            self.se = SE(mid)
        self.linear_conv = ConvBnAct(mid, cout, 1, 1, 1, 1, False, None)

    def forward(self, x):
        y = self.expand_conv(x) if hasattr(self, "expand_conv") else x
        y = self.depthwise_conv(y)
        if hasattr(self, "se"):
            y = self.se(y)
        y = self.linear_conv(y)
        return y + x if self.residual else y


SMALL = [(3, 16, 16, True, "relu", 2), (3, 72, 24, False, "relu", 2), (3, 88, 24, False, "relu", 1),
         (5, 96, 40, True, "hswish", 2), (5, 240, 40, True, "hswish", 1), (5, 240, 40, True, "hswish", 1),
         (5, 120, 48, True, "hswish", 1), (5, 144, 48, True, "hswish", 1), (5, 288, 96, True, "hswish", 2),
         (5, 576, 96, True, "hswish", 1), (5, 576, 96, True, "hswish", 1)]
LARGE = [(3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2), (3, 72, 24, False, "relu", 1),
         (5, 72, 40, True, "relu", 2), (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
         (3, 240, 80, False, "hswish", 2), (3, 200, 80, False, "hswish", 1), (3, 184, 80, False, "hswish", 1),
         (3, 184, 80, False, "hswish", 1), (3, 480, 112, True, "hswish", 1), (3, 672, 112, True, "hswish", 1),
         (5, 672, 160, True, "hswish", 2), (5, 960, 160, True, "hswish", 1), (5, 960, 160, True, "hswish", 1)]
# Output stride 8 (4.5): (first converted layer, first layer of dilation 4, last layer index).
CONVERSION = {"small": (4, 9), "large": (7, 13)}


class MobileNetV3(nn.Module):
    def __init__(self, arch):
        super().__init__()
        table = SMALL if arch == "small" else LARGE
        d2, d4 = CONVERSION[arch]
        self.layer0 = ConvBnAct(3, 16, 3, 2, 1, 1, True, "hswish")
        cin = 16
        for i, (k, mid, cout, se, act, stride) in enumerate(table, start=1):
            dilation = 4 if i >= d4 else 2 if i >= d2 else 1
            new_stride = 1 if i in (d2, d4) else stride
            setattr(self, "layer%d" % i, InvertedResidualV3(cin, k, mid, cout, se, act, stride, new_stride, dilation))
            cin = cout
        self.count = len(table)
        out = 576 if arch == "small" else 960
        setattr(self, "layer%d" % (self.count + 1), ConvBnAct(cin, out, 1, 1, 1, 1, False, "hswish"))
        self.channels = out

    def forward(self, x):
        for i in range(self.count + 2):
            x = getattr(self, "layer%d" % i)(x)
        return x


# ---------------------------------------------------------------- heads (4.2, 4.3, 4.6)

def conv_bn_relu(cin, cout, k, dilation=1):
    return [nn.Conv2d(cin, cout, k, padding=dilation if k == 3 else 0, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU()]


class Branch(nn.Module):
    def __init__(self, cin, cout, rate):
        super().__init__()
        self.block = nn.Sequential(*conv_bn_relu(cin, cout, 3, rate))

    def forward(self, x):
        return self.block(x)


class Pooling(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.gap = nn.Sequential(nn.AdaptiveAvgPool2d(1), *conv_bn_relu(cin, cout, 1))

    def forward(self, x):
        return up(self.gap(x), x.shape[2:])


class ASPP(nn.Module):
    def __init__(self, cin, c, rates=(12, 24, 36)):
        super().__init__()
        self.b0 = nn.Sequential(*conv_bn_relu(cin, c, 1))
        self.b1, self.b2, self.b3 = (Branch(cin, c, r) for r in rates)
        self.b4 = Pooling(cin, c)
        self.project = nn.Sequential(*conv_bn_relu(5 * c, c, 1), nn.Dropout(0.5))

    def forward(self, x):
        return self.project(torch.cat([self.b0(x), self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1))


class DeepLabV3Head(nn.Module):
    def __init__(self, cin, c, classes):
        super().__init__()
        self.aspp = ASPP(cin, c)
        self.block = nn.Sequential(*conv_bn_relu(c, c, 3), nn.Dropout(0.1), nn.Conv2d(c, classes, 1))

    def forward(self, x):
        feature = self.block[:4](self.aspp(x))
        return self.block[4](feature), feature


class PyramidPooling(nn.Module):
    def __init__(self, cin):
        super().__init__()
        for i in range(1, 5):
            setattr(self, "conv%d" % i, nn.Sequential(*conv_bn_relu(cin, cin // 4, 1)))

    def forward(self, x):
        parts = [x]
        for i, size in enumerate((1, 2, 3, 6), start=1):
            parts.append(up(getattr(self, "conv%d" % i)(F.adaptive_avg_pool2d(x, size)), x.shape[2:]))
        return torch.cat(parts, 1)


class PSPHead(nn.Module):
    def __init__(self, cin, c, classes):
        super().__init__()
        self.psp = PyramidPooling(cin)
        self.block = nn.Sequential(*conv_bn_relu(2 * cin, c, 3), nn.Dropout(0.1))
        self.classifier = nn.Conv2d(c, classes, 1)

    def forward(self, x):
        feature = self.block(self.psp(x))
        return self.classifier(feature), feature


class FCNHead(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.block = nn.Sequential(*conv_bn_relu(cin, cin // 4, 3), nn.Dropout(0.1), nn.Conv2d(cin // 4, classes, 1))

    def forward(self, x):
        return self.block(x)


class Network(nn.Module):
    """pretrained.* (backbone), head.*, auxlayer.* (ResNet networks)."""

    def __init__(self, name, classes):
        super().__init__()
        head, backbone = name.split("_", 1)
        if backbone.startswith("resnet"):
            self.pretrained = ResNetV1s(BasicV1b, [2, 2, 2, 2]) if backbone == "resnet18" else \
                ResNetV1s(BottleneckV1b, [3, 4, 23, 3])
            c4 = 512 if backbone == "resnet18" else 2048
            self.auxlayer = FCNHead(c4 // 2, classes)
            width = 512 if head == "deeplabv3" else (128 if backbone == "resnet18" else 256)
        else:
            self.pretrained = MobileNetV3(backbone.split("_")[1])
            c4, width = self.pretrained.channels, 128
        self.head = DeepLabV3Head(c4, width, classes) if head == "deeplabv3" else PSPHead(c4, width, classes)

    def forward(self, x):
        out = {}
        if isinstance(self.pretrained, ResNetV1s):
            _, _, c3, c4 = self.pretrained(x)
            out["aux_logits"] = self.auxlayer(c3)
        else:
            c4 = self.pretrained(x)
        logits, out["feature"] = self.head(c4)
        out["logits"] = up(logits, x.shape[2:])
        return out


def randomise(model, seed):
    """Random weights and BatchNorm statistics, so that eval mode matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.5 + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
            elif isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (1.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


NETWORKS = ["deeplabv3_resnet18", "deeplabv3_resnet101", "psp_resnet18", "psp_mobilenetv3_small",
            "psp_mobilenetv3_large", "deeplabv3_mobilenetv3_small", "deeplabv3_mobilenetv3_large"]


def make(args):
    torch.manual_seed(0)
    model = Network(args.network, args.classes).eval()
    randomise(model, 1)
    image = torch.randn(1, 3, args.height, args.width, generator=torch.Generator().manual_seed(2)) * 50
    with torch.no_grad():
        out = model(image)
    torch.save(model.state_dict(), args.out + "/checkpoint.pth", _use_new_zipfile_serialization=(args.format == "zip"))
    torch.save(dict(input=image, **out), args.out + "/io.pt")


def compare(args):
    original = torch.load(args.original)
    exported = torch.load(args.exported)
    Network(args.network, args.classes).load_state_dict(exported, strict=True)
    for name, tensor in original.items():
        if not torch.equal(exported[name], tensor):
            sys.exit("tensor %s differs" % name)
    print("identical %d" % len(exported))


# The toolbox's per-channel mean, B, G, R (its dataset/*.py).
BGR_MEAN = (104.00698793, 116.66876762, 122.67891434)


def toolbox_scores(preds, labels, classes):
    """utils/score.py: both shifted by +1, histc counts over [1, K], float32 sums, IoU =
    inter / (eps + union), mean over all K classes."""
    inter = torch.zeros(classes, dtype=torch.float32)
    union = torch.zeros(classes, dtype=torch.float32)
    for pred, label in zip(preds, labels):
        pred = pred.long() + 1
        target = label.long() + 1
        target[label == 255] = 0  # the toolbox's ignore value -1, shifted
        pred = pred * (target > 0).long()
        hit = pred * (pred == target).long()
        area_inter = torch.histc(hit.float(), bins=classes, min=1, max=classes)
        area_pred = torch.histc(pred.float(), bins=classes, min=1, max=classes)
        area_label = torch.histc(target.float(), bins=classes, min=1, max=classes)
        inter += area_inter
        union += area_pred + area_label - area_inter
    iou = inter.double() / (2.220446049250313e-16 + union.double())
    return float(iou.mean())


def evaluate(args):
    import json
    import numpy as np
    from PIL import Image
    model = Network(args.network, args.classes).eval()
    model.load_state_dict(torch.load(args.checkpoint), strict=True)
    preds, labels = [], []
    pairs = list(zip(args.files[0::2], args.files[1::2]))
    for i, (image_path, label_path) in enumerate(pairs):
        rgb = np.asarray(Image.open(image_path).convert("RGB"), dtype=np.float32)
        bgr = rgb[:, :, ::-1] - np.array(BGR_MEAN, dtype=np.float32)
        image = torch.from_numpy(np.ascontiguousarray(bgr.transpose(2, 0, 1))).unsqueeze(0)
        with torch.no_grad():
            pred = model(image)["logits"].argmax(1)[0]
        preds.append(pred)
        labels.append(torch.from_numpy(np.asarray(Image.open(label_path), dtype=np.int64)))
        Image.fromarray(pred.numpy().astype(np.uint8), "L").save("%s/%d.png" % (args.out, i))
    with open(args.out + "/expected.json", "w") as f:
        json.dump({"mIoU": toolbox_scores(preds, labels, args.classes)}, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("--network", choices=NETWORKS, required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--format", choices=["zip", "legacy"], default="zip")
    m.add_argument("--height", type=int, default=67)
    m.add_argument("--width", type=int, default=83)
    m.add_argument("--classes", type=int, default=19)
    c = sub.add_parser("compare")
    c.add_argument("--network", choices=NETWORKS, required=True)
    c.add_argument("--original", required=True)
    c.add_argument("--exported", required=True)
    c.add_argument("--classes", type=int, default=19)
    e = sub.add_parser("evaluate")
    e.add_argument("--network", choices=NETWORKS, required=True)
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--classes", type=int, default=19)
    e.add_argument("files", nargs="+")
    args = parser.parse_args()
    {"make": make, "compare": compare, "evaluate": evaluate}[args.command](args)


if __name__ == "__main__":
    main()
