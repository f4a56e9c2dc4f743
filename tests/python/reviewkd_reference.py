#!/usr/bin/python3
"""An independent implementation of ReviewKD as the published TaT code base computes it
(distiller_reviewkd.py; facts in the project's reference notes), for the distiller test.

  reviewkd_reference.py OUT.pt

Six levels of random float64 features at odd sizes, shallow to deep, resized between
levels as the published ones are (large -> small -> equal -> larger). ABF: conv1 (1x1,
no bias) + BN; for all but the deepest level, att_conv (1x1, 2 mid -> 2, bias) +
sigmoid on [x, nearest-resized previous], x = x z0 + y z1; conv2 (3x3, pad 1, no bias)
+ BN; BatchNorms in training mode. HCL per level: MSE + sum_l w_l MSE(pool_l) over
1 + sum w_l, w halving from 1/2, pools l in (4, 2, 1) with l < height. The distiller's
value: sum over levels / batch.

Writes: s<i>, t<i> (features), abfs.<i>.* (weights before the step and running
statistics after it as after.abfs.<i>.*), loss<i> (each level's term), loss, grad.s<i>,
grad.abfs.<i>.<parameter>.
"""
import sys

import torch
import torch.nn.functional as F

N = 3
MID = 6
# (student channels, teacher channels, height, width), shallow to deep
LEVELS = [(5, 7, 17, 15), (6, 9, 9, 8), (4, 8, 5, 4), (7, 6, 3, 3), (3, 5, 5, 4), (6, 4, 17, 15)]
POOLS = (4, 2, 1)


def bn(x, p, name):
    return F.batch_norm(x, p[name + ".running_mean"], p[name + ".running_var"], p[name + ".weight"], p[name + ".bias"],
                        training=True, momentum=0.1, eps=1e-5)


def abf(x, previous, p, name):
    x = bn(F.conv2d(x, p[name + ".conv1.0.weight"]), p, name + ".conv1.1")
    if previous is not None:
        y = F.interpolate(previous, size=x.shape[2:], mode="nearest")
        z = torch.sigmoid(F.conv2d(torch.cat([x, y], 1), p[name + ".att_conv.0.weight"], p[name + ".att_conv.0.bias"]))
        x = x * z[:, 0:1] + y * z[:, 1:2]
    out = bn(F.conv2d(x, p[name + ".conv2.0.weight"], padding=1), p, name + ".conv2.1")
    return out, x


def hcl(fs, ft):
    loss = F.mse_loss(fs, ft)
    weight, total = 1.0, 1.0
    for l in POOLS:
        if l >= fs.shape[2]:
            continue
        weight /= 2.0
        loss = loss + weight * F.mse_loss(F.adaptive_avg_pool2d(fs, l), F.adaptive_avg_pool2d(ft, l))
        total += weight
    return loss / total


def parameters(generator):
    p = {}
    for i, (cs, ct, _, _) in enumerate(LEVELS):
        name = "abfs.%d" % i
        p[name + ".conv1.0.weight"] = torch.randn(MID, cs, 1, 1, generator=generator, dtype=torch.float64)
        if i + 1 < len(LEVELS):
            p[name + ".att_conv.0.weight"] = torch.randn(2, 2 * MID, 1, 1, generator=generator, dtype=torch.float64) * 0.3
            p[name + ".att_conv.0.bias"] = torch.randn(2, generator=generator, dtype=torch.float64) * 0.1
        p[name + ".conv2.0.weight"] = torch.randn(ct, MID, 3, 3, generator=generator, dtype=torch.float64) * 0.2
        for bn_name, c in ((".conv1.1", MID), (".conv2.1", ct)):
            p[name + bn_name + ".weight"] = 1 + 0.1 * torch.randn(c, generator=generator, dtype=torch.float64)
            p[name + bn_name + ".bias"] = 0.1 * torch.randn(c, generator=generator, dtype=torch.float64)
            p[name + bn_name + ".running_mean"] = 0.1 * torch.randn(c, generator=generator, dtype=torch.float64)
            p[name + bn_name + ".running_var"] = 1 + torch.rand(c, generator=generator, dtype=torch.float64)
    return p


def main():
    generator = torch.Generator().manual_seed(29)
    out = {}
    fs = []
    for i, (cs, ct, h, w) in enumerate(LEVELS):
        fs.append(torch.randn(N, cs, h, w, generator=generator, dtype=torch.float64).requires_grad_())
        out["t%d" % i] = torch.randn(N, ct, h, w, generator=generator, dtype=torch.float64)
        out["s%d" % i] = fs[i].detach().clone()
    p = parameters(generator)
    for k, v in p.items():
        out[k] = v.clone()
        if not k.endswith(("running_mean", "running_var")):
            v.requires_grad_()
        elif k.endswith("running_mean"):  # a BatchNorm2d's state dict has its counter too
            out[k[:-len("running_mean")] + "num_batches_tracked"] = torch.tensor(3)
    previous = None
    total = 0.0
    for i in reversed(range(len(LEVELS))):
        level_out, previous = abf(fs[i], previous, p, "abfs.%d" % i)
        term = hcl(level_out, out["t%d" % i]) / N
        out["loss%d" % i] = term.detach()
        total = total + term
    total.backward()
    out["loss"] = total.detach()
    for i in range(len(LEVELS)):
        out["grad.s%d" % i] = fs[i].grad
    for k, v in p.items():
        if v.requires_grad:
            out["grad." + k] = v.grad
        else:
            out["after." + k] = v.detach()
    torch.save(out, sys.argv[1])


if __name__ == "__main__":
    main()
