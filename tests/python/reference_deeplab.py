#!/usr/bin/python3
"""Independent PyTorch implementation of the reference DeepLabV3+ (written from
the published code's facts; docs/architecture.md), used by the tests to write real PyTorch checkpoints and
the logits segdistill must reproduce.

  reference_deeplab.py make --backbone resnet18 --out DIR [--format zip|legacy]
      [--wrap none|state_dict|model] [--plain-dict] [--module-prefix] [--dtype float32|float16|float64]
      writes DIR/checkpoint.pt and DIR/io.pt ({"input": image, "logits": its eval-mode logits})
  reference_deeplab.py compare --backbone resnet18 --original DIR/checkpoint.pt --exported FILE
      loads FILE with torch.load into the reference model (strict) and checks every tensor
      equals the original's; prints "identical N"
"""
# The published networks' in-place operations are kept (the ReLUs inside ResNet blocks and
# after the stem, the residual sum `out += ...`, MobileNetV2's ReLU6; the block-start ReLU,
# ASPP's, the decoder's and MobileNetV2's residual sum are out-of-place there too): the values
# are the same either way, but tools/bench/train_step_python.py times the published step and
# must allocate and write what it does.
import argparse
import collections
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, c, stride, dilation):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, stride, dilation, dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, 1, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.downsample = downsample(cin, c, stride)

    def forward(self, x):
        x = F.relu(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)), inplace=True)))
        out += self.downsample(x) if self.downsample is not None else x
        return out


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, c, stride, dilation):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, stride, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.conv3 = nn.Conv2d(c, c * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c * 4)
        self.downsample = downsample(cin, c * 4, stride)

    def forward(self, x):
        x = F.relu(x)
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = F.relu(self.bn2(self.conv2(out)), inplace=True)
        out = self.bn3(self.conv3(out))
        out += self.downsample(x) if self.downsample is not None else x
        return out


def downsample(cin, cout, stride):
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class ResNet(nn.Module):
    def __init__(self, block, counts, output_stride=16):
        super().__init__()
        strides, dilations = ([1, 2, 2, 1], [1, 1, 1, 2]) if output_stride == 16 else ([1, 2, 1, 1], [1, 1, 2, 4])
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.cin = 64
        for i, width in enumerate([64, 128, 256, 512]):
            grid = [1, 2, 4] if (i == 3 and block is Bottleneck) else [1] * counts[i]
            blocks = []
            for b, g in enumerate(grid):
                blocks.append(block(self.cin, width, strides[i] if b == 0 else 1, dilations[i] * g))
                self.cin = width * block.expansion
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*blocks))

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x)), inplace=True))
        low = self.layer1(x)
        x = self.layer4(self.layer3(self.layer2(low)))
        return F.relu(x), F.relu(low)


def fixed_padding(x, dilation):
    total = 3 + 2 * (dilation - 1) - 1
    return F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, dilation, t):
        super().__init__()
        hidden = round(cin * t)
        self.dilation = dilation
        self.residual = stride == 1 and cin == cout
        layers = []
        if t != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 0, dilation, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(inplace=True), nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        out = self.conv(fixed_padding(x, self.dilation))
        return x + out if self.residual else out


class MobileNetV2(nn.Module):
    def __init__(self, output_stride=16):
        super().__init__()
        table = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        layers = [nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True))]
        cin, current, rate = 32, 2, 1
        for t, c, n, s in table:
            if current == output_stride:
                stride, dilation, rate = 1, rate, rate * s
            else:
                stride, dilation, current = s, 1, current * s
            for i in range(n):
                layers.append(InvertedResidual(cin, c, stride if i == 0 else 1, dilation, t))
                cin = c
        self.features = nn.Sequential(*layers)
        self.low_level_features = self.features[0:4]
        self.high_level_features = self.features[4:]

    def forward(self, x):
        low = self.low_level_features(x)
        return self.high_level_features(low), low


class SeparableConv2d(nn.Module):
    """Aligned Xception's separable convolution: fixed padding, depthwise 3x3, BN, pointwise."""

    def __init__(self, cin, cout, stride=1, dilation=1):
        super().__init__()
        self.dilation = dilation
        self.conv1 = nn.Conv2d(cin, cin, 3, stride, 0, dilation, groups=cin, bias=False)
        self.bn = nn.BatchNorm2d(cin)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.bn(self.conv1(fixed_padding(x, self.dilation))))


class XceptionBlock(nn.Module):
    def __init__(self, cin, cout, reps, stride=1, dilation=1, start_with_relu=True, grow_first=True, is_last=False):
        super().__init__()
        triples = []
        if grow_first:
            triples.append(SeparableConv2d(cin, cout, 1, dilation))
        width = cout if grow_first else cin
        for _ in range(reps - 1):
            triples.append(SeparableConv2d(width, width, 1, dilation))
        if not grow_first:
            triples.append(SeparableConv2d(cin, cout, 1, dilation))
        if stride != 1:
            triples.append(SeparableConv2d(cout, cout, stride, 1))
        elif is_last:
            triples.append(SeparableConv2d(cout, cout, 1, 1))
        rep = []
        for sep in triples:
            rep += [nn.ReLU(), sep, nn.BatchNorm2d(sep.pointwise.out_channels)]
        self.start_with_relu = start_with_relu
        self.rep = nn.Sequential(*(rep if start_with_relu else rep[1:]))
        if cout != cin or stride != 1:
            self.skip = nn.Conv2d(cin, cout, 1, stride, bias=False)
            self.skipbn = nn.BatchNorm2d(cout)
        else:
            self.skip = None

    def forward(self, x):
        # The published ReLUs are in place: a block that starts with one rectifies the
        # input its skip path reads as well.
        if self.start_with_relu:
            x = F.relu(x)
            out = self.rep[1:](x)
        else:
            out = self.rep(x)
        return out + (self.skipbn(self.skip(x)) if self.skip is not None else x)


class AlignedXception(nn.Module):
    def __init__(self, output_stride=16):
        super().__init__()
        entry, middle, exit_ = (2, 1, (1, 2)) if output_stride == 16 else (1, 2, (2, 4))
        self.conv1 = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.block1 = XceptionBlock(64, 128, 2, 2, start_with_relu=False)
        self.block2 = XceptionBlock(128, 256, 2, 2, start_with_relu=False)
        self.block3 = XceptionBlock(256, 728, 2, entry, is_last=True)
        for i in range(4, 20):
            setattr(self, "block%d" % i, XceptionBlock(728, 728, 3, 1, middle))
        self.block20 = XceptionBlock(728, 1024, 2, 1, exit_[0], grow_first=False, is_last=True)
        self.conv3 = SeparableConv2d(1024, 1536, 1, exit_[1])
        self.bn3 = nn.BatchNorm2d(1536)
        self.conv4 = SeparableConv2d(1536, 1536, 1, exit_[1])
        self.bn4 = nn.BatchNorm2d(1536)
        self.conv5 = SeparableConv2d(1536, 2048, 1, exit_[1])
        self.bn5 = nn.BatchNorm2d(2048)

    def forward(self, x):
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        low = F.relu(self.block1(x))
        x = low
        for i in range(2, 21):
            x = getattr(self, "block%d" % i)(x)
        x = F.relu(x)
        x = F.relu(self.bn3(self.conv3(x)))
        x = F.relu(self.bn4(self.conv4(x)))
        return F.relu(self.bn5(self.conv5(x))), low


class DrnBottleneck(nn.Module):
    """Post-activation bottleneck: conv2 strided, dilation = padding = the stage's."""

    def __init__(self, cin, planes, stride, dilation):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample(cin, planes * 4, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))


def conv_bn_relu(cin, cout, stride, dilation, kernel=3):
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, dilation * (kernel // 2), dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU())


def drn_stage(cin, planes, count, stride, dilation):
    return nn.Sequential(*[DrnBottleneck(cin if i == 0 else planes * 4, planes, stride if i == 0 else 1, dilation)
                           for i in range(count)])


class DrnD54(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer0 = conv_bn_relu(3, 16, 1, 1, kernel=7)
        self.layer1 = conv_bn_relu(16, 16, 1, 1)
        self.layer2 = conv_bn_relu(16, 32, 2, 1)
        self.layer3 = drn_stage(32, 64, 3, 2, 1)
        self.layer4 = drn_stage(256, 128, 4, 2, 1)
        self.layer5 = drn_stage(512, 256, 6, 1, 2)
        self.layer6 = drn_stage(1024, 512, 3, 1, 4)
        self.layer7 = conv_bn_relu(2048, 512, 1, 2)
        self.layer8 = conv_bn_relu(512, 512, 1, 1)

    def forward(self, x):
        low = self.layer3(self.layer2(self.layer1(self.layer0(x))))
        x = self.layer6(self.layer5(self.layer4(low)))
        return self.layer8(self.layer7(x)), low


class AsppBranch(nn.Module):
    def __init__(self, cin, kernel, dilation):
        super().__init__()
        self.atrous_conv = nn.Conv2d(cin, 256, kernel, 1, 0 if kernel == 1 else dilation, dilation, bias=False)
        self.bn = nn.BatchNorm2d(256)

    def forward(self, x):
        return F.relu(self.bn(self.atrous_conv(x)))


class ASPP(nn.Module):
    def __init__(self, cin, dilations=(1, 6, 12, 18)):
        super().__init__()
        self.aspp1 = AsppBranch(cin, 1, dilations[0])
        self.aspp2 = AsppBranch(cin, 3, dilations[1])
        self.aspp3 = AsppBranch(cin, 3, dilations[2])
        self.aspp4 = AsppBranch(cin, 3, dilations[3])
        self.global_avg_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, 256, 1, bias=False),
                                             nn.BatchNorm2d(256), nn.ReLU())
        self.conv1 = nn.Conv2d(1280, 256, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(256)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        parts = [self.aspp1(x), self.aspp2(x), self.aspp3(x), self.aspp4(x)]
        pooled = F.interpolate(self.global_avg_pool(x), size=parts[0].shape[2:], mode="bilinear", align_corners=True)
        return self.dropout(F.relu(self.bn1(self.conv1(torch.cat(parts + [pooled], 1)))))


class Decoder(nn.Module):
    def __init__(self, low_channels, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(low_channels, 48, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(48)
        self.last_conv = nn.Sequential(nn.Conv2d(304, 256, 3, 1, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU(),
                                       nn.Dropout(0.5), nn.Conv2d(256, 256, 3, 1, 1, bias=False), nn.BatchNorm2d(256),
                                       nn.ReLU(), nn.Dropout(0.1), nn.Conv2d(256, classes, 1))

    def forward(self, x, low):
        low = F.relu(self.bn1(self.conv1(low)))
        x = F.interpolate(x, size=low.shape[2:], mode="bilinear", align_corners=True)
        return self.last_conv(torch.cat([x, low], 1))


class DeepLab(nn.Module):
    def __init__(self, backbone, classes=21):
        super().__init__()
        if backbone == "resnet18":
            self.backbone, high, low = ResNet(BasicBlock, [2, 2, 2, 2]), 512, 64
        elif backbone == "resnet101":
            self.backbone, high, low = ResNet(Bottleneck, [3, 4, 23, 3]), 2048, 256
        elif backbone == "xception":
            self.backbone, high, low = AlignedXception(), 2048, 128
        elif backbone == "drn":
            self.backbone, high, low = DrnD54(), 512, 256
        else:
            self.backbone, high, low = MobileNetV2(), 320, 24
        # The published DeepLab forces output stride 8 for drn: the ASPP dilations of OS 8.
        self.aspp = ASPP(high, (1, 12, 24, 36) if backbone == "drn" else (1, 6, 12, 18))
        self.decoder = Decoder(low, classes)

    def forward(self, x):
        high, low = self.backbone(x)
        out = self.decoder(self.aspp(high), low)
        return F.interpolate(out, size=x.shape[2:], mode="bilinear", align_corners=True)


def randomise(model, seed):
    """Random weights and random BatchNorm statistics, so that eval mode matters."""
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


def make(args):
    torch.manual_seed(0)
    model = DeepLab(args.backbone).eval()
    randomise(model, 1)
    image = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        logits = model(image)
    state = model.state_dict()  # an OrderedDict
    dtype = {"float32": torch.float32, "float16": torch.float16, "float64": torch.float64}[args.dtype]
    state = collections.OrderedDict((k, v.to(dtype) if v.is_floating_point() else v) for k, v in state.items())
    if args.module_prefix:
        state = collections.OrderedDict(("module." + k, v) for k, v in state.items())
    if args.plain_dict:
        state = dict(state)
    if args.wrap != "none":
        state = {"epoch": 50, args.wrap: state, "optimizer": {"lr": 0.007, "momentum": 0.9},
                 "best_pred": 0.7123, "args": argparse.Namespace(backbone=args.backbone)}
    torch.save(state, args.out + "/checkpoint.pt", _use_new_zipfile_serialization=(args.format == "zip"))
    torch.save({"input": image, "logits": logits}, args.out + "/io.pt")


def small(args):
    """Small dicts of special tensors: every dtype conversion and a view sharing storage."""
    base = torch.arange(12, dtype=torch.float64).reshape(3, 4) / 4
    tensors = {"half": base.to(torch.float16), "double": base, "bfloat": base.to(torch.bfloat16),
               "long": torch.arange(5), "int": torch.arange(3, dtype=torch.int32), "flag": torch.tensor([True, False]),
               "column": base.float()[:, 1], "scalar": torch.tensor(7)}
    torch.save(tensors, args.out, _use_new_zipfile_serialization=(args.format == "zip"))


def compare(args):
    original = torch.load(args.original)
    original = original.get("state_dict", original) if isinstance(original, dict) else original
    exported = torch.load(args.exported)
    if not isinstance(exported, dict):
        sys.exit("the exported file holds a %s, not a dict" % type(exported).__name__)
    model = DeepLab(args.backbone)
    model.load_state_dict(exported, strict=True)
    for name, tensor in original.items():
        name = name[len("module."):] if name.startswith("module.") else name
        if not torch.equal(exported[name], tensor.to(exported[name].dtype)):
            sys.exit("tensor %s differs" % name)
    print("identical %d" % len(exported))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("--backbone", choices=["resnet18", "resnet101", "mobilenet", "xception", "drn"], required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--format", choices=["zip", "legacy"], default="zip")
    m.add_argument("--wrap", choices=["none", "state_dict", "model"], default="none")
    m.add_argument("--plain-dict", action="store_true")
    m.add_argument("--module-prefix", action="store_true")
    m.add_argument("--dtype", choices=["float32", "float16", "float64"], default="float32")
    m.add_argument("--size", type=int, default=65)
    s = sub.add_parser("small")
    s.add_argument("--out", required=True)
    s.add_argument("--format", choices=["zip", "legacy"], default="zip")
    c = sub.add_parser("compare")
    c.add_argument("--backbone", choices=["resnet18", "resnet101", "mobilenet", "xception", "drn"], required=True)
    c.add_argument("--original", required=True)
    c.add_argument("--exported", required=True)
    args = parser.parse_args()
    {"make": make, "small": small, "compare": compare}[args.command](args)


if __name__ == "__main__":
    main()
