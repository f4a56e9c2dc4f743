#!/usr/bin/python3
"""An independent float64 implementation of the CIRKD toolbox's losses that take the
labels, keep memories or train a model of their own (its facts, 1.7, 1.8, 1.11-1.13), for
tests/distill/test_cirkd_labelled_distillers.cpp. Loops per image, class and position;
the discriminator, its spectral norm and self-attention written from the facts.

  cirkd_labelled_reference.py OUT.pt

Keys: ifvd.* (inputs, loss, student gradient), memory.<mode>.* (three steps of the memory
distiller with its projection head: inputs, weights, losses, gradients, memories after),
adv.* (two iterations of the adversarial term: initial state, losses, gradients, state after),
channel.* (three steps of CIRKDV2's channel terms), gcn.* (FitNet on the GCN adaptor's output).
"""
import sys

import torch
import torch.nn.functional as F


def unit(v, dim, eps=1e-12):
    return v / v.norm(dim=dim, keepdim=True).clamp_min(eps)


def nearest(labels, h, w):
    return F.interpolate(labels[:, None].double(), size=(h, w), mode="nearest")[:, 0].long()


def kl_rows(p, log_q):
    return torch.where(p > 0, p * (torch.log(torch.where(p > 0, p, torch.ones_like(p))) - log_q), torch.zeros_like(p)).sum()


# ---- IFVD (1.8) ----
def ifvd(s, t, labels, K):
    def similarities(f):
        B, C, h, w = f.shape
        y = nearest(labels, h, w)
        out = torch.ones(B, h, w, dtype=f.dtype)
        out = out * 0
        for b in range(B):
            proto = {}
            for k in range(K):
                mask = y[b] == k
                proto[k] = f[b][:, mask].sum(1) / (mask.sum() + 1e-6)
            rows = []
            for i in range(h):
                row = []
                for j in range(w):
                    v = f[b, :, i, j]
                    k = int(y[b, i, j])
                    c = proto[k] if 0 <= k < K else v
                    row.append((v / v.norm().clamp_min(1e-8) * (c / c.norm().clamp_min(1e-8))).sum())
                rows.append(torch.stack(row))
            out = out + F.pad(torch.stack(rows)[None], (0, 0, 0, 0, b, B - b - 1))
        return out
    return ((similarities(s) - similarities(t).detach()) ** 2).mean()


# ---- memory (1.11) ----
def project(s, w0, bn_w, bn_b, w3, running):
    x = torch.einsum("oi,bihw->bohw", w0[:, :, 0, 0], s)
    mean = x.mean((0, 2, 3))
    var = x.var((0, 2, 3), unbiased=False)
    n = x.shape[0] * x.shape[2] * x.shape[3]
    with torch.no_grad():
        running["mean"] = 0.9 * running["mean"] + 0.1 * mean
        running["var"] = 0.9 * running["var"] + 0.1 * var * n / (n - 1)
        running["count"] += 1
    x = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + 1e-5) * bn_w[None, :, None, None] + bn_b[None, :, None, None]
    return torch.einsum("oi,bihw->bohw", w3[:, :, 0, 0], torch.relu(x))


def memory_step(s_proj, t, labels, K, banks, ptrs, mode, tau=0.1, T=1.0, ignore=-1):
    B, D, h, w = t.shape
    y = nearest(labels, h, w).reshape(B, -1)
    t = unit(t, 1).reshape(B, D, -1)
    s = unit(s_proj, 1).reshape(B, D, -1)
    P, R = banks["pixel"].shape[1], banks["region"].shape[1]
    for b in range(B):
        for k in sorted(set(y[b].tolist()) - {ignore}):
            where = [i for i in range(h * w) if y[b, i] == k]
            region = t[b][:, where].mean(1)
            banks["region"][k, ptrs["region"][k]] = unit(region, 0)
            ptrs["region"][k] = (ptrs["region"][k] + 1) % R
            n = len(where)
            m = min(n, 16)
            assert n <= 16, "a reference case must take every candidate (no draw)"
            chosen = list(range(n)) if mode == "first_positions" else where
            vectors = torch.stack([unit(t[b][:, i], 0) for i in chosen])
            if ptrs["pixel"][k] + m >= P:
                banks["pixel"][k, P - m:] = vectors
                ptrs["pixel"][k] = 0
            else:
                banks["pixel"][k, ptrs["pixel"][k]:ptrs["pixel"][k] + m] = vectors
                ptrs["pixel"][k] = (ptrs["pixel"][k] + m) % P
    rows_s, rows_t = [], []
    for b in range(B):
        for i in range(h * w):
            if y[b, i] != ignore:
                rows_s.append(s[b][:, i])
                rows_t.append(t[b][:, i])
    if not rows_s:
        return None
    def term(memory):
        X = memory.reshape(-1, D)
        total = 0.0
        for rs, rt in zip(rows_s, rows_t):
            p = torch.softmax(X @ rt / tau / T, 0)
            total = total + kl_rows(p, torch.log_softmax(X @ rs / tau / T, 0))
        return T * T * total / len(rows_s)
    return term(banks["pixel"]), term(banks["region"])


def memory_case(out, mode):
    torch.manual_seed(11)
    K, Cs, D, P, R = 3, 3, 5, 12, 4
    w0 = (torch.randn(D, Cs, 1, 1, dtype=torch.float64) * 0.5).requires_grad_()
    bn_w = (1 + 0.1 * torch.randn(D, dtype=torch.float64)).requires_grad_()
    bn_b = (0.1 * torch.randn(D, dtype=torch.float64)).requires_grad_()
    w3 = (torch.randn(D, D, 1, 1, dtype=torch.float64) * 0.5).requires_grad_()
    banks = {"pixel": unit(torch.randn(K, P, D, dtype=torch.float64), 2), "region": unit(torch.randn(K, R, D, dtype=torch.float64), 2)}
    prefix = f"memory.{mode}."
    out[prefix + "init.project_head.0.weight"] = w0.detach().clone()
    out[prefix + "init.project_head.1.weight"] = bn_w.detach().clone()
    out[prefix + "init.project_head.1.bias"] = bn_b.detach().clone()
    out[prefix + "init.project_head.3.weight"] = w3.detach().clone()
    out[prefix + "init.teacher_pixel_queue"] = banks["pixel"].clone()
    out[prefix + "init.teacher_segment_queue"] = banks["region"].clone()
    ptrs = {"pixel": [0] * K, "region": [0] * K}
    running = {"mean": torch.zeros(D, dtype=torch.float64), "var": torch.ones(D, dtype=torch.float64), "count": 0}
    # Feature maps 4 x 4 (labels 8 x 8, nearest keeps the even rows and columns): each
    # class holds exactly 4 positions of each image, so every write is a block of 4 and
    # the 12 slots wrap at block boundaries.
    for step in range(3):
        s = torch.randn(2, Cs, 4, 4, dtype=torch.float64).requires_grad_()
        t = torch.randn(2, D, 4, 4, dtype=torch.float64)
        small = torch.full((2, 4, 4), -1, dtype=torch.long)
        for b in range(2):
            order = torch.randperm(16)
            for k in range(K):
                for i in order[4 * k:4 * k + 4].tolist():
                    small[b, i // 4, i % 4] = k
        labels = small.repeat_interleave(2, 1).repeat_interleave(2, 2)
        pixel, region = memory_step(project(s, w0, bn_w, bn_b, w3, running), t, labels, K, banks, ptrs, mode)
        for p in (w0, bn_w, bn_b, w3):
            p.grad = None
        (pixel + region).backward()
        key = f"{prefix}{step}."
        out[key + "s"], out[key + "t"], out[key + "labels"] = s.detach(), t, labels
        out[key + "pixel"], out[key + "region"] = pixel.detach().reshape(()), region.detach().reshape(())
        out[key + "grad.s"] = s.grad
        out[key + "grad.project_head.0.weight"] = w0.grad.clone()
        out[key + "grad.project_head.1.weight"] = bn_w.grad.clone()
        out[key + "grad.project_head.1.bias"] = bn_b.grad.clone()
        out[key + "grad.project_head.3.weight"] = w3.grad.clone()
    out[prefix + "after.teacher_pixel_queue"] = banks["pixel"]
    out[prefix + "after.teacher_segment_queue"] = banks["region"]
    out[prefix + "after.pixel_queue_ptr"] = torch.tensor(ptrs["pixel"])
    out[prefix + "after.segment_queue_ptr"] = torch.tensor(ptrs["region"])
    out[prefix + "after.project_head.1.running_mean"] = running["mean"]
    out[prefix + "after.project_head.1.running_var"] = running["var"]


# ---- adversarial (1.7) ----
class Disc:
    """The SAGAN-style discriminator of the facts, as plain tensors and functions."""

    def __init__(self, K):
        g = lambda *shape, scale: (torch.randn(*shape, dtype=torch.float64) * scale).requires_grad_()
        self.p = {"preprocess_additional.weight": (1 + 0.1 * torch.randn(K, dtype=torch.float64)).requires_grad_(),
                  "preprocess_additional.bias": g(K, scale=0.1)}
        self.b = {"preprocess_additional.running_mean": torch.zeros(K, dtype=torch.float64),
                  "preprocess_additional.running_var": torch.ones(K, dtype=torch.float64),
                  "preprocess_additional.num_batches_tracked": torch.tensor(0)}
        for name, (cin, cout) in {"l1": (K, 64), "l2": (64, 128), "l3": (128, 256), "l4": (256, 512)}.items():
            m = name + ".0.module."
            self.p[m + "weight_bar"] = g(cout, cin, 4, 4, scale=(cin * 16) ** -0.5)
            self.p[m + "bias"] = g(cout, scale=0.05)
            self.b[m + "weight_u"] = unit(torch.randn(cout, dtype=torch.float64), 0)
            self.b[m + "weight_v"] = unit(torch.randn(cin * 16, dtype=torch.float64), 0)
        for name, c in {"attn1": 256, "attn2": 512}.items():
            for conv, co in {"query_conv": c // 8, "key_conv": c // 8, "value_conv": c}.items():
                self.p[f"{name}.{conv}.weight"] = g(co, c, 1, 1, scale=c ** -0.5)
                self.p[f"{name}.{conv}.bias"] = g(co, scale=0.05)
            # gamma is 0 at the start; a non-zero value makes the test reach the attention.
            self.p[f"{name}.gamma"] = torch.tensor([0.3], dtype=torch.float64).requires_grad_()
        self.p["last.0.weight"] = g(1, 512, 4, 4, scale=(512 * 16) ** -0.5)
        self.p["last.0.bias"] = g(1, scale=0.05)

    def sn_conv(self, x, name):
        m = name + ".0.module."
        W = self.p[m + "weight_bar"]
        flat = W.detach().reshape(W.shape[0], -1)
        u, v = self.b[m + "weight_u"], self.b[m + "weight_v"]
        # Replaced through .data, as the toolbox does: a backward through an earlier
        # forward then reads the newest vectors.
        v.data = (flat.T @ u) / ((flat.T @ u).norm() + 1e-12)
        u.data = (flat @ v) / ((flat @ v).norm() + 1e-12)
        sigma = u @ (W.reshape(W.shape[0], -1) @ v)
        return F.leaky_relu(F.conv2d(x, W / sigma, self.p[m + "bias"], stride=2, padding=1), 0.1)

    def attention(self, x, name):
        B, C, H, W = x.shape
        q = F.conv2d(x, self.p[name + ".query_conv.weight"], self.p[name + ".query_conv.bias"]).reshape(B, -1, H * W)
        k = F.conv2d(x, self.p[name + ".key_conv.weight"], self.p[name + ".key_conv.bias"]).reshape(B, -1, H * W)
        v = F.conv2d(x, self.p[name + ".value_conv.weight"], self.p[name + ".value_conv.bias"]).reshape(B, C, H * W)
        out = torch.zeros(B, C, H * W, dtype=x.dtype)
        for b in range(B):
            a = torch.softmax(q[b].T @ k[b], 1)  # query rows, softmax over keys
            out = out + F.pad((v[b] @ a.T)[None], (0, 0, 0, 0, b, B - b - 1))
        return self.p[name + ".gamma"] * out.reshape(B, C, H, W) + x

    def __call__(self, x):
        n = x.shape[0] * x.shape[2] * x.shape[3]
        mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False)
        with torch.no_grad():
            self.b["preprocess_additional.running_mean"] = 0.9 * self.b["preprocess_additional.running_mean"] + 0.1 * mean
            self.b["preprocess_additional.running_var"] = 0.9 * self.b["preprocess_additional.running_var"] + 0.1 * var * n / (n - 1)
            self.b["preprocess_additional.num_batches_tracked"] = self.b["preprocess_additional.num_batches_tracked"] + 1
        x = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + 1e-5)
        x = x * self.p["preprocess_additional.weight"][None, :, None, None] + self.p["preprocess_additional.bias"][None, :, None, None]
        x = self.sn_conv(self.sn_conv(self.sn_conv(x, "l1"), "l2"), "l3")
        x = self.attention(x, "attn1")
        x = self.attention(self.sn_conv(x, "l4"), "attn2")
        return F.conv2d(x, self.p["last.0.weight"], self.p["last.0.bias"])


def adversarial_case(out):
    torch.manual_seed(5)
    K, lambda_d = 3, 0.1
    d = Disc(K)
    for name, x in list(d.p.items()) + list(d.b.items()):
        out["adv.init.discriminator." + name] = x.detach().clone()
    adam = torch.optim.Adam(list(d.p.values()), lr=4e-4, betas=(0.9, 0.99), eps=1e-8)
    for step in range(2):
        s = (torch.randn(2, K, 67, 65, dtype=torch.float64) * 2).requires_grad_()
        t = torch.randn(2, K, 67, 65, dtype=torch.float64) * 2
        g_loss = -d(s).mean()
        g_loss.backward()
        adam.zero_grad()
        fake = torch.relu(1 + d(s.detach())).mean()
        real = torch.relu(1 - d(t)).mean()
        (lambda_d * (real + fake)).backward()
        adam.step()
        key = f"adv.{step}."
        out[key + "s"], out[key + "t"] = s.detach(), t
        out[key + "g_loss"], out[key + "d_loss"] = g_loss.detach().reshape(()), (lambda_d * (real + fake)).detach().reshape(())
        out[key + "grad.s"] = s.grad
    for name, x in list(d.p.items()) + list(d.b.items()):
        out["adv.after.discriminator." + name] = x.detach().clone()
    for i, p in enumerate(d.p.values()):
        out[f"adv.after.adam_moment.{name_of(d, p)}"] = adam.state[p]["exp_avg"]


def name_of(d, p):
    return next(n for n, q in d.p.items() if q is p)


# ---- CIRKDV2 channel terms (1.12) ----
def pool4(x):
    B, C, H, W = x.shape
    h, w = -(-H // 4), -(-W // 4)
    out = torch.zeros(B, C, h, w, dtype=x.dtype)
    rows = []
    for i in range(h):
        cols = []
        for j in range(w):
            cols.append(x[:, :, 4 * i:4 * i + 4, 4 * j:4 * j + 4].mean((2, 3)))
        rows.append(torch.stack(cols, 2))
    return torch.stack(rows, 2) + out


def channel_terms(s_proj, t, bank, ptr, tau=0.1, T=1.0):
    fs = unit(s_proj.flatten(2), 2)
    ft = unit(t.flatten(2), 2)
    B, C = fs.shape[0], fs.shape[1]
    minibatch = 0.0
    for i in range(B):
        for j in range(B):
            minibatch = minibatch + kl_rows(torch.softmax(ft[i] @ ft[j].T / tau, 1), torch.log_softmax(fs[i] @ fs[j].T / tau, 1)) / C
    minibatch = minibatch / (B * B)
    rows_s, rows_t = fs.reshape(B * C, -1), ft.reshape(B * C, -1)
    mse = ((rows_s - rows_t) ** 2).mean()
    M = bank.shape[0]
    m = min(B * C, 256)
    assert m == B * C, "a reference case remembers every row (no draw)"
    vectors = unit(rows_t, 1)
    if ptr[0] + m >= M:
        bank[M - m:] = vectors
        ptr[0] = 0
    else:
        bank[ptr[0]:ptr[0] + m] = vectors
        ptr[0] = (ptr[0] + m) % M
    memory = T * T * kl_rows(torch.softmax(rows_t @ bank.T / tau / T, 1), torch.log_softmax(rows_s @ bank.T / tau / T, 1)) / (B * C)
    return minibatch, mse, memory


def channel_case(out):
    torch.manual_seed(13)
    Cs, Ct, M = 3, 4, 16
    w0 = (torch.randn(Ct, Cs, 1, 1, dtype=torch.float64) * 0.5).requires_grad_()
    bn_w = (1 + 0.1 * torch.randn(Ct, dtype=torch.float64)).requires_grad_()
    bn_b = (0.1 * torch.randn(Ct, dtype=torch.float64)).requires_grad_()
    w3 = (torch.randn(Ct, Ct, 1, 1, dtype=torch.float64) * 0.5).requires_grad_()
    bank = unit(torch.randn(M, 12, dtype=torch.float64), 1)
    for name, x in {"project_head.0.weight": w0, "project_head.1.weight": bn_w, "project_head.1.bias": bn_b,
                    "project_head.3.weight": w3, "teacher_channel_queue": bank}.items():
        out["channel.init." + name] = x.detach().clone()
    running = {"mean": torch.zeros(Ct, dtype=torch.float64), "var": torch.ones(Ct, dtype=torch.float64), "count": 0}
    ptr = [0]
    # 9 x 13 maps pool (ceil) to 3 x 4 = 12 positions; 2 images x 4 channels = 8 rows a
    # step into 16 slots: writes are blocks of 8.
    for step in range(3):
        s = torch.randn(2, Cs, 9, 13, dtype=torch.float64).requires_grad_()
        t = torch.randn(2, Ct, 9, 13, dtype=torch.float64)
        minibatch, mse, memory = channel_terms(project(pool4(s), w0, bn_w, bn_b, w3, running), pool4(t), bank, ptr)
        for p in (w0, bn_w, bn_b, w3):
            p.grad = None
        (minibatch + 100 * mse + 0.1 * memory).backward()
        key = f"channel.{step}."
        out[key + "s"], out[key + "t"] = s.detach(), t
        out[key + "minibatch"], out[key + "mse"] = minibatch.detach().reshape(()), (100 * mse).detach().reshape(())
        out[key + "memory"] = (0.1 * memory).detach().reshape(())
        out[key + "grad.s"] = s.grad
        for name, p in {"project_head.0.weight": w0, "project_head.1.weight": bn_w, "project_head.1.bias": bn_b,
                        "project_head.3.weight": w3}.items():
            out[key + "grad." + name] = p.grad.clone()
    out["channel.after.teacher_channel_queue"] = bank
    out["channel.after.channel_queue_ptr"] = torch.tensor(ptr)


# ---- GCN adaptor (1.13) under FitNet ----
def bn_train(x, weight, bias):
    mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False)
    return (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + 1e-5) * weight[None, :, None, None] + bias[None, :, None, None]


def gcn(x, p):
    B, C, H, W = x.shape
    conv = lambda name, y: torch.einsum("oi,bihw->bohw", p[name][:, :, 0, 0], y)
    q = conv("node_q.weight", x).reshape(B, C // 2, -1) * (C // 2) ** -0.5
    k = conv("node_k.weight", x).reshape(B, C // 2, -1)
    v = conv("node_v.weight", x).reshape(B, C // 2, -1)
    gs = []
    for b in range(B):
        A = torch.softmax(q[b].T @ k[b], 1)
        gs.append(torch.stack([sum(A[i, j] * v[b][:, j] for j in range(H * W)) for i in range(H * W)], 1))
    g = torch.stack(gs).reshape(B, C // 2, H, W)
    g = torch.relu(bn_train(conv("conv1.0.weight", g), p["conv1.1.weight"], p["conv1.1.bias"]))
    return torch.relu(bn_train(conv("out_conv.0.weight", torch.cat([x, g], 1)), p["out_conv.1.weight"], p["out_conv.1.bias"]))


def gcn_case(out):
    torch.manual_seed(17)
    C, Ct = 4, 5
    r = lambda *shape, scale=0.5: (torch.randn(*shape, dtype=torch.float64) * scale).requires_grad_()
    p = {"gcn.node_k.weight": r(C // 2, C, 1, 1), "gcn.node_v.weight": r(C // 2, C, 1, 1), "gcn.node_q.weight": r(C // 2, C, 1, 1),
         "gcn.conv1.0.weight": r(C, C // 2, 1, 1), "gcn.conv1.1.weight": (1 + 0.1 * torch.randn(C, dtype=torch.float64)).requires_grad_(),
         "gcn.conv1.1.bias": r(C, scale=0.1), "gcn.out_conv.0.weight": r(C, 2 * C, 1, 1),
         "gcn.out_conv.1.weight": (1 + 0.1 * torch.randn(C, dtype=torch.float64)).requires_grad_(), "gcn.out_conv.1.bias": r(C, scale=0.1),
         "conv.weight": r(Ct, C, 1, 1)}
    s = torch.randn(2, C, 3, 5, dtype=torch.float64).requires_grad_()
    t = torch.randn(2, Ct, 3, 5, dtype=torch.float64)
    adapted = gcn(s, {k[4:]: v for k, v in p.items() if k.startswith("gcn.")})
    loss = ((torch.einsum("oi,bihw->bohw", p["conv.weight"][:, :, 0, 0], adapted) - t) ** 2).mean()
    loss.backward()
    out.update({"gcn.s": s.detach(), "gcn.t": t, "gcn.loss": loss.detach().reshape(()), "gcn.grad.s": s.grad})
    for name, x in p.items():
        out["gcn.init." + name] = x.detach()
        out["gcn.grad." + name] = x.grad


def main(path):
    torch.manual_seed(3)
    out = {}
    s = torch.randn(2, 4, 5, 7, dtype=torch.float64).requires_grad_()
    t = torch.randn(2, 6, 5, 7, dtype=torch.float64)
    # 11 x 13 labels to a 5 x 7 map; classes 0-2, 255 unlabelled, 3 outside the classes.
    labels = torch.randint(0, 4, (2, 11, 13))
    labels[labels == 3] = 255
    labels[0, 0, 0] = 3
    loss = ifvd(s, t, labels, 3)
    loss.backward()
    out.update({"ifvd.s": s.detach(), "ifvd.t": t, "ifvd.labels": labels, "ifvd.loss": loss.detach().reshape(()), "ifvd.grad.s": s.grad})
    for mode in ("first_positions", "class_positions"):
        memory_case(out, mode)
    adversarial_case(out)
    channel_case(out)
    gcn_case(out)
    torch.save(out, path)


if __name__ == "__main__":
    main(sys.argv[1])
