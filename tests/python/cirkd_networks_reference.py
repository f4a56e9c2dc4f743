#!/usr/bin/python3
"""Independent PyTorch implementation of the CIRKD toolbox's networks (written from the
facts of its networks: ResNet v1s, MobileNetV2, MobileNetV3, MobileViT, SegFormer, the
DeepLabV3, PSPNet and UPerNet heads, the auxiliary FCN head), in the toolbox's state-dict
layout. The tests use it to write checkpoints with random weights, as the toolbox's training
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

NAME: deeplabv3_resnet18, deeplabv3_resnet101, psp_resnet18, upernet_resnet18 (upernet_lite), psp_mobilenetv3_small,
psp_mobilenetv3_large, deeplabv3_mobilenetv3_small, deeplabv3_mobilenetv3_large, psp_mobilevit_xxs,
deeplabv3_mobilevit_xxs, segformer_mit_b0, segformer_mit_b4, deeplabv3_mobilenetv2.
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


# ---------------------------------------------------------------- MobileNetV2 (4.8)

class InvertedResidualV2ReLU6(nn.Module):
    def __init__(self, cin, cout, stride, dilation, t):
        super().__init__()
        mid = cin * t
        layers = []
        if t != 1:
            layers += [nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU6()]
        layers += [nn.Conv2d(mid, mid, 3, stride, dilation, dilation, groups=mid, bias=False), nn.BatchNorm2d(mid),
                   nn.ReLU6(), nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2Dilated(nn.Module):
    """features 0..17; OS 8: features 7 and 14 unstrided (dilation 1 and 2), 8..13 dilation
    2, 15..17 dilation 4."""

    def __init__(self):
        super().__init__()
        features = [nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6())]
        cin, index = 32, 1
        for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                           (6, 320, 1, 1)]:
            for i in range(n):
                stride = s if i == 0 else 1
                dilation = 1
                if 7 <= index <= 13:
                    dilation = 1 if index == 7 else 2
                    stride = 1
                elif index >= 14:
                    dilation = 2 if index == 14 else 4
                    stride = 1
                features.append(InvertedResidualV2ReLU6(cin, c, stride, dilation, t))
                cin, index = c, index + 1
        self.net = nn.Module()
        self.net.features = nn.Sequential(*features)
        self.channels = 320

    def forward(self, x):
        return self.net.features(x)


# ---------------------------------------------------------------- MobileViT-XXS (4.7)

def swish(x):
    return x * torch.sigmoid(x)


class ConvBnSwish(nn.Module):
    def __init__(self, cin, cout, k, stride=1, dilation=1, groups=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, dilation * (k - 1) // 2, dilation, groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        x = self.bn(self.conv(x))
        return swish(x) if self.act else x


class InvertedResidualV2(nn.Module):
    def __init__(self, cin, cout, stride, dilation):
        super().__init__()
        mid = 2 * cin
        self.conv = nn.Sequential(ConvBnSwish(cin, mid, 1), ConvBnSwish(mid, mid, 3, stride, dilation, mid),
                                  ConvBnSwish(mid, cout, 1, act=False))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class Attn(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, bias=True, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


class Swish(nn.Module):
    def forward(self, x):
        return swish(x)


class FFN(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.layers = nn.Sequential(nn.Sequential(nn.Linear(dim, hidden), Swish()), nn.Linear(hidden, dim))

    def forward(self, x):
        return self.layers(x)


class TransformerLayer(nn.Module):
    def __init__(self, dim, hidden, heads=4):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attn(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.ffn = FFN(dim, hidden)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class MobileViTBlock(nn.Module):
    def __init__(self, channels, dim, hidden, layers):
        super().__init__()
        self.local_rep = nn.Sequential(ConvBnSwish(channels, channels, 3), nn.Module())
        self.local_rep[1].conv = nn.Conv2d(channels, dim, 1, bias=False)
        self.global_rep = nn.Sequential(*[TransformerLayer(dim, hidden) for _ in range(layers)], nn.LayerNorm(dim))
        self.conv_proj = ConvBnSwish(dim, channels, 1, act=False)
        self.conv_fusion = ConvBnSwish(2 * channels, channels, 3)

    def forward(self, x):
        shortcut = x
        y = self.local_rep[1].conv(self.local_rep[0](x))
        b, c, h, w = y.shape
        nh, nw = -(-h // 2) * 2, -(-w // 2) * 2
        if (nh, nw) != (h, w):
            y = F.interpolate(y, size=(nh, nw), mode="bilinear", align_corners=False)
        ph, pw = nh // 2, nw // 2
        # mmpretrain's unfolding: each of the 4 in-patch positions a sequence of ph * pw tokens.
        y = y.reshape(b * c * ph, 2, pw, 2).transpose(1, 2).reshape(b, c, ph * pw, 4).transpose(1, 3)
        y = self.global_rep(y.reshape(b * 4, ph * pw, c))
        y = y.reshape(b, 4, ph * pw, c).transpose(1, 3).reshape(b * c * ph, pw, 2, 2).transpose(1, 2)
        y = y.reshape(b, c, nh, nw)
        if (nh, nw) != (h, w):
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)
        return self.conv_fusion(torch.cat([shortcut, self.conv_proj(y)], 1))


class MobileViTXXS(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = ConvBnSwish(3, 16, 3, 2)
        self.layers = nn.Sequential(
            nn.Sequential(InvertedResidualV2(16, 16, 1, 1)),
            nn.Sequential(InvertedResidualV2(16, 24, 2, 1), InvertedResidualV2(24, 24, 1, 1), InvertedResidualV2(24, 24, 1, 1)),
            nn.Sequential(InvertedResidualV2(24, 48, 2, 1), MobileViTBlock(48, 64, 128, 2)),
            nn.Sequential(InvertedResidualV2(48, 64, 1, 2), MobileViTBlock(64, 80, 160, 4)),
            nn.Sequential(InvertedResidualV2(64, 80, 1, 4), MobileViTBlock(80, 96, 192, 3)))
        self.conv_1x1_exp = ConvBnSwish(80, 320, 1)
        self.channels = 320

    def forward(self, x):
        return self.conv_1x1_exp(self.layers(self.stem(x)))


# ---------------------------------------------------------------- SegFormer (4.9)

class OverlapPatchEmbed(nn.Module):
    def __init__(self, cin, dim, k, stride):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, k, stride, k // 2)
        self.norm = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, x):
        x = self.proj(x)
        h, w = x.shape[2:]
        return self.norm(x.flatten(2).transpose(1, 2)), h, w


class MiTAttention(nn.Module):
    def __init__(self, dim, heads, sr):
        super().__init__()
        self.heads, self.sr_ratio = heads, sr
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        if sr > 1:
            self.sr = nn.Conv2d(dim, dim, sr, sr)
            self.norm = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, x, h, w):
        b, n, c = x.shape
        d = c // self.heads
        q = self.q(x).reshape(b, n, self.heads, d)
        src = x
        if self.sr_ratio > 1:
            src = self.sr(x.transpose(1, 2).reshape(b, c, h, w)).reshape(b, c, -1).transpose(1, 2)
            src = self.norm(src)
        k, v = self.kv(src).reshape(b, -1, 2, self.heads, d).unbind(2)
        attn = torch.einsum("bnhd,bmhd->bhnm", q, k) * d ** -0.5
        out = torch.einsum("bhnm,bmhd->bnhd", attn.softmax(-1), v).reshape(b, n, c)
        return self.proj(out)


class DWConv(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)

    def forward(self, x, h, w):
        b, n, c = x.shape
        return self.dwconv(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)


class MixFFN(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = DWConv(hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x, h, w):
        return self.fc2(F.gelu(self.dwconv(self.fc1(x), h, w)))


class MiTBlock(nn.Module):
    def __init__(self, dim, heads, sr):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MiTAttention(dim, heads, sr)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MixFFN(dim, 4 * dim)

    def forward(self, x, h, w):  # eval: drop path is the identity
        x = x + self.attn(self.norm1(x), h, w)
        return x + self.mlp(self.norm2(x), h, w)


class SegFormer(nn.Module):
    """MiT encoder + all-MLP decoder, the toolbox's keys at the top level."""

    def __init__(self, dims, depths, decoder, classes, heads=(1, 2, 5, 8), srs=(8, 4, 2, 1)):
        super().__init__()
        cin = 3
        for i in range(4):
            setattr(self, "patch_embed%d" % (i + 1), OverlapPatchEmbed(cin, dims[i], 7 if i == 0 else 3, 4 if i == 0 else 2))
            setattr(self, "block%d" % (i + 1), nn.ModuleList([MiTBlock(dims[i], heads[i], srs[i]) for _ in range(depths[i])]))
            setattr(self, "norm%d" % (i + 1), nn.LayerNorm(dims[i], eps=1e-6))
            cin = dims[i]
        for i in (4, 3, 2, 1):
            mlp = nn.Module()
            mlp.proj = nn.Linear(dims[i - 1], decoder)
            setattr(self, "linear_c%d" % i, mlp)
        self.linear_fuse = nn.Sequential(nn.Conv2d(4 * decoder, decoder, 1), nn.BatchNorm2d(decoder), nn.ReLU())
        self.linear_pred = nn.Conv2d(decoder, classes, 1)

    def forward(self, x):
        size = x.shape[2:]
        levels = []
        for i in range(1, 5):
            x, h, w = getattr(self, "patch_embed%d" % i)(x)
            for block in getattr(self, "block%d" % i):
                x = block(x, h, w)
            x = getattr(self, "norm%d" % i)(x).reshape(x.shape[0], h, w, -1).permute(0, 3, 1, 2)
            levels.append(x)
        c1 = levels[0]
        maps = []
        for i in (4, 3, 2, 1):
            c = levels[i - 1]
            m = getattr(self, "linear_c%d" % i).proj(c.flatten(2).transpose(1, 2)).transpose(1, 2)
            m = m.reshape(c.shape[0], -1, c.shape[2], c.shape[3])
            maps.append(F.interpolate(m, size=c1.shape[2:], mode="bilinear", align_corners=False))
        feature = self.linear_fuse(torch.cat(maps, 1))
        return {"feature": feature, "logits": up(self.linear_pred(feature), size)}


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


def conv_bn_relu_seq(cin, cout, k, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, 1 if k == 3 else 0, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


def up_half(x, size):
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class UPerHead(nn.Module):
    """4.4: PPM on c4 (pool, resize back, then the 1x1 conv), FPN on c1..c3, fusion at 1/4
    by a stride-2 3x3 conv (the feature, 1/8), a 1x1 classifier; align_corners=False."""

    def __init__(self, channels, fpn, classes, pool=512):
        super().__init__()
        self.ppm_conv = nn.ModuleList([conv_bn_relu_seq(channels[3], pool, 1) for _ in range(4)])
        self.ppm_last_conv = conv_bn_relu_seq(channels[3] + 4 * pool, fpn, 3)
        self.fpn_in = nn.ModuleList([conv_bn_relu_seq(c, fpn, 1) for c in channels[:3]])
        self.fpn_out = nn.ModuleList([nn.Sequential(conv_bn_relu_seq(fpn, fpn, 3)) for _ in range(3)])
        self.conv_last = nn.Sequential(conv_bn_relu_seq(4 * fpn, fpn, 3, 2), nn.Conv2d(fpn, classes, 1))

    def forward(self, c):
        c4 = c[3]
        ppm = [c4] + [conv(up_half(F.adaptive_avg_pool2d(c4, s), c4.shape[2:]))
                      for conv, s in zip(self.ppm_conv, (1, 2, 3, 6))]
        f = self.ppm_last_conv(torch.cat(ppm, 1))
        levels = [f]
        for i in reversed(range(3)):
            lateral = self.fpn_in[i](c[i])
            f = lateral + up_half(f, lateral.shape[2:])
            levels.insert(0, self.fpn_out[i](f))
        size = levels[0].shape[2:]
        fused = torch.cat([levels[0]] + [up_half(x, size) for x in levels[1:]], 1)
        feature = self.conv_last[0](fused)
        return self.conv_last[1](feature), feature


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
            self.levels = [64, 128, 256, 512] if backbone == "resnet18" else [256, 512, 1024, 2048]
        elif backbone == "mobilenetv2":
            self.pretrained = MobileNetV2Dilated()
            c4, width = 320, 128
        elif backbone == "mobilevit_xxs":
            self.pretrained = MobileViTXXS()
            c4, width = 320, 128
        else:
            self.pretrained = MobileNetV3(backbone.split("_")[1])
            c4, width = self.pretrained.channels, 128
        if head == "upernet":
            self.head = UPerHead(self.levels, 128, classes)
        else:
            self.head = DeepLabV3Head(c4, width, classes) if head == "deeplabv3" else PSPHead(c4, width, classes)

    def forward(self, x):
        out = {}
        if isinstance(self.pretrained, ResNetV1s):
            levels = self.pretrained(x)
            c4 = levels[3]
            out["aux_logits"] = self.auxlayer(levels[2])
        else:
            c4 = self.pretrained(x)
        logits, out["feature"] = self.head(levels if isinstance(self.head, UPerHead) else c4)
        out["logits"] = up(logits, x.shape[2:])
        return out


def build(name, classes):
    if name == "segformer_mit_b0":
        return SegFormer((32, 64, 160, 256), (2, 2, 2, 2), 256, classes)
    if name == "segformer_mit_b4":
        return SegFormer((64, 128, 320, 512), (3, 8, 27, 3), 768, classes)
    return Network(name, classes)


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
            elif isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (1.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            elif isinstance(m, nn.LayerNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.5 + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            elif isinstance(m, nn.MultiheadAttention):
                m.in_proj_weight.copy_(torch.randn(m.in_proj_weight.shape, generator=g) * (1.0 / m.embed_dim) ** 0.5)
                m.in_proj_bias.copy_(torch.randn(m.in_proj_bias.shape, generator=g) * 0.1)


NETWORKS = ["deeplabv3_resnet18", "deeplabv3_resnet101", "psp_resnet18", "upernet_resnet18", "psp_mobilenetv3_small",
            "psp_mobilenetv3_large", "deeplabv3_mobilenetv3_small", "deeplabv3_mobilenetv3_large", "psp_mobilevit_xxs",
            "deeplabv3_mobilevit_xxs", "segformer_mit_b0", "segformer_mit_b4", "deeplabv3_mobilenetv2"]


def make(args):
    torch.manual_seed(0)
    model = build(args.network, args.classes).eval()
    randomise(model, 1)
    image = torch.randn(1, 3, args.height, args.width, generator=torch.Generator().manual_seed(2)) * 50
    with torch.no_grad():
        out = model(image)
    torch.save(model.state_dict(), args.out + "/checkpoint.pth", _use_new_zipfile_serialization=(args.format == "zip"))
    torch.save(dict(input=image, **out), args.out + "/io.pt")


def compare(args):
    original = torch.load(args.original)
    exported = torch.load(args.exported)
    build(args.network, args.classes).load_state_dict(exported, strict=True)
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
    model = build(args.network, args.classes).eval()
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
