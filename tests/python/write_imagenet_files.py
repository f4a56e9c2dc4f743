#!/usr/bin/python3
"""ImageNet classification files as users download them, with random weights and random
BatchNorm statistics, for the `backbone.pretrained` tests.

  write_imagenet_files.py torchvision ARCH OUT [--legacy]
      torchvision.models.ARCH (resnet18, resnet50, resnet101, mobilenet_v2) state dict,
      torch.save'd (--legacy: the pre-1.6 format of the 2017 files), without
      num_batches_tracked for ResNets as in resnet18-5c106cde.pth / resnet101-5d3b4d8f.pth
  write_imagenet_files.py published_mobilenet OUT
      the layout of the published MobileNetV2 file (mobilenet_v2-6a65762b.pth):
      features.0 (stem) .. features.17 (inverted residuals, conv.N), features.18 (the
      320 -> 1280 stage) and classifier.1 (Linear 1280 -> 1000)
"""
import argparse
import collections
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_deeplab as ref  # noqa: E402


def randomised(state, seed):
    g = torch.Generator().manual_seed(seed)
    out = collections.OrderedDict()
    for name, tensor in state.items():
        if not tensor.is_floating_point():
            out[name] = tensor
        elif name.endswith("running_var"):
            out[name] = torch.rand(tensor.shape, generator=g) + 0.5
        else:
            out[name] = torch.randn(tensor.shape, generator=g) * 0.1
    return out


def torchvision_file(args):
    import torchvision
    model = getattr(torchvision.models, args.arch)()
    state = randomised(model.state_dict(), 5)
    if args.arch.startswith("resnet"):
        state = collections.OrderedDict((k, v) for k, v in state.items() if not k.endswith("num_batches_tracked"))
    torch.save(state, args.out, _use_new_zipfile_serialization=not args.legacy)


def published_mobilenet(args):
    features = ref.MobileNetV2().features
    state = collections.OrderedDict(("features." + k, v) for k, v in features.state_dict().items())
    last = nn.Sequential(nn.Conv2d(320, 1280, 1, bias=False), nn.BatchNorm2d(1280))
    state.update(("features.18." + k, v) for k, v in last.state_dict().items())
    classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))
    state.update(("classifier." + k, v) for k, v in classifier.state_dict().items())
    torch.save(randomised(state, 6), args.out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("torchvision")
    t.add_argument("arch", choices=["resnet18", "resnet50", "resnet101", "mobilenet_v2"])
    t.add_argument("out")
    t.add_argument("--legacy", action="store_true")
    m = sub.add_parser("published_mobilenet")
    m.add_argument("out")
    args = parser.parse_args()
    {"torchvision": torchvision_file, "published_mobilenet": published_mobilenet}[args.command](args)


if __name__ == "__main__":
    main()
